"""Statistics on the operational store: daily rows grouped in the database (SQLite or PostgreSQL).

Source: current declaration lists (kind ``list``) with status ``released`` (what `clearance.decide`
writes on release; cancelled lists leave the statistics), joined to their item lines. Value is the line's
``totalPrice`` as declared (the engine takes CNY lists); the enterprise is the list's ``ebcCode`` (the
e-commerce enterprise, the party a zone registers and is assessed on), and its zone and park come from the
enterprise register. All lists the engine clears are imports (CEB621); export lists (9610/9710/9810 export)
will join the `direction` dimension when the export engine stores them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, String, cast, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from cbec.stats.model import DailyRow, check
from cbec.store.models import DocumentLineRow, DocumentRow, EnterpriseRow, ParkRow

CST = timezone(timedelta(hours=8))
SCALE = 100000  # Numeric(19, 5): SQLite sums scaled integers so that no float rounding enters a total


def cst_bounds(start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    """China-time days [start, end] as UTC instants [from, to)."""
    low = datetime.combine(start, time(), CST).astimezone(UTC) if start else None
    high = datetime.combine(end + timedelta(days=1), time(), CST).astimezone(UTC) if end else None
    return low, high


def _day(dialect: str) -> ColumnElement[Any]:
    if dialect == "sqlite":
        return func.date(DocumentRow.released_at, "+8 hours")
    return func.to_char(func.timezone("Asia/Shanghai", DocumentRow.released_at), "YYYY-MM-DD")


def _value(dialect: str) -> ColumnElement[Any]:
    price = func.coalesce(DocumentLineRow.total_price, 0)
    if dialect == "sqlite":
        return func.sum(cast(func.round(price * SCALE), Integer))
    return func.sum(price)


def _key(dimension: str) -> ColumnElement[Any] | None:
    return {
        "zone": func.coalesce(EnterpriseRow.zone, ""),
        "park": func.coalesce(ParkRow.zone_code + "/" + ParkRow.name, ""),
        "mode": func.coalesce(DocumentRow.trade_mode, ""),
        "country": func.coalesce(DocumentLineRow.country, ""),
        "chapter": func.coalesce(func.substr(DocumentLineRow.gcode, 1, 2), ""),
        "enterprise": func.coalesce(DocumentRow.ebc_code, ""),
    }.get(dimension)


def _released(query: Any, start: date | None, end: date | None, zone: str | None) -> Any:
    query = (
        query.select_from(DocumentRow)
        .join(DocumentLineRow, DocumentLineRow.document_id == DocumentRow.id)
        .outerjoin(EnterpriseRow, EnterpriseRow.code == DocumentRow.ebc_code)
        .outerjoin(ParkRow, ParkRow.id == EnterpriseRow.park_id)
        .where(
            DocumentRow.kind == "list",
            DocumentRow.current.is_(True),
            DocumentRow.status == "released",
            DocumentRow.released_at.is_not(None),
        )
    )
    low, high = cst_bounds(start, end)
    if low is not None:
        query = query.where(DocumentRow.released_at >= low)
    if high is not None:
        query = query.where(DocumentRow.released_at < high)
    if zone is not None:
        query = query.where(EnterpriseRow.zone == zone)
    return query


def daily_rows(
    session: Session,
    dimension: str,
    *,
    start: date | None = None,
    end: date | None = None,
    zone: str | None = None,
) -> list[DailyRow]:
    """Released lines summed per China-time day and dimension value, in the database."""
    check(dimension, "day")
    dialect = session.get_bind().dialect.name
    day = _day(dialect)
    key = _key(dimension)
    columns: list[ColumnElement[Any]] = [day.label("day")]
    if key is not None:
        columns.append(key.label("key"))
    columns += [
        _value(dialect).label("value"),
        func.count(func.distinct(DocumentRow.id)).label("lists"),
        func.count(DocumentLineRow.id).label("lines"),
    ]
    query = _released(select(*columns), start, end, zone)
    query = query.group_by(day) if key is None else query.group_by(day, key)
    constant = "import" if dimension == "direction" else "all"
    out = []
    for row in session.execute(query):
        value = Decimal(row.value or 0)
        if dialect == "sqlite":
            value = value / SCALE
        out.append(
            DailyRow(
                date.fromisoformat(str(row.day)[:10]),
                str(row.key) if key is not None else constant,
                value.quantize(Decimal("0.00001")),
                int(row.lists),
                int(row.lines),
            )
        )
    return sorted(out, key=lambda r: (r.day, r.key))


@dataclass(frozen=True, slots=True)
class Fact:
    """One released line, as exported to Parquet."""

    list_id: int
    day: date
    zone: str
    park: str
    direction: str
    mode: str
    country: str
    chapter: str
    enterprise: str
    value: Decimal


def facts(
    session: Session, *, start: date | None = None, end: date | None = None, batch: int = 5000
) -> Iterator[Fact]:
    """Every released line with its dimensions, ordered by release time (streamed in batches)."""
    query = _released(
        select(
            DocumentRow.id,
            DocumentRow.released_at,
            EnterpriseRow.zone,
            ParkRow.zone_code,
            ParkRow.name,
            DocumentRow.trade_mode,
            DocumentLineRow.country,
            cast(DocumentLineRow.gcode, String),
            DocumentRow.ebc_code,
            DocumentLineRow.total_price,
        ),
        start,
        end,
        None,
    ).order_by(DocumentRow.released_at, DocumentRow.id, DocumentLineRow.gnum)
    for row in session.execute(query.execution_options(yield_per=batch)):
        list_id, released, zone, park_zone, park_name, mode, country, gcode, ebc, price = row
        yield Fact(
            int(list_id),
            released.astimezone(CST).date(),
            zone or "",
            f"{park_zone}/{park_name}" if park_name is not None else "",
            "import",
            mode or "",
            country or "",
            (gcode or "")[:2],
            ebc or "",
            Decimal(price or 0).quantize(Decimal("0.00001")),
        )
