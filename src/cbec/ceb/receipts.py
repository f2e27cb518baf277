"""Receipts (回执): build the answer customs gives to a declaration, read the answers customs sent, and the
``returnInfo`` text both sides put in them.

Building is for the clearance engine and for tests of enterprise systems: `build_receipt` answers a whole
declaration message (one ``…Return`` per business document, business keys copied by field name from the
document's head, the return ``guid`` being the head guid it answers), `build_return` makes one return node
from keys the caller chose (``preNo``/``invtNo`` that customs generates), `receipt_message` puts return
nodes into a message. Everything built is checked against the field lengths and types of the 202205
schema, so a receipt that would not validate is refused with a reason instead of being sent; only
``returnInfo``, free text, is shortened to its limit.

Reading is tolerant: `read_receipts` gives one `ReceiptView` per return node of any receipt, of CEB816/818
tax messages and of CEB900 format-check receipts, keeping elements the schema does not know (real CEB816
carry ``orderNo``/``logisticsNo``).

Times on the wire are China Standard Time, ``YYYYMMDDhhmmssSSS``; money is `Decimal`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from cbec.ceb.catalogue.spec import FieldSpec, MessageSpec, NodeSpec, message_spec
from cbec.ceb.dxp import CST
from cbec.ceb.errors import CebError
from cbec.ceb.model import Message, Node, Value, new_message
from cbec.ceb.parse import convert
from cbec.ceb.render import format_value
from cbec.ceb.return_status import (
    RECEIPT_CODES,
    StatusInfo,
    status_info,
    status_problem,
    statuses_for,
    tax_status_info,
)

__all__ = [
    "ReceiptError",
    "ReceiptView",
    "ReturnInfo",
    "ReturnInfoPart",
    "StatusInfo",
    "TaxBill",
    "TaxLine",
    "TaxStatus",
    "build_receipt",
    "build_return",
    "build_tax_bill",
    "build_tax_status",
    "document_keys",
    "fit_return_info",
    "format_return_info",
    "format_return_time",
    "parse_return_info",
    "parse_return_time",
    "read_receipts",
    "receipt_message",
    "status_info",
    "status_problem",
    "statuses_for",
]

#: The three fields every receipt node carries besides its business keys.
RETURN_FIELDS = ("returnStatus", "returnTime", "returnInfo")
_MAX_RETURN_INFO = 1000


class ReceiptError(CebError):
    """A receipt or tax message cannot be built as asked (it would not validate against the schema)."""

    code = "CBEC-0201"


# ------------------------------------------------------------------------------------------- returnInfo


@dataclass(frozen=True, slots=True)
class ReturnInfoPart:
    """One ``[Code:NNNN;Desc:…]`` group: a customs-internal result code and its description."""

    code: str
    desc: str


@dataclass(frozen=True, slots=True)
class ReturnInfo:
    """A ``returnInfo`` split into its bracket groups and the remaining free text; `raw` is the input."""

    parts: tuple[ReturnInfoPart, ...] = ()
    text: str = ""
    raw: str = ""

    @property
    def code(self) -> str | None:
        """The first group's code, the one a reader usually wants (``2600`` 放行, ``1300`` 退单 …)."""
        return self.parts[0].code if self.parts else None

    @property
    def desc(self) -> str:
        """The descriptions and the free text together, for display."""
        items = [p.desc for p in self.parts if p.desc]
        if self.text:
            items.append(self.text)
        return "；".join(items)


# "[Code:" in any case, with ASCII or full-width colon and optional blanks.
_GROUP_OPEN = re.compile(r"\[\s*code\s*[:：]", re.IGNORECASE)
_GROUP_BODY = re.compile(
    r"\s*(?P<code>.*?)\s*(?:[;；]\s*desc\s*[:：]?(?P<desc>.*))?\Z", re.IGNORECASE | re.DOTALL
)
_SEPARATORS = " \t\r\n,，;；、"
_ELLIPSIS = "…"


def _closing(text: str, start: int, stop: int) -> int:
    """Index of the bracket closing the group opened at `start`, or -1.

    Nested pairs (``清单[123]``) are skipped; when the nesting never closes, the first ``]`` before `stop`
    (the next group) is taken instead.
    """
    depth = 0
    for i in range(start, stop):
        ch = text[i]
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth == 0:
                return i
    return text.find("]", start, stop)


