"""Typed CEB documents: a `Node` per XML element, driven by the catalogue.

Values are typed by the catalogue: decimals become `Decimal` (which keeps the digits as written, so
``13.89000`` renders back as ``13.89000``), integers `int`, everything else `str`. A value that does not
fit its type is kept as the raw string so nothing is lost and `check` can say exactly what is wrong.
Absent elements are absent (not ``None``); present-but-empty elements are ``""``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from cbec.ceb.catalogue.messages import MessageType
from cbec.ceb.catalogue.spec import MessageSpec, NodeSpec, message_spec, message_spec_of
from cbec.ceb.problems import Problem

Value = str | int | Decimal


@dataclass(eq=False)
class Node:
    """One complex element: field values, child nodes and any elements the schema does not define."""

    spec: NodeSpec
    values: dict[str, Value] = field(default_factory=dict)
    children: dict[str, list[Node]] = field(default_factory=dict)
    #: unknown child elements, kept as (local name, text) in document order
    extra: list[tuple[str, str]] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        # Attribute access for fields and children (`head.orderNo`, `inv.InventoryList`).
        if name.startswith("_") or name in ("spec", "values", "children", "extra"):
            raise AttributeError(name)
        spec = self.spec
        if name in spec.fields:
            return self.values.get(name)
        if name in spec.children:
            nodes = self.children.get(name, [])
            return nodes if spec.children[name].repeated else (nodes[0] if nodes else None)
        raise AttributeError(f"{spec.name} has no field or child {name!r}")

    def get(self, name: str, default: Value | None = None) -> Value | None:
        return self.values.get(name, default)

    def set(self, **values: Value | None) -> Node:
        """Set fields by their official names (None removes one); unknown names are refused."""
        for name, value in values.items():
            if name not in self.spec.fields:
                raise KeyError(f"{self.spec.name} 没有字段 {name} / {self.spec.name} has no field {name!r}")
            if value is None:
                self.values.pop(name, None)
            else:
                self.values[name] = value
        return self

    def add(self, name: str, **values: Value | None) -> Node:
        """Append a new child node `name` with the given field values and return it."""
        child_spec = self.spec.children.get(name)
        if child_spec is None:
            raise KeyError(
                f"{self.spec.name} 没有子节点 {name} / {self.spec.name} has no child node {name!r}"
            )
        child = Node(child_spec.node).set(**values)
        self.children.setdefault(name, []).append(child)
        return child

    def child(self, name: str) -> Node | None:
        nodes = self.children.get(name)
        return nodes[0] if nodes else None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Node):
            return NotImplemented
        return (
            self.spec is other.spec
            and self.values == other.values
            and {k: v for k, v in self.children.items() if v}
            == {k: v for k, v in other.children.items() if v}
            and self.extra == other.extra
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"<{self.spec.name} {len(self.values)} fields, {sum(map(len, self.children.values()))} children>"
        )


@dataclass(eq=True)
class ExtendMessage:
    """The optional ExtendMessage block: a name, a version and one arbitrary XML element (or none)."""

    name: str = ""
    version: str = ""
    message: bytes | None = None  # serialized inner element, as found


@dataclass(eq=False, repr=False)
class Message(Node):
    """A whole CEB message: the root node plus its attributes, ExtendMessage and signature."""

    guid: str = ""
    version: str = "1.0"
    extend: ExtendMessage | None = None
    #: the ds:Signature element exactly as received (serialized), or None
    signature: bytes | None = None
    #: the namespace form found on input: 'prefix' (ceb:), 'default' or 'none'
    namespace_form: str = "prefix"
    #: problems found while parsing (unknown elements, order, duplicates); `check` reports them
    parse_notes: list[Problem] = field(default_factory=list)

    @property
    def mspec(self) -> MessageSpec:
        return message_spec_of(self.spec)

    @property
    def type(self) -> MessageType:
        return self.mspec.type

    @property
    def code(self) -> str:
        return self.mspec.code

    @property
    def documents(self) -> list[Node]:
        """The business nodes (Order, Inventory, …, or the …Return nodes of a receipt)."""
        return self.children.get(self.mspec.body.name, [])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return (
            Node.__eq__(self, other)
            and self.guid == other.guid
            and self.version == other.version
            and self.extend == other.extend
            and self.signature == other.signature
        )

    __hash__ = None


def new_message(code: str, *, guid: str | None = None, version: str = "1.0") -> Message:
    """An empty message of type `code` (``CEB311`` …) with a fresh upper-case guid."""
    return Message(message_spec(code).root, guid=guid or str(uuid.uuid4()).upper(), version=version)


def walk(node: Node, path: str = "") -> Iterator[tuple[str, Node]]:
    """Every node under `node` with its path as problems give it, e.g. ``Inventory[1]/InventoryList[2]``."""
    yield path, node
    prefix = f"{path}/" if path else ""
    for name, nodes in node.children.items():
        repeated = node.spec.children[name].repeated
        for i, child in enumerate(nodes, 1):
            yield from walk(child, f"{prefix}{name}[{i}]" if repeated else prefix + name)
