"""Users, roles and audit: who may log in, what each role reads, and that unmasked reads leave a trace."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cbec.access import Principal, parties
from cbec.api import create_app
from cbec.clearance.service import Settings
from cbec.registry import add_enterprise, issue_key, issue_user_key, principal_for_key, revoke_keys
from cbec.store.db import Store
from cbec.store.models import AuditRow, UserRow
from cbec.users import UserError, add_user, authenticate, set_password
from test_api_documents import _released


def test_authenticate_accepts_only_the_right_password_of_an_active_user(store: Store) -> None:
    with store.transaction() as session:
        _, password = add_user(session, "reg01", role="regulator", name="监管员")
        assert len(password) >= 20
    with store.transaction() as session:
        row = session.get(UserRow, "reg01")
        assert row is not None and password not in row.password_hash
        assert row.password_hash.startswith("$argon2id$")
        assert authenticate(session, "reg01", password) == Principal(role="regulator", name="reg01")
        assert authenticate(session, "reg01", password + "x") is None
        assert authenticate(session, "nobody", password) is None
        assert authenticate(session, "bad login!", password) is None
        row.status = "disabled"
    with store.transaction() as session:
        assert authenticate(session, "reg01", password) is None


def test_set_password_replaces_the_old_one(store: Store) -> None:
    with store.transaction() as session:
        _, old = add_user(session, "ops01", role="operator")
        set_password(session, "ops01", "a-new-long-password")
        assert authenticate(session, "ops01", old) is None
        assert authenticate(session, "ops01", "a-new-long-password") is not None
        with pytest.raises(UserError, match="at least 10"):
            set_password(session, "ops01", "short")
        with pytest.raises(UserError, match="does not exist"):
            set_password(session, "ghost", "a-new-long-password")


@pytest.mark.parametrize(
    ("login", "role", "enterprise", "message"),
    [
        ("x", "regulator", None, "3–64"),
        ("reg02", "king", None, "role must be one of"),
        ("ent01", "enterprise", None, "needs its enterprise code"),
        ("ent02", "enterprise", "1101960000", "is not registered"),
        ("reg03", "regulator", "1101960000", "only enterprise users"),
    ],
)
def test_add_user_refuses_bad_input_and_stores_nothing(
    store: Store, login: str, role: str, enterprise: str | None, message: str
) -> None:
    with store.transaction() as session, pytest.raises(UserError, match=message) as caught:
        add_user(session, login, role=role, enterprise_code=enterprise)
    assert caught.value.zh
    with store.transaction() as session:
        assert session.scalars(select(UserRow)).all() == []


def test_keys_act_for_an_enterprise_or_a_user(store: Store) -> None:
    with store.transaction() as session:
        add_enterprise(session, "110196000B", "测试平台", roles=["ebp"])
        add_user(session, "reg01", role="regulator")
        enterprise_key = issue_key(session, "110196000B")
        user_key = issue_user_key(session, "reg01")
    with store.transaction() as session:
        code = "110196000B"
        assert principal_for_key(session, enterprise_key) == Principal("enterprise", code, code)
        assert principal_for_key(session, user_key) == Principal("regulator", "reg01", None)
        revoke_keys(session, "110196000B")
        assert principal_for_key(session, enterprise_key) is None


def test_parties_finds_codes_at_any_depth() -> None:
    body = {"OrderHead": {"ebpCode": "A", "ebcCode": "B"}, "lines": [{"payCode": "C", "name": "ebpCode"}]}
    assert parties(body) == {"A", "B", "C"}
    assert Principal("enterprise", "A", "A").may_read(body)
    assert not Principal("enterprise", "Z", "Z").may_read(body)
    assert Principal("regulator", "r").may_read(body)
    assert not Principal("operator", "o").may_read(body)


def test_regulator_reads_unmasked_and_the_read_is_audited(store: Store, tmp_path: Path) -> None:
    trade, invt_no = _released(store, tmp_path)
    with store.transaction() as session:
        add_user(session, "reg01", role="regulator")
        add_user(session, "ops01", role="operator")
        regulator_key = issue_user_key(session, "reg01")
        operator_key = issue_user_key(session, "ops01")
    client = TestClient(create_app(store, Settings()))
    answer = client.get(f"/api/v1/lists/{invt_no}", headers={"X-API-Key": regulator_key})
    assert answer.status_code == 200, answer.text
    assert answer.json()["document"]["InventoryHead"]["buyerIdNumber"] == trade.buyer.id_number
    with store.transaction() as session:
        rows = session.scalars(select(AuditRow)).all()
        assert [(r.actor, r.actor_role, r.action, r.subject_kind, r.via) for r in rows] == [
            ("reg01", "regulator", "personal.read", "list", "api")
        ]
        assert trade.buyer.id_number not in (rows[0].subject_key or "")
    # an operator manages the register but reads no declarations
    assert client.get(f"/api/v1/lists/{invt_no}", headers={"X-API-Key": operator_key}).status_code == 404
    # users do not send messages or collect receipts: that is the enterprises' business
    sent = client.post("/api/v1/messages", content=b"<x/>", headers={"X-API-Key": regulator_key})
    assert sent.status_code == 403 and sent.json()["code"] == "CBEC-0502"
    assert client.get("/api/v1/receipts", headers={"X-API-Key": regulator_key}).status_code == 403
