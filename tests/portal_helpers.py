"""Helpers of the portal tests: a platform with enterprises, users and lists, and a signed-in TestClient."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient

from cbec.api import create_app
from cbec.assess.config import parse
from cbec.assess.service import assess
from cbec.ceb import examples, render
from cbec.clearance import queries, reference
from cbec.clearance.service import Engine, Settings
from cbec.registry import add_enterprise
from cbec.store.db import Store
from cbec.users import add_user
from cbec.zones.service import load_zones
from zones_helpers import enterprise, released_list

NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
OTHER = "1101960ZZZ"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Platform:
    store: Store
    released: str  # invtNo of a released list
    held: str  # invtNo of a list held for review
    trade: examples.Trade
    passwords: dict[str, str] = field(default_factory=dict)


def trade(n: int) -> examples.Trade:
    return examples.Trade(
        order_no=f"PORTAL{n}",
        logistics_no=f"PLN{n}",
        pay_transaction_id=f"PPAY{n}",
        invt_no=f"29242026{n:010d}",
    )


def _ingest(engine: Engine, t: examples.Trade) -> None:
    for build in (examples.ceb311, examples.ceb411, examples.ceb511, examples.ceb621):
        engine.ingest(render(build(t)), now=NOW)


def build_platform(store: Store, tmp_path: Path) -> Platform:
    """Enterprises (the example parties and one outsider), one user per role, a released and a held list."""
    plist = tmp_path / "list.csv"
    plist.write_text(
        "tariff_line,name,remark,version,effective_date\n96190011,尿布,,T,2022-03-01\n19011010,奶粉,,T,2022-03-01\n",
        encoding="utf-8",
    )
    passwords: dict[str, str] = {}
    with store.transaction() as session:
        reference.load(session, reference.POSITIVE_LIST, plist)
        add_enterprise(session, examples.EBC.code, examples.EBC.name, roles=["ebc"])
        add_enterprise(session, OTHER, "无关企业", roles=["ebc"])
        for login, role, code in (
            ("admin", "admin", None),
            ("reg", "regulator", None),
            ("oper", "operator", None),
            ("ent", "enterprise", examples.EBC.code),
            ("other", "enterprise", OTHER),
        ):
            _row, secret = add_user(session, login, role=role, enterprise_code=code)
            passwords[login] = secret
    first, second = trade(1), trade(2)
    _ingest(Engine(store, Settings()), first)
    _ingest(Engine(store, Settings(hook=lambda decision: "300")), second)
    with store.transaction() as session:
        released = queries.find(session, "list", first.order_no)
        held = queries.find(session, "list", second.order_no)
        assert released is not None and released.document.status == "released"
        assert held is not None and held.document.status == "review"
        invt_released, invt_held = released.document.invt_no, held.document.invt_no
    assert invt_released and invt_held
    return Platform(store, invt_released, invt_held, first, passwords)


def client_for(store: Store) -> TestClient:
    return TestClient(create_app(store, Settings()), follow_redirects=False)


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def sign_in(client: TestClient, login: str, password: str) -> str:
    """Sign in; returns the session's CSRF token (read from the dashboard)."""
    form = client.get("/portal/login")
    assert form.status_code == 200
    answer = client.post(
        "/portal/login",
        data={"login": login, "password": password, "csrf_token": csrf_of(form.text), "next": "/portal/"},
    )
    assert answer.status_code == 303, answer.text
    page = client.get("/portal/")
    assert page.status_code == 200
    return csrf_of(page.text)


CONFIG = parse(
    b"""
name: portal test
indicators:
  - {key: trade_value, normalization: minmax, weight: 3}
  - {key: active_enterprises, normalization: minmax, weight: 1}
tiers: {quotas: [1, 1, 1, 1]}
exit: {lowest_tier_consecutive: 2, warn_ahead: true}
"""
)
#: zone → value of its one released list, by year (za falls behind in 2026)
TRADE = {
    2025: {"za": "400.50", "zb": "300", "zc": "200", "zd": "100"},
    2026: {"za": "90", "zb": "1300.25", "zc": "200", "zd": "150"},
}
NAMES = {"za": "测试甲", "zb": "测试乙", "zc": "测试丙", "zd": "测试丁"}


def with_zones(platform: Platform, tmp_path: Path, years: tuple[int, ...] = (2025, 2026)) -> None:
    """Four test zones with one enterprise each, a released list per zone and year, and the assessment of
    `years` (quotas 1/1/1/1: one zone per tier)."""
    zones = tmp_path / "zones.csv"
    zones.write_text(
        "code,name,province,batch,approved,source\n"
        + "".join(f"{code},{name},浙江省,1,2015-03,test\n" for code, name in NAMES.items()),
        encoding="utf-8",
    )
    with platform.store.transaction() as session:
        load_zones(session, zones)
        for i, code in enumerate(NAMES, 1):
            enterprise(session, f"33019600{i:02d}", code)
        for year, values in TRADE.items():
            for zone, value in values.items():
                ebc = f"33019600{list(NAMES).index(zone) + 1:02d}"
                released_list(
                    session, ebc, datetime(year, 6, 1, 4, tzinfo=UTC), [("3304990099", "116", value)]
                )
        for year in years:
            assess(session, year, CONFIG, now=datetime(year + 1, 1, 5, tzinfo=UTC))
