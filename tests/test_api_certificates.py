"""Registered signing certificates: upload, list and revoke over HTTP and the CLI; lists, cancellations and
returns over the API must be signed with one of the sender's active certificates, or they are refused with
the official signature codes and nothing is stored but the archived message and its receipt."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from api_helpers import World, fresh, make_world, register_certificate, rsa_identity, send
from cbec.ceb import examples, render
from cbec.ceb.sign import load_certificate, self_signed_rsa
from cbec.certificates import CertificateError, add_certificate, trusted_for
from cbec.clearance.service import Engine
from cbec.store.db import Store
from cbec.store.models import AuditRow, DocumentRow


@pytest.fixture
def world(store: Store) -> World:
    return make_world(store)


def _lists(store: Store) -> int:
    with store.transaction() as session:
        return session.scalar(select(func.count()).where(DocumentRow.kind == "list")) or 0


def _statuses(answer: dict[str, object]) -> list[str]:
    return [r["status"] for r in answer["receipts"]]  # type: ignore[attr-defined]


def test_operator_registers_lists_and_revokes_certificates(world: World, tmp_path: Path) -> None:
    identity = rsa_identity(tmp_path)
    agent = world.trade.agent.code
    cert_id = register_certificate(world, identity)
    listed = world.client.get(f"/api/v1/enterprises/{agent}/certificates", headers=world.headers("agent"))
    assert listed.status_code == 200
    [cert] = listed.json()
    expected = load_certificate(identity.cert_pem)
    assert cert["serial"] == expected.serial_hex and cert["status"] == "active" and cert["keyType"] == "rsa"
    assert cert["subject"] == expected.subject and len(cert["fingerprint"]) == 64
    # another enterprise neither sees nor changes them; an enterprise cannot register its own
    assert (
        world.client.get(
            f"/api/v1/enterprises/{agent}/certificates", headers=world.headers("outsider")
        ).status_code
        == 403
    )
    for who in ("agent", "regulator"):
        refused = world.client.post(
            f"/api/v1/enterprises/{agent}/certificates",
            json={"pem": identity.cert_pem},
            headers=world.headers(who),
        )
        assert refused.status_code == 403 and refused.json()["code"] == "CBEC-0502"
    again = world.client.post(
        f"/api/v1/enterprises/{agent}/certificates",
        json={"pem": identity.cert_pem},
        headers=world.headers("operator"),
    )
    assert again.status_code == 409 and again.json()["code"] == "CBEC-0605"
    garbage = world.client.post(
        f"/api/v1/enterprises/{agent}/certificates",
        json={"pem": "not a certificate"},
        headers=world.headers("admin"),
    )
    assert garbage.status_code == 400 and garbage.json()["code"] == "CBEC-0603" and garbage.json()["zh"]
    unknown = world.client.post(
        "/api/v1/enterprises/0000000000/certificates",
        json={"pem": identity.cert_pem},
        headers=world.headers("admin"),
    )
    assert unknown.status_code == 404
    revoked = world.client.delete(
        f"/api/v1/enterprises/{agent}/certificates/{cert_id}", headers=world.headers("operator")
    )
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    wrong_owner = world.client.delete(
        f"/api/v1/enterprises/{world.trade.ebc.code}/certificates/{cert_id}",
        headers=world.headers("operator"),
    )
    assert wrong_owner.status_code == 404
    with world.store.transaction() as session:
        actions = [r.action for r in session.scalars(select(AuditRow).order_by(AuditRow.id))]
        assert actions == ["certificate.add", "certificate.revoke"]
        assert trusted_for(session, agent) == []


def test_expired_or_unsupported_certificates_are_refused(store: Store) -> None:
    make_world(store)
    past = datetime.now(UTC) - timedelta(days=10)
    _, old = self_signed_rsa("old", not_before=past - timedelta(days=5), not_after=past)
    with store.transaction() as session, pytest.raises(CertificateError, match="expired"):
        add_certificate(session, examples.AGENT.code, old)
    with store.transaction() as session, pytest.raises(CertificateError, match="empty"):
        add_certificate(session, examples.AGENT.code, b"  ")


def test_unsigned_list_is_refused_and_nothing_is_stored(world: World) -> None:
    unsigned = render(examples.ceb621(world.trade, signed=False))
    answer = send(world, "agent", unsigned)
    assert answer["outcome"] == "rejected" and _statuses(answer) == ["-621029"]
    info = answer["receipts"][0]["info"]  # type: ignore[index]
    assert "[1001]" in info and "报文未签名" in info
    assert _lists(world.store) == 0
    # the placeholder signature of the examples does not verify either
    placeholder = examples.Trade(order_no="PLACEHOLDER1")
    assert _statuses(send(world, "agent", render(examples.ceb621(placeholder)))) == ["-621029"]


def test_a_list_in_the_json_form_cannot_be_verified_so_it_is_refused(world: World, tmp_path: Path) -> None:
    from cbec.ceb import jsonform

    register_certificate(world, rsa_identity(tmp_path))
    body = jsonform.dumps(examples.ceb621(world.trade)).encode("utf-8")
    answer = world.client.post(
        "/api/v1/messages",
        content=body,
        headers=world.headers("agent", **{"Content-Type": "application/json"}),
    )
    assert answer.status_code == 200
    [receipt] = answer.json()["receipts"]
    assert receipt["status"] == "-621029" and "JSON" in receipt["info"]
    assert _lists(world.store) == 0


def test_only_a_registered_active_certificate_is_accepted(world: World, tmp_path: Path) -> None:
    registered, stranger = rsa_identity(tmp_path, "registered"), rsa_identity(tmp_path, "stranger")
    cert_id = register_certificate(world, registered)
    by_stranger = send(world, "agent", stranger.sign(examples.ceb621(world.trade, signed=False)))
    assert _statuses(by_stranger) == ["-621029"]
    assert "不在受信任证书之列" in by_stranger["receipts"][0]["info"]  # type: ignore[index]
    assert _lists(world.store) == 0
    accepted = send(world, "agent", registered.sign(fresh(examples.ceb621(world.trade, signed=False))))
    assert _statuses(accepted)[0] == "120"
    world.client.delete(
        f"/api/v1/enterprises/{world.trade.agent.code}/certificates/{cert_id}",
        headers=world.headers("operator"),
    )
    other = examples.Trade(order_no="REVOKED1", logistics_no="LNREVOKED1", pay_transaction_id="PAYREVOKED1")
    after_revocation = send(world, "agent", registered.sign(examples.ceb621(other, signed=False)))
    assert _statuses(after_revocation) == ["-621029"]
    assert _lists(world.store) == 1


def test_drafts_need_no_registered_certificate_and_cancellations_do(world: World) -> None:
    draft = examples.Trade(app_status="1")
    answer = send(world, "agent", render(examples.ceb621(draft)))  # the examples' placeholder signature
    assert _statuses(answer) == ["1"]
    unsigned_draft = send(
        world, "agent", render(examples.ceb621(replace(draft, order_no="DRAFT2"), signed=False))
    )
    assert _statuses(unsigned_draft) == ["-621029"]
    cancel = send(world, "agent", render(examples.ceb623(world.trade, signed=False)))
    assert _statuses(cancel) == ["-623029"]
    refund = send(world, "agent", render(examples.ceb625(world.trade, signed=False)))
    assert _statuses(refund) == ["-625005"]


def test_the_engine_judges_the_certificate_at_the_arrival_time(store: Store, tmp_path: Path) -> None:
    identity = rsa_identity(tmp_path)
    trusted = [load_certificate(identity.cert_pem)]
    signed = identity.sign(examples.ceb621(examples.Trade(), signed=False))
    late = datetime.now(UTC) + timedelta(days=400)  # the test certificate is valid for 365 days
    result = Engine(store).ingest(signed, trusted=trusted, now=late)
    assert result.statuses == ["-621029"] and "[1002]" in result.answers[0].info
    in_time = identity.sign(examples.ceb621(examples.Trade(order_no="INTIME1"), signed=False))
    assert Engine(store).ingest(in_time, trusted=trusted).statuses[0] == "120"


def test_certificate_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from cbec.cli import app

    monkeypatch.setenv("CBEC_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CBEC_DATABASE_URL", raising=False)
    identity = rsa_identity(tmp_path)
    runner = CliRunner()
    assert runner.invoke(app, ["enterprise", "add", "110198000E", "报关行", "--role", "agent"]).exit_code == 0
    added = runner.invoke(app, ["enterprise", "cert", "add", "110198000E", str(identity.cert_path)])
    assert added.exit_code == 0, added.output
    assert "registered certificate 1" in added.output
    twice = runner.invoke(app, ["enterprise", "cert", "add", "110198000E", str(identity.cert_path)])
    assert twice.exit_code == 2 and "CBEC-0605" in twice.output
    missing = runner.invoke(app, ["enterprise", "cert", "add", "110198000E", str(tmp_path / "nope.pem")])
    assert missing.exit_code == 2 and "CBEC-0002" in missing.output
    listed = runner.invoke(app, ["enterprise", "cert", "list"])
    assert listed.exit_code == 0 and "110198000E" in listed.output and "active" in listed.output
    assert runner.invoke(app, ["enterprise", "cert", "revoke", "1"]).exit_code == 0
    assert "revoked" in runner.invoke(app, ["enterprise", "cert", "list", "110198000E"]).output
    assert runner.invoke(app, ["enterprise", "cert", "revoke", "99"]).exit_code == 2


def test_an_sm2_certificate_is_registered_and_its_signatures_accepted(world: World, tmp_path: Path) -> None:
    from cbec.ceb.sign import load_signer, sign_message
    from sign_helpers import make_sm2_identity

    identity = make_sm2_identity(tmp_path)  # skips without an OpenSSL that has SM2
    answer = world.client.post(
        f"/api/v1/enterprises/{world.trade.agent.code}/certificates",
        json={"pem": identity.cert_path.read_text()},
        headers=world.headers("operator"),
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["keyType"] == "sm2"
    signer = load_signer(identity.key_path, identity.cert_path, "sm2-sm3")
    signed = sign_message(render(examples.ceb621(world.trade, signed=False)), signer)
    assert _statuses(send(world, "agent", signed))[0] == "120"


def test_migration_0006_indexes_the_parties_of_stored_documents(tmp_path: Path) -> None:
    from alembic import command

    from cbec.access import parties
    from cbec.store.db import make_engine
    from cbec.store.migrate import alembic_config, upgrade
    from cbec.store.models import DocumentPartyRow

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine)
    store = Store(engine=engine)
    Engine(store).ingest(render(examples.ceb311(examples.Trade(order_no="OLD1"))))
    config = alembic_config(engine)
    with engine.begin() as connection:  # back to 0005: documents without their party rows
        config.attributes["connection"] = connection
        command.downgrade(config, "0005")
    upgrade(engine)  # 0006 again, indexing what is stored
    with store.transaction() as session:
        [order] = session.scalars(select(DocumentRow)).all()
        rows = session.scalars(select(DocumentPartyRow)).all()
        expected = {(code, order.id) for code in parties(order.body)}
        assert {(r.party_code, r.document_id) for r in rows} == expected
        assert examples.EBC.code in parties(order.body)
    engine.dispose()
