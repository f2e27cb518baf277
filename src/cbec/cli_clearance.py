"""Command line of the clearance engine: `cbec db upgrade`, `cbec ingest`, `cbec quota`, `cbec show`,
`cbec reference load`, `cbec expire`. Thin: each command opens the store and calls one use case."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from cbec.ceb.errors import CebError
from cbec.cli_errors import fail as _fail

if TYPE_CHECKING:
    from cbec.store.db import Store

db_app = typer.Typer(help="数据库 / the store's database.", no_args_is_help=True)
reference_app = typer.Typer(
    help="参考数据 / reference data (positive list, tax rates).", no_args_is_help=True
)

INGEST_SUFFIXES = (".xml", ".json")


def _store() -> Store:
    from cbec.store.migrate import open_store

    return open_store()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """创建或迁移数据库（CBEC_DATABASE_URL，默认 var/cbec.db）。 Create or migrate the database."""
    from cbec.store.migrate import current, upgrade

    store = _store()
    upgrade(store.engine)
    typer.echo(
        f"数据库已是最新 / database at revision {current(store.engine)} "
        f"({store.engine.url.render_as_string()})"
    )


def _files(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in INGEST_SUFFIXES)
            )
        elif path.is_file():
            out.append(path)
        else:
            _fail("CBEC-0002", f"找不到文件或目录 {path}", f"no such file or folder: {path}")
    return out


def ingest(
    paths: Annotated[list[Path], typer.Argument(metavar="PATH", help="文件或目录 / files or folders.")],
    outbox: Annotated[
        Path | None,
        typer.Option("--outbox", metavar="DIR", help="回执与税单写入此目录 / write receipts here."),
    ] = None,
    batch: Annotated[
        int,
        typer.Option(
            "--batch",
            metavar="N",
            help="每个事务的报文数（逐份判定）/ messages a transaction (each judged on its own).",
        ),
    ] = 1,
) -> None:
    """受理报文（XML、DxpMsg、JSON），输出回执与税单。 Ingest messages; write receipts and tax bills."""
    from cbec.clearance.service import Engine, IngestResult, Intake, Settings
    from cbec.runtime import tune_gc

    tune_gc()

    if batch < 1:
        _fail("CBEC-0005", "--batch 至少为 1", "--batch must be at least 1")

    files = _files(paths)
    engine = Engine(_store(), Settings.from_env())
    if outbox is not None:
        outbox.mkdir(parents=True, exist_ok=True)
    outcomes: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    console = Console(stderr=True)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=len(files) < 20,
    ) as progress:
        task = progress.add_task("受理 / ingesting", total=len(files))
        chunk: list[Intake] = []

        def run() -> None:
            # receipts are written only after the chunk committed: a killed run leaves nothing half-done,
            # and a re-run answers the committed messages as duplicates with the same receipts
            if len(chunk) == 1:
                results: list[IngestResult] = [engine.ingest(chunk[0].data, source=chunk[0].source)]
            else:
                results = engine.ingest_many(chunk)
            for result in results:
                outcomes[f"{result.message_type or 'unknown'} {result.outcome}"] += 1
                for answer in result.answers:
                    statuses[f"{answer.receipt_type} {answer.status}"] += 1
                    if outbox is not None:
                        _write_answer(outbox, answer.receipt_type, answer.xml)
            progress.advance(task, len(chunk))
            chunk.clear()

        for file in files:
            try:
                data = file.read_bytes()
            except OSError as exc:
                _fail("CBEC-0002", f"无法读取 {file}：{exc.strerror}", f"cannot read {file}: {exc.strerror}")
            chunk.append(Intake(data, source=str(file)))
            if len(chunk) >= batch:
                run()
        if chunk:
            run()
    table = Table(title=f"受理 {len(files)} 个文件 / {len(files)} file(s) ingested")
    table.add_column("报文 / message")
    table.add_column("数量 / count", justify="right")
    for key, count in sorted(outcomes.items()):
        table.add_row(key, str(count))
    for key, count in sorted(statuses.items()):
        table.add_row(f"→ {key}", str(count))
    Console().print(table)


def _write_answer(outbox: Path, receipt_type: str, xml: bytes) -> None:
    """One file per receipt, named by its guid: a re-run writes the same name, never a duplicate."""
    from cbec.ceb.xmlsafe import parse_xml

    guid = parse_xml(xml).get("guid") or "unknown"
    target = outbox / f"{receipt_type}_{guid}.xml"
    if not target.exists():
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(xml)
        tmp.replace(target)


def quota(
    id_number: Annotated[
        str, typer.Argument(metavar="ID_NUMBER", help="订购人身份证号 / the buyer's ID number.")
    ],
    year: Annotated[int | None, typer.Option("--year", help="年度 / calendar year.")] = None,
) -> None:
    """个人年度额度查询（证件号脱敏显示）。 A buyer's annual quota: used, remaining, per list."""
    from cbec.ceb.dxp import CST
    from cbec.clearance.queries import quota as query

    store = _store()
    year = year or dt.datetime.now(CST).year
    with store.transaction() as session:
        view = query(session, id_number, year)
    console = Console()
    console.print(f"订购人 / buyer {view.masked_id}  {view.year} 年度")
    console.print(
        f"已用 / used {view.used:,.2f}  剩余 / remaining {view.remaining:,.2f}  "
        f"限额 / limit {view.limit:,.2f}"
    )
    table = Table()
    for column in (
        "清单编号 / list",
        "订单编号 / order",
        "类型 / kind",
        "金额 / amount",
        "时间 / time (CST)",
    ):
        table.add_column(column)
    for line in view.lines:
        table.add_row(
            line.invt_no or "",
            line.order_no or "",
            line.kind,
            f"{line.amount:,.2f}",
            line.at.astimezone(CST).strftime("%Y-%m-%d %H:%M:%S"),
        )
    console.print(table)


