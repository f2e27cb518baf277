"""`cbec bench` measures a real end-to-end run: every list decided, numbers sane, a BENCHMARKS section —
one message a transaction, in chunks, over HTTP."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import time
import zlib
from dataclasses import replace
from pathlib import Path

import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from cbec.clearance.service import Engine
from cbec.sim import SimConfig, bench
from cbec.sim.bench import Router, count_lists, markdown, run_bench
from cbec.sim.cli import register
from cbec.sim.http_bench import markdown as http_markdown
from cbec.sim.http_bench import run_http_bench
from cbec.sim.latency import Latencies
from cbec.sim.output import write_set
from cbec.sim.timeline import Timeline
from cbec.store.db import Store


def test_bench_runs_end_to_end_on_sqlite() -> None:
    result = run_bench(12, "sqlite", seed=5)
    assert result.lists == 12 and result.files == 48
    assert result.decided == 12  # every list reached a decision
    assert result.seconds > 0 and 0 < result.p50_ms <= result.p99_ms
    section = markdown([result])
    assert "| sqlite | 1 | 1 | 12 | 48 |" in section and "Method:" in section
    assert result.commit and f"- Commit: {result.commit}\n" in section  # read when the run started
    assert "- Commit: abc1234\n" in markdown([replace(result, commit="abc1234")])
    assert result.server == "" and "Database server" not in section


def test_bench_in_chunks_decides_every_list() -> None:
    result = run_bench(30, "sqlite", seed=6, batch=25)
    assert (result.files, result.decided, result.batch) == (120, 30, 25)
    assert result.chunk_stats == {"chunks": 5} and "run again after a bonded-stock conflict: 0" in markdown(
        [result]
    )
    assert 0 < result.p50_ms <= result.p99_ms and result.peak_mb > 0


def test_bench_with_two_workers_on_postgresql_decides_every_list() -> None:
    result = run_bench(30, "postgresql", seed=7, batch=20, workers=2)
    assert (result.files, result.decided, result.workers) == (120, 30, 2)
    assert result.total_peak_mb > result.peak_mb > 0  # the router and two workers, added up
    assert result.chunk_stats.get("chunks", 0) >= 2 and not result.chunk_stats.get("fallbacks")
    assert "| postgresql | 20 | 2 | 30 | 120 |" in markdown([result])
    # the server's settings are recorded beside the numbers
    assert result.server.startswith("PostgreSQL ") and "autovacuum " in result.server
    assert f"- Database server: {result.server}\n" in markdown([result])


def test_http_bench_refuses_a_bad_setting_before_any_work(monkeypatch: pytest.MonkeyPatch) -> None:
    from cbec.clearance.service import ClearanceError

    monkeypatch.setenv("CBEC_GROUP_COMMIT_LEADERS", "0")
    with pytest.raises(ClearanceError) as caught:
        run_http_bench(20, "postgresql", seed=8, server_workers=1, concurrency=4)
    assert caught.value.code == "CBEC-0402" and "CBEC_GROUP_COMMIT_LEADERS" in caught.value.en


def test_http_bench_serves_a_set_and_times_decisions() -> None:
    result = run_http_bench(20, "sqlite", seed=8, server_workers=1, concurrency=4)
    assert result.errors == 0 and result.undecided == 0 and result.waiting == 0
    assert result.peak_lists + result.load_lists == 20
    assert result.lists_per_second > 0 and 0 < result.p50_ms <= result.p99_ms
    assert "| sqlite | 1 / 1.0 | 20 |" in http_markdown(result)
    # the peak phase's CPU is counted from /proc: the server worked, the client is measured too
    assert result.peak_server_cpu > 0 and result.peak_client_cpu > 0 and result.peak_db_cpu == 0
    assert "messages per server CPU second" in result.summary()
    assert "messages per server CPU second" in http_markdown(result)


def test_http_bench_in_batches_decides_every_list() -> None:
    """Each sender's files in multipart batches, two server processes taking a trade's documents at the same
    time: every list decided (the answers carry each decision once), none refused."""
    result = run_http_bench(24, "postgresql", seed=4, server_workers=2, concurrency=4, batch=10)
    assert result.errors == 0 and result.undecided == 0 and result.waiting == 0 and result.batch == 10
    assert result.peak_lists + result.load_lists == 24 and 0 < result.p50_ms <= result.p99_ms
    assert 1 < result.messages_per_request <= 10 and 1 <= result.load_messages_per_request <= 10
    assert result.load_files + result.peak_files == 4 * 24 and result.load_requests > 0
    assert "| postgresql | 10 / " in http_markdown(result) and "batches of 10" in http_markdown(result)
    assert result.server.startswith("PostgreSQL ")
    assert f"- Database server: {result.server}\n" in http_markdown(result)


def test_the_http_bench_reads_the_lists_left_waiting_from_the_store(store: Store) -> None:
    """The count of lists left waiting comes from the stored statuses, not from the answers."""
    from cbec.ceb import examples, render
    from cbec.sim.http_bench import _left_waiting

    schema = None
    if store.engine.dialect.name == "postgresql":
        with store.engine.connect() as conn:
            schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
    url = store.engine.url.render_as_string(hide_password=False)
    assert _left_waiting(url, schema) == 0
    Engine(store).ingest(render(examples.ceb621(examples.Trade(order_no="WAIT1"))))
    assert _left_waiting(url, schema) == 1


def test_latencies_weighted_percentiles_match_one_sample_a_decision() -> None:
    """A chunk's latency stored once with its count ranks exactly as that many copies would."""

    @given(
        st.lists(st.tuples(st.floats(0, 10), st.integers(0, 50)), max_size=40), st.sampled_from((0.5, 0.99))
    )
    def check(samples: list[tuple[float, int]], share: float) -> None:
        found = Latencies()
        flat: list[float] = []
        for seconds, count in samples:
            found.add(seconds, count)
            flat += [seconds] * count
        flat.sort()
        expected = flat[min(len(flat) - 1, int(len(flat) * share))] if flat else 0.0
        assert len(found) == len(flat)
        assert found.percentile(share) == expected
        assert pickle.loads(pickle.dumps(found)).percentile(share) == expected

    check()


