"""Errors of statistical monitoring (CBEC-08xx), each with Chinese and English text."""

from __future__ import annotations

from cbec.ceb.errors import CebError


class BadQuery(CebError):
    """An unknown dimension, period or date range."""

    code = "CBEC-0801"


class NoParquet(CebError):
    code = "CBEC-0802"


class ExportExists(CebError):
    code = "CBEC-0803"


class BadNational(CebError):
    code = "CBEC-0804"
