"""`cbec bench` measures a real end-to-end run: every list decided, numbers sane, a BENCHMARKS section —
one message a transaction, in chunks, over HTTP."""

from __future__ import annotations

from cbec.sim.bench import markdown, run_bench
from cbec.sim.http_bench import markdown as http_markdown
from cbec.sim.http_bench import run_http_bench


def test_bench_runs_end_to_end_on_sqlite() -> None:
    result = run_bench(12, "sqlite", seed=5)
    assert result.lists == 12 and result.files == 48
    assert result.decided == 12  # every list reached a decision
    assert result.seconds > 0 and 0 < result.p50_ms <= result.p99_ms
    section = markdown([result])
    assert "| sqlite | 1 | 1 | 12 | 48 |" in section and "Commit:" in section and "Method:" in section


def test_bench_in_chunks_decides_every_list() -> None:
    result = run_bench(30, "sqlite", seed=6, batch=25)
    assert (result.files, result.decided, result.batch) == (120, 30, 25)
    assert 0 < result.p50_ms <= result.p99_ms and result.peak_mb > 0


def test_bench_with_two_workers_on_postgresql_decides_every_list() -> None:
    result = run_bench(30, "postgresql", seed=7, batch=20, workers=2)
    assert (result.files, result.decided, result.workers) == (120, 30, 2)
    assert "| postgresql | 20 | 2 | 30 | 120 |" in markdown([result])


def test_http_bench_serves_a_set_and_times_decisions() -> None:
    result = run_http_bench(20, "sqlite", seed=8, server_workers=1, concurrency=4)
    assert result.errors == 0 and result.undecided == 0
    assert result.peak_lists + result.load_lists == 20
    assert result.lists_per_second > 0 and 0 < result.p50_ms <= result.p99_ms
    assert "| sqlite | 20 |" in http_markdown(result)
    # the peak phase's CPU is counted from /proc: the server worked, the client is measured too
    assert result.peak_server_cpu > 0 and result.peak_client_cpu > 0 and result.peak_db_cpu == 0
    assert "messages per server CPU second" in result.summary()
    assert "messages per server CPU second" in http_markdown(result)
