"""The register and reference data over HTTP: operators and admins only, every change audited, a refused
change stores nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

import cbec
from api_helpers import World, make_world
from cbec.store.db import Store
from cbec.store.models import AuditRow, EnterpriseRow, ReferenceRow

LIST_CSV = "tariff_line,name,remark,version,effective_date\n96190011,尿布,,T,2022-03-01\n"


@pytest.fixture
def world(store: Store) -> World:
    return make_world(store)


def _actions(store: Store) -> list[tuple[str, str, str | None]]:
    with store.transaction() as session:
        return [
            (r.actor, r.action, r.subject_key)
            for r in session.scalars(select(AuditRow).order_by(AuditRow.id))
        ]


def test_enterprises_are_registered_and_suspended_by_operators(world: World) -> None:
    new = {"code": "110196000Z", "name": "新企业", "roles": ["ebc"], "zone": "杭州"}
    created = world.client.post("/api/v1/enterprises", json=new, headers=world.headers("operator"))
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "active" and created.json()["roles"] == ["ebc"]
    twice = world.client.post("/api/v1/enterprises", json=new, headers=world.headers("admin"))
    assert twice.status_code == 400 and twice.json()["code"] == "CBEC-0601" and "已备案" in twice.json()["zh"]
    bad = world.client.post(
        "/api/v1/enterprises",
        json={**new, "code": "123", "roles": ["king"]},
        headers=world.headers("operator"),
    )
    assert bad.status_code == 400 and "10位海关代码" in bad.json()["zh"]
    for who in ("ebc", "regulator"):
        assert (
            world.client.post("/api/v1/enterprises", json=new, headers=world.headers(who)).status_code == 403
        )
        assert world.client.get("/api/v1/enterprises", headers=world.headers(who)).status_code == 403
    listed = world.client.get("/api/v1/enterprises", headers=world.headers("operator")).json()
    assert "110196000Z" in [e["code"] for e in listed]
    # suspending stops the enterprise's key at once
    ebc = world.trade.ebc.code
    suspended = world.client.patch(
        f"/api/v1/enterprises/{ebc}", json={"status": "suspended"}, headers=world.headers("operator")
    )
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"
    assert world.client.get("/api/v1/receipts", headers=world.headers("ebc")).status_code == 401
    world.client.patch(
        f"/api/v1/enterprises/{ebc}", json={"status": "active"}, headers=world.headers("admin")
    )
    assert world.client.get("/api/v1/receipts", headers=world.headers("ebc")).status_code == 200
    wrong = world.client.patch(
        f"/api/v1/enterprises/{ebc}", json={"status": "gone"}, headers=world.headers("operator")
    )
    assert wrong.status_code == 400
    missing = world.client.patch(
        "/api/v1/enterprises/0000000000", json={"status": "active"}, headers=world.headers("operator")
    )
    assert missing.status_code == 404
    assert _actions(world.store) == [
        ("operator01", "enterprise.add", "110196000Z"),
        ("operator01", "enterprise.suspended", ebc),
        ("admin01", "enterprise.active", ebc),
    ]
    with world.store.transaction() as session:
        assert session.get(EnterpriseRow, "123") is None


def test_reference_files_are_uploaded_checked_and_listed(world: World) -> None:
    ok = world.client.post(
        "/api/v1/reference/positive-list",
        files={"file": ("清单2026.csv", LIST_CSV.encode("utf-8"), "text/csv")},
        headers=world.headers("operator"),
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["kind"] == "positive-list" and ok.json()["name"] == "清单2026.csv"
    broken = world.client.post(
        "/api/v1/reference/positive-list",
        files={
            "file": (
                "bad.csv",
                b"tariff_line,name,remark,version,effective_date\nABC,x,,T,not-a-date\n",
                "text/csv",
            )
        },
        headers=world.headers("operator"),
    )
    assert (
        broken.status_code == 400 and broken.json()["code"] == "CBEC-0511" and "未加载" in broken.json()["zh"]
    )
    wrong_type = world.client.post(
        "/api/v1/reference/rates",
        files={"file": ("rates.txt", b"x", "text/plain")},
        headers=world.headers("admin"),
    )
    assert wrong_type.status_code == 400
    bad_rates = world.client.post(
        "/api/v1/reference/rates",
        files={"file": ("rates.csv", b"a,b\n1,2\n", "text/csv")},
        headers=world.headers("admin"),
    )
    assert bad_rates.status_code == 400 and bad_rates.json()["code"] == "CBEC-0511"
    sample = (Path(cbec.__file__).parent / "data" / "tax_rates.csv").read_bytes()
    rates = world.client.post(
        "/api/v1/reference/rates",
        files={"file": ("rates.csv", sample, "text/csv")},
        headers=world.headers("admin"),
    )
    assert rates.status_code == 201 and rates.json()["kind"] == "rates" and rates.json()["active"]
    refused = world.client.post(
        "/api/v1/reference/positive-list",
        files={"file": ("l.csv", LIST_CSV.encode(), "text/csv")},
        headers=world.headers("ebc"),
    )
    assert refused.status_code == 403
    versions = world.client.get("/api/v1/reference", headers=world.headers("operator")).json()
    assert [(v["kind"], v["name"]) for v in versions] == [
        ("rates", "rates.csv"),
        ("positive-list", "清单2026.csv"),
    ]
    assert world.client.get("/api/v1/reference", headers=world.headers("agent")).status_code == 403
    with world.store.transaction() as session:
        assert len(session.scalars(select(ReferenceRow)).all()) == 2
    assert [a for _, a, _ in _actions(world.store)] == ["reference.load", "reference.load"]
