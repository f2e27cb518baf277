"""What one intake transaction keeps beside its session, so a chunk of messages costs fewer statements.

* **Append-only rows** (events, receipts, item lines, quota entries, tax bills) are collected and written
  with one multi-row Core insert per table (`flush_rows`) instead of one ORM flush each. Nothing reads them
  back inside an intake except a replay (`_replay` reads receipts) and cancellations and returns (which read
  lines, events, quota entries and tax bills); those call `flush_rows` first, and the transaction flushes
  them before it commits. Insert order is kept, so ids still follow the order the rows were made in.
* **Parsed messages** by message id: the decision compares the four documents, and those arrived as bytes
  that were just parsed; `node_of` takes them from here instead of reading the archived bytes back and
  parsing them again. Messages committed earlier stay in a bounded cache of the engine (`NodeCache`).
  Stored documents beyond that cache are built from their stored JSON form once a transaction, by document
  id (`keep_document`).
* **Reference rows** (which positive-list and rate-table versions are active) are asked once a transaction.

Outside an intake transaction (`resolve`, `expire`, `settle`, tests) nothing is collected: `add_row` falls
back to the ORM, `node_of` parses, as before.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

from cbec.ceb.model import Message, Node
from cbec.store import bulk
from cbec.store.models import DocumentRow, MessageRow

ROWS = "cbec.pending_rows"
NODES = "cbec.nodes"
DOCUMENTS = "cbec.document_nodes"
COMMITTED = "cbec.committed_nodes"
REFERENCE = "cbec.reference"


class NodeCache:
    """Parsed messages of committed arrivals by message id, the most recent `size` of them."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._items: OrderedDict[int, Message] = OrderedDict()
        self._lock = threading.Lock()  # an API server's threads share the engine

    def get(self, message_id: int) -> Message | None:
        with self._lock:
            return self._items.get(message_id)

    def update(self, items: dict[int, Message]) -> None:
        with self._lock:
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
    session.info[DOCUMENTS] = {}
    session.info[REFERENCE] = {}
    if committed is not None:
        session.info[COMMITTED] = committed


def finish(session: Session) -> dict[int, Message]:
    """Write what is still collected (before the commit); the parsed messages of this transaction."""
    flush_rows(session)
    nodes: dict[int, Message] = session.info.pop(NODES, {})
    session.info.pop(ROWS, None)
    session.info.pop(DOCUMENTS, None)
    session.info.pop(REFERENCE, None)
    session.info.pop(COMMITTED, None)
    session.info.pop(INDEX, None)
    return nodes


def add_row(session: Session, model: Any, **values: Any) -> None:
    """An append-only row: collected when an intake transaction collects, else added to the session."""
    rows: list[tuple[Table, dict[str, Any]]] | None = session.info.get(ROWS)
    if rows is None:
        session.add(model(**values))
        return
    rows.append((model.__table__, values))


def flush_rows(session: Session) -> None:
    """Write the chunk's new messages and documents (ids allocated up front), then the collected rows, in
    the order they were made: one bulk write for all of them (`cbec.store.bulk.write`). Then the unit of
    work flushes whatever else is pending (changed rows, new rows without an id): no collected row refers
    to one of those, which have no id yet."""
    rows: list[tuple[Table, dict[str, Any]]] | None = session.info.get(ROWS)
    if not rows:
        return
    by_table: dict[Table, list[dict[str, Any]]] = {}
    for table, values in rows:
        by_table.setdefault(table, []).append(values)
    rows.clear()
    pending = list(session.new) if index(session) is not None else []
    new = [[o for o in pending if type(o) is model] for model in (MessageRow, DocumentRow)]
    bulk.write(session, new, list(by_table.items()))
    session.flush()


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


def keep_document(session: Session, document_id: int, node: Node) -> None:
    """Keep a stored document's node, built for this transaction, by the document's id."""
    nodes: dict[int, Node] | None = session.info.get(DOCUMENTS)
    if nodes is not None:
        nodes[document_id] = node


def kept_document(session: Session, document_id: int) -> Node | None:
    nodes: dict[int, Node] | None = session.info.get(DOCUMENTS)
    return nodes.get(document_id) if nodes is not None else None


def reference_cache(session: Session) -> dict[str, Any] | None:
    """A per-transaction dict for reference look-ups, or None outside an intake transaction."""
    cache: dict[str, Any] | None = session.info.get(REFERENCE)
    return cache


# ---- the chunk index: what a chunk of messages asks about, loaded with one query per question -------------

INDEX = "cbec.chunk_index"
#: the kinds found by (ebp_code, order_no) and by (logistics_code, logistics_no)
BY_ORDER = ("order", "payment", "list")
BY_WAYBILL = ("waybill", "list")


