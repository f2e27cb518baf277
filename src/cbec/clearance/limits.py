"""Personal limits of retail import: which path a list takes (retail, full tax, or refused) and the quota.

Rules (policy.md §1.2; 财关税〔2016〕18号 and 财关税〔2018〕49号), with P the list's completed tax price and
A the buyer's amount already used this calendar year:

- P ≤ 5,000 and A + P ≤ 26,000: ``retail`` (duty 0, VAT and CT at 70 %); P counts toward A.
- P > 5,000, the order is one indivisible item, and A + P ≤ 26,000: ``full`` (duty, VAT and CT in full
  at the goods rates, 49号 §2); P still counts toward A.
- P > 5,000 and more than one item: ``reject`` with -621005 (single-transaction limit).
- A + P > 26,000: ``reject`` with -621018 (annual limit; "应按一般贸易管理").

Both limits are inclusive: exactly 5,000.00 and exactly 26,000.00 are allowed. The amounts are a
`LimitPolicy`, because they change by policy (2,000/20,000 before 2019).

"One indivisible item" (49号: "订单下仅一件商品") is read as: the list has exactly one line and that line's
declared quantity (``qty``, in the transaction unit) is exactly 1. Two lines, or one line of quantity 2 or
0.5, are several (or part of) items and could be split into separate orders, so they do not qualify. The
legal quantity (qty1) is not used: it measures weight or volume for statistics, not the number of articles.

The buyer's ID number never appears in a reason: the official -621018 text has a placeholder for the buyer,
which we leave out; the numbers (amount used, limit) fill the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Literal, NamedTuple

from cbec.ceb.model import Node
from cbec.clearance.reasons import Reason
from cbec.clearance.tax import TaxLine

__all__ = [
    "CHINA_STANDARD_TIME",
    "DEFAULT_POLICY",
    "QUOTA_STATUSES",
    "LimitDecision",
    "LimitPath",
    "LimitPolicy",
    "QuotaRecord",
    "annual_used",
    "decide",
    "is_indivisible",
    "remaining",
]

LimitPath = Literal["retail", "full", "reject"]

CENT = Decimal("0.01")
CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class LimitPolicy:
    """Personal limits in CNY: 5,000 per transaction, 26,000 per calendar year (49号 §1; policy.md §1.1)."""

    single: Decimal = Decimal("5000.00")
    annual: Decimal = Decimal("26000.00")

    def __post_init__(self) -> None:
        if not (0 < self.single <= self.annual):
            raise ValueError("limits must satisfy 0 < single <= annual")


DEFAULT_POLICY = LimitPolicy()


@dataclass(frozen=True, slots=True)
class LimitDecision:
    """The path of one list and why; amounts in CNY, to the fen."""

    path: LimitPath
    #: P, the list's completed tax price
    tax_price: Decimal
    #: the buyer's amount used this year before this list
    used: Decimal
    #: what this list adds to the annual total: P when accepted (either path, 49号 §2), 0 when refused
    counted: Decimal
    #: annual quota left after this list (unchanged when refused)
    remaining: Decimal
    indivisible: bool
    reasons: tuple[Reason, ...] = ()

    @property
    def accepted(self) -> bool:
        return self.path != "reject"


def _qty(line: Node | TaxLine | Decimal | int) -> Decimal | None:
    if isinstance(line, Node):
        value = line.values.get("qty")
        if value is None or value == "":
            return None
        try:
            return value if isinstance(value, Decimal) else Decimal(str(value).strip())
        except InvalidOperation:
            return None
    if isinstance(line, TaxLine):
        return line.qty
    return Decimal(line)


def is_indivisible(lines: Sequence[Node | TaxLine | Decimal | int]) -> bool:
    """One line of declared quantity exactly 1 (see the module docstring). Lines are InventoryList nodes,
    `TaxLine` values or bare quantities."""
    if len(lines) != 1:
        return False
    qty = _qty(lines[0])
    return qty is not None and qty.is_finite() and qty == 1


def remaining(used: Decimal, policy: LimitPolicy = DEFAULT_POLICY) -> Decimal:
    """Annual quota left: the annual limit minus what is used, never below zero."""
    return max(_money(policy.annual - used), Decimal("0.00"))


def decide(
    tax_price: Decimal,
    lines: Sequence[Node | TaxLine | Decimal | int],
    annual_used: Decimal,
    *,
    policy: LimitPolicy = DEFAULT_POLICY,
    list_no: str = "",
) -> LimitDecision:
    """Which path the list takes under the limits (rules in the module docstring).

    `list_no` (the list or order number, never a personal number) fills the "清单[*]" placeholder of the
    official texts. Every finding is reported: a multi-item list over both limits gets -621005 and -621018.
    """
    if tax_price < 0 or annual_used < 0:
        raise ValueError("tax_price and annual_used must not be negative")
    price = _money(tax_price)
    used = _money(annual_used)
    indivisible = is_indivisible(lines)
    over_single = price > policy.single
    over_annual = used + price > policy.annual
    ref = list_no.strip()
    reasons: list[Reason] = []
    if over_single and not indivisible:
        reasons.append(
            Reason(
                "-621005",
                "limits.single",
                f"清单{ref}的购买金额超过单笔限额[{_money(policy.single)}]"
                f"（完税价格{price}元，且订单不是仅一件商品）",
                f"the purchase amount of list {ref} exceeds the single-transaction limit "
                f"[{_money(policy.single)}] (tax price {price} CNY, and the order is not a single item)",
                source="official",
                path="Inventory/InventoryHead",
            )
        )
    if over_annual:
        left = remaining(used, policy)
        reasons.append(
            Reason(
                "-621018",
                "limits.annual",
                f"清单{ref}中购买人已用购买额度为{used}，本次购买将超过年度限额{_money(policy.annual)}"
                f"（本次完税价格{price}元，剩余额度{left}元）",
                f"list {ref}: the buyer has used {used} of the quota; this purchase would exceed the annual "
                f"limit {_money(policy.annual)} (tax price {price} CNY, {left} CNY left)",
                source="official",
                path="Inventory/InventoryHead",
            )
        )
    if reasons:
        return LimitDecision(
            "reject", price, used, Decimal("0.00"), remaining(used, policy), indivisible, tuple(reasons)
        )
    path: LimitPath = "full" if over_single else "retail"
    return LimitDecision(path, price, used, price, remaining(used + price, policy), indivisible)


# ---- the annual quota ledger -----------------------------------------------------------------------------


class QuotaRecord(NamedTuple):
    """One ledger entry of a buyer: a released list (+) or a cancellation or return of one (−).

    `when` dates the list the entry concerns (its release), so a January return of a December purchase gives
    back December's quota: the adjustment belongs to the year the amount was counted in (18号 adjusts the
    annual total of the purchase). The store dates entries that way.
    """

    when: date
    amount: Decimal
    status: str


#: ledger status → sign: released lists count, cancellations (撤单) and returns (退货) give back
QUOTA_STATUSES: dict[str, int] = {"released": 1, "cancelled": -1, "returned": -1}


def _year(when: date, naive: tzinfo) -> int:
    if isinstance(when, datetime):
        aware = when if when.tzinfo is not None else when.replace(tzinfo=naive)
        return aware.astimezone(CHINA_STANDARD_TIME).year
    return when.year


def annual_used(
    records: Iterable[tuple[date, Decimal, str]],
    year: int,
    *,
    naive: tzinfo = CHINA_STANDARD_TIME,
) -> Decimal:
    """The buyer's used amount in calendar `year`: released lists minus cancellations and returns.

    The year is China's calendar year: aware datetimes are converted to China Standard Time, naive ones are
    taken to be in `naive` (pass ``timezone.utc`` for datetimes read from a UTC store); plain dates are used
    as they are. Amounts are positive, the status gives the sign (`QUOTA_STATUSES`); an unknown status or a
    negative amount is a ValueError, never silently ignored. The total is never below zero.
    """
    total = Decimal("0.00")
    for when, amount, status in records:
        sign = QUOTA_STATUSES.get(status)
        if sign is None:
            raise ValueError(f"unknown quota record status {status!r} (known: {', '.join(QUOTA_STATUSES)})")
        if amount < 0:
            raise ValueError("quota record amounts must not be negative; the status gives the sign")
        if _year(when, naive) == year:
            total += sign * amount
    return max(_money(total), Decimal("0.00"))
