"""Validate messages against the official business-node XSDs, as customs does on receipt (DXP code 0002).

`cbec.ceb.check` already covers what the XSDs say; running the schemas themselves is the independent
second opinion an enterprise wants before it sends. The XSDs are not shipped with cbec (they are the
operator's copy of the official files): point `load_schemas` at the folder that holds them. Both the
202205 names (``海关跨境进口业务节点报文定义202205.xsd``, ``海关跨境出口业务节点报文定义202205.xsd``) and the
2018 names (``进口业务节点报文.xsd``, ``出口业务节点报文.xsd``) are recognised; each needs
``xmldsig-core-schema.xsd`` beside it.

libxml2 quotes offending values in its messages; those quotes are removed here, because a value may be an
ID number, a name or a phone number.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, cast

from lxml import etree

from cbec.ceb.catalogue.messages import DS_NAMESPACE, Direction, MessageType, message_type
from cbec.ceb.catalogue.messages import NAMESPACE as CEB_NAMESPACE
from cbec.ceb.errors import CebError
from cbec.ceb.problems import SCHEMA_CODE, Problem
from cbec.ceb.xmlsafe import DEFAULT_MAX_BYTES, parse_xml

__all__ = ["SCHEMA_FILES", "Schemas", "XsdError", "load_schemas", "validate"]

#: file names per direction, newest edition first
SCHEMA_FILES: dict[Direction, tuple[str, ...]] = {
    "import": ("海关跨境进口业务节点报文定义202205.xsd", "进口业务节点报文.xsd"),
    "export": ("海关跨境出口业务节点报文定义202205.xsd", "出口业务节点报文.xsd"),
}

# Schema documents are trusted local files, yet still read without network access or entity expansion.
_SCHEMA_PARSER = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
_VALUE = re.compile(r"The value '.*?'(?= (?:is|has|does)\b)")
_ATOMIC = re.compile(r"(Element '[^']*'(?:, attribute '[^']*')?: )'.*?'(?= is not a valid value)")


class XsdError(CebError):
    """The schema folder or a schema file cannot be used."""

    code = "CBEC-0301"


@dataclass
class Schemas:
    """The schema files found in one folder; each is compiled on first use and kept."""

    directory: Path
    files: dict[Direction, Path]
    _compiled: dict[Direction, etree.XMLSchema] = field(default_factory=dict, repr=False)
    # libxml2 schema objects keep per-validation state: one validation at a time per schema.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def schema(self, direction: Direction) -> etree.XMLSchema:
        """The compiled schema for import or export messages; `XsdError` when it is missing or broken."""
        with self._lock:
            compiled = self._compiled.get(direction)
            if compiled is not None:
                return compiled
            path = self.files.get(direction)
            if path is None:
                names = "、".join(SCHEMA_FILES[direction])
                raise XsdError(
                    f"目录 {self.directory} 中没有{_DIRECTION_ZH[direction]}业务节点报文 XSD（{names}）",
                    f"no {direction} business-node XSD in {self.directory} (expected one of: "
                    f"{', '.join(SCHEMA_FILES[direction])})",
                )
            try:
                compiled = etree.XMLSchema(etree.parse(str(path), _SCHEMA_PARSER))
            except (etree.XMLSchemaParseError, etree.XMLSyntaxError, OSError) as exc:
                raise XsdError(
                    f"无法加载 XSD 文件 {path}：{exc}", f"cannot load the XSD file {path}: {exc}"
                ) from exc
            self._compiled[direction] = compiled
            return compiled

    def validate(
        self,
        xml: bytes | etree._Element,
        message_type_: str | MessageType,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> list[Problem]:
        """Every XSD error in `xml` (bytes or a parsed root) as a `Problem` (code 0002, rule ``xsd``).

        `message_type_` (``CEB621``, ``CEB621Message`` or a `MessageType`) picks the import or export schema.
        Line numbers refer to `xml` as given.
        """
        mtype = message_type_ if isinstance(message_type_, MessageType) else _message_type(message_type_)
        schema = self.schema(mtype.direction)
        root = parse_xml(xml, max_bytes=max_bytes) if isinstance(xml, bytes) else xml
        with self._lock:
            schema.validate(root)
            # lxml-stubs does not describe log entries; each has `.line` and `.message`.
            errors = [(int(e.line), str(e.message)) for e in cast(Iterable[Any], schema.error_log)]
        return [_problem(line, message) for line, message in errors]


_DIRECTION_ZH: dict[Direction, str] = {"import": "进口", "export": "出口"}


def _message_type(code: str) -> MessageType:
    try:
        return message_type(code)
    except KeyError as exc:
        raise XsdError(f"未知的报文类型 {code!r}", f"unknown message type {code!r}") from exc


def _problem(line: int, message: str) -> Problem:
    text = clean_message(message)
    return Problem(
        SCHEMA_CODE,
        f"line {line}",
        "error",
        "xsd",
        f"XSD 校验失败：{text}",
        f"XSD validation failed: {text}",
    )


def clean_message(message: str) -> str:
    """A libxml2 message without the values it quotes, with ``ceb:``/``ds:`` instead of namespace URIs."""
    text = message.replace("{" + CEB_NAMESPACE + "}", "ceb:").replace("{" + DS_NAMESPACE + "}", "ds:")
    text = _VALUE.sub("The value", text)
    return _ATOMIC.sub(r"\1the value", text)


def load_schemas(directory: str | Path) -> Schemas:
    """The schemas in `directory`, found by their official names; the same object for the same folder."""
    return _load(Path(directory).resolve())


@cache
def _load(directory: Path) -> Schemas:
    if not directory.is_dir():
        raise XsdError(f"XSD 目录不存在：{directory}", f"the XSD folder does not exist: {directory}")
    files: dict[Direction, Path] = {}
    for direction, names in SCHEMA_FILES.items():
        for name in names:
            candidate = directory / name
            if candidate.is_file():
                files[direction] = candidate
                break
    if not files:
        wanted = "、".join(n for names in SCHEMA_FILES.values() for n in names)
        raise XsdError(
            f"目录 {directory} 中没有官方业务节点报文 XSD（应含 {wanted} 之一）",
            f"no official business-node XSD in {directory} (expected {', '.join(SCHEMA_FILES['import'])} "
            f"or {', '.join(SCHEMA_FILES['export'])})",
        )
    return Schemas(directory, files)


def validate(
    xml: bytes | etree._Element, message_type_: str | MessageType, directory: str | Path
) -> list[Problem]:
    """Shortcut for ``load_schemas(directory).validate(xml, message_type_)``."""
    return load_schemas(directory).validate(xml, message_type_)
