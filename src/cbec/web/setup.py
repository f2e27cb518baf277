"""First start of the platform (`cbec start`, what `make run` ends with): the database, an administrator
whose password is generated and shown once, demo users, and a demo dataset from the simulator.

Nothing here has a fixed password: every password is generated (`cbec.users.generate_password`), printed
once and stored only as an Argon2id hash. A later start finds the users and says how to reset a password.
"""

from __future__ import annotations

import csv
import hashlib
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from cbec.ceb import examples
from cbec.ceb.dxp import CST
from cbec.clearance.service import Decision, Engine, Settings
from cbec.registry import add_enterprise
from cbec.store.db import Store
from cbec.store.models import DocumentRow, EnterpriseRow, UserRow, ZoneRow
from cbec.users import add_user
from cbec.zones import service as zones

ADMIN = "admin"
#: simulator roles → register roles (cbec.registry.ROLES)
SIM_ROLES = {
    "platform": "ebp",
    "ecommerce": "ebc",
    "payment": "pay",
    "logistics": "logistics",
    "declarant": "agent",
    "warehouse": "operator",
}
#: share of releasable demo lists held for manual review (300) and sent to inspection (500)
DEMO_REVIEW_SHARE = 0.06
DEMO_INSPECTION_SHARE = 0.02


@dataclass
class StartReport:
    """What a start did, for the console: new passwords (shown once), the demo data loaded."""

    new_passwords: list[tuple[str, str, str]] = field(default_factory=list)  # login, role, password
    existing_users: list[tuple[str, str]] = field(default_factory=list)
    demo_lists: int = 0
    demo_statuses: Counter[str] = field(default_factory=Counter)
    demo_skipped: bool = False
    demo_zones: int = 0
    demo_linked: int = 0
    demo_assessed: list[int] = field(default_factory=list)
    demo_zone_seconds: float = 0.0  # what loading the zones, linking and assessing added to the start


def ensure_admin(store: Store, report: StartReport) -> None:
    """Create the administrator on first start; its password is generated and returned once."""
    with store.transaction() as session:
        if session.get(UserRow, ADMIN) is not None:
            report.existing_users.append((ADMIN, "admin"))
            return
        _row, secret = add_user(session, ADMIN, role="admin", name="系统管理员 Administrator")
        report.new_passwords.append((ADMIN, "admin", secret))


def _demo_hook(seed: int) -> Callable[[Decision], str | None]:
    """Hold a stable share of releasable demo lists for review or inspection, so the queue is not empty."""

    def hook(decision: Decision) -> str | None:
        digest = hashlib.sha256(f"{seed}:{decision.list_key}".encode()).digest()
        share = digest[0] / 256
        if share < DEMO_INSPECTION_SHARE:
            return "500"
        if share < DEMO_INSPECTION_SHARE + DEMO_REVIEW_SHARE:
            return "300"
        return None

    return hook


