"""Documents of one trade sent by separate processes are judged one after the other (PostgreSQL advisory
locks per trade), so a list never waits for a companion committed at the same instant; a group-commit chunk
leaves out, instead of waiting for, the trades another transaction holds."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, select, text
from sqlalchemy.orm import Session

from cbec.ceb import examples, render
from cbec.clearance import unit
from cbec.clearance.locks import buyer_keys, lock_or_defer, lock_trades, trade_keys
from cbec.clearance.service import Engine, IngestResult, Intake, LeftOut, Settings
from cbec.store.db import Store
from cbec.store.models import DocumentRow
from store_fixtures import search_path_option

NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


def test_a_trades_documents_share_their_keys() -> None:
    trade = examples.Trade(order_no="LOCK1")
    other = examples.Trade(order_no="LOCK2", logistics_no="LOCKW2")
    builders = (examples.ceb311, examples.ceb411, examples.ceb511, examples.ceb621)
    order, payment, waybill, listing = (trade_keys([build(trade)]) for build in builders)
    assert len(order) == 1 and order == payment
    # the waybill takes its orderNo's key too: a list that arrived first links the two
    assert len(waybill) == 2 and set(order) < set(waybill)
    assert waybill == listing
    assert not set(listing) & set(trade_keys([examples.ceb621(other)]))
    both = trade_keys([examples.ceb311(trade), examples.ceb311(other)])
    assert both == sorted(both) and len(both) == 2


def _pg(store: Store) -> None:
    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serializes every writer; the per-trade locks are PostgreSQL's")


@contextmanager
def _holding(store: Store, *keys: int) -> Iterator[Connection]:
    """Another connection to the store's schema, in a transaction holding `keys` as intake takes them,
    until it rolls back."""
    other = create_engine(store.engine.url, connect_args={"options": search_path_option(store)})
    try:
        with other.connect() as holder:
            holder.begin()
            for key in keys:
                holder.execute(text(HOLD), {"k": key})
            yield holder
    finally:
        other.dispose()


def _blocked_until_released(store: Store, engine: Engine, key: int, data: bytes) -> list[IngestResult]:
    """`engine.ingest(data)` in a thread while another transaction holds `key`: checked to be still waiting
    after a second, then let go; its results."""
    results: list[IngestResult] = []
    with _holding(store, key) as holder:
        worker = threading.Thread(target=lambda: results.append(engine.ingest(data, now=NOW)))
        worker.start()
        worker.join(1.0)
        assert worker.is_alive() and not results  # blocked behind the holder's transaction
        holder.rollback()  # ends the transaction and releases its advisory lock
        worker.join(30)
        assert not worker.is_alive()
    return results


def test_intake_waits_while_another_transaction_holds_the_trade(store: Store) -> None:
    _pg(store)
    order = examples.ceb311(examples.Trade(order_no="LOCK3"))
    [key] = trade_keys([order])
    results = _blocked_until_released(store, Engine(store, Settings()), key, render(order))
    assert [r.outcome for r in results] == ["accepted"]


def test_an_order_and_a_waybill_committing_together_decide_the_list_that_waited(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The list arrives first and waits; its order and its waybill then arrive in two transactions at once.
    The order's transaction is held just before it commits: the waybill's must wait for it (they share the
    trade's key), and then find the order and decide the list. Keyed apart, each found the other missing and
    the list stayed waiting."""
    _pg(store)
    trade = examples.Trade(order_no="LOCK5", logistics_no="LOCKW5")
    engine = Engine(store, Settings())
    engine.ingest(render(examples.ceb411(trade)), now=NOW)
    [listed] = engine.ingest(render(examples.ceb621(trade)), now=NOW).statuses
    held, release = threading.Event(), threading.Event()
    real_finish = unit.finish

    def finish(session: Session) -> Any:
        if threading.current_thread().name == "order":
            held.set()
            release.wait(30)
        return real_finish(session)

    monkeypatch.setattr(unit, "finish", finish)
    results: dict[str, IngestResult] = {}

    def send(name: str, data: bytes) -> threading.Thread:
        thread = threading.Thread(
            target=lambda: results.__setitem__(name, engine.ingest(data, now=NOW)), name=name
        )
        thread.start()
        return thread

    order = send("order", render(examples.ceb311(trade)))
    assert held.wait(30)
    waybill = send("waybill", render(examples.ceb511(trade)))
    waybill.join(1.0)
    assert waybill.is_alive()  # waits for the order's transaction
    release.set()
    order.join(30)
    waybill.join(30)
    decided = [a.status for a in results["waybill"].answers if a.receipt_type == "CEB622"]
    assert decided and decided[0] in ("800", "100")  # the list, decided with the waybill's arrival
    with store.transaction() as session:
        status = session.scalars(select(DocumentRow.status).where(DocumentRow.kind == "list")).one()
    assert listed == "120" and status != "waiting"


