"""Use cases of the zone registry: load zones and parks, link enterprises, take supplied indicator values,
change a zone's status. Each function works inside the caller's transaction and never commits; every bad
input is refused before anything is written, so a refused file leaves the store as it was."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cbec.store.models import EnterpriseRow, ParkRow, ZoneIndicatorRow, ZoneRow, ZoneStatusChangeRow
from cbec.zones.errors import BadLink, BadPark, BadStatus, BadZoneFile, UnknownZone
from cbec.zones.tables import read_rows, require

#: approval batches as policy.md §6.2 numbers them: 1–7, then the 2025 batch
BATCHES = ("1", "2", "3", "4", "5", "6", "7", "2025")
STATUSES: dict[str, tuple[str, str]] = {
    "active": ("正常", "active"),
    "warned": ("预警", "warned"),
    "exited": ("已退出", "exited"),
}
_CODE = re.compile(r"[a-z][a-z0-9-]{1,31}\Z")
_APPROVED = re.compile(r"\d{4}-\d{2}(-\d{2})?\Z")

ZONE_COLUMNS = {
    "code": "code",
    "代码": "code",
    "name": "name",
    "名称": "name",
    "province": "province",
    "省份": "province",
    "batch": "batch",
    "批次": "batch",
    "approved": "approved",
    "批准日期": "approved",
    "document": "document",
    "批复文件": "document",
    "source": "source",
    "来源": "source",
}
PARK_COLUMNS = {
    "zone": "zone",
    "综试区": "zone",
    "name": "name",
    "名称": "name",
    "type": "kind",
    "kind": "kind",
    "类型": "kind",
    "area_km2": "area",
    "area": "area",
    "面积": "area",
}
INDICATOR_COLUMNS = {
    "zone": "zone",
    "综试区": "zone",
    "year": "year",
    "年度": "year",
    "indicator": "indicator",
    "指标": "indicator",
    "value": "value",
    "值": "value",
    "数值": "value",
    "source": "source",
    "来源": "source",
}


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _refuse(name: str, problems: list[tuple[int, str, str]]) -> None:
    """One error naming every bad row (row numbers as the operator sees them: the header is row 1)."""
    if problems:
        raise BadZoneFile(
            f"{name} 有 {len(problems)} 处错误，未导入任何数据："
            + "；".join(f"第{n}行 {zh}" for n, zh, _ in problems),
            f"{name} has {len(problems)} problem(s), nothing loaded: "
            + "; ".join(f"row {n}: {en}" for n, _, en in problems),
        )


# ---- zones ----


@dataclass(frozen=True, slots=True)
class ZoneSpec:
    code: str
    name: str
    province: str
    batch: str
    approved: str | None
    document: str | None
    source: str | None


def check_zone_rows(rows: Sequence[dict[str, str]], name: str) -> list[ZoneSpec]:
    """Zone rows checked as a whole: codes, batches, dates; a duplicate code in the file is an error."""
    require(list(rows), ("code", "name", "province", "batch"), name)
    problems: list[tuple[int, str, str]] = []
    specs: list[ZoneSpec] = []
    seen: set[str] = set()
    for n, row in enumerate(rows, 2):
        code = row.get("code", "").lower()
        if not _CODE.match(code):
            problems.append(
                (n, f"代码 {code!r} 应为小写字母开头的字母数字", f"code {code!r} must be lowercase ASCII")
            )
        elif code in seen:
            problems.append((n, f"代码 {code} 重复", f"code {code} appears twice"))
        seen.add(code)
        if not row.get("name") or not row.get("province"):
            problems.append((n, "名称和省份不能为空", "name and province must not be empty"))
        if row.get("batch", "") not in BATCHES:
            problems.append((n, f"批次应为 {'/'.join(BATCHES)}", f"batch must be one of {'/'.join(BATCHES)}"))
        approved = row.get("approved") or None
        if approved is not None and not _APPROVED.match(approved):
            problems.append(
                (n, "批准日期应为 YYYY-MM 或 YYYY-MM-DD", "approved must be YYYY-MM or YYYY-MM-DD")
            )
        specs.append(
            ZoneSpec(
                code,
                row.get("name", ""),
                row.get("province", ""),
                row.get("batch", ""),
                approved,
                row.get("document") or None,
                row.get("source") or None,
            )
        )
    _refuse(name, problems)
    return specs


def load_zones(session: Session, path: Path | None = None, now: datetime | None = None) -> int:
    """Load zones from an operator file (CSV/XLSX), or the shipped, sourced `data/zones.csv` when `path` is
    None. A zone already registered is updated (its status is kept). Returns the number of rows taken."""
    if path is None:
        with resources.as_file(resources.files("cbec") / "data" / "zones.csv") as shipped:
            rows = read_rows(shipped, ZONE_COLUMNS)
        name = "zones.csv"
    else:
        rows = read_rows(path, ZONE_COLUMNS)
        name = path.name
    if not rows:
        raise BadZoneFile(f"{name} 没有数据行", f"{name} has no data rows")
    specs = check_zone_rows(rows, name)
    moment = _now(now)
    for spec in specs:
        row = session.get(ZoneRow, spec.code)
        if row is None:
            row = ZoneRow(code=spec.code, status="active")
            session.add(row)
        row.name, row.province, row.batch = spec.name, spec.province, spec.batch
        row.approved, row.document, row.source = spec.approved, spec.document, spec.source
        row.updated_at = moment
    session.flush()
    return len(specs)


def get_zone_or_raise(session: Session, code: str) -> ZoneRow:
    """The zone of `code` (its ASCII key or its exact Chinese name), or UnknownZone."""
    key = code.strip()
    row = session.get(ZoneRow, key.lower())
    if row is None:
        row = session.scalars(select(ZoneRow).where(ZoneRow.name == key)).first()
    if row is None:
        raise UnknownZone(f"综试区 {code!r} 不在登记册中", f"zone {code!r} is not in the registry")
    return row


def get_all(session: Session, *, status: str | None = None) -> list[ZoneRow]:
    """Every registered zone, by batch then code."""
    query = select(ZoneRow)
    if status is not None:
        query = query.where(ZoneRow.status == status)
    rows = list(session.scalars(query))
    return sorted(rows, key=lambda z: (BATCHES.index(z.batch) if z.batch in BATCHES else 99, z.code))


def set_status(
    session: Session,
    code: str,
    status: str,
    reason: str,
    *,
    run_id: int | None = None,
    now: datetime | None = None,
) -> bool:
    """Change a zone's status and record why; returns False when it already had that status."""
    if status not in STATUSES:
        raise BadStatus(f"状态应为 {', '.join(STATUSES)}", f"status must be one of {', '.join(STATUSES)}")
    zone = get_zone_or_raise(session, code)
    if zone.status == status:
        return False
    moment = _now(now)
    session.add(
        ZoneStatusChangeRow(
            zone_code=zone.code, previous=zone.status, status=status, reason=reason, run_id=run_id, at=moment
        )
    )
    zone.status = status
    zone.updated_at = moment
    session.flush()
    return True


