"""Statistics: daily rows from the store pinned by hand, roll-ups and growth, and the same numbers from
DuckDB over the month-partitioned Parquet export (on SQLite and on PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from cbec.stats import parquet
from cbec.stats import sql as stats_sql
from cbec.stats.errors import BadQuery, ExportExists, NoParquet
from cbec.stats.model import DailyRow, check, growth, rollup, top
from cbec.store.db import Store
from cbec.zones.service import add_park, load_zones
from zones_helpers import enterprise, released_list


def _data(store: Store) -> None:
    with store.transaction() as session:
        load_zones(session)
        park = add_park(session, "hangzhou", "综合园区", "综合园区").id
        enterprise(session, "3301960001", "hangzhou", park)
        enterprise(session, "4401960001", "guangzhou")
        enterprise(session, "9999960001")  # registered, no zone
        # 2025-01-31 20:00 China time (12:00 UTC)
        released_list(
            session,
            "3301960001",
            datetime(2025, 1, 31, 12, tzinfo=UTC),
            [("3304990099", "116", "100.10"), ("1901101000", "502", "50.05")],
        )
        # 2025-02-01 00:30 China time, though 2025-01-31 16:30 UTC: the China-time day counts
        released_list(
            session,
            "3301960001",
            datetime(2025, 1, 31, 16, 30, tzinfo=UTC),
            [("3304990099", "116", "200.00")],
            mode="1210",
        )
        released_list(
            session, "4401960001", datetime(2025, 2, 10, 2, tzinfo=UTC), [("6403990000", "304", "0.29")]
        )
        released_list(
            session, "4401960001", datetime(2026, 2, 10, 2, tzinfo=UTC), [("6403990000", "304", "1.00")]
        )
        released_list(
            session, "9999960001", datetime(2026, 3, 1, 2, tzinfo=UTC), [("3304990099", "110", "7.77")]
        )
        # not statistics: rejected, cancelled, and an order
        released_list(
            session,
            "3301960001",
            datetime(2025, 3, 1, tzinfo=UTC),
            [("3304", "116", "999")],
            status="rejected",
        )
        released_list(
            session,
            "3301960001",
            datetime(2025, 3, 1, tzinfo=UTC),
            [("3304", "116", "999")],
            status="cancelled",
        )
        released_list(
            session, "3301960001", datetime(2025, 3, 1, tzinfo=UTC), [("3304", "116", "999")], kind="order"
        )


def test_daily_rows_by_zone_count_china_time_days(store: Store) -> None:
    _data(store)
    with store.transaction() as session:
        rows = stats_sql.daily_rows(session, "zone")
    assert rows == [
        DailyRow(date(2025, 1, 31), "hangzhou", Decimal("150.15000"), 1, 2),
        DailyRow(date(2025, 2, 1), "hangzhou", Decimal("200.00000"), 1, 1),
        DailyRow(date(2025, 2, 10), "guangzhou", Decimal("0.29000"), 1, 1),
        DailyRow(date(2026, 2, 10), "guangzhou", Decimal("1.00000"), 1, 1),
        DailyRow(date(2026, 3, 1), "", Decimal("7.77000"), 1, 1),
    ]
    with store.transaction() as session:
        chapters = stats_sql.daily_rows(session, "chapter", start=date(2025, 1, 1), end=date(2025, 1, 31))
        modes = stats_sql.daily_rows(session, "mode", zone="hangzhou")
        parks = stats_sql.daily_rows(session, "park", end=date(2025, 12, 31))
    assert [(r.key, r.value) for r in chapters] == [("19", Decimal("50.05")), ("33", Decimal("100.10"))]
    assert [(r.day.isoformat(), r.key, r.value) for r in modes] == [
        ("2025-01-31", "9610", Decimal("150.15")),
        ("2025-02-01", "1210", Decimal("200.00")),
    ]
    assert {r.key for r in parks} == {"hangzhou/综合园区", ""}


def test_roll_up_growth_and_top(store: Store) -> None:
    _data(store)
    with store.transaction() as session:
        rows = stats_sql.daily_rows(session, "zone")
    months = {(s.period, s.key): s for s in rollup(rows, "month")}
    assert months[("2025-01", "hangzhou")].value == Decimal("150.15")
    # February 2025 against January: (200 - 150.15) / 150.15 = 33.2001 %
    assert months[("2025-02", "hangzhou")].mom == Decimal("33.20")
    # guangzhou February 2026 against February 2025: (1.00 - 0.29) / 0.29 = 244.83 %
    assert months[("2026-02", "guangzhou")].yoy == Decimal("244.83")
    assert months[("2026-02", "guangzhou")].mom is None  # January 2026 had nothing: no base, no growth
    years = rollup(rows, "year")
    assert [(s.period, s.key, s.value, s.lists) for s in years] == [
        ("2025", "guangzhou", Decimal("0.29"), 1),
        ("2025", "hangzhou", Decimal("350.15"), 2),
        ("2026", "", Decimal("7.77"), 1),
        ("2026", "guangzhou", Decimal("1.00"), 1),
    ]
    quarters = rollup(rows, "quarter")
    assert {s.period for s in quarters} == {"2025-Q1", "2026-Q1"}
    assert [s.key for s in top(years, 1, "2025")] == ["hangzhou"]
    assert [s.key for s in top(years, 5)] == ["", "guangzhou"]


def test_growth_rounds_half_up_and_has_no_base_at_zero() -> None:
    assert growth(Decimal("1.005"), Decimal("1")) == Decimal("0.50")
    assert growth(Decimal("2"), Decimal("3")) == Decimal("-33.33")
    assert growth(Decimal("1"), Decimal("0")) is None and growth(Decimal("1"), None) is None


def test_duckdb_over_parquet_agrees_with_the_store(store: Store, tmp_path: Path) -> None:
    _data(store)
    folder = tmp_path / "pq"
    with store.transaction() as session:
        written = parquet.export(stats_sql.facts(session), folder)
    assert written == {"2025-01": 2, "2025-02": 2, "2026-02": 1, "2026-03": 1}
    assert (folder / "month=2025-02" / "part-00000.parquet").is_file()
    for dimension in ("total", "zone", "park", "direction", "mode", "country", "chapter", "enterprise"):
        for kwargs in ({}, {"start": date(2025, 2, 1), "end": date(2026, 2, 28)}, {"zone": "hangzhou"}):
            with store.transaction() as session:
                expected = stats_sql.daily_rows(session, dimension, **kwargs)
            assert parquet.daily_rows(folder, dimension, **kwargs) == expected, (dimension, kwargs)
    with pytest.raises(ExportExists), store.transaction() as session:
        parquet.export(stats_sql.facts(session), folder)


def test_bad_queries_are_refused(tmp_path: Path) -> None:
    with pytest.raises(BadQuery, match="unknown dimension 'city'"):
        parquet.daily_rows(tmp_path, "city")
    with pytest.raises(NoParquet, match="no month-partitioned Parquet files"):
        parquet.daily_rows(tmp_path, "zone")
    with pytest.raises(BadQuery, match="unknown period 'week'"):
        check("zone", "week")
