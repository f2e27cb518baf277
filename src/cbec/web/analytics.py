"""The regulators' pages over the statistics and the zone assessment: 统计监测 (`/statistics`, with CSV and
XLSX downloads of the table shown), 考核评估 (`/assessment`, a year's ranking, a zone's scorecard, the
HTML and XLSX reports) and the zone registry (`/zones`). Aggregates only: no personal data here.

The numbers come from `cbec.stats.portal.table_for` and `cbec.assess.service.load_result`; this module
only checks the query, arranges and renders."""

from __future__ import annotations

import csv
import io
import re
import tempfile
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from cbec.assess import report as assess_report
from cbec.assess import service as assess_service
from cbec.assess.maths import TIERS, AssessError
from cbec.assess.result import AssessmentResult
from cbec.stats import national
from cbec.stats.errors import BadQuery
from cbec.stats.model import DIMENSIONS, PERIODS, StatLine, top
from cbec.stats.portal import table_for
from cbec.store.models import AssessmentRunRow, ZoneRow
from cbec.web import charts, i18n, security
from cbec.web.app import Current, Portal, PortalError, lang_of, not_found, render, require

#: the dimensions the page offers (the whole total is the sum of any of them)
STAT_DIMENSIONS = ("zone", "park", "direction", "mode", "country", "chapter", "enterprise")
#: at most this many rows are shown on the page (the downloads hold them all)
MAX_ROWS = 500
_ZONE = re.compile(r"[a-z][a-z0-9_\-]{0,63}\Z")
_YEAR_MIN, _YEAR_MAX = 2015, 2100
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class StatQuery:
    by: str = "zone"
    period: str = "month"
    start: date | None = None
    end: date | None = None
    zone: str | None = None
    top: int = 10

    def params(self) -> dict[str, str]:
        out = {"by": self.by, "period": self.period, "top": str(self.top)}
        if self.start:
            out["start"] = self.start.isoformat()
        if self.end:
            out["end"] = self.end.isoformat()
        if self.zone:
            out["zone"] = self.zone
        return out


def parse_stat_query(params: dict[str, str]) -> tuple[StatQuery, list[str]]:
    """The query from GET parameters, and the catalogue keys of what is wrong (then the defaults apply)."""
    errors: list[str] = []
    by = params.get("by", "zone") or "zone"
    if by not in STAT_DIMENSIONS:
        errors.append("stats.bad_by")
        by = "zone"
    period = params.get("period", "month") or "month"
    if period not in PERIODS:
        errors.append("stats.bad_period")
        period = "month"
    days: list[date | None] = []
    for name in ("start", "end"):
        raw = params.get(name, "").strip()
        try:
            days.append(date.fromisoformat(raw) if raw else None)
        except ValueError:
            errors.append("stats.bad_date")
            days.append(None)
    start, end = days
    if start and end and start > end:
        errors.append("search.bad_range")
        start = end = None
    zone = params.get("zone", "").strip().lower() or None
    if zone is not None and not _ZONE.match(zone):
        errors.append("stats.bad_zone")
        zone = None
    raw_top = params.get("top", "10").strip() or "10"
    count = int(raw_top) if raw_top.isdigit() and len(raw_top) < 4 else 0
    if not 1 <= count <= 100:
        errors.append("stats.bad_top")
        count = 10
    return StatQuery(by, period, start, end, zone, count), sorted(set(errors), key=errors.index)


def _zone_names(session: Session) -> dict[str, str]:
    return {z.code: z.name for z in session.scalars(select(ZoneRow).order_by(ZoneRow.code))}


def _key_label(by: str, key: str, zones: dict[str, str], lang: str) -> str:
    if key == "":
        return i18n.text(lang, "stats.unassigned")
    if by == "zone" and key in zones:
        return f"{zones[key]} ({key})"
    if by == "park":
        code, _, name = key.partition("/")
        return f"{zones.get(code, code)} · {name}"
    if by == "direction":
        return i18n.text(lang, f"stats.dir.{key}") if key in ("import", "export") else key
    return key


def _growth(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:+,.2f}%"


def _years(session: Session) -> list[int]:
    rows = session.scalars(
        select(AssessmentRunRow.year).where(AssessmentRunRow.current.is_(True)).distinct()
    ).all()
    return sorted({int(y) for y in rows}, reverse=True)


def _year(raw: str, lang: str) -> tuple[int | None, str]:
    raw = raw.strip()
    if not raw:
        return None, ""
    if raw.isdigit() and len(raw) == 4 and _YEAR_MIN <= int(raw) <= _YEAR_MAX:
        return int(raw), ""
    return None, i18n.text(lang, "assess.bad_year", low=_YEAR_MIN, high=_YEAR_MAX)


def _load(portal: Portal, year: int) -> AssessmentResult | None:
    with portal.store.transaction() as session:
        try:
            return assess_service.load_result(session, year)
        except AssessError:
            return None


