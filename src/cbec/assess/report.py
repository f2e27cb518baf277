"""Assessment reports: the ranking and every zone's scorecard as HTML (a full page, or a fragment the portal
mounts), as XLSX, and as PNG charts.

For the portal::

    from cbec.assess.report import render_html, render_fragment, scorecard_png, ranking_png
    html = render_html(result)                  # full page, every value escaped
    fragment = render_fragment(result)          # the same body without <html>, to embed in a layout
    png = scorecard_png(result, "hangzhou")     # bars: the zone against the median and the top tier

`result` is a `cbec.assess.result.AssessmentResult` (`cbec.assess.service.load_result(session, year)`).
"""

from __future__ import annotations

import base64
from importlib import resources
from pathlib import Path

from jinja2 import Environment, select_autoescape

from cbec.assess.maths import TIERS
from cbec.assess.result import AssessmentResult, ZoneResult
from cbec.stats.charts import figure, png

ACTIONS = {"none": ("—", "—"), "warning": ("预警", "warning"), "exit": ("建议退出", "exit recommended")}

_TEMPLATES = resources.files("cbec") / "data" / "templates"


def _template(name: str) -> str:
    return (_TEMPLATES / name).read_text(encoding="utf-8")


_env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _move(z: ZoneResult) -> str:
    m = z.movement
    if m is None:
        return "—"
    return f"↑{m}" if m > 0 else (f"↓{-m}" if m < 0 else "=")


def _action(z: ZoneResult) -> str:
    zh, en = ACTIONS.get(z.action, (z.action, z.action))
    return "—" if z.action == "none" else f"{zh} / {en} ({z.streak})"


def render_fragment(result: AssessmentResult, *, charts: bool = False) -> str:
    """The report as an HTML fragment (a <section>); `charts` embeds each scorecard chart as a data URI."""
    images = (
        {z.code: base64.b64encode(scorecard_png(result, z.code)).decode("ascii") for z in result.zones}
        if charts
        else {}
    )
    return _env.from_string(_template("assessment.html.j2")).render(
        r=result,
        tiers=TIERS,
        counts=result.tier_counts(),
        num=_num,
        move=_move,
        action=_action,
        charts=images,
    )


def render_html(result: AssessmentResult, *, charts: bool = False) -> str:
    """The report as a full HTML page."""
    body = render_fragment(result, charts=charts)
    return _env.from_string(_template("page.html.j2")).render(
        title=f"{result.year} 综试区考核评估 / assessment", body=body
    )


def write_xlsx(result: AssessmentResult, path: Path) -> None:
    """Two sheets: the ranking, and every zone's indicators (raw and normalized)."""
    from openpyxl import Workbook  # type: ignore[import-untyped]

    book = Workbook()
    sheet = book.active
    sheet.title = "排名 ranking"
    sheet.append(
        [
            "名次 rank",
            "代码 code",
            "综试区 zone",
            "省份 province",
            "批次 batch",
            "得分 score",
            "档次 tier",
            "变化 movement",
            "退出规则 exit rule",
            "状态 status",
            "缺失 missing",
        ]
    )
    for z in result.zones:
        sheet.append(
            [
                z.rank,
                z.code,
                z.name,
                z.province,
                z.batch,
                z.score,
                z.tier_name,
                z.movement,
                _action(z),
                z.status,
                ", ".join(z.missing),
            ]
        )
    cards = book.create_sheet("评分卡 scorecards")
    header = ["代码 code"]
    for i in result.indicators:
        header += [f"{i.key} raw", f"{i.key} normalized"]
    cards.append(header)
    for z in result.zones:
        row: list[object] = [z.code]
        for i in result.indicators:
            raw = z.raw.get(i.key)
            row += [raw if raw is not None else "缺失 missing", z.normalized.get(i.key)]
        cards.append(row)
    book.save(path)


def scorecard_png(result: AssessmentResult, zone: str) -> bytes:
    """Bars per indicator: the zone's normalized value against the median and the top-tier mean."""
    z = next((x for x in result.zones if x.code == zone), None)
    if z is None:
        from cbec.zones.errors import UnknownZone

        raise UnknownZone(
            f"综试区 {zone} 不在 {result.year} 年度考核中", f"zone {zone} is not in the {result.year} run"
        )
    fig = figure(8, 4)
    ax = fig.subplots()
    keys = [i.key for i in result.indicators]
    xs = range(len(keys))
    width = 0.27
    ax.bar([x - width for x in xs], [z.normalized.get(k) or 0.0 for k in keys], width, label=z.code)
    ax.bar(list(xs), [result.median(k) or 0.0 for k in keys], width, label="median")
    ax.bar([x + width for x in xs], [result.top_tier_mean(k) or 0.0 for k in keys], width, label="top tier")
    ax.set_xticks(list(xs), keys, rotation=30, ha="right", fontsize=8)
    ax.set_title(
        f"{result.year} {z.code}: {z.score:.3f}" if z.score is not None else f"{result.year} {z.code}"
    )
    ax.legend(fontsize=8)
    return png(fig)


def ranking_png(result: AssessmentResult, top: int = 40) -> bytes:
    """Horizontal bars of the scores, coloured by tier."""
    ranked = result.ranked()[:top]
    fig = figure(8, max(3.0, 0.22 * len(ranked) + 1))
    ax = fig.subplots()
    colours = {1: "#2e7d32", 2: "#66bb6a", 3: "#ffa726", 4: "#e53935"}
    ax.barh(
        [z.code for z in reversed(ranked)],
        [z.score or 0.0 for z in reversed(ranked)],
        color=[colours.get(z.tier or 0, "#999") for z in reversed(ranked)],
    )
    ax.set_title(f"{result.year} scores by tier")
    ax.tick_params(axis="y", labelsize=7)
    return png(fig)
