"""The DxpMsg envelope (终端节点报文) that carries a CEB message across the customs data-exchange platform.

A business message never travels bare: it is Base64-encoded into ``<Data>`` of a ``DxpMsg`` that names the
sender, the receivers and the message type. `wrap` builds that envelope so it validates against the official
terminal-node schema; `unwrap` takes one apart, tolerant of the prefixes and namespaces seen in real traffic,
and keeps every AddInfo part so that unwrap followed by `DxpEnvelope.to_xml` loses nothing but a signature.

CreatTime is written as the spec's ``yyyy-mm-ddThh:mm:ss`` in China Standard Time without an offset, the form
the customs clients send; on input an offset (``+08:00``, ``Z``) or fractional seconds are accepted and a
time without an offset is taken as China Standard Time.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from lxml import etree

from cbec.ceb.catalogue import MessageType, message_type
from cbec.ceb.errors import CebError, UnknownMessage
from cbec.ceb.xmlsafe import DEFAULT_MAX_BYTES, local_name, parse_xml

__all__ = [
    "CST",
    "DXP_NAMESPACE",
    "EXPORT_RECEIVER",
    "IMPORT_RECEIVER",
    "DxpEnvelope",
    "DxpError",
    "DxpRep",
    "DxpRepResponse",
    "DxpRepResult",
    "format_dxp_time",
    "is_dxp",
    "parse_dxp_time",
    "unwrap",
    "unwrap_rep",
    "wrap",
]

DXP_NAMESPACE = "http://www.chinaport.gov.cn/dxp"
#: China Standard Time; China has kept UTC+8 without daylight saving since 1991, so a fixed offset is exact.
CST = timezone(timedelta(hours=8), "CST")
#: Customs receivers on the exchange platform: import (进口) and export (出口) messages go to different nodes.
IMPORT_RECEIVER = "DXPEDCCEB0000002"
EXPORT_RECEIVER = "DXPEDCCEB0000003"

_VERSION = "1.0"
_MAX_RECEIVERS = 5
_MAX_BIZ_KEYS = 5
_ENVELOPE_ROOTS = ("DxpMsg", "DxpMsgSv")
# xs:dateTime, plus a space instead of T because some senders write it that way.
_DATETIME = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d+))?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?$"
)
_BASE64 = re.compile(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$")
# xs:ID is an NCName; the spec adds that it must not be purely digits (which an NCName excludes anyway).
_NCNAME = re.compile(r"^[A-Za-z_][\w.\-]*$")


class DxpError(CebError):
    """An envelope cannot be built or read. Codes follow the DXP table: 0001 format, 0002 schema."""

    code = "0001"


# --------------------------------------------------------------------------------------------------- time


def format_dxp_time(moment: datetime) -> str:
    """Write an aware datetime as CreatTime: CST, whole seconds, no offset, as the spec shows it."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise DxpError(
            "报文创建时间必须带时区（不能是无时区的 datetime）",
            "the creation time must be timezone-aware (a naive datetime is ambiguous)",
            code="CBEC-0101",
        )
    return moment.astimezone(CST).strftime("%Y-%m-%dT%H:%M:%S")


def parse_dxp_time(text: str) -> datetime:
    """Read an xs:dateTime from the wire; no offset means China Standard Time. The result is in CST."""
    match = _DATETIME.match(text.strip())
    if match is None:
        raise DxpError(
            f"CreatTime 不是有效的日期时间（应为 yyyy-mm-ddThh:mm:ss）：{text!r}",
            f"CreatTime is not a valid date-time (expected yyyy-mm-ddThh:mm:ss): {text!r}",
            code="0002",
        )
    frac = (match["frac"] or "")[:6].ljust(6, "0")
    tz = match["tz"]
    offset = "+00:00" if tz == "Z" else tz
    try:
        moment = datetime.fromisoformat(f"{match['date']}T{match['time']}.{frac}{offset or ''}")
    except ValueError as exc:
        raise DxpError(
            f"CreatTime 日期或时间超出范围：{text!r}",
            f"CreatTime has a date or time out of range: {text!r}",
            code="0002",
        ) from exc
    if moment.tzinfo is None:
        return moment.replace(tzinfo=CST)
    return moment.astimezone(CST)