def _stat_rows(lines: list[StatLine], query: StatQuery, zones: dict[str, str]) -> list[list[Any]]:
    """The downloadable table: one row per period and key, with both labels kept as plain values."""
    return [
        [
            s.period,
            s.key,
            zones.get(s.key, "") if query.by == "zone" else "",
            s.value,
            s.lists,
            s.lines,
            s.mom,
            s.yoy,
        ]
        for s in lines
    ]


STAT_HEADER = [
    "周期 period",
    "键 key",
    "名称 name",
    "金额 value (CNY)",
    "清单数 lists",
    "商品项数 lines",
    "环比 MoM %",
    "同比 YoY %",
]


def register(router: APIRouter, portal: Portal) -> None:
    store = portal.store

    def page(
        request: Request, template: str, web: security.WebSession | None, status: int = 200, **kw: Any
    ) -> HTMLResponse:
        return render(portal, request, template, web, status, **kw)

    def stat_lines(query: StatQuery) -> tuple[list[StatLine], dict[str, str]]:
        with store.transaction() as session:
            lines = table_for(
                session,
                by=query.by,
                period=query.period,
                start=query.start,
                end=query.end,
                zone=query.zone,
            )
            return lines, _zone_names(session)

    def checked(request: Request) -> tuple[StatQuery, list[str]]:
        return parse_stat_query({k: v[:32] for k, v in request.query_params.items()})

    # -- 统计监测 ------------------------------------------------------------------------------

    @router.get("/statistics")
    def statistics(request: Request, web: Current) -> HTMLResponse:
        require(web.principal.reads_all)
        lang = lang_of(request)
        query, problems = checked(request)
        errors = [i18n.text(lang, key) for key in problems]
        lines: list[StatLine] = []
        zones: dict[str, str] = {}
        if not errors:
            try:
                lines, zones = stat_lines(query)
            except BadQuery as exc:
                errors.append(i18n.pick(lang, exc.zh, exc.en))
        else:
            with store.transaction() as session:
                zones = _zone_names(session)
        # the latest period first, and within a period the largest value first
        shown = sorted(lines, key=lambda s: (-s.value, s.key))
        shown.sort(key=lambda s: s.period, reverse=True)
        ranking = top(lines, query.top) if lines else []
        periods = sorted({s.period for s in lines})
        per_period = [sum((s.value for s in lines if s.period == p), Decimal(0)) for p in periods]
        trend = (
            charts.column_chart(
                periods[-24:],
                [
                    charts.Series(
                        i18n.text(lang, "stats.value_cny"),
                        [int(v.to_integral_value()) for v in per_period[-24:]],
                        charts.PALETTE[0],
                    )
                ],
                title=i18n.text(lang, "stats.chart.trend"),
            )
            if lines
            else None
        )
        bars = (
            charts.bar_list(
                [
                    (_key_label(query.by, s.key, zones, lang), int(s.value.to_integral_value()))
                    for s in ranking
                ],
                title=i18n.text(lang, "stats.chart.top", period=ranking[0].period),
                color=charts.PALETTE[2],
            )
            if ranking
            else None
        )
        figures = [f for f in national.figures() if f.series in ("preliminary", "survey")]
        return page(
            request,
            "statistics.html",
            web,
            status=400 if errors else 200,
            q=query,
            errors=errors,
            rows=shown[:MAX_ROWS],
            total_rows=len(shown),
            max_rows=MAX_ROWS,
            ranking=ranking,
            trend=trend,
            bars=bars,
            total_value=sum((s.value for s in lines), Decimal(0)),
            total_lists=sum(s.lists for s in lines),
            label=lambda key: _key_label(query.by, key, zones, lang),
            growth=_growth,
            dimensions=[(d, DIMENSIONS[d]) for d in STAT_DIMENSIONS],
            dim_name=DIMENSIONS[query.by],
            periods=list(PERIODS.items()),
            zones=zones,
            national=figures,
            series_names=national.SERIES,
            export_query=query.params(),
            raw={k: request.query_params.get(k, "")[:32] for k in ("start", "end", "zone", "top")},
        )

    def export_lines(request: Request, web: security.WebSession) -> tuple[StatQuery, list[list[Any]]]:
        require(web.principal.reads_all)
        query, problems = checked(request)
        if problems:
            raise _bad_request(problems)
        lines, zones = stat_lines(query)
        return query, _stat_rows(lines, query, zones)

    @router.get("/statistics/export.csv")
    def statistics_csv(request: Request, web: Current) -> Response:
        query, rows = export_lines(request, web)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(STAT_HEADER)
        writer.writerows([["" if c is None else c for c in row] for row in rows])
        name = f"cbec-stats-{query.by}-{query.period}.csv"
        return Response(
            "\ufeff" + out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @router.get("/statistics/export.xlsx")
    def statistics_xlsx(request: Request, web: Current) -> Response:
        from openpyxl import Workbook  # type: ignore[import-untyped]

        query, rows = export_lines(request, web)
        book = Workbook()
        sheet = book.active
        sheet.title = f"{query.by} by {query.period}"
        sheet.append(STAT_HEADER)
        for row in rows:
            sheet.append(row)
        for cells in sheet.iter_rows(min_row=2, min_col=4, max_col=4):
            for cell in cells:
                cell.number_format = "#,##0.00"
        data = io.BytesIO()
        book.save(data)
        name = f"cbec-stats-{query.by}-{query.period}.xlsx"
        disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
        return Response(data.getvalue(), media_type=XLSX, headers=disposition)

    # -- 考核评估 ------------------------------------------------------------------------------

    @router.get("/assessment")
    def assessment(request: Request, web: Current, year: str = "") -> HTMLResponse:
        require(web.principal.reads_all)
        lang = lang_of(request)
        wanted, error = _year(year[:8], lang)
        with store.transaction() as session:
            years = _years(session)
        if wanted is None and not error and years:
            wanted = years[0]
        result = _load(portal, wanted) if wanted is not None else None
        return page(
            request,
            "assessment.html",
            web,
            status=400 if error else 200,
            error=error,
            year=wanted,
            years=years,
            result=result,
            counts=result.tier_counts() if result else {},
            tiers=TIERS,
            actions=assess_report.ACTIONS,
            move=assess_report._move,
            num=_score,
        )

    def stored(year: str) -> AssessmentResult:
        """The stored run of a year named in a path; 404 for anything else."""
        if not (year.isdigit() and len(year) == 4 and _YEAR_MIN <= int(year) <= _YEAR_MAX):
            raise not_found(year[:8])
        result = _load(portal, int(year))
        if result is None:
            raise not_found(year)
        return result

    @router.get("/assessment/{year}/report.html")
    def assessment_html(web: Current, year: str) -> Response:
        require(web.principal.reads_all)
        result = stored(year)
        return Response(
            assess_report.render_html(result),
            media_type="text/html; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="cbec-assessment-{year}.html"'},
        )

    @router.get("/assessment/{year}/report.xlsx")
    def assessment_xlsx(web: Current, year: str) -> Response:
        require(web.principal.reads_all)
        result = stored(year)
        with tempfile.TemporaryDirectory(prefix="cbec-report-") as folder:
            target = Path(folder) / "report.xlsx"
            assess_report.write_xlsx(result, target)
            data = target.read_bytes()
        return Response(
            data,
            media_type=XLSX,
            headers={"Content-Disposition": f'attachment; filename="cbec-assessment-{year}.xlsx"'},
        )

    @router.get("/assessment/{year}/{zone}/scorecard.png")
    def scorecard_chart(web: Current, year: str, zone: str) -> Response:
        require(web.principal.reads_all)
        result = stored(year)
        if not any(z.code == zone for z in result.zones):
            raise not_found(zone[:64])
        return Response(assess_report.scorecard_png(result, zone), media_type="image/png")

    @router.get("/assessment/{year}/{zone}")
    def scorecard(request: Request, web: Current, year: str, zone: str) -> HTMLResponse:
        require(web.principal.reads_all)
        result = stored(year)
        found = next((z for z in result.zones if z.code == zone), None)
        if found is None:
            raise not_found(zone[:64])
        with store.transaction() as session:
            past = assess_service.history(session, zone)
        indicators = [
            (
                i,
                found.raw.get(i.key),
                found.normalized.get(i.key),
                result.median(i.key),
                result.top_tier_mean(i.key),
            )
            for i in result.indicators
        ]
        return page(
            request,
            "scorecard.html",
            web,
            result=result,
            z=found,
            indicators=indicators,
            history=past,
            tiers=TIERS,
            actions=assess_report.ACTIONS,
            move=assess_report._move,
            num=_score,
        )

    # -- 综试区名录 ---------------------------------------------------------------------------

    @router.get("/zones")
    def zone_list(request: Request, web: Current) -> HTMLResponse:
        require(web.principal.reads_all)
        from cbec.zones import service as zones

        with store.transaction() as session:
            rows = zones.get_all(session)
            parks: dict[str, list[tuple[str, int]]] = {}
            for park, count in zones.parks_of(session):
                parks.setdefault(park.zone_code, []).append((park.name, count))
        batches = sorted({z.batch for z in rows}, key=lambda b: (len(b), b))
        return page(request, "zones.html", web, rows=rows, parks=parks, batches=batches)


def _score(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _bad_request(keys: list[str]) -> PortalError:
    zh = "；".join(i18n.text("zh", k) for k in keys)
    en = "; ".join(i18n.text("en", k) for k in keys)
    return PortalError(400, zh, en)


__all__ = ["StatQuery", "parse_stat_query", "register"]
