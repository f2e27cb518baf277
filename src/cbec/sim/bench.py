"""`cbec bench`: end-to-end batch intake measured on a generated set (simulate → engine → receipts).

One process, files ingested in arrival order with the engine's clock at each file's arrival time, on a
fresh SQLite file or a fresh PostgreSQL schema. Reported: lists and documents a second, the latency of the
ingest call that decided each list (p50/p99), and peak memory. HTTP intake and the growth runs of the
benchmarks issue come on top of this.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import platform
import re
import resource
import subprocess
import tempfile
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from cbec.clearance.service import Engine, IngestResult, Intake, Settings
from cbec.runtime import tune_gc
from cbec.sim.check import SUFFIXES, FileOutcome, arrival_time, load_reference
from cbec.sim.latency import Latencies, decides
from cbec.sim.output import EXPECTED, MESSAGES, write_set
from cbec.sim.procstat import cpu_seconds, server_settings
from cbec.sim.timeline import Timeline
from cbec.sim.traffic import SimConfig
from cbec.store.db import Store, make_engine
from cbec.store.migrate import upgrade

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass(frozen=True)
class BenchResult:
    database: str
    lists: int
    files: int
    seconds: float
    decided: int
    p50_ms: float
    p99_ms: float
    peak_mb: float
    batch: int = 1
    workers: int = 1
    #: CPU seconds of the intake process(es) and of their database server processes (PostgreSQL backends)
    cpu_seconds: float = 0.0
    db_cpu_seconds: float = 0.0
    #: the peak RSS of every intake process added up (the router and its workers): what the run needs at most
    total_peak_mb: float = 0.0
    #: how the chunks went (`Engine.chunk_stats` of every intake process added up)
    chunk_stats: dict[str, int] = field(default_factory=dict)
    #: the commit the run started on (`git_commit`), read before the run: a long run may outlive it
    commit: str = ""
    #: PostgreSQL: the server's version and settings (`procstat.server_settings`), read before the run
    server: str = ""

    def chunks_line(self) -> str:
        """How the chunks went, for the terminal and BENCHMARKS.md (empty for one message a transaction)."""
        found = self.chunk_stats
        if not found.get("chunks"):
            return ""
        return (
            f"chunks: {found['chunks']:,}; run again after a bonded-stock conflict: "
            f"{found.get('stock_reruns', 0):,}; given up for one message a transaction: "
            f"{found.get('fallbacks', 0):,} ({found.get('fallback_messages', 0):,} messages)"
        )

    @property
    def lists_per_cpu_second(self) -> float:
        """Lists per CPU second of intake and database together: what the code costs, whatever else runs."""
        used = self.cpu_seconds + self.db_cpu_seconds
        return self.lists / used if used > 0 else 0.0

    @property
    def lists_per_second(self) -> float:
        return self.lists / self.seconds

    @property
    def files_per_second(self) -> float:
        return self.files / self.seconds


def _store(database: str, folder: Path, pg_url: str) -> tuple[Store, str | None]:
    """A fresh store: a SQLite file in `folder`, or a new schema on PostgreSQL (returned to drop later)."""
    if database == "sqlite":
        engine = make_engine(f"sqlite:///{folder / 'bench.db'}")
        upgrade(engine)
        return Store(engine=engine), None
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    engine = create_engine(pg_url, connect_args={"options": f"-csearch_path={schema}"})
    upgrade(engine)
    return Store(engine=engine), schema


def iter_message_files(folder: Path) -> Iterator[Path]:
    """The files `cbec ingest DIR` takes, in its order, one folder at a time: a generated set keeps its
    messages under messages/YYYYMMDD/HH/, so no whole-run list of paths is ever held. A folder's names are
    held as bytes while it is read (the busiest hour of a 1 M-list day has 290,000 files: 26 MB so, 88 MB
    as directory entries)."""
    base = os.fsencode(folder)
    names: list[bytes] = []
    folders: set[bytes] = set()
    with os.scandir(base) as entries:
        for entry in entries:
            if entry.is_dir():
                folders.add(entry.name)
                names.append(entry.name)
            elif entry.is_file() and os.path.splitext(entry.name)[1].lower() in _SUFFIXES:
                names.append(entry.name)
    names.sort()
    for name in names:
        path = Path(os.fsdecode(os.path.join(base, name)))
        if name in folders:
            yield from iter_message_files(path)
        else:
            yield path


_SUFFIXES = {os.fsencode(suffix) for suffix in SUFFIXES}


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _generate(lists: int, seed: int, target: Path) -> None:
    """Make the set in a child process, so the measured process's peak memory is the intake's alone."""
    context = _context()
    child = context.Process(target=_write, args=(lists, seed, target))
    child.start()
    child.join()
    if child.exitcode != 0:
        raise RuntimeError(f"generating the set failed (exit code {child.exitcode})")


def _write(lists: int, seed: int, target: Path) -> None:
    write_set(SimConfig(lists=lists, seed=seed, faults=0.0), target)


def _decided(result: IngestResult) -> int:
    """How many lists the ingest call (or chunk) decided: its decisions are what its latency times."""
    return sum(1 for a in result.answers if decides(a.receipt_type, a.status))


@dataclass
class _Tally:
    files: int = 0
    decided: int = 0
    latencies: Latencies = field(default_factory=Latencies)
    cpu: float = 0.0
    db_cpu: float = 0.0
    #: peak RSS in MB: the largest intake process, and all of them added up
    peak_mb: float = 0.0
    total_mb: float = 0.0
    chunk_stats: Counter[str] = field(default_factory=Counter)


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _backend_cpu(store: Store) -> float:
    """CPU seconds so far of this process's PostgreSQL backend (same machine; /proc), 0 elsewhere."""
    if store.dialect != "postgresql":
        return 0.0
    with store.engine.connect() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    return cpu_seconds(int(pid))


