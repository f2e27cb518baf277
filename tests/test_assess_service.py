"""The yearly assessment over the store, four years by hand: scores, tiers, missing data reported, the exit
rule's warning and recommendation, status history, re-runs and exited zones."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from cbec.assess.config import parse
from cbec.assess.maths import AssessError
from cbec.assess.report import render_html, scorecard_png, write_xlsx
from cbec.assess.service import assess, history, load_result
from cbec.store.db import Store
from cbec.store.models import AssessmentRunRow
from cbec.zones.service import get_zone_or_raise, load_indicator_values, load_zones, status_history
from zones_helpers import enterprise, released_list

CONFIG = parse(
    b"""
name: four zones
indicators:
  - {key: trade_value, normalization: minmax, weight: 3}
  - {key: overseas_warehouses, source: supplied, normalization: minmax, weight: 1}
tiers: {quotas: [1, 1, 1, 1]}
exit: {lowest_tier_consecutive: 2, warn_ahead: true}
"""
)
TRADE = {  # zone → value of its one released list, by year
    2024: {"za": "400", "zb": "300", "zc": "200", "zd": "100"},
    2025: {"za": "100", "zb": "300", "zc": "200", "zd": "150"},
    2026: {"za": "100", "zb": "300", "zc": "200", "zd": "150"},
    2027: {"zb": "300", "zc": "200", "zd": "100"},
}


def _setup(store: Store, tmp_path: Path) -> None:
    zones = tmp_path / "zones.csv"
    zones.write_text(
        "code,name,province,batch,approved,source\n"
        + "".join(f"z{c},测试{c},浙江省,1,2015-03,test\n" for c in "abcdf")
        + "ze,测试e,浙江省,2025,2026-01,test\n",
        encoding="utf-8",
    )
    warehouses = tmp_path / "supplied.csv"
    warehouses.write_text(
        "zone,year,indicator,value\n"
        "za,2024,overseas_warehouses,10\nzb,2024,overseas_warehouses,0\nzc,2024,overseas_warehouses,5\n"
        + "".join(f"z{c},2025,overseas_warehouses,1\n" for c in "abcd"),
        encoding="utf-8",
    )
    with store.transaction() as session:
        load_zones(session, zones)
        for c in "abcd":
            enterprise(session, f"33019600{ord(c) - 96:02d}", f"z{c}")
        for year, values in TRADE.items():
            for zone, value in values.items():
                ebc = f"33019600{ord(zone[1]) - 96:02d}"
                released_list(session, ebc, datetime(year, 6, 1, tzinfo=UTC), [("3304990099", "116", value)])
        load_indicator_values(session, warehouses)


def test_four_years_of_assessment_and_the_exit_rule(store: Store, tmp_path: Path) -> None:
    _setup(store, tmp_path)
    with store.transaction() as session:
        r2024 = assess(session, 2024, CONFIG)
    by = {z.code: z for z in r2024.zones}
    # trade min–max: 1, 2/3, 1/3, 0; warehouses over za, zb, zc: 1, 0, 0.5; zd did not report them
    assert by["za"].score == pytest.approx(1.0)  # (3·1 + 1·1) / 4
    assert by["zb"].score == pytest.approx(0.5)  # (3·2/3 + 0) / 4
    assert by["zc"].score == pytest.approx(0.375)  # (3·1/3 + 0.5) / 4
    assert by["zd"].score == pytest.approx(0.0)  # trade alone, weight rescaled; not read as warehouses 0
    assert by["zd"].missing == ["overseas_warehouses"] and by["zd"].raw["overseas_warehouses"] is None
    assert [(z.code, z.rank, z.tier, z.action) for z in r2024.zones] == [
        ("za", 1, 1, "none"),
        ("zb", 2, 2, "none"),
        ("zc", 3, 3, "none"),
        ("zd", 4, 4, "warning"),
    ]
    assert r2024.not_assessed == ["zf"]  # no enterprise, no supplied value: reported, not ranked
    assert "ze" not in r2024.not_assessed  # approved in 2026: not yet assessed

    with store.transaction() as session:
        r2025 = assess(session, 2025, CONFIG)
    # trade 100..300: za 0, zb 1, zc 0.5, zd 0.25; warehouses all 1 → 0.5 each
    assert [(z.code, z.score, z.tier, z.action) for z in r2025.zones] == [
        ("zb", pytest.approx(0.875), 1, "none"),
        ("zc", pytest.approx(0.5), 2, "none"),
        ("zd", pytest.approx(0.3125), 3, "none"),
        ("za", pytest.approx(0.125), 4, "warning"),
    ]
    assert {z.code: z.movement for z in r2025.zones} == {"zb": 1, "zc": 1, "zd": 1, "za": -3}

    with store.transaction() as session:
        r2026 = assess(session, 2026, CONFIG)
        assert get_zone_or_raise(session, "za").status == "exited"
        assert get_zone_or_raise(session, "zd").status == "active"
    za = next(z for z in r2026.zones if z.code == "za")
    assert (za.tier, za.action, za.streak, za.status) == (4, "exit", 2, "exited")
    assert all(z.missing == ["overseas_warehouses"] for z in r2026.zones)  # nobody reported them for 2026

    with store.transaction() as session:  # the same year again: the same result, the old run superseded
        again = assess(session, 2026, CONFIG)
        runs = session.scalars(select(AssessmentRunRow).where(AssessmentRunRow.year == 2026)).all()
    assert [(z.code, z.tier, z.action) for z in again.zones] == [
        (z.code, z.tier, z.action) for z in r2026.zones
    ]
    assert sorted(r.current for r in runs) == [False, True]

    with store.transaction() as session:
        r2027 = assess(session, 2027, CONFIG)
        za_history = history(session, "za")
        changes = [(c.previous, c.status) for c in status_history(session, "zd")]
        stored = load_result(session, 2026)
    assert r2027.exited == ["za"] and "za" not in {z.code for z in r2027.zones}
    assert sorted(r2027.not_assessed) == ["ze", "zf"]
    assert [(y, t, a) for y, _, _, t, a in za_history] == [
        (2024, 1, "none"),
        (2025, 4, "warning"),
        (2026, 4, "exit"),
    ]
    assert changes[:2] == [("active", "warned"), ("warned", "active")]
    assert [(z.code, z.rank, z.tier) for z in stored.zones] == [(z.code, z.rank, z.tier) for z in again.zones]

    page = render_html(stored)
    assert "建议退出 / exit recommended" in page and "测试a" in page and "<script" not in page
    assert scorecard_png(stored, "za").startswith(b"\x89PNG")
    write_xlsx(stored, tmp_path / "r.xlsx")
    assert (tmp_path / "r.xlsx").stat().st_size > 0


def test_an_unranked_year_keeps_the_warning(store: Store, tmp_path: Path) -> None:
    _setup(store, tmp_path)
    strict = parse(
        b"""