def load_demo_dataset(
    store: Store,
    folder: Path,
    report: StartReport,
    *,
    lists: int = 400,
    seed: int = 20261128,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
    announce: Callable[[], None] | None = None,
) -> None:
    """Simulated traffic over the last 7 days (China time) through the engine, once: the register gets the
    simulated enterprises, the reference data is loaded, and a few lists are held for review."""
    from cbec.sim import SimConfig
    from cbec.sim.check import arrival_time, load_reference, message_files
    from cbec.sim.output import ENTERPRISES, REFERENCE, write_set

    with store.transaction() as session:
        existing = session.scalar(select(func.count(DocumentRow.id)).where(DocumentRow.kind == "list")) or 0
    if existing > 20:
        report.demo_skipped = True
        return
    if announce is not None:
        announce()
    moment = now or datetime.now(UTC)
    today = moment.astimezone(CST).date()
    config = SimConfig(lists=lists, seed=seed, faults=0.15, start=today - timedelta(days=6), days=7)
    if not (folder / "messages").exists() or not any((folder / "messages").iterdir()):
        write_set(config, folder, workers=1)
    load_reference(store, folder, now=moment)
    started = time.perf_counter()
    with store.transaction() as session:
        report.demo_zones = zones.load_zones(session, now=moment)
        zone_of_city = {z.name: z.code for z in session.scalars(select(ZoneRow))}
    with store.transaction() as session, (folder / REFERENCE / ENTERPRISES).open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            # the simulator names the pilot-zone city (杭州); the register keeps the zone's code (hangzhou)
            code = zone_of_city.get(row["city"])
            if session.get(EnterpriseRow, row["code"]) is None:
                add_enterprise(
                    session,
                    row["code"],
                    row["name"],
                    roles=[SIM_ROLES.get(row["role"], "ebc")],
                    zone=None,
                    now=moment,
                )
            if code is not None:
                zones.link_enterprise(session, row["code"], code)
                report.demo_linked += 1
    report.demo_zone_seconds = time.perf_counter() - started
    engine = Engine(store, Settings(hook=_demo_hook(seed), rng=random.Random(seed)))
    files = message_files(folder / "messages")
    for index, path in enumerate(files, 1):
        at = arrival_time(path)
        at = min(at, moment) if at is not None else moment
        engine.ingest(path.read_bytes(), source=f"demo:{path.name}", now=at)
        if progress is not None and (index % 200 == 0 or index == len(files)):
            progress(index, len(files))
    with store.transaction() as session:
        rows = session.execute(
            select(DocumentRow.status, func.count(DocumentRow.id))
            .where(DocumentRow.kind == "list", DocumentRow.current)
            .group_by(DocumentRow.status)
        ).all()
    report.demo_statuses = Counter({status: int(n) for status, n in rows})
    report.demo_lists = sum(report.demo_statuses.values())
    started = time.perf_counter()
    assess_demo(store, report, today - timedelta(days=6), today, moment)
    report.demo_zone_seconds += time.perf_counter() - started


def assess_demo(store: Store, report: StartReport, first: date, last: date, now: datetime) -> None:
    """The yearly assessment over the demo's days (the shipped indicator system), for each calendar year
    they touch, so the assessment page has a ranking. Only a week of platform data exists: zones without
    linked enterprises are not ranked, growth and the supplied indicators are missing (and reported so)."""
    from cbec.assess import config as assess_config
    from cbec.assess.service import assess

    config = assess_config.load()
    for year in range(first.year, last.year + 1):
        with store.transaction() as session:
            assess(session, year, config, now=now)
        report.demo_assessed.append(year)


def ensure_demo_users(store: Store, report: StartReport) -> None:
    """A regulator, an operator and two enterprise users (the busiest simulated e-commerce company, and the
    example company of `cbec example`, so `cbec example CEB311` can be uploaded as is)."""
    with store.transaction() as session:
        for party, roles in ((examples.EBC, ["ebc"]), (examples.EBP, ["ebp"])):
            if session.get(EnterpriseRow, party.code) is None:
                add_enterprise(session, party.code, party.name, roles=roles, zone=None)
        busiest = session.execute(
            select(DocumentRow.ebc_code, func.count(DocumentRow.id))
            .where(DocumentRow.kind == "list", DocumentRow.ebc_code != examples.EBC.code)
            .group_by(DocumentRow.ebc_code)
            .order_by(func.count(DocumentRow.id).desc())
            .limit(1)
        ).first()
        wanted: list[tuple[str, str, str, str | None]] = [
            ("regulator", "regulator", "监管人员（演示）", None),
            ("operator", "operator", "平台运营（演示）", None),
            ("ebc-demo", "enterprise", "示例电商企业用户", examples.EBC.code),
        ]
        if busiest is not None and busiest[0] and session.get(EnterpriseRow, busiest[0]) is not None:
            wanted.insert(2, ("enterprise", "enterprise", "模拟电商企业用户", busiest[0]))
        for login, role, name, code in wanted:
            if session.get(UserRow, login) is not None:
                report.existing_users.append((login, role))
                continue
            _row, secret = add_user(session, login, role=role, name=name, enterprise_code=code)
            report.new_passwords.append((login, role, secret))
