"""Hardened XML intake: no DTD, no entities, no network, bounded size and depth.

Every message from outside passes through `parse_xml`. Refusals are `XmlRefused` with DXP code 0001 and a
specific Chinese and English reason, so an enterprise can see exactly why its bytes were not accepted.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Any

from lxml import etree

from cbec.ceb.errors import XmlRefused

#: Default cap on one message. The largest legal CEB message (100 lists x 99 lines) is a few MB.
DEFAULT_MAX_BYTES = 10 * 1024 * 1024

_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.DOTALL)

_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=False,
    remove_pis=False,
    collect_ids=False,
)


def read_source(source: bytes | str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """Bytes of a message given as bytes, text or a file path; text is encoded as UTF-8."""
    if isinstance(source, Path):
        try:
            size = source.stat().st_size
        except OSError as exc:
            raise XmlRefused(
                f"无法读取文件 {source}：{exc.strerror}",
                f"cannot read file {source}: {exc.strerror}",
                code="CBEC-0002",
            ) from exc
        _check_size(size, max_bytes)
        return source.read_bytes()
    if isinstance(source, str):
        # A str keeps its characters; a declared encoding no longer applies, so the declaration is dropped.
        data = _DECL.sub("", source, count=1).lstrip("\ufeff").encode("utf-8")
        _check_size(len(data), max_bytes)
        return data
    _check_size(len(source), max_bytes)
    return bytes(source)


def _check_size(size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise XmlRefused(
            f"报文过大：{size} 字节，上限 {max_bytes} 字节",
            f"message too large: {size} bytes, the limit is {max_bytes} bytes",
        )


def parse_xml(source: bytes | str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
    """Parse one XML document safely and return its root element."""
    data = read_source(source, max_bytes=max_bytes)
    if not data.strip():
        raise XmlRefused("报文为空", "the message is empty")
    head = data[:4096]
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        head = data[:8192].decode("utf-16", errors="ignore").encode("utf-8")
    if b"<!" in head and _DOCTYPE.search(head):  # the byte search is far cheaper than the regex
        raise _doctype_refused()
    try:
        root = etree.fromstring(data, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        if _DOCTYPE.search(data):
            raise _doctype_refused() from exc
        if "encoding" in (exc.msg or "").lower():
            raise XmlRefused(
                f"报文编码无法识别：{_describe(exc)}",
                f"the message encoding cannot be read: {_describe(exc)}",
            ) from exc
        raise XmlRefused(
            f"报文不是格式正确的 XML：{_describe(exc)}",
            f"the message is not well-formed XML: {_describe(exc)}",
        ) from exc
    except (ValueError, LookupError) as exc:  # unknown encoding names, bad byte sequences
        raise XmlRefused(f"报文编码无法识别：{exc}", f"the message encoding cannot be read: {exc}") from exc
    if root is None:
        raise XmlRefused("报文为空", "the message is empty")
    docinfo: Any = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise _doctype_refused()
    return root


def _doctype_refused() -> XmlRefused:
    return XmlRefused(
        "报文含有 DOCTYPE/实体声明，出于安全原因拒绝处理（外部实体、实体膨胀攻击）",
        "the message contains a DOCTYPE or entity declaration and is refused for safety "
        "(external entities, entity expansion)",
    )


def _describe(exc: etree.XMLSyntaxError) -> str:
    """libxml2's message, which already ends with the line and column."""
    return str(exc.msg or exc).strip()


def local_name(element: etree._Element) -> str:
    """Element name without namespace: real traffic mixes `ceb:` prefixes, default and no namespace."""
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]
