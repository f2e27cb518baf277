"""A registered world for API tests: the example trade's enterprises with API keys, users of each role,
a signing identity and a loaded positive list."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient

from cbec.api import create_app
from cbec.ceb import examples, render
from cbec.ceb.model import Message
from cbec.ceb.sign import load_signer, self_signed_rsa, sign_message
from cbec.clearance import reference
from cbec.clearance.service import Settings
from cbec.registry import add_enterprise, issue_key, issue_user_key
from cbec.store.db import Store
from cbec.store.models import UserRow

#: an enterprise of the register that takes part in none of the example documents
OUTSIDER = "9999999999"


@dataclass
class World:
    client: TestClient
    store: Store
    trade: examples.Trade
    keys: dict[str, str]  # role name (ebp, ebc, logistics, payment, agent, outsider, regulator …) → key

    def headers(self, who: str, **extra: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[who], **extra}


def make_world(store: Store, trade: examples.Trade | None = None, settings: Settings | None = None) -> World:
    trade = trade or examples.Trade()
    keys: dict[str, str] = {}
    with store.transaction() as session:
        parties = {
            "ebp": (trade.ebp, "ebp"),
            "ebc": (trade.ebc, "ebc"),
            "logistics": (trade.logistics, "logistics"),
            "payment": (trade.payment, "pay"),
            "agent": (trade.agent, "agent"),
        }
        for who, (party, role) in parties.items():
            add_enterprise(session, party.code, party.name, roles=[role])
            keys[who] = issue_key(session, party.code)
        add_enterprise(session, OUTSIDER, "无关企业", roles=["ebc"])
        keys["outsider"] = issue_key(session, OUTSIDER)
        now = datetime.now(UTC)
        for role in ("regulator", "operator", "admin"):
            # users that act only through API keys: no password (an Argon2 hash a test would wait for)
            session.add(
                UserRow(
                    login=f"{role}01",
                    name=role,
                    role=role,
                    enterprise_code=None,
                    password_hash="!",
                    status="active",
                    created_at=now,
                    password_changed_at=now,
                )
            )
            session.flush()
            keys[role] = issue_user_key(session, f"{role}01")
    client = TestClient(create_app(store, settings or Settings()))
    return World(client, store, trade, keys)


def load_positive_list(store: Store, folder: Path) -> None:
    path = folder / "list.csv"
    path.write_text(
        "tariff_line,name,remark,version,effective_date\n96190011,尿布,,T,2022-03-01\n19011010,奶粉,,T,2022-03-01\n",
        encoding="utf-8",
    )
    with store.transaction() as session:
        reference.load(session, reference.POSITIVE_LIST, path)


@dataclass
class SigningIdentity:
    key_path: Path
    cert_path: Path

    @property
    def cert_pem(self) -> str:
        return self.cert_path.read_text()

    def sign(self, message: Message) -> bytes:
        signer = load_signer(self.key_path, self.cert_path, "rsa-sha1")
        return sign_message(render(message), signer)


def rsa_identity(folder: Path, name: str = "id") -> SigningIdentity:
    key, cert = self_signed_rsa(f"cbec api test {name}")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}-key.pem").write_bytes(key)
    (folder / f"{name}-cert.pem").write_bytes(cert)
    return SigningIdentity(folder / f"{name}-key.pem", folder / f"{name}-cert.pem")


def register_certificate(world: World, identity: SigningIdentity, who: str = "agent") -> int:
    code = {"agent": world.trade.agent.code, "ebc": world.trade.ebc.code}[who]
    answer = world.client.post(
        f"/api/v1/enterprises/{code}/certificates",
        json={"pem": identity.cert_pem},
        headers=world.headers("operator"),
    )
    assert answer.status_code == 201, answer.text
    cert_id = answer.json()["id"]
    assert isinstance(cert_id, int)
    return cert_id


XML = {"Content-Type": "application/xml"}


def fresh(message: Message) -> Message:
    """The message under a new guid: a corrected message is sent again as a new message."""
    message.guid = str(uuid.uuid4()).upper()
    return message


def send(world: World, who: str, body: bytes) -> dict[str, object]:
    answer = world.client.post("/api/v1/messages", content=body, headers=world.headers(who, **XML))
    assert answer.status_code == 200, answer.text
    result: dict[str, object] = answer.json()
    return result


def released_trade(world: World, identity: SigningIdentity) -> str:
    """The example trade sent over the API (list signed with a registered certificate) and released;
    returns the list's invtNo."""
    trade = world.trade
    send(world, "ebc", render(examples.ceb311(trade)))
    send(world, "payment", render(examples.ceb411(trade)))
    send(world, "logistics", render(examples.ceb511(trade)))
    answer = send(world, "agent", identity.sign(examples.ceb621(trade, signed=False)))
    statuses = [r["status"] for r in answer["receipts"]]  # type: ignore[attr-defined]
    assert "800" in statuses, answer
    listing = world.client.get(f"/api/v1/lists/{trade.order_no}", headers=world.headers("agent"))
    invt_no = listing.json()["invtNo"]
    assert isinstance(invt_no, str)
    return invt_no
