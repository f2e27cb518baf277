"""`cbec.ceb.check`: every structural rule and business rule, each with a passing and a failing case.

Each failing case names the rule id, the official code, the path and the severity it must produce, so a
change of any of them is a visible decision rather than an accident.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from lxml import etree

from cbec.ceb import CheckOptions, Message, Node, Problem, check, parse, render
from cbec.ceb.examples import (
    BUILDERS,
    SIGNATURE_PLACEHOLDER,
    TEST_ID_NUMBER,
    Buyer,
    Line,
    Trade,
    add_order,
    ceb311,
    ceb411,
    ceb511,
    ceb513,
    ceb621,
    ceb622,
    ceb623,
    ceb625,
    id_check_digit,
    synthetic_id_number,
)
from cbec.ceb.problems import FIELD_CHECK_CODE, SCHEMA_CODE

ORDER_CODE = FIELD_CHECK_CODE["CEB311"]  # -301008
LIST_CODE = FIELD_CHECK_CODE["CEB621"]  # -621001
STRICT = CheckOptions(edition="202205")


# ---- helpers ---------------------------------------------------------------------------------------------


def head(message: Message) -> Node:
    """The first business document's head (or the document itself when it has no head node)."""
    doc = message.documents[0]
    for name in doc.spec.children:
        if name.endswith("Head"):
            return doc.children[name][0]
    return doc


def lines(message: Message) -> list[Node]:
    doc = message.documents[0]
    for name in doc.spec.children:
        if name.endswith("List"):
            return doc.children.get(name, [])
    raise AssertionError(f"{doc.spec.name} has no lines")


def matching(problems: list[Problem], rule: str, path: str | None = None) -> list[Problem]:
    return [p for p in problems if p.rule == rule and (path is None or p.path == path)]


def one(problems: list[Problem], rule: str, path: str) -> Problem:
    """The single problem with this rule at this path; fails with the full list otherwise."""
    found = matching(problems, rule, path)
    assert len(found) == 1, f"expected one {rule} at {path}, got:\n" + "\n".join(map(str, problems))
    return found[0]


def expect(problems: list[Problem], rule: str, path: str, code: str, severity: str = "error") -> Problem:
    problem = one(problems, rule, path)
    assert (problem.code, problem.severity) == (code, severity), str(problem)
    assert problem.zh and problem.en
    return problem


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def reparse(message: Message, old: str, new: str) -> Message:
    """Render, replace one piece of text, parse again: for values the model would not hold as typed."""
    xml = render(message).decode()
    assert old in xml, old
    return parse(xml.replace(old, new, 1))


# ---- valid messages --------------------------------------------------------------------------------------

VALID = {
    "CEB311": lambda: ceb311(),
    "CEB411": lambda: ceb411(),
    "CEB511": lambda: ceb511(),
    "CEB513": lambda: ceb513(),
    "CEB621-9610": lambda: ceb621(),
    "CEB621-1210": lambda: ceb621(trade_mode="1210"),
    "CEB623": lambda: ceb623(),
    "CEB625": lambda: ceb625(),
    "CEB622": lambda: ceb622(),
}


@pytest.mark.parametrize("kind", list(VALID))
def test_built_messages_are_clean(kind: str) -> None:
    message = VALID[kind]()
    assert check(message) == []
    assert check(message, STRICT) == []


@pytest.mark.parametrize("kind", list(VALID))
def test_built_messages_stay_clean_through_render_and_parse(kind: str) -> None:
    assert check(parse(render(VALID[kind]()))) == []


def test_builders_are_consistent_across_documents() -> None:
    trade = Trade()
    order, pay, waybill, lst = (
        head(ceb311(trade)),
        head(ceb411(trade)),
        head(ceb511(trade)),
        head(ceb621(trade)),
    )
    assert order.acturalPaid == pay.amountPaid == Decimal("502.50")
    assert order.goodsValue == sum(line.totalPrice for line in lines(ceb311(trade)))
    assert (order.consignee, order.consigneeTelephone, order.consigneeAddress) == (
        waybill.consignee,
        waybill.consigneeTelephone,
        waybill.consigneeAddress,
    )
    assert order.orderNo == pay.orderNo == waybill.orderNo == lst.orderNo
    assert waybill.logisticsNo == lst.logisticsNo
    assert [line.gnum for line in lines(ceb621(trade))] == [line.gnum for line in lines(ceb311(trade))]


def test_builders_take_buyer_amounts_and_lines() -> None:
    buyer = Buyer(name="王测试", id_number=synthetic_id_number(birth="19850615", sequence="000"))
    line = Line("SKU-1", "保湿面霜", "3304990099", "50毫升/瓶", Decimal("3"), Decimal("120.50"))
    message = ceb311(
        buyer=buyer, lines=(line,), freight=Decimal("0"), discount=Decimal("0"), tax_total=Decimal("0")
    )
    h = head(message)
    assert (h.buyerName, h.buyerIdNumber) == ("王测试", buyer.id_number)
    assert h.goodsValue == h.acturalPaid == Decimal("361.50")
    assert check(message) == []


def test_synthetic_id_number_check_digit() -> None:
    # By hand, weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2: sum 152, 152 mod 11 = 9, (12 - 9) mod 11 = 3.
    assert id_check_digit("11010119900307000") == "3"
    assert TEST_ID_NUMBER == "110101199003070003"


