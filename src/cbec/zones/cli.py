"""``cbec zones …``: the zone registry, parks, enterprise links, supplied indicators, the yearly assessment
with its exit rule, reports and the demonstration."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cbec.ceb.errors import CebError
from cbec.cli_errors import fail, fail_with

app = typer.Typer(
    help="综试区与园区、考核评估与退出 / pilot zones and parks, the annual assessment and exit.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
parks_app = typer.Typer(
    help="线下产业园区 / offline industrial parks.", no_args_is_help=True, rich_markup_mode=None
)
indicators_app = typer.Typer(
    help="综试区报送的指标 / indicator values zones supply.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(parks_app, name="parks")
app.add_typer(indicators_app, name="indicators")

Json = Annotated[bool, typer.Option("--json", help="JSON 输出 / JSON output.")]


def _console() -> Console:
    """Full width on a terminal; wide lines in a pipe or file so rows stay greppable."""
    return Console(width=None if sys.stdout.isatty() else 160)


@app.command("load")
def load(
    file: Annotated[
        Path | None,
        typer.Argument(help="CSV/XLSX；省略则载入随附的有出处的名单 / omit for the shipped list."),
    ] = None,
) -> None:
    """载入综试区名单（整表校验，有错不载入）。 Load zones; the whole file is checked, nothing is loaded
    on error."""
    from cbec.store.migrate import open_store
    from cbec.zones.service import load_zones

    try:
        with open_store().transaction() as session:
            count = load_zones(session, file)
    except CebError as exc:
        fail_with(exc)
    typer.echo(f"已载入 / loaded {count} 个综试区 / zones")


@app.command("list")
def list_zones(
    status: Annotated[str | None, typer.Option("--status", help="active | warned | exited")] = None,
    as_json: Json = False,
) -> None:
    """列出综试区。 List the registered zones."""
    from cbec.store.migrate import open_store
    from cbec.zones.service import get_all

    with open_store().transaction() as session:
        rows = [
            {
                "code": z.code,
                "name": z.name,
                "province": z.province,
                "batch": z.batch,
                "approved": z.approved,
                "document": z.document,
                "status": z.status,
                "source": z.source,
            }
            for z in get_all(session, status=status)
        ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"综试区 / pilot zones ({len(rows)})")
    for column in (
        "代码 / code",
        "名称 / name",
        "省份 / province",
        "批次 / batch",
        "批准 / approved",
        "状态 / status",
    ):
        table.add_column(column)
    for r in rows:
        table.add_row(r["code"], r["name"], r["province"], r["batch"], r["approved"] or "", r["status"])
    _console().print(table)


@app.command("link")
def link(
    enterprise: Annotated[str, typer.Argument(help="企业代码 / enterprise code.")],
    zone: Annotated[str, typer.Argument(help="综试区代码 / zone code.")],
    park: Annotated[int | None, typer.Option("--park", help="园区编号 / park id.")] = None,
) -> None:
    """把已备案企业归入综试区（及园区）。 Place a registered enterprise in a zone and optionally a park."""
    from cbec.store.migrate import open_store
    from cbec.zones.service import link_enterprise

    try:
        with open_store().transaction() as session:
            row = link_enterprise(session, enterprise, zone, park)
            typer.echo(f"{row.code} → {row.zone}" + (f" / park {row.park_id}" if row.park_id else ""))
    except CebError as exc:
        fail_with(exc)


@app.command("history")
def history(
    zone: Annotated[str, typer.Argument(help="综试区代码 / zone code.")], as_json: Json = False
) -> None:
    """某综试区历年考核结果与状态变化。 A zone's assessments and status changes over the years."""
    from cbec.assess.service import history as results
    from cbec.store.migrate import open_store
    from cbec.zones.service import status_history

    try:
        with open_store().transaction() as session:
            runs = results(session, zone)
            changes = [
                (c.at.isoformat(), c.previous, c.status, c.reason) for c in status_history(session, zone)
            ]
    except CebError as exc:
        fail_with(exc)
    if as_json:
        typer.echo(json.dumps({"assessments": runs, "status_changes": changes}, ensure_ascii=False, indent=2))
        return
    for year, score, rank, tier, action in runs:
        typer.echo(
            f"{year}: score {score if score is None else f'{score:.4f}'} rank {rank} tier {tier} {action}"
        )
    for at, previous, status, reason in changes:
        typer.echo(f"{at}: {previous} → {status}  {reason}")