indicators:
  - {key: trade_value, weight: 3}
  - {key: overseas_warehouses, source: supplied, weight: 1}
tiers: {quotas: [1, 1, 1, 1]}
missing: exclude
"""
    )
    with store.transaction() as session:
        assess(session, 2025, strict)
        assert get_zone_or_raise(session, "za").status == "warned"
        r2026 = assess(session, 2026, strict)  # nobody reported warehouses for 2026: nobody is ranked
        assert get_zone_or_raise(session, "za").status == "warned"
    assert all(z.rank is None and z.tier is None for z in r2026.zones)
    assert all("not ranked: indicators missing" in " ".join(z.notes) for z in r2026.zones)


def test_report_escapes_names(store: Store, tmp_path: Path) -> None:
    _setup(store, tmp_path)
    with store.transaction() as session:
        get_zone_or_raise(session, "za").name = "<script>alert(1)</script>"
        result = assess(session, 2024, CONFIG)
    page = render_html(result)
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_a_year_without_a_run_is_reported(store: Store) -> None:
    with (
        store.transaction() as session,
        pytest.raises(AssessError, match="no assessment has been run for 2030"),
    ):
        load_result(session, 2030)
    with store.transaction() as session, pytest.raises(AssessError, match="year 1999 is not valid"):
        assess(session, 1999, CONFIG)