# ---- root ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "guid", ["", "4CDE1CFD-EDED-46B1-946C-B8022E42FC9", "4CDE1CFD-EDED-46B1-946C-B8022E42FC945"]
)
def test_root_guid_must_have_36_characters(guid: str) -> None:
    message = ceb311()
    message.guid = guid
    expect(check(message), "length", "@guid", SCHEMA_CODE)


@pytest.mark.parametrize(
    ("version", "bad"), [("1.0", False), ("v1.0", False), ("", True), ("1.0.0.0.0.0", True)]
)
def test_root_version_length(version: str, bad: bool) -> None:
    message = ceb311()
    message.version = version
    found = matching(check(message), "length", "@version")
    assert len(found) == int(bad)
    if bad:
        assert found[0].code == SCHEMA_CODE


def test_missing_root_attributes_are_parse_notes() -> None:
    xml = render(ceb311()).decode()
    stripped = re.sub(r' guid="[^"]*" version="[^"]*"', "", xml, count=1)
    problems = check(parse(stripped))
    expect(problems, "required", "@guid", SCHEMA_CODE)
    expect(problems, "required", "@version", SCHEMA_CODE)


# ---- required fields: the official field-check code of each message type ---------------------------------


@pytest.mark.parametrize(
    ("kind", "field", "path", "code"),
    [
        ("CEB311", "orderNo", "Order[1]/OrderHead/orderNo", "-301008"),
        ("CEB411", "payerName", "Payment[1]/PaymentHead/payerName", "-401009"),
        ("CEB511", "consignee", "Logistics[1]/LogisticsHead/consignee", "-504011"),
        ("CEB513", "logisticsTime", "LogisticsStatus[1]/logisticsTime", "-505011"),
        ("CEB621", "assureCode", "Inventory[1]/InventoryHead/assureCode", "-621001"),
        ("CEB623", "reason", "InvtCancel[1]/reason", "-623001"),
        ("CEB625", "invtNo", "InvtRefund[1]/InvtRefundHead/invtNo", "-625001"),
    ],
)
def test_required_field_missing(kind: str, field: str, path: str, code: str) -> None:
    message = BUILDERS[kind]()
    head(message).set(**{field: None})
    problem = expect(check(message), "required", path, code)
    assert field in problem.zh and field in problem.en


def test_required_line_field_missing() -> None:
    message = ceb621()
    lines(message)[1].set(gcode=None)
    expect(check(message), "required", "Inventory[1]/InventoryList[2]/gcode", LIST_CODE)


def test_required_field_present_but_empty_is_an_error() -> None:
    message = ceb311()
    head(message).set(orderNo="")
    expect(check(message), "required", "Order[1]/OrderHead/orderNo", ORDER_CODE)


def test_required_field_without_min_length_empty_is_a_warning() -> None:
    # BaseTransfer/copName is required but the XSD allows an empty string.
    message = ceb311()
    message.BaseTransfer.set(copName="")
    expect(check(message), "required", "BaseTransfer/copName", ORDER_CODE, "warning")


# ---- lengths ---------------------------------------------------------------------------------------------


def test_max_length() -> None:
    message = ceb311()
    head(message).set(orderNo="O" * 61)
    problem = expect(check(message), "max_length", "Order[1]/OrderHead/orderNo", ORDER_CODE)
    assert "61" in problem.en and "60" in problem.en


def test_max_length_boundary_passes() -> None:
    message = ceb311()
    head(message).set(orderNo="O" * 60, ebpName="平" * 100)
    assert check(message) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [("currency", "14"), ("currency", "1420"), ("guid", "A" * 35), ("appTime", "2026112811463")],
)
def test_exact_length(field: str, value: str) -> None:
    message = ceb311()
    head(message).set(**{field: value})
    problem = expect(check(message), "length", f"Order[1]/OrderHead/{field}", ORDER_CODE)
    assert f"found {len(value)}" in problem.en


def test_exact_length_in_a_list_head() -> None:
    message = ceb621()
    head(message).set(country="14")
    expect(check(message), "length", "Inventory[1]/InventoryHead/country", LIST_CODE)


# ---- decimals and integers -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["12,5", "1e3", "1E+3", "12.5.0", "¥12", "abc", "12 5", "--1"])
def test_bad_decimal_text(text: str) -> None:
    message = reparse(ceb311(), "<ceb:freight>10.00</ceb:freight>", f"<ceb:freight>{text}</ceb:freight>")
    problems = check(message)
    problem = expect(problems, "decimal", "Order[1]/OrderHead/freight", ORDER_CODE)
    assert "12.50" in problem.en  # says what a valid number looks like
    # an unreadable amount does not also produce a misleading formula problem
    assert not matching(problems, "actural_paid")


@pytest.mark.parametrize("text", ["12.5", " 12.5 ", "+12.5", ".5", "12.", "0012.50"])
def test_decimal_text_accepted(text: str) -> None:
    message = reparse(ceb621(), "<ceb:freight>10.00</ceb:freight>", f"<ceb:freight>{text}</ceb:freight>")
    assert check(message) == []