def _ingest_stream(
    engine: Engine, paths: Iterable[Path], batch: int, tally: _Tally, timeline: Path | None = None
) -> None:
    """Ingest `paths` in order, `batch` messages a transaction; latency: the call (chunk) deciding a list.
    With `timeline`, the run is sampled into that file every minute (`Timeline`)."""
    chunk: list[Intake] = []

    def run() -> None:
        call = time.perf_counter()
        results = (
            engine.ingest_many(chunk)
            if batch > 1
            else [engine.ingest(chunk[0].data, source=chunk[0].source, now=chunk[0].now)]
        )
        elapsed = time.perf_counter() - call
        decided = sum(_decided(result) for result in results)
        tally.decided += decided
        tally.latencies.add(elapsed, decided)
        tally.files += len(chunk)
        chunk.clear()

    cpu, db_cpu = _own_cpu(), _backend_cpu(engine.store)
    with _sampled(timeline, {"intake": os.getpid()}, lambda: tally.files, None):
        for path in paths:
            chunk.append(Intake(path.read_bytes(), path.name, arrival_time(path)))
            if len(chunk) >= batch:
                run()
        if chunk:
            run()
    tally.cpu += _own_cpu() - cpu
    tally.db_cpu += _backend_cpu(engine.store) - db_cpu
    tally.peak_mb = tally.total_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tally.chunk_stats.update(engine.chunk_stats)


def _sampled(
    path: Path | None, processes: dict[str, int], done: Callable[[], int], pg: tuple[str, str] | None
) -> AbstractContextManager[object]:
    """A `Timeline` of the run into `path` (`pg`: the database URL and the intake's application_name, for
    its backends' CPU), or nothing when no path is given."""
    if path is None:
        return nullcontext()
    url, name = pg if pg is not None else (None, None)
    return Timeline(path, processes=processes, done=done, pg_url=url, application_name=name)


_ORDER_NO = re.compile(rb"orderNo>([^<]*)<")
_BUYER = re.compile(rb"(?:buyerIdNumber|payerIdNumber)>([^<]*)<")
#: trades whose worker is remembered (a trade's documents arrive within hours, not 200,000 trades apart)
_ROUTES = 200_000


