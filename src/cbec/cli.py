"""The ``cbec`` command line: validate, convert, sign, verify, envelope and look up CEB messages.

Built for enterprise staff and their scripts, so the behaviour is fixed:

* exit 0: done, and for ``validate``/``verify`` everything checked is valid;
* exit 1: ``validate`` found an error-level problem in some file (a file that cannot be read or parsed is
  such a problem, reported with its code), or ``verify`` found the signature invalid;
* exit 2: the command could not do its work (wrong options, a missing or unreadable file, input that is not
  a message, an unusable key or XSD folder). The reason goes to stderr in 中文 and English with its code.

Inputs are recognised by content, not by name: a file whose first non-space character is ``{`` is the JSON
form (`cbec.ceb.jsonform`), anything else is XML, a DxpMsg envelope being opened automatically. Problem
texts never quote values of personal fields; nothing here adds values to them.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import Enum, StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from lxml import etree
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cbec import __version__
from cbec.ceb import dxp, jsonform
from cbec.ceb.catalogue.messages import MESSAGE_TYPES, MessageType
from cbec.ceb.catalogue.spec import ChildSpec, FieldSpec, NodeSpec, message_spec
from cbec.ceb.check import CheckOptions, check
from cbec.ceb.errors import CebError, UnknownMessage
from cbec.ceb.model import Message
from cbec.ceb.parse import parse
from cbec.ceb.problems import Problem, has_errors
from cbec.ceb.render import render
from cbec.ceb.xmlsafe import DEFAULT_MAX_BYTES, parse_xml, read_source
from cbec.ceb.xsd import Schemas, load_schemas
from cbec.cli_errors import fail as _fail

if TYPE_CHECKING:  # signing is imported when used, so the other commands never depend on it
    from cbec.ceb.sign import VerifyResult

_JSON_START = re.compile(rb"(?:\xef\xbb\xbf)?\s*\{")

EXIT_OK = 0
#: something checked is not valid
EXIT_INVALID = 1
#: the command could not run: usage, unreadable input, not a message, unusable key or schema

#: Width used when output goes to a pipe or file, so long paths and texts stay on one line for grep.
PIPE_WIDTH = 200

app = typer.Typer(
    name="cbec",
    help="跨境电商线上综合服务平台：报文校验、转换、加签验签、DxpMsg、进口通关、模拟。 "
    "The cross-border e-commerce platform: the CEB message standard (validate, convert, sign, verify, "
    "DxpMsg, catalogue), import clearance (ingest, quota, show, review, settle, expire) and the simulator.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
dxp_app = typer.Typer(
    help="DxpMsg 信封（终端节点报文）封装与拆封。 Wrap and unwrap the DxpMsg envelope.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(dxp_app, name="dxp")


class InputError(CebError):
    """A file named on the command line cannot be read."""

    code = "CBEC-0002"


class OutputFormat(StrEnum):
    json = "json"
    xml = "xml"


class SignAlgorithm(StrEnum):
    rsa_sha1 = "rsa-sha1"
    sm2_sm3 = "sm2-sm3"
    sm2_sha1 = "sm2-sha1"


_OUTPUT_HELP = "输出文件（默认标准输出）。 Output file (default: stdout)."
_JSON_HELP = "输出 JSON。 Print JSON."
OutputOption = Annotated[Path | None, typer.Option("-o", "--output", metavar="OUT", help=_OUTPUT_HELP)]
JsonOption = Annotated[bool, typer.Option("--json", help=_JSON_HELP)]


def _file_argument(help_text: str) -> Any:
    return typer.Argument(metavar="FILE", help=help_text)


# --------------------------------------------------------------------------------------------- plumbing


def _console() -> Console:
    """Rich console on stdout; wide when piped so paths are never cut (Rich would assume 80 columns)."""
    stream = sys.stdout
    return Console(
        file=stream, width=None if stream.isatty() else PIPE_WIDTH, highlight=False, soft_wrap=False
    )


@contextmanager
def _user_errors() -> Iterator[None]:
    """Errors a user can cause become a two-language message and exit code 2, never a traceback."""
    try:
        yield
    except CebError as exc:
        _fail(exc.code, exc.zh, exc.en)


def _read(path: Path) -> bytes:
    """Bytes of an input file, size-capped like every other intake."""
    if not path.exists():
        raise InputError(f"文件不存在：{path}", f"file not found: {path}")
    if path.is_dir():
        raise InputError(f"{path} 是目录，不是文件", f"{path} is a folder, not a file")
    try:
        return read_source(path, max_bytes=DEFAULT_MAX_BYTES)
    except OSError as exc:
        raise InputError(
            f"无法读取文件 {path}：{exc.strerror}", f"cannot read file {path}: {exc.strerror}"
        ) from exc


def _is_json(data: bytes) -> bool:
    """The JSON form starts with ``{``; XML (or a DxpMsg) never does."""
    return _JSON_START.match(data) is not None


@dataclasses.dataclass(frozen=True)
class Loaded:
    """A message read from a file, with the business XML root as received (None for the JSON form)."""

    message: Message
    root: etree._Element | None


def _load(path: Path) -> Loaded:
    data = _read(path)
    if _is_json(data):
        return Loaded(jsonform.from_json(data), None)
    root = parse_xml(data)
    if dxp.is_dxp(root):
        root = parse_xml(dxp.unwrap(data).data)
    return Loaded(parse(root), root)


def _business_xml(path: Path) -> bytes:
    """The business message of a file as XML bytes: kept as given for XML, rendered for the JSON form."""
    data = _read(path)
    if _is_json(data):
        return render(jsonform.from_json(data))
    root = parse_xml(data)
    if dxp.is_dxp(root):
        raise InputError(
            f"{path} 是 DxpMsg 信封：请先用 cbec dxp unwrap 取出业务报文",
            f"{path} is a DxpMsg envelope: take the business message out with cbec dxp unwrap first",
        )
    parse(root)  # refuses anything that is not a CEB message, with the parser's own reason
    return data


def _write(output: Path | None, data: bytes) -> None:
    if output is None:
        stream = typer.get_binary_stream("stdout")
        stream.write(data)
        stream.flush()
        return
    try:
        output.write_bytes(data)
    except OSError as exc:
        raise InputError(
            f"无法写入文件 {output}：{exc.strerror}", f"cannot write file {output}: {exc.strerror}"
        ) from exc


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2, default=_json_default))


def _json_default(value: object) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    return str(value)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cbec {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="显示版本。 Show the version and exit."
        ),
    ] = False,
) -> None:
    """跨境电商线上综合服务平台。 The cross-border e-commerce comprehensive service platform."""


# --------------------------------------------------------------------------------------------- validate

_SEVERITY = {"error": ("错误 error", "bold red"), "warning": ("警告 warning", "yellow")}


def _validate_one(
    path: Path, options: CheckOptions, schemas: Schemas | None
) -> tuple[MessageType | None, list[Problem]]:
    """The problems of one file; a file that cannot be read or parsed is itself one error-level problem."""
    try:
        loaded = _load(path)
    except CebError as exc:
        return None, [Problem(exc.code, getattr(exc, "path", ""), "error", "input", exc.zh, exc.en)]
    msg = loaded.message
    problems = check(msg, options)
    if schemas is not None:
        try:
            # XML is validated as received (its line numbers); the JSON form as rendered by cbec.
            root = loaded.root if loaded.root is not None else parse_xml(render(msg))
            problems.extend(schemas.validate(root, msg.type))
        except CebError as exc:
            problems.append(Problem(exc.code, "", "error", "xsd", exc.zh, exc.en))
    return msg.type, problems


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(metavar="FILE", help="XML、DxpMsg 或 JSON 报文。 Messages.")],
    as_json: JsonOption = False,
    xsd: Annotated[
        Path | None,
        typer.Option(
            "--xsd",
            metavar="DIR",
            help="另用官方 XSD 校验（含进口/出口业务节点报文 XSD 的目录）。 "
            "Also validate against the official XSDs in DIR.",
        ),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="按 202205 版严格校验。 Apply the 202205 edition strictly.")
    ] = False,
) -> None:
    """校验报文：退出码 0 无错误，1 有错误。 Check messages; exit 0 when no file has an error, 1 otherwise."""
    options = CheckOptions(edition="202205") if strict else CheckOptions()
    schemas = None
    if xsd is not None:
        with _user_errors():
            schemas = load_schemas(xsd)
    results: list[dict[str, Any]] = []
    for path in files:
        mtype, problems = _validate_one(path, options, schemas)
        results.append(
            {
                "file": str(path),
                "message_type": mtype.code if mtype else None,
                "valid": not has_errors(problems),
                "problems": [p.as_dict() for p in problems],
            }
        )
        if not as_json:
            _print_file_report(path, mtype, problems)
    if as_json:
        _print_json(results)
    else:
        _print_summary(results)
    raise typer.Exit(EXIT_OK if all(r["valid"] for r in results) else EXIT_INVALID)


def _print_file_report(path: Path, mtype: MessageType | None, problems: list[Problem]) -> None:
    console = _console()
    kind = f"{mtype.code} {mtype.name_zh} / {mtype.name_en}" if mtype else "未识别 / not recognised"
    errors = sum(p.severity == "error" for p in problems)
    if not errors:
        verdict = Text("通过 / valid", style="bold green")
    else:
        verdict = Text("未通过 / invalid", style="bold red")
    console.print(Text.assemble((str(path), "bold"), f"  {kind}  ", verdict))
    if not problems:
        return
    longest = max(len(p.path) for p in problems)
    table = Table(show_lines=False, expand=False)
    table.add_column("级别 Severity", no_wrap=True)
    table.add_column("代码 Code", no_wrap=True)
    table.add_column("位置 Path", no_wrap=True, overflow="fold", min_width=min(max(longest, 8), 60))
    table.add_column("说明")
    table.add_column("Description")
    for p in problems:
        label, style = _SEVERITY[p.severity]
        table.add_row(Text(label, style=style), Text(p.code), Text(p.path or "—"), Text(p.zh), Text(p.en))
    console.print(table)


def _print_summary(results: list[dict[str, Any]]) -> None:
    files = len(results)
    failed = sum(not r["valid"] for r in results)
    errors = sum(p["severity"] == "error" for r in results for p in r["problems"])
    warnings = sum(p["severity"] == "warning" for r in results for p in r["problems"])
    _console().print(
        f"共 {files} 个文件，{failed} 个未通过；错误 {errors} 个，警告 {warnings} 个 / "
        f"{files} file(s), {failed} invalid; {errors} error(s), {warnings} warning(s)"
    )


# ---------------------------------------------------------------------------------------------- convert


@app.command()
def convert(
    file: Annotated[Path, _file_argument("XML、DxpMsg 或 JSON 报文。 A message.")],
    to: Annotated[OutputFormat, typer.Option("--to", help="目标格式。 Target format: json or xml.")],
    output: OutputOption = None,
) -> None:
    """XML/DxpMsg 与 JSON 互转。 Convert between XML (or DxpMsg) and the JSON form."""
    with _user_errors():
        loaded = _load(file)
        msg = loaded.message
        if to is OutputFormat.json:
            data = (jsonform.dumps(msg) + "\n").encode("utf-8")
        else:
            data = render(msg)
            if msg.signature is not None:
                typer.echo(
                    "注意：报文重新生成后原签名可能无法通过验签，请重新加签。 "
                    "Note: the regenerated XML may no longer match its signature; sign it again.",
                    err=True,
                )
        _write(output, data)


# ------------------------------------------------------------------------------------------ sign/verify


@app.command()
def sign(
    file: Annotated[Path, _file_argument("待加签的报文（XML 或 JSON）。 The message.")],
    key: Annotated[
        Path, typer.Option("--key", metavar="KEY", help="私钥文件（PEM/DER）。 Private key file.")
    ],
    cert: Annotated[Path, typer.Option("--cert", metavar="CERT", help="证书文件。 Certificate file.")],
    alg: Annotated[
        SignAlgorithm | None,
        typer.Option("--alg", help="签名算法（默认按私钥类型）。 Algorithm; default follows the key type."),
    ] = None,
    output: OutputOption = None,
) -> None:
    """为报文加签（ds:Signature）。 Sign a message with an enveloped XML signature."""
    with _user_errors():
        from cbec.ceb.sign import load_signer, sign_message

        xml = _business_xml(file)
        signer = load_signer(key, cert, alg.value if alg is not None else None)
        _write(output, sign_message(xml, signer))


@app.command()
def verify(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="已加签的 XML 报文或 DxpMsg。 A signed message.")
    ],
    as_json: JsonOption = False,
) -> None:
    """验签：退出码 0 有效，1 无效。 Verify the signature; exit 0 when valid, 1 when not."""
    with _user_errors():
        from cbec.ceb.sign import verify_message

        data = _read(file)
        if _is_json(data):
            raise InputError(
                "签名只能在加签时的 XML 上验证，不能在 JSON 格式上验证",
                "a signature can only be verified on the XML as signed, not on the JSON form",
            )
        if dxp.is_dxp(parse_xml(data)):
            data = dxp.unwrap(data).data
        result = verify_message(data)
    valid = bool(result.valid)
    if as_json:
        _print_json({"file": str(file), **_json_default(result)})
    else:
        _print_verify(file, result)
    raise typer.Exit(EXIT_OK if valid else EXIT_INVALID)


def _print_verify(file: Path, result: VerifyResult) -> None:
    console = _console()
    if result.valid:
        console.print(Text.assemble((str(file), "bold"), "  ", ("签名有效 / signature valid", "bold green")))
    else:
        console.print(Text.assemble((str(file), "bold"), "  ", ("签名无效 / signature invalid", "bold red")))
    prefix = f"[{result.code}] " if result.code else ""
    rows: list[tuple[str, Any]] = [
        ("原因 / Reason", f"{prefix}{result.reason_zh} / {result.reason_en}"),
        ("算法 / Algorithm", result.algorithm),
        ("密钥名 / KeyName", result.key_name),
        ("证书序列号 / Certificate serial", result.cert_serial),
        ("证书主题 / Certificate subject", result.cert_subject),
        ("证书签发者 / Certificate issuer", result.cert_issuer),
        ("有效期起 / Not before", result.not_before),
        ("有效期止 / Not after", result.not_after),
    ]
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(no_wrap=True, style="bold")
    table.add_column()
    for label, value in rows:
        if value is not None:
            table.add_row(label, Text(_json_default(value) if not isinstance(value, str) else value))
    for problem in result.problems[1:]:
        table.add_row("另 / Also", Text(f"[{problem.code}] {problem.zh} / {problem.en}"))
    console.print(table)


# -------------------------------------------------------------------------------------------------- dxp


@dxp_app.command("wrap")
def dxp_wrap(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="业务报文（XML 或 JSON）。 The business message.")
    ],
    sender: Annotated[str, typer.Option("--sender", metavar="ID", help="发送方 DXP 编号。 Sender DXP id.")],
    receiver: Annotated[
        str | None,
        typer.Option(
            "--receiver", metavar="ID", help="接收方（默认海关进口/出口节点）。 Receiver; default customs."
        ),
    ] = None,
    output: OutputOption = None,
) -> None:
    """把业务报文装入 DxpMsg 信封。 Put a business message into a DxpMsg envelope."""
    with _user_errors():
        xml = _business_xml(file)
        _write(output, dxp.wrap(xml, sender_id=sender, receiver_id=receiver))


@dxp_app.command("unwrap")
def dxp_unwrap(
    file: Annotated[Path, _file_argument("DxpMsg 信封。 A DxpMsg envelope.")],
    output: OutputOption = None,
) -> None:
    """取出 DxpMsg 中的业务报文（原样字节）。 Write the business message in a DxpMsg, byte for byte."""
    with _user_errors():
        _write(output, dxp.unwrap(_read(file)).data)


# -------------------------------------------------------------------------------------------- catalogue

_DIRECTION = {"import": "进口 import", "export": "出口 export"}
_KIND = {"declaration": "申报 declaration", "receipt": "回执 receipt", "customs": "海关 customs"}
_SIGNATURE = {"required": "必签 required", "optional": "可选 optional", "none": "无 none"}


@app.command()
def catalogue(
    code: Annotated[
        str | None,
        typer.Argument(metavar="CODE", help="报文类型，如 CEB621、621。 A message type, e.g. CEB621."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """报文目录：无 CODE 列出全部报文类型；有 CODE 列出其节点与字段。 Message types, or one type's fields."""
    if code is None:
        _catalogue_types(as_json)
        return
    try:
        spec = message_spec(code)
    except KeyError:
        _fail(
            UnknownMessage.code,
            f"未知的报文类型 {code!r}（可用 cbec catalogue 查看全部 {len(MESSAGE_TYPES)} 种）",
            f"unknown message type {code!r} (cbec catalogue lists all {len(MESSAGE_TYPES)})",
        )
    rows = _spec_rows(spec.root, "")
    mtype = spec.type
    if as_json:
        _print_json({**_type_dict(mtype), "items": rows})
        return
    console = _console()
    console.print(
        Text.assemble(
            (f"{mtype.code} {mtype.name_zh} / {mtype.name_en}", "bold"),
            f"  根节点 root {mtype.root} · {_DIRECTION[mtype.direction]} · {_KIND[mtype.kind]}"
            f" · 回执 receipt {mtype.receipt or '—'} · 签名 signature {_SIGNATURE[mtype.signature_spec]}",
        )
    )
    table = Table()
    for title, no_wrap in (
        ("路径 Path", True),
        ("名称 Name", True),
        ("中文名", False),
        ("English", False),
        ("类型/长度 Type", True),
        ("必填 Req.", True),
        ("代码 Codes", False),
    ):
        table.add_column(title, no_wrap=no_wrap)
    for row in rows:
        codes = row["codes"]
        table.add_row(
            Text(row["path"]),
            Text(row["name"]),
            Text(row["zh"]),
            Text(row["en"]),
            Text(row["type"]),
            Text("是 yes" if row["required"] else "否 no"),
            Text(", ".join(f"{c}-{zh}" for c, (zh, _en) in codes.items()) if codes else ""),
        )
    console.print(table)


def _type_dict(mtype: MessageType) -> dict[str, Any]:
    return {
        "code": mtype.code,
        "root": mtype.root,
        "name_zh": mtype.name_zh,
        "name_en": mtype.name_en,
        "direction": mtype.direction,
        "kind": mtype.kind,
        "receipt": mtype.receipt,
        "signature_xsd": mtype.signature_xsd,
        "signature_spec": mtype.signature_spec,
    }


def _catalogue_types(as_json: bool) -> None:
    types = list(MESSAGE_TYPES.values())
    if as_json:
        _print_json([_type_dict(m) for m in types])
        return
    table = Table(title=f"CEB 报文类型（{len(types)} 种） / CEB message types ({len(types)})")
    for title in (
        "代码 Code",
        "中文",
        "English",
        "方向 Direction",
        "类别 Kind",
        "回执 Receipt",
        "签名 Signature",
    ):
        table.add_column(title, no_wrap=title.startswith(("代码", "回执")))
    for m in types:
        signature = _SIGNATURE[m.signature_spec]
        if m.signature_xsd != m.signature_spec:
            signature += f"（XSD：{_SIGNATURE[m.signature_xsd]}）"
        table.add_row(
            m.code, m.name_zh, m.name_en, _DIRECTION[m.direction], _KIND[m.kind], m.receipt or "—", signature
        )
    _console().print(table)


def _occurs(low: int, high: int | None) -> str:
    return f"{low}..{'n' if high is None else high}"


def _spec_rows(spec: NodeSpec, path: str) -> list[dict[str, Any]]:
    """Rows for every node, slot and field under `spec`, depth first, in XSD order."""
    rows: list[dict[str, Any]] = []
    prefix = f"{path}/" if path else ""
    for item in spec.items:
        if isinstance(item, FieldSpec):
            kind = item.length_text + (f" {item.fmt}" if item.fmt else "")
            rows.append(
                {
                    "path": prefix + item.name,
                    "name": item.name,
                    "zh": item.zh,
                    "en": item.en,
                    "type": kind,
                    "value_type": item.type,
                    "required": item.required,
                    "occurs": _occurs(1 if item.required else 0, 1),
                    "max_length_2018": item.max_length_2018,
                    "new_in_202205": item.new_in_202205,
                    "codes": dict(item.codes.codes) if item.codes else {},
                }
            )
        elif isinstance(item, ChildSpec):
            rows.append(_node_row(item, prefix + item.name))
            rows.extend(_spec_rows(item.node, prefix + item.name))
        else:
            zh, en = (
                ("扩展报文", "extension message") if item.kind == "extend" else ("数字签名", "XML signature")
            )
            rows.append(
                {
                    "path": prefix + item.name,
                    "name": item.name,
                    "zh": zh,
                    "en": en,
                    "type": f"element {_occurs(item.min_occurs, 1)}",
                    "value_type": "element",
                    "required": item.min_occurs > 0,
                    "occurs": _occurs(item.min_occurs, 1),
                    "max_length_2018": None,
                    "new_in_202205": False,
                    "codes": {},
                }
            )
    return rows


def _node_row(child: ChildSpec, path: str) -> dict[str, Any]:
    occurs = _occurs(child.min_occurs, child.max_occurs)
    return {
        "path": path,
        "name": child.name,
        "zh": child.node.zh,
        "en": child.node.en,
        "type": f"node {occurs}",
        "value_type": "node",
        "required": child.min_occurs > 0,
        "occurs": occurs,
        "max_length_2018": None,
        "new_in_202205": False,
        "codes": {},
    }


# --------------------------------------------------------------------------------------------- examples


def _example_builders() -> dict[str, Any]:
    from cbec.ceb import examples

    return {
        "CEB311": examples.ceb311,
        "CEB411": examples.ceb411,
        "CEB511": examples.ceb511,
        "CEB513": examples.ceb513,
        "CEB621": examples.ceb621,
        "CEB623": examples.ceb623,
        "CEB625": examples.ceb625,
        "CEB622": examples.ceb622,
    }


@app.command()
def example(
    code: Annotated[
        str, typer.Argument(metavar="CODE", help="报文类型，如 CEB621。 A message type, e.g. CEB621.")
    ],
    output: OutputOption = None,
    as_json: JsonOption = False,
) -> None:
    """输出一份有效的示例报文（虚构的企业与个人）。 Print a valid example message (fictitious parties)."""
    builders = _example_builders()
    try:
        key = message_spec(code).code
    except KeyError:
        key = code
    build = builders.get(key)
    if build is None:
        _fail(
            "CBEC-0004",
            f"暂无 {code} 的示例；可用：{', '.join(builders)}",
            f"no example for {code}; available: {', '.join(builders)}",
        )
    message = build()
    data = jsonform.dumps(message).encode("utf-8") if as_json else render(message)
    with _user_errors():
        _write(output, data)


@app.command()
def demo(
    directory: Annotated[
        Path, typer.Argument(metavar="DIR", help="输出目录。 Where the demo files go.")
    ] = Path("var/demo"),
) -> None:
    """演示：一笔交易的订单、清单、加签、验签、DxpMsg、回执。 One trade through the standard."""
    from cbec.demo import run_clearance_demo, run_demo

    with _user_errors():
        steps = run_demo(directory) + run_clearance_demo(directory)
    console = _console()
    table = Table(title="cbec 演示 / demo: 报文标准与通关 / message standard and clearance", show_lines=False)
    for column in ("步骤 / step", "文件 / file", "结果 / outcome"):
        table.add_column(column)
    for step in steps:
        table.add_row(f"{step.zh}\n{step.en}", str(step.file), step.outcome)
    console.print(table)
    console.print(
        f"文件在 {directory} 中；可用 cbec validate / cbec verify / cbec show / cbec quota 查看。\n"
        f"The files are in {directory}; try `cbec validate {directory}/CEB311_order.xml`, "
        f"`cbec verify {directory}/CEB621_list.signed.xml`, `cbec show list <orderNo>` or "
        "`cbec quota 110101199003070003`."
    )


# --------------------------------------------------------------------------------------------- clearance

from cbec.cli_clearance import register as _register_clearance  # noqa: E402
from cbec.cli_platform import register as _register_platform  # noqa: E402
from cbec.sim.cli import register as _register_simulate  # noqa: E402

_register_clearance(app)
_register_simulate(app)
_register_platform(app)

from cbec.stats.cli import app as _stats_app  # noqa: E402
from cbec.zones.cli import app as _zones_app  # noqa: E402

app.add_typer(_zones_app, name="zones")
app.add_typer(_stats_app, name="stats")


if __name__ == "__main__":  # pragma: no cover - `python -m cbec.cli`
    app()
