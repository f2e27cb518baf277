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
import resource
import signal
import socket
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

from cbec.sim.latency import Latencies, decides
from cbec.sim.procstat import backend_pids, children, cpu_seconds, memory_mb, server_settings

_COP = re.compile(rb"copCode>([^<]*)<")


def server() -> FastAPI:
    """The API for uvicorn workers, over the benchmark's store (CBEC_BENCH_URL, CBEC_BENCH_SCHEMA) with the
    keys in CBEC_BENCH_KEYS (a JSON file: key → copCode)."""
    from cbec.api.app import create_app
    from cbec.clearance.service import Settings
    from cbec.runtime import tune_gc
    from cbec.store.db import Store, make_engine

    tune_gc()

    url = os.environ["CBEC_BENCH_URL"]
    schema = os.environ.get("CBEC_BENCH_SCHEMA")
    # application_name lets the benchmark find the server's PostgreSQL backends to count their CPU; a pool
    # as large as the thread pool keeps every backend alive for the whole run, so none escapes the count
    engine = (
        create_engine(
            url,
            connect_args={
                "options": f"-csearch_path={schema}",
                "application_name": os.environ.get("CBEC_BENCH_APP", "cbec-http-bench"),
            },
            pool_size=40,
            max_overflow=10,
        )
        if schema
        else make_engine(url)
    )
    keys = json.loads(Path(os.environ["CBEC_BENCH_KEYS"]).read_text(encoding="utf-8"))
    settings = Settings.from_env()  # CBEC_GROUP_COMMIT_LEADERS and the rest, as the real server takes them
    settings.group_commit = os.environ.get("CBEC_BENCH_GROUP_COMMIT") == "1"
    return create_app(Store(engine=engine), settings, api_keys=keys)


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
    #: CPU seconds in the peak phase (/proc, getrusage): uvicorn processes, their PostgreSQL backends, client
    peak_server_cpu: float = 0.0
    peak_db_cpu: float = 0.0
    peak_client_cpu: float = 0.0
    #: messages a request (1: one message a request; N: a sender's files in multipart batches of N)
    batch: int = 1
    #: requests sent in the peak phase (with batches, the last of each sender's is seldom full)
    peak_requests: int = 0
    #: chunks a server worker may run at once (group commit on PostgreSQL: CBEC_GROUP_COMMIT_LEADERS)
    leaders: int = 1
    #: PostgreSQL: the server's version and settings (`procstat.server_settings`), read before the run
    server: str = ""
    #: lists the database still holds as waiting at the end, every file sent (should be 0): read from the
    #: store, so a list left undecided is found even when an answer's count would miss it
    waiting: int = 0
    #: messages and requests sent in the half-peak phase: paced, a batch often goes before it fills
    load_files: int = 0
    load_requests: int = 0

    @property
    def messages_per_request(self) -> float:
        return self.peak_files / self.peak_requests if self.peak_requests else 0.0

    @property
    def load_messages_per_request(self) -> float:
        return self.load_files / self.load_requests if self.load_requests else 0.0

    @property
    def lists_per_second(self) -> float:
        return self.peak_lists / self.peak_seconds if self.peak_seconds else 0.0

    @property
    def files_per_second(self) -> float:
        return self.peak_files / self.peak_seconds if self.peak_seconds else 0.0

    @property
    def files_per_server_cpu(self) -> float:
        """Messages taken per CPU second of the server processes in the peak phase (database excluded)."""
        return self.peak_files / self.peak_server_cpu if self.peak_server_cpu else 0.0

    def summary(self) -> str:
        """One line for the terminal."""
        return (
            f"{self.database} over HTTP ({self.server_workers} server workers × {self.leaders} chunk(s) at "
            f"once, up to {self.batch} message(s) a request, {self.messages_per_request:.1f} on average): "
            f"peak {self.lists_per_second:.1f} lists/s, {self.files_per_second:.0f} documents/s; at half the "
            f"peak ({self.load_rate:.0f} messages/s, {self.load_messages_per_request:.1f} a request) "
            f"decision p50 {self.p50_ms:.1f} ms, p99 "
            f"{self.p99_ms:.1f} ms; undecided {self.undecided} (left waiting in the database "
            f"{self.waiting}), errors {self.errors}; "
            f"server peak RSS {self.server_peak_mb:.0f} MB; "
            f"peak-phase CPU: server {self.peak_server_cpu:.1f} s, database {self.peak_db_cpu:.1f} s, client "
            f"{self.peak_client_cpu:.1f} s → {self.files_per_server_cpu:.0f} messages per server CPU second"
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _trade(path: Path) -> str:
    """The list a generated file belongs to (its name: <arrival>-<list>-<n>-<type>.xml)."""
    parts = path.name.split("-")
    return parts[1] if len(parts) > 2 else path.name


class _Connection:
    """One keep-alive HTTP/1.1 connection, h11 over asyncio streams: a client cheap enough in CPU that the
    benchmark measures the server (httpx cost the client about as much CPU as a server worker)."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self.h11: Any = None

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        import h11

        if self.streams is None or self.h11 is None or self.h11.our_state is not h11.IDLE:
            self.close()
            self.streams = await asyncio.open_connection(self.host, self.port)
            self.h11 = h11.Connection(h11.CLIENT)
        return self.streams

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
        self.streams = None

    async def post(self, path: str, body: bytes, headers: list[tuple[str, str]]) -> tuple[int, bytes]:
        """(status, body); a request on a kept-alive connection the server had closed is sent once more
        on a new one (intake is idempotent on the message guid, so a repeat cannot double anything)."""
        for attempt in (1, 2):
            reused = self.streams is not None
            try:
                return await self._exchange(path, body, headers)
            except (ConnectionError, _Closed):
                self.close()
                if attempt == 2 or not reused:
                    raise
        raise AssertionError("unreachable")

    async def _exchange(self, path: str, body: bytes, headers: list[tuple[str, str]]) -> tuple[int, bytes]:
        import h11

        reader, writer = await self._open()
        conn = self.h11
        request = h11.Request(
            method="POST",
            target=path,
            headers=[("host", self.host), ("content-length", str(len(body))), *headers],
        )
        writer.write(conn.send(request) + conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage()))
        await writer.drain()
        status = 0
        parts: list[bytes] = []
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                chunk = await reader.read(65536)
                if not chunk and status == 0:
                    raise _Closed()
                conn.receive_data(chunk)
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                parts.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                raise _Closed()
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
        else:
            self.close()
        return status, b"".join(parts)


class _Closed(Exception):
    """The server closed the connection before answering."""


class _Client:
    """Sends files with `concurrency` requests in flight (one connection each), a trade's documents one
    after another. A request that fails (no answer, or not 200) counts as an error, and so do the later
    documents of its trade, which are still sent.

    With `batch` > 1 each sender's files are gathered into batches of that many (one multipart request
    each), as enterprises' systems send them: each on its own, waiting for no other sender's answers, so
    a trade's documents from different senders may arrive in any order and at the same time (the engine
    decides a list when the last of them arrives, whichever it is). Paced (`run` with a rate), a batch also
    goes when its oldest file has waited `_GATHER` seconds. A list's latency runs from when the file that
    decided it was gathered."""

    def __init__(self, base: str, concurrency: int, batch: int = 1) -> None:
        host, _, port = base.removeprefix("http://").partition(":")
        self.pool: asyncio.Queue[_Connection] = asyncio.Queue()
        for _ in range(concurrency):
            self.pool.put_nowait(_Connection(host, int(port)))
        self.window = 8 * concurrency + 64
        self.last: dict[str, asyncio.Task[None]] = {}
        self.decided = 0
        self.files = 0
        self.errors = 0
        self.latencies = Latencies()
        self.seconds = 0.0
        self.batch = batch
        self.requests = 0
        #: each sender's batch being gathered: (trade, file, when gathered)
        self.gathering: dict[str, list[tuple[str, bytes, float]]] = {}
        self.pending: set[asyncio.Task[None]] = set()

    async def aclose(self) -> None:
        while not self.pool.empty():
            self.pool.get_nowait().close()

    async def send(self, data: bytes, after: asyncio.Task[None] | None, timed: bool) -> None:
        if after is not None:
            await asyncio.wait([after])  # its failure was counted where it happened
        connection = await self.pool.get()
        self.requests += 1
        try:
            started = time.perf_counter()
            status, body = await connection.post(
                "/api/v1/messages", data, [("content-type", "application/xml"), ("x-api-key", _key(data))]
            )
            elapsed = time.perf_counter() - started
        except Exception:  # no answer (refused, reset, a protocol error): counted, the run goes on
            self.files += 1
            self.errors += 1
            return
        finally:
            self.pool.put_nowait(connection)
        self.files += 1
        if status != 200:
            self.errors += 1
            return
        decided = _decisions(json.loads(body)["receipts"])
        self.decided += decided
        if timed and decided:
            self.latencies.add(elapsed)

    async def send_batch(self, key: str, files: list[tuple[str, bytes, float]], timed: bool) -> None:
        body = (
            b"".join(
                b"--"
                + _BOUNDARY
                + b'\r\nContent-Disposition: form-data; name="files"; filename="'
                + str(n).encode()
                + b'.xml"\r\nContent-Type: application/xml\r\n\r\n'
                + data
                + b"\r\n"
                for n, (_trade, data, _at) in enumerate(files)
            )
            + b"--"
            + _BOUNDARY
            + b"--\r\n"
        )
        connection = await self.pool.get()
        try:
            content_type = "multipart/form-data; boundary=" + _BOUNDARY.decode()
            status, answer = await connection.post(
                "/api/v1/messages", body, [("content-type", content_type), ("x-api-key", key)]
            )
            answered = time.perf_counter()
        except Exception:  # no answer: every file of the batch counts as an error, the run goes on
            status, answer, answered = 0, b"", 0.0
        finally:
            self.pool.put_nowait(connection)
        self.files += len(files)
        self.requests += 1
        if status != 200:
            self.errors += len(files)
            return
        for item, (_trade, _data, gathered) in zip(json.loads(answer)["items"], files, strict=True):
            if item["outcome"] == "refused":
                self.errors += 1
                continue
            decided = _decisions(item["receipts"])
            self.decided += decided
            if timed and decided:
                self.latencies.add(answered - gathered)

    def _start(self, task: asyncio.Task[None]) -> None:
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    def _flush(self, key: str, timed: bool) -> None:
        files = self.gathering.pop(key, [])
        if files:
            self._start(asyncio.create_task(self.send_batch(key, files, timed)))

    def _gather(self, data: bytes, trade: str, timed: bool) -> None:
        key = _key(data)
        self.gathering.setdefault(key, []).append((trade, data, time.perf_counter()))
        if len(self.gathering[key]) >= self.batch:
            self._flush(key, timed)

    def _flush_waiting(self, timed: bool) -> None:
        """Send every batch whose oldest file has waited `_GATHER` seconds (paced sending)."""
        now = time.perf_counter()
        for key in [k for k, files in self.gathering.items() if now - files[0][2] >= _GATHER]:
            self._flush(key, timed)

    async def run(self, paths: Iterator[Path], count: int, rate: float | None, timed: bool) -> None:
        """Send `count` files of `paths` (all when count < 0), paced at `rate` a second when given."""
        started = time.perf_counter()
        for sent, path in enumerate(paths, 1):
            if rate is not None:
                delay = started + (sent - 1) / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                if self.batch > 1:
                    self._flush_waiting(timed)
            trade = _trade(path)
            if self.batch > 1:
                self._gather(path.read_bytes(), trade, timed)
            else:
                task = asyncio.create_task(self.send(path.read_bytes(), self.last.get(trade), timed))
                self.last[trade] = task
                self._start(task)
            if len(self.pending) > self.window:  # bounded: stream, never the whole run
                await asyncio.wait(self.pending, return_when=asyncio.FIRST_COMPLETED)
            if len(self.last) > 50_000:
                self.last = {k: t for k, t in self.last.items() if not t.done()}
            if sent == count:
                break
        for key in list(self.gathering):
            self._flush(key, timed)
        if self.pending:
            await asyncio.gather(*self.pending)


#: a paced batch goes at the latest when its oldest file has waited this long (seconds)
_GATHER = 0.05
_BOUNDARY = b"cbec-bench-boundary-7f3a"


def _decisions(receipts: list[dict[str, Any]]) -> int:
    """How many lists an answer's receipts decide (a CEB622 carrying 800, 100, 300 or 500)."""
    return sum(1 for a in receipts if decides(a["type"], a["status"]))


