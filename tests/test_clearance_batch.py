"""Batch intake (`Engine.ingest_many`): a chunk of messages in one transaction decides exactly as the same
messages one by one — same outcomes, same receipts, same agreement with the simulator's ground truth at
every fault rate — keeps idempotency, and loses nothing when a message of the chunk fails."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from cbec.clearance import documents
from cbec.clearance.service import Engine, IngestResult, Intake, Settings
from cbec.sim import SimConfig
from cbec.sim.bench import Router, iter_message_files
from cbec.sim.check import actual_lists, arrival_time, ingest_folder, load_reference, message_files, run_check
from cbec.sim.output import MESSAGES, write_set
from cbec.store.db import Store
from cbec.store.models import EventRow, MessageRow, ReceiptRow
from store_fixtures import sqlite_store

RATES = (0.0, 0.3, 0.6)
LISTS = 120


@pytest.fixture(autouse=True)
def _buyer_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(documents, "_SECRET", b"batch-tests-secret")


@pytest.fixture(scope="module")
def sets(tmp_path_factory: pytest.TempPathFactory) -> dict[float, Path]:
    out: dict[float, Path] = {}
    for rate in RATES:
        folder = tmp_path_factory.mktemp(f"batch-{rate}")
        write_set(SimConfig(lists=LISTS, seed=11, faults=rate), folder)
        out[rate] = folder
    return out


def _no_fallback(item: Intake) -> None:
    raise AssertionError("a chunk fell back to one message a transaction: the chunk path failed")


@pytest.mark.parametrize("rate", RATES)
def test_chunks_agree_with_the_ground_truth(
    store: Store, sets: dict[float, Path], rate: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the fallback would hide a broken chunk path behind correct answers: here it must not happen
    monkeypatch.setattr(Engine, "_try_one", lambda self, item: _no_fallback(item))
    report = run_check(sets[rate], store, batch=37)
    assert report.ok, "\n".join(report.lines())
    assert report.agreement == 100.0


def _receipts(store: Store) -> list[tuple[Any, ...]]:
    """Every receipt by the source file of the message that caused it, in order (guids and times aside)."""
    with store.transaction() as session:
        rows = session.execute(
            select(
                MessageRow.source, ReceiptRow.receipt_type, ReceiptRow.return_status, ReceiptRow.return_info
            )
            .join(MessageRow, MessageRow.id == ReceiptRow.trigger_id)
            .order_by(ReceiptRow.id)
        ).all()
    return [tuple(r) for r in rows]


def _events(store: Store) -> list[tuple[Any, ...]]:
    with store.transaction() as session:
        rows = session.execute(
            select(MessageRow.source, EventRow.event, EventRow.status, EventRow.detail)
            .join(MessageRow, MessageRow.id == EventRow.message_id)
            .order_by(EventRow.id)
        ).all()
    return [tuple(r) for r in rows]


def test_chunks_give_exactly_the_answers_of_one_by_one(tmp_path: Path, sets: dict[float, Path]) -> None:
    folder = sets[0.6]
    stores = []
    outcomes = []
    for batch, name in ((1, "one"), (50, "many")):
        (tmp_path / name).mkdir()
        store = sqlite_store(tmp_path / name)
        stores.append(store)
        files = message_files(folder)
        load_reference(store, folder, arrival_time(files[0]))
        outcomes.append(ingest_folder(Engine(store, Settings()), folder, files=files, batch=batch))
    try:
        assert outcomes[0] == outcomes[1]
        assert actual_lists(stores[0]) == actual_lists(stores[1])
        assert _receipts(stores[0]) == _receipts(stores[1])
        assert _events(stores[0]) == _events(stores[1])
    finally:
        for store in stores:
            store.dispose()


def _intakes(folder: Path) -> list[Intake]:
    return [Intake(p.read_bytes(), p.name, arrival_time(p)) for p in message_files(folder)]


def _loaded(tmp_path: Path, folder: Path) -> Store:
    store = sqlite_store(tmp_path)
    load_reference(store, folder, arrival_time(message_files(folder)[0]))
    return store


def test_a_chunk_again_is_answered_with_the_same_receipts(tmp_path: Path, sets: dict[float, Path]) -> None:
    items = _intakes(sets[0.0])[:80]
    store = _loaded(tmp_path, sets[0.0])
    try:
        engine = Engine(store, Settings())
        first = engine.ingest_many(items)
        # the same chunk again, and the same messages twice inside one chunk
        again = engine.ingest_many(items[:40] + items[:40])
        assert [r.outcome for r in again] == ["duplicate"] * 80
        for before, after in zip(first[:40] * 2, again, strict=True):
            assert [(a.receipt_type, a.status, a.xml) for a in before.answers] == [
                (a.receipt_type, a.status, a.xml) for a in after.answers
            ]
        with store.transaction() as session:
            assert session.scalar(select(func.count()).select_from(MessageRow)) == 80
    finally:
        store.dispose()


def test_a_failure_in_a_chunk_loses_no_other_message(
    tmp_path: Path, sets: dict[float, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    items = _intakes(sets[0.0])[:60]
    store = _loaded(tmp_path, sets[0.0])
    engine = Engine(store, Settings())
    real = Engine._ingest
    failed: list[str] = []

    def flaky(self: Engine, session: Any, data: bytes, *args: Any) -> IngestResult:
        if data == items[30].data and not failed:  # fails once, as a deadlock or lost connection would
            failed.append("once")
            raise RuntimeError("transient failure")
        return real(self, session, data, *args)

    monkeypatch.setattr(Engine, "_ingest", flaky)
    try:
        results = engine.ingest_many(items)
        assert failed == ["once"]
        assert [r.outcome for r in results] == ["accepted"] * 60
        with store.transaction() as session:
            assert session.scalar(select(func.count()).select_from(MessageRow)) == 60

        def broken(self: Engine, session: Any, data: bytes, *args: Any) -> IngestResult:
            if data == more[5].data:
                raise RuntimeError("permanent failure")
            return real(self, session, data, *args)

        more = _intakes(sets[0.0])[60:80]
        monkeypatch.setattr(Engine, "_ingest", broken)
        with pytest.raises(RuntimeError, match="permanent"):
            engine.ingest_many(more)
        with store.transaction() as session:  # every other message of the chunk is kept, one by one
            assert session.scalar(select(func.count()).select_from(MessageRow)) == 79
        # both chunks gave up for one message a transaction, and the engine says so
        assert engine.chunk_stats == {"chunks": 2, "fallbacks": 2, "fallback_messages": 80}
    finally:
        store.dispose()


def test_the_router_keeps_a_trade_and_a_buyer_on_one_worker(sets: dict[float, Path]) -> None:
    route = Router(3)
    by_trade: dict[str, set[int]] = {}
    for path in iter_message_files(sets[0.3] / MESSAGES):
        trade = path.name.split("-")[1]
        by_trade.setdefault(trade, set()).add(route(path.read_bytes()))
    assert all(len(workers) == 1 for workers in by_trade.values())
    assert {w for workers in by_trade.values() for w in workers} == {0, 1, 2}
    assert list(iter_message_files(sets[0.3] / MESSAGES)) == message_files(sets[0.3] / MESSAGES)


@pytest.mark.parametrize("rate", (0.3, 0.6))
def test_two_workers_on_postgresql_agree_with_the_ground_truth(sets: dict[float, Path], rate: float) -> None:
    """Several processes (routed by trade and buyer) decide exactly what the ground truth says."""
    from cbec.sim.bench import ingest_parallel
    from cbec.sim.check import compare
    from cbec.sim.output import read_expected
    from store_fixtures import PG_URL, pg_store

    for store in pg_store():
        folder = sets[rate]
        files = message_files(folder)
        load_reference(store, folder, arrival_time(files[0]))
        with store.engine.connect() as conn:
            schema = str(conn.exec_driver_sql("SHOW search_path").scalar()).split(",")[0].strip('" ')
        tally, outcomes = ingest_parallel(
            PG_URL,
            schema,
            iter_message_files(folder / MESSAGES),
            batch=25,
            workers=2,
            root=folder,
            collect=True,
        )
        assert tally.files == len(files)
        report = compare(read_expected(folder), actual_lists(store), outcomes)
        assert report.ok, "\n".join(report.lines())


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_group_commit_answers_each_thread_as_one_by_one_would(
    tmp_path: Path, sets: dict[float, Path], monkeypatch: pytest.MonkeyPatch, database: str
) -> None:
    """Engine.ingest from many threads with group commit: chunks form, every caller gets its own answer,
    a failing message raises in its own thread only, and the store ends as one-by-one intake leaves it
    (a fault-free set: with concurrent trades, which of a buyer's lists crosses the annual limit first
    would depend on timing, as it does for any concurrent intake). On PostgreSQL three leaders run chunks
    side by side: the first two chunks wait for each other to have started, which one leader never lets
    happen; SQLite keeps one leader whatever the setting."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from store_fixtures import pg_store

    lock = threading.Lock()

    items = _intakes(sets[0.0])
    by_trade: dict[str, list[Intake]] = {}
    for item in items:
        by_trade.setdefault((item.source or "").split("-")[1], []).append(item)
    (tmp_path / "one").mkdir()
    (tmp_path / "group").mkdir()
    one = _loaded(tmp_path / "one", sets[0.0])
    postgres = pg_store() if database == "postgresql" else None
    if postgres is None:
        group = _loaded(tmp_path / "group", sets[0.0])
    else:
        group = next(postgres)
        load_reference(group, sets[0.0], arrival_time(message_files(sets[0.0])[0]))
    sizes: list[int] = []
    running = [0, 0]  # chunks running now, most at once
    both = threading.Barrier(2, timeout=20)
    real_many = Engine._many

    def counting(self: Engine, chunk: Any, *rest: Any) -> Any:
        with lock:
            sizes.append(len(chunk))
            running[0] += 1
            running[1] = max(running)
            first_two = len(sizes) <= 2
        try:
            if postgres is not None and first_two:
                both.wait()
            return real_many(self, chunk, *rest)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(Engine, "_many", counting)
    bad = items[7].data
    real = Engine._ingest

    def broken(self: Engine, session: Any, data: bytes, *args: Any) -> IngestResult:
        if data == bad:
            raise RuntimeError("this message fails")
        return real(self, session, data, *args)

    monkeypatch.setattr(Engine, "_ingest", broken)
    try:
        sequential = Engine(one, Settings())
        expected: dict[str, Any] = {}
        for item in items:
            try:
                expected[item.source or ""] = sequential.ingest(item.data, source=item.source, now=item.now)
            except RuntimeError as exc:
                expected[item.source or ""] = exc
        engine = Engine(group, Settings(group_commit=True, group_commit_leaders=3))
        got: dict[str, Any] = {}

        def trade(chain: list[Intake]) -> None:  # a trade's documents one after another, trades at once
            for item in chain:
                try:
                    answer: Any = engine.ingest(item.data, source=item.source, now=item.now)
                except RuntimeError as exc:
                    answer = exc
                with lock:
                    got[item.source or ""] = answer

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(trade, by_trade.values()))
        assert max(sizes) > 1  # chunks did form
        assert (running[1] == 1) if postgres is None else (2 <= running[1] <= 3), running
        assert set(got) == set(expected)
        for name, answer in expected.items():
            if isinstance(answer, Exception):
                assert isinstance(got[name], RuntimeError), name
            else:
                assert got[name].outcome == answer.outcome, name
                assert [(a.receipt_type, a.status) for a in got[name].answers] == [
                    (a.receipt_type, a.status) for a in answer.answers
                ], name
        assert sorted(actual_lists(one).items()) == sorted(actual_lists(group).items())
    finally:
        one.dispose()
        if postgres is None:
            group.dispose()
        else:
            next(postgres, None)