def test_decimal_set_as_text_in_the_model() -> None:
    message = ceb621()
    head(message).set(insuredFee="1,5")
    expect(check(message), "decimal", "Inventory[1]/InventoryHead/insuredFee", LIST_CODE)


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity")])
def test_decimal_not_finite(value: Decimal) -> None:
    message = ceb621()
    head(message).set(insuredFee=value)
    expect(check(message), "decimal", "Inventory[1]/InventoryHead/insuredFee", LIST_CODE)


def test_fraction_digits() -> None:
    message = ceb621()
    head(message).set(freight=Decimal("1.123456"))
    problem = expect(check(message), "fraction_digits", "Inventory[1]/InventoryHead/freight", LIST_CODE)
    assert "5" in problem.en and "6" in problem.en


@pytest.mark.parametrize("value", ["1.12345", "1.1234500000", "100.000000"])
def test_trailing_zeros_do_not_count_as_fraction_digits(value: str) -> None:
    message = ceb621()
    head(message).set(freight=Decimal(value))
    assert check(message) == []


def test_total_digits() -> None:
    message = ceb621()
    head(message).set(insuredFee=Decimal("12345678901234567890"))  # 20 digits, 19 allowed
    expect(check(message), "total_digits", "Inventory[1]/InventoryHead/insuredFee", LIST_CODE)


def test_negative_amount() -> None:
    message = ceb621()
    head(message).set(insuredFee=Decimal("-0.01"))
    expect(check(message), "negative", "Inventory[1]/InventoryHead/insuredFee", LIST_CODE)


def test_zero_amount_is_not_negative() -> None:
    message = ceb621()
    head(message).set(insuredFee=Decimal("-0"))
    assert check(message) == []


@pytest.mark.parametrize("text", ["1.0", "one", "1 1", "0x1", "一"])
def test_bad_integer(text: str) -> None:
    message = reparse(ceb511(), "<ceb:packNo>1</ceb:packNo>", f"<ceb:packNo>{text}</ceb:packNo>")
    problems = check(message)
    expect(problems, "integer", "Logistics[1]/LogisticsHead/packNo", FIELD_CHECK_CODE["CEB511"])
    assert not matching(problems, "pack_no")


def test_full_width_digits_are_not_an_integer() -> None:
    message = reparse(ceb511(), "<ceb:packNo>1</ceb:packNo>", "<ceb:packNo>\uff11</ceb:packNo>")
    expect(check(message), "integer", "Logistics[1]/LogisticsHead/packNo", FIELD_CHECK_CODE["CEB511"])


def test_full_width_digits_are_not_a_decimal() -> None:
    text = "\uff11\uff10.\uff10\uff10"  # １０.００
    message = reparse(ceb621(), "<ceb:freight>10.00</ceb:freight>", f"<ceb:freight>{text}</ceb:freight>")
    expect(check(message), "decimal", "Inventory[1]/InventoryHead/freight", LIST_CODE)


def test_full_width_digits_are_not_a_date() -> None:
    message = ceb621()
    head(message).set(declTime="".join(chr(0xFF10 + int(d)) for d in "20261128"))  # ２０２６１１２８
    expect(check(message), "format", "Inventory[1]/InventoryHead/declTime", LIST_CODE)


def test_bad_integer_line_number() -> None:
    message = ceb311()
    lines(message)[0].set(gnum="A")
    expect(check(message), "integer", "Order[1]/OrderList[1]/gnum", ORDER_CODE)


def test_integer_total_digits() -> None:
    message = ceb621()
    head(message).set(packNo=1234567890)  # packNo allows 9 digits
    expect(check(message), "total_digits", "Inventory[1]/InventoryHead/packNo", LIST_CODE)


# ---- dates and times -------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["20261301", "20260230", "20270229", "2026112A"])
def test_bad_date(value: str) -> None:
    message = ceb621()
    head(message).set(declTime=value)
    problem = expect(check(message), "format", "Inventory[1]/InventoryHead/declTime", LIST_CODE)
    assert "YYYYMMDD" in problem.en


@pytest.mark.parametrize("value", ["20261128256000", "20261128240000", "20261128116000", "20261128115960"])
def test_bad_datetime(value: str) -> None:
    message = ceb311()
    head(message).set(appTime=value)
    problem = expect(check(message), "format", "Order[1]/OrderHead/appTime", ORDER_CODE)
    assert "YYYYMMDDhhmmss" in problem.en


@pytest.mark.parametrize(("field", "value"), [("declTime", "20280229"), ("appTime", "20261231235959")])
def test_real_dates_pass(field: str, value: str) -> None:
    message = ceb621()
    head(message).set(**{field: value})
    assert check(message) == []


def test_wrong_length_date_is_a_length_problem_not_a_format_problem() -> None:
    message = ceb621()
    head(message).set(declTime="2026-11-28")
    problems = check(message)
    expect(problems, "length", "Inventory[1]/InventoryHead/declTime", LIST_CODE)
    assert not matching(problems, "format")


def test_bad_receipt_time_is_reported() -> None:
    message = ceb622(return_time="20261128250501123")
    expect(check(message), "format", "InventoryReturn[1]/returnTime", SCHEMA_CODE)


