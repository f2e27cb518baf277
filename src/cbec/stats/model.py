"""Pure statistics over daily rows: roll-up to periods, growth and rankings. Money stays `Decimal`.

A daily row is the total of released lists for one China-time day and one value of a dimension. Counting
lists per day is exact for any longer period because a list is released on exactly one day, so periods
are sums of days.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from cbec.stats.errors import BadQuery

#: dimension → (中文, English)
DIMENSIONS: dict[str, tuple[str, str]] = {
    "total": ("合计", "total"),
    "zone": ("综试区", "pilot zone"),
    "park": ("园区", "park"),
    "direction": ("进出口", "direction"),
    "mode": ("监管方式", "supervision mode"),
    "country": ("国别（原产国）", "partner country (origin)"),
    "chapter": ("HS 章", "HS chapter"),
    "enterprise": ("电商企业", "e-commerce enterprise (ebcCode)"),
}
PERIODS: dict[str, tuple[str, str]] = {
    "day": ("日", "day"),
    "month": ("月", "month"),
    "quarter": ("季", "quarter"),
    "year": ("年", "year"),
}
#: supervision modes the statistics know (9610 and 1210 are what the import engine clears today)
MODES = ("9610", "1210", "1239", "9710", "9810")
PERCENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class DailyRow:
    day: date
    key: str
    value: Decimal
    lists: int
    lines: int


@dataclass(frozen=True, slots=True)
class StatLine:
    """One period and dimension value: totals and growth in percent (None when there is no base)."""

    period: str
    key: str
    value: Decimal
    lists: int
    lines: int
    mom: Decimal | None
    yoy: Decimal | None


def check(dimension: str, period: str) -> None:
    if dimension not in DIMENSIONS:
        raise BadQuery(
            f"未知的统计维度 {dimension!r}，可选：{', '.join(DIMENSIONS)}",
            f"unknown dimension {dimension!r}; choose one of {', '.join(DIMENSIONS)}",
        )
    if period not in PERIODS:
        raise BadQuery(
            f"未知的统计周期 {period!r}，可选：{', '.join(PERIODS)}",
            f"unknown period {period!r}; choose one of {', '.join(PERIODS)}",
        )


def label(day: date, period: str) -> str:
    """The period a day falls in: 2025-03-14, 2025-03, 2025-Q1 or 2025."""
    if period == "day":
        return day.isoformat()
    if period == "month":
        return f"{day.year:04d}-{day.month:02d}"
    if period == "quarter":
        return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year:04d}"


def previous(period_label: str, period: str) -> str:
    """The period just before (month-on-month; for a year it is the year before)."""
    if period == "day":
        return date.fromordinal(date.fromisoformat(period_label).toordinal() - 1).isoformat()
    if period == "month":
        year, month = int(period_label[:4]), int(period_label[5:7])
        return f"{year - 1:04d}-12" if month == 1 else f"{year:04d}-{month - 1:02d}"
    if period == "quarter":
        year, quarter = int(period_label[:4]), int(period_label[6])
        return f"{year - 1:04d}-Q4" if quarter == 1 else f"{year:04d}-Q{quarter - 1}"
    return f"{int(period_label) - 1:04d}"


def year_before(period_label: str, period: str) -> str:
    """The same period one year earlier (year-on-year); 29 February compares with 28 February."""
    if period == "day":
        day = date.fromisoformat(period_label)
        try:
            return day.replace(year=day.year - 1).isoformat()
        except ValueError:
            return day.replace(year=day.year - 1, day=28).isoformat()
    return f"{int(period_label[:4]) - 1:04d}{period_label[4:]}"


def growth(current: Decimal, base: Decimal | None) -> Decimal | None:
    """Growth in percent, rounded half up to 0.01; None when the base is missing or zero."""
    if base is None or base == 0:
        return None
    return ((current - base) * 100 / base).quantize(PERCENT, rounding=ROUND_HALF_UP)


def rollup(rows: Iterable[DailyRow], period: str) -> list[StatLine]:
    """Daily rows summed into periods, with growth against the previous period and the year before.

    Growth compares with the base period's total for the same key; a period with no rows is absent, so its
    successor's month-on-month growth is None, never a growth from zero."""
    totals: dict[tuple[str, str], list[Decimal | int]] = {}
    for row in rows:
        cell = totals.setdefault((label(row.day, period), row.key), [Decimal(0), 0, 0])
        cell[0] = Decimal(cell[0]) + row.value
        cell[1] = int(cell[1]) + row.lists
        cell[2] = int(cell[2]) + row.lines
    lines = []
    for (p, key), (value, lists, count) in sorted(totals.items()):
        value = Decimal(value)
        before = totals.get((previous(p, period), key))
        last_year = totals.get((year_before(p, period), key))
        lines.append(
            StatLine(
                p,
                key,
                value,
                int(lists),
                int(count),
                growth(value, Decimal(before[0]) if before else None),
                growth(value, Decimal(last_year[0]) if last_year else None),
            )
        )
    return lines


def top(lines: Iterable[StatLine], n: int, period: str | None = None, by: str = "value") -> list[StatLine]:
    """The `n` largest keys of one period (the latest when None), by value or list count; ties by key."""
    if n < 1:
        raise BadQuery("排名数量应至少为1", "the number of ranks must be at least 1")
    if by not in ("value", "lists"):
        raise BadQuery("排名依据应为 value 或 lists", "rank by value or lists")
    chosen = list(lines)
    if not chosen:
        return []
    wanted = period or max(line.period for line in chosen)
    in_period = [line for line in chosen if line.period == wanted]
    return sorted(in_period, key=lambda s: (-(s.value if by == "value" else s.lists), s.key))[:n]
