"""Parse CEB messages from bytes, text or files into typed `Message` objects.

Tolerant of what real traffic contains (``ceb:`` prefix, default namespace or none, GBK declarations, a BOM,
unknown elements, elements out of order, a DxpMsg envelope around the message) and never silent about it:
every deviation becomes a parse note that `check` reports with its path.
"""

from __future__ import annotations

import copy
import re
from decimal import Decimal
from pathlib import Path

from lxml import etree

from cbec.ceb.catalogue.messages import DS_NAMESPACE, MESSAGE_TYPES, NAMESPACE
from cbec.ceb.catalogue.spec import ChildSpec, FieldSpec, NodeSpec, message_spec
from cbec.ceb.check import (
    DEFAULT_OPTIONS,
    CheckOptions,
    Context,
    check_structure,
    check_value,
    finish,
    value_ok,
)
from cbec.ceb.errors import UnknownMessage
from cbec.ceb.model import ExtendMessage, Message, Node, Value
from cbec.ceb.problems import SCHEMA_CODE, Problem
from cbec.ceb.xmlsafe import DEFAULT_MAX_BYTES, parse_xml

_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\Z")
_INT = re.compile(r"[+-]?[0-9]+\Z")
_ROOT = re.compile(r"(CEB\d{3})(Message)?\Z")
_DS_SIGNATURE = "{" + DS_NAMESPACE + "}Signature"


def convert(spec: FieldSpec, text: str) -> Value:
    """Typed value of `text` for a field; the raw text when it does not fit the type."""
    if spec.type == "string":
        return text
    stripped = text.strip()
    if spec.type == "decimal":
        return Decimal(stripped) if _DECIMAL.match(stripped) else text
    return int(stripped) if _INT.match(stripped) else text


