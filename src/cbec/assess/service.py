"""The yearly assessment over the store: platform indicators per zone, the run, its history, and the
zones' status following the exit rule. `assess` is one use case in the caller's transaction."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cbec.assess import maths
from cbec.assess.config import Config
from cbec.assess.maths import AssessError
from cbec.assess.result import AssessmentResult, IndicatorInfo, ZoneResult
from cbec.stats import sql as stats_sql
from cbec.store.models import (
    AssessmentResultRow,
    AssessmentRunRow,
    DocumentRow,
    EnterpriseRow,
    ParkRow,
    ZoneRow,
)
from cbec.zones import service as zones

ACTION_STATUS = {"exit": "exited", "warning": "warned", "none": "active"}


def _year_bounds(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year, 12, 31)


def _zone_totals(session: Session, year: int) -> tuple[dict[str, Decimal], dict[str, int]]:
    start, end = _year_bounds(year)
    value: dict[str, Decimal] = defaultdict(Decimal)
    lists: dict[str, int] = defaultdict(int)
    for row in stats_sql.daily_rows(session, "zone", start=start, end=end):
        value[row.key] += row.value
        lists[row.key] += row.lists
    return value, lists


def platform_indicators(
    session: Session, year: int, codes: list[str]
) -> dict[str, dict[str, Decimal | None]]:
    """Indicators the platform computes for each zone in `codes` for `year`.

    A zone with no enterprise linked to it has no platform data: its trade indicators are missing (None),
    never zero. Growth is missing when the year before had no trade. Parks are counted as registered now."""
    linked = {
        zone: int(n)
        for zone, n in session.execute(
            select(EnterpriseRow.zone, func.count())
            .where(EnterpriseRow.zone.in_(codes))
            .group_by(EnterpriseRow.zone)
        )
        if zone is not None
    }
    value, lists = _zone_totals(session, year)
    before, _ = _zone_totals(session, year - 1)
    start, end = _year_bounds(year)
    zone_of: dict[str, str | None] = {
        code: zone for code, zone in session.execute(select(EnterpriseRow.code, EnterpriseRow.zone))
    }
    active: dict[str, set[str]] = defaultdict(set)
    for row in stats_sql.daily_rows(session, "enterprise", start=start, end=end):
        zone = zone_of.get(row.key)
        if zone:
            active[zone].add(row.key)
    low, high = stats_sql.cst_bounds(start, end)
    returns: dict[str, int] = defaultdict(int)
    for ebc, count in session.execute(
        select(DocumentRow.ebc_code, func.count())
        .where(
            DocumentRow.kind == "refund",
            DocumentRow.status == "done",
            DocumentRow.updated_at >= low,
            DocumentRow.updated_at < high,
        )
        .group_by(DocumentRow.ebc_code)
    ):
        zone = zone_of.get(ebc or "")
        if zone:
            returns[zone] += int(count)
    parks: dict[str, int] = {
        code: int(n)
        for code, n in session.execute(select(ParkRow.zone_code, func.count()).group_by(ParkRow.zone_code))
    }
    out: dict[str, dict[str, Decimal | None]] = defaultdict(dict)
    for code in codes:
        has = code in linked
        total = value.get(code, Decimal(0))
        base = before.get(code)
        out["trade_value"][code] = total if has else None
        out["export_value"][code] = Decimal(0) if has else None  # the engine clears imports only (so far)
        out["export_share"][code] = (Decimal(0) if total else None) if has else None
        out["lists"][code] = Decimal(lists.get(code, 0)) if has else None
        out["active_enterprises"][code] = Decimal(len(active.get(code, ()))) if has else None
        out["returns_handled"][code] = Decimal(returns.get(code, 0)) if has else None
        out["trade_growth"][code] = (
            ((total - base) * 100 / base).quantize(Decimal("0.01")) if has and base else None
        )
        out["parks"][code] = Decimal(parks.get(code, 0))
    return out


def _eligible(session: Session, year: int) -> tuple[list[ZoneRow], list[str]]:
    """Zones approved before `year` (the 2022 round assessed batches 1–5, not the zones approved in 2022).
    A zone that exited in an earlier year's run, or by hand, is not assessed again and is listed apart;
    running the year of its exit again gives the same result."""
    exit_year: dict[str, int] = {}
    for code, y in session.execute(
        select(AssessmentResultRow.zone_code, AssessmentRunRow.year)
        .join(AssessmentRunRow, AssessmentRunRow.id == AssessmentResultRow.run_id)
        .where(AssessmentRunRow.current.is_(True), AssessmentResultRow.action == "exit")
    ):
        exit_year[code] = min(int(y), exit_year.get(code, int(y)))
    keep, exited = [], []
    for zone in zones.get_all(session):
        approved_year = int(zone.approved[:4]) if zone.approved else None
        if approved_year is not None and approved_year >= year:
            continue
        gone = exit_year.get(zone.code)
        if (gone is not None and gone < year) or (zone.status == "exited" and gone is None):
            exited.append(zone.code)
            continue
        keep.append(zone)
    return keep, exited


def _history(session: Session, year: int) -> dict[str, list[tuple[int, int | None, int | None]]]:
    """(year, tier, rank) of every current run before `year`, oldest first, by zone."""
    rows = session.execute(
        select(
            AssessmentRunRow.year,
            AssessmentResultRow.zone_code,
            AssessmentResultRow.tier,
            AssessmentResultRow.rank,
        )
        .join(AssessmentRunRow, AssessmentRunRow.id == AssessmentResultRow.run_id)
        .where(AssessmentRunRow.current.is_(True), AssessmentRunRow.year < year)
        .order_by(AssessmentRunRow.year)
    ).all()
    out: dict[str, list[tuple[int, int | None, int | None]]] = defaultdict(list)
    for y, zone, tier, rank in rows:
        out[zone].append((y, tier, rank))
    return out


def assess(session: Session, year: int, config: Config, now: datetime | None = None) -> AssessmentResult:
    """Score, rank and tier every eligible zone for `year`, apply the exit rule over the history, store the
    run (superseding an earlier run of the same year) and move the zones' status."""
    if not 2015 <= year <= 2100:
        raise AssessError(f"考核年度 {year} 无效", f"assessment year {year} is not valid")
    moment = now or datetime.now(UTC)
    eligible, exited = _eligible(session, year)
    codes = [z.code for z in eligible]
    platform = platform_indicators(session, year, codes)
    supplied = zones.indicator_values(session, year)
    raw: dict[str, dict[str, Decimal | None]] = {}
    for ind in config.indicators:
        source = platform[ind.key] if ind.source == "platform" else supplied.get(ind.key, {})
        raw[ind.key] = {code: source.get(code) for code in codes}
    with_data = [c for c in codes if any(raw[k][c] is not None and k != "parks" for k in raw)]
    no_data = [c for c in codes if c not in with_data]
    normalized = {
        ind.key: maths.normalize(
            {c: (float(v) if (v := raw[ind.key][c]) is not None else None) for c in with_data},
            ind.normalization,
            ind.direction,
        )
        for ind in config.indicators
    }
    scored = maths.rank(maths.score(normalized, config.weights, with_data, config.missing))
    if config.quotas is not None:
        maths.tiers_by_quotas(scored, config.quotas)
        method = "quotas " + "/".join(map(str, config.quotas))
    else:
        assert config.thresholds is not None
        maths.tiers_by_thresholds(scored, config.thresholds)
        method = "thresholds " + "/".join(f"{t:g}" for t in config.thresholds)
    history = _history(session, year)
    latest = session.scalar(select(func.max(AssessmentRunRow.year)).where(AssessmentRunRow.current.is_(True)))
    for old in session.scalars(
        select(AssessmentRunRow).where(AssessmentRunRow.year == year, AssessmentRunRow.current.is_(True))
    ):
        old.current = False
    run = AssessmentRunRow(
        year=year,
        config_name=config.name,
        config_sha256=config.sha256,
        config=config.raw,
        current=True,
        created_at=moment,
    )
    session.add(run)
    session.flush()
    by_code = {z.code: z for z in eligible}
    results = []
    apply_status = latest is None or year >= latest
    for s in scored:
        zone = by_code[s.zone]
        past = history.get(s.zone, [])
        action, streak = maths.exit_action([t for _, t, _ in past] + [s.tier], config.exit)
        notes = list(s.notes)
        if s.missing:
            notes.append("缺失指标 / missing: " + ", ".join(s.missing))
        if s.score is None:
            notes.append("未排名：指标缺失 / not ranked: indicators missing")
        status = zone.status
        if apply_status and s.tier is not None:  # an unranked year neither lifts nor sets a warning
            target = ACTION_STATUS[action]
            reason = {
                "exit": f"{year}年度考核：连续{streak}次处于最低档，建议退出 / "
                f"{year}: {streak} assessments in a row in the lowest tier, exit recommended",
                "warning": f"{year}年度考核：处于最低档，预警 / {year}: in the lowest tier, warning",
                "none": f"{year}年度考核：解除预警 / {year}: warning lifted",
            }[action]
            zones.set_status(session, zone.code, target, reason, run_id=run.id, now=moment)
            status = target
        previous = past[-1] if past and past[-1][0] == year - 1 else None
        result = ZoneResult(
            code=zone.code,
            name=zone.name,
            province=zone.province,
            batch=zone.batch,
            score=s.score,
            rank=s.rank,
            tier=s.tier,
            action=action,
            streak=streak,
            status=status,
            raw={k: (str(raw[k][s.zone]) if raw[k][s.zone] is not None else None) for k in raw},
            normalized={k: normalized[k].get(s.zone) for k in normalized},
            missing=s.missing,
            notes=notes,
            previous_rank=previous[2] if previous else None,
            previous_tier=previous[1] if previous else None,
        )
        results.append(result)
        session.add(
            AssessmentResultRow(
                run_id=run.id,
                zone_code=zone.code,
                score=s.score,
                rank=s.rank,
                tier=s.tier,
                action=action,
                detail=_detail(result),
            )
        )
    session.flush()
    return AssessmentResult(
        year=year,
        run_id=run.id,
        config_name=config.name,
        config_sha256=config.sha256,
        indicators=[_info(i) for i in config.indicators],
        zones=results,
        not_assessed=no_data,
        exited=exited,
        tier_method=method,
        cr=config.ahp.cr if config.ahp else None,
    )


