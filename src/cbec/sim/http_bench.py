"""HTTP intake benchmark: `POST /api/v1/messages` served by uvicorn (several worker processes), driven by a
separate client process, over a fresh database.

Two phases on one generated fault-free set, files in arrival order:

1. **Peak**: the first part of the files as fast as the server takes them, `concurrency` requests in flight.
   The documents of one trade are sent one after another (an enterprise sends the list once its order is
   acknowledged); different trades overlap. Reported: lists decided a second, documents a second.
2. **Half the peak**: the rest of the files paced at half the message rate phase 1 reached. Reported: the
   latency (p50/p99) of the request that decided each list (the CEB621 whose answer carries 800/100/300/500).

The server's app is `server()` below (uvicorn ``--factory``): the store and in-memory API keys come from
environment variables the benchmark sets; each enterprise of the set gets the key ``bench-<code>``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy import create_engine, text

_COP = re.compile(rb"copCode>([^<]*)<")
_DECISIONS = ("800", "100", "300", "500")


def server() -> FastAPI:
    """The API for uvicorn workers, over the benchmark's store (CBEC_BENCH_URL, CBEC_BENCH_SCHEMA) with the
    keys in CBEC_BENCH_KEYS (a JSON file: key → copCode)."""
    from cbec.api.app import create_app
    from cbec.clearance.service import Settings
    from cbec.store.db import Store, make_engine

    url = os.environ["CBEC_BENCH_URL"]
    schema = os.environ.get("CBEC_BENCH_SCHEMA")
    engine = (
        create_engine(url, connect_args={"options": f"-csearch_path={schema}"}, pool_size=20)
        if schema
        else make_engine(url)
    )
    keys = json.loads(Path(os.environ["CBEC_BENCH_KEYS"]).read_text(encoding="utf-8"))
    group = os.environ.get("CBEC_BENCH_GROUP_COMMIT") == "1"
    return create_app(Store(engine=engine), Settings(group_commit=group), api_keys=keys)


@dataclass(frozen=True)
class HttpResult:
    database: str
    lists: int
    server_workers: int
    concurrency: int
    group_commit: bool
    peak_lists: int
    peak_files: int
    peak_seconds: float
    load_rate: float  # messages a second offered in phase 2
    load_lists: int
    p50_ms: float
    p99_ms: float
    undecided: int  # lists with all four documents answered but no decision (should be 0)
    errors: int
    server_peak_mb: float

    @property
    def lists_per_second(self) -> float:
        return self.peak_lists / self.peak_seconds if self.peak_seconds else 0.0

    @property
    def files_per_second(self) -> float:
        return self.peak_files / self.peak_seconds if self.peak_seconds else 0.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _trade(path: Path) -> str:
    """The list a generated file belongs to (its name: <arrival>-<list>-<n>-<type>.xml)."""
    parts = path.name.split("-")
    return parts[1] if len(parts) > 2 else path.name


class _Client:
    """Sends files with `concurrency` requests in flight, a trade's documents one after another."""

    def __init__(self, base: str, concurrency: int) -> None:
        import httpx

        self.http = httpx.AsyncClient(
            base_url=base,
            timeout=120,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )
        self.slots = asyncio.Semaphore(concurrency)
        self.window = 8 * concurrency + 64
        self.last: dict[str, asyncio.Task[None]] = {}
        self.decided = 0
        self.files = 0
        self.errors = 0
        self.latencies: list[float] = []
        self.seconds = 0.0

    async def send(self, data: bytes, after: asyncio.Task[None] | None, timed: bool) -> None:
        if after is not None:
            await after
        match = _COP.search(data)
        key = "bench-" + (match.group(1).decode() if match else "")
        async with self.slots:
            started = time.perf_counter()
            response = await self.http.post(
                "/api/v1/messages",
                content=data,
                headers={"content-type": "application/xml", "x-api-key": key},
            )
            elapsed = time.perf_counter() - started
        self.files += 1
        if response.status_code != 200:
            self.errors += 1
            return
        answers = response.json()["receipts"]
        decided = sum(1 for a in answers if a["type"] == "CEB622" and a["status"] in _DECISIONS)
        self.decided += decided
        if timed and decided:
            self.latencies.append(elapsed)

    async def run(self, paths: Iterator[Path], count: int, rate: float | None, timed: bool) -> None:
        """Send `count` files of `paths` (all when count < 0), paced at `rate` a second when given."""
        pending: set[asyncio.Task[None]] = set()
        started = time.perf_counter()
        for sent, path in enumerate(paths, 1):
            if rate is not None:
                delay = started + (sent - 1) / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            trade = _trade(path)
            task = asyncio.create_task(self.send(path.read_bytes(), self.last.get(trade), timed))
            self.last[trade] = task
            pending.add(task)
            task.add_done_callback(pending.discard)
            if len(pending) > self.window:  # bounded: stream, never the whole run
                await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            if len(self.last) > 50_000:
                self.last = {k: t for k, t in self.last.items() if not t.done()}
            if sent == count:
                break
        if pending:
            await asyncio.gather(*pending)


