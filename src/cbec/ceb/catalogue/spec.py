"""Typed view of the catalogue: message, node and field specifications built from the extracted structure.

`_structure.py` holds the schema facts; `labels.py` and `codes.py` hold what we add by hand. This module
joins them into immutable objects that parse, render and check walk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Literal

from cbec.ceb.catalogue import _structure, codes, labels
from cbec.ceb.catalogue.codes import CodeList
from cbec.ceb.catalogue.messages import MESSAGE_TYPES, MessageType, message_type

FieldType = Literal["string", "decimal", "int"]


@dataclass(frozen=True, slots=True, eq=False)
class FieldSpec:
    """One simple element: its XSD facts plus our labels, format and code list."""

    name: str
    zh: str
    en: str
    type: FieldType
    min_length: int | None
    max_length: int | None
    total_digits: int | None
    fraction_digits: int | None
    required: bool
    #: maximum length under the 2018 edition where it was longer (accepted on input with a warning)
    max_length_2018: int | None
    #: the field did not exist in the 2018 edition (its absence is tolerated with a warning)
    new_in_202205: bool
    collapse: bool
    fmt: str | None
    codes: CodeList | None
    #: (min, max) length when a plain string needs nothing but a length check: the check's fast path
    fast_range: tuple[int, int] | None = None
    #: for a code-list string field, the codes that certainly pass (fast path)
    fast_codes: frozenset[str] | None = None

    @property
    def length_text(self) -> str:
        if self.type != "string":
            digits = f"{self.total_digits}" if self.total_digits else ""
            if self.fraction_digits is not None:
                digits += f",{self.fraction_digits}"
            return f"N{digits}"
        if self.min_length == self.max_length and self.max_length is not None:
            return f"C{self.max_length}"
        return f"C..{self.max_length}" if self.max_length else "C"


@dataclass(frozen=True, slots=True, eq=False)
class ChildSpec:
    """A repeated or single complex child of a node."""

    node: NodeSpec
    min_occurs: int
    max_occurs: int | None  # None = unbounded

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def repeated(self) -> bool:
        return self.max_occurs is None or self.max_occurs > 1


@dataclass(frozen=True, slots=True, eq=False)
class SlotSpec:
    """Where ExtendMessage ('extend') or ds:Signature ('signature') sits in a root's sequence."""

    kind: Literal["extend", "signature"]
    min_occurs: int

    @property
    def name(self) -> str:
        return "ExtendMessage" if self.kind == "extend" else "Signature"


Item = FieldSpec | ChildSpec | SlotSpec


@dataclass(frozen=True, eq=False)
class NodeSpec:
    """A complex element: fields and children in XSD order."""

    key: str
    name: str
    zh: str
    en: str
    direction: str
    items: tuple[Item, ...]
    fields: dict[str, FieldSpec] = field(default_factory=dict)
    children: dict[str, ChildSpec] = field(default_factory=dict)
    #: position of each element name in the XSD sequence, to detect out-of-order input
    order: dict[str, int] = field(default_factory=dict)
    #: element name -> (position, item): one lookup per element on the parse hot path
    index: dict[str, tuple[int, Item]] = field(default_factory=dict)
    #: names of required fields, for a set difference instead of a loop when checking
    required: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for pos, item in enumerate(self.items):
            self.order[item.name] = pos
            self.index[item.name] = (pos, item)
            # Also by qualified tag, so parsing needs no name splitting for the usual namespace.
            self.index["{http://www.chinaport.gov.cn/ceb}" + item.name] = (pos, item)
            if isinstance(item, FieldSpec):
                self.fields[item.name] = item
            elif isinstance(item, ChildSpec):
                self.children[item.name] = item
        object.__setattr__(self, "required", frozenset(f.name for f in self.fields.values() if f.required))

    @property
    def slot_names(self) -> tuple[str, ...]:
        return tuple(i.name for i in self.items if isinstance(i, SlotSpec))


@dataclass(frozen=True, eq=False)
class MessageSpec:
    """A whole message type: its `MessageType` facts and its root node."""

    type: MessageType
    root: NodeSpec

    @property
    def code(self) -> str:
        return self.type.code

    @property
    def body(self) -> ChildSpec:
        """The business node the message carries (Order, Inventory, OrderReturn …)."""
        first = self.root.items[0]
        assert isinstance(first, ChildSpec)
        return first

    @property
    def signature_slot(self) -> SlotSpec | None:
        for item in self.root.items:
            if isinstance(item, SlotSpec) and item.kind == "signature":
                return item
        return None


