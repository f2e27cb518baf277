"""Render `Message` objects to XML bytes in the 202205 schema's element order, with the ``ceb:`` prefix.

Written as text rather than through a tree: rendering is on the hot path of every receipt and the output
form is fixed. Element order comes from the catalogue (so export messages put ``ds:Signature`` before
``ExtendMessage`` and import messages after it). Decimals keep the digits they were given.
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
INDENT = "  "


def format_value(value: Value) -> str:
    """Wire text of a value: decimals in plain notation with their digits as given."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int):
        return str(value)
    return value


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
    guid = message.guid.translate(_ATTR_ESCAPES)
    attrs = f' guid="{guid}" version="{message.version.translate(_ATTR_ESCAPES)}"'
    nl = "\n" if pretty else ""
    out.append(f'<ceb:{root}{attrs} xmlns:ceb="{NAMESPACE}">{nl}')
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


def _items(
    node: Node, spec: NodeSpec, depth: int, pretty: bool, include_unknown: bool, out: list[str]
) -> None:
    pad = INDENT * depth if pretty else ""
    nl = "\n" if pretty else ""
    values = node.values
    for item in spec.items:
        if isinstance(item, FieldSpec):
            value = values.get(item.name)
            if value is None:
                continue
            name = item.name
            out.append(f"{pad}<ceb:{name}>{format_value(value).translate(_ESCAPES)}</ceb:{name}>{nl}")
        elif isinstance(item, ChildSpec):
            for child in node.children.get(item.name, ()):
                out.append(f"{pad}<ceb:{item.name}>{nl}")
                _items(child, child.spec, depth + 1 if pretty else 0, pretty, include_unknown, out)
                out.append(f"{pad}</ceb:{item.name}>{nl}")
        elif item.kind == "signature":
            if isinstance(node, Message) and node.signature:
                out.append(pad + node.signature.decode("utf-8").strip() + nl)
        elif isinstance(node, Message) and node.extend is not None:
            ext = node.extend
            inner = ext.message.decode("utf-8") if ext.message else ""
            out.append(
                f"{pad}<ceb:ExtendMessage><ceb:name>{ext.name.translate(_ESCAPES)}</ceb:name>"
                f"<ceb:version>{ext.version.translate(_ESCAPES)}</ceb:version>"
                f"<ceb:Message>{inner}</ceb:Message></ceb:ExtendMessage>{nl}"
            )
    if include_unknown:
        for name, text in node.extra:
            out.append(f"{pad}<ceb:{name}>{text.translate(_ESCAPES)}</ceb:{name}>{nl}")
