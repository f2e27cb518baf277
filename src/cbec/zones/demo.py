"""The assessment demonstration (`cbec zones demo`): the registry of sourced zones, the simulator's
enterprises linked to their zones and to a park each, a few years of simulated import traffic taken
through the real clearance engine, simulated supplied indicators, and one assessment per year, so the
ranking, the tiers and the exit rule's warning and recommendation all show.

Everything generated here is simulated and labelled so (enterprise names say 模拟, parks and supplied
values say 模拟/simulated); only the zone registry rows are real, with their sources.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import select

from cbec.assess import config as assess_config
from cbec.assess import service as assess_service
from cbec.assess.result import AssessmentResult
from cbec.clearance.service import Engine
from cbec.registry import add_enterprise
from cbec.sim.check import ingest_folder, load_reference
from cbec.sim.output import write_set
from cbec.sim.population import build_population
from cbec.sim.traffic import SimConfig
from cbec.store.db import Store
from cbec.store.models import EnterpriseRow, ParkRow, ZoneRow
from cbec.zones import service
from cbec.zones.errors import DemoFolderUsed

SIM_ROLES = {
    "platform": "ebp",
    "ecommerce": "ebc",
    "payment": "pay",
    "logistics": "logistics",
    "declarant": "agent",
    "warehouse": "operator",
}


@dataclass(slots=True)
class DemoSummary:
    zones: int = 0
    enterprises: int = 0
    parks: int = 0
    lists: dict[int, int] = field(default_factory=dict)
    results: list[AssessmentResult] = field(default_factory=list)


def _link_population(store: Store, seed: int, now: datetime) -> tuple[int, int]:
    """Register the simulator's enterprises, each in its city's zone; e-commerce enterprises in a park."""
    population = build_population(seed, 1000)
    with store.transaction() as session:
        by_name = {z.name: z.code for z in session.scalars(select(ZoneRow))}
        parks: dict[str, list[int]] = {}
        for zone in population.zones:
            code = by_name[zone.city]
            if code in parks or session.scalars(select(ParkRow).where(ParkRow.zone_code == code)).first():
                continue
            count = 2 if zone.weight >= 4 else 1
            parks[code] = [
                service.add_park(
                    session, code, f"{zone.city}跨境电商产业园{n}（模拟）", "产业园", None, now
                ).id
                for n in range(1, count + 1)
            ]
        registered = 0
        for e in population.enterprises:
            if session.get(EnterpriseRow, e.code) is None:
                add_enterprise(session, e.code, e.name, roles=[SIM_ROLES[e.role]], zone=None, now=now)
                registered += 1
            zone_code = by_name[e.city]
            choices = parks.get(zone_code, [])
            park = choices[int(e.code[-4:-1]) % len(choices)] if e.role == "ecommerce" and choices else None
            service.link_enterprise(session, e.code, zone_code, park)
    return registered, sum(len(v) for v in parks.values())


def _supplied(folder: Path, codes: Sequence[str], years: Sequence[int], seed: int) -> Path:
    """Simulated supplied indicators; about one zone in eight does not report overseas warehouses."""
    rng = random.Random(f"{seed}:supplied")
    path = folder / "supplied-indicators.csv"
    lines = ["zone,year,indicator,value,source"]
    base = {code: rng.randint(5, 300) for code in codes}
    for year in years:
        for code in codes:
            grow = 1 + (year - years[0]) * rng.uniform(-0.05, 0.2)
            lines.append(f"{code},{year},high_tech_enterprises,{round(base[code] * grow)},模拟 / simulated")
            if rng.random() > 0.125:
                lines.append(f"{code},{year},overseas_warehouses,{rng.randint(0, 40)},模拟 / simulated")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(
    store: Store,
    folder: Path,
    *,
    years: Sequence[int] = (2024, 2025, 2026),
    lists: int = 300,
    seed: int = 7,
    progress: Callable[[str], None] | None = None,
) -> DemoSummary:
    """Build the demonstration in `store`, generated files under `folder`; returns what was made."""
    say = progress or (lambda _text: None)
    if folder.exists() and any(folder.glob("traffic-*")):
        raise DemoFolderUsed(
            f"{folder} 已有演示生成的流量，请换一个目录和数据目录（CBEC_DATA_DIR）后重试",
            f"{folder} already holds demo traffic; "
            "use another folder and a fresh data directory (CBEC_DATA_DIR)",
        )
    summary = DemoSummary()
    now = datetime.now(UTC)
    with store.transaction() as session:
        summary.zones = service.load_zones(session, now=now)
    summary.enterprises, summary.parks = _link_population(store, seed, now)
    engine = Engine(store)
    for year in years:
        target = folder / f"traffic-{year}"
        say(f"模拟 {year} 年进口流量 / simulating {year} import traffic ({lists} lists)")
        config = SimConfig(
            lists=lists, seed=seed * 1000 + year, faults=0.02, start=date(year, 1, 10), days=340
        )
        write_set(config, target, workers=1)
        load_reference(store, target, now=datetime(year, 1, 1, tzinfo=UTC))
        outcomes = ingest_folder(engine, target / "messages")
        summary.lists[year] = len(outcomes)
    with store.transaction() as session:
        codes = sorted({e.zone for e in session.scalars(select(EnterpriseRow)) if e.zone})
    with store.transaction() as session:
        service.load_indicator_values(session, _supplied(folder, codes, years, seed), now=now)
    cfg = assess_config.load()
    for year in years:
        say(f"{year} 年度考核 / assessing {year}")
        with store.transaction() as session:
            summary.results.append(assess_service.assess(session, year, cfg, now=now))
    return summary