def status_history(session: Session, code: str) -> list[ZoneStatusChangeRow]:
    zone = get_zone_or_raise(session, code)
    return list(
        session.scalars(
            select(ZoneStatusChangeRow)
            .where(ZoneStatusChangeRow.zone_code == zone.code)
            .order_by(ZoneStatusChangeRow.id)
        )
    )


# ---- parks ----


def _area(text: str) -> Decimal | None:
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return Decimal(-1)
    return value if value.is_finite() else Decimal(-1)


def add_park(
    session: Session,
    zone: str,
    name: str,
    kind: str,
    area_km2: Decimal | None = None,
    now: datetime | None = None,
) -> ParkRow:
    """Register a park of a zone; the name is unique within the zone."""
    zone_row = get_zone_or_raise(session, zone)
    if not name.strip() or not kind.strip():
        raise BadPark("园区名称和类型不能为空", "the park's name and type must not be empty")
    if area_km2 is not None and area_km2 < 0:
        raise BadPark(
            "园区面积应为非负数（平方公里）", "the park's area must be a non-negative number of km²"
        )
    exists = session.scalars(
        select(ParkRow).where(ParkRow.zone_code == zone_row.code, ParkRow.name == name.strip())
    ).first()
    if exists is not None:
        raise BadPark(
            f"园区 {name} 已在 {zone_row.name} 登记", f"park {name} is already registered in {zone_row.code}"
        )
    row = ParkRow(
        zone_code=zone_row.code, name=name.strip(), kind=kind.strip(), area_km2=area_km2, created_at=_now(now)
    )
    session.add(row)
    session.flush()
    return row


def load_parks(session: Session, path: Path, now: datetime | None = None) -> int:
    """Parks from a CSV/XLSX file (zone, name, type, area_km2); the whole file or nothing."""
    rows = read_rows(path, PARK_COLUMNS)
    if not rows:
        raise BadZoneFile(f"{path.name} 没有数据行", f"{path.name} has no data rows")
    require(rows, ("zone", "name", "kind"), path.name)
    problems: list[tuple[int, str, str]] = []
    zones = {z.code for z in session.scalars(select(ZoneRow))}
    names = {z.name: z.code for z in session.scalars(select(ZoneRow))}
    existing = {(p.zone_code, p.name) for p in session.scalars(select(ParkRow))}
    seen: set[tuple[str, str]] = set()
    for n, row in enumerate(rows, 2):
        zone = row["zone"].lower() if row["zone"].lower() in zones else names.get(row["zone"], "")
        if not zone:
            problems.append(
                (n, f"综试区 {row['zone']!r} 不在登记册中", f"zone {row['zone']!r} is not registered")
            )
        if not row["name"] or not row["kind"]:
            problems.append((n, "园区名称和类型不能为空", "the park's name and type must not be empty"))
        area = _area(row.get("area", ""))
        if area is not None and area < 0:
            problems.append((n, "面积应为非负数（平方公里）", "area must be a non-negative number of km²"))
        key = (zone, row["name"])
        if key in existing or key in seen:
            problems.append((n, f"园区 {row['name']} 重复", f"park {row['name']} is already registered"))
        seen.add(key)
    _refuse(path.name, problems)
    for row in rows:
        zone = row["zone"].lower() if row["zone"].lower() in zones else names[row["zone"]]
        session.add(
            ParkRow(
                zone_code=zone,
                name=row["name"],
                kind=row["kind"],
                area_km2=_area(row.get("area", "")),
                created_at=_now(now),
            )
        )
    session.flush()
    return len(rows)