@parks_app.command("add")
def parks_add(
    zone: Annotated[str, typer.Argument(help="综试区代码 / zone code.")],
    name: Annotated[str, typer.Argument(help="园区名称 / park name.")],
    kind: Annotated[str, typer.Option("--type", help="类型 / type, e.g. 产业园.")] = "产业园",
    area: Annotated[str | None, typer.Option("--area", help="面积（平方公里）/ area in km².")] = None,
) -> None:
    """登记园区。 Register a park."""
    from decimal import Decimal, InvalidOperation

    from cbec.store.migrate import open_store
    from cbec.zones.errors import BadPark
    from cbec.zones.service import add_park

    try:
        try:
            area_value = Decimal(area) if area is not None else None
        except InvalidOperation:
            raise BadPark("面积应为数字（平方公里）", "the area must be a number of km²") from None
        with open_store().transaction() as session:
            row = add_park(session, zone, name, kind, area_value)
            typer.echo(f"已登记 / registered park {row.id}: {row.name} ({row.zone_code})")
    except CebError as exc:
        fail_with(exc)


@parks_app.command("load")
def parks_load(file: Annotated[Path, typer.Argument(help="CSV/XLSX: zone,name,type,area_km2")]) -> None:
    """从文件登记园区（整表校验）。 Register parks from a file (checked as a whole)."""
    from cbec.store.migrate import open_store
    from cbec.zones.service import load_parks

    try:
        with open_store().transaction() as session:
            count = load_parks(session, file)
    except CebError as exc:
        fail_with(exc)
    typer.echo(f"已登记 / registered {count} 个园区 / parks")


@parks_app.command("list")
def parks_list(zone: Annotated[str | None, typer.Option("--zone", help="综试区 / zone.")] = None) -> None:
    """列出园区及入驻企业数。 Parks with the number of enterprises located there."""
    from cbec.store.migrate import open_store
    from cbec.zones.service import parks_of

    try:
        with open_store().transaction() as session:
            rows = [(p.id, p.zone_code, p.name, p.kind, p.area_km2, n) for p, n in parks_of(session, zone)]
    except CebError as exc:
        fail_with(exc)
    table = Table(title="园区 / parks")
    for column in ("id", "综试区 / zone", "名称 / name", "类型 / type", "面积 km²", "企业 / enterprises"):
        table.add_column(column)
    for pid, code, name, kind, area, n in rows:
        table.add_row(str(pid), code, name, kind, "" if area is None else f"{area:g}", str(n))
    _console().print(table)


@indicators_app.command("load")
def indicators_load(
    file: Annotated[Path, typer.Argument(help="CSV/XLSX: zone,year,indicator,value[,source]")],
) -> None:
    """载入综试区报送的指标值（整表校验）。 Load supplied indicator values (checked as a whole)."""
    from cbec.store.migrate import open_store
    from cbec.zones.service import load_indicator_values

    try:
        with open_store().transaction() as session:
            count = load_indicator_values(session, file)
    except CebError as exc:
        fail_with(exc)
    typer.echo(f"已载入 / loaded {count} 个指标值 / values")


def _print_result(result: object) -> None:
    from cbec.assess.report import ACTIONS
    from cbec.assess.result import AssessmentResult

    assert isinstance(result, AssessmentResult)
    table = Table(
        title=f"{result.year} 年度综试区考核 / {result.year} pilot-zone assessment ({result.tier_method})"
    )
    for column in (
        "名次 / rank",
        "综试区 / zone",
        "得分 / score",
        "档次 / tier",
        "变化 / move",
        "退出规则 / exit rule",
        "缺失 / missing",
    ):
        table.add_column(column)
    for z in result.zones:
        move = "—" if z.movement is None else f"{z.movement:+d}"
        action = "—" if z.action == "none" else f"{ACTIONS[z.action][0]} / {ACTIONS[z.action][1]}"
        table.add_row(
            str(z.rank or "—"),
            f"{z.name} {z.code}",
            "—" if z.score is None else f"{z.score:.4f}",
            z.tier_name,
            move,
            action,
            ", ".join(z.missing),
        )
    _console().print(table)
    counts = result.tier_counts()
    typer.echo("档次 / tiers: " + " · ".join(f"{k}: {v}" for k, v in counts.items()))
    if result.not_assessed:
        typer.echo(
            f"无数据未考核 / not assessed, no data ({len(result.not_assessed)}): "
            + ", ".join(result.not_assessed)
        )
    if result.exited:
        typer.echo(f"此前已退出 / exited earlier: {', '.join(result.exited)}")