def test_a_chunk_leaves_out_what_another_transaction_holds(store: Store) -> None:
    """Group commit: a chunk does not wait for a trade held elsewhere; its message is left out (nothing of it
    stored) and the chunk's other messages are taken. Left out often enough, it waits."""
    _pg(store)
    held = examples.Trade(order_no="LOCK6")
    free = examples.Trade(
        order_no="LOCK7", logistics_no="LOCKW7", buyer=examples.Buyer(id_number=OTHER_ID)
    )  # another buyer: buyers are keyed too
    [key] = trade_keys([examples.ceb311(held)])
    [buyer] = buyer_keys(examples.ceb311(held))
    engine = Engine(store, Settings())
    with _holding(store, key, buyer) as holder:
        items = [Intake(render(examples.ceb311(t)), now=NOW) for t in (held, free)]
        first, second = engine._many(items, [0, 0])
        assert isinstance(first, LeftOut)
        assert isinstance(second, IngestResult) and second.outcome == "accepted"
        with store.transaction() as session:
            stored = session.scalars(select(DocumentRow.order_no)).all()
        assert stored == ["LOCK7"]
        waiting: list[Any] = []
        worker = threading.Thread(target=lambda: waiting.extend(engine._many(items[:1], [2])))
        worker.start()
        worker.join(1.0)
        assert worker.is_alive() and not waiting  # left out twice: it waits for the trade
        holder.rollback()
        worker.join(30)
    assert [r.outcome for r in waiting] == ["accepted"]


def test_a_trade_left_out_keeps_its_order_in_the_chunk(store: Store) -> None:
    """A message is left out when it shares a trade with an earlier message left out, even if that trade is
    free: the list is held by its waybill, so the order after it (same orderNo) waits too."""
    _pg(store)
    trade = examples.Trade(order_no="LOCK8", logistics_no="LOCKW8")
    listing, order, other_order = (
        examples.ceb621(trade),
        examples.ceb311(trade),
        examples.ceb311(examples.Trade(order_no="LOCK9", buyer=examples.Buyer(id_number=OTHER_ID))),
    )
    waybill_key = (set(trade_keys([listing])) - set(trade_keys([order]))).pop()
    with _holding(store, waybill_key), Session(store.engine) as session, session.begin():
        assert lock_or_defer(session, [listing, order, None, other_order]) == {0, 1}


def test_a_buyer_held_elsewhere_leaves_the_list_out(store: Store) -> None:
    """Buyers are keyed too (from the quota ledger's keyed hash): a list whose buyer another chunk holds is
    left out rather than waiting at the buyer's quota row; the same buyer's order and list share the key,
    and the blocking path (`lock_trades`) does not take it."""
    _pg(store)
    trade = examples.Trade(order_no="LOCK11", logistics_no="LOCKW11")
    listing, order = examples.ceb621(trade), examples.ceb311(trade)
    [buyer] = buyer_keys(listing)
    assert buyer_keys(order) == {buyer} and not buyer_keys(examples.ceb511(trade))
    assert buyer not in trade_keys([listing, order])
    stranger = examples.ceb621(
        examples.Trade(order_no="LOCK12", logistics_no="LOCKW12", buyer=examples.Buyer(id_number=OTHER_ID))
    )
    assert buyer_keys(stranger) != {buyer}
    with _holding(store, buyer), Session(store.engine) as session, session.begin():
        assert lock_or_defer(session, [listing, stranger]) == {0}


#: a checksum-valid ID number other than the examples' buyer's
OTHER_ID = "11010519491231002X"


def test_a_message_left_out_by_group_commit_is_taken_and_answered(store: Store) -> None:
    """Over group commit the left-out message goes back to the queue; a chunk of nothing but messages left
    out before waits for their trades, so the caller gets its answer once the trade is free."""
    _pg(store)
    order = examples.ceb311(examples.Trade(order_no="LOCK10"))
    [key] = trade_keys([order])
    engine = Engine(store, Settings(group_commit=True))
    results = _blocked_until_released(store, engine, key, render(order))
    assert [r.outcome for r in results] == ["accepted"]
    assert engine.chunk_stats["left_out"] == 1


def test_the_same_trade_in_another_schema_does_not_block(store: Store) -> None:
    _pg(store)
    trade = examples.Trade(order_no="LOCK4")
    order = examples.ceb311(trade)
    engine = Engine(store, Settings())
    other = create_engine(store.engine.url, connect_args={"options": "-csearch_path=public"})
    try:
        with Session(other) as holder, holder.begin():
            lock_trades(holder, [order])  # the same trade, taken by a platform in another schema
            worker = threading.Thread(target=lambda: engine.ingest(render(order), now=NOW))
            worker.start()
            worker.join(30)
            assert not worker.is_alive()  # advisory locks are database-wide: the schema keeps them apart
    finally:
        other.dispose()


#: what intake takes for a key (`locks.lock_trades`): the key mixed with the current schema's name
HOLD = "SELECT pg_advisory_xact_lock(CAST(:k AS bigint) # hashtextextended(current_schema(), 0))"
