"""A metric across versions as an inline SVG line chart, drawn here.

No chart library and no script: the chart is in the HTML, so it shows in the
report opened from disk, in a browser without JavaScript and in a screenshot. It
is an image to screen readers (``role="img"``) whose description lists every
value, and each point carries a ``<title>`` (a tooltip on hover).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 320, 150
LEFT, RIGHT, TOP, BOTTOM = 44, 26, 14, 30


def _number(value: float) -> str:
    return f"{value:.4g}"


def line_chart(ident: str, metric: str, points: Sequence[tuple[str, float]]) -> Markup:
    """``points``: (version, value), oldest first."""
    values = [v for _, v in points]
    low, high = min(values), max(values)
    if low == high:
        low, high = low - (abs(low) * 0.1 or 1), high + (abs(high) * 0.1 or 1)
    span_x = WIDTH - LEFT - RIGHT
    span_y = HEIGHT - TOP - BOTTOM
    step = span_x / (len(points) - 1) if len(points) > 1 else 0.0

    def x(index: int) -> float:
        return LEFT + (index * step if len(points) > 1 else span_x / 2)

    def y(value: float) -> float:
        return TOP + span_y - (value - low) / (high - low) * span_y

    title_id, desc_id = f"{ident}-title", f"{ident}-desc"
    described = ", ".join(f"v{version}: {_number(value)}" for version, value in points)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{title_id} {desc_id}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{title_id}">{escape(metric)} across versions</title>',
        f'<desc id="{desc_id}">{escape(described)}</desc>',
        # axes and the low/high values
        f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + span_y}"/>',
        f'<line class="axis" x1="{LEFT}" y1="{TOP + span_y}" x2="{WIDTH - RIGHT}" '
        f'y2="{TOP + span_y}"/>',
        f'<text class="tick" x="{LEFT - 4}" y="{TOP + 4}" text-anchor="end">{_number(high)}</text>',
        f'<text class="tick" x="{LEFT - 4}" y="{TOP + span_y}" text-anchor="end">'
        f"{_number(low)}</text>",
    ]
    coords = [(x(i), y(v)) for i, (_, v) in enumerate(points)]
    if len(coords) > 1:
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in coords)
        parts.append(f'<polyline class="line" points="{path}"/>')
    label_every = max(1, len(points) // 6)
    for index, ((version, value), (px, py)) in enumerate(zip(points, coords, strict=True)):
        parts.append(
            f'<circle class="point" cx="{px:.1f}" cy="{py:.1f}" r="3.5">'
            f"<title>v{escape(version)}: {_number(value)}</title></circle>"
        )
        if index % label_every == 0 or index == len(points) - 1:
            parts.append(
                f'<text class="tick" x="{px:.1f}" y="{HEIGHT - 10}" text-anchor="middle">'
                f"v{escape(version)}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))
