"""The cached/specialised paths of render, node_to_json and receipt building against the generic code
they replaced (kept below, verbatim, as the reference): the outputs must be byte-identical, including
values that need escaping, unknown elements, signatures, ExtendMessage blocks, and the errors."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.strategies import field_values, messages, strings

from cbec.ceb import jsonform, receipts
from cbec.ceb.catalogue.messages import NAMESPACE
from cbec.ceb.catalogue.spec import (
    ChildSpec,
    FieldSpec,
    NodeSpec,
    all_message_specs,
    iter_nodes,
    message_spec,
)
from cbec.ceb.check import check, value_ok
from cbec.ceb.dxp import CST
from cbec.ceb.errors import CebError
from cbec.ceb.examples import ceb311, ceb621, ceb622, list_621, order_311
from cbec.ceb.model import Message, Node, Value
from cbec.ceb.parse import _decimal_fits, convert, parse, parse_checked
from cbec.ceb.receipts import (
    RETURN_FIELDS,
    ReceiptError,
    build_return,
    document_keys,
    fit_return_info,
    format_return_time,
    receipt_message,
    status_info,
    status_problem,
    statuses_for,
)
from cbec.ceb.render import format_value, render

# ------------------------------------------------------------------------------ reference implementations

_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTR_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#9;"}
)


def reference_render(
    message: Message, *, pretty: bool = True, declaration: bool = True, include_unknown: bool = True
) -> bytes:
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
    _reference_items(message, message.spec, 1 if pretty else 0, pretty, include_unknown, out)
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


def _reference_items(
    node: Node, spec: NodeSpec, depth: int, pretty: bool, include_unknown: bool, out: list[str]
) -> None:
    pad = "  " * depth if pretty else ""
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
                _reference_items(child, child.spec, depth + 1 if pretty else 0, pretty, include_unknown, out)
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


def reference_node_to_json(node: Node, spec: NodeSpec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    values = node.values
    for item in spec.items:
        if isinstance(item, FieldSpec):
            value = values.get(item.name)
            if value is not None:
                out[item.name] = (
                    value if isinstance(value, int) and not isinstance(value, bool) else format_value(value)
                )
        elif isinstance(item, ChildSpec):
            nodes = node.children.get(item.name)
            if not nodes:
                continue
            converted = [reference_node_to_json(child, child.spec) for child in nodes]
            out[item.name] = converted if item.repeated or len(converted) > 1 else converted[0]
        elif isinstance(node, Message):
            if item.kind == "extend" and node.extend is not None:
                ext = node.extend
                out["ExtendMessage"] = {
                    "name": ext.name,
                    "version": ext.version,
                    "Message": None if ext.message is None else ext.message.decode("utf-8"),
                }
            elif item.kind == "signature" and node.signature is not None:
                out["Signature"] = node.signature.decode("utf-8")
    if node.extra:
        out[jsonform.EXTRA_KEY] = [[name, text] for name, text in node.extra]
    return out


def reference_fill(node_spec: NodeSpec, values: dict[str, Value | None], where: str) -> Node:
    """receipts._fill before it got its inline fast paths."""
    node = Node(node_spec)
    problems: list[tuple[str, str]] = []
    for name, value in values.items():
        spec = node_spec.fields.get(name)
        if spec is None:
            problems.append((f"{node_spec.name} 没有字段 {name}", f"{node_spec.name} has no field {name!r}"))
            continue
        if value is None or (value == "" and not spec.required):
            continue
        node.values[name] = receipts._as_field_value(spec, value)
    for spec in node_spec.fields.values():
        value = node.values.get(spec.name)
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
        problem = receipts._value_problem(spec, value)
        if problem:
            problems.append(problem)
    if problems:
        raise ReceiptError(
            f"无法生成 {where}：" + "；".join(p[0] for p in problems),
            f"cannot build {where}: " + "; ".join(p[1] for p in problems),
        )
    return node


def reference_build_return(
    receipt_code: str,
    document_keys: dict[str, Value | None],
    status: str | int,
    info: str,
    time: datetime | None = None,
    *,
    any_status: bool = False,
) -> Node:
    """receipts.build_return before it used a per-type plan and a status cache."""
    body = receipts._receipt_body(receipt_code)
    code = message_spec(receipt_code).code
    clash = [k for k in document_keys if k in RETURN_FIELDS]
    if clash:
        raise ReceiptError(
            f"业务字段中不应包含 {', '.join(clash)}（由 status/info/time 参数给出）",
            f"the business keys must not contain {', '.join(clash)} (given by status/info/time)",
        )
    status_text = str(status).strip()
    problem = status_problem(code, status_text)
    if problem is not None and (not any_status or not re.fullmatch(r"-?[0-9]+", status_text)):
        raise ReceiptError(problem[0], problem[1])
    info_spec = body.fields["returnInfo"]
    limit = info_spec.max_length or 1000
    text = fit_return_info(info, limit)
    if not text.strip() and info_spec.min_length:
        known = status_info(status_text)
        text = known.zh if known is not None else status_text
        text = fit_return_info(text, limit)
    assert time is not None
    cst = time.astimezone(CST)
    values: dict[str, Value | None] = dict(document_keys)
    values.update(
        returnStatus=status_text,
        returnTime=cst.strftime("%Y%m%d%H%M%S") + f"{cst.microsecond // 1000:03d}",
        returnInfo=text,
    )
    return reference_fill(body, values, f"{code} {body.name}")


# ---------------------------------------------------------------------------------------------- helpers

CODES = sorted(m.code for m in all_message_specs())
RECEIPT_CODES = sorted(
    m.code for m in all_message_specs() if "returnStatus" in m.body.node.fields and m.code not in ("CEB816",)
)
#: values that exercise escaping and the fast tests: markup characters, CR, quotes, CJK, empty
TRICKY = st.sampled_from(
    ["a&b", "<x>", "1 > 0", "line\r\nnext", 'say "hi"', "tab\there", "中国&海关", "", " ", "&amp;", "]]>"]
)
UNKNOWN_NAMES = st.sampled_from(["note2", "orderNoX", "x.y", "_z"])


def _outputs(fn: Any, *args: Any, **kwargs: Any) -> tuple[str, Any]:
    """('ok', result) or ('error', type and text): both paths must fail alike as well."""
    try:
        return ("ok", fn(*args, **kwargs))
    except Exception as exc:
        return ("error", (type(exc), str(exc)))


def _sprinkle(data: st.DataObject, node: Node) -> None:
    """Put tricky text into some string fields and unknown elements, recursively."""
    for name, spec in node.spec.fields.items():
        if spec.type == "string" and data.draw(st.integers(0, 4)) == 0:
            node.values[name] = data.draw(TRICKY)
    if data.draw(st.booleans()):
        node.extra.append((data.draw(UNKNOWN_NAMES), data.draw(TRICKY)))
    for children in node.children.values():
        for child in children:
            _sprinkle(data, child)


# ------------------------------------------------------------------------------------------------ render


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), code=st.sampled_from(CODES), pretty=st.booleans(), unknown=st.booleans())
def test_render_matches_the_generic_renderer(
    data: st.DataObject, code: str, pretty: bool, unknown: bool
) -> None:
    message = data.draw(messages(code), label="message")
    if data.draw(st.booleans()):
        _sprinkle(data, message)
    if data.draw(st.booleans()):
        message.guid = data.draw(TRICKY)
        message.version = data.draw(st.sampled_from(['1."0', "1\t0", "1.0"]))
    for declaration in (True, False):
        options = {"pretty": pretty, "declaration": declaration, "include_unknown": unknown}
        assert render(message, **options) == reference_render(message, **options)


@pytest.mark.parametrize("bad", ["\x00", "\x07", "a\x1fb", "\ufffe"])
def test_render_refuses_control_characters_like_the_generic_renderer(bad: str) -> None:
    message = ceb311()
    message.documents[0].children["OrderHead"][0].values["note"] = bad
    assert _outputs(render, message)[0] == "error"
    assert _outputs(render, message) == _outputs(reference_render, message)


def test_render_of_unusual_values_matches() -> None:
    """Typed values a caller may put into a model by hand: ints in string fields, negative and exponent
    decimals, raw text in a decimal field (as parsing keeps it)."""
    message = ceb621()
    head = message.documents[0].children["InventoryHead"][0]
    line = message.documents[0].children["InventoryList"][0]
    for value in (Decimal("-1.50"), Decimal("1E+3"), Decimal("0.000"), 7, "12,5", "<1>"):
        line.values["price"] = value
        head.values["note"] = value if not isinstance(value, Decimal) else "x"
        for pretty in (True, False):
            assert render(message, pretty=pretty) == reference_render(message, pretty=pretty)
    line.values["price"] = 1.5  # type: ignore[assignment]  # a float never belongs in a model
    assert _outputs(render, message)[0] == "error"
    assert type(_outputs(render, message)[1][0]) is type(_outputs(reference_render, message)[1][0])


def test_render_of_examples_matches() -> None:
    for message in (order_311(3), list_621(5), ceb311(), ceb621(), ceb622()):
        for pretty in (True, False):
            assert render(message, pretty=pretty) == reference_render(message, pretty=pretty)


# ------------------------------------------------------------------------------------------ node_to_json


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), code=st.sampled_from(CODES))
def test_node_to_json_matches_the_generic_walk(data: st.DataObject, code: str) -> None:
    message = data.draw(messages(code), label="message")
    if data.draw(st.booleans()):
        _sprinkle(data, message)
    for document in message.documents:
        got = jsonform.node_to_json(document)
        want = reference_node_to_json(document, document.spec)
        assert got == want
        assert list(got) == list(want)  # key order is part of the stored JSON text
    body: dict[str, Any] = {"guid": message.guid, "version": message.version}
    body.update(reference_node_to_json(message, message.spec))
    assert jsonform.dumps(message) == __import__("json").dumps(
        {message.spec.name: body}, ensure_ascii=False, indent=2
    )


def test_node_to_json_types_values_as_before() -> None:
    node = Node(message_spec("CEB621").body.node.children["InventoryList"].node)
    for value in ("1.50", Decimal("1.50"), Decimal("-0E-3"), 3, True, "x&y"):
        node.values["price"] = value
        got, want = jsonform.node_to_json(node), reference_node_to_json(node, node.spec)
        assert got == want and type(got["price"]) is type(want["price"])


# ------------------------------------------------------------------------------------------------ receipts


def _key_values(data: st.DataObject, body: NodeSpec) -> dict[str, Value | None]:
    keys: dict[str, Value | None] = {}
    for name, spec in body.fields.items():
        if name in RETURN_FIELDS:
            continue
        choice = data.draw(st.integers(0, 9))
        if choice == 0:
            continue  # left out (a required one: refused alike)
        if choice == 1:
            keys[name] = data.draw(TRICKY)  # may be too short / not a number: refused alike
        elif choice == 2:
            keys[name] = None
        else:
            keys[name] = data.draw(field_values(spec))
    return keys


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), code=st.sampled_from(RECEIPT_CODES))
def test_build_return_and_render_match_the_generic_path(data: st.DataObject, code: str) -> None:
    body = message_spec(code).body.node
    keys = _key_values(data, body)
    listed = [s.code for s in statuses_for(code)] or ["-1"]
    status = data.draw(st.sampled_from([*listed, "-301001", "7", "abc"]))
    info = data.draw(st.one_of(TRICKY, strings(0, 1200)))
    moment = datetime(2026, 11, 11, 8, 30, 0, 123456, tzinfo=UTC) + timedelta(
        milliseconds=data.draw(st.integers(0, 10**9))
    )
    any_status = data.draw(st.booleans())
    for _ in range(2):  # the second time from the status and time caches
        got = _outputs(build_return, code, keys, status, info, moment, any_status=any_status)
        want = _outputs(reference_build_return, code, keys, status, info, moment, any_status=any_status)
        if got[0] == "error":
            assert got == want  # same exception type, same words
            continue
        assert want[0] == "ok"
        node = got[1]
        assert node == want[1] and list(node.values.items()) == list(want[1].values.items())
        message = receipt_message(code, [node])
        assert render(message) == reference_render(message)
        assert render(message, pretty=False) == reference_render(message, pretty=False)


@pytest.mark.parametrize("code", RECEIPT_CODES)
def test_document_keys_match_the_generic_lookup(code: str) -> None:
    body = message_spec(code).body.node
    for message in (ceb311(), ceb621()):
        for document in message.documents:
            head = receipts._head(document)
            want = {}
            for name in body.fields:
                if name in RETURN_FIELDS:
                    continue
                value = head.values.get(name)
                if value is None:
                    value = document.values.get(name)
                if value is not None and value != "":
                    want[name] = value
            got = document_keys(document, code)
            assert got == want and list(got) == list(want)


def test_plan_refuses_what_the_generic_path_refused() -> None:
    with pytest.raises(ReceiptError):
        build_return("CEB621", {}, "2", "x")  # not a receipt
    with pytest.raises(KeyError):
        build_return("CEB999", {}, "2", "x")
    with pytest.raises(ReceiptError):
        build_return("CEB622", {"returnStatus": "1"}, "2", "x")
    message = receipt_message("621", [Node(message_spec("CEB621").body.node)])  # allowed before, too
    assert message.code == "CEB621"


def test_same_plan_for_every_spelling_of_a_code() -> None:
    doc = ceb311().documents[0]
    for code in ("CEB312", "312", "CEB312Message", " ceb312 "):
        node = build_return(code, document_keys(doc, code), "2", "ok", datetime(2026, 1, 1, tzinfo=CST))
        assert node.spec is message_spec("CEB312").body.node


def test_status_cache_keeps_refusing_invalid_statuses() -> None:
    keys = document_keys(ceb311().documents[0], "CEB312")
    moment = datetime(2026, 1, 1, tzinfo=CST)
    for _ in range(2):
        with pytest.raises(ReceiptError):
            build_return("CEB312", keys, "800", "x", moment)  # 800 is a list status
        assert (
            build_return("CEB312", keys, "800", "x", moment, any_status=True).values["returnStatus"] == "800"
        )
        with pytest.raises(ReceiptError):
            build_return("CEB312", keys, "abc", "x", moment, any_status=True)


def test_return_time_cache_follows_the_moment() -> None:
    plus8 = timezone(timedelta(hours=8))
    base = datetime(2026, 3, 1, 23, 59, 59, 999999, tzinfo=UTC)
    moments = [
        base,
        base,
        base.astimezone(plus8),
        base + timedelta(microseconds=1),
        base,
        base.astimezone(CST),
    ]
    moments += [datetime(2026, 11, 11, 0, 0, tzinfo=timezone(timedelta(hours=h))) for h in (-5, 0, 8, 8, 9)]
    for moment in moments:
        cst = moment.astimezone(CST)
        assert format_return_time(moment) == cst.strftime("%Y%m%d%H%M%S") + f"{cst.microsecond // 1000:03d}"


def test_fresh_guid_is_an_upper_case_version_4_uuid() -> None:
    seen = set()
    for _ in range(2000):
        guid = receipts.fresh_guid()
        parsed = uuid.UUID(guid)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
        assert str(parsed).upper() == guid and len(guid) == 36
        seen.add(guid)
    assert len(seen) == 2000
    keys = document_keys(ceb311().documents[0], "CEB312")
    assert len(receipt_message("CEB312", [build_return("CEB312", keys, "2", "x")]).guid) == 36


# ------------------------------------------------------------------------------------------------ parsing

DECIMAL_FIELDS = sorted(
    {
        (node.key, f.name): f
        for m in all_message_specs()
        for node in iter_nodes(m.root)
        for f in node.fields.values()
        if f.type == "decimal"
    }.items()
)
DECIMAL_TEXT = st.from_regex(
    r"[ \t]?[+-]?(?:[0-9]{0,21}(?:\.[0-9]{0,7})?|\.[0-9]{1,7})[ \t]?", fullmatch=True
)


@settings(max_examples=400, deadline=None)
@given(entry=st.sampled_from(DECIMAL_FIELDS), text=DECIMAL_TEXT)
def test_decimal_shortcut_only_passes_what_value_ok_passes(entry: tuple[Any, FieldSpec], text: str) -> None:
    field = entry[1]
    value = convert(field, text)
    if not isinstance(value, Decimal):
        return  # not a decimal: the shortcut is not asked
    if _decimal_fits(field, text):
        assert value_ok(field, value)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), code=st.sampled_from(["CEB311", "CEB411", "CEB511", "CEB621", "CEB622", "CEB816"]))
def test_parse_checked_reports_what_check_of_parse_reports(data: st.DataObject, code: str) -> None:
    """The one-pass path (with its shortcuts) against the two-pass one, with odd decimals and gaps."""
    message = data.draw(messages(code), label="message")

    def mutate(node: Node) -> None:
        for name, spec in node.spec.fields.items():
            roll = data.draw(st.integers(0, 6))
            if spec.type == "decimal" and roll < 3:
                node.values[name] = data.draw(DECIMAL_TEXT)  # rendered as written
            elif roll == 0 and name in node.values:
                del node.values[name]
        for children in node.children.values():
            for child in children:
                mutate(child)

    mutate(message)
    xml = render(message, pretty=data.draw(st.booleans()))
    one_pass, problems = parse_checked(xml)
    assert problems == check(parse(xml))
    assert one_pass == parse(xml)
