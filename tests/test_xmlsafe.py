"""Hardened XML intake (`cbec.ceb.xmlsafe`) and the tolerant CEB parser on top of it.

Hostile input must be refused with `XmlRefused`, DXP code 0001 and a reason an enterprise can act on, in
Chinese and English. Odd but harmless input that real traffic contains must parse.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from cbec.ceb import Message, check, parse, render, xmlsafe
from cbec.ceb.errors import CebError, UnknownMessage, XmlRefused
from cbec.ceb.examples import Trade, add_order, ceb311, ceb621, ceb622
from cbec.ceb.xmlsafe import DEFAULT_MAX_BYTES, parse_xml, read_source

DOCTYPE_ZH = "DOCTYPE/实体声明"
DOCTYPE_EN = "contains a DOCTYPE or entity declaration"
SYNTAX_ZH = "报文不是格式正确的 XML"
SYNTAX_EN = "not well-formed XML"
MB100 = 100_000_000


def refused(source: bytes | str | Path, **kwargs: int) -> XmlRefused:
    with pytest.raises(XmlRefused) as info:
        parse_xml(source, **kwargs)
    exc = info.value
    assert exc.code == "0001"
    assert str(exc).startswith("[0001] ")
    return exc


def assert_text(exc: CebError, zh: str, en: str) -> None:
    assert zh in exc.zh, exc.zh
    assert en in exc.en, exc.en
    assert zh in str(exc) and en in str(exc)


# ---- a listener that counts connection attempts, to prove the parser never goes on the network -----------


class Listener:
    """A local TCP port that accepts, records and immediately closes every connection.

    libxml2 2.14 and later are built without HTTP support, so with them no parser setting can connect; the
    count guards the older builds (and any resolver added later) that could.
    """

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            conn.close()

    def close(self) -> int:
        """Stop listening; the number of connection attempts seen. Safe to call twice."""
        if self._stop.is_set():
            return self.connections
        self._stop.set()
        self._thread.join()
        # anything still waiting in the backlog was an attempt too
        self.sock.setblocking(False)
        try:
            while True:
                conn, _ = self.sock.accept()
                self.connections += 1
                conn.close()
        except OSError:
            pass
        self.sock.close()
        return self.connections


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


@pytest.fixture
def secret_file(tmp_path: Path) -> tuple[Path, str]:
    marker = "TOP-SECRET-MARKER-7f3a91"
    path = tmp_path / "secret.txt"
    path.write_text(marker + "\n", encoding="utf-8")
    return path, marker


# ---- hostile input ---------------------------------------------------------------------------------------


def test_xxe_system_entity_is_refused_and_nothing_leaks() -> None:
    xml = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<!DOCTYPE ceb:CEB311Message [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
        b'<ceb:CEB311Message guid="4CDE1CFD-0000-4000-8000-000000000001" version="1.0" '
        b'xmlns:ceb="http://www.chinaport.gov.cn/ceb"><ceb:Order><ceb:OrderHead>'
        b"<ceb:orderNo>&xxe;</ceb:orderNo></ceb:OrderHead></ceb:Order></ceb:CEB311Message>"
    )
    exc = refused(xml)
    assert_text(exc, DOCTYPE_ZH, DOCTYPE_EN)
    assert "外部实体" in exc.zh and "external entities" in exc.en
    passwd = Path("/etc/passwd")
    leaked = passwd.read_text(errors="replace").splitlines()[:3] if passwd.exists() else ["root:x:0:0"]
    for text in (str(exc), exc.zh, exc.en, repr(exc.args)):
        for line in leaked:
            assert line not in text
    with pytest.raises(XmlRefused):
        parse(xml)


@pytest.mark.parametrize("padding", [0, 10_000], ids=["at-start", "after-10kB-comment"])
def test_xxe_with_a_file_we_can_recognise(secret_file: tuple[Path, str], padding: int) -> None:
    path, marker = secret_file
    comment = b"<!--" + b"p" * padding + b"-->" if padding else b""
    xml = (
        b'<?xml version="1.0"?>'
        + comment
        + f'<!DOCTYPE r [<!ENTITY s SYSTEM "{path.as_uri()}">]><r>&s;</r>'.encode()
    )
    exc = refused(xml)
    assert_text(exc, DOCTYPE_ZH, DOCTYPE_EN)
    assert marker not in str(exc)


def test_xxe_in_utf16(secret_file: tuple[Path, str]) -> None:
    path, marker = secret_file
    text = (
        '<?xml version="1.0" encoding="UTF-16"?>'
        f'<!DOCTYPE r [<!ENTITY s SYSTEM "{path.as_uri()}">]><r>&s;</r>'
    )
    exc = refused(text.encode("utf-16"))
    assert_text(exc, DOCTYPE_ZH, DOCTYPE_EN)
    assert marker not in str(exc)


def test_billion_laughs_is_refused() -> None:
    entities = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    xml = f'<?xml version="1.0"?><!DOCTYPE lolz [{"".join(entities)}]><lolz>&lol9;</lolz>'.encode()
    exc = refused(xml)
    assert_text(exc, DOCTYPE_ZH, DOCTYPE_EN)
    assert "实体膨胀" in exc.zh and "entity expansion" in exc.en


def test_quadratic_blowup_internal_entity_is_refused() -> None:
    xml = f'<!DOCTYPE r [<!ENTITY a "{"x" * 50_000}">]><r>{"&a;" * 1000}</r>'.encode()
    assert_text(refused(xml), DOCTYPE_ZH, DOCTYPE_EN)


def test_external_dtd_is_refused_without_network(listener: Listener) -> None:
    xml = f'<!DOCTYPE x SYSTEM "http://127.0.0.1:{listener.port}/x.dtd"><x/>'.encode()
    assert_text(refused(xml), DOCTYPE_ZH, DOCTYPE_EN)
    assert_text(refused(b'<!DOCTYPE x SYSTEM "http://127.0.0.1:9/x.dtd"><x/>'), DOCTYPE_ZH, DOCTYPE_EN)
    assert listener.close() == 0


def test_external_dtd_late_in_the_document_is_refused_without_network(listener: Listener) -> None:
    # Past the 4 kB the pre-scan looks at: the parser itself must still neither fetch nor accept it.
    xml = (
        b'<?xml version="1.0"?><!--'
        + b"c" * 8000
        + b"-->"
        + f'<!DOCTYPE x PUBLIC "-//X//DTD X//EN" "http://127.0.0.1:{listener.port}/x.dtd"><x/>'.encode()
    )
    assert_text(refused(xml), DOCTYPE_ZH, DOCTYPE_EN)
    assert listener.close() == 0


def test_parameter_entities_are_refused(listener: Listener, secret_file: tuple[Path, str]) -> None:
    path, marker = secret_file
    remote = f'<!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:{listener.port}/p.dtd"> %p;]><x/>'
    local = (
        f'<!DOCTYPE x [<!ENTITY % file SYSTEM "{path.as_uri()}">'
        f"<!ENTITY % wrap \"<!ENTITY leak '%file;'>\"> %wrap;]><x>&leak;</x>"
    )
    for xml in (remote, local):
        exc = refused(xml.encode())
        assert_text(exc, DOCTYPE_ZH, DOCTYPE_EN)
        assert marker not in str(exc)
    assert listener.close() == 0


def test_doctype_is_refused_in_any_letter_case() -> None:
    assert_text(refused(b'<!doctype r [<!ENTITY a "b">]><r>&a;</r>'), DOCTYPE_ZH, DOCTYPE_EN)


def test_a_doctype_without_entities_is_refused_too() -> None:
    assert_text(refused(b"<!DOCTYPE r><r/>"), DOCTYPE_ZH, DOCTYPE_EN)


def test_undeclared_entity_reference_is_not_well_formed() -> None:
    exc = refused(b"<r>&undefined;</r>")
    assert_text(exc, SYNTAX_ZH, "Entity 'undefined' not defined")


def test_100_mb_bytes_refused_by_size_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_parsing(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the parser must not see an oversized message")

    monkeypatch.setattr(xmlsafe.etree, "fromstring", no_parsing)
    data = b"<a>" + b"x" * MB100 + b"</a>"
    exc = refused(data)
    size = str(len(data))  # 100000007
    assert_text(exc, f"报文过大：{size} 字节", f"message too large: {size} bytes")
    assert f"上限 {DEFAULT_MAX_BYTES} 字节" in exc.zh
    assert f"the limit is {DEFAULT_MAX_BYTES} bytes" in exc.en


def test_100_mb_file_refused_by_size_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "huge.xml"
    with path.open("wb") as f:  # sparse: costs no disk and no time
        f.write(b"<a>")
        f.truncate(MB100)

    def no_reading(self: Path) -> bytes:
        raise AssertionError("an oversized file must not be read")

    monkeypatch.setattr(Path, "read_bytes", no_reading)
    exc = refused(path)
    assert_text(exc, f"报文过大：{MB100} 字节", f"message too large: {MB100} bytes")
    with pytest.raises(XmlRefused, match=str(MB100)):
        parse(path)


def test_custom_max_bytes() -> None:
    data = b"<a>12345</a>"  # 12 bytes
    assert parse_xml(data, max_bytes=12).text == "12345"
    exc = refused(data, max_bytes=11)
    assert_text(exc, "报文过大：12 字节，上限 11 字节", "message too large: 12 bytes, the limit is 11 bytes")


def test_custom_max_bytes_counts_text_as_utf8() -> None:
    text = "<a>中文</a>"  # 8 characters, 13 bytes in UTF-8
    assert parse_xml(text, max_bytes=13).text == "中文"
    assert_text(refused(text, max_bytes=12), "13 字节", "13 bytes")


def test_custom_max_bytes_through_the_message_parser(tmp_path: Path) -> None:
    xml = render(ceb311(), declaration=False)  # so text and bytes have the same size
    path = tmp_path / "order.xml"
    path.write_bytes(xml)
    for source in (xml, xml.decode(), path):
        assert parse(source, max_bytes=len(xml)).code == "CEB311"
        with pytest.raises(XmlRefused, match="message too large"):
            parse(source, max_bytes=len(xml) - 1)


def test_missing_file() -> None:
    with pytest.raises(XmlRefused) as info:
        parse_xml(Path("/nonexistent/dir/CEB311Message.xml"))
    assert info.value.code == "CBEC-0002"
    assert_text(info.value, "无法读取文件", "cannot read file")


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_document(keep: float) -> None:
    xml = render(ceb311())
    exc = refused(xml[: int(len(xml) * keep)])
    assert_text(exc, SYNTAX_ZH, SYNTAX_EN)
    assert "line " in exc.en and "line " in exc.zh  # says where


def test_document_cut_before_its_end_tag() -> None:
    xml = render(ceb311())
    cut = xml[: xml.rindex(b"</ceb:CEB311Message>")]
    assert_text(refused(cut), SYNTAX_ZH, "Premature end of data in tag CEB311Message")


def test_unclosed_root() -> None:
    assert_text(refused(b"<a><b>text</b>"), SYNTAX_ZH, "Premature end of data in tag a")


def test_wrong_root_is_an_unknown_message() -> None:
    with pytest.raises(UnknownMessage) as info:
        parse(b"<foo/>")
    exc = info.value
    assert exc.code == "0001"
    assert_text(exc, "无法识别的报文类型：根元素为 <foo>", "unknown message type: the root element is <foo>")
    assert "CEBnnnMessage" in exc.en


@pytest.mark.parametrize("root", ["CEB999Message", "CEB311Messages", "Order", "ceb311message"])
def test_near_miss_roots_are_unknown_messages(root: str) -> None:
    with pytest.raises(UnknownMessage, match=f"<{root}>"):
        parse(f'<{root} xmlns="http://www.chinaport.gov.cn/ceb"/>')


@pytest.mark.parametrize("source", [b"", "", bytearray()], ids=["bytes", "str", "bytearray"])
def test_empty_input(source: bytes | str) -> None:
    assert_text(refused(source), "报文为空", "the message is empty")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.xml"
    path.write_bytes(b"")
    assert_text(refused(path), "报文为空", "the message is empty")


@pytest.mark.parametrize("source", [b"   ", b" \r\n\t \n", "\n\n", "\ufeff  "])
def test_whitespace_only(source: bytes | str) -> None:
    assert_text(refused(source), "报文为空", "the message is empty")


def test_byte_order_mark_alone_is_refused() -> None:
    refused(b"\xef\xbb\xbf")


@pytest.mark.parametrize(
    "data",
    [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b'{"orderNo": "ORD1"}', b"orderNo=ORD1&x=1", b"%PDF-1.7\n"],
    ids=["png", "json", "form", "pdf"],
)
def test_non_xml_bytes(data: bytes) -> None:
    exc = refused(data)
    assert_text(exc, SYNTAX_ZH, SYNTAX_EN)
    assert "Start tag expected" in exc.en


def test_content_after_the_root() -> None:
    assert_text(refused(b"<a>x</a><b/>"), SYNTAX_ZH, "Extra content at the end of the document")


def test_deep_nesting_is_refused_not_a_crash() -> None:
    # lxml with huge_tree=False stops at libxml2's default depth limit of 256: a clean syntax error.
    depth = 10_000
    exc = refused(b"<a>" * depth + b"</a>" * depth)
    assert_text(exc, SYNTAX_ZH, "Excessive depth in document: 256")


def test_nesting_below_the_limit_parses() -> None:
    depth = 200  # CEB messages are five levels deep
    root = parse_xml(b"<a>" * depth + b"x" + b"</a>" * depth)
    assert sum(1 for _ in root.iter()) == depth


def test_deep_nesting_through_the_message_parser() -> None:
    body = b"<Order>" * 300 + b"</Order>" * 300
    with pytest.raises(XmlRefused, match="Excessive depth"):
        parse(
            b'<CEB311Message xmlns="http://www.chinaport.gov.cn/ceb" guid="g" version="1.0">'
            + body
            + b"</CEB311Message>"
        )


def test_invalid_utf8_bytes() -> None:
    xml = '<?xml version="1.0" encoding="UTF-8"?><r><buyerName>测试</buyerName></r>'.encode()
    broken = xml.replace("试".encode(), b"\xe8\xaf")  # a truncated multi-byte sequence
    exc = refused(broken)
    assert_text(exc, "报文编码无法识别", "Invalid bytes in character encoding")


def test_gbk_bytes_declared_as_utf8() -> None:
    xml = '<?xml version="1.0" encoding="UTF-8"?><r>测试</r>'.encode("gbk")
    assert_text(refused(xml), "报文编码无法识别", "Invalid bytes in character encoding")


def test_unknown_encoding_name() -> None:
    exc = refused(b'<?xml version="1.0" encoding="X-NOPE-9"?><r>x</r>')
    assert_text(exc, "X-NOPE-9", "Unsupported encoding: X-NOPE-9")


@pytest.mark.parametrize(
    "data",
    [
        b'<?xml version="1.0" encoding="X-NOPE-9"?><r>x</r>',
        b'<?xml version="1.0" encoding="UTF-8"?><r>\xe8\xaf</r>',
    ],
    ids=["unknown-name", "invalid-utf8"],
)
def test_encoding_problems_are_named_as_such_in_chinese(data: bytes) -> None:
    assert_text(refused(data), "报文编码无法识别", "the message encoding cannot be read")


def test_syntax_error_states_its_position_once() -> None:
    exc = refused(b"<a><b>text</b>")
    assert exc.en.count("column") == 1, exc.en


def test_refusals_are_ceb_errors() -> None:
    assert issubclass(XmlRefused, CebError) and issubclass(UnknownMessage, CebError)


# ---- tolerance: real traffic that must parse ---------------------------------------------------------------


def _without_prefix(xml: bytes) -> bytes:
    return xml.replace(b"ceb:", b"").replace(b"xmlns:ceb=", b"xmlns=")


def test_ceb_prefix() -> None:
    built = ceb311()
    message = parse(render(built))
    assert message == built
    assert message.namespace_form == "prefix"
    assert message.parse_notes == []


def test_default_namespace() -> None:
    built = ceb621()
    xml = _without_prefix(render(built))
    assert b"ceb:" not in xml and b'xmlns="http://www.chinaport.gov.cn/ceb"' in xml
    message = parse(xml)
    assert message.namespace_form == "default"
    assert message.documents[0].InventoryHead.buyerName == "测试订购人"
    assert message.signature is not None
    assert check(message) == []


def test_no_namespace_receipt() -> None:
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<CEB622Message guid="4CDE1CFD-0000-4000-8000-000000000622" version="1.0">\n'
        "  <InventoryReturn>\n"
        "    <guid>4CDE1CFD-0000-4000-8000-000000000621</guid>\n"
        "    <customsCode>2924</customsCode>\n"
        "    <agentCode>110198000E</agentCode>\n"
        "    <copNo>ORD202611280001</copNo>\n"
        "    <preNo>B92420261000000001</preNo>\n"
        "    <invtNo>292420261000000001</invtNo>\n"
        "    <returnStatus>800</returnStatus>\n"
        "    <returnTime>20261128120501123</returnTime>\n"
        "    <returnInfo>放行</returnInfo>\n"
        "  </InventoryReturn>\n"
        "</CEB622Message>\n"
    ).encode()
    message = parse(xml)
    assert message.code == "CEB622"
    assert message.namespace_form == "none"
    ret = message.documents[0]
    assert (ret.returnStatus, ret.returnInfo, ret.invtNo) == ("800", "放行", "292420261000000001")
    assert check(message) == []


def test_utf8_bom() -> None:
    built = ceb311()
    message = parse(b"\xef\xbb\xbf" + render(built))
    assert message == built
    assert message.parse_notes == []


def _declared(message: Message, encoding: str) -> bytes:
    text = render(message).decode().replace('encoding="UTF-8"', f'encoding="{encoding}"', 1)
    return text.encode(encoding)


@pytest.mark.parametrize("encoding", ["GBK", "GB2312", "gb18030", "gbk"])
def test_chinese_national_encodings(encoding: str) -> None:
    built = ceb311()
    data = _declared(built, encoding)
    assert "测试订购人".encode() not in data  # really not UTF-8
    assert "测试订购人".encode(encoding) in data
    message = parse(data)
    h = message.documents[0].OrderHead
    assert h.buyerName == "测试订购人"
    assert h.ebpName == "测试跨境电商平台有限公司"
    assert h.consigneeAddress == "北京市海淀区测试路1号"
    assert message.documents[0].OrderList[1].itemName == "婴幼儿配方奶粉3段"
    assert message == built


def test_gbk_receipt_from_customs() -> None:
    data = _declared(ceb622(info="[Code:2600;Desc:放行]海关审结"), "GBK")
    assert parse(data).documents[0].returnInfo == "[Code:2600;Desc:放行]海关审结"


@pytest.mark.parametrize("encoding", ["GBK", "UTF-16", "ISO-8859-1"])
def test_str_input_with_an_encoding_declaration(encoding: str) -> None:
    built = ceb311()
    text = render(built).decode().replace('encoding="UTF-8"', f'encoding="{encoding}"', 1)
    assert text.startswith(f'<?xml version="1.0" encoding="{encoding}"?>')
    message = parse(text)
    assert message.documents[0].OrderHead.buyerName == "测试订购人"
    assert message == built


def test_str_input_with_a_bom() -> None:
    built = ceb311()
    assert parse("\ufeff" + render(built).decode()) == built


def test_file_path_input(tmp_path: Path) -> None:
    built = ceb621(trade_mode="1210")
    path = tmp_path / "CEB621Message.xml"
    path.write_bytes(_declared(built, "GBK"))
    message = parse(path)
    assert message == parse(render(built))
    assert message.documents[0].InventoryHead.areaName == "测试保税仓储有限公司"
    assert read_source(path) == path.read_bytes()


def test_one_hundred_orders() -> None:
    built = ceb311()
    for i in range(2, 101):
        add_order(built, Trade(order_no=f"ORD2026112800{i:03d}"))
    message = parse(render(built, pretty=False))
    assert len(message.documents) == 100
    assert [d.OrderHead.orderNo for d in message.documents][-1] == "ORD2026112800100"
    assert message == built
    assert check(message) == []


def test_comments_and_processing_instructions_are_ignored() -> None:
    built = ceb311()
    xml = render(built).decode()
    noisy = (
        xml.replace("?>\n", '?>\n<!-- exported by ERP 3.2 --><?erp-export batch="7"?>\n', 1)
        .replace("<ceb:OrderHead>", '<ceb:OrderHead><!-- head --><?audit who="ops"?>', 1)
        .replace("<ceb:freight>10.00</ceb:freight>", "<ceb:freight>10.00</ceb:freight><!-- 运费 -->", 1)
        .replace("</ceb:OrderList>", "<?line-end?></ceb:OrderList>", 1)
        .replace("</ceb:CEB311Message>", "<!-- end --></ceb:CEB311Message><!-- trailing -->", 1)
    )
    assert noisy.count("<!--") == 5 and noisy.count("<?") == 4
    message = parse(noisy)
    assert message == built
    assert message.parse_notes == []
    assert check(message) == []


@pytest.mark.parametrize(
    ("field", "inside", "value"),
    [
        ("orderNo", "ORD2026<!-- x -->11280001", "ORD202611280001"),
        ("freight", "1<?erp x?>0.00", "10.00"),
    ],
)
def test_comment_or_pi_inside_a_value_is_ignored(field: str, inside: str, value: str) -> None:
    built = ceb311()
    xml = render(built).decode()
    original = f"<ceb:{field}>{value}</ceb:{field}>"
    assert original in xml
    message = parse(xml.replace(original, f"<ceb:{field}>{inside}</ceb:{field}>", 1))
    assert check(message) == []
    assert message == built


def test_cdata_value() -> None:
    xml = (
        render(ceb311())
        .decode()
        .replace(
            "<ceb:buyerName>测试订购人</ceb:buyerName>",
            "<ceb:buyerName><![CDATA[测试订购人]]></ceb:buyerName>",
            1,
        )
    )
    assert parse(xml).documents[0].OrderHead.buyerName == "测试订购人"


def test_parse_accepts_an_already_parsed_element() -> None:
    built = ceb311()
    root = etree.fromstring(render(built))
    assert parse(root) == built