def parse(source: bytes | str | Path | etree._Element, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Message:
    """Parse one CEB message (or a DxpMsg carrying one) into a `Message`."""
    root = source if isinstance(source, etree._Element) else parse_xml(source, max_bytes=max_bytes)
    name = _local(root.tag)
    if name == "DxpMsg":
        from cbec.ceb import dxp  # the envelope module sits beside this one

        envelope = dxp.unwrap(etree.tostring(root))
        return parse(envelope.data, max_bytes=max_bytes)
    return parse_element(root)


def parse_element(root: etree._Element) -> Message:
    """Build a `Message` from an already parsed root element."""
    msg = _message(root)
    _fill(msg, root, msg.spec, "", msg.parse_notes, msg, None)
    return msg


def parse_checked(
    source: bytes | str | Path | etree._Element,
    options: CheckOptions = DEFAULT_OPTIONS,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> tuple[Message, list[Problem]]:
    """Parse and check in one pass over the tree: the same result as ``check(parse(x))``, faster.

    Intake paths (validation, clearance) use this; the field checks run while values are read."""
    root = source if isinstance(source, etree._Element) else parse_xml(source, max_bytes=max_bytes)
    if _local(root.tag) == "DxpMsg":
        from cbec.ceb import dxp

        return parse_checked(dxp.unwrap(etree.tostring(root)).data, options, max_bytes=max_bytes)
    msg = _message(root)
    ctx = Context(msg, options)
    _fill(msg, root, msg.spec, "", msg.parse_notes, msg, ctx)
    return msg, finish(msg, ctx)


def _message(root: etree._Element) -> Message:
    """The root's message type, attributes and namespace form; refuses unknown roots."""
    name = _local(root.tag)
    match = _ROOT.match(name)
    if not match or match.group(1) not in MESSAGE_TYPES:
        raise UnknownMessage(
            f"无法识别的报文类型：根元素为 <{name}>，应为 CEBnnnMessage",
            f"unknown message type: the root element is <{name}>, expected CEBnnnMessage",
        )
    spec = message_spec(match.group(1))
    notes: list[Problem] = []
    if match.group(2) is None:
        notes.append(
            _note(
                name,
                "root_name",
                f"根元素应为 {spec.type.root}",
                f"the root element must be {spec.type.root}",
            )
        )
    ns = etree.QName(root).namespace
    form = "none" if ns is None else ("prefix" if root.prefix else "default")
    if ns is not None and ns != NAMESPACE:
        notes.append(
            _note(name, "namespace", f"命名空间应为 {NAMESPACE}", f"the namespace must be {NAMESPACE}")
        )
    msg = Message(
        spec.root,
        guid=root.get("guid", ""),
        version=root.get("version", ""),
        namespace_form=form,
        parse_notes=notes,
    )
    for attr in ("guid", "version"):
        if root.get(attr) is None:
            notes.append(
                _note(f"@{attr}", "required", f"缺少必填属性 {attr}", f"required attribute {attr} is missing")
            )
    return msg


def _local(tag: object) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _note(path: str, rule: str, zh: str, en: str, severity: str = "error") -> Problem:
    return Problem(SCHEMA_CODE, path, "error" if severity == "error" else "warning", rule, zh, en)


_LOCAL: dict[str, str] = {}


def _local_name(tag: str) -> str:
    local = _LOCAL.get(tag)
    if local is None:
        local = tag.rpartition("}")[2]
        if len(_LOCAL) < 4096:  # bounded: hostile input could invent many namespaces
            _LOCAL[tag] = local
    return local


def _fill(
    node: Node,
    el: etree._Element,
    spec: NodeSpec,
    path: str,
    notes: list[Problem],
    msg: Message,
    ctx: Context | None,
) -> None:
    """Read the children of `el` into `node`; with `ctx`, check each value as it is read."""
    index = spec.index
    values = node.values
    last = -1
    misplaced = False
    counts: dict[str, int] = {}
    prefix = f"{path}/" if path else ""
    for child in el:
        tag = child.tag
        if type(tag) is not str:
            continue  # comments and processing instructions carry no data
        entry = index.get(tag)
        if entry is None:
            if tag == _DS_SIGNATURE and "Signature" in index:
                msg.signature = element_bytes(child)
                pos = spec.order["Signature"]
                misplaced = misplaced or pos < last
                last = pos
                continue
            local = _local_name(tag)
            entry = index.get(local)
            if entry is None:
                _unknown(node, child, local, prefix, spec, notes, msg)
                continue
        pos, item = entry
        if pos < last:
            misplaced = True
        last = pos
        if type(item) is FieldSpec:
            local = item.name
            if local in values:
                notes.append(
                    _note(
                        prefix + local,
                        "duplicate",
                        f"字段 {local} 重复出现",
                        f"field {local} appears more than once",
                    )
                )
                continue
            # elements, or comments and PIs splitting the text, make a field's text mixed
            text = _mixed_text(child, prefix + local, notes) if len(child) else child.text or ""
            if item.type == "string":
                values[local] = text
                if ctx is not None:
                    fast = item.fast_range  # inlined value_ok: most strings need only a length check
                    if fast is not None:
                        if not fast[0] <= len(text) <= fast[1]:
                            check_value(item, text, prefix + local, ctx)
                    elif item.fast_codes is None or text not in item.fast_codes:
                        check_value(item, text, prefix + local, ctx)
            else:
                value = convert(item, text)
                values[local] = value
                if (
                    ctx is not None
                    and not (type(value) is Decimal and _decimal_fits(item, text))
                    and not value_ok(item, value)
                ):
                    check_value(item, value, prefix + local, ctx)
        elif type(item) is ChildSpec:
            local = item.name
            sub = Node(item.node)
            if item.repeated:
                n = counts.get(local, 0) + 1
                counts[local] = n
                _fill(sub, child, item.node, f"{prefix}{local}[{n}]", notes, msg, ctx)
            else:
                _fill(sub, child, item.node, prefix + local, notes, msg, ctx)
            node.children.setdefault(local, []).append(sub)
        elif item.name == "ExtendMessage" and isinstance(node, Message):
            node.extend = _extend(child)
    if ctx is not None:
        check_structure(node, spec, prefix, ctx)
    if misplaced:
        notes.append(
            _note(
                path or spec.name,
                "order",
                f"{spec.name} 的子元素顺序与报文定义不一致（按 XSD 顺序输出可修正）",
                f"the children of {spec.name} are not in schema order (rendering fixes it)",
            )
        )


def _decimal_fits(field: FieldSpec, text: str) -> bool:
    """True when the decimal written as `text` certainly passes `value_ok`: no minus sign, at most
    `fraction_digits` decimals and `total_digits` digits in all. Counting characters is several times
    cheaper than `Decimal.as_tuple`; when this says False, `value_ok` decides."""
    total, fraction = field.total_digits, field.fraction_digits
    if total is None or fraction is None or "-" in text:
        return False
    whole, _, frac = text.strip().lstrip("+").partition(".")
    return len(frac) <= fraction and len(whole) + len(frac) <= total


def _mixed_text(child: etree._Element, path: str, notes: list[Problem]) -> str:
    """Text of a field split by comments or PIs (kept whole); child elements are a problem."""
    if any(type(c.tag) is str for c in child):
        name = path.rsplit("/", 1)[-1]
        notes.append(
            _note(
                path, "not_simple", f"字段 {name} 不应包含子元素", f"field {name} must not contain elements"
            )
        )
    return "".join(str(t) for t in child.itertext(etree.Element))


def _unknown(
    node: Node,
    child: etree._Element,
    local: str,
    prefix: str,
    spec: NodeSpec,
    notes: list[Problem],
    msg: Message,
) -> None:
    node.extra.append((local, child.text or ""))
    notes.append(
        _note(
            prefix + local,
            "unknown_element",
            f"元素 <{local}> 不属于 {spec.name} 的报文定义，已保留",
            f"element <{local}> is not defined for {spec.name} in the schema; kept",
            "warning" if msg.type.kind != "declaration" else "error",
        )
    )


def element_bytes(element: etree._Element) -> bytes:
    """An embedded element as bytes of its own: without its tail text and without namespace
    declarations it only inherited, so the same element reads back the same wherever it stood."""
    alone = copy.deepcopy(element)
    alone.tail = None
    etree.cleanup_namespaces(alone)
    return etree.tostring(alone, encoding="utf-8")


def _extend(el: etree._Element) -> ExtendMessage:
    ext = ExtendMessage()
    for child in el:
        if not isinstance(child.tag, str):
            continue
        local = _local(child.tag)
        if local == "name":
            ext.name = child.text or ""
        elif local == "version":
            ext.version = child.text or ""
        elif local == "Message":
            inner = [c for c in child if isinstance(c.tag, str)]
            ext.message = element_bytes(inner[0]) if inner else None
    return ext
