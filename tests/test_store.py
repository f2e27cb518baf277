"""The store: migrations create every table on SQLite and PostgreSQL; a transaction commits or rolls back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect, select, text

from cbec.store.db import Store
from cbec.store.migrate import current
from cbec.store.models import Base, MessageRow


def test_migrations_create_every_table(store: Store) -> None:
    tables = set(inspect(store.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert current(store.engine) == "0010"


def test_transaction_rolls_back_on_error(store: Store) -> None:
    now = datetime.now(UTC)

    def row(guid: str) -> MessageRow:
        return MessageRow(
            guid=guid,
            msg_type="CEB311",
            sha256="0" * 64,
            size=1,
            raw=b"x",
            received_at=now,
            signature="none",
            outcome="accepted",
        )

    with pytest.raises(RuntimeError), store.transaction() as session:
        session.add(row("A" * 36))
        session.flush()
        raise RuntimeError("boom")
    with store.transaction() as session:
        assert session.scalars(select(MessageRow)).all() == []
        session.add(row("B" * 36))
    with store.transaction() as session:
        assert [m.guid for m in session.scalars(select(MessageRow))] == ["B" * 36]


def test_money_comes_back_as_decimal(store: Store) -> None:
    from decimal import Decimal

    from cbec.store.models import QuotaRow

    with store.transaction() as session:
        session.add(QuotaRow(buyer_key="k", year=2026, used=Decimal("123.45"), updated_at=datetime.now(UTC)))
    with store.transaction() as session:
        used = session.scalars(select(QuotaRow.used)).one()
        assert isinstance(used, Decimal) and used == Decimal("123.45")


def test_migrations_match_the_models(store: Store) -> None:
    """Every change to the tables comes with its Alembic revision: nothing left for autogenerate to find."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with store.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_keys_bound_finds_exactly_the_rows_with_those_keys(store: Store) -> None:
    """A statement built once with `bulk.keys_bound` and run with `bulk.keys_values` finds exactly the rows
    whose columns equal one of the keys, run again with other keys: text and integer columns, on either
    database."""
    from cbec.store import bulk
    from cbec.store.models import QuotaRow

    now = datetime(2026, 11, 28, tzinfo=UTC)
    stored = [(f"B{i % 3}", 2024 + i % 2) for i in range(6)]
    with store.transaction() as session:
        for buyer, year in stored:
            session.add(QuotaRow(buyer_key=buyer, year=year, used=0, updated_at=now))
    wanted = [("B0", 2024), ("B1", 2025), ("B2", 2025), ("B9", 2024), ("B0", 2099)]
    with store.transaction() as session:
        dialect = session.get_bind().dialect.name
        bound = select(QuotaRow.buyer_key, QuotaRow.year).where(
            bulk.keys_bound(dialect, (QuotaRow.buyer_key, QuotaRow.year))
        )
        found = session.execute(bound, bulk.keys_values(dialect, wanted))
        assert sorted(tuple(r) for r in found) == sorted(k for k in wanted if k in stored)
        one = [("B1", 2025)]
        assert [tuple(r) for r in session.execute(bound, bulk.keys_values(dialect, one))] == one  # run again


def test_bulk_writes_store_what_an_insert_would(store: Store) -> None:
    """`bulk.insert_rows` (COPY on PostgreSQL) stores each row as `session.execute(insert(...))` would: JSON,
    bytes, aware times and NULLs, in the order given; a row the database refuses fails the write, and the
    transaction leaves nothing behind."""
    import psycopg
    from sqlalchemy import func
    from sqlalchemy.exc import DBAPIError

    from cbec.store import bulk
    from cbec.store.models import EventRow, ReceiptRow

    at = datetime(2026, 11, 11, 3, 4, 5, tzinfo=UTC)
    events = [{"event": f"e{n}", "status": None, "detail": {"n": n, "中": "文"}, "at": at} for n in range(3)]
    receipts = [
        {
            "receipt_type": "CEB622",
            "guid": f"{n:036d}",
            "return_status": "800",
            "return_info": "放行",
            "xml": b"<x>" + bytes([n % 256]) + b"</x>",
            "recipient": None if n % 2 else "3301960001",
            "created_at": at,
        }
        for n in range(45)
    ]
    with store.transaction() as session:
        bulk.insert_rows(session, EventRow.__table__, events)
        bulk.insert_rows(session, ReceiptRow.__table__, receipts)
        bulk.insert_rows(session, EventRow.__table__, [])
    with store.transaction() as session:
        got = session.scalars(select(EventRow).order_by(EventRow.id)).all()
        assert [(e.event, e.status, e.detail, e.at) for e in got] == [
            (e["event"], None, e["detail"], at) for e in events
        ]
        kept = session.scalars(select(ReceiptRow).order_by(ReceiptRow.id)).all()
        assert [(r.guid, r.xml, r.recipient, r.return_info, r.created_at) for r in kept] == [
            (r["guid"], r["xml"], r["recipient"], "放行", at) for r in receipts
        ]
    refused = [{"event": "late", "at": at}, {"event": "bad", "at": None}]  # at: NOT NULL
    with pytest.raises((DBAPIError, psycopg.Error)), store.transaction() as session:  # psycopg's own: COPY
        bulk.insert_rows(session, EventRow.__table__, refused)  # writes through the driver
    with store.transaction() as session:
        assert session.scalar(select(func.count()).select_from(EventRow)) == len(events)