def _write_reports(result: object, html: Path | None, xlsx: Path | None) -> None:
    from cbec.assess.report import render_html, write_xlsx
    from cbec.assess.result import AssessmentResult

    assert isinstance(result, AssessmentResult)
    try:
        if html is not None:
            html.write_text(render_html(result, charts=True), encoding="utf-8")
            typer.echo(f"已写入 / written {html}", err=True)
        if xlsx is not None:
            write_xlsx(result, xlsx)
            typer.echo(f"已写入 / written {xlsx}", err=True)
    except OSError as exc:
        fail("CBEC-0707", f"无法写入报告：{exc.strerror}", f"cannot write the report: {exc.strerror}")


Html = Annotated[Path | None, typer.Option("--html", help="HTML 报告 / HTML report file.")]
Xlsx = Annotated[Path | None, typer.Option("--xlsx", help="XLSX 报告 / XLSX report file.")]


@app.command("assess")
def assess(
    year: Annotated[int, typer.Option("--year", help="考核年度 / year assessed.")],
    config: Annotated[
        Path | None,
        typer.Option("--config", help="指标体系 YAML / indicator system (default: shipped example)."),
    ] = None,
    as_json: Json = False,
    html: Html = None,
    xlsx: Xlsx = None,
) -> None:
    """年度考核：得分、排名、档次、退出建议（保存历史并更新状态）。 Run the yearly assessment: scores, ranks,
    tiers and exit recommendations; the run is kept and zones' status follows it."""
    from cbec.assess import config as assess_config
    from cbec.assess.service import assess as run
    from cbec.store.migrate import open_store

    try:
        cfg = assess_config.load(config)
        with open_store().transaction() as session:
            result = run(session, year, cfg)
    except CebError as exc:
        fail_with(exc)
    if as_json:
        typer.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        _print_result(result)
    _write_reports(result, html, xlsx)


@app.command("report")
def report(
    year: Annotated[int, typer.Option("--year", help="考核年度 / year assessed.")],
    html: Html = None,
    xlsx: Xlsx = None,
    as_json: Json = False,
) -> None:
    """重新输出已保存的考核结果。 Print or write the stored assessment of a year (no new run)."""
    from cbec.assess.service import load_result
    from cbec.store.migrate import open_store

    try:
        with open_store().transaction() as session:
            result = load_result(session, year)
    except CebError as exc:
        fail_with(exc)
    if as_json:
        typer.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    elif html is None and xlsx is None:
        _print_result(result)
    _write_reports(result, html, xlsx)


@app.command("demo")
def demo(
    folder: Annotated[Path, typer.Argument(help="生成文件目录 / folder for generated files.")] = Path(
        "var/zones-demo"
    ),
    years: Annotated[
        str, typer.Option("--years", help="年度，逗号分隔 / years, comma-separated.")
    ] = "2024,2025,2026",
    lists: Annotated[int, typer.Option("--lists", help="每年清单数 / lists per year.")] = 300,
    seed: Annotated[int, typer.Option("--seed", help="随机种子 / seed.")] = 7,
) -> None:
    """考核演示：名单、企业归属、多年模拟通关数据、逐年考核。 The assessment demonstration over simulated
    cleared traffic for every year given, then the last year's ranking."""
    from cbec.store.migrate import open_store
    from cbec.zones import demo as zones_demo
    from cbec.zones.errors import BadZoneFile

    try:
        try:
            year_list = sorted({int(y) for y in years.split(",") if y.strip()})
        except ValueError:
            raise BadZoneFile("--years 应为逗号分隔的年份", "--years must be comma-separated years") from None
        if not year_list or any(not 2016 <= y <= 2100 for y in year_list) or not 1 <= lists <= 100_000:
            raise BadZoneFile(
                "--years 应在 2016–2100 之间，--lists 在 1–100000 之间",
                "--years must lie within 2016–2100 and --lists within 1–100000",
            )
        summary = zones_demo.run(
            open_store(),
            folder,
            years=year_list,
            lists=lists,
            seed=seed,
            progress=lambda t: typer.echo(t, err=True),
        )
    except CebError as exc:
        fail_with(exc)
    typer.echo(
        f"综试区 / zones {summary.zones}; 企业 / enterprises {summary.enterprises}; "
        f"园区 / parks {summary.parks}; "
        f"报文 / messages {summary.lists}"
    )
    for result in summary.results:
        flagged = [f"{z.code}:{z.action}" for z in result.zones if z.action != "none"]
        typer.echo(f"{result.year}: {result.tier_counts()} exit rule → {', '.join(flagged) or '—'}")
    _print_result(summary.results[-1])
    typer.echo(f"报告 / report: cbec zones report --year {summary.results[-1].year} --html report.html")