def show(
    kind: Annotated[str, typer.Argument(metavar="list|order", help="单证类型 / document kind.")],
    number: Annotated[str, typer.Argument(metavar="INVT_OR_ORDER_NO", help="清单编号或订单编号 / number.")],
) -> None:
    """查看单证状态、历史与回执。 A list or order with its status, history, receipts and tax bill."""
    from cbec.ceb.dxp import CST
    from cbec.clearance.queries import find

    if kind not in ("list", "order"):
        _fail(
            "CBEC-0005", f"类型应为 list 或 order，而不是 {kind}", f"kind must be list or order, not {kind}"
        )
    store = _store()
    with store.transaction() as session:
        view = find(session, kind, number)
    if view is None:
        _fail("CBEC-0006", f"未找到 {kind} {number}", f"no {kind} {number}")
        return
    doc = view.document
    console = Console()
    console.print(
        f"{doc.kind} {doc.doc_key}  状态 / status: [bold]{doc.status}[/bold]  版本 / version {doc.version}"
    )
    if doc.invt_no:
        console.print(f"清单编号 / invtNo {doc.invt_no}  预录入编号 / preNo {doc.pre_no}")
    events = Table(title="历史 / history")
    for column in ("时间 / time (CST)", "事件 / event", "状态 / status", "详情 / detail"):
        events.add_column(column)
    for event in view.events:
        events.add_row(
            event.at.astimezone(CST).strftime("%Y-%m-%d %H:%M:%S"),
            event.event,
            event.status or "",
            str(event.detail or ""),
        )
    console.print(events)
    receipts = Table(title="回执 / receipts")
    for column in ("类型 / type", "回执状态 / status", "回执信息 / info"):
        receipts.add_column(column)
    for receipt in view.receipts:
        receipts.add_row(receipt.receipt_type, receipt.return_status, receipt.return_info)
    console.print(receipts)
    for bill in view.tax_bills:
        total = bill.customs_tax + bill.value_added_tax + bill.consumption_tax
        console.print(
            f"税单 / tax bill {bill.tax_no} 状态 {bill.status} ({bill.path}): 关税 {bill.customs_tax:.2f} "
            f"增值税 {bill.value_added_tax:.2f} 消费税 {bill.consumption_tax:.2f} 合计 / total {total:.2f}; "
            f"缴款期 / payable {bill.payable_from.astimezone(CST):%Y-%m-%d}–"
            f"{bill.payable_until.astimezone(CST):%Y-%m-%d}"
        )


@reference_app.command("load")
def reference_load(
    kind: Annotated[str, typer.Argument(metavar="positive-list|rates", help="数据类型 / which data.")],
    file: Annotated[Path, typer.Argument(metavar="FILE", help="CSV 或 XLSX / a CSV or XLSX file.")],
) -> None:
    """加载正面清单或税率表（整表校验，有错则不加载）。 Load a positive list or a rate table."""
    from cbec.clearance import reference

    if kind not in (reference.POSITIVE_LIST, reference.RATES):
        _fail(
            "CBEC-0005",
            f"类型应为 positive-list 或 rates，而不是 {kind}",
            "kind must be positive-list or rates",
        )
    if not file.is_file():
        _fail("CBEC-0002", f"找不到文件 {file}", f"no such file: {file}")
    store = _store()
    try:
        with store.transaction() as session:
            row = reference.load(session, kind, file)
    except CebError as exc:
        _fail(exc.code, exc.zh, exc.en)
    except ValueError as exc:
        problems = getattr(exc, "problems", None)
        if problems:
            for problem in problems:
                typer.echo(
                    f"{getattr(problem, 'file', file)}:"
                    f"{getattr(problem, 'row', getattr(problem, 'line', ''))} "
                    f"{getattr(problem, 'zh', '')} / {getattr(problem, 'en', '')}",
                    err=True,
                )
        _fail("CBEC-0007", f"{file} 有错误，未加载：{exc}", f"{file} has errors and was not loaded: {exc}")
    typer.echo(f"已加载 / loaded {kind} {row.name} (sha256 {row.sha256[:12]}…)")


