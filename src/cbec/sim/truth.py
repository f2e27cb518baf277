"""The ground truth of a whole run (``expected.jsonl``), written without holding the run in memory.

A list's expected outcome depends on what its buyer had released earlier in the same calendar year, in
*decision* order (a list is decided when its last document arrives), and that order has nothing to do with
the order lists are generated in: the list generated last may be decided first. So no line can be written
until the run is over. Instead of keeping one record per list in memory until then, `GroundTruth` puts each
record into a temporary SQLite file as it is made; at the end SQLite sorts the decided lists by buyer, year
and decision time (on disk, in bounded memory), one running total is carried through each buyer's year, and
the outcomes are joined back in generation order into ``expected.jsonl``.

Memory: a batch of rows and SQLite's page cache, whatever the number of lists; the running annual total is
one number, not one per buyer. Disk: a few hundred bytes a list in the system temporary folder, removed when
the run ends. The lines are byte for byte those of `traffic.expectations` over the same records (a test
holds the two together).
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from collections import Counter
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any

from cbec.sim.traffic import ListRecord, decide, outcome_json

#: rows handed to SQLite at a time
_BATCH = 2000
#: SQLite page cache in KiB (negative cache_size); the sort spills to temporary files beyond it
_CACHE_KIB = 16_384
_SCHEMA = """
CREATE TABLE lists (
    seq INTEGER PRIMARY KEY,
    buyer TEXT NOT NULL,
    year INTEGER,
    decision TEXT,
    price TEXT NOT NULL,
    indivisible INTEGER NOT NULL,
    codes TEXT NOT NULL,
    head TEXT NOT NULL,
    tail TEXT NOT NULL
);
CREATE TABLE outcome (seq INTEGER PRIMARY KEY, middle TEXT NOT NULL);
"""


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


#: the outcome fragment of a list whose companion never arrives
_WAITING = _dumps(outcome_json("120", "waiting", (), None))[1:-1]


class GroundTruth:
    """Collects the records of a run (`add`, in any order) and writes the expected outcome of every list
    (`write`). Use as a context manager, or call `close`, so the temporary file goes away."""

    def __init__(self, folder: Path | None = None) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="cbec-truth-", dir=folder)
        self._db = sqlite3.connect(Path(self._dir.name) / "truth.db", isolation_level=None)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", f"cache_size=-{_CACHE_KIB}", "temp_store=FILE"):
            self._db.execute(f"PRAGMA {pragma}")
        self._db.executescript(_SCHEMA)
        self._rows: list[tuple[Any, ...]] = []
        #: lists added so far, and how many carry each fault
        self.lists = 0
        self.faults: Counter[str] = Counter()
        #: lists by expected status; filled by `write`
        self.statuses: Counter[str] = Counter()

    def __enter__(self) -> GroundTruth:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()
        self._dir.cleanup()

    def add(self, record: ListRecord) -> None:
        """Remember what the ground truth needs of one list (nothing stays in memory past a batch)."""
        self._rows.append(
            (
                record.seq,
                record.buyer_id,
                record.year,
                record.decision,
                str(record.tax_price),
                int(record.indivisible),
                _dumps(sorted(record.codes)),
                _dumps(record.json_head()),
                _dumps(record.json_tail()),
            )
        )
        self.lists += 1
        self.faults.update(record.faults)
        if len(self._rows) >= _BATCH:
            self._flush()

    def _flush(self) -> None:
        if not self._rows:
            return
        with self._transaction():
            self._db.executemany("INSERT INTO lists VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", self._rows)
        self._rows = []

    def _transaction(self) -> sqlite3.Connection:
        self._db.execute("BEGIN")
        return self._db  # the connection commits on a clean exit and rolls back on an error

    def write(self, path: Path) -> None:
        """Judge every list in decision order and write ``expected.jsonl`` to `path`, in generation order."""
        self._flush()
        self._judge()
        decided = sum(self.statuses.values())
        if self.lists > decided:
            self.statuses["120"] = self.lists - decided
        rows = self._db.execute(
            "SELECT l.head, o.middle, l.tail FROM lists AS l LEFT JOIN outcome AS o ON o.seq = l.seq "
            "ORDER BY l.seq"
        )
        with path.open("w", encoding="utf-8") as out:
            for head, middle, tail in rows:
                out.write(f"{head[:-1]},{middle or _WAITING},{tail[1:]}\n")

    def _judge(self) -> None:
        """The outcome of each decided list, one buyer-year at a time, in the order its lists were decided
        (the per-buyer view of `traffic.expectations`' global decision order: only the order within one
        buyer's year matters to the annual total)."""
        self.statuses.clear()
        self._db.execute("DELETE FROM outcome")
        decided = self._db.execute(
            "SELECT seq, buyer, year, price, indivisible, codes FROM lists WHERE decision IS NOT NULL "
            "ORDER BY buyer, year, decision"
        )
        current: tuple[str, int] | None = None
        used = Decimal("0.00")
        batch: list[tuple[int, str]] = []
        with self._transaction():
            for seq, buyer, year, price, indivisible, codes in decided:
                if (buyer, year) != current:
                    current, used = (buyer, year), Decimal("0.00")
                tax_price = Decimal(price)
                status, state, found, route = decide(
                    tax_price, bool(indivisible), frozenset(json.loads(codes)), used
                )
                if status == "800":
                    used += tax_price
                self.statuses[status] += 1
                batch.append((seq, _dumps(outcome_json(status, state, found, route))[1:-1]))
                if len(batch) >= _BATCH:
                    self._db.executemany("INSERT INTO outcome VALUES (?, ?)", batch)
                    batch = []
            self._db.executemany("INSERT INTO outcome VALUES (?, ?)", batch)
