"""Hypothesis strategies for CEB documents, driven by the catalogue.

`messages(code)` generates whole messages that satisfy the official 202205 XSD: every field within its
FieldSpec (length, digits, format, code list), optional fields sometimes absent, repeated nodes between their
minimum and a small cap, a 36-character guid, and, where the root allows them, an ExtendMessage and a
structurally valid placeholder ``ds:Signature`` (always present where the schema requires one).

    @given(messages("CEB621"))
    def test_something(message: Message) -> None: ...
"""

from __future__ import annotations

import base64
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from xml.sax.saxutils import escape, quoteattr

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from cbec.ceb.catalogue.codes import DATE8, DATETIME14, DATETIME17
from cbec.ceb.catalogue.messages import DS_NAMESPACE
from cbec.ceb.catalogue.spec import ChildSpec, FieldSpec, NodeSpec, SlotSpec, message_spec
from cbec.ceb.model import ExtendMessage, Message, Node, Value

#: Values the official 202205 XSD fixes with ``fixed="…"``, by (direction, node name, field). The catalogue
#: does not record them, and its code lists for export InventoryHead fFlag/iFlag also allow 1 and 2, which
#: the XSD rejects (see test_catalogue.test_code_lists_honour_xsd_fixed_values). test_catalogue checks this
#: table against the XSD.
XSD_FIXED: dict[tuple[str, str, str], str] = {
    ("import", "OrderHead", "currency"): "142",
    ("import", "OrderList", "currency"): "142",
    ("import", "PaymentHead", "currency"): "142",
    ("import", "LogisticsHead", "currency"): "142",
    ("import", "InventoryHead", "currency"): "142",
    ("import", "InventoryList", "currency"): "142",
    ("export", "InventoryHead", "fFlag"): "3",
    ("export", "InventoryHead", "iFlag"): "3",
}

#: Hypothesis prints drawn values on failure; Message's dataclass repr runs to megabytes (it includes the
#: whole NodeSpec tree, see test_roundtrip.test_message_repr_is_compact): print a one-line summary instead.
try:
    from hypothesis.vendor.pretty import for_type_by_name
except ImportError:  # pragma: no cover - a Hypothesis without the vendored printer: plain repr
    pass
else:
    for_type_by_name(
        "cbec.ceb.model",
        "Message",
        lambda obj, printer, _cycle: printer.text(
            f"<{obj.spec.name} guid={obj.guid!r}: {len(obj.documents)} documents, "
            f"signature={'yes' if obj.signature else 'no'}, extend={'yes' if obj.extend else 'no'}>"
        ),
    )

#: most repetitions generated for a repeated node (the schema allows up to 100 documents × 99 lines)
MAX_REPEAT = 2
#: longest random run of characters drawn one by one; longer strings repeat a drawn run
_RUN = 16

# ---- characters ---------------------------------------------------------------------------------------

#: visible characters: ASCII, common Chinese, and anything printable in letters/marks/numbers/punctuation/
#: symbols (no whitespace, controls, surrogates, private use or unassigned code points)
_VISIBLE = st.one_of(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E),
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5),
    st.sampled_from("中国海关跨境电商测试订单清单物流￥（）【】，。、"),
    st.characters(codec="utf-8", categories=("L", "M", "N", "P", "S")),
)
#: whitespace XML keeps in text: space, tab, newline, carriage return (rendered as &#13;), ideographic space
_WHITESPACE = st.sampled_from(" \t\n\r\u3000")
_TEXT_CHAR = st.one_of(_VISIBLE, _VISIBLE, _VISIBLE, _WHITESPACE)


def _lengths(lo: int, hi: int | None) -> SearchStrategy[int]:
    """Lengths biased to the edges: the minimum, the maximum and short values."""
    if hi is None:
        return st.integers(lo, lo + 40)
    if lo == hi:
        return st.just(lo)
    return st.one_of(st.just(lo), st.just(hi), st.integers(lo, min(hi, lo + 12)))


