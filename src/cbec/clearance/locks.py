"""Per-trade locks, so that documents of one trade arriving in separate processes are judged one after the
other.

Without them, on PostgreSQL two transactions committing, say, a trade's order and its list at the same
instant each look for the other before either has committed: the list waits for an order that is already
there and stays undecided until `cbec expire`. Each intake transaction therefore takes a transaction-scoped
advisory lock for every trade its messages touch — keyed by (ebpCode, orderNo) for orders, payments and
lists, and by (logisticsCode, logisticsNo) for waybills and lists — all of them, in ascending order, before
it reads anything, so two transactions never wait on each other in a cycle (quota and stock rows are locked
after these, in a fixed order too). SQLite needs none: its writers are serialized already.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.orm import Session

from cbec.ceb.model import Message
from cbec.clearance.documents import KINDS, head_of
from cbec.clearance.documents import text as field

#: the kinds matched to their companions by order and by waybill (as `unit.BY_ORDER` / `unit.BY_WAYBILL`)
_BY_ORDER = ("order", "payment", "list")
_BY_WAYBILL = ("waybill", "list")


def _key(*parts: str) -> int:
    """A signed 64-bit advisory-lock key from the parts (SHA-256, so keys do not cluster)."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def trade_keys(messages: Iterable[Message]) -> list[int]:
    """The sorted advisory-lock keys of every trade the messages' documents belong to."""
    keys: set[int] = set()
    for message in messages:
        kind = KINDS.get(message.code)
        if kind is None:
            continue
        for document in message.documents:
            head = head_of(kind, document)
            ebp, order_no = field(head, "ebpCode"), field(head, "orderNo")
            if kind.name in _BY_ORDER and ebp and order_no:
                keys.add(_key("order", ebp, order_no))
            code, number = field(head, "logisticsCode"), field(head, "logisticsNo")
            if kind.name in _BY_WAYBILL and code and number:
                keys.add(_key("waybill", code, number))
    return sorted(keys)


def lock_trades(session: Session, messages: Iterable[Message]) -> None:
    """Take the trades' advisory locks for the rest of the transaction (PostgreSQL; a no-op elsewhere)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    keys = trade_keys(messages)
    if keys:
        # one round trip: a function scan over the sorted array yields its rows in array order. Advisory
        # locks belong to the whole database: the key is mixed with the schema's name, so platforms (or test
        # runs) in other schemas of one database never wait on each other's trades
        session.execute(
            text(
                "SELECT pg_advisory_xact_lock(k # hashtextextended(current_schema(), 0)) "
                "FROM unnest(CAST(:keys AS bigint[])) AS k"
            ),
            {"keys": keys},
        )
