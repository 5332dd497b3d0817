"""Shields-style badges (a label and a message, flat) as SVG for READMEs and personal pages,
and the one way their responses are sent: cached, `image/svg+xml`, cache headers set."""

import hashlib
import unicodedata
from collections.abc import Callable
from html import escape

from django.core.cache import caches
from django.http import HttpResponse

CACHE_SECONDS = 300
SVG = "image/svg+xml; charset=utf-8"
GREEN, BLUE, GREY, ORANGE = "#2e7d32", "#1565c0", "#616161", "#b4451f"
# Verdana 11 px advance widths, roughly: text is measured, never cut.
_NARROW = set("fijlrtI.,:;|!'()[] ")
_WIDE = set("mwMW@%#")


def one_line(text: str) -> str:
    """Text for one line of a picture or a Markdown cell: control characters and line or
    paragraph breaks (which could end an HTML block in Markdown) become spaces."""
    return "".join(
        " " if unicodedata.category(char) in ("Cc", "Zl", "Zp") else char for char in text
    )


def _text_width(text: str) -> int:
    width = 0.0
    for char in text:
        if char in _NARROW:
            width += 3.8
        elif char in _WIDE:
            width += 9.5
        elif char.isupper() or char.isdigit():
            width += 7.2
        else:
            width += 6.3
    return int(width + 0.5)


def badge_svg(label: str, message: str, *, color: str = GREEN) -> str:
    """A flat badge: `label` on grey, `message` on `color`, both with an accessible title."""
    label, message = one_line(label), one_line(message)
    left = _text_width(label) + 12
    right = _text_width(message) + 12
    total = left + right
    title = escape(f"{label}: {message}")
    label_text, message_text = escape(label), escape(message)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" '
        f'aria-label="{title}"><title>{title}</title>'
        f'<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" '
        f'stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{total}" height="20" rx="3" fill="#fff"/></clipPath>'
        f'<g clip-path="url(#r)"><rect width="{left}" height="20" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{color}"/>'
        f'<rect width="{total}" height="20" fill="url(#s)"/></g>'
        f'<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,'
        f'sans-serif" font-size="11">'
        f'<text x="{left / 2:.1f}" y="14">{label_text}</text>'
        f'<text x="{left + right / 2:.1f}" y="14">{message_text}</text></g></svg>'
    )


def cached_response(
    key: str, build: Callable[[], tuple[str | bytes, int]], *, content_type: str
) -> HttpResponse:
    """A picture's (or text's) response from the `pictures` cache for `CACHE_SECONDS`; `build`
    gives its body and HTTP status when it is not there. A README shown a thousand times an
    hour costs one computation per five minutes, and says so to caches in between. What is not
    found is not kept: names nobody has cannot fill the cache. The key is the address as
    asked (`key` is case-sensitive): a look-alike name caches nothing under a real one's."""
    pictures = caches["pictures"]
    cache_key = f"shield:{hashlib.sha256(key.encode()).hexdigest()[:40]}"
    cached = pictures.get(cache_key)
    if cached is None:
        cached = build()
        if cached[1] == 200:
            pictures.set(cache_key, cached, CACHE_SECONDS)
    body, status = cached
    response = HttpResponse(body, content_type=content_type, status=status)
    response["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    return response


def badge_response(key: str, build: Callable[[], tuple[str, str, str, int]]) -> HttpResponse:
    """A badge's response (`build` gives label, message, colour and HTTP status), cached."""

    def svg() -> tuple[str, int]:
        label, message, color, status = build()
        return badge_svg(label, message, color=color), status

    return cached_response(f"badge:{key}", svg, content_type=SVG)
