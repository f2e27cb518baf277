"""The DxpMsg envelope: wrap, unwrap, the official terminal-node schema, and refusals of bad envelopes."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from cbec.ceb.dxp import (
    CST,
    DXP_NAMESPACE,
    EXPORT_RECEIVER,
    IMPORT_RECEIVER,
    DxpEnvelope,
    DxpError,
    format_dxp_time,
    is_dxp,
    parse_dxp_time,
    unwrap,
    unwrap_rep,
    wrap,
)
from cbec.ceb.errors import CebError, UnknownMessage, XmlRefused
from cbec.ceb.xmlsafe import parse_xml

SENDER = "DXPENT0000458763"
WHEN = datetime(2026, 11, 28, 11, 46, 33, tzinfo=CST)

ORDER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<ceb:CEB311Message guid="4CDE1CFD-0000-0000-0000-000000000001" version="1.0" '
    'xmlns:ceb="http://www.chinaport.gov.cn/ceb">\n'
    "  <ceb:Order><ceb:OrderHead><ceb:orderNo>订单-1</ceb:orderNo></ceb:OrderHead></ceb:Order>\n"
    "</ceb:CEB311Message>\n"
).encode()
EXPORT_ORDER = (
    b'<CEB303Message xmlns="http://www.chinaport.gov.cn/ceb" guid="x" version="1.0"><Order/></CEB303Message>'
)


def envelope_xml(
    *,
    root_open: str = '<dxp:DxpMsg xmlns:dxp="http://www.chinaport.gov.cn/dxp" ver="1.0">',
    root_close: str = "</dxp:DxpMsg>",
    p: str = "dxp:",
    creat_time: str = "2026-11-28T11:46:33",
    data: str | None = None,
    add_info: str = "",
) -> bytes:
    """A hand-written envelope, so unwrap is tested against text it did not produce itself."""
    data_el = "" if data is None else f"<{p}Data>{data}</{p}Data>"
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n{root_open}'
        f"<{p}TransInfo><{p}CopMsgId>ABC-1</{p}CopMsgId><{p}SenderId>{SENDER}</{p}SenderId>"
        f"<{p}ReceiverIds><{p}ReceiverId>{IMPORT_RECEIVER}</{p}ReceiverId>"
        f"<{p}ReceiverId>DXPLGS0000000001</{p}ReceiverId></{p}ReceiverIds>"
        f"<{p}CreatTime>{creat_time}</{p}CreatTime><{p}MsgType>CEB311Message</{p}MsgType></{p}TransInfo>"
        f"{data_el}{add_info}{root_close}"
    ).encode()


B64_ORDER = base64.b64encode(ORDER).decode()


@pytest.fixture(scope="module")
def dxp_schema(reference_dir: Path) -> etree.XMLSchema:
    xsd = reference_dir / "ceb/xsd/202205/海关跨境终端节点报文定义202205.xsd"
    if not xsd.is_file():
        pytest.skip("needs ../shared/reference (official XSDs); absent on this machine")
    return etree.XMLSchema(etree.parse(str(xsd)))


def assert_valid(schema: etree.XMLSchema, xml: bytes) -> None:
    doc = etree.fromstring(xml)
    assert schema.validate(doc), str(schema.error_log)


# ------------------------------------------------------------------------------------------- wrap/unwrap


def test_round_trip_keeps_bytes_and_fields() -> None:
    out = wrap(ORDER, sender_id=SENDER, cop_msg_id="MSG-1", create_time=WHEN, file_name="order.xml")
    env = unwrap(out)
    assert env.data == ORDER
    assert env == DxpEnvelope(
        cop_msg_id="MSG-1",
        sender_id=SENDER,
        receiver_ids=(IMPORT_RECEIVER,),
        create_time=WHEN,
        msg_type="CEB311Message",
        data=ORDER,
        file_name="order.xml",
    )
    assert env.message_type is not None and env.message_type.code == "CEB311"
    assert env.business_root().get("guid") == "4CDE1CFD-0000-0000-0000-000000000001"
    # Writing the unwrapped envelope again gives the same bytes.
    assert env.to_xml() == out


def test_data_is_the_business_bytes_exactly_as_given() -> None:
    # BOM, CRLF and a non-UTF-8 declared encoding must all survive: the signature covers these bytes.
    gbk = '<?xml version="1.0" encoding="GBK"?>\r\n<CEB311Message><n>东方</n></CEB311Message>\r\n'.encode(
        "gbk"
    )
    bom = b"\xef\xbb\xbf" + ORDER.replace(b"\n", b"\r\n")
    for business in (gbk, bom):
        out = wrap(business, sender_id=SENDER)
        assert base64.b64decode(etree.fromstring(out).findtext(f"{{{DXP_NAMESPACE}}}Data") or "") == business
        assert unwrap(out).data == business


def test_defaults_import_receiver_uuid_and_file_name() -> None:
    env = unwrap(wrap(ORDER, sender_id=SENDER))
    assert env.receiver_ids == (IMPORT_RECEIVER,)
    assert re.fullmatch(
        r"[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}", env.cop_msg_id
    )
    assert env.file_name == f"CEB311Message_{env.cop_msg_id}.xml"
    assert env.msg_type == "CEB311Message"
    assert env.create_time.tzinfo is not None
    assert abs((datetime.now(UTC) - env.create_time).total_seconds()) < 5


def test_export_message_goes_to_export_receiver() -> None:
    env = unwrap(wrap(EXPORT_ORDER, sender_id=SENDER))
    assert env.receiver_ids == (EXPORT_RECEIVER,)
    assert env.msg_type == "CEB303Message"


def test_explicit_receiver_overrides_default() -> None:
    env = unwrap(wrap(EXPORT_ORDER, sender_id=SENDER, receiver_id="DXPLGS0000000001"))
    assert env.receiver_ids == ("DXPLGS0000000001",)


def test_output_shape_prefix_declaration_and_cst_time() -> None:
    utc = datetime(2026, 11, 28, 3, 46, 33, 999_000, tzinfo=UTC)
    out = wrap(ORDER, sender_id=SENDER, cop_msg_id="M", create_time=utc)
    assert out.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<dxp:DxpMsg ')
    root = etree.fromstring(out)
    assert root.tag == f"{{{DXP_NAMESPACE}}}DxpMsg" and root.get("ver") == "1.0"
    # UTC 03:46 is 11:46 in China; written without offset or fraction, as the spec shows.
    assert root.findtext(f".//{{{DXP_NAMESPACE}}}CreatTime") == "2026-11-28T11:46:33"
    assert unwrap(out).create_time == datetime(2026, 11, 28, 3, 46, 33, tzinfo=UTC)


def test_full_add_info_survives_unwrap_and_rewrite() -> None:
    add_info = (
        "<dxp:AddInfo><dxp:FileName>f.xml</dxp:FileName><dxp:IcCard>1</dxp:IcCard>"
        '<dxp:BizKey><dxp:Key name="DealFlag">1</dxp:Key><dxp:Key name="RetType">2</dxp:Key>'
        "<dxp:Key>free</dxp:Key></dxp:BizKey>"
        '<dxp:IsText Encode="UTF-8"/><dxp:RecMapId>MAP1</dxp:RecMapId></dxp:AddInfo>'
    )
    env = unwrap(envelope_xml(data=B64_ORDER, add_info=add_info))
    assert env.file_name == "f.xml"
    assert env.ic_card == "1"
    assert env.biz_keys == (("DealFlag", "1"), ("RetType", "2"), (None, "free"))
    assert env.is_text_encode == "UTF-8"
    assert env.rec_map_id == "MAP1"
    assert env.receiver_ids == (IMPORT_RECEIVER, "DXPLGS0000000001")
    assert unwrap(env.to_xml()) == env


# --------------------------------------------------------------------------------------- official schema


@pytest.mark.reference
def test_wrapped_output_validates_against_official_xsd(dxp_schema: etree.XMLSchema) -> None:
    assert_valid(dxp_schema, wrap(ORDER, sender_id=SENDER))
    assert_valid(dxp_schema, wrap(EXPORT_ORDER, sender_id=SENDER, receiver_id="R", create_time=WHEN))


@pytest.mark.reference
def test_full_envelope_validates_against_official_xsd(dxp_schema: etree.XMLSchema) -> None:
    env = DxpEnvelope(
        cop_msg_id="X" * 255,
        sender_id=SENDER,
        receiver_ids=("A" * 16, "B", "C", "D", "E"),
        create_time=WHEN,
        msg_type="CEB621Message",
        data=ORDER,
        file_name="n.xml",
        ic_card="1234567890123",
        biz_keys=(("DealFlag", "1"), (None, "k")),
        is_text_encode="UTF-8",
        rec_map_id="M1",
        xml_id="Msg1",
    )
    assert_valid(dxp_schema, env.to_xml())


@pytest.mark.reference
def test_official_sample_wraps_and_validates(reference_dir: Path, dxp_schema: etree.XMLSchema) -> None:
    sample = (reference_dir / "ceb/samples/official-202205/CEB621Message.xml").read_bytes()
    out = wrap(sample, sender_id=SENDER)
    assert_valid(dxp_schema, out)
    assert unwrap(out).data == sample


@pytest.mark.reference
def test_schema_rejects_what_the_checks_refuse(dxp_schema: etree.XMLSchema) -> None:
    # Guards the checks against drifting from the XSD: a 17-character SenderId really is invalid there.
    out = wrap(ORDER, sender_id=SENDER).replace(SENDER.encode(), SENDER.encode() + b"X")
    assert not dxp_schema.validate(etree.fromstring(out))
    with pytest.raises(DxpError):
        wrap(ORDER, sender_id=SENDER + "X")


# ------------------------------------------------------------------------------------ tolerant unwrapping


def test_unwrap_default_namespace() -> None:
    xml = envelope_xml(
        root_open=f'<DxpMsg xmlns="{DXP_NAMESPACE}" ver="1.0">', root_close="</DxpMsg>", p="", data=B64_ORDER
    )
    env = unwrap(xml)
    assert env.data == ORDER and env.cop_msg_id == "ABC-1" and env.sender_id == SENDER


def test_unwrap_no_namespace() -> None:
    xml = envelope_xml(root_open='<DxpMsg ver="1.0">', root_close="</DxpMsg>", p="", data=B64_ORDER)
    env = unwrap(xml)
    assert env.data == ORDER and env.msg_type == "CEB311Message"


def test_unwrap_time_with_offset_and_fraction() -> None:
    env = unwrap(envelope_xml(creat_time="2019-10-08T14:13:41.141+08:00", data=B64_ORDER))
    assert env.create_time == datetime(2019, 10, 8, 14, 13, 41, 141_000, tzinfo=CST)


def test_unwrap_time_without_offset_is_china_time() -> None:
    env = unwrap(envelope_xml(creat_time="2019-10-08T14:13:41", data=B64_ORDER))
    assert env.create_time == datetime(2019, 10, 8, 6, 13, 41, tzinfo=UTC)
    assert env.create_time.utcoffset() == CST.utcoffset(None)


def test_unwrap_utc_time_and_line_wrapped_base64() -> None:
    wrapped = "\n".join(B64_ORDER[i : i + 76] for i in range(0, len(B64_ORDER), 76))
    env = unwrap(envelope_xml(creat_time="2019-10-08T06:13:41Z", data=f"\n{wrapped}\n"))
    assert env.create_time == datetime(2019, 10, 8, 14, 13, 41, tzinfo=CST)
    assert env.data == ORDER


def test_unwrap_from_str_and_path(tmp_path: Path) -> None:
    xml = envelope_xml(data=B64_ORDER)
    path = tmp_path / "dxp.xml"
    path.write_bytes(xml)
    assert unwrap(xml.decode()) == unwrap(path) == unwrap(xml)


def test_unwrap_transfer_node_wrapper() -> None:
    inner = envelope_xml(data=B64_ORDER).split(b"?>", 1)[1].decode()
    xml = f'<dxp:DxpMsgSv xmlns:dxp="{DXP_NAMESPACE}" ver="1.0"><dxp:SvNo/>{inner}</dxp:DxpMsgSv>'
    assert is_dxp(parse_xml(xml))
    assert unwrap(xml).data == ORDER


def test_signature_is_noticed_and_not_rewritten() -> None:
    sig = '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/>'
    env = unwrap(envelope_xml(data=B64_ORDER, add_info=sig))
    assert env.signed
    assert b"Signature" not in env.to_xml()


def test_is_dxp() -> None:
    assert is_dxp(parse_xml(envelope_xml(data=B64_ORDER)))
    assert is_dxp(parse_xml(b'<DxpMsg ver="1.0"/>'))
    assert not is_dxp(parse_xml(ORDER))


# ---------------------------------------------------------------------------------------------- refusals


def test_unwrap_refuses_non_envelope_root() -> None:
    with pytest.raises(DxpError) as err:
        unwrap(ORDER)
    assert err.value.code == "0001"
    assert "DxpMsg" in err.value.zh and "CEB311Message" in err.value.en


def test_unwrap_refuses_missing_data() -> None:
    with pytest.raises(DxpError) as err:
        unwrap(envelope_xml(data=None))
    assert err.value.code == "0002"
    assert "Data" in err.value.zh and "lacks the required element Data" in err.value.en


@pytest.mark.parametrize("bad", ["not base64!", "QUJD=", "QUJDRA", "QQ==QUJD", "Q\u00e9JD"])
def test_unwrap_refuses_invalid_base64(bad: str) -> None:
    with pytest.raises(DxpError) as err:
        unwrap(envelope_xml(data=bad))
    assert err.value.code == "0002"
    assert "Base64" in err.value.zh and "not valid Base64" in err.value.en


@pytest.mark.parametrize("empty", ["", "   ", base64.b64encode(b"  \n").decode()])
def test_unwrap_refuses_empty_data(empty: str) -> None:
    with pytest.raises(DxpError) as err:
        unwrap(envelope_xml(data=empty))
    assert "empty" in err.value.en and "为空" in err.value.zh


def test_unwrap_refuses_missing_header_fields() -> None:
    xml = envelope_xml(data=B64_ORDER).replace(b"<dxp:CreatTime>2026-11-28T11:46:33</dxp:CreatTime>", b"")
    with pytest.raises(DxpError, match="CreatTime"):
        unwrap(xml)
    with pytest.raises(DxpError, match="not a valid date-time"):
        unwrap(envelope_xml(creat_time="28/11/2026 11:46", data=B64_ORDER))


def test_hostile_doctype_is_refused() -> None:
    hostile = (
        b'<?xml version="1.0"?>\n<!DOCTYPE DxpMsg [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
        + envelope_xml(data="&x;").split(b"?>", 1)[1]
    )
    with pytest.raises(XmlRefused) as err:
        unwrap(hostile)
    assert "DOCTYPE" in err.value.en


def test_wrap_refuses_hostile_business_xml() -> None:
    with pytest.raises(XmlRefused):
        wrap(b'<!DOCTYPE a [<!ENTITY b "c">]><CEB311Message>&b;</CEB311Message>', sender_id=SENDER)


def test_wrap_refuses_bad_ids() -> None:
    with pytest.raises(DxpError) as err:
        wrap(ORDER, sender_id="X" * 17)
    assert err.value.code == "0002" and "SenderId" in err.value.en and "SenderId" in err.value.zh
    with pytest.raises(DxpError, match="SenderId"):
        wrap(ORDER, sender_id="")
    with pytest.raises(DxpError, match="ReceiverId"):
        wrap(ORDER, sender_id=SENDER, receiver_id="R" * 17)
    with pytest.raises(DxpError, match="CopMsgId"):
        wrap(ORDER, sender_id=SENDER, cop_msg_id="")


def test_envelope_refuses_receiver_count_and_bad_id() -> None:
    base = unwrap(wrap(ORDER, sender_id=SENDER))
    fields = {f: getattr(base, f) for f in base.__dataclass_fields__}
    too_many = DxpEnvelope(**{**fields, "receiver_ids": ["R1", "R2", "R3", "R4", "R5", "R6"]})
    assert too_many.receiver_ids == ("R1", "R2", "R3", "R4", "R5", "R6")  # lists become tuples
    with pytest.raises(DxpError, match="1 to 5 ReceiverId"):
        too_many.to_xml()
    with pytest.raises(DxpError, match="1 to 5 ReceiverId"):
        DxpEnvelope(**{**fields, "receiver_ids": ()}).to_xml()
    with pytest.raises(DxpError, match="Id must be an XML name"):
        DxpEnvelope(**{**fields, "xml_id": "123"}).to_xml()


def test_wrap_refuses_unknown_or_misnamed_message() -> None:
    with pytest.raises(UnknownMessage) as err:
        wrap(b"<Invoice/>", sender_id=SENDER)
    assert "Invoice" in err.value.en and err.value.zh.startswith("无法识别")
    with pytest.raises(UnknownMessage, match="CEB214Message"):  # the official CEB214 sample's defect
        wrap(b'<ceb:CEB214 xmlns:ceb="http://www.chinaport.gov.cn/ceb"/>', sender_id=SENDER)


def test_wrap_refuses_double_wrapping() -> None:
    with pytest.raises(DxpError, match="already a DxpMsg"):
        wrap(wrap(ORDER, sender_id=SENDER), sender_id=SENDER)


def test_naive_time_is_refused() -> None:
    with pytest.raises(DxpError) as err:
        wrap(ORDER, sender_id=SENDER, create_time=datetime(2026, 11, 28, 11, 46, 33))
    assert "timezone-aware" in err.value.en
    assert isinstance(err.value, CebError)


def test_time_helpers() -> None:
    assert format_dxp_time(WHEN) == "2026-11-28T11:46:33"
    assert format_dxp_time(datetime(2026, 11, 27, 16, 0, 0, 1, tzinfo=UTC)) == "2026-11-28T00:00:00"
    assert parse_dxp_time("2026-11-28T11:46:33") == WHEN
    assert parse_dxp_time("2026-11-28T03:46:33.5+00:00") == WHEN.replace(microsecond=500_000)
    with pytest.raises(DxpError):
        parse_dxp_time("2026-13-40T11:46:33")


# ------------------------------------------------------------------------------------------------ DxpRep


def test_unwrap_rep() -> None:
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<DxpRep xmlns="{DXP_NAMESPACE}" ver="1.0"><RecevierId>{SENDER}</RecevierId>
  <Response><ResponseCode>2001</ResponseCode><ResponseInfo>指定的接收方不存在</ResponseInfo>
    <Results><Result><RecId>R1</RecId><Code>2001</Code><Info>no such receiver</Info></Result></Results>
    <NoticeTime>2026-11-28</NoticeTime>
    <OriHead><CopMsgId>ABC-1</CopMsgId><SenderId>{SENDER}</SenderId>
      <ReceiverIds><ReceiverId>R1</ReceiverId></ReceiverIds>
      <CreatTime>2026-11-28T11:46:33</CreatTime><MsgType>CEB311Message</MsgType></OriHead>
  </Response></DxpRep>"""
    rep = unwrap_rep(xml)
    assert rep.receiver_id == SENDER
    (resp,) = rep.responses
    assert resp.response_code == "2001" and resp.response_info == "指定的接收方不存在"
    assert resp.ori_cop_msg_id == "ABC-1" and resp.ori_msg_type == "CEB311Message"
    assert resp.results[0].rec_id == "R1" and resp.results[0].info == "no such receiver"
    with pytest.raises(DxpError, match="must be DxpRep"):
        unwrap_rep(envelope_xml(data=B64_ORDER))
