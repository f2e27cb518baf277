"""``cbec simulate``: generate realistic import traffic with ground truth, and optionally check the engine
against it. `register` adds the command to the ``cbec`` application (the lead wires it into cbec/cli.py).

Exit codes follow the rest of ``cbec``: 0 done (with ``--check``: 100 % agreement), 1 the check found a
disagreement, 2 the command could not run (bad options, a folder that already holds messages, a database
that is not empty).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from cbec.cli_errors import fail as _fail
from cbec.sim.traffic import SimConfig

if TYPE_CHECKING:
    from cbec.store.db import Store

EXIT_DISAGREE = 1
#: disagreements printed in full; the rest are counted
SHOWN = 50


@contextmanager
def _progress(total: int, label: str, enabled: bool) -> Iterator[Progress]:
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not enabled,
    ) as progress:
        progress.add_task(label, total=total)
        yield progress


def simulate(
    lists: Annotated[
        int, typer.Option("--lists", metavar="N", help="清单数 / number of declaration lists.")
    ] = 1000,
    seed: Annotated[
        int, typer.Option("--seed", metavar="S", help="随机种子 / random seed (same seed, same bytes).")
    ] = 1,
    faults: Annotated[
        float,
        typer.Option(
            "--faults", metavar="RATE", help="每笔交易的故障概率 0..1 / fault probability per trade."
        ),
    ] = 0.1,
    out: Annotated[
        Path | None, typer.Option("--out", metavar="DIR", help="输出目录 / write the set here.")
    ] = None,
    dxp: Annotated[
        bool, typer.Option("--dxp", help="封装为 DxpMsg / wrap every message in a DxpMsg.")
    ] = False,
    check: Annotated[
        bool,
        typer.Option("--check", help="用引擎跑一遍并与预期比对 / run the engine over the set and compare."),
    ] = False,
    database: Annotated[
        str | None,
        typer.Option(
            "--database",
            metavar="URL",
            help="--check 所用的空数据库（默认在输出目录下新建 SQLite）/ an EMPTY database for --check "
            "(default: a fresh SQLite file under the output folder).",
        ),
    ] = None,
    start: Annotated[
        str, typer.Option("--date", metavar="YYYY-MM-DD", help="第一天 / first simulated day (China time).")
    ] = "2026-11-11",
    days: Annotated[int, typer.Option("--days", help="天数 / number of days.")] = 1,
    peak: Annotated[
        bool, typer.Option("--peak", help="首日为“双11”式高峰 / the first day is a Double-11-style peak.")
    ] = False,
    bonded: Annotated[
        float, typer.Option("--bonded", metavar="SHARE", help="保税进口（1210）占比 / share of 1210 trades.")
    ] = 0.3,
    workers: Annotated[
        int | None,
        typer.Option("--workers", help="生成进程数（默认自动）/ generator processes (default: auto)."),
    ] = None,
) -> None:
    """生成模拟进口报文及每份清单的预期结果；--check 用引擎比对。 Generate simulated import traffic with the
    expected outcome of every list; --check runs the engine over it and compares."""
    try:
        first = date.fromisoformat(start)
    except ValueError:
        _fail("CBEC-0005", f"日期格式应为 YYYY-MM-DD：{start}", f"--date must be YYYY-MM-DD: {start}")
    try:
        config = SimConfig(
            lists=lists, seed=seed, faults=faults, start=first, days=days, peak=peak, bonded=bonded, dxp=dxp
        )
    except ValueError as exc:
        _fail("CBEC-0005", f"参数无效：{exc}", f"invalid option: {exc}")
    if out is None and not check:
        _fail("CBEC-0005", "需要 --out DIR 或 --check", "give --out DIR or --check")
    if workers is not None and workers < 1:
        _fail("CBEC-0005", "--workers 至少为 1", "--workers must be at least 1")
    if out is not None:
        _run(config, out, check, database, workers)
        return
    with tempfile.TemporaryDirectory(prefix="cbec-simulate-") as folder:
        _run(config, Path(folder), check, database, workers)


def _run(config: SimConfig, folder: Path, check: bool, database: str | None, workers: int | None) -> None:
    from cbec.sim.output import write_set

    console = Console(soft_wrap=True, highlight=False)
    messages = folder / "messages"
    if messages.is_dir() and any(messages.iterdir()):
        _fail(
            "CBEC-0008",
            f"{messages} 已有报文，请换一个目录或先清空",
            f"{messages} already holds messages; use another folder or empty it first",
        )
    store = _check_store(folder, database) if check else None  # refuse a used database before generating
    try:
        with _progress(config.lists, "生成 / generating", config.lists >= 2000) as bar:
            task = bar.task_ids[0]
            try:
                written = write_set(config, folder, workers=workers, progress=lambda n: bar.advance(task, n))
            except FileExistsError as exc:
                zh, _, en = str(exc).partition(" / ")
                _fail("CBEC-0008", zh, en)
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(written.statuses.items()))
        console.print(
            f"已生成 {written.lists} 份清单、{written.files} 个报文文件，"
            f"{written.rate:,.0f} 份/秒 → {folder}\n"
            f"Generated {written.lists} lists in {written.files} message files, {written.rate:,.0f} lists/s "
            f"({written.workers} process(es)) → {folder}\n预期 / expected: {statuses}",
            markup=False,
        )
        if store is None:
            return
        from cbec.sim.check import message_files, run_check

        total = len(message_files(folder))
        with _progress(total, "受理 / ingesting", total >= 200) as bar:
            task = bar.task_ids[0]
            report = run_check(folder, store, progress=lambda n: bar.advance(task, n))
    finally:
        if store is not None:
            store.dispose()
    for line in report.lines(SHOWN):
        console.print(line, markup=False)
    if not report.ok:
        raise typer.Exit(EXIT_DISAGREE)


def _check_store(folder: Path, database: str | None) -> Store:
    """A migrated, empty store: the given database (refused unless empty) or a new SQLite file."""
    from sqlalchemy import func, select

    from cbec.store.db import Store, make_engine
    from cbec.store.migrate import upgrade
    from cbec.store.models import DocumentRow, QuotaRow, ReferenceRow, StockRow

    if database is None:
        target = folder / "check"
        target.mkdir(parents=True, exist_ok=True)
        for name in ("cbec.db", "cbec.db-wal", "cbec.db-shm"):
            (target / name).unlink(missing_ok=True)
        database = f"sqlite:///{target / 'cbec.db'}"
    engine = make_engine(database)
    upgrade(engine)
    store = Store(engine=engine)
    with store.transaction() as session:
        used = sum(
            session.scalar(select(func.count()).select_from(table)) or 0
            for table in (DocumentRow, QuotaRow, ReferenceRow, StockRow)
        )
    if used:
        store.dispose()
        _fail(
            "CBEC-0009",
            "--check 需要一个空数据库（预期结果假定没有已有的单证、额度、库存和参考数据）",
            "--check needs an empty database (the ground truth assumes no earlier documents, quota, "
            "stock or reference data)",
        )
    return store


def bench(
    db: Annotated[str, typer.Option("--db", help="sqlite 或 postgresql / which database.")] = "sqlite",
    lists: Annotated[int, typer.Option("--lists", metavar="N", help="清单数 / number of lists.")] = 1000,
    write: Annotated[
        Path | None, typer.Option("--write", metavar="FILE", help="结果追加到此文件 / append results here.")
    ] = None,
    url: Annotated[
        str,
        typer.Option(
            "--url", help="PostgreSQL 地址（在其中新建 schema）/ PostgreSQL URL (a new schema is made)."
        ),
    ] = "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    batch: Annotated[
        int,
        typer.Option(
            "--batch",
            metavar="N",
            help="每个事务的报文数；--http 时为每个请求的报文数 / messages a transaction (1: one each); with "
            "--http, messages a request (multipart batches of a sender's files).",
        ),
    ] = 1,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            metavar="W",
            help="受理进程数（PostgreSQL；--http 时为服务进程数）/ intake processes.",
        ),
    ] = 1,
    http: Annotated[
        bool,
        typer.Option("--http", help="经 HTTP API 受理（uvicorn + 独立客户端）/ intake over the HTTP API."),
    ] = False,
    concurrency: Annotated[
        int, typer.Option("--concurrency", metavar="C", help="--http 并发请求数 / requests in flight.")
    ] = 32,
    source: Annotated[
        Path | None,
        typer.Option(
            "--set",
            metavar="DIR",
            help="用 cbec simulate 已生成的数据集（保留，不重新生成；忽略 --lists）/ ingest a set made "
            "earlier by cbec simulate (kept; --lists is taken from it).",
        ),
    ] = None,
    timeline: Annotated[
        Path | None,
        typer.Option(
            "--timeline",
            metavar="FILE",
            help="每分钟采样（消息数、各进程内存、CPU）追加为 JSON 行 / append a sample a minute "
            "(messages, each process's memory, CPU) as JSON lines.",
        ),
    ] = None,
) -> None:
    """端到端批量受理基准：生成→受理→决定→回执。 End-to-end batch intake benchmark on a generated set."""
    from cbec.api.messages import MAX_BATCH_ITEMS
    from cbec.sim.bench import markdown, run_bench

    if db not in ("sqlite", "postgresql"):
        _fail(
            "CBEC-0005", f"--db 应为 sqlite 或 postgresql，而不是 {db}", "--db must be sqlite or postgresql"
        )
    if lists < 1:
        _fail("CBEC-0005", "--lists 至少为 1", "--lists must be at least 1")
    if batch < 1 or workers < 1:
        _fail("CBEC-0005", "--batch 与 --workers 至少为 1", "--batch and --workers must be at least 1")
    if http and (source is not None or timeline is not None):
        _fail(
            "CBEC-0005", "--set 与 --timeline 不适用于 --http", "--set and --timeline do not apply to --http"
        )
    for option, target in (("--write", write), ("--timeline", timeline)):
        _appendable(option, target)  # before a run of minutes or hours, not after it
    if http and batch > MAX_BATCH_ITEMS:
        _fail(
            "CBEC-0005",
            f"--http 时 --batch 至多为 {MAX_BATCH_ITEMS}（API 每批上限）",
            f"with --http, --batch is at most {MAX_BATCH_ITEMS} (the API's batch limit)",
        )
    if http:
        from cbec.sim.http_bench import markdown as http_markdown
        from cbec.sim.http_bench import run_http_bench

        found = run_http_bench(
            lists,
            db,
            pg_url=url,
            server_workers=max(workers, 1),
            concurrency=max(concurrency, 1),
            batch=batch,
        )
        typer.echo(found.summary())
        if write is not None:
            with write.open("a", encoding="utf-8") as fh:
                fh.write(http_markdown(found))
            typer.echo(f"appended to {write}")
        return
    if workers > 1 and db != "postgresql":
        _fail("CBEC-0005", "多个受理进程需要 PostgreSQL", "several workers need --db postgresql")
    try:
        result = run_bench(
            lists, db, pg_url=url, batch=batch, workers=workers, source=source, timeline=timeline
        )
    except ValueError as exc:
        _fail("CBEC-0005", f"数据集无效：{exc}", f"not a usable set: {exc}")
    typer.echo(
        f"{result.database} (batch {result.batch}, {result.workers} worker(s)): {result.lists} lists, "
        f"{result.files} files in {result.seconds:.1f} s → "
        f"{result.lists_per_second:.1f} lists/s, {result.files_per_second:.0f} documents/s; decision p50 "
        f"{result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms; peak RSS {result.peak_mb:.0f} MB "
        f"(all intake processes {result.total_peak_mb:.0f} MB); CPU "
        f"{result.cpu_seconds:.1f} s + database {result.db_cpu_seconds:.1f} s → "
        f"{result.lists_per_cpu_second:,.0f} lists per CPU second"
    )
    if result.chunks_line():
        typer.echo(result.chunks_line())
    if write is not None:
        with write.open("a", encoding="utf-8") as fh:
            fh.write(markdown([result]))
        typer.echo(f"appended to {write}")


def _appendable(option: str, path: Path | None) -> None:
    """Refuse an output file the run could not append to (CBEC-0005); one that can is created if absent."""
    if path is None:
        return
    try:
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as exc:
        _fail(
            "CBEC-0005",
            f"{option} 文件无法写入：{path}（{exc.strerror}）",
            f"cannot append to the {option} file {path}: {exc.strerror}",
        )


def register(app: typer.Typer) -> None:
    """Add ``simulate`` and ``bench`` to the ``cbec`` application."""
    app.command("simulate")(simulate)
    app.command("bench")(bench)
