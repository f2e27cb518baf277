"""The enterprise register and its API keys, alone and behind the HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cbec.api import create_app
from cbec.ceb.examples import ceb311
from cbec.ceb.render import render
from cbec.clearance.service import Settings
from cbec.registry import RegistryError, add_enterprise, enterprise_for_key, issue_key, revoke_keys
from cbec.store.db import Store
from cbec.store.models import ApiKeyRow


def test_register_validates_codes_and_roles(store: Store) -> None:
    with store.transaction() as session:
        row = add_enterprise(
            session,
            "110196000b",
            "测试跨境电商企业有限公司",
            roles=["ebc", "agent"],
            credit_code="91110000600037341L",
            zone="北京",
        )
        assert row.code == "110196000B" and row.roles == ["agent", "ebc"]
    bad_cases = [
        ("123", "x", ["ebc"], None, "10位海关代码"),
        ("91110000600037341X", "x", ["ebc"], None, "校验位"),
        ("1101960001", "x", ["ebc"], "91110000600037341X", "校验位"),
        ("1101960002", " ", ["ebc"], None, "名称不能为空"),
        ("1101960003", "x", ["seller"], None, "角色"),
        ("110196000B", "again", ["ebc"], None, "已备案"),
    ]
    for code, name, roles, credit, phrase in bad_cases:
        with pytest.raises(RegistryError) as caught, store.transaction() as session:
            add_enterprise(session, code, name, roles=roles, credit_code=credit)
        assert phrase in caught.value.zh and caught.value.en


def test_keys_are_hashed_shown_once_and_revocable(store: Store) -> None:
    with store.transaction() as session:
        add_enterprise(session, "110196000B", "测试企业", roles=["ebc"])
        key = issue_key(session, "110196000B")
    with store.transaction() as session:
        stored = session.scalars(select(ApiKeyRow)).one()
        assert key not in (stored.key_hash, stored.prefix) and stored.key_hash != key
        assert enterprise_for_key(session, key) == "110196000B"
        assert enterprise_for_key(session, key[:-1] + ("A" if key[-1] != "A" else "B")) is None
        assert enterprise_for_key(session, "nonsense") is None
        assert revoke_keys(session, "110196000B") == 1
    with store.transaction() as session:
        assert enterprise_for_key(session, key) is None
    with pytest.raises(RegistryError), store.transaction() as session:
        issue_key(session, "9999999999")


def test_api_uses_register_keys(store: Store) -> None:
    order = ceb311()
    transfer = order.child("BaseTransfer")
    assert transfer is not None
    cop_code = str(transfer.values["copCode"])
    with store.transaction() as session:
        add_enterprise(session, cop_code, "测试企业", roles=["ebc"])
        key = issue_key(session, cop_code)
    client = TestClient(create_app(store, Settings()))
    headers = {"Content-Type": "application/xml", "X-API-Key": key}
    response = client.post("/api/v1/messages", content=render(order), headers=headers)
    assert response.status_code == 200, response.text
    assert [(r["type"], r["status"]) for r in response.json()["receipts"]] == [("CEB312", "120")]
    wrong = client.post(
        "/api/v1/messages", content=render(order), headers={**headers, "X-API-Key": key + "x"}
    )
    assert wrong.status_code == 401


def test_enterprise_commands_on_a_fresh_data_directory(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from cbec.cli import app

    monkeypatch.setenv("CBEC_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CBEC_DATABASE_URL", raising=False)
    runner = CliRunner()
    bad = runner.invoke(app, ["enterprise", "add", "123", "x", "--role", "ebc"])
    assert bad.exit_code == 2 and "CBEC-0601" in bad.output and "10位海关代码" in bad.output
    good = runner.invoke(app, ["enterprise", "add", "110196000B", "测试企业", "--role", "ebc"])
    assert good.exit_code == 0, good.output
    key = runner.invoke(app, ["enterprise", "key", "110196000B"])
    assert key.exit_code == 0 and key.stdout.strip().startswith("cbec_")
