"""parse ∘ render: the official samples, generated messages of all 42 types, and the tolerant input forms.

Generated messages (tests/strategies.py) must render to XML the official 202205 XSD accepts, parse back to an
equal message, and pass the structural checks. The official samples must parse, survive the round trip and,
where the sample itself is schema-valid, render to schema-valid XML; the known-bad samples must produce their
specific problems.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from lxml import etree

from cbec.ceb import ExtendMessage, Message, Problem, check, message_spec, new_message, parse, render
from cbec.ceb.catalogue import MESSAGE_TYPES, NAMESPACE
from cbec.ceb.check import CheckOptions
from cbec.ceb.model import Value
from conftest import reference_path
from strategies import messages, minimal_message

ALL_CODES = sorted(MESSAGE_TYPES)
#: customs-issued types without an official sample
NO_SAMPLE = {"CEB816", "CEB818", "CEB900"}
SAMPLES = [("official-202205", c) for c in ALL_CODES if c not in NO_SAMPLE] + [
    ("official-2018", c) for c in ("CEB311", "CEB603", "CEB621")
]
REPEATED_BASE_TRANSFER = ["CEB303", "CEB403", "CEB505", "CEB507", "CEB509", "CEB603", "CEB605", "CEB607"]
#: official 202205 samples that the official 202205 XSD rejects as given (reference README)
KNOWN_INVALID_202205 = {*REPEATED_BASE_TRANSFER, "CEB214", "CEB792"}

XSD_FILES = {
    ("202205", "import"): "ceb/xsd/202205/海关跨境进口业务节点报文定义202205.xsd",
    ("202205", "export"): "ceb/xsd/202205/海关跨境出口业务节点报文定义202205.xsd",
    ("2018", "import"): "ceb/xsd/2018/进口业务节点报文.xsd",
    ("2018", "export"): "ceb/xsd/2018/出口业务节点报文.xsd",
}

#: structural rules that a schema-valid generated message must never trip (business rules such as line
#: totals may fire on random amounts and are not listed)
STRUCTURAL_RULES = {
    "required",
    "length",
    "max_length",
    "decimal",
    "fraction_digits",
    "total_digits",
    "integer",
    "format",
    "required_node",
    "max_occurs",
}
#: notes parse makes about the document's form; none may appear when reading our own rendering
FORM_RULES = {"order", "unknown_element", "duplicate", "not_simple", "root_name", "namespace"}

GENERATED = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


@cache
def official_schema(edition: str, direction: str) -> etree.XMLSchema:
    """The official business-node schema (skips the test when the reference folder is absent)."""
    return etree.XMLSchema(etree.parse(str(reference_path() / XSD_FILES[(edition, direction)])))


def assert_schema_valid(xml: bytes, edition: str, direction: str) -> None:
    schema = official_schema(edition, direction)
    if not schema.validate(etree.fromstring(xml)):
        errors = "\n".join(str(schema.error_log).splitlines()[:5])
        pytest.fail(f"not valid against the {edition} {direction} XSD:\n{errors}")


def sample_path(folder: str, code: str) -> Path:
    return reference_path() / "ceb/samples" / folder / f"{code}Message.xml"


def rules_at(problems: list[Problem], rule: str) -> dict[str, str]:
    """path -> severity of every problem with `rule`."""
    return {p.path: p.severity for p in problems if p.rule == rule}


def c14n(xml: bytes | None) -> bytes | None:
    """Exclusive canonical form of an embedded element (drops unused namespace declarations)."""
    return None if xml is None else etree.tostring(etree.fromstring(xml), method="c14n", exclusive=True)


def assert_same(back: Message, message: Message) -> None:
    """back == message, with the embedded ds:Signature and ExtendMessage elements compared in canonical form:
    parse() does not give back their bytes (see test_embedded_xml_bytes_survive_round_trip)."""
    assert c14n(back.signature) == c14n(message.signature)
    assert (back.extend is None) == (message.extend is None)
    if back.extend is not None and message.extend is not None:
        assert c14n(back.extend.message) == c14n(message.extend.message)
    saved = back.signature, back.extend
    back.signature = message.signature
    if back.extend is not None and message.extend is not None:
        back.extend = ExtendMessage(back.extend.name, back.extend.version, message.extend.message)
    try:
        assert back.guid == message.guid
        # The XML first: on failure it gives a readable line diff (a Message repr is megabytes long).
        assert render(back).decode() == render(message).decode()
        assert back == message
    finally:
        back.signature, back.extend = saved


def assert_round_trip(message: Message, *, pretty: bool = True, clean: bool = True) -> Message:
    """parse(render(m)) == m (see `assert_same`); with `clean`, our own output raises no form notes."""
    back = parse(render(message, pretty=pretty))
    assert_same(back, message)
    if clean:
        assert [p for p in back.parse_notes if p.rule in FORM_RULES] == []
    return back


# ---- the official samples ---------------------------------------------------------------------------------


@pytest.mark.reference
@pytest.mark.parametrize(("folder", "code"), SAMPLES)
def test_sample_parses_and_round_trips(folder: str, code: str) -> None:
    message = parse(sample_path(folder, code))
    assert message.code == code
    assert message.documents, "the business nodes were not read"
    for pretty in (True, False):
        assert_round_trip(message, pretty=pretty, clean=False)
    # Rendering is a fixed point after one round.
    assert render(parse(render(message))) == render(message)
    # check reports, never raises, and explains every problem in both languages.
    for problem in check(message):
        assert problem.rule and problem.zh and problem.en
        assert problem.severity in ("error", "warning")


@pytest.mark.reference
@pytest.mark.parametrize(("folder", "code"), SAMPLES)
def test_sample_valid_as_given_renders_valid(folder: str, code: str) -> None:
    edition = "2018" if folder == "official-2018" else "202205"
    direction = MESSAGE_TYPES[code].direction
    path = sample_path(folder, code)
    valid_as_given = official_schema(edition, direction).validate(etree.parse(str(path)))
    if edition == "202205":
        assert valid_as_given == (code not in KNOWN_INVALID_202205)
    else:
        assert valid_as_given
    if valid_as_given:
        assert_schema_valid(render(parse(path)), "202205", direction)


@pytest.mark.reference
@pytest.mark.parametrize("code", REPEATED_BASE_TRANSFER)
def test_sample_repeated_base_transfer_is_reported(code: str) -> None:
    message = parse(sample_path("official-202205", code))
    assert len(message.children["BaseTransfer"]) == 2  # kept, not silently dropped
    assert rules_at(check(message), "max_occurs") == {"BaseTransfer": "error"}


@pytest.mark.reference
def test_sample_ceb214_root_name_is_reported() -> None:
    message = parse(sample_path("official-202205", "CEB214"))
    assert message.code == "CEB214"
    problems = check(message)
    assert rules_at(problems, "root_name") == {"CEB214": "error"}
    # The sample also carries appSenderId, which the XSD does not define for RefundReturn: kept, a warning.
    unknown = rules_at(problems, "unknown_element")
    assert unknown["RefundReturn[1]/appSenderId"] == "warning"
    assert set(unknown.values()) == {"warning"}
    assert ("appSenderId", "1105910159") in message.documents[0].extra
    # Rendering repairs the root name; without the unknown element the result is schema-valid.
    xml = render(message, include_unknown=False)
    assert etree.fromstring(xml).tag == f"{{{NAMESPACE}}}CEB214Message"
    assert_schema_valid(xml, "202205", "export")


@pytest.mark.reference
def test_sample_ceb792_missing_gseqno_is_reported() -> None:
    message = parse(sample_path("official-202205", "CEB792"))
    path = "SummaryResult[1]/SummaryResultList[1]/gseqno"
    # gseqno is new in 202205: the lenient default tolerates its absence with a warning, 202205 mode refuses.
    assert rules_at(check(message), "required")[path] == "warning"
    strict = rules_at(check(message, CheckOptions(edition="202205")), "required")
    assert strict[path] == "error"
    assert "SummaryResult[1]/SummaryResultList[2]/gseqno" in strict


@pytest.mark.reference
def test_sample_ceb311_line_total_is_reported() -> None:
    message = parse(sample_path("official-202205", "CEB311"))
    totals = rules_at(check(message), "line_total")
    assert totals["Order[1]/OrderList[2]/totalPrice"] == "error"
    assert "Order[1]/OrderList[1]/totalPrice" not in totals
    assert all(p.endswith("/OrderList[2]/totalPrice") for p in totals)


# ---- generated messages of every type ----------------------------------------------------------------------


@pytest.mark.parametrize("code", ALL_CODES)
@GENERATED
@given(data=st.data())
def test_generated_messages_round_trip_and_pass_structural_checks(code: str, data: st.DataObject) -> None:
    message = data.draw(messages(code), label="message")
    note(render(message).decode("utf-8"))
    assert message.code == code
    assert_round_trip(message, pretty=True)
    assert_round_trip(message, pretty=False)
    structural = [p for p in check(message) if p.is_error and p.rule in STRUCTURAL_RULES]
    assert structural == []


@pytest.mark.reference
@pytest.mark.parametrize("code", ALL_CODES)
@GENERATED
@given(data=st.data())
def test_generated_messages_validate_against_official_xsd(code: str, data: st.DataObject) -> None:
    message = data.draw(messages(code), label="message")
    xml = render(message)
    note(xml.decode("utf-8"))
    assert_schema_valid(xml, "202205", message.type.direction)
    assert_schema_valid(render(message, pretty=False), "202205", message.type.direction)


@pytest.mark.parametrize("code", ALL_CODES)
def test_minimal_message_is_clean(code: str) -> None:
    """The smallest complete message of each type (tests/strategies.minimal_message) round-trips and has no
    structural problems (test_minimal_message_validates checks it against the XSD)."""
    message = minimal_message(code)
    assert_round_trip(message)
    assert [p for p in check(message) if p.rule in STRUCTURAL_RULES] == []
    if message.mspec.signature_slot is not None and message.mspec.signature_slot.min_occurs:
        assert message.signature is not None


@pytest.mark.reference
@pytest.mark.parametrize("code", ALL_CODES)
def test_minimal_message_validates(code: str) -> None:
    message = minimal_message(code)
    assert_schema_valid(render(message), "202205", message.type.direction)


# ---- decimals ---------------------------------------------------------------------------------------------


def _order(**line: Value) -> Message:
    m = new_message("CEB311", guid="4CDE1CFD-0000-4000-8000-000000000001")
    order = m.add("Order")
    order.add("OrderHead", orderNo="订单-1", freight=Decimal("0"), currency="142")
    order.add("OrderList", gnum=1, itemName="奶粉", **line)
    m.add("BaseTransfer", copCode="1101110325", copName="测试企业", dxpMode="DXP", dxpId="DXPENT0000000001")
    return m


def test_decimals_render_as_written() -> None:
    m = _order(qty=Decimal("2"), price=Decimal("13.89000"), totalPrice=Decimal("27.78"))
    xml = render(m).decode()
    assert "<ceb:price>13.89000</ceb:price>" in xml
    assert "<ceb:freight>0</ceb:freight>" in xml
    assert "<ceb:totalPrice>27.78</ceb:totalPrice>" in xml
    line = parse(xml.encode()).documents[0].children["OrderList"][0]
    assert str(line.values["price"]) == "13.89000"


def test_decimals_read_from_text_render_back_unchanged() -> None:
    xml = render(_order(price=Decimal("1"))).decode()
    for written in ("13.89000", "0", "0.00", "99999999999999.99999", "0.00001", "100"):
        text = xml.replace("<ceb:price>1</ceb:price>", f"<ceb:price>{written}</ceb:price>")
        m = parse(text.encode())
        assert m.documents[0].children["OrderList"][0].values["price"] == Decimal(written)
        assert f"<ceb:price>{written}</ceb:price>" in render(m).decode()


def test_decimals_never_render_in_exponent_form() -> None:
    xml = render(_order(price=Decimal("1E+2"), totalPrice=Decimal("5E-7"))).decode()
    assert "<ceb:price>100</ceb:price>" in xml
    assert "<ceb:totalPrice>0.0000005</ceb:totalPrice>" in xml


# ---- namespace forms, order, unknown elements --------------------------------------------------------------


def _namespace_forms(xml: bytes) -> dict[str, bytes]:
    text = xml.decode("utf-8")
    declaration = f' xmlns:ceb="{NAMESPACE}"'
    assert declaration in text
    unprefixed = text.replace("<ceb:", "<").replace("</ceb:", "</")
    return {
        "prefix": xml,
        "default": unprefixed.replace(declaration, f' xmlns="{NAMESPACE}"').encode(),
        "none": unprefixed.replace(declaration, "").encode(),
    }


@pytest.mark.parametrize("code", ["CEB311", "CEB312", "CEB603", "CEB621", "CEB816"])
def test_namespace_forms_parse_to_equal_messages(code: str) -> None:
    m = minimal_message(code)
    forms = _namespace_forms(render(m))
    for form, xml in forms.items():
        back = parse(xml)
        assert back.namespace_form == form
        assert_same(back, m)
        assert back.parse_notes == [], form
    assert etree.fromstring(forms["none"]).nsmap == {}
    assert etree.fromstring(forms["default"]).nsmap == {None: NAMESPACE}


def test_foreign_namespace_is_reported() -> None:
    xml = render(_order()).replace(NAMESPACE.encode(), b"http://example.com/not-ceb")
    problems = check(parse(xml))
    assert rules_at(problems, "namespace") == {"CEB311Message": "error"}


def test_out_of_order_elements_are_reported_and_rendered_in_schema_order() -> None:
    m = _order(qty=Decimal("1"), price=Decimal("3"), totalPrice=Decimal("3"))
    root = etree.fromstring(render(m))
    order = root[0]
    head = order[0]
    # Swap two head fields, and put the order lines before the head.
    head.insert(0, head[1])
    order.append(order[0])
    # BaseTransfer before the order at the root.
    root.insert(0, root[1])
    shuffled = etree.tostring(root)
    back = parse(shuffled)
    assert back == m
    assert rules_at(check(back), "order") == {
        "CEB311Message": "error",
        "Order[1]": "error",
        "Order[1]/OrderHead": "error",
    }
    again = etree.fromstring(render(back))
    assert [etree.QName(e).localname for e in again] == ["Order", "BaseTransfer"]
    assert [etree.QName(e).localname for e in again[0]] == ["OrderHead", "OrderList"]
    head_names = [etree.QName(e).localname for e in again[0][0]]
    spec_order = message_spec("CEB311").body.node.children["OrderHead"].node.order
    assert head_names == sorted(head_names, key=spec_order.__getitem__)
    assert parse(render(back)).parse_notes == []


def test_unknown_element_in_receipt_is_kept_as_a_warning() -> None:
    m = new_message("CEB312", guid="4CDE1CFD-0000-4000-8000-000000000003")
    m.add("OrderReturn", guid="4CDE1CFD-0000-4000-8000-000000000004", returnStatus="2")
    xml = render(m).replace(
        b"</ceb:OrderReturn>", "<ceb:appSenderId>发送方-1</ceb:appSenderId></ceb:OrderReturn>".encode()
    )
    back = parse(xml)
    receipt = back.documents[0]
    assert receipt.extra == [("appSenderId", "发送方-1")]
    assert receipt.values["returnStatus"] == "2"
    assert rules_at(check(back), "unknown_element") == {"OrderReturn[1]/appSenderId": "warning"}
    # Kept on output by default (and read back the same), dropped on request.
    assert parse(render(back)) == back
    assert b"appSenderId" not in render(back, include_unknown=False)


def test_unknown_element_in_declaration_is_an_error() -> None:
    m = _order()
    xml = render(m).replace(
        b"</ceb:OrderHead>", b"<ceb:secretDiscount>5</ceb:secretDiscount></ceb:OrderHead>"
    )
    back = parse(xml)
    assert back.documents[0].children["OrderHead"][0].extra == [("secretDiscount", "5")]
    assert rules_at(check(back), "unknown_element") == {"Order[1]/OrderHead/secretDiscount": "error"}


# ---- library bugs, documented ----------------------------------------------------------------------------


def test_embedded_xml_bytes_survive_round_trip() -> None:
    m = new_message("CEB621", guid="4CDE1CFD-0000-4000-8000-000000000005")
    m.signature = (
        b'<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo/>'
        b"<ds:SignatureValue>AAAA</ds:SignatureValue></ds:Signature>"
    )
    m.extend = ExtendMessage("扩展", "1.0", b"<x>1</x>")
    back = parse(render(m))
    assert back.signature == m.signature
    assert back.extend == m.extend


def test_check_collapses_only_xml_whitespace() -> None:
    m = new_message("CEB507", guid="4CDE1CFD-0000-4000-8000-000000000006")
    head = m.add("Arrival").add("ArrivalHead")
    head.set(trafMode="\u3000", domesticTrafNo="A" + "\u3000" * 100)
    problems = check(m)
    # One ideographic space is one character for the XSD: trafMode (length 1) is present and valid ...
    assert "Arrival[1]/ArrivalHead/trafMode" not in rules_at(problems, "required")
    # ... and 101 characters exceed domesticTrafNo's maxLength 100.
    assert rules_at(problems, "max_length").get("Arrival[1]/ArrivalHead/domesticTrafNo") == "error"


def test_check_collapses_xml_whitespace() -> None:
    """The ASCII side of the collapse rule, which check gets right."""
    m = new_message("CEB507", guid="4CDE1CFD-0000-4000-8000-000000000007")
    head = m.add("Arrival").add("ArrivalHead")
    head.set(trafMode=" 5 ", domesticTrafNo=" 京A  12345 " + " " * 200)
    problems = check(m)
    assert "Arrival[1]/ArrivalHead/trafMode" not in {p.path for p in problems}
    assert "Arrival[1]/ArrivalHead/domesticTrafNo" not in {p.path for p in problems}
    head.set(trafMode=" 5 6 ")
    assert rules_at(check(m), "length") == {"Arrival[1]/ArrivalHead/trafMode": "error"}


@pytest.mark.reference
@pytest.mark.parametrize(
    ("values", "valid"),
    [
        ({"trafMode": "\u3000"}, True),
        ({"trafMode": " 5 ", "domesticTrafNo": " 京A  12345 "}, True),
        ({"domesticTrafNo": "A" + "\u3000" * 100}, False),
        ({"trafMode": " 5 6 "}, False),
    ],
)
def test_xsd_collapse_touches_only_xml_whitespace(values: dict[str, str], valid: bool) -> None:
    """The schema facts the two tests above rely on."""
    m = minimal_message("CEB507")
    m.documents[0].children["ArrivalHead"][0].set(**values)
    schema = official_schema("202205", "export")
    assert schema.validate(etree.fromstring(render(m))) == valid, str(schema.error_log)


def test_message_repr_is_compact() -> None:
    assert len(repr(new_message("CEB621"))) < 500
