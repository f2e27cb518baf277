"""Errors a caller of `cbec.ceb` can trigger, each with a code and Chinese and English text."""

from __future__ import annotations


class CebError(Exception):
    """Base error: `code` is the official error code where one exists (e.g. ``0001``), else a cbec code."""

    code: str = "CBEC-0000"

    def __init__(self, zh: str, en: str, *, code: str | None = None) -> None:
        self.zh = zh
        self.en = en
        if code is not None:
            self.code = code
        super().__init__(f"[{self.code}] {zh} / {en}")


class XmlRefused(CebError):
    """Input refused before or while parsing: hostile, oversized or malformed XML (DXP 0001 报文格式错误)."""

    code = "0001"


class UnknownMessage(CebError):
    """The root element is not a known CEB message (or DxpMsg)."""

    code = "0001"


class SignatureError(CebError):
    """Signing failed, or a key or certificate could not be used (DXP 1999 其他安全错误)."""

    code = "1999"