def run_http_bench(
    lists: int,
    database: str = "postgresql",
    *,
    seed: int = 1,
    pg_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    server_workers: int = 2,
    concurrency: int = 32,
    group_commit: bool = True,
) -> HttpResult:
    """Generate `lists` fault-free lists, serve a fresh database over HTTP, run the two phases."""
    from cbec.sim.bench import _generate, _store, iter_message_files
    from cbec.sim.check import load_reference
    from cbec.sim.output import MESSAGES, REFERENCE

    with tempfile.TemporaryDirectory(prefix="cbec-http-bench-") as tmp:
        folder = Path(tmp)
        _generate(lists, seed, folder / "set")
        store, schema = _store(database, folder, pg_url)
        url = pg_url if schema is not None else f"sqlite:///{folder / 'bench.db'}"
        load_reference(store, folder / "set")
        store.dispose()
        codes = [
            line.split(",", 1)[0]
            for line in (folder / "set" / REFERENCE / "enterprises.csv").read_text("utf-8").splitlines()[1:]
            if line.strip()
        ]
        keys = folder / "keys.json"
        keys.write_text(json.dumps({f"bench-{c}": c for c in codes}), encoding="utf-8")
        port = _free_port()
        env = {
            **os.environ,
            "CBEC_BENCH_URL": url,
            "CBEC_BENCH_KEYS": str(keys),
            "CBEC_SECRET_KEY": os.environ.get("CBEC_SECRET_KEY", "http-bench-" + uuid.uuid4().hex),
        }
        if schema is not None:
            env["CBEC_BENCH_SCHEMA"] = schema
        env["CBEC_BENCH_GROUP_COMMIT"] = "1" if group_commit else "0"
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "cbec.sim.http_bench:server",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(server_workers),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        proc = subprocess.Popen(command, env=env, cwd=tmp)
        try:
            _wait_ready(port, proc)
            total = sum(1 for _ in iter_message_files(folder / "set" / MESSAGES))
            result = asyncio.run(
                _phases(f"http://127.0.0.1:{port}", folder / "set" / MESSAGES, total, concurrency)
            )
            server_mb = _tree_rss_mb(proc.pid)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if schema is not None:
                admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
    peak, load, rate = result
    ordered = sorted(load.latencies) or [0.0]
    lists_sent = (peak.files + load.files) // 4
    return HttpResult(
        database=database,
        lists=lists,
        server_workers=server_workers,
        concurrency=concurrency,
        group_commit=group_commit,
        peak_lists=peak.decided,
        peak_files=peak.files,
        peak_seconds=peak.seconds,
        load_rate=rate,
        load_lists=load.decided,
        p50_ms=statistics.median(ordered) * 1000,
        p99_ms=ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
        undecided=max(0, lists_sent - peak.decided - load.decided),
        errors=peak.errors + load.errors,
        server_peak_mb=server_mb,
    )


async def _phases(base: str, messages: Path, total: int, concurrency: int) -> tuple[_Client, _Client, float]:
    from cbec.sim.bench import iter_message_files

    paths = iter_message_files(messages)
    first = int(total * 0.6)
    peak = _Client(base, concurrency)
    started = time.perf_counter()
    await peak.run(paths, first, None, False)
    peak.seconds = time.perf_counter() - started
    await peak.http.aclose()
    rate = peak.files / peak.seconds / 2
    load = _Client(base, concurrency)
    load.last = peak.last  # trades straddling the phases keep their order
    await load.run(paths, -1, rate, True)
    await load.http.aclose()
    return peak, load, rate


def _wait_ready(port: int, proc: subprocess.Popen[Any]) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the API server exited with code {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the API server did not answer within 60 s")


def _tree_rss_mb(pid: int) -> float:
    """Peak RSS (VmHWM) of the server's processes (uvicorn and its workers): the largest one, in MB."""
    peak = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            continue
    return peak / 1024


def markdown(result: HttpResult) -> str:
    """A BENCHMARKS.md section for an HTTP intake run, with machine, date, commit and method."""
    import datetime as dt

    from cbec.sim.bench import git_commit, machine

    r = result
    lines = [
        "",
        f"## End-to-end HTTP intake (`cbec bench --http`) — {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M UTC}",
        "",
        f"- Machine: {machine()}; server, client and database on the same machine",
        f"- Commit: {git_commit()}",
        f"- Method: `cbec bench --http`: N fault-free lists generated; uvicorn with {r.server_workers} "
        "worker processes serves `POST /api/v1/messages` over a fresh database"
        + (" with group commit (`CBEC_GROUP_COMMIT=1`)" if r.group_commit else ", one transaction a message")
        + f"; a separate client process (httpx, {r.concurrency} requests in flight; a trade's four "
        "documents one after another, trades overlapping) sends the first 60 % of the files as fast as "
        "they are taken (peak), then the rest paced at half the peak message rate, timing the request that "
        "decided each list.",
        "",
        "| database | lists | peak lists/s | peak documents/s | half-peak load | decision p50 | decision p99 "
        "| undecided | errors | server peak RSS |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {r.database} | {r.lists:,} | {r.lists_per_second:,.1f} | {r.files_per_second:,.0f} | "
        f"{r.load_rate:,.0f} msg/s | {r.p50_ms:.1f} ms | {r.p99_ms:.1f} ms | {r.undecided} | {r.errors} | "
        f"{r.server_peak_mb:.0f} MB |",
    ]
    return "\n".join(lines) + "\n"
