"""The import clearance engine end to end: four documents in, receipts and tax bills out.

Each scenario runs on SQLite and on PostgreSQL (the `store` fixture), except the 24 arrival orders (SQLite;
two of them also on both) and the command-line runs (an SQLite file, as `cbec` uses by default). Every
answer is checked against the official import XSD and for personal data on the way (`clearance_helpers`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import select
from typer.testing import CliRunner

from cbec.ceb.examples import (
    EBP,
    Trade,
    ceb311,
    ceb411,
    ceb511,
    ceb621,
    ceb623,
    ceb625,
    stable_guid,
)
from cbec.ceb.model import Message
from cbec.ceb.render import render
from cbec.clearance import documents, queries
from cbec.clearance.service import Answer, Engine, Settings
from cbec.store.db import Store
from cbec.store.models import ReceiptRow, TaxBillRow
from clearance_helpers import (
    BONDED_ONLY,
    CREAM,
    DIAPER,
    MILK,
    NOW,
    OFF_LIST,
    SECRET,
    WINE,
    YEAR,
    assert_no_personal_data,
    assert_schema_valid,
    book_stock,
    buyer,
    check_answers,
    codes,
    companions,
    four,
    import_schema,
    ingest,
    ingest_all,
    invt_no,
    line_worth,
    list_status,
    load_positive_list,
    one,
    pick,
    quota_used,
    reasons,
    returned_info,
    revised,
    row_counts,
    trade,
    write_positive_list,
)
from store_fixtures import sqlite_store

ACCEPTED = "[Code:1800;Desc:逻辑校验通过]"
RELEASED = "[Code:2600;Desc:放行]"
#: the tax price of the default trade: lines 2 x 99.00 + 258.00, freight 10.00
DEFAULT_TAX_PRICE = Decimal("466.00")


@pytest.fixture(autouse=True)
def _buyer_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fixed key for the buyer hash, so nothing is written under ./var."""
    monkeypatch.setattr(documents, "_SECRET", SECRET)


@pytest.fixture
def engine(store: Store, tmp_path: Path) -> Engine:
    load_positive_list(store, tmp_path)
    return Engine(store)


def statuses(answers: list[Answer]) -> list[tuple[str, str]]:
    return [(a.receipt_type, a.status) for a in answers]


def tax_bills(store: Store, order_no: str) -> list[TaxBillRow]:
    with store.transaction() as session:
        view = queries.find(session, "list", order_no)
        assert view is not None
        return list(view.tax_bills)


# ---- happy paths -----------------------------------------------------------------------------------------


def test_direct_purchase_9610_is_released_with_a_tax_bill(store: Store, engine: Engine) -> None:
    t = trade(1)
    results = [ingest(engine, m) for m in four(t)]

    assert [r.outcome for r in results] == ["accepted"] * 4
    assert [r.message_type for r in results] == ["CEB311", "CEB411", "CEB511", "CEB621"]
    for result, receipt in zip(results[:3], ("CEB312", "CEB412", "CEB512"), strict=True):
        assert statuses(result.answers) == [(receipt, "120")]
        assert result.answers[0].info == ACCEPTED
    assert statuses(results[3].answers) == [("CEB622", "120"), ("CEB622", "800"), ("CEB816", "1")]
    assert results[3].answers[1].info == RELEASED

    number = invt_no(store, t.order_no)
    assert number.startswith(t.customs_code) and number != t.invt_no
    assert list_status(store, t.order_no) == "released"
    assert quota_used(store, t.buyer) == DEFAULT_TAX_PRICE
    [bill] = tax_bills(store, t.order_no)
    assert (bill.status, bill.path, bill.invt_no) == ("1", "retail", number)
    assert bill.customs_tax == 0
    # VAT 13 % x 70 % on each line's share of the tax price (202.34 and 263.66)
    assert bill.value_added_tax == Decimal("18.41") + Decimal("23.99")
    assert number.encode() in results[3].answers[2].xml
    assert number.encode() in results[3].answers[1].xml


def test_bonded_1210_is_released(store: Store, engine: Engine) -> None:
    t = trade(2, lines=(DIAPER, BONDED_ONLY), trade_mode="1210")
    book_stock(store, t)
    answers = ingest_all(engine, four(t))

    assert statuses(answers)[-3:] == [("CEB622", "120"), ("CEB622", "800"), ("CEB816", "1")]
    assert list_status(store, t.order_no) == "released"
    with store.transaction() as session:
        view = queries.find(session, "list", t.order_no)
        assert view is not None
        head = view.document.body["InventoryHead"]
        assert isinstance(head, dict)
        assert (head["tradeMode"], head["emsNo"], head["areaCode"]) == ("1210", t.ems_no, t.area.code)
        assert view.document.trade_mode == "1210"