# ---- code lists ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "field", "value", "path", "allowed"),
    [
        ("CEB311", "appType", "4", "Order[1]/OrderHead/appType", "1, 2, 3"),
        ("CEB411", "appStatus", "3", "Payment[1]/PaymentHead/appStatus", "1, 2"),
        ("CEB311", "orderType", "E", "Order[1]/OrderHead/orderType", "I"),
        ("CEB311", "currency", "840", "Order[1]/OrderHead/currency", "142"),
        ("CEB621", "buyerIdType", "2", "Inventory[1]/InventoryHead/buyerIdType", "1"),
        ("CEB411", "payerIdType", "2", "Payment[1]/PaymentHead/payerIdType", "1"),
        ("CEB513", "logisticsStatus", "R", "LogisticsStatus[1]/logisticsStatus", "S"),
        ("CEB621", "tradeMode", "9710", "Inventory[1]/InventoryHead/tradeMode", "9610, 1210"),
        ("CEB621", "ieFlag", "E", "Inventory[1]/InventoryHead/ieFlag", "I"),
    ],
)
def test_code_not_allowed(kind: str, field: str, value: str, path: str, allowed: str) -> None:
    message = BUILDERS[kind]()
    head(message).set(**{field: value})
    problem = expect(check(message), "code", path, FIELD_CHECK_CODE[kind])
    assert f"allowed: {allowed}" in problem.en
    assert repr(value) in problem.en and repr(value) in problem.zh


def test_line_currency_code() -> None:
    message = ceb621()
    lines(message)[0].set(currency="502")
    expect(check(message), "code", "Inventory[1]/InventoryList[1]/currency", LIST_CODE)


def test_base_transfer_dxp_mode_code() -> None:
    message = ceb411()
    message.BaseTransfer.set(dxpMode="FTP")
    expect(check(message), "code", "BaseTransfer/dxpMode", FIELD_CHECK_CODE["CEB411"])


def test_code_list_in_a_receipt_is_a_warning() -> None:
    xml = (
        '<CEB514Message guid="0B2D6F7E-3C1A-4E55-9F00-1A2B3C4D5E6F" version="1.0">'
        "<LogisticsStatusReturn><guid>0B2D6F7E-3C1A-4E55-9F00-1A2B3C4D5E60</guid>"
        "<logisticsCode>110198000C</logisticsCode><logisticsNo>LN202611280001</logisticsNo>"
        "<logisticsStatus>R</logisticsStatus><returnStatus>2</returnStatus>"
        "<returnTime>20261130153001123</returnTime><returnInfo>处理成功</returnInfo>"
        "</LogisticsStatusReturn></CEB514Message>"
    )
    problems = check(parse(xml))
    expect(problems, "code", "LogisticsStatusReturn[1]/logisticsStatus", SCHEMA_CODE, "warning")
    assert errors(problems) == []


# ---- empty optional elements -----------------------------------------------------------------------------


def test_empty_optional_element_with_min_length() -> None:
    message = ceb311()
    head(message).set(consigneeDistrict="")  # optional, exactly 6 characters when given
    problem = expect(check(message), "empty", "Order[1]/OrderHead/consigneeDistrict", SCHEMA_CODE)
    assert "omit" in problem.en


def test_empty_optional_element_from_xml() -> None:
    message = ceb621()
    lines(message)[0].set(tradeCountry="")  # optional, 1..3 characters when given
    xml = render(message).decode()
    assert "<ceb:tradeCountry></ceb:tradeCountry>" in xml
    expect(check(parse(xml)), "empty", "Inventory[1]/InventoryList[1]/tradeCountry", SCHEMA_CODE)


def test_empty_optional_element_without_min_length_passes() -> None:
    # The official samples send <ceb:note></ceb:note>, <ceb:preNo></ceb:preNo>: allowed by the XSD.
    message = ceb621()
    head(message).set(note="", preNo="", loctNo="")
    assert check(message) == []


# ---- node occurrence -------------------------------------------------------------------------------------


def test_missing_head_node_of_order() -> None:
    message = ceb311()
    message.documents[0].children["OrderHead"] = []
    expect(check(message), "required_node", "Order[1]/OrderHead", ORDER_CODE)


def test_order_without_lines_uses_the_official_code() -> None:
    message = ceb311()
    message.documents[0].children["OrderList"] = []
    assert [p.code for p in check(message) if p.path == "Order[1]/OrderList"] == ["-301001"]


def test_missing_base_transfer() -> None:
    message = ceb411()
    message.children["BaseTransfer"] = []
    expect(check(message), "required_node", "BaseTransfer", FIELD_CHECK_CODE["CEB411"])


def test_missing_head_node() -> None:
    message = ceb511()
    message.documents[0].children["LogisticsHead"] = []
    expect(check(message), "required_node", "Logistics[1]/LogisticsHead", FIELD_CHECK_CODE["CEB511"])


def test_message_without_documents() -> None:
    message = ceb311()
    message.children["Order"] = []
    expect(check(message), "required_node", "Order", ORDER_CODE)


def _orders(count: int) -> Message:
    message = ceb311()
    for i in range(2, count + 1):
        add_order(message, Trade(order_no=f"ORD2026112800{i:03d}"))
    return message


def test_100_orders_are_allowed() -> None:
    message = _orders(100)
    assert len(message.documents) == 100
    assert check(message) == []


def test_101_orders_are_too_many() -> None:
    problem = expect(check(_orders(101)), "max_occurs", "Order", ORDER_CODE)
    assert "101" in problem.en and "100" in problem.en


