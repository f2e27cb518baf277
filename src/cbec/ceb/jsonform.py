"""The JSON form of a CEB message: the official element names, exact digits, and a lossless round trip.

Web front ends and scripts prefer JSON to XML; this form lets them speak CEB without losing anything
(`from_json(to_json(m)) == m`). One shape only::

    {"CEB621Message": {
        "guid": "…", "version": "1.0",
        "Inventory": [{"InventoryHead": {"orderNo": "…", "freight": "13.89000", …},
                       "InventoryList": [{"gnum": 1, …}, …]}],
        "BaseTransfer": {…},
        "ExtendMessage": {"name": "…", "version": "…", "Message": "<x>…</x>" or null},
        "Signature": "<ds:Signature …>…</ds:Signature>"}}

* The single top-level key is the root element name (``CEBnnnMessage``); ``guid`` and ``version`` are its
  attributes. Keys follow the XSD order.
* A repeated child (maxOccurs > 1) is always a list; a single child is an object. A single child that
  occurs more than once (a defect `check` reports) is written as a list so that nothing is lost.
* Decimals are JSON strings written as ``format(d, "f")`` so money keeps its digits (``"13.89000"``);
  integers are JSON numbers; text is a string. On input a decimal may also be a JSON integer, never a
  float (a float has already lost digits). A decimal or integer string that is not a number is kept as
  the raw text, as `cbec.ceb.parse` does, so `check` reports it. ``null`` for a field means "absent".
* Elements the schema does not define (`Node.extra`) appear as ``"_extra": [[name, text], …]`` only when
  there are some. ``ExtendMessage`` and ``Signature`` appear only when present.

Everything `from_json` refuses raises `JsonFormError` with the JSON path of the offending value
(``CEB621Message.Inventory[0].InventoryHead.freight``); values themselves are never quoted in the error,
because fields may hold personal data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from lxml import etree

from cbec.ceb.catalogue.messages import DS_NAMESPACE, MESSAGE_TYPES
from cbec.ceb.catalogue.spec import ChildSpec, FieldSpec, NodeSpec, SlotSpec, message_spec
from cbec.ceb.errors import CebError, UnknownMessage, XmlRefused
from cbec.ceb.model import ExtendMessage, Message, Node, Value
from cbec.ceb.parse import convert
from cbec.ceb.problems import SCHEMA_CODE, Problem, Severity
from cbec.ceb.render import format_value
from cbec.ceb.xmlsafe import DEFAULT_MAX_BYTES, local_name, parse_xml

__all__ = [
    "EXTRA_KEY",
    "JsonFormError",
    "UnknownJsonMessage",
    "document_from_json",
    "dumps",
    "from_json",
    "loads",
    "node_to_json",
    "to_json",
]

#: key under which elements the schema does not define are kept
EXTRA_KEY = "_extra"

_ROOT = re.compile(r"CEB\d{3}Message\Z")
# An XML name render can write back as an element (no prefix, no spaces, no markup characters).
_NCNAME = re.compile(r"[A-Za-z_][\w.\-]*\Z")
_TYPE_ZH = {"string": "字符串", "decimal": "十进制数", "int": "整数"}
_TYPE_EN = {"string": "a string", "decimal": "a decimal", "int": "an integer"}


class JsonFormError(CebError):
    """The JSON is not a CEB message in the JSON form; `path` says where (``CEB621Message.Inventory[0]``)."""

    code = "CBEC-0201"

    def __init__(self, path: str, zh: str, en: str, *, code: str | None = None) -> None:
        self.path = path
        where_zh = f"{path}：" if path else ""
        where_en = f"{path}: " if path else ""
        super().__init__(where_zh + zh, where_en + en, code=code)


class UnknownJsonMessage(JsonFormError, UnknownMessage):
    """The top-level key is not a CEB message root; also an `UnknownMessage`, as for XML input."""

    code = "CBEC-0201"


# ------------------------------------------------------------------------------------------------ writing


def to_json(message: Message) -> dict[str, Any]:
    """The JSON form of `message` as plain dicts, lists, strings and ints (ready for `json.dumps`)."""
    body: dict[str, Any] = {"guid": message.guid, "version": message.version}
    body.update(_node_to_json(message, message.spec))
    return {message.spec.name: body}


def dumps(message: Message, indent: int | None = 2) -> str:
    """JSON text of `message`; Chinese stays readable (no ``\\u`` escapes)."""
    return json.dumps(to_json(message), ensure_ascii=False, indent=indent)


def node_to_json(node: Node) -> dict[str, Any]:
    """The JSON form of one business node (an Order, an Inventory …), as stored beside the message."""
    return _node_to_json(node, node.spec)


#: per node type, its items grouped for writing: (True, field names) for a run of fields, (False, item)
#: for a child or a slot; built once, so a document costs a dict lookup per field and nothing per item
_JsonPlan = tuple[tuple[bool, tuple[str, ...] | ChildSpec | SlotSpec], ...]
_JSON_PLANS: dict[NodeSpec, _JsonPlan] = {}


def _json_plan(spec: NodeSpec) -> _JsonPlan:
    groups: list[tuple[bool, tuple[str, ...] | ChildSpec | SlotSpec]] = []
    run: list[str] = []
    for item in spec.items:
        if isinstance(item, FieldSpec):
            run.append(item.name)
            continue
        if run:
            groups.append((True, tuple(run)))
            run = []
        groups.append((False, item))
    if run:
        groups.append((True, tuple(run)))
    plan = tuple(groups)
    _JSON_PLANS[spec] = plan
    return plan


def _node_to_json(node: Node, spec: NodeSpec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    values = node.values
    plan = _JSON_PLANS.get(spec) or _json_plan(spec)
    for is_fields, group in plan:
        if is_fields:
            assert isinstance(group, tuple)
            for name in group:
                value = values.get(name)
                if value is None:
                    continue
                kind = type(value)
                if kind is str or kind is int:
                    out[name] = value
                elif kind is Decimal:
                    out[name] = format(value, "f")
                else:
                    out[name] = _value_to_json(value)
        elif isinstance(group, ChildSpec):
            nodes = node.children.get(group.name)
            if not nodes:
                continue
            converted = [_node_to_json(child, child.spec) for child in nodes]
            out[group.name] = converted if group.repeated or len(converted) > 1 else converted[0]
        elif isinstance(node, Message):
            assert isinstance(group, SlotSpec)
            if group.kind == "extend" and node.extend is not None:
                ext = node.extend
                out["ExtendMessage"] = {
                    "name": ext.name,
                    "version": ext.version,
                    "Message": None if ext.message is None else _text(ext.message, "ExtendMessage.Message"),
                }
            elif group.kind == "signature" and node.signature is not None:
                out["Signature"] = _text(node.signature, "Signature")
    if node.extra:
        out[EXTRA_KEY] = [[name, text] for name, text in node.extra]
    return out


def _value_to_json(value: Value) -> str | int:
    # bool is an int subclass; a model never holds one, but it must not slip out as true/false.
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return format_value(value)


def _text(data: bytes, path: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JsonFormError(path, "内容不是有效的 UTF-8 文本", "the content is not valid UTF-8 text") from exc


# ------------------------------------------------------------------------------------------------ reading


def loads(text: str | bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    """Decode JSON text, refusing oversized input and duplicate keys (which would silently drop data)."""
    size = len(text.encode("utf-8")) if isinstance(text, str) else len(text)
    if size > max_bytes:
        raise JsonFormError(
            "",
            f"JSON 过大：{size} 字节，上限 {max_bytes} 字节",
            f"JSON too large: {size} bytes, limit {max_bytes}",
        )
    if isinstance(text, str):
        text = text.lstrip("\ufeff")
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except JsonFormError:
        raise
    except json.JSONDecodeError as exc:
        raise JsonFormError(
            "",
            f"不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列，{exc.msg}",
            f"not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}",
        ) from exc
    except UnicodeDecodeError as exc:
        raise JsonFormError(
            "", "JSON 编码无法识别（应为 UTF-8）", "the JSON encoding cannot be read (use UTF-8)"
        ) from exc
    except RecursionError as exc:
        raise JsonFormError("", "JSON 嵌套过深", "the JSON is nested too deeply") from exc


#: characters XML 1.0 cannot carry (controls, lone surrogates, U+FFFE/U+FFFF): the JSON form must be
#: expressible as the XML message, and databases refuse some of them (PostgreSQL: NUL)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise JsonFormError(
                "", f"JSON 对象中键 {key!r} 重复出现", f"the key {key!r} appears twice in one object"
            )
        texts = [key, value] if not isinstance(value, list) else [key, *value]
        if any(isinstance(t, str) and _NOT_XML.search(t) for t in texts):
            raise JsonFormError(
                "",
                f"键 {key!r} 的值含有 XML 不允许的控制字符",
                f"the value of {key!r} contains a control character XML does not allow",
            )
        out[key] = value
    return out


def from_json(data: Mapping[str, Any] | str | bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Message:
    """Build a `Message` from its JSON form (a decoded dict or JSON text); `JsonFormError` if it is not."""
    obj = loads(data, max_bytes=max_bytes) if isinstance(data, str | bytes) else data
    if not isinstance(obj, Mapping):
        raise JsonFormError("", "顶层应为 JSON 对象", "the top level must be a JSON object")
    if len(obj) != 1:
        raise JsonFormError(
            "",
            f"顶层应只有一个键（报文根节点名，如 CEB621Message），实有 {len(obj)} 个",
            f"the top level must have exactly one key (the root name, e.g. CEB621Message), found {len(obj)}",
        )
    ((root_name, body),) = obj.items()
    if not isinstance(root_name, str) or not _ROOT.match(root_name) or root_name[:6] not in MESSAGE_TYPES:
        raise UnknownJsonMessage(
            "",
            f"无法识别的报文类型 {root_name!r}：顶层键应为 CEBnnnMessage",
            f"unknown message type {root_name!r}: the top-level key must be CEBnnnMessage",
        )
    spec = message_spec(root_name)
    path = root_name
    body = _object(body, path)
    msg = Message(spec.root, guid="", version="")
    notes = msg.parse_notes
    for attr in ("guid", "version"):
        value = body.get(attr)
        if value is None:
            notes.append(
                Problem(
                    SCHEMA_CODE,
                    f"@{attr}",
                    "error",
                    "required",
                    f"缺少必填属性 {attr}",
                    f"required attribute {attr} is missing",
                )
            )
        elif not isinstance(value, str):
            raise _wrong_type(f"{path}.{attr}", "字符串", "a string")
        else:
            setattr(msg, attr, value)
    _fill(msg, spec.root, {k: v for k, v in body.items() if k not in ("guid", "version")}, path, "", msg)
    return msg


def document_from_json(code: str, obj: Mapping[str, Any]) -> Node:
    """One business document of a `code` message (an Order, an Inventory …) from its stored JSON form
    (`node_to_json`), the node parsing its message gave, because the form is lossless. Reading a stored
    document back this way costs a fraction of parsing its archived message again. `JsonFormError` if
    `obj` is not that form."""
    spec = message_spec(code)
    body = spec.body
    msg = Message(spec.root, guid="", version="")
    node = Node(body.node)
    _fill(node, body.node, _object(obj, body.name), body.name, body.name, msg)
    return node


def _fill(
    node: Node, spec: NodeSpec, obj: Mapping[str, Any], path: str, problem_path: str, msg: Message
) -> None:
    """Fill `node` from `obj`; `path` is the JSON path (for errors), `problem_path` the check path (notes)."""
    prefix = f"{problem_path}/" if problem_path else ""
    for key, raw in obj.items():
        where = f"{path}.{key}"
        if key == EXTRA_KEY:
            extras = _extra(raw, where)
            node.extra.extend(extras)
            severity: Severity = "warning" if msg.type.kind != "declaration" else "error"
            for name, _ in extras:
                msg.parse_notes.append(
                    Problem(
                        SCHEMA_CODE,
                        prefix + name,
                        severity,
                        "unknown_element",
                        f"元素 <{name}> 不属于 {spec.name} 的报文定义，已保留",
                        f"element <{name}> is not defined for {spec.name} in the schema; kept",
                    )
                )
            continue
        field = spec.fields.get(key)
        if field is not None:
            if raw is not None:
                node.values[key] = _value(field, raw, where)
            continue
        child = spec.children.get(key)
        if child is not None:
            _children(node, child, raw, where, prefix, msg)
            continue
        if isinstance(node, Message) and key in node.spec.slot_names:
            if key == "ExtendMessage":
                node.extend = None if raw is None else _extend(raw, where)
            elif raw is not None:
                node.signature = _signature(raw, where)
            continue
        raise JsonFormError(
            where,
            f"{spec.name}（{spec.zh}）没有字段或子节点 {key}",
            f"{spec.name} ({spec.en}) has no field or child node {key!r}",
        )


def _children(node: Node, child: ChildSpec, raw: Any, where: str, prefix: str, msg: Message) -> None:
    if raw is None:
        return
    if isinstance(raw, list):
        items = raw
    elif child.repeated:
        raise JsonFormError(
            where,
            f"{child.name} 可重复出现，应为 JSON 数组（列表）",
            f"{child.name} may repeat and must be a JSON array (list)",
        )
    else:
        items = [raw]
    for i, item in enumerate(items):
        item_path = f"{where}[{i}]" if isinstance(raw, list) else where
        sub = Node(child.node)
        # Notes use the paths `cbec.ceb.parse` gives, so XML and JSON input report the same problems.
        check_path = f"{prefix}{child.name}[{i + 1}]" if child.repeated else prefix + child.name
        _fill(sub, child.node, _object(item, item_path), item_path, check_path, msg)
        node.children.setdefault(child.name, []).append(sub)


def _object(raw: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise _wrong_type(path, "JSON 对象", "a JSON object")
    for key in raw:
        if not isinstance(key, str):
            raise JsonFormError(path, "对象的键必须是字符串", "object keys must be strings")
    return raw


def _value(field: FieldSpec, raw: Any, path: str) -> Value:
    kind = field.type
    if isinstance(raw, bool):
        raise _wrong_type(path, _TYPE_ZH[kind], _TYPE_EN[kind])
    if isinstance(raw, str):
        # Same typing as XML text: a decimal or integer that does not read stays raw for `check`.
        return convert(field, raw)
    if kind == "decimal":
        if isinstance(raw, int):
            return Decimal(raw)
        if isinstance(raw, float):
            raise JsonFormError(
                path,
                f'{field.zh}（{field.name}）是十进制数，请写成 JSON 字符串（如 "13.89000"），'
                "不要写成浮点数：浮点数会丢失位数",
                f'{field.en} ({field.name}) is a decimal: write it as a JSON string (e.g. "13.89000"), '
                "not a floating-point number, which loses digits",
            )
    elif kind == "int" and isinstance(raw, int):
        return raw
    raise _wrong_type(path, _TYPE_ZH[kind], _TYPE_EN[kind])


def _wrong_type(path: str, zh: str, en: str) -> JsonFormError:
    return JsonFormError(path, f"类型错误：应为{zh}", f"wrong type: expected {en}")


def _extra(raw: Any, path: str) -> list[tuple[str, str]]:
    if not isinstance(raw, list):
        raise _wrong_type(path, "[[元素名, 文本], …] 数组", "an array of [name, text] pairs")
    out: list[tuple[str, str]] = []
    for i, pair in enumerate(raw):
        where = f"{path}[{i}]"
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
            raise _wrong_type(where, "[元素名, 文本] 字符串对", "a [name, text] pair of strings")
        name, text = pair
        if not _NCNAME.match(name):
            raise JsonFormError(
                where, "元素名不是有效的 XML 名称", "the element name is not a valid XML name"
            )
        out.append((name, text))
    return out


def _extend(raw: Any, path: str) -> ExtendMessage:
    obj = _object(raw, path)
    ext = ExtendMessage()
    for key, value in obj.items():
        where = f"{path}.{key}"
        if key in ("name", "version"):
            if not isinstance(value, str):
                raise _wrong_type(where, "字符串", "a string")
            setattr(ext, key, value)
        elif key == "Message":
            if value is not None:
                if not isinstance(value, str):
                    raise _wrong_type(where, "XML 字符串或 null", "an XML string or null")
                _xml_element(value, where)
                ext.message = value.encode("utf-8")
        else:
            raise JsonFormError(
                where,
                f"ExtendMessage 只有 name、version、Message，没有 {key}",
                f"ExtendMessage has only name, version and Message, not {key!r}",
            )
    return ext


def _signature(raw: Any, path: str) -> bytes:
    if not isinstance(raw, str):
        raise _wrong_type(path, "ds:Signature 的 XML 字符串", "the ds:Signature element as an XML string")
    root = _xml_element(raw, path)
    if root.tag != "{" + DS_NAMESPACE + "}Signature":
        raise JsonFormError(
            path,
            f"应为 XML 签名元素 ds:Signature（命名空间 {DS_NAMESPACE}），实为 <{local_name(root)}>",
            f"expected the XML signature element ds:Signature ({DS_NAMESPACE}), found <{local_name(root)}>",
        )
    return raw.encode("utf-8")


def _xml_element(text: str, path: str) -> etree._Element:
    try:
        return parse_xml(text)
    except XmlRefused as exc:
        raise JsonFormError(path, exc.zh, exc.en) from exc