def test_bulk_writes_keep_rows_after_the_rows_they_refer_to() -> None:
    """Small writes share one pipeline, sent before the COPYs of the large ones, unless they refer to a
    table written by a write before them that is not in it: then they follow it, in their order."""
    from cbec.store import bulk
    from cbec.store.models import DocumentRow, EventRow, ReceiptRow, TaxBillRow

    def w(model: type, rows: int) -> bulk._Write:
        return bulk._Write(model.__table__, [], [], rows)

    big, few = bulk.COPY_FROM, bulk.COPY_FROM - 1

    def names(steps: list[bulk._Write | list[bulk._Write]]) -> list[str | list[str]]:
        return [s.table.name if isinstance(s, bulk._Write) else [x.table.name for x in s] for s in steps]

    chunk = [w(MessageRow, few), w(DocumentRow, few), w(ReceiptRow, 1), w(EventRow, 2)]
    assert names(bulk._steps(chunk)) == [["messages", "documents", "receipts", "events"]]
    # the documents refer to messages copied before them: they, and what refers to them, come after
    chunk = [w(MessageRow, big), w(DocumentRow, few), w(ReceiptRow, 1), w(EventRow, 2), w(TaxBillRow, big)]
    assert names(bulk._steps(chunk)) == ["messages", ["documents", "receipts", "events"], "tax_bills"]
    # copied documents refer to messages in the pipeline, sent first; the receipts refer to both
    chunk = [w(MessageRow, few), w(DocumentRow, big), w(ReceiptRow, 1)]
    assert names(bulk._steps(chunk)) == [["messages"], "documents", ["receipts"]]
    assert bulk._steps([]) == []


def test_migration_0010_keeps_every_party_and_can_go_back(store: Store) -> None:
    """0010 drops the document kind from the party rows (one b-tree left), indexes receipts by recipient and
    drops the unique index on their random guid; going back to 0009 takes each kind from its document
    again, and forward again loses no row."""
    from alembic import command

    from cbec.ceb import examples, render
    from cbec.clearance.service import Engine
    from cbec.store.migrate import alembic_config, upgrade
    from cbec.store.models import DocumentPartyRow, DocumentRow

    engine = Engine(store)
    for message in (examples.ceb311(examples.Trade(order_no="M10")), examples.ceb411(examples.Trade())):
        engine.ingest(render(message))
    with store.transaction() as session:
        before = set(session.execute(select(DocumentPartyRow.party_code, DocumentPartyRow.document_id)).all())
        kinds = dict(session.execute(select(DocumentRow.id, DocumentRow.kind)).all())
    assert len(before) >= 4 and len(set(kinds.values())) == 2
    config = alembic_config(store.engine)
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0009")
    with store.engine.connect() as connection:
        query = text("SELECT party_code, kind, document_id FROM document_parties")
        old = set(connection.execute(query).all())
    assert old == {(party, kinds[doc], doc) for party, doc in before}
    found = inspect(store.engine)
    assert found.get_pk_constraint("document_parties")["constrained_columns"] == [
        "party_code",
        "kind",
        "document_id",
    ]
    assert {ix["name"] for ix in found.get_indexes("receipts")} >= {"ix_receipts_message"}
    assert [u["column_names"] for u in found.get_unique_constraints("receipts")] == [["guid"]]
    upgrade(store.engine)
    assert current(store.engine) == "0010"
    with store.transaction() as session:
        after = set(session.execute(select(DocumentPartyRow.party_code, DocumentPartyRow.document_id)).all())
    assert after == before
    found = inspect(store.engine)
    assert found.get_pk_constraint("document_parties")["constrained_columns"] == ["party_code", "document_id"]
    assert found.get_indexes("document_parties") == []
    receipts = {ix["name"]: ix["column_names"] for ix in found.get_indexes("receipts")}
    assert receipts["ix_receipts_recipient"] == ["recipient", "id"]
    assert "ix_receipts_message" not in receipts
    assert found.get_unique_constraints("receipts") == []
    assert not any(ix["unique"] for ix in found.get_indexes("receipts"))