def _many_lines(count: int) -> tuple[Line, ...]:
    return tuple(
        Line(f"SKU-{i:03d}", f"测试商品{i}", "3304990099", "50毫升/瓶", Decimal("1"), Decimal("10.00"))
        for i in range(1, count + 1)
    )


def test_99_order_lines_are_allowed() -> None:
    assert check(ceb311(lines=_many_lines(99))) == []


def test_100_order_lines_are_too_many() -> None:
    problem = expect(check(ceb311(lines=_many_lines(100))), "max_occurs", "Order[1]/OrderList", ORDER_CODE)
    assert "at most 99" in problem.en


def test_100_list_lines_are_too_many() -> None:
    expect(check(ceb621(lines=_many_lines(100))), "max_occurs", "Inventory[1]/InventoryList", LIST_CODE)


def test_base_subscribe_at_most_five() -> None:
    message = ceb311()
    for _ in range(6):
        message.add("BaseSubscribe", status="ALL", dxpMode="DXP", dxpAddress="DXPENT0000000002")
    expect(check(message), "max_occurs", "BaseSubscribe", ORDER_CODE)
    message.children["BaseSubscribe"] = message.children["BaseSubscribe"][:5]
    assert check(message) == []


# ---- CEB311 business rules -------------------------------------------------------------------------------

PAID = "Order[1]/OrderHead/acturalPaid"


def test_actural_paid_formula() -> None:
    problems = check(ceb311(actural_paid=Decimal("500.00")))  # formula gives 502.50
    problem = expect(problems, "actural_paid", PAID, "-301008")
    assert "502.5" in problem.en and "500.00" in problem.en
    assert "商品价格+运杂费+代扣税款-非现金抵扣金额" in problem.zh


@pytest.mark.parametrize("paid", ["502.50", "502.49", "502.51", "502.5"])
def test_actural_paid_within_tolerance(paid: str) -> None:
    assert check(ceb311(actural_paid=Decimal(paid))) == []


@pytest.mark.parametrize("paid", ["502.48", "502.52", "502.511"])
def test_actural_paid_just_outside_tolerance(paid: str) -> None:
    expect(check(ceb311(actural_paid=Decimal(paid))), "actural_paid", PAID, "-301008")


def test_actural_paid_tolerance_is_an_option() -> None:
    message = ceb311(actural_paid=Decimal("503.50"))
    assert matching(check(message), "actural_paid")
    assert check(message, CheckOptions(amount_tolerance=Decimal("1"))) == []


def test_actural_paid_with_zero_freight_tax_and_discount() -> None:
    trade = Trade(freight=Decimal("0"), discount=Decimal("0"), tax_total=Decimal("0"))
    assert trade.paid == trade.goods_value
    assert check(ceb311(trade)) == []


def test_line_total() -> None:
    message = ceb311()
    lines(message)[1].set(totalPrice=Decimal("257.00"))  # 1 × 258.00
    problems = check(message)
    problem = expect(problems, "line_total", "Order[1]/OrderList[2]/totalPrice", ORDER_CODE)
    assert "258" in problem.en
    # the head's goods value no longer matches the lines either: a warning
    expect(problems, "goods_value", "Order[1]/OrderHead/goodsValue", ORDER_CODE, "warning")


def test_line_total_within_tolerance_and_free_gift() -> None:
    gift = Line("GIFT-1", "赠品试用装", "3304990099", "5毫升/支", Decimal("2"), Decimal("0"))
    message = ceb311(lines=(*Trade().lines, gift))
    lines(message)[0].set(price=Decimal("99.004"), totalPrice=Decimal("198.01"))  # 198.008
    assert matching(check(message), "line_total") == []


def test_line_total_in_the_list() -> None:
    message = ceb621()
    lines(message)[0].set(totalPrice=Decimal("99.00"))  # 2 × 99.00
    expect(check(message), "line_total", "Inventory[1]/InventoryList[1]/totalPrice", LIST_CODE)


def test_gnum_duplicate_in_order() -> None:
    message = ceb311()
    lines(message)[1].set(gnum=1)
    problems = check(message)
    problem = expect(problems, "gnum_duplicate", "Order[1]/OrderList[2]/gnum", "-301002")
    assert "Order[1]/OrderList[1]" in problem.en


def test_gnum_gap_in_order() -> None:
    message = ceb311()
    lines(message)[1].set(gnum=3)
    problem = expect(check(message), "gnum_sequence", "Order[1]/OrderList", ORDER_CODE)
    assert "missing 2" in problem.en


def test_gnum_must_start_at_one() -> None:
    message = ceb311()
    lines(message)[0].set(gnum=0)
    problems = check(message)
    expect(problems, "gnum_sequence", "Order[1]/OrderList[1]/gnum", ORDER_CODE)


def test_gnum_out_of_document_order_is_fine() -> None:
    message = ceb311()
    first, second = lines(message)
    first.set(gnum=2)
    second.set(gnum=1)
    assert matching(check(message), "gnum_sequence") == []


# ---- CEB511 ----------------------------------------------------------------------------------------------


def test_waybill_pack_no() -> None:
    message = ceb511()
    head(message).set(packNo=2)
    problem = expect(check(message), "pack_no", "Logistics[1]/LogisticsHead/packNo", "-504011")
    assert "found 2" in problem.en


# ---- CEB621 ----------------------------------------------------------------------------------------------

INV = "Inventory[1]/InventoryHead"


