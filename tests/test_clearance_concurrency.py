"""Two lists of one buyer decided at once can never together exceed the annual limit.

Several worker threads, each with its own `Engine` and its own connection pool over the same database (an
SQLite file, or the PostgreSQL schema of the `store` fixture), release lists of ONE buyer that together
exceed 26,000 CNY: eight lists of 4,000.00, with their order, payment and waybill already in. The workers
start together at a barrier. Exactly six fit (24,000 ≤ 26,000 < 28,000), the other two are refused with
-621018, and the quota row equals the sum of what was released. Each round uses a new buyer; half of the
rounds race on the lists, the other half on the waybills (whose arrival completes the lists).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from cbec.ceb.examples import ceb311, ceb411, ceb511, ceb621
from cbec.clearance import documents
from cbec.clearance.service import Engine, IngestResult, Intake
from cbec.store.db import Store
from cbec.store.models import DocumentRow, QuotaEntryRow, QuotaRow
from clearance_helpers import (
    NOW,
    SECRET,
    buyer,
    check_answers,
    codes,
    ingest_all,
    line_worth,
    load_positive_list,
    pick,
    quota_used,
    trade,
    wire,
)

LISTS = 8
WORKERS = 4
ROUNDS = 4
#: 3,990.00 of goods + 10.00 freight: each list's tax price is 4,000.00
WORTH = line_worth(Decimal("3990"))
ALLOWED = 6


@pytest.fixture(autouse=True)
def _buyer_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(documents, "_SECRET", SECRET)


@pytest.fixture
def open_store(store: Store) -> Iterator[Callable[[], Store]]:
    """Opens another `Store` (its own engine and pool) on the database of the `store` fixture."""
    opened: list[Store] = []

    def open_() -> Store:
        if store.dialect == "sqlite":
            other = Store(url=store.engine.url.render_as_string(hide_password=False))
        else:
            with store.engine.connect() as conn:
                schema = conn.execute(text("SELECT current_schema()")).scalar_one()
            other = Store(
                engine=create_engine(
                    store.engine.url,
                    connect_args={"options": f"-csearch_path={schema}"},
                    pool_pre_ping=True,
                )
            )
        opened.append(other)
        return other

    yield open_
    for other in opened:
        other.dispose()


def _race(workers: list[Engine], messages: list[bytes], chunked: bool = False) -> list[IngestResult]:
    """Ingest `messages` spread over the workers' threads, all starting at once; re-raise any error.
    `chunked`: each worker takes its share in one transaction (`Engine.ingest_many`)."""
    barrier = threading.Barrier(len(workers))
    results: list[IngestResult] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(engine: Engine, share: list[bytes]) -> None:
        try:
            barrier.wait(timeout=30)
            if chunked:
                many = engine.ingest_many([Intake(data, "race", NOW) for data in share])
                with lock:
                    results.extend(many)
                return
            for data in share:
                result = engine.ingest(data, source="race", now=NOW)
                with lock:
                    results.append(result)
        except BaseException as exc:  # reported to the test below
            with lock:
                errors.append(exc)

    threads = [
        threading.Thread(target=work, args=(engine, messages[i :: len(workers)]), name=f"worker-{i}")
        for i, engine in enumerate(workers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a worker hangs"
    if errors:
        raise errors[0]
    return results


@pytest.mark.parametrize("chunked", [False, True], ids=["one-by-one", "chunks"])
def test_concurrent_lists_of_one_buyer_never_exceed_the_annual_limit(
    store: Store, open_store: Callable[[], Store], tmp_path: Path, chunked: bool
) -> None:
    load_positive_list(store, tmp_path)
    setup = Engine(store)
    workers = [Engine(open_store()) for _ in range(WORKERS)]

    for round_ in range(ROUNDS):
        who = buyer(800 + round_)
        trades = [trade(1000 * (round_ + 1) + n, who=who, lines=(WORTH,)) for n in range(LISTS)]
        race_lists = round_ % 2 == 0
        if race_lists:
            ingest_all(setup, [m for t in trades for m in (ceb311(t), ceb411(t), ceb511(t))])
            racing = [wire(ceb621(t)) for t in trades]
        else:
            ingest_all(setup, [m for t in trades for m in (ceb311(t), ceb411(t), ceb621(t))])
            racing = [wire(ceb511(t)) for t in trades]

        results = _race(workers, racing, chunked)

        assert len(results) == LISTS and all(r.outcome == "accepted" for r in results)
        answers = [a for r in results for a in r.answers]
        released = pick(answers, "CEB622", "800")
        refused = pick(answers, "CEB622", "100")
        assert (len(released), len(refused)) == (ALLOWED, LISTS - ALLOWED), f"round {round_}"
        assert all(codes(a.info) == ["-621018"] for a in refused), [a.info for a in refused]
        assert len(pick(answers, "CEB816", "1")) == ALLOWED
        check_answers(answers)
        with store.transaction() as session:
            keys = {t.order_no for t in trades}
            lists = session.scalars(
                select(DocumentRow).where(DocumentRow.kind == "list", DocumentRow.order_no.in_(keys))
            ).all()
            statuses = sorted(d.status for d in lists)
            assert statuses == ["rejected"] * (LISTS - ALLOWED) + ["released"] * ALLOWED
            released_sum = sum((d.amount or Decimal(0) for d in lists if d.status == "released"), Decimal(0))
            key = lists[0].buyer_key
            row = session.get(QuotaRow, (key, NOW.year))
            assert row is not None
            ledger = session.scalar(
                select(func.sum(QuotaEntryRow.amount)).where(QuotaEntryRow.buyer_key == key)
            )
        assert released_sum == Decimal("24000")
        assert row.used == released_sum == ledger
        assert quota_used(store, who) == Decimal("24000")


def test_a_buyer_at_the_limit_gets_nothing_more_released(store: Store, tmp_path: Path) -> None:
    """The sequential baseline of the race above: the seventh list of 4,000.00 is the one refused."""
    load_positive_list(store, tmp_path)
    engine = Engine(store)
    who = buyer(899)
    outcomes = []
    for n in range(LISTS):
        t = trade(9000 + n, who=who, lines=(WORTH,))
        answers = ingest_all(engine, [ceb311(t), ceb411(t), ceb511(t), ceb621(t)])
        outcomes.append(pick(answers, "CEB622")[-1].status)
    assert outcomes == ["800"] * ALLOWED + ["100"] * (LISTS - ALLOWED)
    assert quota_used(store, who) == Decimal("24000")
