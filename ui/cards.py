"""Open Graph / Twitter card images (1200 × 630 PNG), drawn on the server with Pillow and its
bundled scalable font, so that a link to a profile, a record or a leaderboard shared anywhere
shows the person and the number. Served through `ui.shields.cached_response`."""

import functools
import io
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

from ui.shields import one_line

WIDTH, HEIGHT = 1200, 630
INK, MUTED, PAPER, BRAND = "#1f2328", "#57606a", "#ffffff", "#b4451f"
PNG = "image/png"


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _fit(draw: ImageDraw.ImageDraw, text: str, size: int, width: int) -> tuple[str, int]:
    """The text at the largest size up to `size` that fits `width`, cut with … if even the
    smallest does not (the cut found by halving: a long name costs a dozen measures)."""
    text = one_line(text)[:300]
    while size > 24 and draw.textlength(text, font=_font(size)) > width:
        size -= 4
    font = _font(size)
    if draw.textlength(text, font=font) <= width:
        return text, size
    low, high = 0, len(text)  # the longest prefix that fits with its …
    while low < high:
        middle = (low + high + 1) // 2
        if draw.textlength(text[:middle] + "…", font=font) <= width:
            low = middle
        else:
            high = middle - 1
    return text[:low] + "…", size


@functools.cache
def card_missing() -> bytes:
    """The one card for whatever does not exist: drawn once per process, never per name."""
    return card_png(kicker="Crucible", title="Not found", figure="—")


def card_png(
    *, kicker: str, title: str, figure: str, lines: Sequence[str] = (), accent: str = BRAND
) -> bytes:
    """A card: a small `kicker` (what it is), the `title` (who or which), a big `figure` (the
    number), a few `lines` under it, and the site's name."""
    image = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, WIDTH, 18), fill=accent)
    margin, usable = 72, WIDTH - 2 * 72
    draw.text((margin, 70), kicker.upper(), font=_font(30), fill=MUTED)
    text, size = _fit(draw, title, 68, usable)
    draw.text((margin, 120), text, font=_font(size), fill=INK)
    text, size = _fit(draw, figure, 120, usable)
    draw.text((margin, 230), text, font=_font(size), fill=accent)
    y = 400
    for line in lines[:4]:
        text, size = _fit(draw, line, 34, usable)
        draw.text((margin, y), text, font=_font(size), fill=INK)
        y += 48
    draw.text((margin, HEIGHT - 70), "Crucible", font=_font(36), fill=BRAND)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
