"""Bonded stock (1210): a shortage rejects; release deducts; cancel, return restore."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from cbec.ceb import examples, render
from cbec.clearance import queries, reference, stock
from cbec.clearance.service import Engine
from cbec.store.db import Store

NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
LIST_CSV = (
    "tariff_line,name,remark,version,effective_date\n"
    "96190011,尿布,,T,2022-03-01\n19011010,婴幼儿配方奶粉,,T,2022-03-01\n"
)


def _engine(store: Store, tmp_path: Path) -> Engine:
    path = tmp_path / "list.csv"
    path.write_text(LIST_CSV, encoding="utf-8")
    with store.transaction() as session:
        reference.load(session, reference.POSITIVE_LIST, path)
    return Engine(store)


def _trade(n: int) -> examples.Trade:
    return examples.Trade(
        trade_mode="1210", order_no=f"O{n}", logistics_no=f"L{n}", pay_transaction_id=f"P{n}"
    )


def _declare(engine: Engine, trade: examples.Trade) -> list[tuple[str, str]]:
    answers = []
    for message in (
        examples.ceb311(trade),
        examples.ceb411(trade),
        examples.ceb511(trade),
        examples.ceb621(trade),
    ):
        answers = engine.ingest(render(message), now=NOW).answers
    return [(a.receipt_type, a.status) for a in answers]


def _held(store: Store, trade: examples.Trade) -> dict[str, Decimal]:
    with store.transaction() as session:
        return {row.item_record_no: row.qty for row in stock.holding(session, trade.ems_no)}


def test_shortage_rejects_and_release_deducts(store: Store, tmp_path: Path) -> None:
    engine = _engine(store, tmp_path)
    first = _trade(1)
    answers = engine.ingest(render(examples.ceb621(first)), now=NOW)
    assert answers.statuses == ["120"]
    for message in (examples.ceb311(first), examples.ceb411(first)):
        engine.ingest(render(message), now=NOW)
    decided = engine.ingest(render(examples.ceb511(first)), now=NOW)
    assert [a.status for a in decided.answers][-1] == "100"
    assert "[Code:9501;" in decided.answers[-1].info
    with store.transaction() as session:
        stock.stock_in(
            session,
            [
                stock.StockIn(first.ems_no, "REC-0001", Decimal("3")),
                stock.StockIn(first.ems_no, "REC-0002", Decimal("1")),
            ],
            NOW,
        )
    assert _declare(engine, _trade(2))[-2:] == [("CEB622", "800"), ("CEB816", "1")]
    assert _held(store, first) == {"REC-0001": Decimal("1"), "REC-0002": Decimal("0")}
    # the last unit of REC-0002 is gone: the next list is refused, nothing is deducted
    assert _declare(engine, _trade(3))[-1] == ("CEB622", "100")
    assert _held(store, first) == {"REC-0001": Decimal("1"), "REC-0002": Decimal("0")}


def test_cancel_and_return_put_stock_back(store: Store, tmp_path: Path) -> None:
    engine = _engine(store, tmp_path)
    trade = _trade(1)
    with store.transaction() as session:
        stock.stock_in(
            session,
            [
                stock.StockIn(trade.ems_no, "REC-0001", Decimal("5")),
                stock.StockIn(trade.ems_no, "REC-0002", Decimal("5")),
            ],
            NOW,
        )
    assert _declare(engine, trade)[-2][1] == "800"
    with store.transaction() as session:
        view = queries.find(session, "list", trade.order_no)
        assert view is not None
        invt_no = view.document.invt_no
    released = examples.Trade(**{**trade.__dict__, "invt_no": invt_no})
    back = engine.ingest(
        render(examples.ceb625(released, returned={1: Decimal("1")})), now=NOW + timedelta(days=1)
    )
    assert ("CEB626", "399") in [(a.receipt_type, a.status) for a in back.answers]
    assert _held(store, trade) == {"REC-0001": Decimal("4"), "REC-0002": Decimal("4")}
    cancel = engine.ingest(render(examples.ceb623(released)), now=NOW + timedelta(days=2))
    assert ("CEB624", "399") in [(a.receipt_type, a.status) for a in cancel.answers]
    assert _held(store, trade) == {"REC-0001": Decimal("5"), "REC-0002": Decimal("5")}


def test_stock_file_errors_are_all_reported(tmp_path: Path) -> None:
    path = tmp_path / "stock.csv"
    path.write_text("ems_no,item_record_no,qty\nE1,R1,abc\nE1,,2\nE1,R2,-1\nE1,R3,4\n", encoding="utf-8")
    with pytest.raises(stock.StockFileError) as caught:
        stock.read_stock_csv(path)
    assert [line for line, _zh, _en in caught.value.problems] == [2, 3, 4]
    path.write_text("账册编号,账册备案料号,数量\nE1,R1,2.5\n", encoding="utf-8")
    assert stock.read_stock_csv(path) == [stock.StockIn("E1", "R1", Decimal("2.5"))]
