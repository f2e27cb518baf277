"""Documents of one trade sent by separate processes are judged one after the other (PostgreSQL advisory
locks per trade), so a list never waits for a companion committed at the same instant."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from cbec.ceb import examples, render
from cbec.clearance.locks import lock_trades, trade_keys
from cbec.clearance.service import Engine, IngestResult, Settings
from cbec.store.db import Store
from store_fixtures import search_path_option

NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


def test_a_trades_documents_share_their_keys() -> None:
    trade = examples.Trade(order_no="LOCK1")
    other = examples.Trade(order_no="LOCK2", logistics_no="LOCKW2")
    builders = (examples.ceb311, examples.ceb411, examples.ceb511, examples.ceb621)
    order, payment, waybill, listing = (trade_keys([build(trade)]) for build in builders)
    assert len(order) == 1 and order == payment
    assert len(waybill) == 1 and waybill != order
    assert sorted(order + waybill) == listing
    assert not set(listing) & set(trade_keys([examples.ceb621(other)]))
    both = trade_keys([examples.ceb311(trade), examples.ceb311(other)])
    assert both == sorted(both) and len(both) == 2


def test_intake_waits_while_another_transaction_holds_the_trade(store: Store) -> None:
    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serializes every writer; the per-trade locks are PostgreSQL's")
    trade = examples.Trade(order_no="LOCK3")
    order = examples.ceb311(trade)
    [key] = trade_keys([order])
    engine = Engine(store, Settings())
    other = create_engine(store.engine.url, connect_args={"options": search_path_option(store)})
    results: list[IngestResult] = []
    try:
        with other.connect() as holder:
            holder.begin()
            holder.execute(text(HOLD), {"k": key})
            worker = threading.Thread(target=lambda: results.append(engine.ingest(render(order), now=NOW)))
            worker.start()
            worker.join(1.0)
            assert worker.is_alive() and not results  # blocked behind the holder's transaction
            holder.rollback()  # ends the transaction and releases its advisory lock
            worker.join(30)
            assert not worker.is_alive()
    finally:
        other.dispose()
    assert [r.outcome for r in results] == ["accepted"]


def test_the_same_trade_in_another_schema_does_not_block(store: Store) -> None:
    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serializes every writer; the per-trade locks are PostgreSQL's")
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
