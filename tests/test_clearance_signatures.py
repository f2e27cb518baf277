"""Signatures at intake: every signature is verified and the result archived; 'enforce' refuses bad ones."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from cbec.ceb import examples, render
from cbec.ceb.sign import load_signer, self_signed_rsa, sign_message
from cbec.clearance.service import Engine, Settings
from cbec.store.db import Store
from cbec.store.models import MessageRow

NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


def _signed(tmp_path: Path, trade: examples.Trade) -> bytes:
    key, cert = self_signed_rsa("cbec intake test")
    (tmp_path / "k.pem").write_bytes(key)
    (tmp_path / "c.pem").write_bytes(cert)
    signer = load_signer(tmp_path / "k.pem", tmp_path / "c.pem", "rsa-sha1")
    return sign_message(render(examples.ceb621(trade, signed=False)), signer)


def _archived(store: Store) -> list[tuple[str, str, str | None]]:
    with store.transaction() as session:
        rows = session.scalars(select(MessageRow).order_by(MessageRow.id))
        return [(r.msg_type, r.signature, r.signature_code) for r in rows]


def test_signature_results_are_archived(store: Store, tmp_path: Path) -> None:
    engine = Engine(store)
    signed = _signed(tmp_path, examples.Trade(order_no="S1"))
    assert engine.ingest(signed, now=NOW).statuses == ["120"]
    placeholder = render(examples.ceb621(examples.Trade(order_no="S2")))
    assert engine.ingest(placeholder, now=NOW).statuses == ["120"]  # recorded, not refused, by default
    assert engine.ingest(render(examples.ceb311(examples.Trade(order_no="S3"))), now=NOW).statuses == ["120"]
    archived = _archived(store)
    assert archived[0] == ("CEB621", "valid", None)
    assert archived[1][:2] == ("CEB621", "invalid") and archived[1][2] in ("1001", "1004")
    assert archived[2] == ("CEB311", "none", None)


def test_enforce_refuses_a_signature_that_does_not_verify(store: Store, tmp_path: Path) -> None:
    engine = Engine(store, Settings(signatures="enforce"))
    tampered = _signed(tmp_path, examples.Trade(order_no="S4")).replace(
        b"<ceb:freight>10.00<", b"<ceb:freight>1.00<"
    )
    result = engine.ingest(tampered, now=NOW)
    assert result.outcome == "rejected"
    assert [a.status for a in result.answers] == ["-621029"]
    assert "验签失败" in result.answers[0].info
    assert engine.ingest(_signed(tmp_path, examples.Trade(order_no="S5")), now=NOW).statuses == ["120"]


def test_the_same_message_in_an_envelope_is_a_replay(store: Store) -> None:
    from cbec.ceb import dxp

    engine = Engine(store)
    plain = render(examples.ceb311(examples.Trade(order_no="E1")))
    first = engine.ingest(plain, now=NOW)
    again = engine.ingest(dxp.wrap(plain, sender_id="DXPENT0000000001"), now=NOW)
    assert again.outcome == "duplicate"
    assert [a.xml for a in again.answers] == [a.xml for a in first.answers]