@st.composite
def strings(draw: st.DrawFn, lo: int, hi: int | None, *, collapse: bool = False) -> str:
    """A string of `lo`..`hi` characters. With `collapse` (xs:whiteSpace collapse) it has no leading,
    trailing, repeated or non-space whitespace, so its collapsed form is itself."""
    n = draw(_lengths(lo, hi))
    if n == 0:
        return ""
    run = draw(
        st.text(alphabet=_VISIBLE if collapse else _TEXT_CHAR, min_size=min(n, _RUN), max_size=min(n, _RUN))
    )
    chars = list((run * (n // len(run) + 1))[:n])
    if collapse and n > 2:
        spaces: set[int] = set()
        for pos in sorted(draw(st.sets(st.integers(1, n - 2), max_size=3))):
            if pos - 1 not in spaces:
                spaces.add(pos)
                chars[pos] = " "
    return "".join(chars)


# ---- numbers and dates ------------------------------------------------------------------------------------


@st.composite
def decimals(draw: st.DrawFn, total_digits: int | None, fraction_digits: int | None) -> Decimal:
    """A non-negative Decimal written with at most `total_digits` digits, `fraction_digits` after the point.
    Trailing zeros are kept as written (``13.89000``)."""
    total = total_digits or 18
    frac_max = min(fraction_digits if fraction_digits is not None else 5, total)
    int_max = total - frac_max if frac_max < total else 0
    specials = [
        "0",
        "0.0",
        "1",
        "13.89",
        "13.89000",
        "0.00001",
        "100",
        "9" * int_max + ("." + "9" * frac_max if frac_max else ""),
        "1" + "0" * (int_max - 1) if int_max > 1 else "1",
    ]
    fits = [s for s in specials if _fits(s, total, frac_max)]
    int_part = draw(st.one_of(st.integers(0, 1000), st.integers(0, 10**int_max - 1 if int_max else 0)))
    frac_len = draw(st.integers(0, frac_max))
    frac = "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=frac_len, max_size=frac_len)))
    written = f"{int_part}.{frac}" if frac else str(int_part)
    return Decimal(draw(st.sampled_from(fits)) if draw(st.integers(0, 3)) == 0 else written)


def _fits(text: str, total: int, frac_max: int) -> bool:
    whole, _, frac = text.partition(".")
    return len(frac) <= frac_max and len(whole.lstrip("0")) + len(frac) <= total


def integers(total_digits: int | None) -> SearchStrategy[int]:
    """An xs:int (optionally restricted to `total_digits` digits), non-negative."""
    top = 2**31 - 1 if total_digits is None else min(10**total_digits - 1, 2**31 - 1)
    return st.one_of(st.sampled_from([0, 1, top]), st.integers(0, 99), st.integers(0, top))


_DATES = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
_DATETIMES = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31, 23, 59, 59))


def formatted_time(fmt: str) -> SearchStrategy[str]:
    """A real date or time in one of the CEB formats."""
    if fmt == DATE8:
        return _DATES.map(lambda d: d.strftime("%Y%m%d"))
    if fmt == DATETIME14:
        return _DATETIMES.map(lambda t: t.strftime("%Y%m%d%H%M%S"))
    if fmt == DATETIME17:
        return _DATETIMES.map(lambda t: t.strftime("%Y%m%d%H%M%S") + f"{t.microsecond // 1000:03d}")
    raise ValueError(f"unknown format {fmt}")


# ---- fields, nodes, messages ----------------------------------------------------------------------------


@cache
def field_values(spec: FieldSpec) -> SearchStrategy[Value]:
    """Values that satisfy one field's XSD facets, format and code list."""
    if spec.type == "decimal":
        return decimals(spec.total_digits, spec.fraction_digits)
    if spec.type == "int":
        return integers(spec.total_digits)
    lo, hi = spec.min_length or 0, spec.max_length
    if spec.codes is not None:
        allowed = sorted(c for c in spec.codes.codes if lo <= len(c) and (hi is None or len(c) <= hi))
        if allowed:
            return st.sampled_from(allowed)
    if spec.fmt is not None:
        return formatted_time(spec.fmt)
    return strings(lo, hi, collapse=spec.collapse)


def _draw_into(draw: st.DrawFn, spec: NodeSpec, node: Node) -> None:
    for item in spec.items:
        if isinstance(item, FieldSpec):
            if item.required or draw(st.booleans()):
                fixed = XSD_FIXED.get((spec.direction, spec.name, item.name))
                node.values[item.name] = fixed if fixed is not None else draw(field_values(item))
        elif isinstance(item, ChildSpec):
            hi = max(item.min_occurs, MAX_REPEAT)
            if item.max_occurs is not None:
                hi = min(hi, item.max_occurs)
            count = draw(st.integers(item.min_occurs, hi))
            if count:
                node.children[item.name] = [draw(nodes(item.node)) for _ in range(count)]


@cache
def nodes(spec: NodeSpec) -> SearchStrategy[Node]:
    """One node of `spec` with its fields and children."""

    @st.composite
    def build(draw: st.DrawFn) -> Node:
        node = Node(spec)
        _draw_into(draw, spec, node)
        return node

    return build()


_BASE64 = st.binary(min_size=1, max_size=64).map(lambda b: base64.b64encode(b).decode("ascii"))


@st.composite
def signatures(draw: st.DrawFn) -> bytes:
    """A placeholder ds:Signature valid against xmldsig-core-schema.xsd (not a real signature): SignedInfo
    with CanonicalizationMethod, SignatureMethod and one Reference (Transforms, DigestMethod, DigestValue),
    then SignatureValue and KeyInfo/KeyName."""
    rsa = draw(st.booleans())
    sig_alg = (
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
        if rsa
        else "http://www.chinaport.gov.cn/2022/04/xmldsig#sm2-sm3"
    )
    digest_alg = (
        "http://www.w3.org/2000/09/xmldsig#sha1" if rsa else "http://www.chinaport.gov.cn/2022/04/xmldsig#sm3"
    )
    key_name = draw(st.text(alphabet="0123456789abcdef", min_size=1, max_size=40))
    xml = (
        f'<ds:Signature xmlns:ds="{DS_NAMESPACE}">'
        "<ds:SignedInfo>"
        '<ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>'
        f'<ds:SignatureMethod Algorithm="{sig_alg}"/>'
        '<ds:Reference URI="">'
        '<ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>'
        "</ds:Transforms>"
        f'<ds:DigestMethod Algorithm="{digest_alg}"/>'
        f"<ds:DigestValue>{draw(_BASE64)}</ds:DigestValue>"
        "</ds:Reference>"
        "</ds:SignedInfo>"
        f"<ds:SignatureValue>{draw(_BASE64)}</ds:SignatureValue>"
        f"<ds:KeyInfo><ds:KeyName>{key_name}</ds:KeyName></ds:KeyInfo>"
        "</ds:Signature>"
    )
    return xml.encode("utf-8")


_INNER_TEXT = st.text(alphabet=_VISIBLE, max_size=20)


@st.composite
def inner_elements(draw: st.DrawFn) -> bytes:
    """A small arbitrary XML element for ExtendMessage/Message: ``<x>…</x>``, sometimes with an attribute
    and a child element."""
    attr = f" a={quoteattr(draw(_INNER_TEXT))}" if draw(st.booleans()) else ""
    child = f"<y>{escape(draw(_INNER_TEXT))}</y>" if draw(st.booleans()) else ""
    return f"<x{attr}>{escape(draw(_INNER_TEXT))}{child}</x>".encode()


def extend_messages() -> SearchStrategy[ExtendMessage]:
    return st.builds(
        ExtendMessage,
        name=strings(0, 30),
        version=strings(0, 30),
        message=st.none() | inner_elements(),
    )


@cache
def messages(code: str) -> SearchStrategy[Message]:
    """Whole messages of type `code` (``CEB621`` …) that satisfy the official 202205 XSD."""
    spec = message_spec(code)
    root = spec.root
    slots = {item.kind: item for item in root.items if isinstance(item, SlotSpec)}

    @st.composite
    def build(draw: st.DrawFn) -> Message:
        guid = str(draw(st.uuids())).upper()
        message = Message(root, guid=guid, version="1.0")
        _draw_into(draw, root, message)
        if "extend" in slots and draw(st.booleans()):
            message.extend = draw(extend_messages())
        sig = slots.get("signature")
        if sig is not None and (sig.min_occurs > 0 or draw(st.booleans())):
            message.signature = draw(signatures())
        return message

    return build()


# ---- a deterministic minimal message ----------------------------------------------------------------------

PLACEHOLDER_SIGNATURE = (
    f'<ds:Signature xmlns:ds="{DS_NAMESPACE}"><ds:SignedInfo>'
    '<ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>'
    '<ds:SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#rsa-sha1"/>'
    '<ds:Reference URI=""><ds:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/>'
    "<ds:DigestValue>AAAA</ds:DigestValue></ds:Reference></ds:SignedInfo>"
    "<ds:SignatureValue>AAAA</ds:SignatureValue><ds:KeyInfo><ds:KeyName>0001</ds:KeyName></ds:KeyInfo>"
    "</ds:Signature>"
).encode()

_SIMPLE_TIMES = {DATE8: "20240229", DATETIME14: "20240229235959", DATETIME17: "20240229235959999"}


def simple_value(node: NodeSpec, spec: FieldSpec) -> Value:
    """One fixed valid value for a field: the first allowed code, a real time, ``1`` or a run of ``1``."""
    fixed = XSD_FIXED.get((node.direction, node.name, spec.name))
    if fixed is not None:
        return fixed
    if spec.type == "decimal":
        return Decimal("1")
    if spec.type == "int":
        return 1
    if spec.codes is not None:
        return next(iter(spec.codes.codes))
    if spec.fmt is not None:
        return _SIMPLE_TIMES[spec.fmt]
    return "1" * max(spec.min_length or 0, 1)


def _fill_minimal(spec: NodeSpec, node: Node) -> None:
    for item in spec.items:
        if isinstance(item, FieldSpec) and item.required:
            node.values[item.name] = simple_value(spec, item)
        elif isinstance(item, ChildSpec) and item.min_occurs:
            node.children[item.name] = []
            for _ in range(item.min_occurs):
                child = Node(item.node)
                _fill_minimal(item.node, child)
                node.children[item.name].append(child)


def minimal_message(code: str, guid: str = "00000000-0000-4000-8000-000000000000") -> Message:
    """A schema-valid message with only what the XSD requires (and a placeholder signature if required)."""
    spec = message_spec(code)
    message = Message(spec.root, guid=guid, version="1.0")
    _fill_minimal(spec.root, message)
    sig = spec.signature_slot
    if sig is not None and sig.min_occurs > 0:
        message.signature = PLACEHOLDER_SIGNATURE
    return message