def parse_return_info(text: str | None) -> ReturnInfo:
    """Split customs' ``returnInfo`` into ``[Code:…;Desc:…]`` groups and free text. Never raises.

    Handles one or several groups, groups followed by text (``[Code:2300;Desc:审核通过],撤单申请审核通过``),
    plain text (``新增申报成功[<guid>]``, ``暂存``) and broken input: an unclosed group runs to the next group
    or the end of the text.
    """
    raw = text if isinstance(text, str) else ""
    parts: list[ReturnInfoPart] = []
    rest: list[str] = []
    pos = 0
    while pos <= len(raw):
        found = _GROUP_OPEN.search(raw, pos)
        if found is None:
            rest.append(raw[pos:])
            break
        following = _GROUP_OPEN.search(raw, found.end())
        stop = following.start() if following else len(raw)
        end = _closing(raw, found.start(), stop)
        rest.append(raw[pos : found.start()])
        body = raw[found.end() : end if end >= 0 else stop]
        match = _GROUP_BODY.match(body)
        if match is None:  # pragma: no cover - the pattern matches every string
            rest.append(body)
        else:
            parts.append(ReturnInfoPart(match["code"], (match["desc"] or "").strip()))
        pos = end + 1 if end >= 0 else stop
        if pos >= len(raw):
            break
    free = [seg.strip(_SEPARATORS) for seg in rest]
    return ReturnInfo(tuple(parts), ",".join(s for s in free if s), raw)


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def _safe_desc(desc: str) -> str:
    # An unbalanced bracket would end the group early when read back; full-width brackets read the same.
    return desc if _balanced(desc) else desc.replace("[", "［").replace("]", "］")


def _group(code: str, desc: str) -> str:
    code = code.replace(";", "；").replace("[", "［").replace("]", "］")
    return f"[Code:{code};Desc:{_safe_desc(desc)}]"


def format_return_info(
    parts: Iterable[ReturnInfoPart | tuple[str, str]], text: str = "", *, limit: int = _MAX_RETURN_INFO
) -> str:
    """The customs form ``[Code:NNNN;Desc:…][Code:…],free text``, at most `limit` characters.

    When too long, whole groups are kept as far as they fit and the text is cut with ``…``; a group is cut
    inside (its bracket still closed) only when the first group alone is over the limit.
    """
    items = [p if isinstance(p, ReturnInfoPart) else ReturnInfoPart(p[0], p[1]) for p in parts]
    groups = [_group(p.code, p.desc) for p in items]
    joined = "".join(groups)
    full = f"{joined},{text}" if groups and text else joined + text
    if len(full) <= limit:
        return full
    if limit <= len(_ELLIPSIS) + 2:
        return full[:limit]
    out = ""
    kept = 0
    for g in groups:
        if len(out) + len(g) > limit:
            break
        out += g
        kept += 1
    if kept == 0 and groups:
        first = items[0]
        shell = _group(first.code, "")
        room = limit - len(shell) - len(_ELLIPSIS)
        if room >= 0:
            return _group(first.code, _safe_desc(first.desc[:room]) + _ELLIPSIS)
        return full[:limit]
    if kept < len(groups):
        return out + _ELLIPSIS if len(out) < limit else out
    sep = "," if out else ""
    room = limit - len(out) - len(sep) - len(_ELLIPSIS)
    if room <= 0:
        return out
    return out + sep + text[:room] + _ELLIPSIS


def fit_return_info(info: str, limit: int = _MAX_RETURN_INFO) -> str:
    """`info` unchanged when it fits, else shortened to `limit` keeping whole ``[Code:…]`` groups."""
    if len(info) <= limit:
        return info
    parsed = parse_return_info(info)
    if not parsed.parts:
        return info[: limit - len(_ELLIPSIS)] + _ELLIPSIS if limit > len(_ELLIPSIS) else info[:limit]
    return format_return_info(parsed.parts, parsed.text, limit=limit)


# ------------------------------------------------------------------------------------------------ time