def parks_of(session: Session, zone: str | None = None) -> list[tuple[ParkRow, int]]:
    """Parks (of one zone, or all) with the number of enterprises located there."""
    query = (
        select(ParkRow, func.count(EnterpriseRow.code))
        .outerjoin(EnterpriseRow, EnterpriseRow.park_id == ParkRow.id)
        .group_by(ParkRow.id)
        .order_by(ParkRow.zone_code, ParkRow.name)
    )
    if zone is not None:
        query = query.where(ParkRow.zone_code == get_zone_or_raise(session, zone).code)
    return [(park, int(count)) for park, count in session.execute(query).all()]


# ---- enterprises ----


def link_enterprise(
    session: Session, enterprise: str, zone: str, park_id: int | None = None
) -> EnterpriseRow:
    """Place a registered enterprise in a zone (its `zone` column becomes the zone code) and optionally a
    park of that zone."""
    row = session.get(EnterpriseRow, enterprise.strip().upper())
    if row is None:
        raise BadLink(f"企业 {enterprise} 未备案", f"enterprise {enterprise} is not registered")
    zone_row = get_zone_or_raise(session, zone)
    if park_id is not None:
        park = session.get(ParkRow, park_id)
        if park is None or park.zone_code != zone_row.code:
            raise BadLink(
                f"园区 {park_id} 不属于 {zone_row.name}", f"park {park_id} is not a park of {zone_row.code}"
            )
    row.zone = zone_row.code
    row.park_id = park_id
    session.flush()
    return row


# ---- supplied indicator values ----

_INDICATOR = re.compile(r"[a-z][a-z0-9_]{0,63}\Z")


def load_indicator_values(session: Session, path: Path, now: datetime | None = None) -> int:
    """Indicator values zones supply (zone, year, indicator, value[, source]); a value given again for the
    same zone, year and indicator replaces the earlier one. The whole file or nothing."""
    rows = read_rows(path, INDICATOR_COLUMNS)
    if not rows:
        raise BadZoneFile(f"{path.name} 没有数据行", f"{path.name} has no data rows")
    require(rows, ("zone", "year", "indicator", "value"), path.name)
    zones = {z.code for z in session.scalars(select(ZoneRow))}
    names = {z.name: z.code for z in session.scalars(select(ZoneRow))}
    problems: list[tuple[int, str, str]] = []
    parsed: list[tuple[str, int, str, Decimal, str | None]] = []
    seen: set[tuple[str, int, str]] = set()
    for n, row in enumerate(rows, 2):
        zone = row["zone"].lower() if row["zone"].lower() in zones else names.get(row["zone"], "")
        if not zone:
            problems.append(
                (n, f"综试区 {row['zone']!r} 不在登记册中", f"zone {row['zone']!r} is not registered")
            )
        year = int(row["year"]) if row["year"].isdigit() and len(row["year"]) == 4 else 0
        if not 2015 <= year <= 2100:
            problems.append((n, f"年度 {row['year']!r} 无效", f"year {row['year']!r} is not valid"))
        if not _INDICATOR.match(row["indicator"]):
            problems.append(
                (n, f"指标名 {row['indicator']!r} 无效", f"indicator name {row['indicator']!r} is not valid")
            )
        try:
            value = Decimal(row["value"])
            if not value.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            problems.append((n, f"数值 {row['value']!r} 不是数字", f"value {row['value']!r} is not a number"))
            value = Decimal(0)
        key = (zone, year, row["indicator"])
        if key in seen:
            problems.append(
                (n, "同一综试区、年度和指标重复", "the same zone, year and indicator appear twice")
            )
        seen.add(key)
        parsed.append((zone, year, row["indicator"], value, row.get("source") or path.name))
    _refuse(path.name, problems)
    moment = _now(now)
    for zone, year, indicator, value, source in parsed:
        existing = session.get(ZoneIndicatorRow, (zone, year, indicator))
        if existing is None:
            session.add(
                ZoneIndicatorRow(
                    zone_code=zone,
                    year=year,
                    indicator=indicator,
                    value=value,
                    source=source,
                    loaded_at=moment,
                )
            )
        else:
            existing.value, existing.source, existing.loaded_at = value, source, moment
    session.flush()
    return len(parsed)


def indicator_values(session: Session, year: int) -> dict[str, dict[str, Decimal]]:
    """Supplied values of a year: indicator → zone code → value."""
    out: dict[str, dict[str, Decimal]] = {}
    for row in session.scalars(select(ZoneIndicatorRow).where(ZoneIndicatorRow.year == year)):
        out.setdefault(row.indicator, {})[row.zone_code] = row.value
    return out
