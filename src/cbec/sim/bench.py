"""`cbec bench`: end-to-end batch intake measured on a generated set (simulate → engine → receipts).

One process, files ingested in arrival order with the engine's clock at each file's arrival time, on a
fresh SQLite file or a fresh PostgreSQL schema. Reported: lists and documents a second, the latency of the
ingest call that decided each list (p50/p99), and peak memory. HTTP intake and the growth runs of the
benchmarks issue come on top of this.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import resource
import statistics
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text

from cbec.clearance.service import Engine, Settings
from cbec.sim.check import arrival_time, load_reference, message_files
from cbec.sim.output import write_set
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


def run_bench(
    lists: int, database: str = "sqlite", *, seed: int = 1, pg_url: str = DEFAULT_PG_URL
) -> BenchResult:
    """Generate `lists` fault-free lists and ingest them end to end; measure."""
    with tempfile.TemporaryDirectory(prefix="cbec-bench-") as tmp:
        folder = Path(tmp)
        write_set(SimConfig(lists=lists, seed=seed, faults=0.0), folder / "set")
        store, schema = _store(database, folder, pg_url)
        try:
            load_reference(store, folder / "set")
            engine = Engine(store, Settings())
            files = message_files(folder / "set")
            latencies: list[float] = []
            started = time.perf_counter()
            for path in files:
                data = path.read_bytes()
                call = time.perf_counter()
                result = engine.ingest(data, source=path.name, now=arrival_time(path))
                if any(
                    a.receipt_type == "CEB622" and a.status in ("800", "100", "300", "500")
                    for a in result.answers
                ):
                    latencies.append(time.perf_counter() - call)
            seconds = time.perf_counter() - started
        finally:
            store.dispose()
            if schema is not None:
                admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
    ordered = sorted(latencies) or [0.0]
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return BenchResult(
        database,
        lists,
        len(files),
        seconds,
        len(latencies),
        statistics.median(ordered) * 1000,
        p99 * 1000,
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )


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
    """A BENCHMARKS.md section for the results, with machine, date, commit and method."""
    commit = git_commit()

    lines = [
        "",
        f"## End-to-end batch intake (`cbec bench`) — {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M UTC}",
        "",
        f"- Machine: {machine()}; the database on the same machine",
        f"- Commit: {commit}",
        "- Method: `cbec bench`: `cbec simulate` makes N fault-free lists (order, payment, waybill, list "
        "each), then one process ingests every file in arrival order into a fresh database (SQLite file "
        "/ new PostgreSQL schema), one transaction a message, receipts and tax bills written to the store. "
        "Latency: the ingest call that decided a list. Peak RSS of the process (includes generation).",
        "",
        "| database | lists | files | seconds | lists/s | documents/s | decision p50 | decision p99 "
        "| peak RSS |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.database} | {r.lists:,} | {r.files:,} | {r.seconds:.1f} | {r.lists_per_second:,.1f} | "
            f"{r.files_per_second:,.0f} | {r.p50_ms:.1f} ms | {r.p99_ms:.1f} ms | {r.peak_mb:.0f} MB |"
        )
    return "\n".join(lines) + "\n"