def format_return_time(moment: datetime | None = None) -> str:
    """``YYYYMMDDhhmmssSSS`` in China Standard Time; now when `moment` is None. A naive time is refused."""
    if moment is None:
        moment = datetime.now(CST)
    elif moment.tzinfo is None or moment.utcoffset() is None:
        raise ReceiptError(
            "回执时间必须带时区（不能是无时区的 datetime）",
            "the receipt time must be timezone-aware (a naive datetime is ambiguous)",
        )
    cst = moment.astimezone(CST)
    last = _last_time
    if last[0] == cst:  # CST has a fixed offset: equal local fields are the same instant
        return last[1]
    text = cst.strftime("%Y%m%d%H%M%S") + f"{cst.microsecond // 1000:03d}"
    _remember_time(cst, text)
    return text


# The engine stamps every receipt of one message (and often of one batch) with the same moment; the text
# of the last moment is kept. A tuple, replaced whole, so a reader in another thread sees a matching pair.
_last_time: tuple[datetime | None, str] = (None, "")


def _remember_time(cst: datetime, text: str) -> None:
    global _last_time
    _last_time = (cst, text)


_TIME = re.compile(r"(\d{14})(\d{1,6})?\Z")


def parse_return_time(text: str | None) -> datetime | None:
    """An aware datetime (CST) from ``YYYYMMDDhhmmss[SSS]`` or an ISO form; None when not a time.

    A time without an offset is China Standard Time, as customs writes it.
    """
    if not text:
        return None
    value = text.strip()
    match = _TIME.match(value)
    try:
        if match:
            moment = datetime.strptime(match[1], "%Y%m%d%H%M%S")
            frac = match[2] or ""
            if frac:
                moment = moment.replace(microsecond=int(frac.ljust(6, "0")))
        else:
            moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=CST)
    return moment.astimezone(CST)


# ---------------------------------------------------------------------------------- building: checking


def _as_field_value(spec: FieldSpec, value: Value) -> Value:
    """`value` typed for `spec` the way parsing would type it, so built and parsed messages compare equal."""
    if isinstance(value, str):
        return convert(spec, value)
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return str(value)  # refused below with a clear type message
    return convert(spec, format_value(value))


def _digits(value: Decimal) -> tuple[int, int]:
    """(total digits, fraction digits) as written."""
    _sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):
        return (10**6, 10**6)  # NaN / infinity: never fits
    fraction = max(0, -exponent)
    whole = max(len(digits) - fraction, 0) + max(exponent, 0)
    return (whole + fraction, fraction)


def _value_problem(spec: FieldSpec, value: Value) -> tuple[str, str] | None:
    name = spec.name
    if spec.type == "string":
        if not isinstance(value, str):
            return (f"{name} 应为文本", f"{name} must be text")
        n = len(value)
        low, high = spec.min_length or 0, spec.max_length
        if n < low or (high is not None and n > high):
            exact = low == high
            need_zh = f"应为 {high} 位" if exact else f"长度应为 {low} 至 {high if high is not None else '∞'}"
            need_en = (
                f"must have exactly {high} characters" if exact else f"must have {low} to {high} characters"
            )
            return (
                f"{name}（{spec.zh}）{need_zh}，实际 {n} 位：{value!r}",
                f"{name} ({spec.en}) {need_en}, found {n}",
            )
        return None
    if spec.type == "int":
        if not isinstance(value, int):
            return (
                f"{name}（{spec.zh}）应为整数：{value!r}",
                f"{name} ({spec.en}) must be an integer: {value!r}",
            )
        if spec.total_digits and len(str(abs(value))) > spec.total_digits:
            return (
                f"{name}（{spec.zh}）最多 {spec.total_digits} 位数字",
                f"{name} ({spec.en}) has at most {spec.total_digits} digits",
            )
        return None
    if not isinstance(value, Decimal) or not value.is_finite():
        return (
            f"{name}（{spec.zh}）应为十进制数（Decimal）：{value!r}",
            f"{name} ({spec.en}) must be a Decimal: {value!r}",
        )
    total, fraction = _digits(value)
    if (spec.total_digits is not None and total > spec.total_digits) or (
        spec.fraction_digits is not None and fraction > spec.fraction_digits
    ):
        return (
            f"{name}（{spec.zh}）数字位数超出 N{spec.total_digits},{spec.fraction_digits}：{value}",
            f"{name} ({spec.en}) exceeds N{spec.total_digits},{spec.fraction_digits}: {value}",
        )
    return None


