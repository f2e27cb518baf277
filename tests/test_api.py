"""The HTTP API over a real store (SQLite and PostgreSQL): send, answer, refuse, collect by cursor."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cbec.api import create_app
from cbec.ceb.examples import Party, ceb311
from cbec.ceb.model import Message
from cbec.ceb.render import render
from cbec.clearance.service import Settings
from cbec.store.db import Store
from cbec.store.models import MessageRow, ReceiptRow

OTHER = "OTHERCOP01"
XML = {"Content-Type": "application/xml"}


def cop_code(message: Message) -> str:
    transfer = message.child("BaseTransfer")
    assert transfer is not None
    value = transfer.values["copCode"]
    assert isinstance(value, str)
    return value


def with_cop_code(message: Message, code: str) -> Message:
    transfer = message.child("BaseTransfer")
    assert transfer is not None
    transfer.values["copCode"] = code
    return message


@pytest.fixture
def client(store: Store) -> TestClient:
    keys = {"key-ebc": cop_code(ceb311()), "key-other": OTHER}
    return TestClient(create_app(store, Settings(), api_keys=keys))


def post(client: TestClient, body: bytes, key: str = "key-ebc") -> Any:
    return client.post("/api/v1/messages", content=body, headers={**XML, "X-API-Key": key})


def count(store: Store, model: type[MessageRow] | type[ReceiptRow]) -> int:
    with store.transaction() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_order_is_answered_and_a_repeat_is_a_duplicate(client: TestClient) -> None:
    body = render(ceb311())
    first = post(client, body)
    assert first.status_code == 200, first.text
    answer = first.json()
    assert answer["messageType"] == "CEB311"
    assert answer["outcome"] == "accepted"
    [receipt] = answer["receipts"]
    assert receipt["type"] == "CEB312"
    assert receipt["status"] == "120"
    assert receipt["xml"].lstrip().startswith("<?xml")

    again = post(client, body)
    assert again.status_code == 200
    assert again.json()["outcome"] == "duplicate"
    assert [r["xml"] for r in again.json()["receipts"]] == [receipt["xml"]]


def test_missing_or_unknown_key_is_401(client: TestClient, store: Store) -> None:
    body = render(ceb311())
    for headers in ({**XML, "X-API-Key": "wrong"}, XML):
        response = client.post("/api/v1/messages", content=body, headers=headers)
        assert response.status_code == 401
        assert set(response.json()) == {"code", "zh", "en"}
    assert client.get("/api/v1/receipts", headers={"X-API-Key": "nope"}).status_code == 401
    assert count(store, MessageRow) == 0


def test_another_enterprises_message_is_403_and_not_stored(client: TestClient, store: Store) -> None:
    response = post(client, render(with_cop_code(ceb311(), OTHER)))
    assert response.status_code == 403
    error = response.json()
    assert error["code"].startswith("CBEC-") and error["zh"] and error["en"]
    assert count(store, MessageRow) == 0
    assert count(store, ReceiptRow) == 0


def test_empty_body_is_400_and_unreadable_body_gets_a_ceb900(client: TestClient) -> None:
    empty = post(client, b"  ")
    assert empty.status_code == 400
    assert set(empty.json()) == {"code", "zh", "en"}
    garbage = post(client, b"<not-a-message/>")
    assert garbage.status_code == 200
    assert garbage.json()["outcome"] == "rejected"
    assert [r["type"] for r in garbage.json()["receipts"]] == ["CEB900"]


def test_an_unreadable_json_form_gets_a_ceb900_not_a_500(client: TestClient) -> None:
    for body in (b"{}", b'{"CEB311Message": 5}', b"{not json"):
        answer = client.post(
            "/api/v1/messages",
            content=body,
            headers={"Content-Type": "application/json", "X-API-Key": "key-ebc"},
        )
        assert answer.status_code == 200, answer.text
        [receipt] = answer.json()["receipts"]
        assert receipt["type"] == "CEB900" and receipt["status"] == "-1"


def test_body_over_the_cap_is_413(client: TestClient) -> None:
    from cbec.api.messages import MAX_BODY_BYTES

    response = post(client, b"<" + b"x" * MAX_BODY_BYTES + b">")
    assert response.status_code == 413
    assert set(response.json()) == {"code", "zh", "en"}


def test_receipts_by_cursor_only_for_the_caller(client: TestClient) -> None:
    assert post(client, render(ceb311())).status_code == 200
    assert post(client, render(ceb311(order_no="ORD202611280002"))).status_code == 200
    other = ceb311(order_no="ORD202611280003", ebc=Party(OTHER, "其他企业"))  # its own order
    assert post(client, render(other), key="key-other").status_code == 200

    page = client.get("/api/v1/receipts", params={"after": 0}, headers={"X-API-Key": "key-ebc"})
    assert page.status_code == 200
    body = page.json()
    assert len(body["receipts"]) == 2
    ids = [r["id"] for r in body["receipts"]]
    assert ids == sorted(ids) and body["next"] == ids[-1]
    assert all(r["type"] == "CEB312" for r in body["receipts"])
    assert all("ORD202611280003" not in r["xml"] for r in body["receipts"])

    rest = client.get("/api/v1/receipts", params={"after": body["next"]}, headers={"X-API-Key": "key-ebc"})
    assert rest.json() == {"receipts": [], "next": body["next"]}

    theirs = client.get("/api/v1/receipts", params={"after": 0}, headers={"X-API-Key": "key-other"})
    assert len(theirs.json()["receipts"]) == 1


def test_limit_over_500_is_400(client: TestClient) -> None:
    response = client.get("/api/v1/receipts", params={"limit": 501}, headers={"X-API-Key": "key-ebc"})
    assert response.status_code == 400
    assert set(response.json()) == {"code", "zh", "en"}


def test_health_and_openapi(client: TestClient) -> None:
    assert client.get("/api/v1/health").json() == {"status": "ok"}
    schema = client.get("/openapi.json").json()
    assert schema["info"]["title"] == "cbec 跨境电商线上综合服务平台 API"
    assert "/api/v1/messages" in schema["paths"]
    assert client.get("/docs").status_code == 200