class Router:
    """Which worker takes a message, so one worker sees every document of a trade and, as far as the
    documents say, every list of a buyer: a trade (orderNo) stays with the worker its first document went
    to; a trade's first document goes by the buyer's (or payer's) ID number when it carries one, else by the
    order number. Deterministic (a stable hash), so a rerun routes the same way.

    Recent trades are remembered in two generations of a plain dict keyed by the order number's hash (an
    int, not the bytes): a lookup promotes an older trade, and when the young generation is full the old
    one is dropped: the last `_ROUTES` trades at least, twice that at most, in about 80 bytes each."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._young: dict[int, int] = {}
        self._old: dict[int, int] = {}

    def __call__(self, data: bytes) -> int:
        order = _ORDER_NO.search(data)
        if order is None:
            return 0
        key = order.group(1)
        slot = hash(key)
        found = self._young.get(slot)
        if found is None:
            found = self._old.pop(slot, None)
        if found is None:
            buyer = _BUYER.search(data)
            basis = buyer.group(1).strip().upper() if buyer is not None and buyer.group(1).strip() else key
            found = zlib.crc32(basis) % self.workers
        self._remember(slot, found)
        return found

    def _remember(self, slot: int, worker: int) -> None:
        if slot not in self._young and len(self._young) >= _ROUTES:
            self._old, self._young = self._young, {}
        self._young[slot] = worker

    def __len__(self) -> int:
        return len(self._young) + len(self._old)


def _worker(url: str, schema: str | None, inbox: Any, outbox: Any, collect: bool, name: str) -> None:
    """A worker process: ingest the chunks it is sent, in order; report its tally, peak memory and (when
    `collect`) what each file was answered, or the error that stopped it. Its database sessions carry
    `name` as application_name, so the router can find them to sample their CPU."""
    try:
        if schema is not None:
            engine_ = create_engine(
                url, connect_args={"options": f"-csearch_path={schema}", "application_name": name}
            )
        else:
            engine_ = make_engine(url)
        store = Store(engine=engine_)
        engine = Engine(store, Settings())
        tune_gc()
        tally = _Tally()
        outcomes: dict[str, FileOutcome] = {}
        cpu, db_cpu = _own_cpu(), _backend_cpu(store)
        while True:
            chunk = inbox.get()
            if chunk is None:
                break
            call = time.perf_counter()
            results = engine.ingest_many([Intake(d, s, n) for d, s, n in chunk])
            elapsed = time.perf_counter() - call
            decided = sum(_decided(result) for result in results)
            tally.decided += decided
            tally.latencies.add(elapsed, decided)
            if collect:
                for (_data, source, _now), result in zip(chunk, results, strict=True):
                    statuses = tuple((a.receipt_type, a.status) for a in result.answers)
                    outcomes[source] = FileOutcome(result.outcome, result.message_type, statuses)
            tally.files += len(chunk)
        tally.cpu, tally.db_cpu = _own_cpu() - cpu, _backend_cpu(store) - db_cpu
        tally.chunk_stats.update(engine.chunk_stats)
        store.dispose()
    except Exception as exc:  # reported to the parent, which would otherwise wait forever
        outbox.put(("error", repr(exc)))
        while inbox.get() is not None:  # let the parent finish routing
            pass
        return
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outbox.put(
        (
            "done",
            (
                tally.files,
                tally.decided,
                tally.latencies,
                peak,
                outcomes,
                tally.cpu,
                tally.db_cpu,
                dict(tally.chunk_stats),
            ),
        )
    )


def ingest_parallel(
    url: str,
    schema: str | None,
    paths: Iterable[Path],
    *,
    batch: int,
    workers: int,
    root: Path | None = None,
    collect: bool = False,
    timeline: Path | None = None,
) -> tuple[_Tally, dict[str, FileOutcome]]:
    """Ingest `paths` (in arrival order) with `workers` processes on PostgreSQL: this process reads each
    file and routes it (`Router`) to a worker, `batch` messages a chunk (`Engine.ingest_many`). Returns the
    tally of all (with the peak RSS of the largest process and of all of them, this one included) and (when
    `collect`) each file's outcome by its path relative to `root`. With `timeline`, the run is sampled into
    that file every minute (`Timeline`): messages handed to the workers, each process's memory, CPU."""
    context = _context()
    inboxes = [context.Queue(maxsize=8) for _ in range(workers)]
    outbox = context.Queue()
    app_name = f"cbec-bench-{os.getpid()}"
    procs = [
        context.Process(target=_worker, args=(url, schema, inboxes[i], outbox, collect, app_name))
        for i in range(workers)
    ]
    for proc in procs:
        proc.start()
    route = Router(workers)
    chunks: list[list[tuple[bytes, str, dt.datetime | None]]] = [[] for _ in range(workers)]
    handed = 0
    processes = {"router": os.getpid()} | {f"worker{i + 1}": p.pid or 0 for i, p in enumerate(procs)}
    try:
        with _sampled(timeline, processes, lambda: handed, (url, app_name)):
            for path in paths:
                data = path.read_bytes()
                target = route(data)
                name = path.relative_to(root).as_posix() if root is not None else path.name
                chunks[target].append((data, name, arrival_time(path)))
                if len(chunks[target]) >= batch:
                    inboxes[target].put(chunks[target])
                    handed += len(chunks[target])
                    chunks[target] = []
            for i, chunk in enumerate(chunks):
                if chunk:
                    inboxes[i].put(chunk)
                    handed += len(chunk)
                inboxes[i].put(None)
            tally = _Tally()
            outcomes: dict[str, FileOutcome] = {}
            for _ in procs:
                status, payload = outbox.get()
                if status == "error":
                    raise RuntimeError(f"a bench worker failed: {payload}")
                files, decided, latencies, rss, found, cpu, db_cpu, chunk_stats = payload
                tally.cpu += cpu
                tally.db_cpu += db_cpu
                tally.files += files
                tally.decided += decided
                tally.latencies.extend(latencies)
                tally.chunk_stats.update(chunk_stats)
                outcomes.update(found)
                tally.peak_mb = max(tally.peak_mb, rss / 1024)
                tally.total_mb += rss / 1024
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        tally.peak_mb = max(tally.peak_mb, own)
        tally.total_mb += own
    finally:
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join()
    return tally, outcomes