def _fill(node_spec: NodeSpec, values: Mapping[str, Value | None], where: str) -> Node:
    """A node with `values` (None or "" on an optional field: left out) that satisfies the schema's field
    facts; required fields the schema lets be empty are written empty. Raises `ReceiptError` listing all
    problems otherwise."""
    node = Node(node_spec)
    problems: list[tuple[str, str]] = []
    fields = node_spec.fields
    out = node.values
    for name, value in values.items():
        spec = fields.get(name)
        if spec is None:
            problems.append((f"{node_spec.name} 没有字段 {name}", f"{node_spec.name} has no field {name!r}"))
            continue
        if value is None or (value == "" and not spec.required):
            continue
        # A string for a string field is kept as given, which is all `_as_field_value` would do.
        out[name] = value if type(value) is str and spec.type == "string" else _as_field_value(spec, value)
    for spec in fields.values():
        value = out.get(spec.name)
        if type(value) is str and spec.type == "string":
            # `_value_problem`'s length test, inline: the values the engine passes nearly always fit.
            n = len(value)
            high = spec.max_length
            if (spec.min_length or 0) <= n and (high is None or n <= high):
                continue
        if value is None:
            if not spec.required:
                continue
            if spec.type == "string" and not spec.min_length:
                node.values[spec.name] = ""
                continue
            problems.append(
                (
                    f"缺少必填字段 {spec.name}（{spec.zh}）",
                    f"required field {spec.name} ({spec.en}) is missing",
                )
            )
            continue
        problem = _value_problem(spec, value)
        if problem:
            problems.append(problem)
    if problems:
        raise ReceiptError(
            f"无法生成 {where}：" + "；".join(p[0] for p in problems),
            f"cannot build {where}: " + "; ".join(p[1] for p in problems),
        )
    return node


def _new_guid(guid: str | None, where: str) -> str:
    if guid is None:
        return fresh_guid()
    if len(guid) != 36:
        raise ReceiptError(
            f"{where} 的 guid 应为36位：{guid!r}", f"the guid of {where} must be 36 characters: {guid!r}"
        )
    return guid


# -------------------------------------------------------------------------------- building: receipts


def _head(document: Node) -> Node:
    """The node carrying a document's guid and keys: the document itself (InvtCancel, LogisticsStatus …)
    or its …Head child (Order/OrderHead, Inventory/InventoryHead …)."""
    if "guid" in document.spec.fields:
        return document
    for nodes in document.children.values():
        for child in nodes:
            if "guid" in child.spec.fields:
                return child
    return document


def fresh_guid() -> str:
    """A random (version 4) UUID in upper case, as ``str(uuid.uuid4()).upper()`` gives, at a third of
    the cost: one per receipt."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.hex().upper()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@dataclass(frozen=True, slots=True)
class _Plan:
    """What building a receipt of one type needs and is the same every time (see `_plan`)."""

    code: str
    body: NodeSpec
    #: the business key fields, in schema order (the body's fields but the three RETURN_FIELDS)
    keys: tuple[str, ...]
    info_limit: int
    info_required: bool
    #: how errors name the node, e.g. "CEB622 InventoryReturn"
    where: str


_plans: dict[str, _Plan] = {}
_specs: dict[str, MessageSpec] = {}


def _spec(code: str) -> MessageSpec:
    """`message_spec`, remembered by the exact string callers pass (bounded: callers pass few)."""
    spec = _specs.get(code)
    if spec is None:
        spec = message_spec(code)
        if len(_specs) < 256:
            _specs[code] = spec
    return spec


def _plan(receipt_code: str) -> _Plan:
    """The receipt type's `_Plan`; refuses codes that are not receipts as `_receipt_body` does."""
    plan = _plans.get(receipt_code)
    if plan is None:
        body = _receipt_body(receipt_code)
        info_spec = body.fields["returnInfo"]
        code = _spec(receipt_code).code
        plan = _Plan(
            code=code,
            body=body,
            keys=tuple(name for name in body.fields if name not in RETURN_FIELDS),
            info_limit=info_spec.max_length or _MAX_RETURN_INFO,
            info_required=bool(info_spec.min_length),
            where=f"{code} {body.name}",
        )
        if len(_plans) < 256:
            _plans[receipt_code] = plan
    return plan


