"""Check a parsed message against the 202205 catalogue and the spec's business rules; report every problem.

Two layers: structural checks driven by the catalogue (presence, length, digits, formats, code lists,
occurrence) and per-message business rules (`cbec.ceb.rules`). Nothing stops at the first problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from cbec.ceb.catalogue.codes import DATE8, DATETIME14, DATETIME17
from cbec.ceb.catalogue.spec import FieldSpec, NodeSpec
from cbec.ceb.model import Message, Node, Value
from cbec.ceb.problems import FIELD_CHECK_CODE, NO_LINES_CODE, SCHEMA_CODE, Problem, Severity

Edition = Literal["lenient", "202205"]


@dataclass(frozen=True, slots=True)
class CheckOptions:
    """How strict to be. `edition='lenient'` accepts 2018-edition lengths and fields with a warning."""

    edition: Edition = "lenient"
    #: tolerance for `totalPrice = price × qty` and the order amount formula (customs compares in fen)
    amount_tolerance: Decimal = Decimal("0.01")
    #: report ID-card checksum problems (warning level: the spec does not state the rule)
    id_checksum: bool = True


DEFAULT_OPTIONS = CheckOptions()


class Context:
    """Collects problems for one message; knows which official code fits a field problem."""

    __slots__ = ("code", "code_severity", "field_code", "options", "problems")

    def __init__(self, message: Message, options: CheckOptions) -> None:
        self.code = message.code
        self.field_code = FIELD_CHECK_CODE.get(self.code, SCHEMA_CODE)
        self.options = options
        self.problems: list[Problem] = []
        # What customs sends us is reported, not refused: an unexpected code there is a warning.
        self.code_severity: Severity = "error" if message.type.kind == "declaration" else "warning"

    def add(
        self, path: str, rule: str, zh: str, en: str, *, code: str | None = None, severity: Severity = "error"
    ) -> None:
        self.problems.append(Problem(code or self.field_code, path, severity, rule, zh, en))


def check(message: Message, options: CheckOptions = DEFAULT_OPTIONS) -> list[Problem]:
    """Every problem in `message`: parse notes, structure, then business rules."""
    ctx = Context(message, options)
    check_node(message, message.spec, "", ctx)
    return finish(message, ctx)


def finish(message: Message, ctx: Context) -> list[Problem]:
    """Complete a check whose structural part is in `ctx`: parse notes first, then root, structure,
    signature and business rules. `parse.parse_checked` does the structural part while it parses."""
    from cbec.ceb import rules  # rules import this module's Context

    structure = ctx.problems
    ctx.problems = list(message.parse_notes)
    _root(message, ctx)
    ctx.problems.extend(structure)
    _signature(message, ctx)
    rules.apply(message, ctx)
    return ctx.problems


def _root(message: Message, ctx: Context) -> None:
    if len(message.guid) != 36:
        ctx.add(
            "@guid",
            "length",
            "报文 guid 应为36位",
            "the message guid must be 36 characters",
            code=SCHEMA_CODE,
        )
    if not 1 <= len(message.version) <= 10:
        ctx.add(
            "@version",
            "length",
            "报文版本号应为1至10位",
            "the message version must be 1 to 10 characters",
            code=SCHEMA_CODE,
        )


def _signature(message: Message, ctx: Context) -> None:
    slot = message.mspec.signature_slot
    if slot is None or message.signature is not None:
        return
    mtype = message.type
    if slot.min_occurs > 0:
        ctx.add(
            "Signature",
            "signature_required",
            f"{mtype.code} 必须包含签名节点 ds:Signature",
            f"{mtype.code} must carry a ds:Signature element",
        )
    elif mtype.signature_spec == "required":
        ctx.add(
            "Signature",
            "signature_required",
            f"规范要求 {mtype.code} 加签（XSD 未强制）",
            f"the spec requires {mtype.code} to be signed (the XSD does not enforce it)",
            severity="warning",
        )


def check_node(node: Node, spec: NodeSpec, path: str, ctx: Context) -> None:
    """Structural checks of one node and, recursively, its children."""
    prefix = f"{path}/" if path else ""
    fields = spec.fields
    for name, value in node.values.items():
        field = fields[name]
        if not value_ok(field, value):
            check_value(field, value, prefix + name, ctx)
    for name, child in spec.children.items():
        nodes = node.children.get(name, ())
        if child.repeated:
            for i, sub in enumerate(nodes, 1):
                check_node(sub, child.node, f"{prefix}{name}[{i}]", ctx)
        else:
            for sub in nodes:
                check_node(sub, child.node, prefix + name, ctx)
    check_structure(node, spec, prefix, ctx)


def value_ok(field: FieldSpec, value: Value) -> bool:
    """The fast path: True when a value certainly passes `check_value` (most values do)."""
    kind = type(value)
    if kind is str:
        fast = field.fast_range
        if fast is not None:
            return fast[0] <= len(value) <= fast[1]  # type: ignore[arg-type]
        allowed = field.fast_codes
        return allowed is not None and value in allowed
    if kind is Decimal:
        if field.total_digits is None or field.fraction_digits is None:
            return False
        sign, digits, exponent = value.as_tuple()  # type: ignore[union-attr]
        return (
            not sign
            and type(exponent) is int
            and exponent >= -field.fraction_digits
            and len(digits) + max(exponent, 0) <= field.total_digits
        )
    if kind is int and field.type == "int":
        return field.total_digits is None or len(str(abs(value))) <= field.total_digits  # type: ignore[arg-type]
    return False


def check_structure(node: Node, spec: NodeSpec, prefix: str, ctx: Context) -> None:
    """Missing required fields and child occurrence of one node (its values are checked elsewhere)."""
    values = node.values
    if not values.keys() >= spec.required:  # no set is built when nothing is missing (the usual case)
        fields = spec.fields
        for name in sorted(spec.required.difference(values), key=spec.order.__getitem__):
            _missing(fields[name], prefix + name, ctx)
    children = node.children
    for name, child in spec.children.items():
        nodes = children.get(name)
        count = len(nodes) if nodes else 0
        if count < child.min_occurs and (ctx.code, name) not in NO_LINES_CODE:
            ctx.add(
                prefix + name,
                "required_node",
                f"缺少必填节点 {name}（{child.node.zh}）",
                f"required node {name} ({child.node.en}) is missing",
            )
        elif child.max_occurs is not None and count > child.max_occurs:
            ctx.add(
                prefix + name,
                "max_occurs",
                f"节点 {name} 出现 {count} 次，最多 {child.max_occurs} 次",
                f"node {name} occurs {count} times, at most {child.max_occurs} allowed",
            )


def _missing(field: FieldSpec, path: str, ctx: Context) -> None:
    if field.new_in_202205 and ctx.options.edition == "lenient":
        ctx.add(
            path,
            "required",
            f"缺少字段 {field.name}（{field.zh}）：202205版必填，2018版无此字段",
            f"field {field.name} ({field.en}) is missing: required since the 202205 edition, absent in 2018",
            severity="warning",
        )
        return
    ctx.add(
        path,
        "required",
        f"缺少必填字段 {field.name}（{field.zh}）",
        f"required field {field.name} ({field.en}) is missing",
    )


def check_value(field: FieldSpec, value: Value, path: str, ctx: Context) -> None:
    """Type, length, digits, format and code list of one present value."""
    if field.type == "string":
        assert isinstance(value, str)
        _string(field, value, path, ctx)
    elif field.type == "decimal":
        if isinstance(value, str):
            ctx.add(
                path,
                "decimal",
                f"{field.zh}（{field.name}）不是有效的数字：应为十进制数，如 12.50",
                f"{field.en} ({field.name}) is not a valid decimal number, e.g. 12.50",
            )
        else:
            assert isinstance(value, Decimal)
            _decimal(field, value, path, ctx)
    elif isinstance(value, str):
        ctx.add(
            path,
            "integer",
            f"{field.zh}（{field.name}）应为整数",
            f"{field.en} ({field.name}) must be an integer",
        )
    else:
        assert isinstance(value, int)
        if field.total_digits and len(str(abs(value))) > field.total_digits:
            ctx.add(
                path,
                "total_digits",
                f"{field.zh}（{field.name}）最多 {field.total_digits} 位数字",
                f"{field.en} ({field.name}) has at most {field.total_digits} digits",
            )


def _string(field: FieldSpec, value: str, path: str, ctx: Context) -> None:
    text = _XML_SPACE.sub(" ", value).strip(" ") if field.collapse else value
    n = len(text)
    if n == 0:
        if field.min_length:
            if field.required:
                ctx.add(
                    path,
                    "required",
                    f"必填字段 {field.name}（{field.zh}）为空",
                    f"required field {field.name} ({field.en}) is empty",
                )
            else:
                ctx.add(
                    path,
                    "empty",
                    f"字段 {field.name}（{field.zh}）为空：不填时应省略该元素",
                    f"field {field.name} ({field.en}) is empty: omit the element instead",
                    code=SCHEMA_CODE,
                )
        elif field.required:
            ctx.add(
                path,
                "required",
                f"必填字段 {field.name}（{field.zh}）为空",
                f"required field {field.name} ({field.en}) is empty",
                severity="warning",
            )
        return
    max_len = field.max_length
    if max_len is not None and n > max_len:
        legacy = field.max_length_2018
        if legacy is not None and n <= legacy and ctx.options.edition == "lenient":
            ctx.add(
                path,
                "max_length",
                f"{field.zh}（{field.name}）长度 {n} 超过202205版上限 {max_len}（2018版允许 {legacy}）",
                f"{field.en} ({field.name}) has {n} characters, over the 202205 limit of {max_len} "
                f"(the 2018 edition allowed {legacy})",
                severity="warning",
            )
        elif field.min_length == max_len:
            ctx.add(
                path,
                "length",
                f"{field.zh}（{field.name}）应为 {max_len} 位，实际 {n} 位",
                f"{field.en} ({field.name}) must have exactly {max_len} characters, found {n}",
            )
        else:
            ctx.add(
                path,
                "max_length",
                f"{field.zh}（{field.name}）长度 {n} 超过上限 {max_len}",
                f"{field.en} ({field.name}) has {n} characters, more than the limit of {max_len}",
            )
        return
    if field.min_length is not None and n < field.min_length:
        ctx.add(
            path,
            "length",
            f"{field.zh}（{field.name}）应为 {field.min_length} 位，实际 {n} 位"
            if field.min_length == max_len
            else f"{field.zh}（{field.name}）至少 {field.min_length} 位",
            f"{field.en} ({field.name}) must have exactly {field.min_length} characters, found {n}"
            if field.min_length == max_len
            else f"{field.en} ({field.name}) needs at least {field.min_length} characters",
        )
        return
    if field.fmt is not None and not _valid_time(field.fmt, value):
        ctx.add(
            path,
            "format",
            f"{field.zh}（{field.name}）格式应为 {field.fmt} 且为有效时间",
            f"{field.en} ({field.name}) must be a real time in the format {field.fmt}",
        )
    codes = field.codes
    if codes is not None and value not in codes.codes:
        ctx.add(
            path,
            "code",
            f"{field.zh}（{field.name}）代码 {value!r} 不在允许范围：{codes.describe()}",
            f"{field.en} ({field.name}) code {value!r} is not allowed; allowed: {', '.join(codes.codes)}",
            severity=ctx.code_severity,
        )


def digits_of(value: Decimal) -> tuple[int, int]:
    """(total digits, fraction digits) in the XSD value space: trailing zeros do not count."""
    _sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    end = len(digits)
    while end > 1 and digits[end - 1] == 0:
        end -= 1
        exponent += 1
    if end == 1 and digits[0] == 0:
        return 1, 0
    return end + max(exponent, 0), max(-exponent, 0)


def _decimal(field: FieldSpec, value: Decimal, path: str, ctx: Context) -> None:
    if not value.is_finite():
        ctx.add(
            path,
            "decimal",
            f"{field.zh}（{field.name}）不是有限数",
            f"{field.en} ({field.name}) is not finite",
        )
        return
    total, frac = digits_of(value)
    if field.fraction_digits is not None and frac > field.fraction_digits:
        ctx.add(
            path,
            "fraction_digits",
            f"{field.zh}（{field.name}）最多 {field.fraction_digits} 位小数，实际 {frac} 位",
            f"{field.en} ({field.name}) allows {field.fraction_digits} decimal places, found {frac}",
        )
    if field.total_digits is not None and total > field.total_digits:
        ctx.add(
            path,
            "total_digits",
            f"{field.zh}（{field.name}）最多 {field.total_digits} 位有效数字",
            f"{field.en} ({field.name}) allows at most {field.total_digits} digits",
        )
    if value < 0:
        ctx.add(
            path,
            "negative",
            f"{field.zh}（{field.name}）不能为负数",
            f"{field.en} ({field.name}) must not be negative",
        )


#: XML whitespace only (space, tab, CR, LF): the XSD `collapse` facet leaves U+3000 and U+00A0 alone.
_XML_SPACE = re.compile("[ \t\r\n]+")

_TIME_DIGITS = {
    DATE8: re.compile(r"[0-9]{8}\Z"),
    DATETIME14: re.compile(r"[0-9]{14}\Z"),
    DATETIME17: re.compile(r"[0-9]{17}\Z"),
}


def _valid_time(fmt: str, value: str) -> bool:
    if not _TIME_DIGITS[fmt].match(value):
        return False
    try:
        if fmt == DATE8:
            date(int(value[:4]), int(value[4:6]), int(value[6:8]))
        else:
            datetime(
                int(value[:4]),
                int(value[4:6]),
                int(value[6:8]),
                int(value[8:10]),
                int(value[10:12]),
                int(value[12:14]),
            )
    except ValueError:
        return False
    return True