def _message(order: str, buyer: str | None = None) -> bytes:
    who = f"<buyerIdNumber>{buyer}</buyerIdNumber>" if buyer else ""
    return f"<ceb:orderNo>{order}</ceb:orderNo>{who}".encode()


def test_the_router_remembers_recent_trades_in_bounded_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench, "_ROUTES", 4)
    route = Router(7)
    # a buyer whose hash sends the trade elsewhere than its order number would: memory is observable
    buyers = {}
    for n in range(40):
        order = f"T{n:03d}"
        buyer = next(
            f"B{n}-{k}"
            for k in range(100)
            if zlib.crc32(f"B{n}-{k}".encode()) % 7 != zlib.crc32(order.encode()) % 7
        )
        buyers[order] = buyer
    orders = sorted(buyers)
    first = {o: route(_message(o, buyers[o])) for o in orders[:4]}
    assert all(route(_message(o)) == first[o] for o in orders[:4])  # a waybill follows its order
    for o in orders[4:8]:
        route(_message(o, buyers[o]))
    assert route(_message(orders[0])) == first[orders[0]]  # one generation back: found and promoted
    for o in orders[8:40]:
        route(_message(o, buyers[o]))
        assert len(route) <= 2 * bench._ROUTES
    assert route(_message(orders[1])) == zlib.crc32(orders[1].encode()) % 7  # long forgotten
    assert route(_message(orders[1])) != first[orders[1]]


def test_bench_on_a_kept_set_with_a_timeline(tmp_path: Path) -> None:
    the_set = tmp_path / "set"
    write_set(SimConfig(lists=10, seed=9, faults=0.3), the_set)
    timeline = tmp_path / "timeline.jsonl"
    result = run_bench(1, "sqlite", batch=8, source=the_set, timeline=timeline)
    assert result.lists == 10 and result.files >= 40  # counted from the set, not from `lists`
    assert result.decided >= 1 and (the_set / "messages").is_dir()  # the set is kept
    samples = [json.loads(line) for line in timeline.read_text(encoding="utf-8").splitlines()]
    assert samples and samples[-1]["messages"] == result.files
    assert samples[-1]["rss_mb"]["intake"] > 0 and samples[-1]["cpu_s"] > 0
    assert 0 < samples[-1]["pss_total_mb"] <= samples[-1]["rss_mb"]["intake"] + 1
    assert result.total_peak_mb == result.peak_mb > 0  # one process: the largest is all of them
    with pytest.raises(ValueError, match="not a set made by"):
        count_lists(tmp_path)


def test_the_bench_command_refuses_a_folder_that_is_not_a_set(tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)
    result = CliRunner().invoke(app, ["bench", "--set", str(tmp_path)])
    assert result.exit_code == 2
    assert "CBEC-0005" in result.output and "not a usable set" in result.output
    both = CliRunner().invoke(app, ["bench", "--http", "--set", str(tmp_path)])
    assert both.exit_code == 2 and "--http" in both.output
    big = CliRunner().invoke(app, ["bench", "--http", "--batch", "101"])
    assert big.exit_code == 2 and "at most 100" in big.output
    for option in ("--timeline", "--write"):  # refused before the run, not after it
        nowhere = CliRunner().invoke(app, ["bench", option, str(tmp_path / "missing" / "out.txt")])
        assert nowhere.exit_code == 2 and f"cannot append to the {option} file" in nowhere.output
        assert not (tmp_path / "missing").exists()


def test_the_timeline_keeps_the_cpu_of_a_process_that_has_exited(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", "sum(range(3_000_000)); import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        timeline = Timeline(tmp_path / "t.jsonl", processes={"child": child.pid}, done=lambda: 7)
        while (running := timeline.sample())["cpu_s"] == 0:
            time.sleep(0.05)
        assert running["rss_mb"]["child"] > 0 and running["messages"] == 7
    finally:
        child.communicate(b"")
    gone = timeline.sample()
    assert "child" not in gone["rss_mb"] and gone["cpu_s"] >= running["cpu_s"] > 0