def test_bonded_list_requires_bonded_fields() -> None:
    message = ceb621(trade_mode="1210")
    head(message).set(emsNo=None, areaCode="", areaName="  ")
    for line in lines(message):
        line.set(itemRecordNo=None)
    problems = check(message)
    for path in (
        f"{INV}/emsNo",
        f"{INV}/areaCode",
        f"{INV}/areaName",
        "Inventory[1]/InventoryList[1]/itemRecordNo",
        "Inventory[1]/InventoryList[2]/itemRecordNo",
    ):
        problem = expect(problems, "mode_required", path, LIST_CODE)
        assert "1210" in problem.en and "1210" in problem.zh
    assert not matching(problems, "mode_required", f"{INV}/trafNo")


def test_bonded_list_country_must_be_china() -> None:
    message = ceb621(trade_mode="1210")
    head(message).set(country="116")
    problem = expect(check(message), "bonded_country", f"{INV}/country", LIST_CODE)
    assert "142" in problem.en and "116" in problem.en


def test_direct_purchase_list_requires_transport_fields() -> None:
    message = ceb621()
    head(message).set(trafNo=None, voyageNo="", billNo=" ")
    problems = check(message)
    for name in ("trafNo", "voyageNo", "billNo"):
        problem = expect(problems, "mode_required", f"{INV}/{name}", LIST_CODE)
        assert "9610" in problem.en
    assert not matching(problems, "mode_required", f"{INV}/emsNo")


def test_direct_purchase_list_any_country() -> None:
    message = ceb621()
    head(message).set(country="502")
    assert check(message) == []


def test_list_pack_no() -> None:
    message = ceb621()
    head(message).set(packNo=2)
    expect(check(message), "pack_no", f"{INV}/packNo", LIST_CODE)


def test_list_gnum_duplicate_has_its_own_code() -> None:
    message = ceb621()
    lines(message)[1].set(gnum=1)
    expect(check(message), "gnum_duplicate", "Inventory[1]/InventoryList[2]/gnum", "-621027")


def test_list_without_lines_from_xml() -> None:
    root = etree.fromstring(render(ceb621()))
    inventory = root[0]
    for line in inventory.findall("{http://www.chinaport.gov.cn/ceb}InventoryList"):
        inventory.remove(line)
    message = parse(etree.tostring(root))
    assert message.documents[0].InventoryList == []
    problems = check(message)
    expect(problems, "no_lines", "Inventory[1]/InventoryList", "-621000")
    # the official code replaces the generic missing-node problem: one finding, not two
    assert not matching(problems, "required_node")


def test_second_quantity_without_second_unit() -> None:
    message = ceb621()
    lines(message)[0].set(qty2=Decimal("2"))
    problem = expect(check(message), "second_quantity", "Inventory[1]/InventoryList[1]/qty2", LIST_CODE)
    assert "unit2" in problem.en


@pytest.mark.parametrize("qty2", [None, Decimal("0")])
def test_second_unit_without_second_quantity(qty2: Decimal | None) -> None:
    message = ceb621()
    lines(message)[1].set(unit2="122", qty2=qty2)
    problem = expect(check(message), "second_quantity", "Inventory[1]/InventoryList[2]/qty2", LIST_CODE)
    assert "positive" in problem.en


@pytest.mark.parametrize(("unit2", "qty2"), [("122", Decimal("1")), (None, None), (None, Decimal("0"))])
def test_second_quantity_consistent(unit2: str | None, qty2: Decimal | None) -> None:
    message = ceb621()
    lines(message)[1].set(unit2=unit2, qty2=qty2)
    assert check(message) == []


def test_second_quantity_built_from_the_line() -> None:
    line = Line(
        "SKU-W",
        "葡萄酒",
        "2204210000",
        "750毫升/瓶",
        Decimal("2"),
        Decimal("80"),
        unit="011",
        legal_qty=Decimal("1.5"),  # litres
        legal_unit="095",
        second_qty=Decimal("2.6"),  # kilograms
        second_unit="035",
    )
    message = ceb621(lines=(line,))
    assert (lines(message)[0].qty2, lines(message)[0].unit2) == (Decimal("2.6"), "035")
    assert check(message) == []


def test_declared_list_without_signature() -> None:
    message = ceb621(signed=False)
    problems = check(message)
    problem = expect(problems, "signature_for_declare", f"{INV}/appStatus", LIST_CODE)
    assert "ds:Signature" in problem.en
    expect(problems, "signature_required", "Signature", LIST_CODE)


def test_draft_list_without_signature_still_violates_the_schema() -> None:
    message = ceb621(signed=False, app_status="1")
    problems = check(message)
    expect(problems, "signature_required", "Signature", LIST_CODE)
    assert not matching(problems, "signature_for_declare")


def test_signature_present_satisfies_both() -> None:
    message = ceb621(signed=False)
    message.signature = SIGNATURE_PLACEHOLDER
    assert check(message) == []


def test_signature_optional_for_orders() -> None:
    assert ceb311().signature is None
    assert check(ceb311()) == []