def _key(data: bytes) -> str:
    """The API key the benchmark gave the message's sender (its copCode)."""
    match = _COP.search(data)
    return "bench-" + (match.group(1).decode() if match else "")


def run_http_bench(
    lists: int,
    database: str = "postgresql",
    *,
    seed: int = 1,
    pg_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    server_workers: int = 2,
    concurrency: int = 32,
    group_commit: bool = True,
    batch: int = 1,
) -> HttpResult:
    """Generate `lists` fault-free lists, serve a fresh database over HTTP, run the two phases, sending
    one message a request or (`batch` > 1) each sender's messages in batches of `batch`."""
    from cbec.clearance.service import Settings
    from cbec.sim.bench import _generate, _store, iter_message_files
    from cbec.sim.check import load_reference
    from cbec.sim.output import MESSAGES, REFERENCE

    # the server takes the CBEC_* settings: a bad one is refused here, with its message, before any work
    leaders = Settings.from_env().group_commit_leaders if group_commit and database == "postgresql" else 1
    with tempfile.TemporaryDirectory(prefix="cbec-http-bench-") as tmp:
        folder = Path(tmp)
        _generate(lists, seed, folder / "set")
        store, schema = _store(database, folder, pg_url)
        url = pg_url if schema is not None else f"sqlite:///{folder / 'bench.db'}"
        server = server_settings(pg_url) if schema is not None else ""
        load_reference(store, folder / "set")
        store.dispose()
        codes = [
            line.split(",", 1)[0]
            for line in (folder / "set" / REFERENCE / "enterprises.csv").read_text("utf-8").splitlines()[1:]
            if line.strip()
        ]
        app_name = "cbec-http-bench-" + uuid.uuid4().hex[:12]
        keys = folder / "keys.json"
        keys.write_text(json.dumps({f"bench-{c}": c for c in codes}), encoding="utf-8")
        port = _free_port()
        env = {
            **os.environ,
            "CBEC_BENCH_URL": url,
            "CBEC_BENCH_KEYS": str(keys),
            "CBEC_SECRET_KEY": os.environ.get("CBEC_SECRET_KEY", "http-bench-" + uuid.uuid4().hex),
            "CBEC_BENCH_APP": app_name,
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
            meter = _CpuMeter(proc.pid, pg_url if schema is not None else None, app_name)
            result = asyncio.run(
                _phases(
                    f"http://127.0.0.1:{port}", folder / "set" / MESSAGES, total, concurrency, meter, batch
                )
            )
            server_mb = _tree_rss_mb(proc.pid)
            waiting = _left_waiting(url, schema)
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
    peak, load, rate, cpu = result
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
        p50_ms=load.latencies.percentile(0.5) * 1000,
        p99_ms=load.latencies.percentile(0.99) * 1000,
        undecided=max(0, lists_sent - peak.decided - load.decided),
        waiting=waiting,
        errors=peak.errors + load.errors,
        server_peak_mb=server_mb,
        peak_server_cpu=cpu[0],
        peak_db_cpu=cpu[1],
        peak_client_cpu=cpu[2],
        batch=batch,
        peak_requests=peak.requests,
        load_files=load.files,
        load_requests=load.requests,
        leaders=leaders,
        server=server,
    )


