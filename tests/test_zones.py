"""The zone registry: the shipped, sourced zones; operator files checked as a whole; parks; enterprise
links; supplied indicator values; status changes. Every bad input names its problem and loads nothing."""

from __future__ import annotations

import csv
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cbec.ceb.errors import CebError
from cbec.store.db import Store
from cbec.store.models import ParkRow, ZoneIndicatorRow, ZoneRow
from cbec.zones.errors import BadLink, BadPark, BadStatus, BadZoneFile, UnknownZone
from cbec.zones.service import (
    add_park,
    get_all,
    get_zone_or_raise,
    indicator_values,
    link_enterprise,
    load_indicator_values,
    load_parks,
    load_zones,
    parks_of,
    set_status,
    status_history,
)
from zones_helpers import enterprise


def _count(store: Store, table: type) -> int:
    with store.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_shipped_zones_are_sourced() -> None:
    text = (resources.files("cbec") / "data" / "zones.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    assert len(rows) == 96
    assert all(r["source"].startswith("http") for r in rows)
    by_batch: dict[str, list[str]] = {}
    for r in rows:
        by_batch.setdefault(r["batch"], []).append(r["name"])
    assert by_batch["1"] == ["杭州"]
    assert len(by_batch["2"]) == 12 and len(by_batch["3"]) == 22 and len(by_batch["5"]) == 46
    assert "雄安新区" in by_batch["5"] and "乌鲁木齐" in by_batch["5"]


def test_load_shipped_zones_and_keep_status_on_reload(store: Store) -> None:
    with store.transaction() as session:
        assert load_zones(session) == 96
        set_status(session, "hangzhou", "warned", "test")
    with store.transaction() as session:
        load_zones(session)
        zone = get_zone_or_raise(session, "杭州")  # by name too
        assert (zone.code, zone.batch, zone.approved, zone.status) == ("hangzhou", "1", "2015-03", "warned")
        assert [z.code for z in get_all(session, status="warned")] == ["hangzhou"]
        with pytest.raises(UnknownZone) as caught:
            get_zone_or_raise(session, "atlantis")
        assert caught.value.code == "CBEC-0701" and "不在登记册中" in caught.value.zh


def test_a_bad_zone_file_names_every_bad_row_and_loads_nothing(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "zones.csv"
    path.write_text(
        "代码,名称,省份,批次,批准日期\n"
        "good,好,浙江省,2,2016-01\n"
        "Bad Code,坏,浙江省,2,\n"
        "good,重复,浙江省,2,\n"
        "nine,九,浙江省,9,\n"
        "date,日期,浙江省,3,2018/07\n",
        encoding="utf-8",
    )
    with pytest.raises(BadZoneFile) as caught, store.transaction() as session:
        load_zones(session, path)
    message = caught.value.en
    assert "4 problem(s), nothing loaded" in message
    assert "row 3: code 'bad code' must be lowercase ASCII" in message
    assert "row 4: code good appears twice" in message
    assert "row 5: batch must be one of" in message
    assert "row 6: approved must be YYYY-MM or YYYY-MM-DD" in message
    assert "第3行" in caught.value.zh
    assert _count(store, ZoneRow) == 0
    path.write_text("code,name,province,batch,colour\nx1,X,浙江省,2,red\n", encoding="utf-8")
    with pytest.raises(BadZoneFile, match="unknown columns: colour"), store.transaction() as session:
        load_zones(session, path)
    path.write_text("code,name,batch\nx1,X,2\n", encoding="utf-8")
    with pytest.raises(BadZoneFile, match="lacks required columns: province"), store.transaction() as session:
        load_zones(session, path)


def test_zones_from_xlsx(store: Store, tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["code", "name", "province", "batch", "approved", "source"])
    book.active.append(["langfang", "廊坊", "河北省", "7", "2022-11", "operator file"])
    book.save(tmp_path / "z.xlsx")
    with store.transaction() as session:
        assert load_zones(session, tmp_path / "z.xlsx") == 1
        assert get_zone_or_raise(session, "langfang").batch == "7"
    (tmp_path / "broken.xlsx").write_bytes(b"not a zip")
    with pytest.raises(BadZoneFile, match="is not a valid XLSX file"), store.transaction() as session:
        load_zones(session, tmp_path / "broken.xlsx")


def test_parks_and_enterprise_links(store: Store, tmp_path: Path) -> None:
    with store.transaction() as session:
        load_zones(session)
        park = add_park(session, "hangzhou", "下城园区", "产业园", Decimal("1.5"))
        other = add_park(session, "ningbo", "保税园区", "物流园")
        with pytest.raises(BadPark, match="already registered"):
            add_park(session, "hangzhou", "下城园区", "产业园")
        with pytest.raises(BadPark, match="non-negative"):
            add_park(session, "hangzhou", "负面积", "产业园", Decimal("-1"))
        enterprise(session, "3301960001", "hangzhou", park.id)
        enterprise(session, "3301960002")
        with pytest.raises(BadLink, match="is not a park of hangzhou"):
            link_enterprise(session, "3301960002", "hangzhou", other.id)
        with pytest.raises(BadLink, match="is not registered"):
            link_enterprise(session, "0000000000", "hangzhou")
        with pytest.raises(UnknownZone):
            link_enterprise(session, "3301960002", "atlantis")
        counts = {p.name: n for p, n in parks_of(session)}
        assert counts == {"下城园区": 1, "保税园区": 0}
    path = tmp_path / "parks.csv"
    path.write_text(
        "综试区,名称,类型,面积\n宁波,梅山园区,物流园,2\natlantis,X,产业园,\nningbo,Y,产业园,abc\n", "utf-8"
    )
    with pytest.raises(BadZoneFile) as caught, store.transaction() as session:
        load_parks(session, path)
    assert "row 3: zone 'atlantis' is not registered" in caught.value.en
    assert "row 4: area must be a non-negative number" in caught.value.en
    assert _count(store, ParkRow) == 2
    path.write_text("zone,name,type,area_km2\n宁波,梅山园区,物流园,2\n", "utf-8")
    with store.transaction() as session:
        assert load_parks(session, path) == 1


def test_supplied_indicator_values(store: Store, tmp_path: Path) -> None:
    with store.transaction() as session:
        load_zones(session)
    path = tmp_path / "v.csv"
    path.write_text(
        "zone,year,indicator,value\n"
        "hangzhou,2025,overseas_warehouses,12\n"
        "atlantis,2025,overseas_warehouses,1\n"
        "hangzhou,25,overseas_warehouses,1\n"
        "hangzhou,2025,Bad-Name,1\n"
        "ningbo,2025,overseas_warehouses,many\n"
        "hangzhou,2025,overseas_warehouses,13\n",
        encoding="utf-8",
    )
    with pytest.raises(BadZoneFile) as caught, store.transaction() as session:
        load_indicator_values(session, path)
    en = caught.value.en
    for expected in (
        "row 3: zone 'atlantis' is not registered",
        "row 4: year '25' is not valid",
        "row 5: indicator name 'Bad-Name' is not valid",
        "row 6: value 'many' is not a number",
        "row 7: the same zone, year and indicator appear twice",
    ):
        assert expected in en
    assert _count(store, ZoneIndicatorRow) == 0
    path.write_text("zone,year,indicator,value\nhangzhou,2025,overseas_warehouses,12\n", "utf-8")
    with store.transaction() as session:
        load_indicator_values(session, path)
    path.write_text("zone,year,indicator,value\n杭州,2025,overseas_warehouses,14.5\n", "utf-8")
    with store.transaction() as session:
        load_indicator_values(session, path)  # replaces the earlier value
        assert indicator_values(session, 2025) == {"overseas_warehouses": {"hangzhou": Decimal("14.5")}}


def test_status_changes_are_kept(store: Store) -> None:
    with store.transaction() as session:
        load_zones(session)
        assert set_status(session, "ningbo", "warned", "一 / one")
        assert not set_status(session, "ningbo", "warned", "again")
        assert set_status(session, "ningbo", "active", "二 / two")
        with pytest.raises(BadStatus, match="status must be one of"):
            set_status(session, "ningbo", "closed", "x")
        changes = [(c.previous, c.status, c.reason) for c in status_history(session, "ningbo")]
    assert changes == [("active", "warned", "一 / one"), ("warned", "active", "二 / two")]
    assert issubclass(BadStatus, CebError)


def test_migration_0007_goes_down_and_up_with_registered_enterprises(store: Store) -> None:
    """Going down drops park_id in place (no rebuild of the enterprises table api_keys refers to)."""
    from alembic import command
    from alembic.script import ScriptDirectory

    from cbec.registry import issue_key
    from cbec.store.migrate import alembic_config, current, upgrade

    with store.transaction() as session:
        load_zones(session)
        enterprise(session, "3301960001", "hangzhou")
        issue_key(session, "3301960001")
    config = alembic_config(store.engine)
    below = ScriptDirectory.from_config(config).get_revision("0007").down_revision
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, str(below))
    assert current(store.engine) == below
    upgrade(store.engine)
    with store.transaction() as session:
        assert session.scalar(select(func.count()).select_from(ZoneRow)) == 0
