"""A problem found in a document: where, how bad, which official code, and what to do, in 中文 and English."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["error", "warning"]

#: DXP code for "the data package does not pass schema validation" (数据包不能通过 schema 验证).
SCHEMA_CODE = "0002"
#: DXP code for "malformed message" (报文格式错误).
FORMAT_CODE = "0001"

#: The business code customs uses for "field validation failed" on each import declaration type.
FIELD_CHECK_CODE: dict[str, str] = {
    "CEB311": "-301008",
    "CEB411": "-401009",
    "CEB511": "-504011",
    "CEB513": "-505011",
    "CEB621": "-621001",
    "CEB623": "-623001",
    "CEB625": "-625001",
    "CEB711": "-800001",
}


#: Official codes for "the document has no item lines", by (message code, line node). The business rule
#: reports these instead of the generic missing-node problem.
NO_LINES_CODE: dict[tuple[str, str], str] = {
    ("CEB311", "OrderList"): "-301001",
    ("CEB621", "InventoryList"): "-621000",
    ("CEB625", "InvtRefundList"): "-625006",
    ("CEB711", "DeliveryList"): "-800000",
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding. `rule` is a stable machine id (``required``, ``max_length``, ``acturalPaid`` …)."""

    code: str
    path: str
    severity: Severity
    rule: str
    zh: str
    en: str

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.severity.upper()} [{self.code}] {self.path}: {self.zh} / {self.en}"


def has_errors(problems: list[Problem]) -> bool:
    return any(p.severity == "error" for p in problems)