def _fast_range(
    ftype: str,
    min_len: int | None,
    max_len: int | None,
    collapse: bool,
    fname: str,
    field_codes: CodeList | None,
) -> tuple[int, int] | None:
    """(min, max) length when a plain length check is all a string field needs, else None."""
    if ftype != "string" or collapse or field_codes is not None:
        return None
    if codes.value_format(fname, min_len, max_len) is not None:
        return None
    return (max(min_len or 0, 1), max_len if max_len is not None else 1 << 30)


def _fast_codes(
    ftype: str,
    min_len: int | None,
    max_len: int | None,
    collapse: bool,
    fname: str,
    field_codes: CodeList | None,
) -> frozenset[str] | None:
    """The codes of a code-list field that also satisfy its length facets: those values need no more."""
    if ftype != "string" or field_codes is None or codes.value_format(fname, min_len, max_len) is not None:
        return None
    lo, hi = max(min_len or 0, 1), max_len if max_len is not None else 1 << 30
    return frozenset(c for c in field_codes.codes if lo <= len(c) <= hi and (not collapse or c == c.strip()))


def _root_en(name: str) -> str | None:
    """English label of a root element: the message type's name."""
    if name.endswith("Message") and name[: -len("Message")] in MESSAGE_TYPES:
        return MESSAGE_TYPES[name[: -len("Message")]].name_en + " message"
    return None


def _build_node(key: str, cache_: dict[str, NodeSpec]) -> NodeSpec:
    if key in cache_:
        return cache_[key]
    name, zh_label, raw_items = _structure.NODES[key]
    direction = key.split(":", 1)[0]
    items: list[Item] = []
    for raw in raw_items:
        tag = raw[0]
        if tag == "F":
            (_, fname, zh, ftype, min_len, max_len, digits, frac, min_occ, len2018, new, collapse, fixed) = (
                raw
            )
            field_codes = codes.code_list(direction, key, fname)
            if fixed is not None:
                field_codes = codes.fixed_list(field_codes, fname, fixed)
            items.append(
                FieldSpec(
                    name=fname,
                    zh=labels.ZH_FIXES.get((key, fname), zh) or fname,
                    en=labels.EN.get(fname, fname),
                    type=ftype,
                    min_length=min_len,
                    max_length=max_len,
                    total_digits=digits,
                    fraction_digits=frac,
                    required=min_occ > 0,
                    max_length_2018=len2018,
                    new_in_202205=new,
                    collapse=collapse,
                    fmt=codes.value_format(fname, min_len, max_len),
                    codes=field_codes,
                    fast_range=_fast_range(ftype, min_len, max_len, collapse, fname, field_codes),
                    fast_codes=_fast_codes(ftype, min_len, max_len, collapse, fname, field_codes),
                )
            )
        elif tag == "C":
            items.append(ChildSpec(_build_node(raw[1], cache_), raw[2], raw[3]))
        else:
            items.append(SlotSpec("extend" if tag == "E" else "signature", raw[1]))
    zh = zh_label or labels.NODE_ZH.get(name, name)
    en = labels.NODE_EN.get(name) or _root_en(name) or name
    spec = NodeSpec(key, name, zh, en, direction, tuple(items))
    cache_[key] = spec
    return spec


@cache
def _all() -> dict[str, MessageSpec]:
    nodes: dict[str, NodeSpec] = {}
    out: dict[str, MessageSpec] = {}
    for code, key in _structure.MESSAGES.items():
        mtype = MESSAGE_TYPES[code]
        out[code] = MessageSpec(mtype, _build_node(key, nodes))
    return out


def message_spec(code_or_root: str) -> MessageSpec:
    """The specification of a message type, by ``CEB621``, ``CEB621Message`` or ``621``."""
    return _all()[message_type(code_or_root).code]


def message_spec_of(root: NodeSpec) -> MessageSpec:
    """The message specification whose root node is `root` (a dict lookup, for hot paths)."""
    return _by_root()[root.key]


@cache
def _by_root() -> dict[str, MessageSpec]:
    return {m.root.key: m for m in _all().values()}


def all_message_specs() -> tuple[MessageSpec, ...]:
    return tuple(_all().values())


def iter_nodes(spec: NodeSpec) -> list[NodeSpec]:
    """Every node reachable from `spec`, depth first, each once."""
    seen: dict[str, NodeSpec] = {}

    def walk(n: NodeSpec) -> None:
        if n.key in seen:
            return
        seen[n.key] = n
        for child in n.children.values():
            walk(child.node)

    walk(spec)
    return list(seen.values())