def _receipt_body(receipt_code: str) -> NodeSpec:
    spec = message_spec(receipt_code)
    body = spec.body.node
    if "returnStatus" not in body.fields:
        raise ReceiptError(
            f"{spec.code} 不是回执报文（没有 returnStatus）",
            f"{spec.code} is not a receipt message (it has no returnStatus)",
        )
    return body


def document_keys(document: Node, receipt_code: str) -> dict[str, Value]:
    """The fields of a declaration document that the receipt `receipt_code` repeats, matched by name.

    Includes ``guid`` (the head guid: it says which document the receipt answers). Empty values are left
    out, so an empty ``preNo`` of a first declaration does not become an invalid receipt field.
    """
    plan = _plan(receipt_code)
    head = _head(document).values
    own = document.values
    keys: dict[str, Value] = {}
    for name in plan.keys:
        value = head.get(name)
        if value is None:
            value = own.get(name)
        if value is not None and value != "":
            keys[name] = value
    return keys


def _status_text(receipt_code: str, status: str | int, any_status: bool) -> str:
    text = str(status).strip()
    if (receipt_code, text) in _valid_statuses:
        return text
    problem = status_problem(receipt_code, text)
    if problem is None:
        if len(_valid_statuses) < 4096:  # bounded: a caller could pass any number of error codes
            _valid_statuses.add((receipt_code, text))
        return text
    if not any_status or not re.fullmatch(r"-?[0-9]+", text):
        raise ReceiptError(problem[0], problem[1])
    return text


#: (receipt code, status) pairs `status_problem` found nothing wrong with; its answer depends on nothing else
_valid_statuses: set[tuple[str, str]] = set()


def build_return(
    receipt_code: str,
    document_keys: Mapping[str, Value | None],
    status: str | int,
    info: str,
    time: datetime | None = None,
    *,
    any_status: bool = False,
) -> Node:
    """One ``…Return`` node of receipt type `receipt_code` (``CEB622`` …; ``CEB900`` for format checks).

    `document_keys` are the business fields by official name, including ``guid`` of the answered
    document; unknown names are refused. `status` must be valid for the receipt type (a listed status or a
    negative error code) unless `any_status` (simulating a customs quirk, e.g. 600 on a CEB622). `info` is
    shortened to the field's limit keeping whole ``[Code:…]`` groups; empty `info` becomes the status'
    meaning, since the field is required. `time` defaults to now; it must be timezone-aware.
    """
    plan = _plan(receipt_code)
    code = plan.code
    clash = [k for k in document_keys if k in RETURN_FIELDS]
    if clash:
        raise ReceiptError(
            f"业务字段中不应包含 {', '.join(clash)}（由 status/info/time 参数给出）",
            f"the business keys must not contain {', '.join(clash)} (given by status/info/time)",
        )
    status_text = _status_text(code, status, any_status)
    limit = plan.info_limit
    text = fit_return_info(info, limit)
    if not text.strip() and plan.info_required:
        known = status_info(status_text)
        text = known.zh if known is not None else status_text
        text = fit_return_info(text, limit)
    values: dict[str, Value | None] = dict(document_keys)
    values.update(returnStatus=status_text, returnTime=format_return_time(time), returnInfo=text)
    return _fill(plan.body, values, plan.where)


def receipt_message(receipt_code: str, returns: Iterable[Node], *, guid: str | None = None) -> Message:
    """A receipt message carrying the given return nodes (from `build_return`); fresh upper-case guid."""
    spec = _spec(receipt_code)
    body = spec.body
    message = Message(spec.root, guid=_new_guid(guid, spec.code), version="1.0")
    nodes = list(returns)
    for node in nodes:
        if node.spec is not body.node:
            raise ReceiptError(
                f"{spec.code} 只能包含 {body.name} 节点，收到 {node.spec.name}",
                f"{spec.code} carries {body.name} nodes only, got {node.spec.name}",
            )
    if not nodes or (body.max_occurs is not None and len(nodes) > body.max_occurs):
        raise ReceiptError(
            f"{spec.code} 应包含 1 至 {body.max_occurs} 个 {body.name}，实际 {len(nodes)} 个",
            f"{spec.code} carries 1 to {body.max_occurs} {body.name} nodes, got {len(nodes)}",
        )
    message.children[body.name] = nodes
    return message


