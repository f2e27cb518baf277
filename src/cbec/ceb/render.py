"""Render `Message` objects to XML bytes in the 202205 schema's element order, with the ``ceb:`` prefix.

Written as text rather than through a tree: rendering is on the hot path of every receipt and the output
form is fixed. Element order comes from the catalogue (so export messages put ``ds:Signature`` before
``ExtendMessage`` and import messages after it). Decimals keep the digits they were given.

Per node type, indentation depth and form the tags are worked out once (`_plan`): the clearance engine
renders one receipt per document, and building the same tag strings for each of them cost more than the
values themselves.
"""

from __future__ import annotations

import re
from decimal import Decimal

from cbec.ceb.catalogue.messages import NAMESPACE
from cbec.ceb.catalogue.spec import ChildSpec, FieldSpec, NodeSpec
from cbec.ceb.errors import CebError
from cbec.ceb.model import Message, Node, Value

_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTR_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#9;"}
)
# Characters the escape tables change: `translate` is slow, and almost no value contains one of them.
_NEEDS_ATTR_ESCAPE = re.compile('[&<>"\r\n\t]')
INDENT = "  "

# Plan entry kinds.
_FIELD = 0
_CHILD = 1
_SIGNATURE = 2
_EXTEND = 3

#: (kind, element name, opening text, closing text); for a child the texts are whole lines
_Entry = tuple[int, str, str, str]
_PLANS: dict[tuple[NodeSpec, int, bool], tuple[_Entry, ...]] = {}


def format_value(value: Value) -> str:
    """Wire text of a value: decimals in plain notation with their digits as given."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int):
        return str(value)
    return value


def _attr(text: str) -> str:
    return text.translate(_ATTR_ESCAPES) if _NEEDS_ATTR_ESCAPE.search(text) else text


def render(
    message: Message, *, pretty: bool = True, declaration: bool = True, include_unknown: bool = True
) -> bytes:
    """XML bytes (UTF-8) of a whole message. `include_unknown` keeps elements the schema does not define."""
    out: list[str] = []
    if declaration:
        out.append(
            '<?xml version="1.0" encoding="UTF-8"?>\n' if pretty else '<?xml version="1.0" encoding="UTF-8"?>'
        )
    root = message.spec.name
    nl = "\n" if pretty else ""
    out.append(
        f'<ceb:{root} guid="{_attr(message.guid)}" version="{_attr(message.version)}" '
        f'xmlns:ceb="{NAMESPACE}">{nl}'
    )
    _items(message, message.spec, 1 if pretty else 0, pretty, include_unknown, out)
    out.append(f"</ceb:{root}>{nl}")
    text = "".join(out)
    bad = _ILLEGAL.search(text)
    if bad:
        raise CebError(
            f"报文含有 XML 不允许的控制字符 U+{ord(bad.group()):04X}",
            f"the message contains a character XML does not allow: U+{ord(bad.group()):04X}",
            code="CBEC-0003",
        )
    return text.encode("utf-8")


def _plan(spec: NodeSpec, depth: int, pretty: bool) -> tuple[_Entry, ...]:
    """The tags of `spec`'s items at `depth`, in schema order (cached: a few dozen node types)."""
    pad = INDENT * depth if pretty else ""
    nl = "\n" if pretty else ""
    entries: list[_Entry] = []
    for item in spec.items:
        name = item.name
        if isinstance(item, FieldSpec):
            entries.append((_FIELD, name, f"{pad}<ceb:{name}>", f"</ceb:{name}>{nl}"))
        elif isinstance(item, ChildSpec):
            entries.append((_CHILD, name, f"{pad}<ceb:{name}>{nl}", f"{pad}</ceb:{name}>{nl}"))
        elif item.kind == "signature":
            entries.append((_SIGNATURE, name, pad, nl))
        else:
            entries.append((_EXTEND, name, pad, nl))
    plan = tuple(entries)
    _PLANS[(spec, depth, pretty)] = plan
    return plan


def _items(
    node: Node, spec: NodeSpec, depth: int, pretty: bool, include_unknown: bool, out: list[str]
) -> None:
    plan = _PLANS.get((spec, depth, pretty)) or _plan(spec, depth, pretty)
    values = node.values
    for kind, name, opening, closing in plan:
        if kind == _FIELD:
            value = values.get(name)
            if value is None:
                continue
            if type(value) is str:
                text = value
                if "&" in text or "<" in text or ">" in text or "\r" in text:
                    text = text.translate(_ESCAPES)
            elif type(value) is Decimal:
                text = format(value, "f")  # digits, sign, point: nothing to escape
            else:
                text = format_value(value).translate(_ESCAPES)
            out += (opening, text, closing)
        elif kind == _CHILD:
            children = node.children.get(name)
            if not children:
                continue
            inner = depth + 1 if pretty else 0
            for child in children:
                out.append(opening)
                _items(child, child.spec, inner, pretty, include_unknown, out)
                out.append(closing)
        elif kind == _SIGNATURE:
            if isinstance(node, Message) and node.signature:
                out.append(opening + node.signature.decode("utf-8").strip() + closing)
        elif isinstance(node, Message) and node.extend is not None:
            ext = node.extend
            inner_xml = ext.message.decode("utf-8") if ext.message else ""
            out.append(
                f"{opening}<ceb:ExtendMessage><ceb:name>{ext.name.translate(_ESCAPES)}</ceb:name>"
                f"<ceb:version>{ext.version.translate(_ESCAPES)}</ceb:version>"
                f"<ceb:Message>{inner_xml}</ceb:Message></ceb:ExtendMessage>{closing}"
            )
    if include_unknown and node.extra:
        pad = INDENT * depth if pretty else ""
        nl = "\n" if pretty else ""
        for name, text in node.extra:
            out.append(f"{pad}<ceb:{name}>{text.translate(_ESCAPES)}</ceb:{name}>{nl}")