def _info(ind: object) -> IndicatorInfo:
    return IndicatorInfo(**{k: getattr(ind, k) for k in IndicatorInfo.__dataclass_fields__})


def _detail(z: ZoneResult) -> dict[str, object]:
    return {
        "raw": z.raw,
        "normalized": z.normalized,
        "missing": z.missing,
        "notes": z.notes,
        "streak": z.streak,
        "status": z.status,
        "previous_rank": z.previous_rank,
        "previous_tier": z.previous_tier,
    }


def load_result(session: Session, year: int) -> AssessmentResult:
    """The current stored run of `year`, as the CLI printed it (for reports and the portal)."""
    run = session.scalars(
        select(AssessmentRunRow).where(AssessmentRunRow.year == year, AssessmentRunRow.current.is_(True))
    ).first()
    if run is None:
        raise AssessError(f"{year} 年度尚未考核", f"no assessment has been run for {year}")
    import yaml

    from cbec.assess.config import parse

    config = parse(yaml.safe_dump(run.config, allow_unicode=True).encode("utf-8"), run.config_name)
    zone_rows = {z.code: z for z in session.scalars(select(ZoneRow))}
    results = []
    for row in session.scalars(select(AssessmentResultRow).where(AssessmentResultRow.run_id == run.id)):
        zone = zone_rows[row.zone_code]
        d = row.detail
        results.append(
            ZoneResult(
                code=zone.code,
                name=zone.name,
                province=zone.province,
                batch=zone.batch,
                score=row.score,
                rank=row.rank,
                tier=row.tier,
                action=row.action,
                streak=int(str(d.get("streak", 0))),
                status=str(d.get("status", zone.status)),
                raw=dict(d.get("raw", {})),  # type: ignore[call-overload]
                normalized=dict(d.get("normalized", {})),  # type: ignore[call-overload]
                missing=list(d.get("missing", [])),  # type: ignore[call-overload]
                notes=list(d.get("notes", [])),  # type: ignore[call-overload]
                previous_rank=d.get("previous_rank"),  # type: ignore[arg-type]
                previous_tier=d.get("previous_tier"),  # type: ignore[arg-type]
            )
        )
    results.sort(key=lambda z: (z.rank is None, z.rank or 0, z.code))
    return AssessmentResult(
        year=year,
        run_id=run.id,
        config_name=run.config_name,
        config_sha256=run.config_sha256,
        indicators=[_info(i) for i in config.indicators],
        zones=results,
        tier_method="quotas " + "/".join(map(str, config.quotas))
        if config.quotas
        else "thresholds " + "/".join(f"{t:g}" for t in config.thresholds or ()),
        cr=config.ahp.cr if config.ahp else None,
    )


def history(session: Session, zone: str) -> list[tuple[int, float | None, int | None, int | None, str]]:
    """A zone's current results by year: (year, score, rank, tier, action)."""
    code = zones.get_zone_or_raise(session, zone).code
    rows = session.execute(
        select(
            AssessmentRunRow.year,
            AssessmentResultRow.score,
            AssessmentResultRow.rank,
            AssessmentResultRow.tier,
            AssessmentResultRow.action,
        )
        .join(AssessmentRunRow, AssessmentRunRow.id == AssessmentResultRow.run_id)
        .where(AssessmentRunRow.current.is_(True), AssessmentResultRow.zone_code == code)
        .order_by(AssessmentRunRow.year)
    ).all()
    return [(int(y), s, r, t, str(a)) for y, s, r, t, a in rows]
