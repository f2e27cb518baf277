"""Errors of the zone registry and the assessment (CBEC-07xx), each with Chinese and English text."""

from __future__ import annotations

from cbec.ceb.errors import CebError


class UnknownZone(CebError):
    code = "CBEC-0701"


class BadZoneFile(CebError):
    """A zone, park or indicator file with bad rows: every bad row is named, nothing is loaded."""

    code = "CBEC-0702"


class BadPark(CebError):
    code = "CBEC-0703"


class BadLink(CebError):
    code = "CBEC-0704"


class BadStatus(CebError):
    code = "CBEC-0705"


class DemoFolderUsed(CebError):
    """The demo's folder already holds generated traffic (running it again would count it twice)."""

    code = "CBEC-0706"
