"""PNG charts with matplotlib's Agg backend (no display needed): what `cbec stats chart` writes and what the
portal can serve as ``image/png``. Titles and axes are in English because a CJK font is often missing on
servers; keys such as park names render in Chinese where one of `FONTS` is installed."""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from typing import Any

from cbec.stats.model import StatLine

#: fonts tried in order so Chinese labels render where a CJK font is installed; DejaVu Sans otherwise
FONTS = [
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "WenQuanYi Zen Hei",
    "Source Han Sans SC",
    "SimHei",
    "DejaVu Sans",
]


def figure(width: float = 9, height: float = 4.8) -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    matplotlib.rcParams["font.sans-serif"] = FONTS
    matplotlib.rcParams["axes.unicode_minus"] = False
    return Figure(figsize=(width, height), dpi=100)


def png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # missing-glyph warnings on machines without a CJK font
        fig.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


def chart_png(lines: Sequence[StatLine], title: str, *, kind: str = "line", top: int = 8) -> bytes:
    """Value by period for the `top` largest keys (line), or by key for the latest period (bar)."""
    fig = figure()
    ax = fig.subplots()
    if kind == "bar":
        latest = max((s.period for s in lines), default="")
        chosen = sorted((s for s in lines if s.period == latest), key=lambda s: (-s.value, s.key))[:top]
        ax.barh([s.key or "—" for s in reversed(chosen)], [float(s.value) for s in reversed(chosen)])
        ax.set_xlabel("value (CNY)")
        ax.set_title(f"{title} · {latest}")
    else:
        totals: dict[str, float] = {}
        for s in lines:
            totals[s.key] = totals.get(s.key, 0.0) + float(s.value)
        keys = sorted(totals, key=lambda k: -totals[k])[:top]
        periods = sorted({s.period for s in lines})
        for key in keys:
            series = {s.period: float(s.value) for s in lines if s.key == key}
            ax.plot(periods, [series.get(p, 0.0) for p in periods], marker="o", label=key or "—")
        ax.set_ylabel("value (CNY)")
        ax.set_title(title)
        if keys:
            ax.legend(fontsize=8)
        ax.tick_params(axis="x", labelrotation=45)
    return png(fig)
