"""What one intake transaction keeps beside its session, so a chunk of messages costs fewer statements.

* **Append-only rows** (events, receipts, item lines, quota entries, tax bills) are collected and written
  with one multi-row Core insert per table (`flush_rows`) instead of one ORM flush each. Nothing reads them
  back inside an intake except a replay (`_replay` reads receipts) and cancellations and returns (which read
  lines, events, quota entries and tax bills); those call `flush_rows` first, and the transaction flushes
  them before it commits. Insert order is kept, so ids still follow the order the rows were made in.
* **Parsed messages** by message id: the decision compares the four documents, and those arrived as bytes
  that were just parsed; `node_of` takes them from here instead of reading the archived bytes back and
  parsing them again. Messages committed earlier stay in a bounded cache of the engine (`NodeCache`).
* **Reference rows** (which positive-list and rate-table versions are active) are asked once a transaction.

Outside an intake transaction (`resolve`, `expire`, `settle`, tests) nothing is collected: `add_row` falls
back to the ORM, `node_of` parses, as before.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from cbec.ceb.model import Message

ROWS = "cbec.pending_rows"
NODES = "cbec.nodes"
COMMITTED = "cbec.committed_nodes"
REFERENCE = "cbec.reference"


class NodeCache:
    """Parsed messages of committed arrivals by message id, the most recent `size` of them."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._items: OrderedDict[int, Message] = OrderedDict()

    def get(self, message_id: int) -> Message | None:
        return self._items.get(message_id)

    def update(self, items: dict[int, Message]) -> None:
        for key, message in items.items():
            self._items[key] = message
            self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


def begin(session: Session, committed: NodeCache | None) -> None:
    """Start collecting for an intake transaction."""
    session.info[ROWS] = []
    session.info[NODES] = {}
    session.info[REFERENCE] = {}
    if committed is not None:
        session.info[COMMITTED] = committed


def finish(session: Session) -> dict[int, Message]:
    """Write what is still collected (before the commit); the parsed messages of this transaction."""
    flush_rows(session)
    nodes: dict[int, Message] = session.info.pop(NODES, {})
    session.info.pop(ROWS, None)
    session.info.pop(REFERENCE, None)
    session.info.pop(COMMITTED, None)
    return nodes


def add_row(session: Session, model: Any, **values: Any) -> None:
    """An append-only row: collected when an intake transaction collects, else added to the session."""
    rows: list[tuple[Table, dict[str, Any]]] | None = session.info.get(ROWS)
    if rows is None:
        session.add(model(**values))
        return
    rows.append((model.__table__, values))


def flush_rows(session: Session) -> None:
    """Insert the collected rows, one executemany per table, in the order they were made."""
    rows: list[tuple[Table, dict[str, Any]]] | None = session.info.get(ROWS)
    if not rows:
        return
    session.flush()  # the documents and messages they point to
    by_table: dict[Table, list[dict[str, Any]]] = {}
    for table, values in rows:
        by_table.setdefault(table, []).append(values)
    rows.clear()
    for table, batch in by_table.items():
        session.execute(insert(table), batch)


def remember(session: Session, message_id: int, message: Message) -> None:
    nodes: dict[int, Message] | None = session.info.get(NODES)
    if nodes is not None:
        nodes[message_id] = message


def recall(session: Session, message_id: int) -> Message | None:
    nodes: dict[int, Message] | None = session.info.get(NODES)
    if nodes is not None and (found := nodes.get(message_id)) is not None:
        return found
    committed: NodeCache | None = session.info.get(COMMITTED)
    return committed.get(message_id) if committed is not None else None


def reference_cache(session: Session) -> dict[str, Any] | None:
    """A per-transaction dict for reference look-ups, or None outside an intake transaction."""
    cache: dict[str, Any] | None = session.info.get(REFERENCE)
    return cache
