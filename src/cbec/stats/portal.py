"""What the portal mounts for statistics: a table and a PNG chart straight from the operational store.

from cbec.stats.portal import table_for, chart_for
lines = table_for(session, by="zone", period="month")          # list[StatLine]
png = chart_for(session, by="mode", period="quarter", kind="bar")  # bytes, image/png
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from cbec.stats import sql
from cbec.stats.charts import chart_png
from cbec.stats.model import DIMENSIONS, StatLine, check, rollup


def table_for(
    session: Session,
    *,
    by: str = "zone",
    period: str = "month",
    start: date | None = None,
    end: date | None = None,
    zone: str | None = None,
) -> list[StatLine]:
    """Rolled-up statistics with growth (raises `BadQuery` for an unknown dimension or period)."""
    check(by, period)
    return rollup(sql.daily_rows(session, by, start=start, end=end, zone=zone), period)


def chart_for(
    session: Session,
    *,
    by: str = "zone",
    period: str = "month",
    kind: str = "line",
    start: date | None = None,
    end: date | None = None,
    zone: str | None = None,
) -> bytes:
    """The same statistics as a PNG chart."""
    lines = table_for(session, by=by, period=period, start=start, end=end, zone=zone)
    return chart_png(lines, f"{DIMENSIONS[by][1]} by {period}", kind="bar" if kind == "bar" else "line")
