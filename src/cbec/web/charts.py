"""Charts as server-rendered inline SVG: no JavaScript, no external library, readable without colour alone
(values are written on the bars). Labels are escaped; the output is safe to put into a page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

PALETTE = ("#1f5fa8", "#c0392b", "#2e8b57", "#d08a1c")


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[int]
    color: str = PALETTE[0]


def _nice_max(value: int) -> int:
    if value <= 5:
        return 5
    magnitude = 10 ** (len(str(value)) - 1)
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return int(step * magnitude)
    return value


def column_chart(labels: Sequence[str], series: Sequence[Series], *, title: str, height: int = 220) -> Markup:
    """Stacked columns, one per label (e.g. a day), with a legend and a light grid."""
    width = 640
    left, right, top, bottom = 44, 12, 28, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    peak = _nice_max(max(totals, default=0))
    slot = plot_w / max(len(labels), 1)
    bar = max(slot * 0.62, 2.0)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i in range(5):
        value = peak * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" class="axis" text-anchor="end">{value:g}</text>')
    for i, label in enumerate(labels):
        x = left + slot * i + (slot - bar) / 2
        base = float(top + plot_h)
        for s in series:
            v = s.values[i]
            if v <= 0:
                continue
            h = plot_h * v / peak
            base -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{s.color}">'
                f"<title>{escape(label)} {escape(s.name)}: {v}</title></rect>"
            )
        if totals[i] and len(labels) <= 16:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{base - 4:.1f}" class="value" text-anchor="middle">'
                f"{totals[i]}</text>"
            )
        if len(labels) <= 16 or i % 2 == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{top + plot_h + 16}" class="axis" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
    lx = left
    for s in series:
        parts.append(f'<rect x="{lx}" y="8" width="12" height="12" fill="{s.color}"/>')
        parts.append(f'<text x="{lx + 16}" y="18" class="legend">{escape(s.name)}</text>')
        lx += 24 + 13 * len(s.name)
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_list(items: Sequence[tuple[str, int]], *, title: str, color: str = PALETTE[1]) -> Markup:
    """Horizontal bars with their labels and values, longest first as given."""
    width = 640
    row = 26
    label_w = 300
    height = max(row * len(items) + 10, 40)
    peak = max((v for _, v in items), default=0) or 1
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, value) in enumerate(items):
        y = 5 + i * row
        shown = label if len(label) <= 26 else label[:25] + "…"
        w = (width - label_w - 60) * value / peak
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 16}" class="axis" text-anchor="end">{escape(shown)}</text>'
        )
        parts.append(
            f'<rect x="{label_w}" y="{y + 3}" width="{max(w, 1):.1f}" height="{row - 8}" fill="{color}">'
            f"<title>{escape(label)}: {value}</title></rect>"
        )
        parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 16}" class="value">{value}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