@pytest.mark.parametrize(
    ("kind", "path"),
    [("CEB623", "InvtCancel[1]/appStatus"), ("CEB625", "InvtRefund[1]/InvtRefundHead/appStatus")],
)
def test_cancel_and_return_need_a_signature(kind: str, path: str) -> None:
    message = BUILDERS[kind](signed=False)
    problems = check(message)
    expect(problems, "signature_for_declare", path, FIELD_CHECK_CODE[kind])
    expect(problems, "signature_required", "Signature", FIELD_CHECK_CODE[kind])


# ---- CEB625 ----------------------------------------------------------------------------------------------


def test_return_without_lines() -> None:
    message = ceb625()
    message.documents[0].children["InvtRefundList"] = []
    expect(check(message), "no_lines", "InvtRefund[1]/InvtRefundList", "-625006")


def test_return_of_some_lines_may_skip_line_numbers() -> None:
    assert check(ceb625(returned={2: Decimal("1")})) == []


def test_return_gnum_duplicate() -> None:
    message = ceb625()
    lines(message)[1].set(gnum=1)
    expect(check(message), "gnum_duplicate", "InvtRefund[1]/InvtRefundList[2]/gnum", "-625001")


# ---- ID card numbers (warnings; the number itself never appears in any output) ----------------------------

_REGION, _SEQ = "110101", "000"
BAD_CHECK_DIGIT = TEST_ID_NUMBER[:-1] + ("4" if TEST_ID_NUMBER[-1] != "4" else "5")
SHORT = TEST_ID_NUMBER[:17]
LONG = TEST_ID_NUMBER + "0"
BAD_BIRTH = _REGION + "19900230" + _SEQ + id_check_digit(_REGION + "19900230" + _SEQ)
FUTURE_MONTH = _REGION + "19901301" + _SEQ + id_check_digit(_REGION + "19901301" + _SEQ)
LETTERS = "11010119900307000A"
BAD_IDS = {
    "check digit": BAD_CHECK_DIGIT,
    "17 characters": SHORT,
    "19 characters": LONG,
    "30 February": BAD_BIRTH,
    "month 13": FUTURE_MONTH,
    "letter": LETTERS,
}


def _assert_no_id_in(problems: list[Problem], number: str) -> None:
    for problem in problems:
        for text in (
            problem.zh,
            problem.en,
            problem.path,
            str(problem),
            repr(problem),
            str(problem.as_dict()),
        ):
            assert number not in text, problem.rule


@pytest.mark.parametrize("case", list(BAD_IDS))
def test_bad_id_number_is_a_warning(case: str) -> None:
    number = BAD_IDS[case]
    message = ceb311(buyer=Buyer(id_number=number))
    problems = check(message)
    expect(problems, "id_card", "Order[1]/OrderHead/buyerIdNumber", ORDER_CODE, "warning")
    assert errors(problems) == []
    _assert_no_id_in(problems, number)


def test_id_problem_texts_name_the_defect() -> None:
    def text(number: str) -> str:
        return one(
            check(ceb311(buyer=Buyer(id_number=number))), "id_card", "Order[1]/OrderHead/buyerIdNumber"
        ).en

    assert "check digit" in text(BAD_CHECK_DIGIT)
    assert "18 characters" in text(SHORT)
    assert "birth date" in text(BAD_BIRTH)


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        ("CEB411", "Payment[1]/PaymentHead/payerIdNumber"),
        ("CEB621", "Inventory[1]/InventoryHead/buyerIdNumber"),
        ("CEB623", "InvtCancel[1]/buyerIdNumber"),
        ("CEB625", "InvtRefund[1]/InvtRefundHead/buyerIdNumber"),
    ],
)
def test_bad_id_number_in_every_declaration_with_a_buyer(kind: str, path: str) -> None:
    problems = check(BUILDERS[kind](buyer=Buyer(id_number=BAD_CHECK_DIGIT)))
    expect(problems, "id_card", path, FIELD_CHECK_CODE[kind], "warning")
    assert errors(problems) == []
    _assert_no_id_in(problems, BAD_CHECK_DIGIT)


@pytest.mark.parametrize("case", list(BAD_IDS))
def test_id_checksum_option_silences_it(case: str) -> None:
    message = ceb621(buyer=Buyer(id_number=BAD_IDS[case]))
    assert check(message, CheckOptions(id_checksum=False)) == []


def test_id_number_with_x_check_character_is_valid() -> None:
    sequence = next(f"{n:03d}" for n in range(1000) if id_check_digit(f"{_REGION}19900307{n:03d}") == "X")
    number = synthetic_id_number(sequence=sequence)
    assert number.endswith("X")
    assert check(ceb311(buyer=Buyer(id_number=number))) == []


def test_id_number_is_only_checked_for_id_cards() -> None:
    message = ceb311(buyer=Buyer(id_type="2", id_number="E12345678"))  # 2 = other document
    problems = check(message)
    expect(problems, "code", "Order[1]/OrderHead/buyerIdType", ORDER_CODE)
    assert not matching(problems, "id_card")
    _assert_no_id_in(problems, "E12345678")


def test_id_number_never_in_any_problem_of_a_defective_message() -> None:
    number = BAD_CHECK_DIGIT
    message = ceb621(buyer=Buyer(id_number=number), signed=False)
    head(message).set(buyerIdType="1", appTime="20261399000000", packNo=3)
    lines(message)[0].set(totalPrice=Decimal("1"))
    problems = check(message)
    assert len(problems) >= 4
    _assert_no_id_in(problems, number)