Overrides = Mapping[str, Value | None] | Sequence[Mapping[str, Value | None]]


def build_receipt(
    declaration: Message,
    *,
    status: str | int,
    info: str,
    time: datetime | None = None,
    guid: str | None = None,
    overrides: Overrides | None = None,
    any_status: bool = False,
) -> Message:
    """The receipt answering `declaration` (CEB311 → CEB312 …): one return node per business document.

    Keys are copied from each document's head by field name (`document_keys`); `overrides` sets or, with
    None, removes fields — one mapping for every document, or a sequence with one mapping per document
    (customs gives each list its own ``preNo``/``invtNo``). All nodes share `time`. Raises `ReceiptError`
    when a required key is missing or a value does not fit, naming the field.
    """
    mtype = declaration.type
    if mtype.kind != "declaration" or mtype.receipt is None:
        raise ReceiptError(
            f"{mtype.code} 不是申报报文，没有对应的回执",
            f"{mtype.code} is not a declaration; no receipt answers it",
        )
    documents = declaration.documents
    if overrides is None:
        per_doc: list[Mapping[str, Value | None]] = [{} for _ in documents]
    elif isinstance(overrides, Mapping):
        per_doc = [overrides for _ in documents]
    else:
        per_doc = list(overrides)
        if len(per_doc) != len(documents):
            raise ReceiptError(
                f"overrides 应为每个单证一项：{len(documents)} 个单证，{len(per_doc)} 项",
                f"overrides needs one mapping per document: {len(documents)} documents, {len(per_doc)} given",
            )
    moment = time if time is not None else datetime.now(CST)
    returns = []
    for document, extra in zip(documents, per_doc, strict=True):
        keys: dict[str, Value | None] = dict(document_keys(document, mtype.receipt))
        keys.update(extra)
        returns.append(build_return(mtype.receipt, keys, status, info, moment, any_status=any_status))
    return receipt_message(mtype.receipt, returns, guid=guid)


# ------------------------------------------------------------------------------------------- tax bills


@dataclass(frozen=True, slots=True)
class TaxLine:
    """One TaxListRd line of an electronic tax bill (电子税单表体); amounts are `Decimal`, in yuan."""

    gnum: int
    gcode: str
    tax_price: Decimal
    customs_tax: Decimal
    value_added_tax: Decimal
    consumption_tax: Decimal


@dataclass(frozen=True, slots=True)
class TaxBill:
    """One Tax of a CEB816 电子税单: head facts and lines. Head amounts default to the sums of the lines."""

    invt_no: str
    tax_no: str
    lines: Sequence[TaxLine]
    status: str = "1"
    customs_tax: Decimal | None = None
    value_added_tax: Decimal | None = None
    consumption_tax: Decimal | None = None
    ent_duty_no: str | None = None
    note: str | None = None
    assure_code: str | None = None
    ebc_code: str | None = None
    logistics_code: str | None = None
    agent_code: str | None = None
    customs_code: str | None = None
    #: TaxHeadRd guid; a fresh upper-case UUID when None
    guid: str | None = None


@dataclass(frozen=True, slots=True)
class TaxStatus:
    """One Tax of a CEB818 电子税单状态: 1 已生成, 2 已汇总, 3 作废."""

    invt_no: str
    tax_no: str
    status: str
    ent_duty_no: str | None = None
    assure_code: str | None = None
    #: TaxHeadStatus guid; a fresh upper-case UUID when None
    guid: str | None = None


def _money(name: str, value: object) -> Decimal:
    # Floats cannot say 0.1; money must arrive as Decimal (or int) so the digits sent are the digits meant.
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    raise ReceiptError(f"金额 {name} 应为 Decimal：{value!r}", f"amount {name} must be a Decimal: {value!r}")


