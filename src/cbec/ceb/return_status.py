"""The ``returnStatus`` codes of CEB receipts: meaning, which receipts may carry them, and what they decide.

Facts come from the ``returnStatus`` description of every receipt table in the 202205 spec and the
documentation of the same element in the official XSDs. The two sources do not always list the same codes
(the XSD adds 399 海关审结 to the order, payment and waybill receipts 312/412/512/514/304/404/608, the spec
adds 120 海关入库 to 304/404/608/514); a status is accepted on a receipt when either source lists it there,
because the check that uses this table reports what customs sent, it does not refuse it. 505 移交 and
600 挂起 appear only on CEB214. Negative numbers are business error codes and valid on every receipt.

Our own decision, not the spec's: `StatusInfo.outcome` classifies a status for the clearance engine, and
`StatusInfo.is_final` says the customs decision on the document has been made — 100 退单, 700 退运,
800 放行, 899 结关, 399 审结 (except on the list receipts CEB622/CEB604, where release follows), and also
4 发送海关失败 and every negative code (nothing more will come until the declarer sends again). Later
receipts may still arrive after a final one (899 after 800) but do not change the outcome.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Literal

from cbec.ceb.catalogue.messages import message_type
from cbec.ceb.error_codes import ErrorCode, error_codes

__all__ = [
    "RECEIPT_CODES",
    "TAX_STATUSES",
    "Outcome",
    "StatusInfo",
    "status_info",
    "status_problem",
    "statuses_for",
    "tax_status_info",
]

#: What a status means for the document, for code that drives a workflow from receipts.
Outcome = Literal[
    "draft",  # 暂存: kept at the e-port, not declared
    "pending",  # on its way or under review
    "accepted",  # 审结: customs accepted the document
    "released",  # 放行
    "closed",  # 结关 (or a tax bill summarised)
    "held",  # inspection, detention, transfer, suspension
    "returned",  # 退运: goods sent back
    "rejected",  # 退单
    "cancelled",  # a tax bill voided
    "failed",  # not delivered to customs, or a business error code
]

_IMPORT = ("CEB312", "CEB412", "CEB512", "CEB514", "CEB622", "CEB624", "CEB626", "CEB712")
_EXPORT = (
    "CEB304",
    "CEB404",
    "CEB506",
    "CEB508",
    "CEB510",
    "CEB604",
    "CEB606",
    "CEB608",
    "CEB702",
    "CEB214",
    "CEB216",
)
#: Every receipt type (kind 'receipt'); CEB816/818/900 are customs messages with their own status meaning.
RECEIPT_CODES: frozenset[str] = frozenset(_IMPORT + _EXPORT)
_ALL = RECEIPT_CODES
# Error codes also come back on the CEB900 format-check receipt.
_ANY = RECEIPT_CODES | {"CEB900"}
_TAX = frozenset({"CEB816", "CEB818"})


@dataclass(frozen=True, slots=True)
class StatusInfo:
    """One status value: its meaning (中文, English), where it may appear, what it means for the document."""

    code: str
    zh: str
    en: str
    #: receipt codes (``CEB622`` …) that may carry this status
    receipts: frozenset[str] = field(repr=False)
    outcome: Outcome
    #: receipt codes on which this status is the customs decision on the document
    final_on: frozenset[str] = field(repr=False)
    #: for negative codes: the official error texts (two for -621027 and -625022), empty when unlisted
    errors: tuple[ErrorCode, ...] = field(default=(), repr=False)

    @property
    def is_error(self) -> bool:
        """A negative code: customs (or the e-port) refused to process the document."""
        return self.code.startswith("-")

    def valid_for(self, receipt_code: str) -> bool:
        return _code(receipt_code) in self.receipts

    def is_final(self, receipt_code: str) -> bool:
        """The decision on the document is made when this status arrives on `receipt_code`."""
        return _code(receipt_code) in self.final_on


def _s(
    code: str,
    zh: str,
    en: str,
    outcome: Outcome,
    receipts: frozenset[str] | tuple[str, ...],
    final_on: frozenset[str] | tuple[str, ...] = (),
) -> StatusInfo:
    return StatusInfo(code, zh, en, frozenset(receipts), outcome, frozenset(final_on))


_LISTS = ("CEB622", "CEB604")
_399_ON = frozenset(_ALL - {"CEB214"})

_TABLE: tuple[StatusInfo, ...] = (
    _s(
        "1",
        "电子口岸已暂存",
        "stored as draft at the e-port",
        "draft",
        ("CEB622", "CEB624", "CEB626", "CEB712", *_EXPORT),
    ),
    _s("2", "电子口岸申报中", "being declared through the e-port", "pending", _ALL),
    _s("3", "发送海关成功", "delivered to customs", "pending", _ALL),
    _s("4", "发送海关失败", "delivery to customs failed", "failed", _ALL, _ALL),
    _s("100", "海关退单", "rejected by customs", "rejected", _ALL, _ALL),
    _s(
        "120",
        "海关入库",
        "accepted into the customs database",
        "pending",
        (*_IMPORT, "CEB304", "CEB404", "CEB604", "CEB608", "CEB214"),
    ),
    _s("300", "人工审核", "under manual review", "pending", ("CEB622", "CEB604", "CEB214")),
    _s("399", "海关审结", "approved by customs", "accepted", _399_ON, _399_ON - set(_LISTS)),
    _s("500", "海关查验", "held for customs inspection", "held", ("CEB622", "CEB604", "CEB214")),
    _s("501", "扣留移送通关", "detained, transferred to the clearance department", "held", ("CEB622",)),
    _s("502", "扣留移送缉私", "detained, transferred to the anti-smuggling department", "held", ("CEB622",)),
    _s("503", "扣留移送法规", "detained, transferred to the legal department", "held", ("CEB622",)),
    _s("505", "移交", "transferred", "held", ("CEB214",)),
    _s("599", "其它扣留", "detained for another reason", "held", ("CEB622",)),
    _s("600", "挂起", "suspended", "held", ("CEB214",)),
    _s("700", "退运", "goods to be returned abroad", "returned", ("CEB622",), ("CEB622",)),
    _s("800", "放行", "released", "released", ("CEB622", "CEB604", "CEB214"), ("CEB622", "CEB604", "CEB214")),
    _s("899", "结关", "clearance closed", "closed", _LISTS, _LISTS),
)
_BY_CODE: dict[str, StatusInfo] = {s.code: s for s in _TABLE}

#: CEB816/CEB818 税单状态 (tax bill status); a different field with its own codes.
TAX_STATUSES: tuple[StatusInfo, ...] = (
    _s("1", "已生成", "tax bill generated", "pending", _TAX),
    _s("2", "已汇总", "tax bill summarised for payment", "closed", _TAX, _TAX),
    _s("3", "作废", "tax bill voided", "cancelled", _TAX, _TAX),
)
_TAX_BY_CODE: dict[str, StatusInfo] = {s.code: s for s in TAX_STATUSES}

_NUMBER = re.compile(r"-?[0-9]+\Z")


def _code(receipt_code: str) -> str:
    try:
        return message_type(receipt_code).code
    except KeyError:
        return receipt_code


def status_info(status: str | int) -> StatusInfo | None:
    """Meaning of a ``returnStatus`` value; None when it is neither a listed status nor a negative number.

    Negative numbers give a `StatusInfo` on every receipt, with the official text when the code is listed.
    """
    text = str(status).strip()
    info = _BY_CODE.get(text)
    if info is not None:
        return info
    if text.startswith("-") and _NUMBER.match(text) and text != "-0":
        return _error_status(text)
    return None


@lru_cache(maxsize=512)
def _error_status(code: str) -> StatusInfo:
    rows = error_codes(code)
    if rows:
        zh = "；或：".join(r.zh for r in rows)
        en = "; or: ".join(r.en for r in rows)
    else:
        zh, en = f"处理异常回执（错误代码 {code}）", f"processing error (code {code})"
    return StatusInfo(code, zh, en, _ANY, "failed", _ANY, rows)


def tax_status_info(status: str) -> StatusInfo | None:
    """Meaning of a CEB816/CEB818 税单状态 (1 已生成, 2 已汇总, 3 作废)."""
    return _TAX_BY_CODE.get(status.strip())


@cache
def statuses_for(receipt_code: str) -> tuple[StatusInfo, ...]:
    """The listed (non-negative) statuses a receipt type may carry, in numeric order.

    CEB816/CEB818 give their tax bill statuses; CEB900 and declarations give none.
    """
    code = message_type(receipt_code).code
    if code in _TAX:
        return TAX_STATUSES
    return tuple(s for s in _TABLE if code in s.receipts)


def status_problem(code: str, status: str) -> tuple[str, str] | None:
    """Why `status` is not a valid ``returnStatus`` on receipt type `code`, as (中文, English); None if fine.

    Called by the check rules for every receipt node, so it reports rather than raises.
    """
    text = status.strip()
    if not _NUMBER.match(text):
        return (
            f"回执状态 {status!r} 不是数字（应为规定的状态代码或负数错误代码）",
            f"returnStatus {status!r} is not a number (expected a listed status or a negative error code)",
        )
    if text.startswith("-"):
        return None
    receipt = _code(code)
    if receipt not in RECEIPT_CODES:
        return None  # no list of statuses is stated for this message type
    allowed = "、".join(s.code for s in statuses_for(receipt))
    allowed_en = ", ".join(s.code for s in statuses_for(receipt))
    info = _BY_CODE.get(text)
    if info is None:
        return (
            f"回执状态 {text} 不是规定的状态代码；{receipt} 可用：{allowed} 及负数错误代码",
            f"returnStatus {text} is not a listed status; {receipt} may carry {allowed_en} "
            "or a negative error code",
        )
    if receipt not in info.receipts:
        return (
            f"回执状态 {text}（{info.zh}）不适用于 {receipt}；可用：{allowed} 及负数错误代码",
            f"returnStatus {text} ({info.en}) does not apply to {receipt}; it may carry {allowed_en} or a "
            "negative error code",
        )
    return None
