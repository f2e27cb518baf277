"""``cbec stats …``: statistical monitoring tables, rankings, charts and the Parquet export.

The engine is chosen once for the group: ``cbec stats table …`` reads the operational database;
``cbec stats --engine duckdb --parquet DIR table …`` reads a Parquet export with DuckDB. Both print the same.
"""

from __future__ import annotations

import csv
import json
import sys
from dataclasses import asdict
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cbec.ceb.errors import CebError
from cbec.cli_errors import fail, fail_with
from cbec.stats.model import DIMENSIONS, PERIODS, DailyRow, StatLine, check, rollup, top

app = typer.Typer(
    help="统计监测 / statistical monitoring of cleared trade (tables, rankings, charts, Parquet export).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
_state: dict[str, Any] = {"engine": "sql", "parquet": None}

By = Annotated[str, typer.Option("--by", help=f"维度 / dimension: {', '.join(DIMENSIONS)}.")]
Period = Annotated[str, typer.Option("--period", help=f"周期 / period: {', '.join(PERIODS)}.")]
From = Annotated[str | None, typer.Option("--from", help="起始日（中国时间）/ first day, YYYY-MM-DD.")]
To = Annotated[str | None, typer.Option("--to", help="截止日（含）/ last day, YYYY-MM-DD.")]
Zone = Annotated[str | None, typer.Option("--zone", help="只统计一个综试区 / one zone only (code).")]


def _console() -> Console:
    """Full width on a terminal; wide lines in a pipe or file so rows stay greppable."""
    return Console(width=None if sys.stdout.isatty() else 160)


@app.callback()
def main(
    engine: Annotated[
        str, typer.Option("--engine", help="sql（业务库 / operational database）或 duckdb（Parquet）。")
    ] = "sql",
    parquet: Annotated[
        Path | None,
        typer.Option("--parquet", help="Parquet 导出目录 / export folder (with --engine duckdb)."),
    ] = None,
) -> None:
    """统计监测。 Statistical monitoring."""
    if engine not in ("sql", "duckdb"):
        fail("CBEC-0801", "引擎应为 sql 或 duckdb", "the engine must be sql or duckdb")
    if engine == "duckdb" and parquet is None:
        fail("CBEC-0802", "duckdb 引擎需要 --parquet DIR", "the duckdb engine needs --parquet DIR")
    _state["engine"], _state["parquet"] = engine, parquet


def _day(text: str | None, what: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail("CBEC-0801", f"{what} 应为 YYYY-MM-DD", f"{what} must be YYYY-MM-DD")


def daily(dimension: str, start: date | None, end: date | None, zone: str | None) -> list[DailyRow]:
    """Daily rows from the engine chosen for the group."""
    if start and end and start > end:
        fail("CBEC-0801", "起始日晚于截止日", "--from is after --to")
    if _state["engine"] == "duckdb":
        from cbec.stats import parquet

        return parquet.daily_rows(_state["parquet"], dimension, start=start, end=end, zone=zone)
    from cbec.stats import sql
    from cbec.store.migrate import open_store

    with open_store().transaction() as session:
        return sql.daily_rows(session, dimension, start=start, end=end, zone=zone)


def _lines(by: str, period: str, start: str | None, end: str | None, zone: str | None) -> list[StatLine]:
    try:
        check(by, period)
        return rollup(daily(by, _day(start, "--from"), _day(end, "--to"), zone), period)
    except CebError as exc:
        fail_with(exc)


def _pct(value: Any) -> str:
    return "—" if value is None else f"{value}%"


def _json_line(s: StatLine) -> dict[str, Any]:
    d = asdict(s)
    for k in ("value", "mom", "yoy"):
        d[k] = None if d[k] is None else str(d[k])
    return d


def _print(lines: list[StatLine], title: str) -> None:
    table = Table(title=title)
    for column in (
        "周期 / period",
        "键 / key",
        "价值（元）/ value (CNY)",
        "清单 / lists",
        "行 / lines",
        "环比 / MoM",
        "同比 / YoY",
    ):
        table.add_column(column, justify="right" if column[0] in "价清行环同" else "left")
    for s in lines:
        table.add_row(
            s.period, s.key or "—", f"{s.value:,.2f}", str(s.lists), str(s.lines), _pct(s.mom), _pct(s.yoy)
        )
    _console().print(table)


@app.command("table")
def table_command(
    by: By = "zone",
    period: Period = "month",
    start: From = None,
    end: To = None,
    zone: Zone = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON 输出 / JSON output.")] = False,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="另存为 CSV / also write CSV.")] = None,
    xlsx_out: Annotated[Path | None, typer.Option("--xlsx", help="另存为 XLSX / also write XLSX.")] = None,
) -> None:
    """按维度和周期统计，含环比、同比。 Value and counts by dimension and period, with MoM and YoY growth."""
    lines = _lines(by, period, start, end, zone)
    header = ["period", "key", "value", "lists", "lines", "mom_pct", "yoy_pct"]
    rows = [[s.period, s.key, str(s.value), s.lists, s.lines, s.mom, s.yoy] for s in lines]
    try:
        _write_files(lines, header, rows, by, period, csv_out, xlsx_out)
    except OSError as exc:
        fail(
            "CBEC-0805", f"无法写入输出文件：{exc.strerror}", f"cannot write the output file: {exc.strerror}"
        )
    if as_json:
        typer.echo(json.dumps([_json_line(s) for s in lines], ensure_ascii=False, indent=2))
    else:
        zh, en = DIMENSIONS[by]
        _print(lines, f"按{zh}、{PERIODS[period][0]} / by {en} and {period} ({_state['engine']})")


def _write_files(
    lines: list[StatLine],
    header: list[str],
    rows: list[list[Any]],
    by: str,
    period: str,
    csv_out: Path | None,
    xlsx_out: Path | None,
) -> None:
    if csv_out is not None:
        with csv_out.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            writer.writerows(rows)
    if xlsx_out is not None:
        from openpyxl import Workbook  # type: ignore[import-untyped]

        book = Workbook()
        sheet = book.active
        sheet.title = f"{by} by {period}"
        sheet.append(header)
        for s in lines:
            sheet.append([s.period, s.key, s.value, s.lists, s.lines, s.mom, s.yoy])
        for row in sheet.iter_rows(min_row=2, min_col=3, max_col=3):
            for cell in row:
                if isinstance(cell.value, Decimal):
                    cell.number_format = "#,##0.00"
        book.save(xlsx_out)


@app.command("top")
def top_command(
    by: By = "zone",
    period: Period = "year",
    at: Annotated[
        str | None, typer.Option("--at", help="周期，如 2025 或 2025-03 / the period (latest if omitted).")
    ] = None,
    n: Annotated[int, typer.Option("--n", help="前 N 名 / how many.")] = 10,
    rank_by: Annotated[str, typer.Option("--rank-by", help="value 或 lists。")] = "value",
    start: From = None,
    end: To = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON 输出 / JSON output.")] = False,
) -> None:
    """前 N 名排行。 Top-N ranking of one period."""
    lines = _lines(by, period, start, end, None)
    try:
        chosen = top(lines, n, at, rank_by)
    except CebError as exc:
        fail_with(exc)
    if as_json:
        typer.echo(json.dumps([_json_line(s) for s in chosen], ensure_ascii=False, indent=2))
    else:
        _print(chosen, f"前 {n} 名 / top {n} by {DIMENSIONS[by][1]}")


@app.command("chart")
def chart_command(
    out: Annotated[Path, typer.Option("--out", help="PNG 文件 / PNG file to write.")],
    by: By = "zone",
    period: Period = "month",
    kind: Annotated[str, typer.Option("--kind", help="line（趋势）或 bar（最新周期）。")] = "line",
    start: From = None,
    end: To = None,
    zone: Zone = None,
) -> None:
    """PNG 图表。 Write a PNG chart (trend lines, or bars of the latest period)."""
    if kind not in ("line", "bar"):
        fail("CBEC-0801", "图表类型应为 line 或 bar", "the chart kind must be line or bar")
    from cbec.stats.charts import chart_png

    lines = _lines(by, period, start, end, zone)
    try:
        out.write_bytes(chart_png(lines, f"{DIMENSIONS[by][1]} by {period}", kind=kind))
    except OSError as exc:
        fail("CBEC-0805", f"无法写入图表：{exc.strerror}", f"cannot write the chart: {exc.strerror}")
    typer.echo(f"已写入 / written {out}")


@app.command("export")
def export_command(
    parquet: Annotated[
        Path, typer.Option("--parquet", help="导出目录 / folder for month=YYYY-MM/ partitions.")
    ],
    start: From = None,
    end: To = None,
) -> None:
    """导出按月分区的 Parquet（供 DuckDB、Spark、Trino）。 Export released lines to Parquet by month."""
    from cbec.stats import sql
    from cbec.stats.parquet import export
    from cbec.store.migrate import open_store

    try:
        with open_store().transaction() as session:
            written = export(sql.facts(session, start=_day(start, "--from"), end=_day(end, "--to")), parquet)
    except CebError as exc:
        fail_with(exc)
    total = sum(written.values())
    typer.echo(
        f"已导出 / exported {total} 行 / lines in {len(written)} 个月分区 / month partitions to {parquet}"
    )


@app.command("national")
def national_command(
    zone: Zone = None,
    year: Annotated[int | None, typer.Option("--year", help="与全国对比的年度 / year to compare.")] = None,
    series: Annotated[
        str, typer.Option("--series", help="preliminary（初步测算）或 survey（统计调查）。")
    ] = "preliminary",
    as_json: Annotated[bool, typer.Option("--json", help="JSON 输出 / JSON output.")] = False,
) -> None:
    """全国跨境电商进出口（海关总署）及与综试区对比。 The GACC national series; with --zone and --year, the
    zone's share of the nation's imports."""
    from cbec.stats.national import figures, share

    if zone is not None or year is not None:
        if zone is None or year is None:
            fail(
                "CBEC-0804", "对比需要同时给出 --zone 和 --year", "a comparison needs both --zone and --year"
            )
        lines = _lines("total", "year", f"{year}-01-01", f"{year}-12-31", zone)
        value = sum((s.value for s in lines), start=Decimal(0))
        try:
            pct = share(value, str(year), series, "import")
        except CebError as exc:
            fail_with(exc)
        result = {
            "zone": zone,
            "year": year,
            "series": series,
            "import_value_cny": str(value),
            "share_pct": str(pct),
        }
        if as_json:
            typer.echo(json.dumps(result, ensure_ascii=False))
        else:
            typer.echo(f"{zone} {year} 进口 / imports {value:,.2f} 元 = 全国{series} / national {pct}%")
        return
    items = figures()
    if as_json:
        typer.echo(
            json.dumps(
                [{k: (str(v) if v is not None else None) for k, v in asdict(f).items()} for f in items],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    table = Table(title="全国跨境电商进出口（十亿元）/ national CBEC trade (bn CNY, GACC)")
    for column in ("period", "series", "total", "YoY %", "export", "YoY %", "import", "YoY %", "note"):
        table.add_column(column)
    for f in items:
        cells = [f.total_bn, f.total_yoy, f.export_bn, f.export_yoy, f.import_bn, f.import_yoy]
        table.add_row(f.period, f.series, *["—" if c is None else str(c) for c in cells], f.note)
    _console().print(table)