def _tax_status(code: str, status: str) -> None:
    if tax_status_info(status) is None:
        raise ReceiptError(
            f"{code} 税单状态应为 1-已生成、2-已汇总、3-作废，实际为 {status!r}",
            f"{code} tax bill status must be 1 (generated), 2 (summarised) or 3 (voided), got {status!r}",
        )


def _as_list(items: object) -> list[object]:
    if isinstance(items, (TaxBill, TaxStatus)):
        return [items]
    if isinstance(items, Iterable):
        return list(items)
    return [items]


def build_tax_bill(
    bills: TaxBill | Iterable[TaxBill], *, time: datetime | None = None, guid: str | None = None
) -> Message:
    """A CEB816 电子税单 with one Tax per bill; refuses values that would not validate (Decimal(19,5) …)."""
    spec = message_spec("CEB816")
    tax_spec = spec.body.node
    head_spec = tax_spec.children["TaxHeadRd"].node
    line_child = tax_spec.children["TaxListRd"]
    stamp = format_return_time(time)
    message = new_message("CEB816", guid=_new_guid(guid, "CEB816"))
    taxes: list[Node] = []
    for item in _as_list(bills):
        if not isinstance(item, TaxBill):
            raise ReceiptError(f"应为 TaxBill：{item!r}", f"expected a TaxBill: {item!r}")
        _tax_status("CEB816", item.status)
        lines = list(item.lines)
        if not 1 <= len(lines) <= (line_child.max_occurs or len(lines)):
            raise ReceiptError(
                f"电子税单 {item.tax_no} 应有 1 至 {line_child.max_occurs} 行表体，实际 {len(lines)} 行",
                f"tax bill {item.tax_no} needs 1 to {line_child.max_occurs} lines, got {len(lines)}",
            )
        line_nodes = []
        for line in lines:
            amounts = {
                "taxPrice": _money("taxPrice", line.tax_price),
                "customsTax": _money("customsTax", line.customs_tax),
                "valueAddedTax": _money("valueAddedTax", line.value_added_tax),
                "consumptionTax": _money("consumptionTax", line.consumption_tax),
            }
            line_nodes.append(
                _fill(
                    line_child.node, {"gnum": line.gnum, "gcode": line.gcode, **amounts}, "CEB816 TaxListRd"
                )
            )
        totals = {}
        for name, given, attr in (
            ("customsTax", item.customs_tax, "customs_tax"),
            ("valueAddedTax", item.value_added_tax, "value_added_tax"),
            ("consumptionTax", item.consumption_tax, "consumption_tax"),
        ):
            totals[name] = (
                _money(name, given)
                if given is not None
                else sum((_money(name, getattr(line, attr)) for line in lines), Decimal(0))
            )
        head_values: dict[str, Value | None] = {
            "guid": _new_guid(item.guid, "TaxHeadRd"),
            "returnTime": stamp,
            "invtNo": item.invt_no,
            "taxNo": item.tax_no,
            **totals,
            "status": item.status,
            "entDutyNo": item.ent_duty_no,
            "note": item.note,
            "assureCode": item.assure_code,
            "ebcCode": item.ebc_code,
            "logisticsCode": item.logistics_code,
            "agentCode": item.agent_code,
            "customsCode": item.customs_code,
        }
        tax = Node(tax_spec)
        tax.children["TaxHeadRd"] = [_fill(head_spec, head_values, "CEB816 TaxHeadRd")]
        tax.children["TaxListRd"] = line_nodes
        taxes.append(tax)
    if not taxes:
        raise ReceiptError("CEB816 至少需要一个税单", "CEB816 needs at least one tax bill")
    message.children[spec.body.name] = taxes
    return message


