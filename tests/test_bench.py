"""`cbec bench` measures a real end-to-end run: every list decided, numbers sane, a BENCHMARKS section."""

from __future__ import annotations

from cbec.sim.bench import markdown, run_bench


def test_bench_runs_end_to_end_on_sqlite() -> None:
    result = run_bench(12, "sqlite", seed=5)
    assert result.lists == 12 and result.files == 48
    assert result.decided == 12  # every list reached a decision
    assert result.seconds > 0 and 0 < result.p50_ms <= result.p99_ms
    section = markdown([result])
    assert "| sqlite | 12 | 48 |" in section and "Commit:" in section and "Method:" in section