def test_valid_test_id_passes_on_its_own() -> None:
    assert check(ceb411(buyer=Buyer(id_number=TEST_ID_NUMBER))) == []


# ---- 2018 edition lengths --------------------------------------------------------------------------------

ITEM_NO = "Inventory[1]/InventoryList[1]/itemNo"


def test_2018_item_no_length_is_a_warning_when_lenient() -> None:
    message = ceb621()
    lines(message)[0].set(itemNo="I" * 25)
    problem = expect(check(message), "max_length", ITEM_NO, LIST_CODE, "warning")
    assert "2018" in problem.en and "20" in problem.en and "30" in problem.en


def test_2018_item_no_length_is_an_error_in_the_202205_edition() -> None:
    message = ceb621()
    lines(message)[0].set(itemNo="I" * 25)
    expect(check(message, STRICT), "max_length", ITEM_NO, LIST_CODE, "error")


@pytest.mark.parametrize("options", [CheckOptions(), STRICT], ids=["lenient", "202205"])
def test_item_no_beyond_both_editions_is_an_error(options: CheckOptions) -> None:
    message = ceb621()
    lines(message)[0].set(itemNo="I" * 31)
    expect(check(message, options), "max_length", ITEM_NO, LIST_CODE, "error")


@pytest.mark.parametrize("length", [20, 30])
def test_item_no_boundaries(length: int) -> None:
    message = ceb621()
    lines(message)[0].set(itemNo="I" * length)
    severities = [p.severity for p in check(message)]
    assert severities == ([] if length == 20 else ["warning"])


def test_order_item_no_allows_30_in_both_editions() -> None:
    message = ceb311()
    lines(message)[0].set(itemNo="I" * 30)
    assert check(message, STRICT) == []


# ---- everything is reported ------------------------------------------------------------------------------


def test_all_problems_are_reported_not_just_the_first() -> None:
    message = ceb311()
    h = head(message)
    h.set(orderNo=None, currency="840", appTime="20261128256000", freight=Decimal("-1"))
    lines(message)[1].set(totalPrice=Decimal("1.00"))
    problems = check(message)
    assert len(problems) >= 5
    rules = {p.rule for p in problems}
    assert {"required", "code", "format", "negative", "line_total"} <= rules
    assert {p.path for p in problems} >= {
        "Order[1]/OrderHead/orderNo",
        "Order[1]/OrderHead/currency",
        "Order[1]/OrderHead/appTime",
        "Order[1]/OrderHead/freight",
        "Order[1]/OrderList[2]/totalPrice",
    }


def test_problems_in_several_documents_carry_their_own_paths() -> None:
    message = _orders(3)
    head(message).set(currency="840")
    message.documents[2].OrderHead.set(currency="840")
    paths = [p.path for p in check(message) if p.rule == "code"]
    assert paths == ["Order[1]/OrderHead/currency", "Order[3]/OrderHead/currency"]


# ---- receipts and parse notes ----------------------------------------------------------------------------

RECEIPT_622 = (
    '<CEB622Message xmlns="http://www.chinaport.gov.cn/ceb" guid="4CDE1CFD-0000-4000-8000-000000000622" '
    'version="1.0"><InventoryReturn>'
    "<guid>4CDE1CFD-0000-4000-8000-000000000621</guid><customsCode>2924</customsCode>"
    "<ebpCode>110196000A</ebpCode><ebcCode>110196000B</ebcCode><agentCode>110198000E</agentCode>"
    "<copNo>ORD202611280001</copNo><preNo>B92420261000000001</preNo><invtNo>292420261000000001</invtNo>"
    "<returnStatus>800</returnStatus><returnTime>20261128120501123</returnTime>"
    "<returnInfo>[Code:2600;Desc:放行]</returnInfo>{extra}</InventoryReturn></CEB622Message>"
)


def test_receipt_clean() -> None:
    assert check(parse(RECEIPT_622.format(extra=""))) == []


def test_unknown_element_in_a_receipt_is_a_warning() -> None:
    message = parse(RECEIPT_622.format(extra="<taxAmount>41.50</taxAmount>"))
    problems = check(message)
    problem = expect(problems, "unknown_element", "InventoryReturn[1]/taxAmount", SCHEMA_CODE, "warning")
    assert "taxAmount" in problem.en
    assert errors(problems) == []
    assert message.documents[0].extra == [("taxAmount", "41.50")]


def test_unknown_element_in_a_declaration_is_an_error() -> None:
    xml = (
        render(ceb311())
        .decode()
        .replace(
            "<ceb:currency>142</ceb:currency>",
            "<ceb:currency>142</ceb:currency><ceb:giftWrap>Y</ceb:giftWrap>",
            1,
        )
    )
    message = parse(xml)
    expect(check(message), "unknown_element", "Order[1]/OrderHead/giftWrap", SCHEMA_CODE)


def test_duplicate_field_and_order_are_parse_notes() -> None:
    xml = (
        render(ceb511())
        .decode()
        .replace("<ceb:packNo>1</ceb:packNo>", "<ceb:packNo>1</ceb:packNo><ceb:packNo>2</ceb:packNo>", 1)
    )
    problems = check(parse(xml))
    expect(problems, "duplicate", "Logistics[1]/LogisticsHead/packNo", SCHEMA_CODE)
    assert not matching(problems, "pack_no")  # the first value counts
