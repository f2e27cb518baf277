"""Regenerate `src/cbec/ceb/catalogue/_structure.py` from the official XSDs.

The structure of every message (nodes, fields, order, occurrence, lengths, digits) is a fact of the official
schemas, so it is extracted mechanically rather than typed by hand; the 中文名 labels come from the spec's
field tables (`reference/ceb/fields-*.md`). Code lists, formats, English names and business rules are
written by hand in the other catalogue modules. Run:

    .venv/bin/python tools/gen_catalogue.py ../shared/reference
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

XS = "{http://www.w3.org/2001/XMLSchema}"
NS = {"xs": "http://www.w3.org/2001/XMLSchema"}

SCHEMAS = {
    ("202205", "import"): "xsd/202205/海关跨境进口业务节点报文定义202205.xsd",
    ("202205", "export"): "xsd/202205/海关跨境出口业务节点报文定义202205.xsd",
    ("2018", "import"): "xsd/2018/进口业务节点报文.xsd",
    ("2018", "export"): "xsd/2018/出口业务节点报文.xsd",
}


@dataclass
class FieldDef:
    name: str
    type: str  # string | decimal | int
    min_length: int | None
    max_length: int | None
    total_digits: int | None
    fraction_digits: int | None
    min_occurs: int
    doc: str
    collapse: bool = False
    fixed: str | None = None


@dataclass
class NodeDef:
    key: str
    name: str
    doc: str
    items: list[tuple[str, object]] = field(default_factory=list)  # ("field", FieldDef) | ("child", ...)


class Schema:
    def __init__(self, path: Path, direction: str) -> None:
        self.root = etree.parse(str(path)).getroot()
        self.direction = direction
        self.globals = {e.get("name"): e for e in self.root.findall("xs:element", NS)}
        self.nodes: dict[str, NodeDef] = {}

    def doc(self, el: etree._Element) -> str:
        d = el.find("xs:annotation/xs:documentation", NS)
        return " ".join((d.text or "").split()) if d is not None else ""

    def simple(self, el: etree._Element, name: str, min_occurs: int) -> FieldDef:
        typ = el.get("type")
        facets: dict[str, int] = {}
        base = typ or ""
        restr = el.find("xs:simpleType/xs:restriction", NS)
        if restr is not None:
            base = restr.get("base", "")
            for f in restr:
                if isinstance(f.tag, str) and f.tag != XS + "whiteSpace":
                    facets[f.tag.replace(XS, "")] = int(f.get("value", "0"))
        kind = {"xs:string": "string", "xs:decimal": "decimal", "xs:int": "int"}[base]
        min_len = facets.get("length", facets.get("minLength"))
        max_len = facets.get("length", facets.get("maxLength"))
        if kind == "string" and min_len is None:
            min_len = 0
        collapse = restr is not None and restr.find("xs:whiteSpace[@value='collapse']", NS) is not None
        return FieldDef(
            name,
            kind,
            min_len,
            max_len,
            facets.get("totalDigits"),
            facets.get("fractionDigits"),
            min_occurs,
            self.doc(el),
            collapse,
            el.get("fixed"),
        )

    def node(self, el: etree._Element, name: str, key: str) -> NodeDef:
        if key in self.nodes:
            return self.nodes[key]
        nd = NodeDef(key, name, self.doc(el))
        self.nodes[key] = nd
        seq = el.find("xs:complexType/xs:sequence", NS)
        assert seq is not None, key
        for child in seq.findall("xs:element", NS):
            ref = child.get("ref")
            min_o = int(child.get("minOccurs", "1"))
            max_raw = child.get("maxOccurs", "1")
            max_o = None if max_raw == "unbounded" else int(max_raw)
            if ref:
                prefix, _, cname = ref.partition(":")
                if prefix == "ds":
                    nd.items.append(("signature", (min_o, max_o)))
                    continue
                target = self.globals[cname]
                if cname == "ExtendMessage":
                    nd.items.append(("extend", (min_o, max_o)))
                    continue
                ckey = f"{self.direction}:{cname}"
                sub = self.node(target, cname, ckey)
                nd.items.append(("child", (sub.key, min_o, max_o)))
                continue
            cname = child.get("name")
            if child.find("xs:complexType", NS) is not None:
                sub = self.node(child, cname, f"{key}/{cname}" if ":" in key else f"{self.direction}:{cname}")
                nd.items.append(("child", (sub.key, min_o, max_o)))
            else:
                nd.items.append(("field", self.simple(child, cname, min_o)))
        return nd

    def messages(self) -> dict[str, str]:
        out = {}
        for name, el in self.globals.items():
            if re.fullmatch(r"CEB\d{3}Message", name):
                code = name[: -len("Message")]
                out[code] = self.node(el, name, f"{self.direction}:{name}").key
        return out


def zh_names(md: Path) -> dict[tuple[str, str], str]:
    """(message code, 'Order/OrderHead/guid') -> 中文名 from the spec table column."""
    out: dict[tuple[str, str], str] = {}
    code = ""
    stack: list[tuple[int, str]] = []
    for line in md.read_text(encoding="utf-8").splitlines():
        m = re.match(r"#### (CEB\d{3})Message", line)
        if m:
            code, stack = m.group(1), []
            continue
        if not code or not line.startswith("| ") or line.startswith("| element") or line.startswith("|---"):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        raw = cells[0]
        depth = raw.count("&nbsp;") // 2
        bare = raw.replace("&nbsp;", "").replace("**", "").strip()
        name = bare.split(" ")[0]
        if name.startswith("@"):
            continue
        stack = [s for s in stack if s[0] < depth]
        if raw.startswith("**") or "**" in raw:
            stack.append((depth, name))
            continue
        path = "/".join([s[1] for s in stack] + [name])
        if cells[1]:
            out[(code, path)] = cells[1]
    return out


def doc_label(doc: str) -> str:
    """A short label from an XSD documentation text, for fields the spec table leaves unnamed."""
    head = re.split(r"[-，。,:：（(；;]", doc, maxsplit=1)[0].strip()
    return head if 0 < len(head) <= 16 else ""


def main(ref: Path) -> None:
    schemas = {k: Schema(ref / v, k[1]) for k, v in SCHEMAS.items()}
    msgs = {k: s.messages() for k, s in schemas.items()}
    zh = {**zh_names(ref / "fields-import.md"), **zh_names(ref / "fields-export.md")}

    def walk(edition: str, direction: str) -> dict[tuple[str, str], tuple[str, FieldDef]]:
        """(code, path) -> (node key, field) over every message of one schema."""
        s = schemas[(edition, direction)]
        out: dict[tuple[str, str], tuple[str, FieldDef]] = {}

        def rec(code: str, key: str, prefix: str) -> None:
            for kind, item in s.nodes[key].items:
                if kind == "field":
                    assert isinstance(item, FieldDef)
                    out[(code, prefix + item.name)] = (key, item)
                elif kind == "child":
                    ckey = item[0]  # type: ignore[index]
                    name = s.nodes[ckey].name
                    rec(code, ckey, f"{prefix}{name}/")

        for code, key in msgs[(edition, direction)].items():
            rec(code, key, "")
        return out

    legacy: dict[tuple[str, str], int] = {}  # (node key, field) -> 2018 max length where larger
    added: set[tuple[str, str]] = set()  # (node key, field) absent from the 2018 edition
    labels: dict[tuple[str, str], str] = {}
    for direction in ("import", "export"):
        new = walk("202205", direction)
        old = walk("2018", direction)
        for (code, path), (key, f) in new.items():
            label = zh.get((code, path)) or labels.get((key, f.name)) or ""
            if label:
                labels[(key, f.name)] = label
            o = old.get((code, path))
            if o is None:
                if code in msgs[("2018", direction)]:
                    added.add((key, f.name))
                continue
            of = o[1]
            if of.max_length and f.max_length and of.max_length > f.max_length:
                legacy[(key, f.name)] = of.max_length

    by_name: dict[str, str] = {}
    for (_key, fname), label in labels.items():
        by_name.setdefault(fname, label)

    nodes_out: dict[str, tuple[object, ...]] = {}
    for direction in ("import", "export"):
        s = schemas[("202205", direction)]
        for key, nd in s.nodes.items():
            items: list[tuple[object, ...]] = []
            for kind, item in nd.items:
                if kind == "field":
                    assert isinstance(item, FieldDef)
                    label = labels.get((key, item.name)) or doc_label(item.doc) or by_name.get(item.name, "")
                    items.append(
                        (
                            "F",
                            item.name,
                            label,
                            item.type,
                            item.min_length,
                            item.max_length,
                            item.total_digits,
                            item.fraction_digits,
                            item.min_occurs,
                            legacy.get((key, item.name)),
                            (key, item.name) in added,
                            item.collapse,
                            item.fixed,
                        )
                    )
                elif kind == "child":
                    items.append(("C", *item))  # type: ignore[misc]
                else:
                    items.append((kind[0].upper(), *item))  # type: ignore[misc]
            label = doc_label(nd.doc) if not nd.name.endswith("Message") else nd.doc
            if key in nodes_out and nodes_out[key][1] != tuple(items):
                raise SystemExit(f"common node {key} differs between import and export")
            nodes_out[key] = (nd.name, tuple(items), label)

    messages_out = {code: key for d in ("import", "export") for code, key in msgs[("202205", d)].items()}
    target = Path(__file__).resolve().parents[1] / "src/cbec/ceb/catalogue/_structure.py"
    lines = [
        '"""Message structure extracted from the official 202205 XSDs by tools/gen_catalogue.py."""',
        "# Do not edit by hand: run tools/gen_catalogue.py.",
        "",
        "# Node key -> (element name, 中文 label, items in XSD order). Items:",
        "#   ('F', name, 中文名, type, min_len, max_len, total_digits, fraction_digits, min_occurs,",
        "#         max_len_2018_if_longer, new_in_202205, whitespace_collapse, fixed_value)",
        "#   ('C', node key, min_occurs, max_occurs or None)",
        "#   ('E', min, max) ExtendMessage   ('S', min, max) ds:Signature",
        "# ruff: noqa: E501",
        "from typing import Any",
        "",
        "NODES: dict[str, tuple[Any, ...]] = {",
    ]
    for key in sorted(nodes_out):
        name, items, label = nodes_out[key]
        lines.append(f"    {key!r}: ({name!r}, {label!r}, (")
        lines.extend(f"        {item!r}," for item in items)  # type: ignore[union-attr]
        lines.append("    )),")
    lines.append("}")
    lines.append("")
    lines.append("MESSAGES: dict[str, str] = {")
    lines.extend(f"    {code!r}: {key!r}," for code, key in sorted(messages_out.items()))
    lines.append("}")
    lines.append("")
    body = lines
    target.write_text("\n".join(body), encoding="utf-8")
    print(f"wrote {target}: {len(nodes_out)} nodes, {len(messages_out)} messages")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/reference").resolve() / "ceb")
