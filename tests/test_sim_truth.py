"""The streamed ground truth (`cbec.sim.truth`): the same lines as the in-memory `expectations`, records in
any order, and memory that does not grow with the number of lists."""

from __future__ import annotations

import json
import random
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from cbec.sim import SimConfig
from cbec.sim.traffic import Generator, ListRecord, expectations
from cbec.sim.truth import GroundTruth


def _line(item: object) -> str:
    return json.dumps(item, ensure_ascii=False, separators=(",", ":")) + "\n"


def _streamed(records: list[ListRecord], path: Path) -> tuple[str, GroundTruth]:
    with GroundTruth() as truth:
        for record in records:
            truth.add(record)
        truth.write(path)
    return path.read_text(encoding="utf-8"), truth


def test_a_generated_run_gives_the_same_lines_streamed_as_in_memory(tmp_path: Path) -> None:
    kept: list[ListRecord] = []
    generator = Generator(SimConfig(lists=1200, seed=11, faults=0.6, days=50), on_record=kept.append)
    generator.run(lambda _name, _data: None)
    assert generator.records == []  # with a callback the generator keeps nothing itself
    expected = "".join(_line(e.as_json()) for e in expectations(kept))
    random.Random(1).shuffle(kept)  # the order records arrive in (workers) must not matter
    text, truth = _streamed(kept, tmp_path / "expected.jsonl")
    assert text == expected
    rows = [json.loads(line) for line in text.splitlines()]
    assert [r["seq"] for r in rows] == list(range(1, 1201))
    assert truth.statuses == Counter(r["status"] for r in rows)
    assert truth.faults == Counter(f for r in rows for f in r["faults"])
    codes = Counter(c for r in rows for c in r["codes"])
    assert codes["-621018"] > 0 and codes["-621005"] > 0 and truth.statuses["120"] > 0


def _record(seq: int, buyer: str, at: datetime | None, price: str, codes: frozenset[str]) -> ListRecord:
    return ListRecord(
        seq=seq,
        order_no=f"SO{seq}",
        ebc_code="330196001E",
        trade_mode="9610",
        zone="杭州",
        buyer_id=buyer,
        tax_price=Decimal(price),
        indivisible=False,
        lines=2,
        faults=(),
        codes=codes,
        decision=None if at is None else f"{at:%Y%m%d%H%M%S}000-{seq:08d}-4",
        decided_at=at,
    )


def test_each_buyer_and_year_has_its_own_total_in_decision_order(tmp_path: Path) -> None:
    start = datetime(2026, 12, 31, 2, 0, tzinfo=UTC)  # 10:00 China time; the year turns at 16:00 UTC
    records = [
        # buyer A: seven lists of 4,000, generated in the reverse of their decision order
        *(_record(n, "A", start + timedelta(hours=7 - n), "4000.00", frozenset()) for n in range(1, 8)),
        # buyer B: interleaved in time with A, never near the limit
        *(_record(n, "B", start + timedelta(hours=n - 7.5), "900.00", frozenset()) for n in range(8, 11)),
        _record(11, "A", start + timedelta(hours=20), "4000.00", frozenset()),  # 2027 in China: a new total
        _record(12, "A", start - timedelta(hours=1), "100.00", frozenset({"9101"})),  # refused: not counted
        _record(13, "B", None, "100.00", frozenset()),  # a companion never arrives
    ]
    text, truth = _streamed(records, tmp_path / "expected.jsonl")
    assert text == "".join(_line(e.as_json()) for e in expectations(records))
    rows = {r["seq"]: r for r in map(json.loads, text.splitlines())}
    # A's lists are decided 7, 6, …, 1: six of them make 24,000; the seventh (seq 1) would cross 26,000
    assert rows[1]["codes"] == ["-621018"]
    assert all(rows[n]["status"] == "800" for n in (*range(2, 12),))
    assert rows[12]["codes"] == ["9101"] and rows[13]["status"] == "120"
    assert truth.statuses == Counter({"800": 10, "100": 2, "120": 1})


def _synthetic(count: int) -> Iterator[ListRecord]:
    """Records made one at a time (none kept here), a hundred buyers, decided over a day."""
    start = datetime(2026, 11, 11, tzinfo=UTC)
    for seq in range(1, count + 1):
        at = start + timedelta(seconds=(seq * 7919) % 86_400)
        yield _record(seq, f"B{seq % 100}", at, f"{300 + seq % 700}.00", frozenset())


def _peak_bytes(count: int, path: Path) -> int:
    tracemalloc.start()
    try:
        with GroundTruth() as truth:
            for record in _synthetic(count):
                truth.add(record)
            truth.write(path)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_number_of_lists(tmp_path: Path) -> None:
    small = _peak_bytes(3_000, tmp_path / "small.jsonl")
    large = _peak_bytes(12_000, tmp_path / "large.jsonl")
    assert sum(1 for _ in (tmp_path / "large.jsonl").open(encoding="utf-8")) == 12_000
    # both peaks are about one batch of rows (~2 MB); holding the records would add ~1 KB a list
    assert large < small * 1.3 + 512 * 1024, (small, large)


def test_the_temporary_file_goes_away(tmp_path: Path) -> None:
    with GroundTruth(tmp_path) as truth:
        truth.add(next(_synthetic(1)))
        assert any(tmp_path.iterdir())
    assert not any(tmp_path.iterdir())