stock_app = typer.Typer(help="保税库存 / bonded stock (1210).", no_args_is_help=True)


@stock_app.command("in")
def stock_in(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="CSV: ems_no,item_record_no,qty")],
) -> None:
    """保税入库：按账册与料号登记库存。 Book bonded goods in, by account book and book item."""
    from cbec.clearance import stock

    if not file.is_file():
        _fail("CBEC-0002", f"找不到文件 {file}", f"no such file: {file}")
    try:
        rows = stock.read_stock_csv(file)
    except stock.StockFileError as exc:
        for line, zh, en in exc.problems:
            typer.echo(f"{file}:{line} {zh} / {en}", err=True)
        _fail("CBEC-0007", f"{file} 有错误，未入库", f"{file} has errors; nothing was booked")
    store = _store()
    with store.transaction() as session:
        count = stock.stock_in(session, rows, dt.datetime.now(dt.UTC), reference=file.name)
    typer.echo(f"已入库 / booked {count} 行 / row(s)")


@stock_app.command("show")
def stock_show(
    ems_no: Annotated[str, typer.Argument(metavar="EMS_NO", help="账册编号 / account book.")],
) -> None:
    """查看账册库存。 What an account book holds."""
    from cbec.clearance import stock

    store = _store()
    with store.transaction() as session:
        rows = stock.holding(session, ems_no)
        table = Table(title=f"账册 / account book {ems_no}")
        table.add_column("料号 / book item")
        table.add_column("结存 / held", justify="right")
        for row in rows:
            table.add_row(row.item_record_no, f"{row.qty.normalize():f}")
    Console().print(table)


def review(
    list_no: Annotated[str, typer.Argument(metavar="INVT_NO", help="清单编号 / the list's invtNo.")],
    action: Annotated[str, typer.Argument(metavar="release|reject", help="放行或退单 / release or reject.")],
    note: Annotated[str, typer.Option("--note", help="退单原因 / reason for a rejection.")] = "",
) -> None:
    """处理人工审核或查验中的清单。 Release or reject a list held for review (300) or inspection (500)."""
    from cbec.clearance.service import Engine, Settings

    if action not in ("release", "reject"):
        _fail("CBEC-0005", f"处理应为 release 或 reject，而不是 {action}", "action must be release or reject")
    try:
        answers = Engine(_store(), Settings.from_env()).resolve(list_no, action, note)
    except CebError as exc:
        _fail(exc.code, exc.zh, exc.en)
        return
    for answer in answers:
        typer.echo(f"{answer.receipt_type} {answer.status} {answer.info}")


def settle(
    outbox: Annotated[
        Path | None, typer.Option("--outbox", metavar="DIR", help="税单状态写入此目录 / write CEB818 here.")
    ] = None,
) -> None:
    """汇总进入缴款期的电子税单（CEB818 状态2）。 Summarize tax bills whose payment window has begun."""
    from cbec.clearance.service import Engine, Settings

    answers = Engine(_store(), Settings.from_env()).settle()
    if outbox is not None:
        outbox.mkdir(parents=True, exist_ok=True)
        for answer in answers:
            _write_answer(outbox, answer.receipt_type, answer.xml)
    typer.echo(f"汇总 / summarized {len(answers)} 份税单 / tax bill(s)")


def expire() -> None:
    """驳回超时仍未收齐四单的清单。 Reject lists whose companions did not arrive within the window."""
    from cbec.clearance.service import Engine, Settings

    answers = Engine(_store(), Settings.from_env()).expire()
    typer.echo(f"驳回 / rejected {len(answers)} 份清单 / list(s)")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
    app.add_typer(reference_app, name="reference")
    app.add_typer(stock_app, name="stock")
    app.command()(ingest)
    app.command()(quota)
    app.command()(show)
    app.command()(review)
    app.command()(settle)
    app.command()(expire)