async def _phases(
    base: str, messages: Path, total: int, concurrency: int, meter: _CpuMeter, batch: int = 1
) -> tuple[_Client, _Client, float, tuple[float, float, float]]:
    from cbec.sim.bench import iter_message_files

    paths = iter_message_files(messages)
    first = int(total * 0.6)
    peak = _Client(base, concurrency, batch)
    before = meter.sample()
    started = time.perf_counter()
    await peak.run(paths, first, None, False)
    peak.seconds = time.perf_counter() - started
    cpu = meter.since(before)
    await peak.aclose()
    rate = peak.files / peak.seconds / 2
    load = _Client(base, concurrency, batch)
    load.last = peak.last  # trades straddling the phases keep their order
    await load.run(paths, -1, rate, True)
    await load.aclose()
    return peak, load, rate, cpu


class _CpuMeter:
    """CPU seconds of the server (uvicorn and its workers), of its PostgreSQL backends (found by
    application_name; same machine) and of this client process, sampled so a phase's share is a difference."""

    def __init__(self, server: int, pg_url: str | None, app_name: str) -> None:
        self.server = server
        self.pg_url = pg_url
        self.app_name = app_name

    def _backends(self) -> list[int]:
        return [] if self.pg_url is None else backend_pids(self.pg_url, self.app_name)

    def sample(self) -> tuple[dict[int, float], dict[int, float], float]:
        server = {p: cpu_seconds(p) for p in [self.server, *children(self.server)]}
        backends = {p: cpu_seconds(p) for p in self._backends()}
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return server, backends, usage.ru_utime + usage.ru_stime

    def since(self, before: tuple[dict[int, float], dict[int, float], float]) -> tuple[float, float, float]:
        """(server, database, client) CPU seconds since `before`."""
        now = self.sample()
        server = sum(cpu - before[0].get(pid, 0.0) for pid, cpu in now[0].items())
        backends = sum(cpu - before[1].get(pid, 0.0) for pid, cpu in now[1].items())
        return server, backends, now[2] - before[2]


