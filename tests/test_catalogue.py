"""The message catalogue: the 42 message types, labels, code lists, and agreement with the official XSDs.

The XSD agreement tests walk the official schemas with their own small reader (below) rather than the
generator in tools/, so a mistake in the generator cannot hide itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

import pytest
from lxml import etree

from cbec.ceb.catalogue import EXPORT_CODES, IMPORT_CODES, MESSAGE_TYPES, message_type
from cbec.ceb.catalogue.codes import DATE8, DATETIME14, DATETIME17
from cbec.ceb.catalogue.spec import (
    ChildSpec,
    FieldSpec,
    MessageSpec,
    NodeSpec,
    SlotSpec,
    all_message_specs,
    iter_nodes,
    message_spec,
)
from conftest import reference_path
from strategies import XSD_FIXED

IMPORT_EXPECTED = [
    "CEB311",
    "CEB312",
    "CEB411",
    "CEB412",
    "CEB511",
    "CEB512",
    "CEB513",
    "CEB514",
    "CEB621",
    "CEB622",
    "CEB623",
    "CEB624",
    "CEB625",
    "CEB626",
    "CEB711",
    "CEB712",
    "CEB816",
    "CEB818",
    "CEB900",
]
EXPORT_EXPECTED = [
    "CEB213",
    "CEB214",
    "CEB215",
    "CEB216",
    "CEB303",
    "CEB304",
    "CEB403",
    "CEB404",
    "CEB505",
    "CEB506",
    "CEB507",
    "CEB508",
    "CEB509",
    "CEB510",
    "CEB603",
    "CEB604",
    "CEB605",
    "CEB606",
    "CEB607",
    "CEB608",
    "CEB701",
    "CEB702",
    "CEB792",
]
ALL_EXPECTED = IMPORT_EXPECTED + EXPORT_EXPECTED

XSD_FILES = {
    ("202205", "import"): "ceb/xsd/202205/海关跨境进口业务节点报文定义202205.xsd",
    ("202205", "export"): "ceb/xsd/202205/海关跨境出口业务节点报文定义202205.xsd",
    ("2018", "import"): "ceb/xsd/2018/进口业务节点报文.xsd",
    ("2018", "export"): "ceb/xsd/2018/出口业务节点报文.xsd",
}


def _all_fields() -> list[tuple[MessageSpec, NodeSpec, FieldSpec]]:
    out: list[tuple[MessageSpec, NodeSpec, FieldSpec]] = []
    for spec in all_message_specs():
        for node in iter_nodes(spec.root):
            out.extend((spec, node, f) for f in node.fields.values())
    return out


def _fields_named(name: str, direction: str | None = None) -> list[tuple[MessageSpec, NodeSpec, FieldSpec]]:
    found = [
        (s, n, f)
        for s, n, f in _all_fields()
        if f.name == name and (direction is None or s.type.direction == direction)
    ]
    assert found, f"no field {name!r} in the catalogue"
    return found


def _field_at(code: str, path: str) -> FieldSpec:
    """The field at `path` (node names then the field name, below the root) of message `code`."""
    *nodes, name = path.split("/")
    node = message_spec(code).root
    for part in nodes:
        node = node.children[part].node
    return node.fields[name]


# ---- the message types ------------------------------------------------------------------------------------


def test_exactly_the_42_message_types() -> None:
    assert len(ALL_EXPECTED) == 42
    assert sorted(MESSAGE_TYPES) == sorted(ALL_EXPECTED)
    assert sorted(IMPORT_CODES) == sorted(IMPORT_EXPECTED)
    assert sorted(EXPORT_CODES) == sorted(EXPORT_EXPECTED)
    assert sorted(s.code for s in all_message_specs()) == sorted(ALL_EXPECTED)


@pytest.mark.parametrize("code", ALL_EXPECTED)
def test_message_type_is_complete(code: str) -> None:
    mtype = MESSAGE_TYPES[code]
    spec = message_spec(code)
    assert mtype.code == code
    assert mtype.direction == ("import" if code in IMPORT_EXPECTED else "export")
    assert mtype.root == f"{code}Message"
    assert spec.root.name == mtype.root
    assert spec.root.direction == mtype.direction
    assert mtype.name_zh.strip() and any("\u4e00" <= ch <= "\u9fff" for ch in mtype.name_zh)
    assert mtype.name_en.strip() and mtype.name_en.isascii()
    # The root carries the business node first.
    assert isinstance(spec.root.items[0], ChildSpec)
    assert spec.body.name == spec.root.items[0].name
    # Lookup by every accepted spelling lands on the same type.
    assert message_type(mtype.root) is mtype
    assert message_type(code[3:]) is mtype
    assert message_type(code.lower()) is mtype


@pytest.mark.parametrize("code", ALL_EXPECTED)
def test_receipts_point_to_receipt_types(code: str) -> None:
    mtype = MESSAGE_TYPES[code]
    if mtype.kind == "declaration":
        assert mtype.receipt is not None
        receipt = MESSAGE_TYPES[mtype.receipt]
        assert receipt.kind == "receipt"
        assert receipt.direction == mtype.direction
        # Each receipt answers the declaration numbered just before it (CEB311 -> CEB312).
        assert int(receipt.code[3:]) == int(code[3:]) + 1
    else:
        assert mtype.receipt is None
        assert mtype.kind in ("receipt", "customs")


def test_every_receipt_answers_exactly_one_declaration() -> None:
    answered = [m.receipt for m in MESSAGE_TYPES.values() if m.receipt]
    receipts = [m.code for m in MESSAGE_TYPES.values() if m.kind == "receipt"]
    assert sorted(answered) == sorted(receipts)
    customs = sorted(m.code for m in MESSAGE_TYPES.values() if m.kind == "customs")
    assert customs == ["CEB792", "CEB816", "CEB818", "CEB900"]


def test_unknown_message_type_is_refused() -> None:
    with pytest.raises(KeyError, match="CEB999"):
        message_type("CEB999")


# ---- labels, code lists, formats --------------------------------------------------------------------------


def test_every_field_has_chinese_and_english_labels() -> None:
    missing = []
    for _s, node, f in _all_fields():
        if not any("\u4e00" <= ch <= "\u9fff" for ch in f.zh):
            missing.append(f"{node.key}/{f.name}: zh={f.zh!r}")
        # English labels are words; where the official name is itself a plain word it may be its own label,
        # but an abbreviation (ebpCode, gnum …) falling through unlabelled is a gap.
        if not f.en.strip() or (f.en == f.name and f.name not in _PLAIN_WORDS):
            missing.append(f"{node.key}/{f.name}: en={f.en!r} is only the element name")
    assert missing == []


#: official element names that are ordinary English words and may serve as their own English label
_PLAIN_WORDS = {"currency", "freight", "note", "reason", "status", "unit"}


@pytest.mark.parametrize(
    ("name", "direction", "expected"),
    [
        ("appType", None, {"1", "2", "3"}),
        ("appStatus", None, {"1", "2"}),
        ("orderType", "import", {"I"}),
        ("currency", "import", {"142"}),
        ("buyerIdType", None, {"1"}),
        ("payerIdType", None, {"1"}),
        ("logisticsStatus", None, {"S"}),
        ("tradeMode", "import", {"9610", "1210"}),
    ],
)
def test_code_lists_exact(name: str, direction: str | None, expected: set[str]) -> None:
    for _s, node, f in _fields_named(name, direction):
        assert f.codes is not None, f"{node.key}/{name} has no code list"
        assert set(f.codes.codes) == expected, f"{node.key}/{name}"
        for code, (zh, en) in f.codes.codes.items():
            assert zh.strip() and en.strip(), f"{name} {code} lacks a meaning"
        assert next(iter(expected)) in f.codes


def test_export_order_type_includes_b2c_b2b_and_warehouse() -> None:
    for _s, node, f in _fields_named("orderType", "export"):
        assert f.codes is not None, node.key
        assert {"E", "B", "W"} <= set(f.codes.codes)
        assert "I" not in f.codes


def test_code_list_describe_names_every_code() -> None:
    f = _fields_named("appType")[0][2]
    assert f.codes is not None
    assert f.codes.describe() == "1-新增, 2-变更, 3-删除"


@pytest.mark.parametrize(
    ("name", "kinds", "fmt"),
    [
        ("appTime", None, DATETIME14),
        ("declTime", None, DATE8),
        ("returnTime", ("receipt",), DATETIME17),
    ],
)
def test_date_fields_have_formats(name: str, kinds: tuple[str, ...] | None, fmt: str) -> None:
    found = [(s, n, f) for s, n, f in _fields_named(name) if kinds is None or s.type.kind in kinds]
    assert found
    for spec, node, f in found:
        assert f.fmt == fmt, f"{spec.code} {node.key}/{name}: {f.fmt}"
        assert f.min_length == f.max_length == len(fmt)


def test_formats_only_on_fixed_length_strings() -> None:
    for _s, node, f in _all_fields():
        if f.fmt is not None:
            assert f.type == "string", f"{node.key}/{f.name}"
            assert f.min_length == f.max_length == len(f.fmt), f"{node.key}/{f.name}"


def test_length_text() -> None:
    assert _field_at("CEB621", "Inventory/InventoryList/itemNo").length_text == "C..20"
    assert _field_at("CEB621", "Inventory/InventoryHead/appTime").length_text == "C14"
    assert _field_at("CEB311", "Order/OrderList/price").length_text == "N19,5"


# ---- 2018 edition facts --------------------------------------------------------------------------------


def test_2018_item_no_was_longer() -> None:
    item_no = _field_at("CEB621", "Inventory/InventoryList/itemNo")
    assert item_no.max_length == 20
    assert item_no.max_length_2018 == 30
    assert not item_no.new_in_202205


def test_2018_export_logistics_no_was_longer() -> None:
    for code, path in (
        ("CEB505", "Logistics/logisticsNo"),
        ("CEB507", "Arrival/ArrivalList/logisticsNo"),
    ):
        f = _field_at(code, path)
        assert f.max_length == 32, path
        assert f.max_length_2018 == 80, path


def test_gseqno_is_new_in_202205() -> None:
    gseqno = _field_at("CEB792", "SummaryResult/SummaryResultList/gseqno")
    assert gseqno.new_in_202205
    assert gseqno.required
    # A field that existed in 2018 is not flagged.
    assert not _field_at("CEB792", "SummaryResult/SummaryResultList/gnum").new_in_202205


def test_2018_lengths_are_only_recorded_where_longer() -> None:
    for _s, node, f in _all_fields():
        if f.max_length_2018 is not None:
            assert f.max_length is not None and f.max_length_2018 > f.max_length, f"{node.key}/{f.name}"


# ---- placement of ExtendMessage and ds:Signature ---------------------------------------------------------


@pytest.mark.parametrize("code", ALL_EXPECTED)
def test_slot_placement(code: str) -> None:
    spec = message_spec(code)
    names = [i.name for i in spec.root.items]
    slots = [i for i in spec.root.items if isinstance(i, SlotSpec)]
    if spec.type.kind == "declaration":
        tail = (
            ["Signature", "ExtendMessage"]
            if spec.type.direction == "export"
            else ["ExtendMessage", "Signature"]
        )
        assert names[-2:] == tail
        assert spec.type.signature_before_extend == (spec.type.direction == "export")
        assert names[1] == "BaseTransfer"
        sig = spec.signature_slot
        assert sig is not None
        assert sig.min_occurs == (1 if spec.type.signature_xsd == "required" else 0)
        assert [s.kind for s in slots] == (
            ["signature", "extend"] if spec.type.direction == "export" else ["extend", "signature"]
        )
    for slot in slots:
        assert slot.min_occurs in (0, 1)
    assert spec.root.slot_names == tuple(s.name for s in slots)


# ---- independent agreement with the official XSDs --------------------------------------------------------

XS = "{http://www.w3.org/2001/XMLSchema}"
_FACETS = ("length", "minLength", "maxLength", "totalDigits", "fractionDigits", "whiteSpace")


@dataclass(frozen=True)
class XField:
    name: str
    type: str
    min_length: int | None
    max_length: int | None
    total_digits: int | None
    fraction_digits: int | None
    collapse: bool
    min_occurs: int
    max_occurs: int | None
    fixed: str | None = None


@dataclass(frozen=True)
class XChild:
    name: str
    node: XNode
    min_occurs: int
    max_occurs: int | None


@dataclass(frozen=True)
class XSlot:
    name: str
    min_occurs: int
    max_occurs: int | None


XItem = XField | XChild | XSlot


@dataclass(frozen=True)
class XNode:
    name: str
    items: tuple[XItem, ...] = field(default=())

    def item(self, name: str) -> XItem | None:
        return next((i for i in self.items if i.name == name), None)


class XsdReader:
    """Reads the CEB business-node XSD conventions: global elements referenced with ``ref="ceb:…"``,
    inline anonymous complex types holding one ``xs:sequence`` of elements, simple types restricting
    xs:string/xs:decimal/xs:int, ``ds:Signature`` and ``ceb:ExtendMessage`` references. Anything else is
    refused loudly so that a construct it does not understand cannot pass silently."""

    def __init__(self, path: Path) -> None:
        self.root = etree.parse(str(path)).getroot()
        self.globals = {el.get("name"): el for el in self.root.iterchildren(XS + "element")}

    def message(self, name: str) -> XNode | None:
        decl = self.globals.get(name)
        return None if decl is None else self._node(decl)

    def _node(self, decl: etree._Element) -> XNode:
        name = _name(decl)
        ctype = decl.find(XS + "complexType")
        assert ctype is not None, name
        sequences = ctype.findall(XS + "sequence")
        assert len(sequences) == 1, f"{name}: expected one xs:sequence"
        seq = sequences[0]
        assert seq.get("minOccurs") is None and seq.get("maxOccurs") is None, name
        items: list[XItem] = []
        for particle in seq:
            if not isinstance(particle.tag, str) or particle.tag == XS + "annotation":
                continue
            assert particle.tag == XS + "element", f"{name}: unexpected {particle.tag}"
            items.append(self._item(particle))
        return XNode(name, tuple(items))

    @staticmethod
    def _occurs(particle: etree._Element) -> tuple[int, int | None]:
        lo = int(particle.get("minOccurs", "1"))
        hi_text = particle.get("maxOccurs", "1")
        return lo, None if hi_text == "unbounded" else int(hi_text)

    def _item(self, particle: etree._Element) -> XItem:
        lo, hi = self._occurs(particle)
        ref = particle.get("ref")
        if ref is not None:
            prefix, _, local = ref.partition(":")
            if prefix == "ds":
                assert local == "Signature", ref
                return XSlot("Signature", lo, hi)
            assert prefix == "ceb", ref
            if local == "ExtendMessage":
                return XSlot("ExtendMessage", lo, hi)
            decl = self.globals[local]
        else:
            decl = particle
        if decl.find(XS + "complexType") is not None:
            return XChild(_name(decl), self._node(decl), lo, hi)
        return self._field(decl, lo, hi)

    @staticmethod
    def _field(decl: etree._Element, lo: int, hi: int | None) -> XField:
        name = _name(decl)
        facets: dict[str, str] = {}
        typ = decl.get("type")
        if typ is None:
            restriction = decl.find(f"{XS}simpleType/{XS}restriction")
            assert restriction is not None, f"{name}: no type"
            typ = restriction.get("base")
            for facet in restriction:
                if not isinstance(facet.tag, str) or facet.tag == XS + "annotation":
                    continue
                local = facet.tag[len(XS) :]
                assert local in _FACETS, f"{name}: unexpected facet {local}"
                facets[local] = facet.get("value", "")
        types = {"xs:string": "string", "xs:decimal": "decimal", "xs:int": "int"}
        assert typ is not None and typ in types, f"{name}: unexpected type {typ}"

        def num(key: str) -> int | None:
            return int(facets[key]) if key in facets else None

        length = num("length")
        return XField(
            name=name,
            type=types[typ],
            min_length=length if length is not None else num("minLength"),
            max_length=length if length is not None else num("maxLength"),
            total_digits=num("totalDigits"),
            fraction_digits=num("fractionDigits"),
            collapse=facets.get("whiteSpace") == "collapse",
            min_occurs=lo,
            max_occurs=hi,
            fixed=decl.get("fixed"),
        )


def _name(decl: etree._Element) -> str:
    name = decl.get("name")
    assert name is not None, etree.tostring(decl)[:200]
    return name


@cache
def _reader(edition: str, direction: str) -> XsdReader:
    return XsdReader(reference_path() / XSD_FILES[(edition, direction)])


def _xsd_message(edition: str, code: str) -> XNode | None:
    mtype = MESSAGE_TYPES[code]
    return _reader(edition, mtype.direction).message(mtype.root)


def _compare(spec: NodeSpec, xnode: XNode, path: str, out: list[str]) -> None:
    spec_names = [i.name for i in spec.items]
    xsd_names = [i.name for i in xnode.items]
    if spec_names != xsd_names:
        out.append(f"{path}: element sequence {spec_names} != XSD {xsd_names}")
        return
    for item, x in zip(spec.items, xnode.items, strict=True):
        where = f"{path}/{item.name}"
        if isinstance(item, FieldSpec):
            if not isinstance(x, XField):
                out.append(f"{where}: field in catalogue, {type(x).__name__} in XSD")
                continue
            if x.max_occurs != 1:
                out.append(f"{where}: repeated simple element in XSD (maxOccurs={x.max_occurs})")
            expected = {
                "type": x.type,
                # no minLength facet means no lower bound: the catalogue writes it as 0 for strings
                "min_length": (x.min_length or 0) if x.type == "string" else x.min_length,
                "max_length": x.max_length,
                "total_digits": x.total_digits,
                "fraction_digits": x.fraction_digits,
                "required": x.min_occurs >= 1,
                "collapse": x.collapse,
            }
            actual = {
                "type": item.type,
                "min_length": (item.min_length or 0) if item.type == "string" else item.min_length,
                "max_length": item.max_length,
                "total_digits": item.total_digits,
                "fraction_digits": item.fraction_digits,
                "required": item.required,
                "collapse": item.collapse,
            }
            for key, value in expected.items():
                if actual[key] != value:
                    out.append(f"{where}: {key} {actual[key]!r} != XSD {value!r}")
        elif isinstance(item, ChildSpec):
            if not isinstance(x, XChild):
                out.append(f"{where}: node in catalogue, {type(x).__name__} in XSD")
                continue
            if (item.min_occurs, item.max_occurs) != (x.min_occurs, x.max_occurs):
                ours, theirs = f"{item.min_occurs}..{item.max_occurs}", f"{x.min_occurs}..{x.max_occurs}"
                out.append(f"{where}: occurs {ours} != XSD {theirs}")
            _compare(item.node, x.node, where, out)
        else:
            if not isinstance(x, XSlot):
                out.append(f"{where}: slot in catalogue, {type(x).__name__} in XSD")
                continue
            if item.min_occurs != x.min_occurs or x.max_occurs != 1:
                out.append(f"{where}: occurs {item.min_occurs}..1 != XSD {x.min_occurs}..{x.max_occurs}")


@pytest.mark.reference
@pytest.mark.parametrize("code", ALL_EXPECTED)
def test_catalogue_agrees_with_official_xsd(code: str) -> None:
    xroot = _xsd_message("202205", code)
    assert xroot is not None, f"{code}Message is not in the 202205 XSD"
    problems: list[str] = []
    _compare(message_spec(code).root, xroot, code, problems)
    assert problems == []


@pytest.mark.reference
def test_comparison_reports_differences() -> None:
    """The comparison is not vacuous: a changed facet, occurrence or order in the XSD tree is reported."""
    xroot = _xsd_message("202205", "CEB621")
    assert xroot is not None
    inventory = xroot.item("Inventory")
    assert isinstance(inventory, XChild)
    line = inventory.node.item("InventoryList")
    assert isinstance(line, XChild)
    items = list(line.node.items)
    pos = next(i for i, x in enumerate(items) if x.name == "itemNo")
    item_no = items[pos]
    assert isinstance(item_no, XField)
    items[pos] = replace(item_no, max_length=30, min_occurs=1)
    changed_line = replace(line, node=replace(line.node, items=tuple(items)), max_occurs=None)
    changed_inventory = replace(
        inventory,
        node=replace(inventory.node, items=(inventory.node.items[0], changed_line)),
    )
    root_items = list(xroot.items)
    root_items[0] = changed_inventory
    root_items[-2:] = root_items[-1], root_items[-2]  # Signature before ExtendMessage
    problems: list[str] = []
    _compare(message_spec("CEB621").root, replace(xroot, items=tuple(root_items)), "CEB621", problems)
    assert problems == [
        "CEB621: element sequence ['Inventory', 'BaseTransfer', 'BaseSubscribe', 'ExtendMessage', "
        "'Signature'] != XSD ['Inventory', 'BaseTransfer', 'BaseSubscribe', 'Signature', 'ExtendMessage']"
    ]
    problems = []
    root_items[-2:] = root_items[-1], root_items[-2]
    _compare(message_spec("CEB621").root, replace(xroot, items=tuple(root_items)), "CEB621", problems)
    assert problems == [
        "CEB621/Inventory/InventoryList: occurs 1..99 != XSD 1..None",
        "CEB621/Inventory/InventoryList/itemNo: max_length 20 != XSD 30",
        "CEB621/Inventory/InventoryList/itemNo: required False != XSD True",
    ]


@pytest.mark.reference
def test_xsd_reader_sees_the_known_facts() -> None:
    """The reader itself, on facts checked by hand in the schema text."""
    root = _xsd_message("202205", "CEB621")
    assert root is not None
    assert [i.name for i in root.items] == [
        "Inventory",
        "BaseTransfer",
        "BaseSubscribe",
        "ExtendMessage",
        "Signature",
    ]
    assert root.item("Signature") == XSlot("Signature", 1, 1)
    inventory = root.item("Inventory")
    assert isinstance(inventory, XChild) and inventory.max_occurs == 100
    line = inventory.node.item("InventoryList")
    assert isinstance(line, XChild) and line.max_occurs == 99
    item_no = line.node.item("itemNo")
    assert isinstance(item_no, XField) and item_no.max_length == 20 and item_no.min_occurs == 0
    price = line.node.item("price")
    assert isinstance(price, XField) and (price.type, price.total_digits, price.fraction_digits) == (
        "decimal",
        19,
        5,
    )
    export = _xsd_message("202205", "CEB603")
    assert export is not None
    assert [i.name for i in export.items][-2:] == ["Signature", "ExtendMessage"]


def _compare_2018(spec: NodeSpec, old: XNode, path: str, out: list[str]) -> None:
    for item in spec.items:
        where = f"{path}/{item.name}"
        prev = old.item(item.name)
        if isinstance(item, ChildSpec):
            if isinstance(prev, XChild):
                _compare_2018(item.node, prev.node, where, out)
            continue
        if not isinstance(item, FieldSpec):
            continue
        if item.new_in_202205 != (prev is None):
            out.append(f"{where}: new_in_202205={item.new_in_202205} but 2018 XSD has it: {prev is not None}")
        if isinstance(prev, XField):
            longer = (
                prev.max_length
                if prev.max_length is not None
                and item.max_length is not None
                and prev.max_length > item.max_length
                else None
            )
            if item.max_length_2018 != longer:
                out.append(f"{where}: max_length_2018={item.max_length_2018}, 2018 XSD max {prev.max_length}")


@pytest.mark.reference
@pytest.mark.parametrize("code", ALL_EXPECTED)
def test_2018_facts_agree_with_2018_xsd(code: str) -> None:
    """max_length_2018 and new_in_202205 follow from the 2018 schema wherever the 2018 node exists."""
    old = _xsd_message("2018", code)
    spec = message_spec(code)
    if old is None:
        # New in 202205 (CEB213-216): nothing of it can be flagged as a 2018 fact.
        assert code in ("CEB213", "CEB214", "CEB215", "CEB216")
        return
    problems: list[str] = []
    _compare_2018(spec.root, old, code, problems)
    assert problems == []


def _fixed_values(xnode: XNode, direction: str, out: dict[tuple[str, str, str], str]) -> None:
    for item in xnode.items:
        if isinstance(item, XChild):
            _fixed_values(item.node, direction, out)
        elif isinstance(item, XField) and item.fixed is not None:
            out[(direction, xnode.name, item.name)] = item.fixed


@pytest.mark.reference
def test_fixed_values_table_matches_xsd() -> None:
    """The generator's table of ``fixed="…"`` values (tests/strategies.py) is exactly what the XSD fixes."""
    found: dict[tuple[str, str, str], str] = {}
    for code in ALL_EXPECTED:
        xroot = _xsd_message("202205", code)
        assert xroot is not None
        _fixed_values(xroot, MESSAGE_TYPES[code].direction, found)
    assert found == XSD_FIXED


@pytest.mark.parametrize(
    ("where", "value"),
    [pytest.param(where, value, id="/".join(where)) for where, value in sorted(XSD_FIXED.items())],
)
def test_code_lists_honour_xsd_fixed_values(where: tuple[str, str, str], value: str) -> None:
    """A field the XSD fixes to one value has exactly that value as its code list, so check() agrees with
    the schema."""
    direction, node_name, name = where
    found = [
        f
        for s, n, f in _all_fields()
        if s.type.direction == direction and n.name == node_name and f.name == name
    ]
    assert found
    for f in found:
        assert f.codes is not None
        assert set(f.codes.codes) == {value}
