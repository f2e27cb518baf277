"""`cbec.clearance.compare`: 三单对碰 of list, order, payment and waybill.

Every test starts from a consistent trade built by `cbec.ceb.examples` and changes one thing, so a finding
can only come from that change. Each failing case names the code, rule and path it must produce. Every
comparison in this file goes through `run`, which also asserts that no reason text quotes personal data
and that every code is in the published table.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import pytest

from cbec.ceb.examples import AGENT, EBC, EBP, LOGISTICS, Buyer, Trade, ceb311, ceb411, ceb511, ceb621
from cbec.ceb.model import Node
from cbec.clearance.compare import (
    DEFAULT_POLICY,
    REASON_CODES,
    ComparePolicy,
    compare,
    normalize_value,
)
from cbec.clearance.reasons import Reason

#: fields whose values are personal data and must never appear in a reason's text
PERSONAL_FIELDS = (
    "buyerName",
    "buyerIdNumber",
    "buyerTelephone",
    "consignee",
    "consigneeTelephone",
    "consigneeAddress",
    "payerName",
    "payerIdNumber",
    "telephone",
)

OTHER_ID = "11010119850101002X"  # synthetic: not the default buyer's number


# ---- helpers -------------------------------------------------------------------------------------


@dataclass
class Docs:
    """The four business nodes of one trade, with their heads for mutation."""

    order: Node
    payment: Node
    waybill: Node
    inventory: Node

    @property
    def oh(self) -> Node:
        return _child(self.order, "OrderHead")

    @property
    def ph(self) -> Node:
        return _child(self.payment, "PaymentHead")

    @property
    def wh(self) -> Node:
        return _child(self.waybill, "LogisticsHead")

    @property
    def ih(self) -> Node:
        return _child(self.inventory, "InventoryHead")

    def olines(self) -> list[Node]:
        return self.order.children["OrderList"]

    def ilines(self) -> list[Node]:
        return self.inventory.children["InventoryList"]


def _child(node: Node, name: str) -> Node:
    child = node.child(name)
    assert child is not None
    return child


def build(trade: Trade | None = None, **changes: Any) -> Docs:
    """Order, payment, waybill and list of one trade (default: `Trade()`), mutually consistent."""
    t = replace(trade or Trade(), **changes)
    return Docs(
        ceb311(t).documents[0], ceb411(t).documents[0], ceb511(t).documents[0], ceb621(t).documents[0]
    )


def _personal_values(d: Docs) -> set[str]:
    values: set[str] = set()
    for head in (d.oh, d.ph, d.wh, d.ih):
        for name in PERSONAL_FIELDS:
            value = head.values.get(name)
            if isinstance(value, str) and len(value.strip()) >= 2:
                values.add(value)
                values.add(value.strip())
                values.add(normalize_value(value, "phone"))
    return values


_CATALOGUE = {rule: rc for rc in REASON_CODES for rule in rc.rules}


def run(d: Docs, policy: ComparePolicy = DEFAULT_POLICY) -> list[Reason]:
    """`compare` on the four documents, asserting privacy and the code table for every reason."""
    reasons = compare(d.order, d.payment, d.waybill, d.inventory, policy=policy)
    personal = _personal_values(d)
    for reason in reasons:
        for value in personal:
            assert value not in reason.zh, f"{reason.rule} quotes personal data in zh: {reason.zh}"
            assert value not in reason.en, f"{reason.rule} quotes personal data in en: {reason.en}"
        entry = _CATALOGUE[reason.rule]
        assert (reason.code, reason.source) == (entry.code, entry.source)
        assert reason.zh and reason.en and reason.path
    return reasons


def only(reasons: list[Reason]) -> Reason:
    assert len(reasons) == 1, [(r.code, r.rule, r.path) for r in reasons]
    return reasons[0]


def expect(reasons: list[Reason], code: str, rule: str, path: str, *, warning: bool = False) -> Reason:
    """The single reason, checked for code, rule, path and severity."""
    reason = only(reasons)
    assert (reason.code, reason.rule, reason.path, reason.warning) == (code, rule, path, warning)
    return reason


# ---- consistent documents ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["9610", "1210"])
def test_consistent_trade_has_no_reasons(mode: str) -> None:
    assert run(build(trade_mode=mode)) == []


def test_accepts_heads_and_whole_messages() -> None:
    t = Trade()
    d = build(t)
    d.ph.set(amountPaid=Decimal("1.00"))
    by_node = compare(d.order, d.payment, d.waybill, d.inventory)
    by_head = compare(d.order, d.ph, d.wh, d.inventory)
    assert [(r.code, r.path) for r in by_head] == [(r.code, r.path) for r in by_node]
    assert len(by_node) == 1
    messages = compare(ceb311(t), ceb411(t), ceb511(t), ceb621(t))
    assert messages == []


def test_refuses_the_wrong_node() -> None:
    d = build()
    with pytest.raises(ValueError, match="expected the Order node"):
        compare(d.inventory, d.payment, d.waybill, d.order)


def test_several_lines_and_bonded_mode_still_consistent() -> None:
    d = build(Trade(trade_mode="1210", freight=Decimal("0"), discount=Decimal("0")))
    assert run(d) == []


# ---- rule 1: order ↔ payment ---------------------------------------------------------------------


def test_amount_paid_differs() -> None:
    d = build()
    paid = d.oh.values["acturalPaid"]
    assert isinstance(paid, Decimal)
    d.ph.set(amountPaid=paid - Decimal("0.01"))
    r = expect(run(d), "9101", "compare.amount_paid", "Order/OrderHead/acturalPaid")
    assert r.source == "cbec"
    assert f"{paid:f}" in r.zh and f"{paid:f}" in r.en


def test_amount_tolerance() -> None:
    d = build()
    paid = d.oh.values["acturalPaid"]
    assert isinstance(paid, Decimal)
    d.ph.set(amountPaid=paid + Decimal("0.01"))
    assert run(d, ComparePolicy(amount_tolerance=Decimal("0.01"))) == []
    d.ph.set(amountPaid=paid + Decimal("0.02"))
    assert only(run(d, ComparePolicy(amount_tolerance=Decimal("0.01")))).code == "9101"


def test_amounts_compare_by_value_not_digits() -> None:
    d = build()
    paid = d.oh.values["acturalPaid"]
    assert isinstance(paid, Decimal)
    d.ph.set(amountPaid=paid.quantize(Decimal("0.00001")))
    assert run(d) == []


def test_pay_code_differs() -> None:
    d = build()
    d.ph.set(payCode="310196000Z")
    # the order names its payment company: 13035 on the order; the payment's own key is still its code
    r = expect(run(d), "13035", "compare.pay_code", "Order/OrderHead/payCode")
    assert r.source == "observed"
    assert "310196000Z" in r.zh


def test_pay_code_absent_on_order_is_not_compared() -> None:
    d = build()
    d.oh.set(payCode=None, payName=None)
    d.ph.set(payCode="310196000Z")
    assert run(d) == []


def test_pay_transaction_id_differs() -> None:
    d = build()
    d.oh.set(payTransactionId="PAY-OTHER-0001")
    r = expect(run(d), "9102", "compare.pay_transaction_id", "Order/OrderHead/payTransactionId")
    assert "PAY-OTHER-0001" not in r.zh + r.en


def test_pay_transaction_id_absent_on_order_is_not_compared() -> None:
    d = build()
    d.oh.set(payTransactionId=None)
    assert run(d) == []


@pytest.mark.parametrize(("name", "value"), [("orderNo", "ORD-OTHER"), ("ebpCode", "110196000Z")])
def test_payment_join_keys_differ(name: str, value: str) -> None:
    d = build()
    d.ph.set(**{name: value})
    expect(run(d), "9103", "compare.payment_keys", f"Payment/PaymentHead/{name}")


# ---- rule 2: order ↔ waybill, list ↔ waybill -----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("consignee", "李四"),
        ("consigneeTelephone", "13900000000"),
        ("consigneeAddress", "上海市浦东新区样例路2号"),
    ],
)
def test_consignee_differs_from_waybill(name: str, value: str) -> None:
    d = build()
    d.oh.set(**{name: value})
    r = expect(run(d), "9104", "compare.consignee", f"Order/OrderHead/{name}")
    assert name in r.zh and name in r.en


def test_consignee_other_than_buyer_is_fine_when_waybill_agrees() -> None:
    d = build()
    d.oh.set(consignee="李四")
    d.wh.set(consignee="李四")
    assert run(d) == []


def test_waybill_order_no_differs() -> None:
    d = build()
    d.wh.set(orderNo="ORD-OTHER")
    r = expect(run(d), "9105", "compare.waybill_order", "Logistics/LogisticsHead/orderNo")
    assert "ORD-OTHER" in r.zh and "ORD-OTHER" in r.en


@pytest.mark.parametrize(("name", "value"), [("logisticsNo", "LN-OTHER"), ("logisticsCode", "110198000Z")])
def test_list_waybill_keys_differ(name: str, value: str) -> None:
    d = build()
    d.ih.set(**{name: value})
    expect(run(d), "9106", "compare.list_waybill", f"Inventory/InventoryHead/{name}")


def test_list_address_differs_is_a_warning_by_default() -> None:
    d = build()
    d.ih.set(consigneeAddress="上海市浦东新区样例路2号")
    path = "Inventory/InventoryHead/consigneeAddress"
    expect(run(d), "9110", "compare.list_address", path, warning=True)
    expect(run(d, ComparePolicy(list_address="error")), "9110", "compare.list_address", path)
    assert run(d, ComparePolicy(list_address="off")) == []


# ---- rule 3: list buyer ↔ order buyer ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"), [("buyerName", "李四"), ("buyerIdType", "2"), ("buyerIdNumber", OTHER_ID)]
)
def test_list_buyer_differs(name: str, value: str) -> None:
    d = build()
    d.ih.set(**{name: value})
    r = expect(run(d), "13127", "compare.list_buyer", f"Inventory/InventoryHead/{name}")
    assert r.source == "observed"
    assert OTHER_ID not in r.zh + r.en


def test_list_buyer_telephone_is_a_warning_by_default() -> None:
    d = build()
    d.ih.set(buyerTelephone="13900000000")
    path = "Inventory/InventoryHead/buyerTelephone"
    expect(run(d), "13127", "compare.list_buyer_telephone", path, warning=True)
    expect(run(d, ComparePolicy(buyer_telephone="error")), "13127", "compare.list_buyer_telephone", path)
    assert run(d, ComparePolicy(buyer_telephone="off")) == []


# ---- rule 4: payer = buyer unless certified ------------------------------------------------------


def _other_payer() -> Docs:
    d = build()
    d.ph.set(payerName="李四", payerIdNumber=OTHER_ID)
    return d


def test_payer_other_than_buyer_is_rejected() -> None:
    reasons = run(_other_payer())
    assert [(r.code, r.rule, r.path, r.source) for r in reasons] == [
        ("1327", "compare.payer", "Payment/PaymentHead/payerName", "observed"),
        ("1327", "compare.payer", "Payment/PaymentHead/payerIdNumber", "observed"),
    ]
    assert not any(r.warning for r in reasons)


def test_payer_id_alone_differs() -> None:
    d = build()
    d.ph.set(payerIdNumber=OTHER_ID)
    expect(run(d), "1327", "compare.payer", "Payment/PaymentHead/payerIdNumber")


def test_payer_other_than_buyer_accepted_when_platform_certifies() -> None:
    assert run(_other_payer(), ComparePolicy(certified_platforms={EBP.code})) == []
    assert run(_other_payer(), ComparePolicy(certified_platforms=lambda code: code == EBP.code)) == []


def test_certification_of_another_platform_does_not_help() -> None:
    reasons = run(_other_payer(), ComparePolicy(certified_platforms=["110196000Z"]))
    assert {r.code for r in reasons} == {"1327"}
    reasons = run(_other_payer(), ComparePolicy(certified_platforms=lambda code: False))
    assert len(reasons) == 2


def test_certification_follows_the_orders_platform() -> None:
    d = _other_payer()
    d.ph.set(ebpCode="110196000Z")  # the payment names a certified platform, the order does not
    reasons = run(d, ComparePolicy(certified_platforms={"110196000Z"}))
    assert {r.code for r in reasons} == {"1327", "9103"}


# ---- rule 5: lines -------------------------------------------------------------------------------


def test_line_quantity_differs() -> None:
    d = build()
    d.ilines()[1].set(qty=Decimal("2"))
    r = expect(run(d), "1322", "compare.list_lines", "Inventory/InventoryList[2]/qty")
    assert r.source == "observed"
    assert "gnum=2" in r.en


def test_line_price_differs() -> None:
    d = build()
    d.ilines()[0].set(price=Decimal("98.00"))
    r = expect(run(d), "1322", "compare.list_lines", "Inventory/InventoryList[1]/price")
    assert "98.00" in r.zh and "99.00" in r.en


def test_line_total_differs() -> None:
    d = build()
    d.ilines()[0].set(totalPrice=Decimal("197.00"))
    reasons = run(d)
    # a changed line total also changes the list's total against goodsValue
    assert [(r.code, r.rule, r.path) for r in reasons] == [
        ("1322", "compare.list_lines", "Inventory/InventoryList[1]/totalPrice"),
        ("9108", "compare.goods_value", "Inventory/InventoryList"),
    ]


def test_line_prices_need_not_match_when_policy_says_so() -> None:
    d = build()
    d.ilines()[0].set(price=Decimal("98.00"))
    policy = ComparePolicy(line_prices_match=False)
    assert run(d, policy) == []
    d.ilines()[0].set(qty=Decimal("3"))
    expect(run(d, policy), "1322", "compare.list_lines", "Inventory/InventoryList[1]/qty")


def test_line_price_within_tolerance() -> None:
    d = build()
    d.ilines()[0].set(price=Decimal("99.01"))
    assert run(d, ComparePolicy(amount_tolerance=Decimal("0.01"))) == []


def test_gname_differs_from_item_name() -> None:
    d = build()
    d.ilines()[0].set(gname="婴儿纸尿裤M码")
    expect(run(d), "1322", "compare.list_lines", "Inventory/InventoryList[1]/gname")


def test_line_missing_from_list() -> None:
    d = build()
    del d.ilines()[1]
    reasons = run(d, ComparePolicy(list_total_matches=False))
    r = expect(reasons, "1322", "compare.list_lines", "Inventory/InventoryList")
    assert "gnum=2" in r.zh and "gnum=2" in r.en


def test_extra_line_on_list() -> None:
    d = build()
    d.ilines()[1].set(gnum=3)
    reasons = run(d)
    assert [(r.code, r.path) for r in reasons] == [
        ("1322", "Inventory/InventoryList[2]/gnum"),
        ("1322", "Inventory/InventoryList"),
    ]


def test_lines_pair_by_gnum_not_position() -> None:
    d = build()
    d.ilines().reverse()
    assert run(d) == []


def test_list_total_differs_from_goods_value() -> None:
    d = build()
    goods = d.oh.values["goodsValue"]
    assert isinstance(goods, Decimal)
    d.oh.set(goodsValue=goods + Decimal("10"))
    r = expect(run(d), "9108", "compare.goods_value", "Inventory/InventoryList")
    assert f"{goods:f}" in r.zh  # the list's total, quoted
    assert run(d, ComparePolicy(list_total_matches=False)) == []
    assert run(d, ComparePolicy(amount_tolerance=Decimal("10"))) == []


# ---- rule 6: parties -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"), [("orderNo", "ORD-OTHER"), ("ebpCode", "110196000Z"), ("ebcCode", "110196000Y")]
)
def test_list_parties_differ(name: str, value: str) -> None:
    d = build()
    d.ih.set(**{name: value})
    reasons = [r for r in run(d) if r.rule != "compare.assure_code"]
    r = expect(reasons, "9107", "compare.list_parties", f"Inventory/InventoryHead/{name}")
    assert value in r.zh and value in r.en


# ---- rule 7: assureCode --------------------------------------------------------------------------


@pytest.mark.parametrize("code", [EBP.code, EBC.code, LOGISTICS.code])
def test_assure_code_may_be_platform_seller_or_logistics(code: str) -> None:
    d = build()
    d.ih.set(assureCode=code)
    assert run(d) == []


def test_assure_code_other_company_rejected() -> None:
    d = build()
    d.ih.set(assureCode=AGENT.code)
    r = expect(run(d), "9109", "compare.assure_code", "Inventory/InventoryHead/assureCode")
    assert AGENT.code in r.zh
    assert run(d, ComparePolicy(assure_by_agent=True)) == []


def test_assure_code_follows_the_lists_parties() -> None:
    d = build()
    d.ih.set(ebcCode="110196000Y", assureCode="110196000Y")  # the list's seller, though not the order's
    assert [r.rule for r in run(d)] == ["compare.list_parties"]


# ---- normalization -------------------------------------------------------------------------------


def test_extra_whitespace_is_equal() -> None:
    d = build()
    d.wh.set(consignee=" 测试订购人 ", consigneeAddress="北京市海淀区\u3000 测试路1号 ")
    d.oh.set(consigneeAddress="北京市海淀区 测试路1号")
    d.ih.set(consigneeAddress="北京市海淀区  测试路1号")
    d.ih.set(buyerName="测试订购人\t")
    assert run(d) == []


def test_removed_space_is_not_equal() -> None:
    d = build()
    d.wh.set(consignee="测试 订购人")
    expect(run(d), "9104", "compare.consignee", "Order/OrderHead/consignee")


def test_full_width_phone_digits_are_equal() -> None:
    d = build()
    d.wh.set(consigneeTelephone="１３８００００００００")
    d.ih.set(buyerTelephone=" 13800000000 ")
    assert run(d) == []


def test_a_different_digit_is_not_equal() -> None:
    d = build()
    d.wh.set(consigneeTelephone="１３８００００００01")
    expect(run(d), "9104", "compare.consignee", "Order/OrderHead/consigneeTelephone")


def test_phone_separators_are_kept() -> None:
    d = build()
    d.wh.set(consigneeTelephone="138 0000 0000")
    expect(run(d), "9104", "compare.consignee", "Order/OrderHead/consigneeTelephone")


def test_full_width_is_not_folded_in_names() -> None:
    assert normalize_value("ＡＢ", "text") == "ＡＢ"
    assert normalize_value("ＡＢ", "phone") == "AB"
    assert normalize_value(" 1101 ", "code") == "1101"
    assert normalize_value("a  b", "code") == "a  b"


def test_normalization_off_compares_exactly() -> None:
    d = build()
    d.wh.set(consignee="测试订购人 ")
    policy = ComparePolicy(normalize=False)
    expect(run(d, policy), "9104", "compare.consignee", "Order/OrderHead/consignee")


def test_id_numbers_are_not_case_folded() -> None:
    d = build(buyer=Buyer(id_number=OTHER_ID))
    assert run(d) == []
    d.ih.set(buyerIdNumber=OTHER_ID.lower())
    expect(run(d), "13127", "compare.list_buyer", "Inventory/InventoryHead/buyerIdNumber")


# ---- several defects, privacy, the table ---------------------------------------------------------


def test_multiple_defects_reported_together() -> None:
    d = build()
    d.ph.set(amountPaid=Decimal("1.00"), payerName="李四")
    d.wh.set(consigneeAddress="上海市浦东新区样例路2号")
    d.ih.set(buyerIdNumber=OTHER_ID, logisticsNo="LN-OTHER", assureCode=AGENT.code)
    d.ilines()[0].set(qty=Decimal("5"))
    found = {(r.code, r.path) for r in run(d)}
    assert found == {
        ("9101", "Order/OrderHead/acturalPaid"),
        ("1327", "Payment/PaymentHead/payerName"),
        ("9104", "Order/OrderHead/consigneeAddress"),
        ("9110", "Inventory/InventoryHead/consigneeAddress"),
        ("13127", "Inventory/InventoryHead/buyerIdNumber"),
        ("9106", "Inventory/InventoryHead/logisticsNo"),
        ("9109", "Inventory/InventoryHead/assureCode"),
        ("1322", "Inventory/InventoryList[1]/qty"),
    }


def test_texts_never_quote_personal_data() -> None:
    d = build()
    d.ph.set(payerName="王五", payerIdNumber=OTHER_ID, telephone="13700000000")
    d.wh.set(consignee="赵六", consigneeTelephone="13600000000", consigneeAddress="广州市天河区样例街3号")
    d.ih.set(buyerName="孙七", buyerIdNumber="110101199001010011", buyerTelephone="13500000000")
    d.ih.set(consigneeAddress="深圳市南山区样例道4号")
    policy = ComparePolicy(buyer_telephone="error", list_address="error")
    reasons = run(d, policy)  # `run` asserts no value of a personal field appears in any text
    assert sorted(r.code for r in reasons) == sorted(["1327"] * 2 + ["9104"] * 3 + ["13127"] * 3 + ["9110"])
    texts = " ".join(r.zh + r.en for r in reasons)
    for value in (
        Trade().buyer.name,
        Trade().buyer.id_number,
        Trade().buyer.telephone,
        Trade().buyer.address,
    ):
        assert value not in texts


def test_absent_fields_are_not_compared() -> None:
    d = build()
    d.ph.set(payerName=None)
    d.wh.set(consigneeTelephone=None)
    d.ih.set(buyerName="")
    assert run(d) == []


def test_reason_code_table() -> None:
    codes = [rc.code for rc in REASON_CODES]
    assert len(codes) == len(set(codes))
    rules = [rule for rc in REASON_CODES for rule in rc.rules]
    assert len(rules) == len(set(rules))
    for rc in REASON_CODES:
        assert rc.zh and rc.en and rc.rules
        if rc.source == "cbec":
            assert rc.code.startswith("91") and len(rc.code) == 4
        else:
            assert rc.source == "observed"
    assert {"1327", "13127", "1322", "13035"} <= set(codes)


def test_policy_is_frozen_and_hashable() -> None:
    policy = ComparePolicy(certified_platforms=[EBP.code, EBP.code])
    assert policy.certified_platforms == frozenset({EBP.code})
    assert hash(policy) == hash(ComparePolicy(certified_platforms={EBP.code}))
    assert policy.certifies(EBP.code) and not policy.certifies(None) and not policy.certifies("X")
    with pytest.raises(ValueError):
        ComparePolicy(amount_tolerance=Decimal("-0.01"))
    with pytest.raises(TypeError):
        ComparePolicy(certified_platforms=EBP.code)
