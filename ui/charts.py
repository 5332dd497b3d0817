"""Server-side SVG charts: no JavaScript, no CDN, readable by screen readers.

Every chart is an `<svg role="img">` with a `<title>` summing it up; pages put the same figures
in a table or list next to it, so the chart is a picture of data the page also states.
Colours are from a palette whose every entry has at least 3:1 contrast on white (WCAG 1.4.11).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

# Seven hues far apart (each ≥ 3:1 against white, for graphics); a chart of more areas uses
# them again hatched, so that fourteen kinds never share a look (`area_fill`).
PALETTE = [
    "#0b5cad",
    "#b35900",
    "#1a7f37",
    "#8250df",
    "#cf222e",
    "#0a7a86",
    "#3d444d",
]


def color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def area_fill(index: int, *, prefix: str) -> tuple[str, str]:
    """An area's fill and the SVG definition it needs: the palette's hues, then the same hues
    hatched with white (ids `<prefix>-<index>`, unique within a page)."""
    hue = color(index)
    if index < len(PALETTE):
        return hue, ""
    ident = f"{prefix}-{index}"
    pattern = (
        f'<pattern id="{ident}" width="5" height="5" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="5" height="5" fill="{hue}"/>'
        f'<rect width="2" height="5" fill="#fff" fill-opacity=".7"/></pattern>'
    )
    return f"url(#{ident})", pattern


def _svg(width: int, height: int, title: str, body: list[str], css_class: str) -> SafeString:
    return mark_safe(  # noqa: S308 - every interpolated text below goes through escape()
        f'<svg class="chart {css_class}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{css_class}-title" xmlns="http://www.w3.org/2000/svg" '
        f'preserveAspectRatio="xMinYMin meet">'
        f'<title id="{css_class}-title">{escape(title)}</title>{"".join(body)}</svg>'
    )


def stacked_bars(
    *,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    title: str,
    width: int = 720,
    height: int = 220,
) -> SafeString:
    """One bar per label, stacked by series (e.g. weeks × contribution kinds)."""
    left, bottom, top = 36, 22, 8
    plot_h = height - bottom - top
    totals = [sum(values[i] for _, values in series) for i in range(len(labels))]
    peak = max(totals, default=0) or 1
    step = (width - left) / max(len(labels), 1)
    bar = max(step * 0.8, 1)
    body = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width}" y2="{top + plot_h}" class="axis"/>',
        f'<text x="{left - 4}" y="{top + 10}" text-anchor="end" class="tick">{peak}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" class="tick">0</text>',
    ]
    fills = [area_fill(index, prefix="bars-fill") for index in range(len(series))]
    body.append(f"<defs>{''.join(pattern for _, pattern in fills)}</defs>")
    for i, label in enumerate(labels):
        x = left + i * step
        y: float = top + plot_h
        for index, (name, values) in enumerate(series):
            value = values[i]
            if not value:
                continue
            h = value / peak * plot_h
            y -= h
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{fills[index][0]}"><title>{escape(label)}: {value} {escape(name)}'
                f"</title></rect>"
            )
        if i % max(len(labels) // 6, 1) == 0:
            body.append(f'<text x="{x:.1f}" y="{height - 6}" class="tick">{escape(label)}</text>')
    return _svg(width, height, title, body, "bars")


@dataclass
class Line:
    name: str
    points: Sequence[tuple[float, float]]
    dashed: bool = False
    step: bool = False


def line_chart(
    *,
    lines: Sequence[Line],
    title: str,
    x_label: str,
    y_label: str,
    x_ticks: Sequence[tuple[float, str]] = (),
    width: int = 720,
    height: int = 260,
) -> SafeString:
    """Lines over a shared x axis (loss against bytes, score against time)."""
    left, right, bottom, top = 56, 12, 36, 12
    xs = [x for line in lines for x, _ in line.points]
    ys = [y for line in lines for _, y in line.points]
    if not xs:
        return _svg(width, height, title + " (no data yet)", [], "lines")
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y0, y1 = y0 - 0.5, y1 + 0.5
    pad = (y1 - y0) * 0.05
    y0, y1 = y0 - pad, y1 + pad
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * plot_w

    def py(y: float) -> float:
        return top + (y1 - y) / (y1 - y0) * plot_h

    body = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        f'class="axis"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" class="axis"/>',
        f'<text x="{left - 4}" y="{top + 10}" text-anchor="end" class="tick">{y1:.3g}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" class="tick">{y0:.3g}</text>',
        f'<text x="{left + plot_w / 2:.0f}" y="{height - 4}" text-anchor="middle" class="tick">'
        f"{escape(x_label)}</text>",
        f'<text x="12" y="{top + plot_h / 2:.0f}" text-anchor="middle" class="tick" '
        f'transform="rotate(-90 12 {top + plot_h / 2:.0f})">{escape(y_label)}</text>',
    ]
    for x, label in x_ticks:
        anchor = "start" if px(x) < left + 40 else "end" if px(x) > width - right - 40 else "middle"
        body.append(
            f'<text x="{px(x):.1f}" y="{top + plot_h + 14}" text-anchor="{anchor}" class="tick">'
            f"{escape(label)}</text>"
        )
    for index, line in enumerate(lines):
        coords: list[str] = []
        previous: tuple[float, float] | None = None
        for x, y in line.points:
            if line.step and previous is not None:
                coords.append(f"{px(x):.1f},{py(previous[1]):.1f}")
            coords.append(f"{px(x):.1f},{py(y):.1f}")
            previous = (x, y)
        dash = ' stroke-dasharray="6 4"' if line.dashed else ""
        body.append(
            f'<polyline fill="none" stroke="{color(index)}" stroke-width="2"{dash} '
            f'points="{" ".join(coords)}"><title>{escape(line.name)}</title></polyline>'
        )
        if len(line.points) <= 40:
            for x, y in line.points:
                body.append(
                    f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{color(index)}"/>'
                )
    return _svg(width, height, title, body, "lines")


HEAT_LEVELS = ["#ebeef1", "#7bc96f", "#3a9a4a", "#23753a", "#144d26"]


def heatmap(*, counts: dict[date, int], end: date, title: str, weeks: int = 53) -> SafeString:
    """A year of days as columns of weeks (Monday on top), shaded by contributions."""
    cell, gap, left, top = 11, 2, 28, 16
    start = end - timedelta(days=end.weekday()) - timedelta(weeks=weeks - 1)
    peak = max(counts.values(), default=0) or 1
    body: list[str] = []
    for label, row in (("Mon", 0), ("Wed", 2), ("Fri", 4)):
        body.append(
            f'<text x="0" y="{top + row * (cell + gap) + cell - 1}" class="tick">{label}</text>'
        )
    labelled_at = -3
    for week in range(weeks):
        monday = start + timedelta(weeks=week)
        if monday.day <= 7 and week - labelled_at >= 3:  # a month's first week, room to label
            labelled_at = week
            body.append(
                f'<text x="{left + week * (cell + gap)}" y="10" class="tick">{monday:%b}</text>'
            )
        for weekday in range(7):
            day = monday + timedelta(days=weekday)
            if day > end:
                break
            n = counts.get(day, 0)
            level = 0 if n == 0 else min(4, 1 + int(3 * n / peak))
            body.append(
                f'<rect x="{left + week * (cell + gap)}" y="{top + weekday * (cell + gap)}" '
                f'width="{cell}" height="{cell}" rx="2" fill="{HEAT_LEVELS[level]}">'
                f"<title>{day:%Y-%m-%d}: {n} contribution{'s' if n != 1 else ''}</title></rect>"
            )
    width = left + weeks * (cell + gap)
    height = top + 7 * (cell + gap)
    return _svg(width, height, title, body, "heatmap")


def legend(names: Sequence[str], *, areas: bool = False) -> SafeString:
    """The colour key of a chart, as a list (text, so it needs no contrast on its own); of
    `areas` (stacked bars), with their hatching."""
    items = []
    for index, name in enumerate(names):
        fill, pattern = area_fill(index, prefix="key-fill") if areas else (color(index), "")
        items.append(
            format_html(
                # An SVG square (fill is an attribute, not an inline style: the CSP allows it).
                '<li><svg class="swatch" viewBox="0 0 10 10" aria-hidden="true">{}'
                '<rect width="10" height="10" fill="{}"/></svg>{}</li>',
                mark_safe(f"<defs>{pattern}</defs>" if pattern else ""),  # noqa: S308 - ours
                fill,
                name,
            )
        )
    return format_html('<ul class="legend">{}</ul>', mark_safe("".join(items)))  # noqa: S308