def test_the_parsed_message_cache_is_bounded() -> None:
    from cbec.ceb.examples import order_311
    from cbec.clearance.unit import NodeCache

    cache = NodeCache(size=3)
    message = order_311(1)
    cache.update({n: message for n in range(5)})
    assert len(cache) == 3 and cache.get(0) is None and cache.get(4) is message


def test_the_preload_probes_its_document_indexes_without_statistics() -> None:
    """The chunk's question about documents (by business key, by order, by waybill: one statement) is
    planned to probe each part's index key by key on PostgreSQL even when the documents table has never been
    analyzed (autovacuum off or behind), whichever parts have keys. With the kind outside the keys, the
    planner guessed `kind IN (…)` selective and read every order, payment and list of the table for each
    chunk: the database's CPU grew with the table."""
    from sqlalchemy import text

    from cbec.clearance import service
    from cbec.store import bulk
    from store_fixtures import pg_store

    expected = {
        service.BY_KEY: "ix_documents_key",
        service.BY_ORDER: "ix_documents_order",
        service.BY_WAYBILL: "ix_documents_logistics",
    }
    for store in pg_store():
        with store.transaction() as session:
            session.execute(text(_ONE_MESSAGE))
            session.execute(
                text(_DOCUMENTS)
            )  # 20,000 current documents of a real size (1.5 KB), a quarter of each kind, no ANALYZE
        statement = service._preload_statements("postgresql").documents
        pairs = {("E" + str(i % 50), "O" + str(i // 4)) for i in range(1, 20000, 801)}  # a chunk's 25
        for asked in [list(expected), *([q] for q in expected)]:  # all parts with keys, then each alone
            values: dict[str, object] = {}
            for question in expected:
                keys = question.keys(pairs if question in asked else set())
                values.update(bulk.keys_values("postgresql", keys, question.name, arity=question.arity))
            with store.engine.connect() as conn:
                compiled = statement.compile(dialect=conn.dialect)
                params = compiled.construct_params(values)
                plan = "\n".join(conn.exec_driver_sql(f"EXPLAIN {compiled.string}", params).scalars())
            for question in asked:
                assert f"Index Scan using {expected[question]} on documents" in plan, plan
            assert "Seq Scan on documents" not in plan and "Bitmap Heap Scan on documents" not in plan, plan


def test_a_large_document_question_runs_without_parallel_workers() -> None:
    """With a few hundred keys the planner gave the chunk's document question parallel workers, which took
    longer to start than the probes took; a chunk that asks that many keys keeps its transaction serial
    (PostgreSQL), a small one changes nothing."""
    from sqlalchemy import text

    from cbec.clearance import service, unit
    from cbec.store import bulk
    from store_fixtures import pg_store

    def plan(session: Any, asked: dict[Any, set[tuple[str, str]]]) -> str:
        values: dict[str, object] = {}
        for question in (service.BY_KEY, service.BY_ORDER, service.BY_WAYBILL):
            keys = question.keys(asked.get(question, set()))
            values.update(bulk.keys_values("postgresql", keys, question.name, arity=question.arity))
        statement = service._preload_statements("postgresql").documents
        compiled = statement.compile(dialect=session.get_bind().dialect)
        explained = session.connection().exec_driver_sql(
            f"EXPLAIN {compiled.string}", compiled.construct_params(values)
        )
        return "\n".join(explained.scalars())

    for store in pg_store():
        with store.transaction() as session:
            session.execute(text(_ONE_MESSAGE))
            session.execute(text(_DOCUMENTS))
            session.execute(text("ANALYZE documents"))
        many = {
            service.BY_KEY: {
                (["order", "payment", "waybill", "list"][i % 4], f"K{i}") for i in range(1, 20000, 50)
            },
            service.BY_ORDER: {("E" + str(i % 50), "O" + str(i // 4)) for i in range(1, 20000, 50)},
            service.BY_WAYBILL: {("L" + str(i % 7), "W" + str(i // 4)) for i in range(1, 20000, 50)},
        }
        with store.transaction() as session:
            setting = "SHOW max_parallel_workers_per_gather"
            default = session.execute(text(setting)).scalar_one()
            service._add_documents(session, unit.ChunkIndex(), {service.BY_KEY: {("order", "K4")}}, set())
            assert session.execute(text(setting)).scalar_one() == default  # a small question: as it was
            service._add_documents(session, unit.ChunkIndex(), many, set())
            assert session.execute(text(setting)).scalar_one() == "0"
            assert "Gather" not in plan(session, many)
        with store.transaction() as session:  # only for that transaction
            assert session.execute(text(setting)).scalar_one() == default


def test_the_preload_question_finds_documents_by_each_key(store: Store) -> None:
    """The one statement of the chunk's question about documents finds exactly the current documents of the
    right kinds that one of its parts names, whichever parts are given keys, on either database."""
    from datetime import UTC, datetime

    from sqlalchemy import insert, text

    from cbec.clearance import service
    from cbec.store import bulk
    from cbec.store.models import DocumentRow

    now = datetime(2026, 11, 29, tzinfo=UTC)
    kinds = ["order", "payment", "waybill", "list"]
    with store.transaction() as session:
        session.execute(text(_ONE_MESSAGE.replace("now()", "CURRENT_TIMESTAMP")))
        rows = [
            {
                "kind": kinds[i % 4],
                "doc_key": f"K{i}",
                "version": 1,
                "current": i != 8,  # K8, an order, superseded
                "message_id": 1,
                "position": 1,
                "head_guid": "h",
                "status": "accepted",
                "ebp_code": f"E{i % 50}",
                "order_no": f"O{i // 4}",
                "logistics_code": f"L{i % 7}",
                "logistics_no": f"W{i // 4}",
                "body": {},
                "created_at": now,
                "updated_at": now,
            }
            for i in range(40)
        ]
        session.execute(insert(DocumentRow), rows)
    statement = service._preload_statements(store.dialect).documents
    cases = [
        # K3 is a list, K4 an order; K9 is a payment, K8 no longer current, K99 not there
        (
            {
                service.BY_KEY: {
                    ("list", "K3"),
                    ("order", "K4"),
                    ("order", "K9"),
                    ("order", "K8"),
                    ("order", "K99"),
                }
            },
            {"K3", "K4"},
        ),
        ({service.BY_ORDER: {("E5", "O1")}}, {"K5"}),  # a payment
        ({service.BY_ORDER: {("E6", "O1")}}, set()),  # a waybill: asked by order, not found that way
        ({service.BY_WAYBILL: {("L2", "W0"), ("L4", "W1")}}, {"K2"}),  # K4 is an order: no waybill part
        ({service.BY_KEY: {("order", "K4")}, service.BY_WAYBILL: {("L0", "W1")}}, {"K4", "K7"}),
        ({service.BY_KEY: {("order", "K12")}, service.BY_ORDER: {("E12", "O3")}}, {"K12"}),  # found twice
    ]
    for asked, wanted in cases:
        values: dict[str, object] = {}
        for question in (service.BY_KEY, service.BY_ORDER, service.BY_WAYBILL):
            keys = question.keys(asked.get(question, set()))
            values.update(bulk.keys_values(store.dialect, keys, question.name, arity=question.arity))
        with store.transaction() as session:
            found = [row.doc_key for row in session.scalars(statement, values)]
        assert sorted(found) == sorted(wanted), asked


_ONE_MESSAGE = (
    "INSERT INTO messages (id, guid, msg_type, sha256, size, raw, received_at, signature, outcome) "
    "VALUES (1, 'g', 'CEB311', '', 1, 'x', now(), 'none', 'accepted')"
)
_DOCUMENTS = (
    "INSERT INTO documents (kind, doc_key, version, current, message_id, position, head_guid, status, "
    "ebp_code, order_no, logistics_code, logistics_no, body, created_at, updated_at) "
    "SELECT (ARRAY['order','payment','waybill','list'])[1 + i % 4], 'K' || i, 1, true, 1, 1, 'h', "
    "'accepted', 'E' || i % 50, 'O' || i / 4, 'L' || i % 7, 'W' || i / 4, "
    "json_build_object('pad', repeat('x', 1400)), now(), now() "
    "FROM generate_series(1, 20000) AS i"
)