def build_tax_status(
    statuses: TaxStatus | Iterable[TaxStatus], *, time: datetime | None = None, guid: str | None = None
) -> Message:
    """A CEB818 电子税单状态 with one Tax per status change."""
    spec = message_spec("CEB818")
    tax_spec = spec.body.node
    head_spec = tax_spec.children["TaxHeadStatus"].node
    stamp = format_return_time(time)
    message = new_message("CEB818", guid=_new_guid(guid, "CEB818"))
    taxes: list[Node] = []
    for item in _as_list(statuses):
        if not isinstance(item, TaxStatus):
            raise ReceiptError(f"应为 TaxStatus：{item!r}", f"expected a TaxStatus: {item!r}")
        _tax_status("CEB818", item.status)
        values: dict[str, Value | None] = {
            "guid": _new_guid(item.guid, "TaxHeadStatus"),
            "returnTime": stamp,
            "invtNo": item.invt_no,
            "taxNo": item.tax_no,
            "status": item.status,
            "entDutyNo": item.ent_duty_no,
            "assureCode": item.assure_code,
        }
        tax = Node(tax_spec)
        tax.children["TaxHeadStatus"] = [_fill(head_spec, values, "CEB818 TaxHeadStatus")]
        taxes.append(tax)
    if not taxes:
        raise ReceiptError("CEB818 至少需要一个税单状态", "CEB818 needs at least one tax bill status")
    message.children[spec.body.name] = taxes
    return message


# --------------------------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class ReceiptView:
    """What one return node says, ready to act on.

    `keys` holds the business fields present (wire text, without guid and the return fields); `extra`
    the elements the schema does not define. For CEB816/818 `status` is the tax bill status and
    `status_info` its meaning; `info` is parsed from CEB816 ``note``. `node` is the node itself, `lines`
    the CEB816 TaxListRd lines.
    """

    receipt: str
    node_name: str
    guid: str
    keys: dict[str, str]
    status: str
    status_info: StatusInfo | None
    info: ReturnInfo
    time: datetime | None
    extra: dict[str, str]
    node: Node = field(compare=False, repr=False)
    lines: tuple[Node, ...] = field(default=(), compare=False, repr=False)

    @property
    def is_error(self) -> bool:
        """A negative returnStatus: customs refused to process the document."""
        return self.status_info is not None and self.status_info.is_error

    @property
    def is_final(self) -> bool:
        """The customs decision on the document is made (see `cbec.ceb.return_status`)."""
        return self.status_info is not None and self.status_info.is_final(self.receipt)

    @property
    def ori_cop_msg_id(self) -> str | None:
        """CEB900: the CopMsgId of the DxpMsg that failed the format check."""
        return self.keys.get("oriCopMsgId")

    @property
    def ori_message_type(self) -> str | None:
        """CEB900: the message type that failed (``CEB311Message`` …, ``Unknown``)."""
        return self.keys.get("oriMessageType")


def _text(value: Value | None) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else format_value(value)


def _view(code: str, node: Node, lines: tuple[Node, ...] = ()) -> ReceiptView:
    values = node.values
    tax = code in ("CEB816", "CEB818")
    status = _text(values.get("status" if tax else "returnStatus"))
    skip = {"guid", "returnTime", "status"} if tax else {"guid", *RETURN_FIELDS}
    if code == "CEB816":
        skip.add("note")
    keys = {name: _text(value) for name, value in values.items() if name not in skip}
    info_text = _text(values.get("note" if code == "CEB816" else "returnInfo"))
    extra: dict[str, str] = {}
    for name, text in node.extra:
        extra.setdefault(name, text)
    return ReceiptView(
        receipt=code,
        node_name=node.spec.name,
        guid=_text(values.get("guid")),
        keys=keys,
        status=status,
        status_info=tax_status_info(status) if tax else status_info(status),
        info=parse_return_info(info_text),
        time=parse_return_time(_text(values.get("returnTime"))),
        extra=extra,
        node=node,
        lines=lines,
    )


def read_receipts(message: Message) -> list[ReceiptView]:
    """One view per return node of a receipt (3x2/4x2/5x2/6x2/7x2/2x4), CEB816, CEB818 or CEB900."""
    code = message.code
    if code in ("CEB816", "CEB818"):
        head_name = "TaxHeadRd" if code == "CEB816" else "TaxHeadStatus"
        views = []
        for tax in message.documents:
            lines = tuple(tax.children.get("TaxListRd", ()))
            for head in tax.children.get(head_name, ()):
                views.append(_view(code, head, lines))
        return views
    if code in RECEIPT_CODES or code == "CEB900":
        return [_view(code, node) for node in message.documents]
    raise ReceiptError(
        f"{code}（{message.type.name_zh}）不是回执报文",
        f"{code} ({message.type.name_en}) is not a receipt message",
    )