class ChunkIndex:
    """The documents a chunk of messages can ask about, loaded before the chunk runs and kept up to date as
    it stores documents (`add`). Lookups filter the live ORM rows at the moment they are asked (current,
    status), so they answer as the query they replace would; a key the chunk did not preload is answered
    None by `covers`, and the caller queries the database as before."""

    def __init__(self) -> None:
        self.by_key: dict[tuple[str, str], dict[int, Any]] = {}
        self.by_order: dict[tuple[str, str], dict[int, Any]] = {}
        self.by_waybill: dict[tuple[str, str], dict[int, Any]] = {}
        #: (msg_type, guid) of messages stored before the chunk, among the chunk's; and those stored in it
        self.known_messages: set[tuple[str, str]] = set()
        self.chunk_messages: set[tuple[str, str]] = set()
        #: quota rows locked for the chunk by (buyer_key, year); pairs known to have no row yet (SQLite)
        self.quota: dict[tuple[str, int], Any] = {}
        self.quota_missing: set[tuple[str, int]] = set()
        #: bonded stock rows of the chunk by (ems_no, item_record_no); pairs with no row yet
        self.stock: dict[tuple[str, str], Any] = {}
        self.stock_missing: set[tuple[str, str]] = set()
        #: optimistic stock (`stock.settle`): what each row not yet locked held when read (0: no row), and
        #: the margins the chunk's decisions relied on; None when the rows were locked as they were read
        self.stock_read: dict[tuple[str, str], Any] | None = None
        self.stock_margins: dict[tuple[str, str], Any] = {}
        #: the keys preloaded: only these are answered from the index
        self.covered_keys: set[tuple[str, str]] = set()
        self.covered_orders: set[tuple[str, str]] = set()
        self.covered_waybills: set[tuple[str, str]] = set()
        self.covered_messages: set[tuple[str, str]] = set()
        #: message rows by id the chunk answers for: its new ones (pending until the chunk flushes: not in the
        #: identity map) and those of stored lists it may decide (loaded with it; held here, as the identity
        #: map holds rows only while something else does)
        self.messages: dict[int, Any] = {}
        #: ids handed out to new messages and documents without a round trip each (`next_id`)
        self.ids: dict[str, list[int]] = {}

    def next_id(self, table: str) -> int | None:
        """The next id allocated for `table` ("messages", "documents"), or None when none is left."""
        free = self.ids.get(table)
        return free.pop() if free else None

    def stored_before(self, msg_type: str, guid: str) -> bool | None:
        """Whether a message (msg_type, guid) is already stored; None when the index cannot tell."""
        pair = (msg_type, guid)
        if pair not in self.covered_messages:
            return None
        return pair in self.known_messages or pair in self.chunk_messages

    def add(self, row: Any) -> None:
        """A document row (loaded or just stored) into every entry it belongs to (covered or not)."""
        self.by_key.setdefault((row.kind, row.doc_key), {})[row.id] = row
        if row.kind in BY_ORDER and row.ebp_code is not None and row.order_no is not None:
            self.by_order.setdefault((row.ebp_code, row.order_no), {})[row.id] = row
        if row.kind in BY_WAYBILL and row.logistics_code is not None and row.logistics_no is not None:
            self.by_waybill.setdefault((row.logistics_code, row.logistics_no), {})[row.id] = row

    @staticmethod
    def _rows(
        table: dict[tuple[str, str], dict[int, Any]],
        covered: set[tuple[str, str]],
        key: tuple[str | None, str | None],
    ) -> dict[int, Any] | None:
        if key[0] is None or key[1] is None or (key[0], key[1]) not in covered:
            return None
        return table.get((key[0], key[1]), {})

    def current(self, kind: str, doc_key: str) -> tuple[bool, Any]:
        """(covered, the current row of kind and key or None)."""
        if (kind, doc_key) not in self.covered_keys:
            return False, None
        rows = self.by_key.get((kind, doc_key), {})
        found = [r for r in rows.values() if r.current]
        return True, max(found, key=lambda r: r.id) if found else None

    def live(self, kind: str, keys: dict[str, str | None]) -> tuple[bool, Any]:
        """(covered, the newest current accepted row of kind with these join keys or None)."""
        rows = self._lookup(keys)
        if rows is None:
            return False, None
        found = [r for r in rows.values() if r.kind == kind and r.current and r.status == "accepted"]
        return True, max(found, key=lambda r: r.id) if found else None

    def waiting(self, keys: dict[str, str | None]) -> tuple[bool, list[Any]]:
        """(covered, the current waiting lists with these join keys, oldest first)."""
        rows = self._lookup(keys)
        if rows is None:
            return False, []
        found = [r for r in rows.values() if r.kind == "list" and r.current and r.status == "waiting"]
        return True, sorted(found, key=lambda r: r.id)

    def _lookup(self, keys: dict[str, str | None]) -> dict[int, Any] | None:
        if set(keys) == {"ebp_code", "order_no"}:
            return self._rows(self.by_order, self.covered_orders, (keys["ebp_code"], keys["order_no"]))
        if set(keys) == {"logistics_code", "logistics_no"}:
            pair = (keys["logistics_code"], keys["logistics_no"])
            return self._rows(self.by_waybill, self.covered_waybills, pair)
        return None


def index(session: Session) -> ChunkIndex | None:
    found: ChunkIndex | None = session.info.get(INDEX)
    return found


def message_row(session: Session, model: Any, message_id: int) -> Any:
    """The message row `message_id`: the chunk's own new rows without a query (nor the flush one would
    set off), else `session.get`."""
    chunk = index(session)
    if chunk is not None and (found := chunk.messages.get(message_id)) is not None:
        return found
    return session.get(model, message_id)
