"""Receipts: the returnStatus table, returnInfo text, building receipts and tax messages that validate against
the official schemas, and reading what customs sends."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from cbec.ceb.catalogue.messages import MESSAGE_TYPES
from cbec.ceb.catalogue.spec import message_spec
from cbec.ceb.dxp import CST
from cbec.ceb.error_codes import ERROR_CODES, duplicated_codes, error_codes, error_text
from cbec.ceb.model import Message, new_message
from cbec.ceb.parse import parse
from cbec.ceb.receipts import (
    ReceiptError,
    ReturnInfoPart,
    TaxBill,
    TaxLine,
    TaxStatus,
    build_receipt,
    build_return,
    build_tax_bill,
    build_tax_status,
    document_keys,
    fit_return_info,
    format_return_info,
    format_return_time,
    parse_return_info,
    parse_return_time,
    read_receipts,
    receipt_message,
)
from cbec.ceb.render import render
from cbec.ceb.return_status import RECEIPT_CODES, status_info, status_problem, statuses_for, tax_status_info

DECLARATIONS = sorted(code for code, t in MESSAGE_TYPES.items() if t.kind == "declaration")
WHEN = datetime(2024, 3, 5, 9, 8, 7, 654000, tzinfo=CST)
PRE_NO = "B20240305000000001"
INVT_NO = "29242024I000000001"


# ------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def schemas(reference_dir: Path) -> dict[str, etree.XMLSchema]:
    base = reference_dir / "ceb" / "xsd" / "202205"
    return {
        "import": etree.XMLSchema(etree.parse(str(base / "海关跨境进口业务节点报文定义202205.xsd"))),
        "export": etree.XMLSchema(etree.parse(str(base / "海关跨境出口业务节点报文定义202205.xsd"))),
    }


@pytest.fixture(scope="module")
def samples(reference_dir: Path) -> Path:
    folder = reference_dir / "ceb" / "samples" / "official-202205"
    if not folder.is_dir():
        pytest.skip("official 202205 samples absent on this machine")
    return folder


def assert_valid(schemas: dict[str, etree.XMLSchema], message: Message) -> bytes:
    xml = render(message)
    schema = schemas[message.type.direction]
    ok = schema.validate(etree.fromstring(xml))
    assert ok, f"{message.code} does not validate: {schema.error_log}"
    return xml


def sample_overrides(receipt_code: str) -> dict[str, str]:
    """What the e-port would generate: a preNo where the receipt has one, an 18-char invtNo on import."""
    fields = message_spec(receipt_code).body.node.fields
    values = {}
    if "preNo" in fields:
        values["preNo"] = PRE_NO
    invt = fields.get("invtNo")
    if invt is not None and invt.min_length == 18:
        values["invtNo"] = INVT_NO
    return values


# ------------------------------------------------------------------------------- building receipts


@pytest.mark.reference
@pytest.mark.parametrize("code", DECLARATIONS)
def test_receipt_for_every_declaration_validates_and_round_trips(
    code: str, samples: Path, schemas: dict[str, etree.XMLSchema]
) -> None:
    declaration = parse(samples / f"{code}Message.xml")
    receipt_code = declaration.type.receipt
    assert receipt_code is not None
    receipt = build_receipt(
        declaration, status="2", info="新增申报成功", time=WHEN, overrides=sample_overrides(receipt_code)
    )
    assert receipt.code == receipt_code
    assert len(receipt.documents) == len(declaration.documents)
    assert len(receipt.guid) == 36 and receipt.guid == receipt.guid.upper()
    for document, node in zip(declaration.documents, receipt.documents, strict=True):
        keys = document_keys(document, receipt_code)
        assert node.values["guid"] == keys["guid"]  # the head guid of the answered document
        for name, value in keys.items():
            if name not in sample_overrides(receipt_code):
                assert node.values[name] == value, name
        assert node.values["returnTime"] == "20240305090807654"
        assert node.values["returnStatus"] == "2"
    xml = assert_valid(schemas, receipt)
    assert parse(xml) == receipt


@pytest.mark.reference
def test_import_list_receipt_copies_keys_and_takes_per_document_values(
    samples: Path, schemas: dict[str, etree.XMLSchema]
) -> None:
    declaration = parse(samples / "CEB621Message.xml")
    per_doc = [{"preNo": f"B2024030500000{i:04d}", "invtNo": f"29242024I00000{i:04d}"} for i in range(10)]
    receipt = build_receipt(
        declaration, status=800, info="[Code:2600;Desc:放行]", time=WHEN, overrides=per_doc
    )
    head = declaration.documents[0].child("InventoryHead")
    assert head is not None
    first = receipt.documents[0]
    assert first.values["guid"] == head.values["guid"] == "4CDE1CFD-EDED-46B1-946C-B8022E42FC94"
    for name in ("customsCode", "ebpCode", "ebcCode", "agentCode", "copNo"):
        assert first.values[name] == head.values[name]
    assert [n.values["preNo"] for n in receipt.documents] == [d["preNo"] for d in per_doc]
    assert receipt.documents[9].values["invtNo"] == "29242024I000000009"
    assert_valid(schemas, receipt)


def _order() -> Message:
    msg = new_message("CEB311")
    order = msg.add("Order")
    order.add(
        "OrderHead", guid="A" * 36, appType="1", orderNo="ORDER-1", ebpCode="1101110325", ebcCode="1101110326"
    )
    return msg


def test_root_guid_fresh_unless_given_and_return_guid_is_head_guid() -> None:
    receipt = build_receipt(_order(), status="120", info="[Code:1800;Desc:逻辑校验通过]", time=WHEN)
    assert receipt.code == "CEB312"
    assert receipt.guid != "A" * 36 and receipt.guid == receipt.guid.upper() and len(receipt.guid) == 36
    node = receipt.documents[0]
    assert node.values == {
        "guid": "A" * 36,
        "ebpCode": "1101110325",
        "ebcCode": "1101110326",
        "orderNo": "ORDER-1",
        "returnStatus": "120",
        "returnTime": "20240305090807654",
        "returnInfo": "[Code:1800;Desc:逻辑校验通过]",
    }
    given = build_receipt(_order(), status="2", info="ok", time=WHEN, guid="B" * 36)
    assert given.guid == "B" * 36


def test_return_time_is_china_standard_time() -> None:
    moment = datetime(2024, 12, 31, 16, 30, 0, 123456, tzinfo=UTC)
    assert format_return_time(moment) == "20250101003000123"
    with pytest.raises(ReceiptError):
        format_return_time(datetime(2024, 1, 1))  # naive: refused, not guessed
    read = parse_return_time("20250101003000123")
    assert read == moment.replace(microsecond=123000)
    assert read is not None and read.utcoffset() == CST.utcoffset(None)
    assert parse_return_time("2025-13-01") is None and parse_return_time("") is None


def test_status_not_valid_for_receipt_is_refused_unless_asked() -> None:
    with pytest.raises(ReceiptError) as err:
        build_receipt(_order(), status="800", info="放行", time=WHEN)
    assert "800" in err.value.zh and "CEB312" in err.value.en
    with pytest.raises(ReceiptError):
        build_receipt(_order(), status="abc", info="x", time=WHEN, any_status=True)
    odd = build_return(
        "CEB622", {"guid": "C" * 36, "copNo": "C1", "preNo": PRE_NO}, "600", "挂起", WHEN, any_status=True
    )
    assert odd.values["returnStatus"] == "600"
    error = build_receipt(_order(), status="-301010", info="", time=WHEN)
    assert error.documents[0].values["returnInfo"] == "已存在相同编号的订单"  # empty info: the official text


def test_missing_required_key_is_refused_with_field_name() -> None:
    msg = new_message("CEB621")
    inventory = msg.add("Inventory")
    inventory.add("InventoryHead", guid="D" * 36, copNo="COP1", preNo="")
    with pytest.raises(ReceiptError) as err:
        build_receipt(msg, status="2", info="x", time=WHEN)
    assert "preNo" in err.value.zh and "preNo" in err.value.en
    ok = build_receipt(msg, status="2", info="x", time=WHEN, overrides={"preNo": PRE_NO})
    assert ok.documents[0].values["preNo"] == PRE_NO and "invtNo" not in ok.documents[0].values
    with pytest.raises(ReceiptError):
        build_receipt(msg, status="2", info="x", time=WHEN, overrides={"preNo": "SHORT"})
    with pytest.raises(ReceiptError):
        build_return(
            "CEB622", {"guid": "D" * 36, "copNo": "C", "preNo": PRE_NO, "nosuch": "1"}, "2", "x", WHEN
        )
    with pytest.raises(ReceiptError):
        build_receipt(build_receipt(_order(), status="2", info="x", time=WHEN), status="2", info="x")


@pytest.mark.reference
def test_long_return_info_is_truncated_and_stays_valid(schemas: dict[str, etree.XMLSchema]) -> None:
    info = (
        "".join(f"[Code:13{i:02d};Desc:{'订购人身份证号码有误' * 3}]" for i in range(60)) + ",附加说明" * 50
    )
    node = build_return("CEB622", {"guid": "E" * 36, "copNo": "C1", "preNo": PRE_NO}, "100", info, WHEN)
    text = node.values["returnInfo"]
    assert isinstance(text, str) and len(text) <= 1000
    assert text.endswith("]…")  # cut between groups, never inside one
    parsed = parse_return_info(text)
    assert parsed.parts[0] == ReturnInfoPart("1300", "订购人身份证号码有误" * 3)
    assert all(p.desc == "订购人身份证号码有误" * 3 for p in parsed.parts)
    assert_valid(schemas, receipt_message("CEB622", [node]))


# -------------------------------------------------------------------------------------- status table


def test_status_applicability() -> None:
    assert status_problem("CEB622", "800") is None
    problem = status_problem("CEB312", "800")
    assert problem is not None and "800" in problem[0] and "CEB312" in problem[1]
    for code in ("505", "600"):
        info = status_info(code)
        assert info is not None and info.receipts == frozenset({"CEB214"})
        assert status_problem("CEB214", code) is None
        assert status_problem("CEB622", code) is not None
        assert status_problem("CEB604", code) is not None
    assert status_problem("CEB712", "18") is not None  # not a listed status
    assert status_problem("CEB622", "abc") is not None
    assert status_problem("CEB312", "1") is not None  # 暂存 is not listed for order receipts
    assert [s.code for s in statuses_for("CEB312")] == ["2", "3", "4", "100", "120", "399"]
    assert "899" in [s.code for s in statuses_for("622")] and "899" not in [
        s.code for s in statuses_for("CEB214")
    ]


def test_every_listed_status_has_meaning_and_receipts() -> None:
    codes = [
        "1",
        "2",
        "3",
        "4",
        "100",
        "120",
        "300",
        "399",
        "500",
        "501",
        "502",
        "503",
        "505",
        "599",
        "600",
        "700",
        "800",
        "899",
    ]
    for code in codes:
        info = status_info(code)
        assert info is not None and info.zh and info.en and info.receipts <= RECEIPT_CODES and info.receipts
    assert status_info("18") is None and status_info("0") is None


def test_negative_codes_valid_everywhere_with_official_text() -> None:
    for receipt in sorted(RECEIPT_CODES):
        assert status_problem(receipt, "-621005") is None
        assert status_problem(receipt, "-999999") is None
    info = status_info("-621005")
    assert info is not None and info.is_error and info.zh == "清单[*]的购买金额超过单笔限额[[*]]"
    order = status_info("-301010")
    assert order is not None and order.zh == "已存在相同编号的订单" and order.is_final("CEB312")
    unknown = status_info("-999999")
    assert unknown is not None and unknown.errors == () and "-999999" in unknown.zh


def test_finality() -> None:
    released, approved, stored, back = (
        status_info("800"),
        status_info("399"),
        status_info("120"),
        status_info("100"),
    )
    assert released is not None and released.is_final("CEB622") and released.outcome == "released"
    assert approved is not None and approved.is_final("CEB624") and not approved.is_final("CEB622")
    assert stored is not None and not stored.is_final("CEB312")
    assert back is not None and back.is_final("CEB312") and back.outcome == "rejected"


def test_error_code_table() -> None:
    assert len(ERROR_CODES) == 176
    assert set(duplicated_codes()) == {"-621027", "-625022"}
    assert [e.zh for e in error_codes("-621027")] == [
        "保存失败，请确认状态并刷新重试",
        "请确认表体 gnum 无重复！",
    ]
    assert len(error_codes("-625022")) == 2
    assert error_text(2) == error_text("0002")
    assert error_codes("-301010")[0].category == ("订单", "order")
    assert all(e.en and e.zh for e in ERROR_CODES)
    assert error_text("-1") is None


# -------------------------------------------------------------------------------------------- returnInfo


@pytest.mark.parametrize(
    ("text", "parts", "rest"),
    [
        ("[Code:2600;Desc:放行]", [("2600", "放行")], ""),
        ("[Code:1300;Desc:人工退单，订购人身份证号码有误]", [("1300", "人工退单，订购人身份证号码有误")], ""),
        (
            "[Code:1800;Desc:逻辑校验通过][Code:2600;Desc:放行]",
            [("1800", "逻辑校验通过"), ("2600", "放行")],
            "",
        ),
        (
            "[Code:2300;Desc:审核通过],撤单申请审核通过,清单已成功撤单",
            [("2300", "审核通过")],
            "撤单申请审核通过,清单已成功撤单",
        ),
        (
            "新增申报成功[4CDE1CFD-EDED-46B1-946C-B8022E42FC94]",
            [],
            "新增申报成功[4CDE1CFD-EDED-46B1-946C-B8022E42FC94]",
        ),
        ("暂存", [], "暂存"),
        (
            "[Code:-621005;Desc:清单[12]超过单笔限额[[5000]]]",
            [("-621005", "清单[12]超过单笔限额[[5000]]")],
            "",
        ),
        ("[code：13035；desc：支付企业不一致]", [("13035", "支付企业不一致")], ""),
    ],
)
def test_parse_return_info_forms(text: str, parts: list[tuple[str, str]], rest: str) -> None:
    parsed = parse_return_info(text)
    assert [(p.code, p.desc) for p in parsed.parts] == parts
    assert parsed.text == rest
    assert parsed.raw == text


@pytest.mark.parametrize(
    "garbage",
    [
        "[Code:;Desc]",
        "[Code:",
        "[Code:1300;Desc:没有结尾",
        "]]][[[",
        "[[[Code:",
        "[Code:]]]",
        "[",
        "]",
        "",
        None,
        "[Code:1[Code:2;Desc:x]",
        "\x00[Code:\u2028;Desc:\ud800]",
    ],
)
def test_parse_return_info_never_raises(garbage: str | None) -> None:
    parsed = parse_return_info(garbage)
    assert isinstance(parsed.text, str)
    assert all(isinstance(p.code, str) for p in parsed.parts)


def test_parse_return_info_garbage_details() -> None:
    assert parse_return_info("[Code:;Desc]").parts == (ReturnInfoPart("", ""),)
    unclosed = parse_return_info("[Code:1300;Desc:没有结尾")
    assert unclosed.parts == (ReturnInfoPart("1300", "没有结尾"),)
    assert parse_return_info("]]][[[").text == "]]][[["


def test_format_return_info_round_trip_and_limit() -> None:
    parts: list[ReturnInfoPart | tuple[str, str]] = [ReturnInfoPart("1800", "逻辑校验通过"), ("2600", "放行")]
    text = format_return_info(parts, "清单已放行")
    assert text == "[Code:1800;Desc:逻辑校验通过][Code:2600;Desc:放行],清单已放行"
    parsed = parse_return_info(text)
    assert parsed.parts == (ReturnInfoPart("1800", "逻辑校验通过"), ReturnInfoPart("2600", "放行"))
    assert parsed.text == "清单已放行"
    # an unbalanced bracket in a description must not end the group early when read back
    odd = format_return_info([("1", "a]b")])
    assert parse_return_info(odd).parts[0].code == "1" and parse_return_info(odd).text == ""
    # over the limit: whole groups kept, text cut with an ellipsis
    long = format_return_info([("1", "x" * 10), ("2", "y" * 10)], "z" * 50, limit=60)
    assert len(long) <= 60 and long.startswith("[Code:1;Desc:xxxxxxxxxx][Code:2;Desc:yyyyyyyyyy],z")
    assert long.endswith("…")
    dropped = format_return_info([("1", "x" * 10), ("2", "y" * 40)], limit=40)
    assert dropped == "[Code:1;Desc:xxxxxxxxxx]…"
    # a single group longer than the limit is cut inside but still closed
    single = format_return_info([("1300", "很长的原因" * 100)], limit=50)
    assert len(single) == 50 and single.endswith("…]") and parse_return_info(single).parts[0].code == "1300"
    assert fit_return_info("短") == "短"
    assert len(fit_return_info("长" * 2000)) == 1000


# --------------------------------------------------------------------------------------------- tax bills


def _bill() -> TaxBill:
    lines = (
        TaxLine(1, "3304990099", Decimal("410.00000"), Decimal("0.0"), Decimal("37.31"), Decimal("0")),
        TaxLine(2, "3304990099", Decimal("100.10"), Decimal("0.00"), Decimal("9.1091"), Decimal("12.34567")),
    )
    return TaxBill(
        invt_no="29242020I439440284",
        tax_no="29242020I439440284_0",
        lines=lines,
        ebc_code="1101110325",
        customs_code="2924",
        guid="F" * 36,
    )


@pytest.mark.reference
def test_tax_bill_validates_round_trips_and_keeps_digits(schemas: dict[str, etree.XMLSchema]) -> None:
    message = build_tax_bill(_bill(), time=WHEN)
    xml = assert_valid(schemas, message)
    back = parse(xml)
    assert back == message
    head = back.documents[0].child("TaxHeadRd")
    assert head is not None
    assert str(head.values["valueAddedTax"]) == "46.4191"  # sum of the lines
    assert str(head.values["consumptionTax"]) == "12.34567"
    assert head.values["returnTime"] == "20240305090807654"
    lines = back.documents[0].children["TaxListRd"]
    assert [str(line.values["taxPrice"]) for line in lines] == ["410.00000", "100.10"]
    assert b"<ceb:taxPrice>410.00000</ceb:taxPrice>" in xml


def test_tax_bill_refuses_float_and_excess_digits() -> None:
    bad = TaxLine(1, "3304990099", 410.0, Decimal(0), Decimal(0), Decimal(0))  # type: ignore[arg-type]
    with pytest.raises(ReceiptError):
        build_tax_bill(TaxBill("I1", "T1", (bad,)), time=WHEN)
    fine = TaxLine(1, "3304990099", Decimal("1.123456"), Decimal(0), Decimal(0), Decimal(0))
    with pytest.raises(ReceiptError):
        build_tax_bill(TaxBill("I1", "T1", (fine,)), time=WHEN)
    with pytest.raises(ReceiptError):
        build_tax_bill(TaxBill("I1", "T1", (), status="1"), time=WHEN)
    with pytest.raises(ReceiptError):
        build_tax_bill(TaxBill("I1", "T1", (_bill().lines[0],), status="9"), time=WHEN)


@pytest.mark.reference
def test_tax_status_validates_and_round_trips(schemas: dict[str, etree.XMLSchema]) -> None:
    message = build_tax_status(
        [
            TaxStatus("29242020I439440284", "29242020I439440284_0", "2", ent_duty_no="D1"),
            TaxStatus("29242020I439440285", "29242020I439440285_0", "3"),
        ],
        time=WHEN,
    )
    xml = assert_valid(schemas, message)
    assert parse(xml) == message
    views = read_receipts(parse(xml))
    assert [v.status for v in views] == ["2", "3"]
    assert views[1].status_info is not None and views[1].status_info.outcome == "cancelled"
    assert views[0].keys == {
        "invtNo": "29242020I439440284",
        "taxNo": "29242020I439440284_0",
        "entDutyNo": "D1",
    }
    assert tax_status_info("4") is None
    with pytest.raises(ReceiptError):
        build_tax_status(TaxStatus("I", "T", "4"))


# --------------------------------------------------------------------------------------------- reading


def test_reading_ceb816_keeps_unknown_elements() -> None:
    xml = render(build_tax_bill(_bill(), time=WHEN)).decode("utf-8")
    xml = xml.replace(
        "<ceb:invtNo>",
        "<ceb:orderNo>ORDER-9</ceb:orderNo><ceb:logisticsNo>LN-9</ceb:logisticsNo><ceb:invtNo>",
        1,
    )
    (view,) = read_receipts(parse(xml))
    assert view.receipt == "CEB816" and view.node_name == "TaxHeadRd"
    assert view.extra == {"orderNo": "ORDER-9", "logisticsNo": "LN-9"}
    assert view.keys["invtNo"] == "29242020I439440284" and view.keys["taxNo"] == "29242020I439440284_0"
    assert view.keys["customsTax"] == "0.00"  # 0.0 + 0.00, digits kept
    assert view.status == "1" and view.status_info is not None and view.status_info.zh == "已生成"
    assert view.time == WHEN
    assert len(view.lines) == 2


def test_reading_receipt_with_default_namespace() -> None:
    xml = (
        '<CEB622Message version="1.0" xmlns="http://www.chinaport.gov.cn/ceb" guid="' + "A" * 36 + '">'
        "<InventoryReturn><guid>" + "B" * 36 + "</guid><customsCode>4921</customsCode><copNo>C1</copNo>"
        "<preNo>B20200101000000001</preNo><invtNo>49212020I046118061</invtNo><returnStatus>800</returnStatus>"
        "<returnTime>20200102030405006</returnTime><returnInfo>[Code:2600;Desc:放行]</returnInfo>"
        "</InventoryReturn></CEB622Message>"
    )
    (view,) = read_receipts(parse(xml))
    assert view.guid == "B" * 36
    assert view.keys == {
        "customsCode": "4921",
        "copNo": "C1",
        "preNo": "B20200101000000001",
        "invtNo": "49212020I046118061",
    }
    assert view.status == "800" and view.is_final and not view.is_error
    assert view.info.code == "2600" and view.info.parts[0].desc == "放行"
    assert view.time == datetime(2020, 1, 2, 3, 4, 5, 6000, tzinfo=CST)
    assert view.extra == {}


@pytest.mark.reference
def test_reading_ceb900_exposes_original_message(schemas: dict[str, etree.XMLSchema]) -> None:
    node = build_return(
        "CEB900",
        {
            "guid": "9" * 36,
            "oriCopMsgId": "COPMSG-1",
            "oriMessageType": "CEB311Message",
            "oriBizMessage": "<x/>",
        },
        "-1",
        "数据包不能通过 schema 验证",
        WHEN,
    )
    message = receipt_message("CEB900", [node])
    xml = assert_valid(schemas, message)
    (view,) = read_receipts(parse(xml))
    assert view.ori_cop_msg_id == "COPMSG-1" and view.ori_message_type == "CEB311Message"
    assert view.is_error and view.is_final


@pytest.mark.reference
def test_reading_official_sample_receipts(samples: Path) -> None:
    for code in sorted(RECEIPT_CODES):
        views = read_receipts(parse(samples / f"{code}Message.xml"))
        assert views and all(len(v.guid) == 36 and v.status for v in views), code
    (first, *_) = read_receipts(parse(samples / "CEB214Message.xml"))
    assert first.extra == {"appSenderId": "1105910159"}  # element outside the schema, kept


def test_read_receipts_refuses_declarations() -> None:
    with pytest.raises(ReceiptError):
        read_receipts(_order())
