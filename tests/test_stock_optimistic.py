"""A chunk of messages on PostgreSQL reads bonded stock without locking it and checks, before it commits,
that what other transactions did meanwhile changes none of its decisions (`stock.settle`): another intake
process is not made to wait for the whole chunk, no change is lost, and a decision that would now go the
other way is taken again with the rows locked."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine

from cbec.ceb import examples, render
from cbec.clearance import queries, service, stock
from cbec.clearance.service import Engine, IngestResult, Intake, Settings
from cbec.store.db import Store
from clearance_helpers import NOW, buyer, load_positive_list
from store_fixtures import search_path_option

EMS = examples.Trade().ems_no


def _trade(n: int) -> examples.Trade:
    return examples.Trade(
        trade_mode="1210",
        order_no=f"OPT{n}",
        logistics_no=f"LOPT{n}",
        pay_transaction_id=f"POPT{n}",
        buyer=buyer(n),  # a buyer each: the chunk locks its buyers' quota rows
    )


def _messages(trade: examples.Trade) -> list[bytes]:
    builders = (examples.ceb311, examples.ceb411, examples.ceb511, examples.ceb621)
    return [render(build(trade)) for build in builders]


def _stock_in(store: Store, one: str, two: str) -> None:
    with store.transaction() as session:
        stock.stock_in(
            session,
            [stock.StockIn(EMS, "REC-0001", Decimal(one)), stock.StockIn(EMS, "REC-0002", Decimal(two))],
            NOW,
        )


def _held(store: Store) -> dict[str, Decimal]:
    with store.transaction() as session:
        return {row.item_record_no: row.qty for row in stock.holding(session, EMS)}


@pytest.fixture
def pg(store: Store, tmp_path: Path) -> Iterator[tuple[Store, Engine]]:
    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serializes every writer: a chunk there holds its rows from the start")
    load_positive_list(store, tmp_path)
    options = f"{search_path_option(store)} -clock_timeout=3000"  # a wait for the chunk's rows fails the test
    other = create_engine(store.engine.url, connect_args={"options": options})
    try:
        yield store, Engine(Store(engine=other), Settings())
    finally:
        other.dispose()


def _meanwhile(
    monkeypatch: pytest.MonkeyPatch, action: Callable[[], Any]
) -> tuple[list[bool], list[BaseException | Any]]:
    """Run `action` in another thread and connection once the chunk has read what it needs (after its
    first `_preload`), and wait for it: the chunk's transaction is open meanwhile. Returns the `lock_stock`
    of every `_preload` and what the action returned or raised."""
    preload = service._preload
    calls: list[bool] = []
    outcome: list[BaseException | Any] = []

    def run() -> None:
        try:
            outcome.append(action())
        except BaseException as exc:  # reported to the test, not swallowed by the chunk's fallback
            outcome.append(exc)

    def patched(session: Any, messages: Any, *, lock_stock: bool = True) -> None:
        preload(session, messages, lock_stock=lock_stock)
        calls.append(lock_stock)
        if len(calls) == 1:
            worker = threading.Thread(target=run)
            worker.start()
            worker.join(30)

    monkeypatch.setattr(service, "_preload", patched)
    return calls, outcome


def _ingest_all(engine: Engine, messages: list[bytes], now: Any = NOW) -> list[IngestResult]:
    return [engine.ingest(data, now=now) for data in messages]


def _chunk(engine: Engine, messages: list[bytes]) -> list[IngestResult]:
    return engine.ingest_many([Intake(data, None, NOW) for data in messages])


def _decision(results: list[IngestResult]) -> tuple[str, str]:
    """The list's decision (the last CEB622 after its 120 arrival receipt): status and info."""
    [*_arrival, answer] = [a for a in results[-1].answers if a.receipt_type == "CEB622"]
    return answer.status, answer.info


def test_another_process_releases_meanwhile_without_waiting_and_nothing_is_lost(
    pg: tuple[Store, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, other = pg
    _stock_in(store, "10", "10")
    calls, outcome = _meanwhile(monkeypatch, lambda: _ingest_all(other, _messages(_trade(2))))
    results = _chunk(Engine(store, Settings()), _messages(_trade(1)))
    [theirs] = outcome
    assert not isinstance(theirs, BaseException), theirs  # it did not wait for the chunk's rows
    assert _decision(theirs)[0] == "800"
    assert _decision(results)[0] == "800"
    assert calls == [False]  # their release left enough: the chunk's decision stands, no second run
    # both releases count: 2 and 1 units each, neither overwrote the other
    assert _held(store) == {"REC-0001": Decimal("6"), "REC-0002": Decimal("8")}


def test_a_release_that_takes_the_last_units_meanwhile_makes_the_chunk_decide_again(
    pg: tuple[Store, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, other = pg
    _stock_in(store, "3", "1")  # enough for one list (2 and 1 units)
    calls, outcome = _meanwhile(monkeypatch, lambda: _ingest_all(other, _messages(_trade(2))))
    engine = Engine(store, Settings())
    results = _chunk(engine, _messages(_trade(1)))
    [theirs] = outcome
    assert not isinstance(theirs, BaseException), theirs
    assert _decision(theirs)[0] == "800"
    assert calls == [False, True]  # read 3 and 1, found 1 and 0 at the commit: again, rows locked
    assert engine.chunk_stats == {"chunks": 1, "stock_reruns": 1}
    status, info = _decision(results)
    assert status == "100" and "[Code:9501;" in info  # refused for want of stock, as it now is
    assert _held(store) == {"REC-0001": Decimal("1"), "REC-0002": Decimal("0")}


def test_stock_put_back_meanwhile_makes_a_refusal_decide_again(
    pg: tuple[Store, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, other = pg
    _stock_in(store, "2", "1")
    engine = Engine(store, Settings())
    first = _trade(1)
    assert _decision(_ingest_all(engine, _messages(first)))[0] == "800"  # takes every unit
    with store.transaction() as session:
        view = queries.find(session, "list", first.order_no)
        assert view is not None
        released = examples.Trade(**{**first.__dict__, "invt_no": view.document.invt_no})
    cancel = render(examples.ceb623(released))

    calls, outcome = _meanwhile(monkeypatch, lambda: other.ingest(cancel, now=NOW + timedelta(hours=1)))
    results = _chunk(engine, _messages(_trade(2)))
    [theirs] = outcome
    assert not isinstance(theirs, BaseException), theirs
    assert ("CEB624", "399") in [(a.receipt_type, a.status) for a in theirs.answers]
    assert calls == [False, True]  # read 0 and 0 (a refusal), found 2 and 1 at the commit: again
    assert _decision(results)[0] == "800"
    assert _held(store) == {"REC-0001": Decimal("0"), "REC-0002": Decimal("0")}