@pytest.mark.parametrize("list_first", [False, True], ids=["companions-first", "list-first"])
def test_a_process_without_the_companions_parsed_reads_their_stored_form(
    store: Store, engine: Engine, list_first: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A decision in a process that no longer holds a trade's earlier documents parsed (another worker
    took them, or they left its cache) builds them from their stored JSON form, without reading and
    parsing the archived messages again, and decides as if it had parsed them itself: bonded stock too."""
    from cbec.clearance import service

    control, t = (trade(n, lines=(DIAPER, BONDED_ONLY), trade_mode="1210") for n in (3, 4))
    book_stock(store, t)
    ingest_all(engine, four(control))  # decided by one process, every document parsed at hand
    counted = quota_used(store, control.buyer)
    assert control.buyer == t.buyer and counted > 0
    messages = four(t)
    first, last = (messages[3:], messages[:3]) if list_first else (messages[:3], messages[3:])
    engine.ingest_many([service.Intake(render(m)) for m in first])

    def no_parsing(raw: bytes) -> Message:
        raise AssertionError("an archived message was parsed again")

    monkeypatch.setattr(service, "load_message", no_parsing)
    other = Engine(store)  # a second worker: nothing parsed yet
    answers = [a for r in other.ingest_many([service.Intake(render(m)) for m in last]) for a in r.answers]

    assert statuses(answers)[-2:] == [("CEB622", "800"), ("CEB816", "1")]
    assert list_status(store, t.order_no) == "released"
    [bill], [expected] = tax_bills(store, t.order_no), tax_bills(store, control.order_no)
    taxes = ("path", "customs_tax", "value_added_tax", "consumption_tax", "lines")
    assert [getattr(bill, name) for name in taxes] == [getattr(expected, name) for name in taxes]
    assert quota_used(store, t.buyer) == 2 * counted


def test_a_stored_form_that_does_not_read_back_falls_back_to_the_archived_message(
    store: Store, engine: Engine
) -> None:
    """Should a stored document's JSON form not read back (a row written by hand, say), the decision parses
    its archived message instead and decides as before."""
    from sqlalchemy import update

    from cbec.clearance import service
    from cbec.store.models import DocumentRow

    t = trade(5)
    messages = four(t)
    engine.ingest_many([service.Intake(render(m)) for m in messages[:3]])
    with store.transaction() as session:
        session.execute(update(DocumentRow).where(DocumentRow.kind == "order").values(body={"OrderHead": 1}))
    other = Engine(store)  # nothing parsed yet: it must read the order back
    [result] = other.ingest_many([service.Intake(render(messages[3]))])

    assert statuses(result.answers) == [("CEB622", "120"), ("CEB622", "800"), ("CEB816", "1")]
    assert quota_used(store, t.buyer) == DEFAULT_TAX_PRICE


# ---- arrival order ---------------------------------------------------------------------------------------

NAMES = ("order", "payment", "waybill", "list")
PERMUTATIONS = list(itertools.permutations(range(4)))


def _arrive(store: Store, folder: Path, order: tuple[int, ...]) -> None:
    load_positive_list(store, folder)
    engine = Engine(store)
    t = trade(10)
    messages = four(t)
    results = [ingest(engine, messages[i]) for i in order]

    decided = [pick(r.answers, "CEB622", "800") for r in results]
    assert [len(d) for d in decided] == [0, 0, 0, 1], "the list is decided exactly once, by the last arrival"
    assert not any(pick(r.answers, "CEB622", "100") for r in results)
    assert len(pick(results[-1].answers, "CEB816")) == 1
    list_arrival = results[order.index(3)]
    assert statuses(list_arrival.answers)[0] == ("CEB622", "120")
    assert list_status(store, t.order_no) == "released"
    assert quota_used(store, t.buyer) == DEFAULT_TAX_PRICE
    with store.transaction() as session:
        rows = session.scalars(select(ReceiptRow).where(ReceiptRow.return_status == "800")).all()
    assert len(rows) == 1


@pytest.mark.parametrize("order", PERMUTATIONS, ids=["-".join(NAMES[i] for i in p) for p in PERMUTATIONS])
def test_every_arrival_order_decides_the_list_once(tmp_path: Path, order: tuple[int, ...]) -> None:
    store = sqlite_store(tmp_path)
    try:
        _arrive(store, tmp_path, order)
    finally:
        store.dispose()


@pytest.mark.parametrize("order", [(3, 0, 1, 2), (1, 3, 2, 0)], ids=["list-first", "list-second"])
def test_arrival_order_on_both_databases(store: Store, tmp_path: Path, order: tuple[int, ...]) -> None:
    _arrive(store, tmp_path, order)


# ---- failures with their codes ---------------------------------------------------------------------------

OTHER = buyer(501)


def _payment_differs(t: Trade) -> list[Message]:
    return [ceb311(t), ceb411(t, actural_paid=Decimal("100.00")), ceb511(t), ceb621(t)]


def _consignee_differs(t: Trade) -> list[Message]:
    return [ceb311(t), ceb411(t), ceb511(t, buyer=replace(t.buyer, name="另一位收货人")), ceb621(t)]


def _payer_differs(t: Trade) -> list[Message]:
    return [ceb311(t), ceb411(t, buyer=OTHER), ceb511(t), ceb621(t)]


def _list_buyer_differs(t: Trade) -> list[Message]:
    return [*companions(t), ceb621(t, buyer=OTHER)]


def _list_line_differs(t: Trade) -> list[Message]:
    return [*companions(t), ceb621(t, lines=(replace(DIAPER, qty=Decimal("3")), MILK))]


def _list_price_differs(t: Trade) -> list[Message]:
    return [*companions(t), ceb621(t, lines=(DIAPER, replace(MILK, price=Decimal("238.00"))))]


def _off_list(t: Trade) -> list[Message]:
    return four(replace(t, lines=(DIAPER, OFF_LIST)))


def _bonded_only_goods_under_9610(t: Trade) -> list[Message]:
    return four(replace(t, lines=(BONDED_ONLY,)))


FAILURES: dict[str, tuple[Callable[[Trade], list[Message]], str, str]] = {
    "amount-paid": (_payment_differs, "9101", "acturalPaid=502.50 与支付单支付金额 amountPaid=100.00 不一致"),
    "consignee": (_consignee_differs, "9104", "订单收货人姓名 consignee 与运单的收货人姓名不一致"),
    "payer": (_payer_differs, "1327", "支付单支付人姓名 payerName 与订单订购人姓名 buyerName 不一致"),
    "list-buyer": (_list_buyer_differs, "13127", "清单订购人和订单不一致"),
    "list-qty": (_list_line_differs, "1322", "订单清单表体商品项不一致：第1项数量 qty=3，订单为 2"),
    "list-price": (_list_price_differs, "1322", "订单清单表体商品项不一致：第2项单价"),
    "off-list": (
        _off_list,
        "9301",
        "表体第2项商品编码[9503008900]（税则号列95030089）不在跨境电子商务零售进口商品清单",
    ),
    "bonded-only": (_bonded_only_goods_under_9610, "9304", "仅限网购保税"),
}


@pytest.mark.parametrize("case", list(FAILURES))
def test_a_failing_list_is_rejected_with_its_code(store: Store, engine: Engine, case: str) -> None:
    build, code, text = FAILURES[case]
    t = trade(20)
    results = [ingest(engine, m) for m in build(t)]

    # each document is fine on its own: order, payment and waybill are accepted with 120
    for result in results[:3]:
        assert result.outcome == "accepted"
        assert [(a.status, a.info) for a in result.answers] == [("120", ACCEPTED)]
    assert statuses(results[3].answers) == [("CEB622", "120"), ("CEB622", "100")]
    info = results[3].answers[1].info
    assert code in codes(info), info
    assert any(text in desc for c, desc in reasons(info) if c == code), info
    assert info.startswith("[Code:")
    assert list_status(store, t.order_no) == "rejected"
    assert tax_bills(store, t.order_no) == []
    assert quota_used(store, t.buyer) == 0


def test_payer_may_differ_from_buyer_on_a_certified_platform(store: Store, tmp_path: Path) -> None:
    load_positive_list(store, tmp_path)
    engine = Engine(store, Settings(certified_platforms=frozenset({EBP.code})))
    t = trade(21)
    answers = ingest_all(engine, _payer_differs(t))

    assert one(answers, "CEB622", "800").info == RELEASED
    assert list_status(store, t.order_no) == "released"


def test_every_reason_is_in_the_return_info(store: Store, engine: Engine) -> None:
    t = trade(22, lines=(DIAPER, OFF_LIST))
    answers = ingest_all(engine, [ceb311(t), ceb411(t, buyer=OTHER), ceb511(t), ceb621(t)])

    info = one(answers, "CEB622", "100").info
    assert {"1327", "9301"} <= set(codes(info)), info


# ---- limits ----------------------------------------------------------------------------------------------


def test_a_list_over_the_single_limit_with_several_items_is_refused(store: Store, engine: Engine) -> None:
    who = buyer(601)
    lines = (line_worth(Decimal("2600")), replace(line_worth(Decimal("2600")), item_no="SKU-MILK-B"))
    t = trade(30, who=who, lines=lines)
    answers = ingest_all(engine, four(t))

    info = one(answers, "CEB622", "100").info
    assert codes(info) == ["-621005"], info
    assert "超过单笔限额[5000.00]" in info and "5210.00" in info
    assert quota_used(store, who) == 0
    assert tax_bills(store, t.order_no) == []


def test_one_indivisible_item_over_the_single_limit_pays_full_tax(store: Store, engine: Engine) -> None:
    who = buyer(602)
    t = trade(31, who=who, lines=(WINE,))
    answers = ingest_all(engine, four(t))

    assert one(answers, "CEB622", "800").info == RELEASED
    one(answers, "CEB816", "1")
    [bill] = tax_bills(store, t.order_no)
    assert bill.path == "full"
    # duty at the MFN rate of 2204 (14 %) on 6,000.00 + 10.00 freight
    assert bill.customs_tax == Decimal("841.40")
    assert bill.consumption_tax > 0 and bill.value_added_tax > 0
    assert quota_used(store, who) == Decimal("6010.00")


def test_the_list_that_crosses_the_annual_limit_is_refused(store: Store, engine: Engine) -> None:
    who = buyer(603)
    worth = line_worth(Decimal("3990"))  # tax price 4,000.00 with the freight
    for n in range(6):
        answers = ingest_all(engine, four(trade(40 + n, who=who, lines=(worth,))))
        one(answers, "CEB622", "800")
    assert quota_used(store, who) == Decimal("24000")

    crossing = trade(46, who=who, lines=(worth,))
    info = one(ingest_all(engine, four(crossing)), "CEB622", "100").info
    assert codes(info) == ["-621018"], info
    assert "已用购买额度为24000.00" in info and "年度限额26000.00" in info
    assert quota_used(store, who) == Decimal("24000")
    # the refused list used nothing: a small one still fits
    one(ingest_all(engine, four(trade(47, who=who))), "CEB622", "800")
    assert quota_used(store, who) == Decimal("24000") + DEFAULT_TAX_PRICE


def test_both_limits_are_inclusive(store: Store, engine: Engine) -> None:
    who = buyer(604)
    two = (line_worth(Decimal("2495")), replace(line_worth(Decimal("2495")), item_no="SKU-MILK-B"))
    # exactly 5,000.00 with two items: within the single limit
    one(ingest_all(engine, four(trade(32, who=who, lines=two))), "CEB622", "800")
    for n in range(4):
        one(
            ingest_all(engine, four(trade(33 + n, who=who, lines=(line_worth(Decimal("4990")),)))),
            "CEB622",
            "800",
        )
    one(ingest_all(engine, four(trade(37, who=who, lines=(line_worth(Decimal("990")),)))), "CEB622", "800")
    # 5,000 + 4 x 5,000 + 1,000 = exactly 26,000.00: within the annual limit
    assert quota_used(store, who) == Decimal("26000")
    small = replace(MILK, qty=Decimal("1"), price=Decimal("1.00"))
    one_more = trade(38, who=who, lines=(small,), freight=Decimal("0"), discount=Decimal("0"))
    info = one(ingest_all(engine, four(one_more)), "CEB622", "100").info
    assert codes(info) == ["-621018"]
    assert quota_used(store, who) == Decimal("26000")


def test_a_list_whose_companions_never_arrive_expires(store: Store, engine: Engine) -> None:
    lonely, partial, recent = trade(50), trade(51), trade(52)
    ingest(engine, ceb621(lonely))
    ingest_all(engine, [ceb311(partial), ceb621(partial)])
    ingest(engine, ceb621(recent), now=NOW + timedelta(hours=2))
    window = Engine(store, Settings(companion_window=timedelta(hours=1)))

    answers = check_answers(window.expire(NOW + timedelta(hours=2, minutes=30)))

    assert statuses(answers) == [("CEB622", "100"), ("CEB622", "100")]
    assert [codes(a.info) for a in answers] == [["-621002"], ["-621002"]]
    assert "未找到电子订单、支付凭证、物流运单" in answers[0].info
    assert "未找到支付凭证、物流运单" in answers[1].info
    assert list_status(store, lonely.order_no) == "expired"
    assert list_status(store, partial.order_no) == "expired"
    assert list_status(store, recent.order_no) == "waiting"
    # a second run finds nothing more to do
    assert window.expire(NOW + timedelta(hours=2, minutes=30)) == []


# ---- duplicates and changes ------------------------------------------------------------------------------


def test_the_same_message_twice_is_a_duplicate_with_the_same_receipts(store: Store, engine: Engine) -> None:
    t = trade(60)
    first = [ingest(engine, m) for m in four(t)]
    before = row_counts(store)

    again = [ingest(engine, m) for m in four(t)]

    assert [r.outcome for r in again] == ["duplicate"] * 4
    for old, new in zip(first, again, strict=True):
        assert [(a.receipt_type, a.status, a.xml) for a in new.answers] == [
            (a.receipt_type, a.status, a.xml) for a in old.answers
        ]
    assert statuses(again[3].answers) == [("CEB622", "120"), ("CEB622", "800"), ("CEB816", "1")]
    assert row_counts(store) == before


def test_a_reused_guid_with_other_content_is_refused(store: Store, engine: Engine) -> None:
    t = trade(61)
    ingest(engine, ceb311(t))
    before = row_counts(store)

    result = ingest(engine, ceb311(t, freight=Decimal("20.00")))

    assert result.outcome == "rejected"
    [answer] = result.answers
    assert answer.receipt_type == "CEB312" and answer.status.startswith("-")
    assert "guid" in answer.info
    after = row_counts(store)
    assert {k: after[k] - before[k] for k in after if after[k] != before[k]} == {"receipts": 1}
    with store.transaction() as session:
        view = queries.find(session, "order", t.order_no)
        assert view is not None and len(view.versions) == 1
        assert view.document.amount == t.paid


DUPLICATE_KEYS = {
    "order": (ceb311, "OrderHead", "CEB312", "-301010"),
    "payment": (ceb411, "PaymentHead", "CEB412", "-401007"),
    "waybill": (ceb511, "LogisticsHead", "CEB512", "-504015"),
    "list": (ceb621, "InventoryHead", "CEB622", "-621004"),
}


@pytest.mark.parametrize("kind", list(DUPLICATE_KEYS))
def test_a_new_message_with_an_existing_business_key_gets_the_official_code(
    store: Store, engine: Engine, kind: str
) -> None:
    build, head, receipt, code = DUPLICATE_KEYS[kind]
    t = trade(62)
    ingest_all(engine, four(t))
    before = row_counts(store)

    result = ingest(engine, revised(build(t), head, guid=stable_guid("again", kind, t.order_no)))

    assert result.outcome == "rejected"
    [answer] = result.answers
    assert (answer.receipt_type, answer.status) == (receipt, code)
    assert codes(answer.info) == [code]
    after = row_counts(store)
    assert after["documents"] == before["documents"]
    assert after["quota_entries"] == before["quota_entries"]


def test_an_order_changed_before_the_list_keeps_both_versions_and_the_new_one_counts(
    store: Store, engine: Engine
) -> None:
    t = trade(63)
    wrong = ceb311(t, freight=Decimal("20.00"))  # acturalPaid 512.50: the payment says 502.50
    ingest(engine, wrong)
    change = revised(ceb311(t), "OrderHead", guid=stable_guid("change", t.order_no), appType="2")
    result = ingest(engine, change)
    assert statuses(result.answers) == [("CEB312", "120")]

    answers = ingest_all(engine, [ceb411(t), ceb511(t), ceb621(t)])

    assert one(answers, "CEB622", "800").info == RELEASED
    with store.transaction() as session:
        view = queries.find(session, "order", t.order_no)
        assert view is not None
        assert [(v.version, v.current, v.amount) for v in view.versions] == [
            (1, False, Decimal("512.50")),
            (2, True, Decimal("502.50")),
        ]
        assert view.document.version == 2


def test_an_order_used_by_a_list_cannot_be_changed(store: Store, engine: Engine) -> None:
    waiting, released = trade(64), trade(65)
    ingest_all(engine, [ceb311(waiting), ceb621(waiting)])
    ingest_all(engine, four(released))

    for n, t in enumerate((waiting, released)):
        change = revised(ceb311(t), "OrderHead", guid=stable_guid("late", n, t.order_no), appType="2")
        result = ingest(engine, change)
        assert result.outcome == "rejected"
        [answer] = result.answers
        assert (answer.receipt_type, answer.status, codes(answer.info)) == ("CEB312", "-301011", ["-301011"])
        with store.transaction() as session:
            view = queries.find(session, "order", t.order_no)
            assert view is not None and len(view.versions) == 1


def test_a_change_of_a_missing_order_is_refused(store: Store, engine: Engine) -> None:
    t = trade(66)
    change = revised(ceb311(t), "OrderHead", guid=stable_guid("missing", t.order_no), appType="2")
    [answer] = ingest(engine, change).answers
    assert (answer.receipt_type, answer.status, codes(answer.info)) == ("CEB312", "-301009", ["-301009"])


def test_a_rejected_list_can_be_declared_again_once_fixed(store: Store, engine: Engine) -> None:
    t = trade(67)
    first = ingest_all(engine, _payment_differs(t))
    assert codes(one(first, "CEB622", "100").info) == ["9101"]
    fixed = revised(ceb411(t), "PaymentHead", guid=stable_guid("fixed payment", t.order_no), appType="2")
    assert statuses(ingest(engine, fixed).answers) == [("CEB412", "120")]

    again = ingest(engine, revised(ceb621(t), "InventoryHead", guid=stable_guid("again", t.order_no)))

    assert statuses(again.answers) == [("CEB622", "120"), ("CEB622", "800"), ("CEB816", "1")]
    assert quota_used(store, t.buyer) == DEFAULT_TAX_PRICE


def test_a_deleted_order_declared_again_can_be_changed(store: Store, engine: Engine) -> None:
    t = trade(68)
    ingest(engine, ceb311(t))
    deleted = ingest(
        engine, revised(ceb311(t), "OrderHead", guid=stable_guid("del", t.order_no), appType="3")
    )
    assert statuses(deleted.answers) == [("CEB312", "399")]
    assert statuses(
        ingest(engine, revised(ceb311(t), "OrderHead", guid=stable_guid("new", t.order_no))).answers
    ) == [("CEB312", "120")]

    change = ingest(engine, revised(ceb311(t), "OrderHead", guid=stable_guid("chg", t.order_no), appType="2"))

    assert statuses(change.answers) == [("CEB312", "120")]
    with store.transaction() as session:
        view = queries.find(session, "order", t.order_no)
        assert view is not None
        assert view.document.status == "accepted"
        assert sum(1 for v in view.versions if v.current) == 1


# ---- cancellation and returns ----------------------------------------------------------------------------


def _released(store: Store, engine: Engine, t: Trade) -> Trade:
    one(ingest_all(engine, four(t)), "CEB622", "800")
    return replace(t, invt_no=invt_no(store, t.order_no))


def test_a_cancelled_list_voids_the_bill_and_restores_the_quota(store: Store, engine: Engine) -> None:
    who = buyer(701)
    kept = _released(store, engine, trade(70, who=who))
    cancelled = _released(store, engine, trade(71, who=who))
    assert quota_used(store, who) == 2 * DEFAULT_TAX_PRICE

    answers = ingest_all(engine, [ceb623(cancelled)], now=NOW + timedelta(days=2))

    assert statuses(answers) == [("CEB624", "120"), ("CEB624", "399"), ("CEB818", "3")]
    assert codes(answers[1].info) == ["2300"]
    assert cancelled.invt_no.encode() in answers[2].xml
    assert quota_used(store, who) == DEFAULT_TAX_PRICE
    assert list_status(store, cancelled.order_no) == "cancelled"
    assert [b.status for b in tax_bills(store, cancelled.order_no)] == ["3"]
    assert list_status(store, kept.order_no) == "released"
    with store.transaction() as session:
        lines = queries.quota(session, who.id_number, YEAR).lines
    assert [(line.kind, line.amount) for line in lines] == [
        ("release", DEFAULT_TAX_PRICE),
        ("release", DEFAULT_TAX_PRICE),
        ("cancel", -DEFAULT_TAX_PRICE),
    ]


def test_a_partial_return_reissues_a_smaller_bill_and_gives_back_its_share(
    store: Store, engine: Engine
) -> None:
    who = buyer(702)
    t = _released(store, engine, trade(72, who=who))
    [original] = tax_bills(store, t.order_no)
    diaper_price = Decimal(str(original.lines[0]["taxPrice"]))  # 202.34: 2 diapers and their freight share

    answers = ingest_all(engine, [ceb625(t, returned={1: Decimal("1")})], now=NOW + timedelta(days=10))

    assert statuses(answers) == [("CEB626", "120"), ("CEB626", "399"), ("CEB818", "3"), ("CEB816", "1")]
    voided, reissued = tax_bills(store, t.order_no)
    assert (voided.status, reissued.status) == ("3", "1")
    assert reissued.tax_no != voided.tax_no and reissued.invt_no == t.invt_no
    assert reissued.value_added_tax < voided.value_added_tax
    new_lines = {str(line["gnum"]): Decimal(str(line["taxPrice"])) for line in reissued.lines}
    assert new_lines["1"] == Decimal("101.17")
    assert new_lines["2"] == Decimal(str(original.lines[1]["taxPrice"]))
    given_back = diaper_price - new_lines["1"]
    assert quota_used(store, who) == DEFAULT_TAX_PRICE - given_back
    assert reissued.tax_no.encode() in answers[3].xml


def _refused_return(store: Store, engine: Engine, t: Trade, refund: Message, days: int) -> Answer:
    before = quota_used(store, t.buyer)
    answers = ingest_all(engine, [refund], now=NOW + timedelta(days=days))
    assert statuses(answers) == [("CEB626", "120"), ("CEB626", "100")]
    assert quota_used(store, t.buyer) == before
    assert [b.status for b in tax_bills(store, t.order_no)] == ["1"]
    return answers[1]


def test_a_return_after_30_days_is_refused(store: Store, engine: Engine) -> None:
    t = _released(store, engine, trade(73, who=buyer(703)))
    answer = _refused_return(store, engine, t, ceb625(t, returned={1: Decimal("1")}), days=31)
    assert codes(answer.info) == ["-625004"] and "30日" in answer.info


def test_a_return_of_more_than_was_released_is_refused(store: Store, engine: Engine) -> None:
    t = _released(store, engine, trade(74, who=buyer(704)))
    answer = _refused_return(store, engine, t, ceb625(t, returned={1: Decimal("3")}), days=3)
    assert codes(answer.info) == ["-625001"]
    assert "表体第[1]项退货数量超过清单数量" in answer.info


def test_a_second_return_application_for_one_list_is_a_duplicate(store: Store, engine: Engine) -> None:
    t = _released(store, engine, trade(75, who=buyer(705)))
    first = ceb625(t, returned={1: Decimal("1")})
    assert ("CEB626", "399") in statuses(ingest_all(engine, [first], now=NOW + timedelta(days=2)))
    used = quota_used(store, t.buyer)
    second = revised(
        ceb625(t, returned={2: Decimal("1")}), "InvtRefundHead", guid=stable_guid("2nd", t.invt_no)
    )

    [answer] = ingest_all(engine, [second], now=NOW + timedelta(days=3))

    assert (answer.receipt_type, answer.status, codes(answer.info)) == ("CEB626", "-625022", ["-625022"])
    assert quota_used(store, t.buyer) == used
    assert [b.status for b in tax_bills(store, t.order_no)] == ["3", "1"]


def test_a_return_of_a_line_the_list_does_not_have_is_refused(store: Store, engine: Engine) -> None:
    t = _released(store, engine, trade(76, who=buyer(706)))
    refund = ceb625(replace(t, lines=(DIAPER, MILK, CREAM)), returned={3: Decimal("1")})
    answer = _refused_return(store, engine, t, refund, days=3)
    assert codes(answer.info) == ["-625209"]
    assert "表体序号为[3]" in answer.info


def test_a_full_return_voids_the_bill_and_gives_everything_back(store: Store, engine: Engine) -> None:
    who = buyer(707)
    t = _released(store, engine, trade(77, who=who))

    answers = ingest_all(engine, [ceb625(t)], now=NOW + timedelta(days=1))

    assert statuses(answers) == [("CEB626", "120"), ("CEB626", "399"), ("CEB818", "3")]
    assert [b.status for b in tax_bills(store, t.order_no)] == ["3"]
    assert quota_used(store, who) == 0


def test_a_cancellation_after_a_partial_return_gives_back_only_what_is_left(
    store: Store, engine: Engine
) -> None:
    who = buyer(708)
    t = _released(store, engine, trade(78, who=who))
    ingest_all(engine, [ceb625(t, returned={1: Decimal("1")})], now=NOW + timedelta(days=1))
    assert quota_used(store, who) == DEFAULT_TAX_PRICE - Decimal("101.17")

    answers = ingest_all(engine, [ceb623(t)], now=NOW + timedelta(days=2))

    assert statuses(answers) == [("CEB624", "120"), ("CEB624", "399"), ("CEB818", "3")]
    assert quota_used(store, who) == 0
    assert [b.status for b in tax_bills(store, t.order_no)] == ["3", "3"]


def test_a_cancellation_of_a_list_that_is_not_released_is_refused(store: Store, engine: Engine) -> None:
    rejected = trade(79)
    ingest_all(engine, _payment_differs(rejected))
    unknown = replace(trade(179), invt_no="292420269999999999")
    answers = ingest_all(
        engine,
        [ceb623(replace(rejected, invt_no=invt_no(store, rejected.order_no))), ceb623(unknown)],
        now=NOW + timedelta(days=1),
    )
    refused = pick(answers, "CEB624", "100")
    assert [codes(a.info) for a in refused] == [["-623005"], ["-623003"]]
    assert not pick(answers, "CEB818")


# ---- every receipt: schema and personal data ------------------------------------------------------------


def test_every_stored_receipt_validates_and_keeps_personal_data_out(
    store: Store, engine: Engine, reference_dir: Path
) -> None:
    assert import_schema() is not None, "the import XSD is missing from the reference folder"
    released = _released(store, engine, trade(80))
    ingest_all(engine, _payer_differs(trade(81)))
    ingest_all(engine, _list_buyer_differs(trade(82)))
    ingest(engine, ceb621(trade(83)))
    check_answers(Engine(store, Settings(companion_window=timedelta(0))).expire(NOW + timedelta(hours=1)))
    ingest(engine, ceb311(trade(80), freight=Decimal("1.00")))  # a reused guid
    ingest(engine, revised(ceb411(trade(80)), "PaymentHead", guid=stable_guid("dup", 80)))
    ingest_all(engine, [ceb625(released, returned={2: Decimal("1")})], now=NOW + timedelta(days=1))
    ingest_all(engine, [ceb623(released)], now=NOW + timedelta(days=2))

    with store.transaction() as session:
        rows = session.scalars(select(ReceiptRow).order_by(ReceiptRow.id)).all()
        kinds = {r.receipt_type for r in rows}
        for row in rows:
            assert_schema_valid(row.xml)
            assert_no_personal_data(row.return_info)
            assert_no_personal_data(returned_info(row.xml))
            root = etree.fromstring(row.xml)
            assert etree.QName(root).localname == f"{row.receipt_type}Message"
    assert {"CEB312", "CEB412", "CEB512", "CEB622", "CEB626", "CEB624", "CEB816", "CEB818"} <= kinds


@pytest.mark.parametrize("case", ["waybill-completes-the-list", "cancellation", "return"])
def test_a_replay_returns_every_receipt_the_first_ingest_gave(
    store: Store, engine: Engine, case: str
) -> None:
    t = trade(85)
    if case == "waybill-completes-the-list":
        ingest_all(engine, [ceb621(t), ceb311(t), ceb411(t)])
        message = ceb511(t)
    else:
        t = _released(store, engine, t)
        message = ceb623(t) if case == "cancellation" else ceb625(t, returned={1: Decimal("1")})
    first = ingest(engine, render(message), now=NOW + timedelta(days=1))
    assert len(first.answers) >= 3

    again = ingest(engine, render(message), now=NOW + timedelta(days=1))

    assert again.outcome == "duplicate"
    assert [a.xml for a in again.answers] == [a.xml for a in first.answers]


# ---- through the command line ----------------------------------------------------------------------------


@pytest.fixture
def cli(tmp_path: Path) -> Callable[..., object]:
    """`cbec …` in process against an SQLite file in tmp_path, with the positive list loaded."""
    from cbec.cli import app

    runner = CliRunner()
    env = {
        "CBEC_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "CBEC_DATA_DIR": str(tmp_path / "data"),
        "COLUMNS": "200",
    }

    def run(*args: str) -> object:
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == 0, (result.output, result.exception)
        return result

    run("db", "upgrade")
    run("reference", "load", "positive-list", str(write_positive_list(tmp_path)))
    return run


def _write(folder: Path, messages: list[Message]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n, message in enumerate(messages, 1):
        (folder / f"{n:02d}_{message.code}.xml").write_bytes(render(message))


def _outbox(folder: Path) -> dict[str, list[bytes]]:
    out: dict[str, list[bytes]] = {}
    for path in sorted(folder.iterdir()):
        assert path.suffix == ".xml", path
        out.setdefault(path.name.split("_", 1)[0], []).append(path.read_bytes())
    return out


def _status(xml: bytes) -> str:
    root = etree.fromstring(xml)
    found = [el.text for el in root.iter() if etree.QName(el).localname == "returnStatus"]
    return found[0] or "" if found else ""


def test_cli_ingest_releases_a_trade_and_fills_the_outbox(cli: Callable[..., object], tmp_path: Path) -> None:
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    _write(inbox, list(reversed(four(trade(90)))))

    result = cli("ingest", str(inbox), "--outbox", str(outbox))

    files = _outbox(outbox)
    assert {k: len(v) for k, v in files.items()} == {
        "CEB312": 1,
        "CEB412": 1,
        "CEB512": 1,
        "CEB622": 2,
        "CEB816": 1,
    }
    assert sorted(_status(x) for x in files["CEB622"]) == ["120", "800"]
    for xml in (x for group in files.values() for x in group):
        check_answers([Answer("", "", "", xml)])
    output = result.output  # type: ignore[attr-defined]
    assert "4 file(s) ingested" in output
    for line in ("CEB311 accepted", "CEB621 accepted", "→ CEB622 800", "→ CEB622 120", "→ CEB816 1"):
        assert line in output, output
    # a second run changes nothing: duplicates, and the outbox keeps one file per receipt
    again = cli("ingest", str(inbox), "--outbox", str(outbox))
    assert "CEB621 duplicate" in again.output  # type: ignore[attr-defined]
    assert {k: len(v) for k, v in _outbox(outbox).items()} == {k: len(v) for k, v in files.items()}


def test_cli_ingest_reports_a_rejected_list(cli: Callable[..., object], tmp_path: Path) -> None:
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    t = trade(91)
    _write(inbox, _payment_differs(t))

    result = cli("ingest", str(inbox), "--outbox", str(outbox))

    files = _outbox(outbox)
    assert "CEB816" not in files
    rejected = [x for x in files["CEB622"] if _status(x) == "100"]
    assert len(rejected) == 1
    assert "[Code:9101;" in returned_info(rejected[0])
    output = result.output  # type: ignore[attr-defined]
    assert "→ CEB622 100" in output and "→ CEB622 800" not in output
    show = cli("show", "list", t.order_no)
    assert "rejected" in show.output  # type: ignore[attr-defined]
