"""Documents over HTTP beyond one list: pages by keyset with filters, payments and waybills by number, the
comparison result, tax bills and the personal quota — each only for those who may read it."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from api_helpers import (
    World,
    load_positive_list,
    make_world,
    register_certificate,
    released_trade,
    rsa_identity,
    send,
)
from cbec.ceb import examples, render
from cbec.store.db import Store
from cbec.store.models import AuditRow


@pytest.fixture
def world(store: Store, tmp_path: Path) -> World:
    load_positive_list(store, tmp_path)
    return make_world(store)


def _get(world: World, who: str, path: str, **params: Any) -> Any:
    return world.client.get(path, params=params, headers=world.headers(who))


def test_pages_show_each_caller_what_it_may_read(world: World, tmp_path: Path) -> None:
    identity = rsa_identity(tmp_path)
    register_certificate(world, identity)
    invt_no = released_trade(world, identity)
    mine = _get(world, "ebc", "/api/v1/documents").json()
    kinds = sorted(d["kind"] for d in mine["documents"])
    assert "list" in kinds and "order" in kinds
    everything = _get(world, "regulator", "/api/v1/documents").json()["documents"]
    assert sorted(d["kind"] for d in everything) == ["list", "order", "payment", "waybill"]
    assert _get(world, "outsider", "/api/v1/documents").json() == {"documents": [], "next": None}
    refused = _get(world, "operator", "/api/v1/documents")
    assert refused.status_code == 403 and refused.json()["code"] == "CBEC-0502"
    [listing] = _get(world, "agent", "/api/v1/documents", kind="list", status="released").json()["documents"]
    assert listing["invtNo"] == invt_no and listing["status"] == "released"
    assert _get(world, "agent", "/api/v1/documents", kind="list", status="rejected").json()["documents"] == []
    by_number = _get(world, "regulator", "/api/v1/documents", number=world.trade.logistics_no).json()
    assert [d["kind"] for d in by_number["documents"]] == ["list", "waybill"]
    assert _get(world, "regulator", "/api/v1/documents", to="2000-01-01T00:00:00").json()["documents"] == []
    assert (
        len(
            _get(world, "regulator", "/api/v1/documents", **{"from": "2000-01-01T00:00:00"}).json()[
                "documents"
            ]
        )
        == 4
    )
    for bad in ({"kind": "invoice"}, {"limit": 0}, {"cursor": -1}, {"from": "yesterday"}):
        answer = _get(world, "regulator", "/api/v1/documents", **bad)
        assert answer.status_code == 400 and answer.json()["code"] == "CBEC-0504", bad


def test_keyset_pages_cover_everything_once(world: World) -> None:
    for n in range(5):
        trade = replace(world.trade, order_no=f"PAGE{n}")
        send(world, "ebc", render(examples.ceb311(trade)))
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, "kind": "order"}
        if cursor is not None:
            params["cursor"] = cursor
        page = _get(world, "ebc", "/api/v1/documents", **params).json()
        seen.extend(d["id"] for d in page["documents"])
        cursor = page["next"]
        if cursor is None:
            break
    assert len(seen) == 5 and seen == sorted(seen, reverse=True)


def test_payments_waybills_and_the_comparison_result(world: World, tmp_path: Path) -> None:
    identity = rsa_identity(tmp_path)
    register_certificate(world, identity)
    trade = world.trade
    send(world, "ebc", render(examples.ceb311(trade)))
    send(world, "payment", render(examples.ceb411(replace(trade, actural_paid=Decimal("1.00")))))
    send(world, "logistics", render(examples.ceb511(trade)))
    answer = send(world, "agent", identity.sign(examples.ceb621(trade, signed=False)))
    assert "100" in [r["status"] for r in answer["receipts"]]  # type: ignore[attr-defined]
    payment = _get(world, "payment", f"/api/v1/payments/{trade.pay_transaction_id}")
    assert payment.status_code == 200 and payment.json()["kind"] == "payment"
    assert trade.buyer.id_number not in payment.text and trade.buyer.name not in payment.text
    assert _get(world, "payment", f"/api/v1/payments/{trade.order_no}").status_code == 200
    assert _get(world, "outsider", f"/api/v1/payments/{trade.pay_transaction_id}").status_code == 404
    waybill = _get(world, "logistics", f"/api/v1/waybills/{trade.logistics_no}")
    assert waybill.status_code == 200 and trade.buyer.address not in waybill.text
    assert _get(world, "outsider", f"/api/v1/waybills/{trade.logistics_no}").status_code == 404
    listing = _get(world, "agent", f"/api/v1/lists/{trade.order_no}").json()
    comparison = listing["comparison"]
    assert comparison["outcome"] == "rejected"
    assert any(r["rule"].startswith("compare.") and r["code"] for r in comparison["reasons"])
    assert [e["event"] for e in listing["history"]][-1] == "rejected"


def test_tax_bills_for_the_parties_of_the_list(world: World, tmp_path: Path) -> None:
    identity = rsa_identity(tmp_path)
    register_certificate(world, identity)
    invt_no = released_trade(world, identity)
    [bill] = _get(world, "ebc", "/api/v1/tax-bills").json()["taxBills"]
    assert bill["invtNo"] == invt_no and bill["status"] == "1"
    assert Decimal(bill["valueAddedTax"]) > 0 and isinstance(bill["customsTax"], str)
    assert _get(world, "regulator", "/api/v1/tax-bills", invtNo=invt_no).json()["taxBills"] == [bill]
    assert _get(world, "ebc", "/api/v1/tax-bills", status="3").json()["taxBills"] == []
    assert _get(world, "outsider", "/api/v1/tax-bills").json()["taxBills"] == []
    assert _get(world, "operator", "/api/v1/tax-bills").status_code == 403
    assert _get(world, "ebc", "/api/v1/tax-bills", status="9").status_code == 400


def test_quota_for_regulators_only_and_audited(world: World, tmp_path: Path) -> None:
    identity = rsa_identity(tmp_path)
    register_certificate(world, identity)
    invt_no = released_trade(world, identity)
    buyer = world.trade.buyer
    answer = _get(world, "regulator", "/api/v1/quota", idNumber=buyer.id_number, year=2026)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert buyer.id_number not in answer.text and body["idNumber"].endswith(buyer.id_number[-4:])
    assert Decimal(body["used"]) > 0 and Decimal(body["used"]) + Decimal(body["remaining"]) == Decimal(
        "26000"
    )
    assert [line["invtNo"] for line in body["lines"]] == [invt_no]
    named = _get(world, "admin", "/api/v1/quota", idNumber=buyer.id_number, name=buyer.name, year=2026)
    assert named.status_code == 200 and named.json()["used"] == body["used"]
    posted = world.client.post(
        "/api/v1/quota", json={"idNumber": buyer.id_number, "year": 2026}, headers=world.headers("regulator")
    )
    assert posted.status_code == 200 and posted.json() == body
    wrong_name = _get(world, "regulator", "/api/v1/quota", idNumber=buyer.id_number, name="无此人")
    assert wrong_name.status_code == 404
    for who in ("ebc", "operator"):
        refused = _get(world, who, "/api/v1/quota", idNumber=buyer.id_number)
        assert refused.status_code == 403 and refused.json()["code"] == "CBEC-0502"
    for bad in ("12345", "ABCDEFGHIJKLMNOPQR"):
        assert _get(world, "regulator", "/api/v1/quota", idNumber=bad).status_code == 400
    with world.store.transaction() as session:
        rows = session.scalars(select(AuditRow).where(AuditRow.action == "quota.read")).all()
        assert [(r.actor, r.subject_kind) for r in rows] == [
            ("regulator01", "buyer"),
            ("admin01", "buyer"),
            ("regulator01", "buyer"),
            ("regulator01", "buyer"),
        ]
        assert all(buyer.id_number not in (r.subject_key or "") for r in rows)
