"""Per-trade locks, so that documents of one trade arriving in separate processes are judged one after the
other.

Without them, on PostgreSQL two transactions committing, say, a trade's order and its list at the same
instant each look for the other before either has committed: the list waits for an order that is already
there and stays undecided until `cbec expire`. Each intake transaction therefore takes a transaction-scoped
advisory lock for every trade its messages touch — keyed by the orderNo for all four documents (a waybill
names no platform, so the key leaves ebpCode out), and by (logisticsCode, logisticsNo) for waybills and
lists — all of them, in ascending order, before it reads anything, so two transactions never wait on each
other in a cycle (quota and stock rows are locked after these, in a fixed order too). SQLite needs none:
its writers are serialized already.

The order and the waybill share a key because a list that arrived first links them: were they keyed apart,
the order and the waybill committing at the same instant would each find the list still missing the other,
and neither would decide it. A waybill whose orderNo is not its list's still escapes that (its list is
rejected for the mismatch once decided; until then `cbec expire` is its backstop).

A chunk of an HTTP server's group commit does not wait for another transaction's trades at all
(`lock_or_defer`): it leaves out the messages whose trade (or buyer) another chunk holds, to be taken in its
next chunk, and judges the rest at once. Two server processes get batches that share trades almost always (a
platform's orders and a payment company's payments of the same trades); waiting for every trade of a chunk
ran their chunks one after the other, and kept a core idle.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Sequence

from sqlalchemy import text
from sqlalchemy.orm import Session

from cbec.ceb.model import Message
from cbec.clearance.documents import KINDS, buyer_id_number, buyer_key, head_of
from cbec.clearance.documents import text as field

#: the kinds keyed by their orderNo, and those keyed by their waybill (as `unit.BY_WAYBILL`)
_BY_ORDER = ("order", "payment", "waybill", "list")
_BY_WAYBILL = ("waybill", "list")


def _key(*parts: str) -> int:
    """A signed 64-bit advisory-lock key from the parts (SHA-256, so keys do not cluster)."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def message_keys(message: Message) -> set[int]:
    """The advisory-lock keys of every trade the message's documents belong to."""
    keys: set[int] = set()
    kind = KINDS.get(message.code)
    if kind is None:
        return keys
    for document in message.documents:
        head = head_of(kind, document)
        order_no = field(head, "orderNo")
        if kind.name in _BY_ORDER and order_no:
            keys.add(_key("order", order_no))
        code, number = field(head, "logisticsCode"), field(head, "logisticsNo")
        if kind.name in _BY_WAYBILL and code and number:
            keys.add(_key("waybill", code, number))
    return keys


#: the kinds whose decision may draw on the yearly quota of the buyer they name
_BUYER_KINDS = frozenset({"order", "payment", "list"})


def buyer_keys(message: Message) -> set[int]:
    """Keys for the buyers whose quota rows judging the message may lock (from the quota ledger's keyed hash,
    never the ID number itself: lock keys are visible to every database user). Only a chunk that would
    rather leave a message out than wait takes them (`lock_or_defer`): correctness rests on the quota rows'
    own locks, and a waybill, which names no buyer, may still wait on those."""
    keys: set[int] = set()
    kind = KINDS.get(message.code)
    if kind is None or kind.name not in _BUYER_KINDS:
        return keys
    for document in message.documents:
        if buyer := buyer_key(buyer_id_number(kind, head_of(kind, document))):
            keys.add(_key("buyer", buyer))
    return keys


def trade_keys(messages: Iterable[Message]) -> list[int]:
    """The sorted advisory-lock keys of every trade the messages' documents belong to."""
    keys: set[int] = set()
    for message in messages:
        keys |= message_keys(message)
    return sorted(keys)


#: the lock of each key in ``:keys``, in array order (a function scan over the sorted array yields its rows in
#: array order). Advisory locks belong to the whole database: the key is mixed with the schema's name, so
#: platforms (or test runs) in other schemas of one database never wait on each other's trades
_LOCK = (
    "SELECT pg_advisory_xact_lock(k # hashtextextended(current_schema(), 0)) "
    "FROM unnest(CAST(:keys AS bigint[])) AS k"
)
_TRY = (
    "SELECT k, pg_try_advisory_xact_lock(k # hashtextextended(current_schema(), 0)) "
    "FROM unnest(CAST(:keys AS bigint[])) AS k"
)


def lock_trades(session: Session, messages: Iterable[Message]) -> None:
    """Take the trades' advisory locks for the rest of the transaction (PostgreSQL; a no-op elsewhere)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    keys = trade_keys(messages)
    if keys:
        session.execute(text(_LOCK), {"keys": keys})


def lock_or_defer(
    session: Session, messages: Sequence[Message | None], waiting: Collection[int] = ()
) -> set[int]:
    """Take the locks of the trades and buyers of `messages` (None: a message without any) without waiting
    for another transaction, and return the positions of the messages left out: a trade or buyer of theirs
    is held elsewhere, or is shared with an earlier message left out (so a trade's or a buyer's messages
    keep their order). The caller takes them in a later transaction. The messages at the positions in
    `waiting` are never left out: their keys are locked first, waiting in ascending order as `lock_trades`
    does. A transaction that waits only there, before holding any other lock, cannot close a cycle of
    waits. PostgreSQL; elsewhere nothing is locked and nothing left out.

    Buyers too: two chunks with a buyer in common otherwise meet at the buyer's quota row, and the later one
    waits there for the other's commit. A chunk of an HTTP server's busy minute holds a hundred buyers, so
    without these keys two chunks met that way most of the time."""
    if session.get_bind().dialect.name != "postgresql":
        return set()
    keys_of = [message_keys(m) | buyer_keys(m) if m is not None else set() for m in messages]
    held: set[int] = set()
    for position in waiting:
        held |= keys_of[position]
    if held:
        session.execute(text(_LOCK), {"keys": sorted(held)})
    rest = sorted(set().union(*keys_of) - held)
    if rest:
        held |= {key for key, taken in session.execute(text(_TRY), {"keys": rest}) if taken}
    blocked: set[int] = set()
    left_out: set[int] = set()
    for position, keys in enumerate(keys_of):
        if position not in waiting and (keys & blocked or not keys <= held):
            left_out.add(position)
            blocked |= keys
    return left_out