# ----------------------------------------------------------------------------------------------- envelope


@dataclass(frozen=True, slots=True)
class DxpEnvelope:
    """One DxpMsg: transport header, the business message as bytes, and the optional AddInfo parts.

    Limits are checked when the envelope is written (`to_xml`), not when it is read, so that a received
    envelope with an over-long field can still be inspected.
    """

    cop_msg_id: str
    sender_id: str
    receiver_ids: tuple[str, ...]
    create_time: datetime
    msg_type: str
    data: bytes
    file_name: str | None = None
    ic_card: str | None = None
    #: BizKey/Key elements as (name attribute or None, text), in document order.
    biz_keys: tuple[tuple[str | None, str], ...] = ()
    #: IsText@Encode: present when Data is text rather than XML, naming its character set.
    is_text_encode: str | None = None
    rec_map_id: str | None = None
    #: The optional DxpMsg@Id an envelope signature would reference.
    xml_id: str | None = None
    ver: str = _VERSION
    #: True when the envelope carried its own ds:Signature; it is not rewritten by `to_xml`.
    signed: bool = field(default=False, compare=False)

    def __post_init__(self) -> None:
        # Accept lists from callers but keep the dataclass hashable and immutable.
        if not isinstance(self.receiver_ids, tuple):
            object.__setattr__(self, "receiver_ids", tuple(self.receiver_ids))
        if not isinstance(self.biz_keys, tuple) or any(not isinstance(k, tuple) for k in self.biz_keys):
            object.__setattr__(self, "biz_keys", tuple((name, value) for name, value in self.biz_keys))
        if self.create_time.tzinfo is None or self.create_time.utcoffset() is None:
            raise DxpError(
                "报文创建时间必须带时区（不能是无时区的 datetime）",
                "the creation time must be timezone-aware (a naive datetime is ambiguous)",
                code="CBEC-0101",
            )

    @property
    def message_type(self) -> MessageType | None:
        """The CEB message type named by MsgType, or None when MsgType is not a CEB message."""
        try:
            return message_type(self.msg_type)
        except KeyError:
            return None

    def business_root(self, *, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
        """Parse the carried business message with the same hardened parser as everything else."""
        return parse_xml(self.data, max_bytes=max_bytes)

    def to_xml(self) -> bytes:
        """UTF-8 bytes valid against the terminal-node XSD; DxpError when a field breaks a schema limit."""
        self._check()
        return _render(self)

    def _check(self) -> None:
        problems = list(self._problems())
        if problems:
            zh = "；".join(p[0] for p in problems)
            en = "; ".join(p[1] for p in problems)
            raise DxpError(
                f"DxpMsg 报文头不符合规范：{zh}", f"the DxpMsg header is not valid: {en}", code="0002"
            )

    def _problems(self) -> Iterator[tuple[str, str]]:
        yield from _length("CopMsgId", self.cop_msg_id, 1, 255)
        yield from _length("SenderId", self.sender_id, 1, 16)
        if not 1 <= len(self.receiver_ids) <= _MAX_RECEIVERS:
            yield (
                f"ReceiverId 应有 1 到 {_MAX_RECEIVERS} 个，实有 {len(self.receiver_ids)} 个",
                f"there must be 1 to {_MAX_RECEIVERS} ReceiverId, found {len(self.receiver_ids)}",
            )
        for receiver in self.receiver_ids:
            yield from _length("ReceiverId", receiver, 1, 16)
        yield from _length("MsgType", self.msg_type, 0, 30)
        if self.ver != _VERSION:
            yield (f"ver 必须为 {_VERSION}，实为 {self.ver!r}", f"ver must be {_VERSION}, got {self.ver!r}")
        if self.xml_id is not None and not _NCNAME.match(self.xml_id):
            yield (
                f"Id 必须是 XML 名称（字母或下划线开头，不能为纯数字）：{self.xml_id!r}",
                f"Id must be an XML name (a letter or underscore first, not all digits): {self.xml_id!r}",
            )
        if self.file_name is not None:
            yield from _length("FileName", self.file_name, 1, 255)
        if self.ic_card is not None:
            yield from _length("IcCard", self.ic_card, 1, 13)
        if len(self.biz_keys) > _MAX_BIZ_KEYS:
            yield (
                f"BizKey/Key 最多 {_MAX_BIZ_KEYS} 个，实有 {len(self.biz_keys)} 个",
                f"BizKey allows at most {_MAX_BIZ_KEYS} Key, found {len(self.biz_keys)}",
            )
        for name, value in self.biz_keys:
            if name is not None:
                yield from _length("Key@name", name, 1, 32)
            yield from _length("Key", value, 1, 64)
        if self.is_text_encode is not None:
            yield from _length("IsText@Encode", self.is_text_encode, 0, 50)


def _length(name: str, value: str, low: int, high: int) -> Iterator[tuple[str, str]]:
    if not low <= len(value) <= high:
        span_zh = f"不超过 {high} 个字符" if low == 0 else f"{low} 到 {high} 个字符"
        span_en = f"at most {high} characters" if low == 0 else f"{low} to {high} characters"
        yield (
            f"{name} 长度应为 {span_zh}，实为 {len(value)}：{value!r}",
            f"{name} must be {span_en}, got {len(value)}: {value!r}",
        )


def _render(env: DxpEnvelope) -> bytes:
    def sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
        child = etree.SubElement(parent, f"{{{DXP_NAMESPACE}}}{name}")
        if text is not None:
            child.text = text
        return child

    root = etree.Element(f"{{{DXP_NAMESPACE}}}DxpMsg", nsmap={"dxp": DXP_NAMESPACE})
    root.set("ver", env.ver)
    if env.xml_id is not None:
        root.set("Id", env.xml_id)
    trans = sub(root, "TransInfo")
    sub(trans, "CopMsgId", env.cop_msg_id)
    sub(trans, "SenderId", env.sender_id)
    receivers = sub(trans, "ReceiverIds")
    for receiver in env.receiver_ids:
        sub(receivers, "ReceiverId", receiver)
    sub(trans, "CreatTime", format_dxp_time(env.create_time))
    sub(trans, "MsgType", env.msg_type)
    sub(root, "Data", base64.b64encode(env.data).decode("ascii"))
    has_add_info = (
        env.file_name is not None
        or env.ic_card is not None
        or env.biz_keys
        or env.is_text_encode is not None
        or env.rec_map_id is not None
    )
    if has_add_info:
        add = sub(root, "AddInfo")
        if env.file_name is not None:
            sub(add, "FileName", env.file_name)
        if env.ic_card is not None:
            sub(add, "IcCard", env.ic_card)
        if env.biz_keys:
            biz = sub(add, "BizKey")
            for name, value in env.biz_keys:
                key = sub(biz, "Key", value)
                if name is not None:
                    key.set("name", name)
        if env.is_text_encode is not None:
            sub(add, "IsText").set("Encode", env.is_text_encode)
        if env.rec_map_id is not None:
            sub(add, "RecMapId", env.rec_map_id)
    body = etree.tostring(root, encoding="UTF-8", xml_declaration=False, pretty_print=True)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


# ------------------------------------------------------------------------------------------------- wrap


def wrap(
    business_xml: bytes,
    *,
    sender_id: str,
    receiver_id: str | None = None,
    cop_msg_id: str | None = None,
    create_time: datetime | None = None,
    file_name: str | None = None,
) -> bytes:
    """Put a CEB message into a DxpMsg addressed to customs; the bytes are carried exactly as given.

    The message type comes from the business root element. Without an explicit receiver, import messages
    go to ``DXPEDCCEB0000002`` and export messages to ``DXPEDCCEB0000003``.
    """
    root = parse_xml(bytes(business_xml))
    name = local_name(root)
    if name in _ENVELOPE_ROOTS:
        raise DxpError(
            f"待封装的报文已经是 {name} 信封，不能重复封装",
            f"the message is already a {name} envelope and cannot be wrapped again",
        )
    try:
        kind = message_type(name)
    except KeyError:
        raise UnknownMessage(
            f"无法识别的业务报文根节点 {name!r}，不是跨境电商统一版报文",
            f"unknown business root element {name!r}: not a CEB message",
        ) from None
    if name != kind.root:  # message_type also accepts "CEB311" or "311"; the wire needs the exact root.
        raise UnknownMessage(
            f"业务报文根节点应为 {kind.root}，实为 {name!r}",
            f"the business root element must be {kind.root}, got {name!r}",
        )
    if receiver_id is None:
        receiver_id = IMPORT_RECEIVER if kind.direction == "import" else EXPORT_RECEIVER
    if cop_msg_id is None:
        cop_msg_id = str(uuid.uuid4()).upper()
    if create_time is None:
        create_time = datetime.now(CST)
    create_time = _whole_seconds_cst(create_time)
    if file_name is None:
        file_name = f"{kind.root}_{cop_msg_id}.xml"
    envelope = DxpEnvelope(
        cop_msg_id=cop_msg_id,
        sender_id=sender_id,
        receiver_ids=(receiver_id,),
        create_time=create_time,
        msg_type=kind.root,
        data=bytes(business_xml),
        file_name=file_name,
    )
    return envelope.to_xml()


def _whole_seconds_cst(moment: datetime) -> datetime:
    """The instant as the wire will carry it, so unwrap(wrap(x)) compares equal to what was built."""
    format_dxp_time(moment)  # refuses a naive datetime with a clear message
    return moment.astimezone(CST).replace(microsecond=0)


# ----------------------------------------------------------------------------------------------- unwrap


def is_dxp(root: etree._Element) -> bool:
    """True for a DxpMsg root, or a transfer-node DxpMsgSv around one, whatever the prefix or namespace."""
    return local_name(root) in _ENVELOPE_ROOTS


def unwrap(source: bytes | str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> DxpEnvelope:
    """Read a DxpMsg (``dxp:`` prefix, default namespace or none) and decode the business message in Data."""
    root = parse_xml(source, max_bytes=max_bytes)
    name = local_name(root)
    if name == "DxpMsgSv":  # a transfer node's wrapper: the terminal envelope sits inside it
        inner = _child(root, "DxpMsg")
        if inner is None:
            raise DxpError("DxpMsgSv 中缺少 DxpMsg 节点", "DxpMsgSv has no DxpMsg element", code="0002")
        root = inner
    elif name != "DxpMsg":
        raise DxpError(
            f"报文根节点应为 DxpMsg，实为 {name!r}",
            f"the root element must be DxpMsg, got {name!r}",
        )
    trans = _child(root, "TransInfo")
    if trans is None:
        raise _missing("TransInfo")
    receivers_el = _child(trans, "ReceiverIds")
    if receivers_el is None:
        raise _missing("TransInfo/ReceiverIds")
    receivers = tuple(_text(el) for el in _children(receivers_el, "ReceiverId"))
    if not receivers:
        raise _missing("TransInfo/ReceiverIds/ReceiverId")
    time_el = _child(trans, "CreatTime")
    if time_el is None:
        raise _missing("TransInfo/CreatTime")
    add = _child(root, "AddInfo")
    biz_keys: tuple[tuple[str | None, str], ...] = ()
    is_text_encode: str | None = None
    if add is not None:
        biz = _child(add, "BizKey")
        if biz is not None:
            biz_keys = tuple((key.get("name"), _text(key)) for key in _children(biz, "Key"))
        is_text = _child(add, "IsText")
        if is_text is not None:
            is_text_encode = is_text.get("Encode", "")
    return DxpEnvelope(
        cop_msg_id=_required_text(trans, "CopMsgId"),
        sender_id=_required_text(trans, "SenderId"),
        receiver_ids=receivers,
        create_time=parse_dxp_time(_text(time_el)),
        msg_type=_required_text(trans, "MsgType"),
        data=_decode_data(root),
        file_name=_optional_text(add, "FileName"),
        ic_card=_optional_text(add, "IcCard"),
        biz_keys=biz_keys,
        is_text_encode=is_text_encode,
        rec_map_id=_optional_text(add, "RecMapId"),
        xml_id=root.get("Id"),
        ver=root.get("ver", _VERSION),
        signed=_child(root, "Signature") is not None,
    )


def _decode_data(root: etree._Element) -> bytes:
    data_el = _child(root, "Data")
    if data_el is None:
        raise _missing("Data")
    # xs:base64Binary allows whitespace anywhere; senders wrap lines at 76 characters.
    text = re.sub(r"\s+", "", _text(data_el))
    # The regex enforces what b64decode forgives (stray or misplaced padding), as xs:base64Binary does.
    reason = "bad characters, length or padding"
    try:
        if _BASE64.match(text) is None:
            raise ValueError(reason)
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DxpError(
            f"Data 不是有效的 Base64 编码（字符、长度或填充不正确）：{exc}",
            f"Data is not valid Base64: {exc}",
            code="0002",
        ) from exc
    if not data.strip():
        raise DxpError("Data 为空，信封中没有业务报文", "Data is empty: the envelope carries no message")
    return data


def _missing(path: str, root: str = "DxpMsg") -> DxpError:
    return DxpError(f"{root} 缺少必填节点 {path}", f"{root} lacks the required element {path}", code="0002")


def _children(parent: etree._Element, name: str) -> Iterator[etree._Element]:
    return (child for child in parent if local_name(child) == name)


def _child(parent: etree._Element, name: str) -> etree._Element | None:
    return next(_children(parent, name), None)


def _text(element: etree._Element) -> str:
    return (element.text or "").strip()


def _required_text(parent: etree._Element, name: str) -> str:
    element = _child(parent, name)
    if element is None:
        raise _missing(f"{local_name(parent)}/{name}")
    return _text(element)


def _optional_text(parent: etree._Element | None, name: str) -> str | None:
    if parent is None:
        return None
    element = _child(parent, name)
    return None if element is None else _text(element)


# ------------------------------------------------------------------------------------------------ DxpRep


@dataclass(frozen=True, slots=True)
class DxpRepResult:
    """The platform's verdict for one receiver of a multi-receiver message."""

    rec_id: str
    code: str
    info: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class DxpRepResponse:
    """One Response of a DxpRep; `ori_cop_msg_id` ties it back to the envelope it answers."""

    response_code: str
    response_info: str | None
    node_id: str | None
    notice_time: str | None
    note: str | None
    ori_cop_msg_id: str | None
    ori_msg_type: str | None
    results: tuple[DxpRepResult, ...] = ()


@dataclass(frozen=True, slots=True)
class DxpRep:
    """An exchange-platform response (交换平台响应报文): transport-level acceptance or an error code."""

    receiver_id: str
    ad_node_id: str | None
    responses: tuple[DxpRepResponse, ...]


def unwrap_rep(source: bytes | str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> DxpRep:
    """Read a DxpRep; namespace-agnostic like `unwrap`. The schema spells the receiver element RecevierId."""
    root = parse_xml(source, max_bytes=max_bytes)
    if local_name(root) != "DxpRep":
        raise DxpError(
            f"报文根节点应为 DxpRep，实为 {local_name(root)!r}",
            f"the root element must be DxpRep, got {local_name(root)!r}",
        )
    receiver = _optional_text(root, "RecevierId")
    if receiver is None:
        receiver = _required_text(root, "ReceiverId")  # tolerate the corrected spelling too
    responses = []
    for resp in _children(root, "Response"):
        results_el = _child(resp, "Results")
        results: tuple[DxpRepResult, ...] = ()
        if results_el is not None:
            results = tuple(
                DxpRepResult(
                    rec_id=_required_text(r, "RecId"),
                    code=_required_text(r, "Code"),
                    info=_optional_text(r, "Info"),
                    note=_optional_text(r, "Note"),
                )
                for r in _children(results_el, "Result")
            )
        ori = _child(resp, "OriHead")
        responses.append(
            DxpRepResponse(
                response_code=_required_text(resp, "ResponseCode"),
                response_info=_optional_text(resp, "ResponseInfo"),
                node_id=_optional_text(resp, "NodeId"),
                notice_time=_optional_text(resp, "NoticeTime"),
                note=_optional_text(resp, "Note"),
                ori_cop_msg_id=_optional_text(ori, "CopMsgId"),
                ori_msg_type=_optional_text(ori, "MsgType"),
                results=results,
            )
        )
    if not responses:
        raise _missing("Response", "DxpRep")
    return DxpRep(
        receiver_id=receiver, ad_node_id=_optional_text(root, "AdNodeId"), responses=tuple(responses)
    )