def run_bench(
    lists: int,
    database: str = "sqlite",
    *,
    seed: int = 1,
    pg_url: str = DEFAULT_PG_URL,
    batch: int = 1,
    workers: int = 1,
    source: Path | None = None,
    timeline: Path | None = None,
) -> BenchResult:
    """Ingest a generated set end to end, `batch` messages a transaction in `workers` processes
    (PostgreSQL; SQLite takes one writer), and measure. The set is `lists` fault-free lists generated
    afresh (and deleted), or `source`, a set `cbec simulate` wrote earlier (its lists counted from its
    ground truth; kept). `timeline`: a file the run is sampled into every minute."""
    if workers > 1 and database != "postgresql":
        raise ValueError("several workers need PostgreSQL (SQLite serializes writers)")
    commit = git_commit()
    with tempfile.TemporaryDirectory(prefix="cbec-bench-") as tmp:
        folder = Path(tmp)
        the_set = source if source is not None else folder / "set"
        if source is None:
            _generate(lists, seed, the_set)
        else:
            lists = count_lists(source)
        store, schema = _store(database, folder, pg_url)
        url = pg_url if schema is not None else f"sqlite:///{folder / 'bench.db'}"
        server = server_settings(pg_url) if schema is not None else ""
        try:
            load_reference(store, the_set)
            paths = iter_message_files(the_set / MESSAGES)
            started = time.perf_counter()
            if workers > 1:
                store.dispose()
                tally, _ = ingest_parallel(
                    url, schema, paths, batch=max(batch, 1), workers=workers, timeline=timeline
                )
            else:
                tally = _Tally()
                tune_gc()
                _ingest_stream(Engine(store, Settings()), paths, max(batch, 1), tally, timeline)
            seconds = time.perf_counter() - started
        finally:
            store.dispose()
            if schema is not None:
                admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
    return BenchResult(
        database,
        lists,
        tally.files,
        seconds,
        tally.decided,
        tally.latencies.percentile(0.5) * 1000,
        tally.latencies.percentile(0.99) * 1000,
        tally.peak_mb,
        batch,
        workers,
        tally.cpu,
        tally.db_cpu,
        tally.total_mb,
        dict(tally.chunk_stats),
        commit,
        server,
    )