def _left_waiting(url: str, schema: str | None) -> int:
    """How many current declaration lists the store still holds as waiting for a companion."""
    engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"} if schema else {})
    try:
        with engine.connect() as conn:
            found = conn.execute(
                text("SELECT count(*) FROM documents WHERE kind = 'list' AND current AND status = 'waiting'")
            ).scalar_one()
    finally:
        engine.dispose()
    return int(found)


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
    return max(memory_mb(p)[1] for p in [pid, *children(pid)])


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
        *([f"- Database server: {r.server}"] if r.server else []),
        f"- Method: `cbec bench --http`: N fault-free lists generated; uvicorn with {r.server_workers} "
        "worker processes serves `POST /api/v1/messages` over a fresh database"
        + (
            f" with group commit (`CBEC_GROUP_COMMIT=1`, up to {r.leaders} chunk(s) at once a worker)"
            if r.group_commit
            else ", one transaction a message"
        )
        + f"; a separate client process (h11 over asyncio, {r.concurrency} requests in flight; "
        + (
            "one message a request; a trade's four documents one after another"
            if r.batch == 1
            else f"each sender's files in multipart batches of {r.batch} (sent when full, or "
            f"{_GATHER * 1000:.0f} ms after their first file when paced), each sender's batches on their "
            "own, waiting for no other sender's answers: a trade's documents in any order between senders, "
            "and at the same time"
        )
        + ", trades overlapping) sends the first 60 % of the "
        "files as fast as they are taken (peak), then the rest paced at half the peak message rate, "
        "timing the request that decided each list"
        + (" (from when its file was put in a batch)." if r.batch > 1 else "."),
        "",
        "| database | messages a request (most / mean) | lists | peak lists/s | peak documents/s "
        "| half-peak load | decision p50 | decision p99 | undecided (left waiting) | errors "
        "| server peak RSS |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {r.database} | {r.batch} / {r.messages_per_request:.1f} | {r.lists:,} | "
        f"{r.lists_per_second:,.1f} | {r.files_per_second:,.0f} | "
        f"{r.load_rate:,.0f} msg/s, {r.load_messages_per_request:.1f} a request | {r.p50_ms:.1f} ms | "
        f"{r.p99_ms:.1f} ms | {r.undecided} ({r.waiting}) | "
        f"{r.errors} | "
        f"{r.server_peak_mb:.0f} MB |",
        "",
        f"Peak-phase CPU (/proc): server {r.peak_server_cpu:.1f} s, its PostgreSQL backends "
        f"{r.peak_db_cpu:.1f} s, client {r.peak_client_cpu:.1f} s; {r.files_per_server_cpu:.0f} messages per "
        "server CPU second.",
    ]
    return "\n".join(lines) + "\n"