def count_lists(folder: Path) -> int:
    """How many lists a set made by `cbec simulate` holds: the lines of its ground truth, read in flat
    memory. A folder that is not such a set is refused with the reason."""
    truth = folder / EXPECTED
    if not (folder / MESSAGES).is_dir() or not truth.is_file():
        raise ValueError(f"{folder} is not a set made by `cbec simulate` (no {MESSAGES}/ or {EXPECTED})")
    with truth.open("rb") as fh:
        return sum(1 for line in fh if line.strip())


def git_commit() -> str:
    """The checked-out commit, marked when the tracked files have changes; 'unknown' outside git."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" (uncommitted changes)" if dirty else "")


def machine() -> str:
    """CPU model, cores, Python and OS: the machine line of a BENCHMARKS.md section."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def markdown(results: list[BenchResult]) -> str:
    """A BENCHMARKS.md section for the results, with machine, date, commit and method: the commit the runs
    started on, or (when they did not record one) the one checked out now."""
    commit = next((r.commit for r in results if r.commit), "") or git_commit()

    lines = [
        "",
        f"## End-to-end batch intake (`cbec bench`) — {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M UTC}",
        "",
        f"- Machine: {machine()}; the database on the same machine",
        f"- Commit: {commit}",
        *sorted({f"- Database server: {r.server}" for r in results if r.server}),
        "- Method: `cbec bench`: `cbec simulate` makes N fault-free lists (order, payment, waybill, list "
        "each) in a child process; then the files are ingested in arrival order (streamed folder by folder) "
        "into a fresh database (SQLite file / new PostgreSQL schema), receipts and tax bills written to the "
        "store. batch 1: one transaction a message (`Engine.ingest`); batch N: N messages a transaction "
        "(`Engine.ingest_many`, each judged on its own). workers W > 1 (PostgreSQL): this process routes "
        "each file to one of W intake processes by trade and buyer (`Router`). Latency: the ingest call "
        "(batch 1) or the chunk (batch N: the time until the chunk commits) that decided a list. Peak RSS: "
        "the largest intake process / all of them added up (the router and its workers: what the run needs "
        "at most), generation excluded. CPU: user+system seconds of the "
        "intake process(es) and of their PostgreSQL backends (/proc), so lists per CPU second does not "
        "depend on what else the machine runs.",
        "",
        "| database | batch | workers | lists | files | seconds | lists/s | documents/s | decision p50 "
        "| decision p99 | peak RSS (largest / all) | CPU s (intake + db) | lists per CPU s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.database} | {r.batch} | {r.workers} | {r.lists:,} | {r.files:,} | {r.seconds:.1f} | "
            f"{r.lists_per_second:,.1f} | {r.files_per_second:,.0f} | {r.p50_ms:.1f} ms | {r.p99_ms:.1f} ms "
            f"| {r.peak_mb:.0f} / {r.total_peak_mb:.0f} MB | {r.cpu_seconds:.1f} + {r.db_cpu_seconds:.1f} | "
            f"{r.lists_per_cpu_second:,.0f} |"
        )
    notes = [
        f"- {r.database}, batch {r.batch}, {r.workers} worker(s): {r.chunks_line()}"
        for r in results
        if r.chunks_line()
    ]
    if notes:
        lines += ["", "How the chunks went:", "", *notes]
    return "\n".join(lines) + "\n"
