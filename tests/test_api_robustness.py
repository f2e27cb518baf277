"""Text PostgreSQL cannot store (NUL) or XML cannot carry, anywhere a caller can put it: in the path, the
query, a JSON body or a message in the JSON form. Each is a clear 400 or a CEB900 receipt, never a 500, on
both databases."""

from __future__ import annotations

import json

import pytest

from api_helpers import World, make_world
from cbec.ceb import examples, jsonform
from cbec.store.db import Store


@pytest.fixture
def world(store: Store) -> World:
    return make_world(store)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/lists/A%00B", {}),
        ("/api/v1/orders/%00", {}),
        ("/api/v1/documents", {"number": "A\x00B"}),
        ("/api/v1/documents", {"status": "\x00"}),
        ("/api/v1/tax-bills", {"invtNo": "\x00"}),
        ("/api/v1/quota", {"idNumber": "11010119900307000\x00"}),
        ("/api/v1/enterprises/%00/certificates", {}),
    ],
)
def test_nul_in_the_url_is_400(world: World, path: str, params: dict[str, str]) -> None:
    answer = world.client.get(path, params=params, headers=world.headers("admin"))
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "CBEC-0504"


def test_nul_in_json_bodies_is_400(world: World) -> None:
    bodies = [
        ("/api/v1/enterprises", {"code": "110196000\x00", "name": "x", "roles": ["ebc"]}, "admin"),
        ("/api/v1/enterprises", {"code": "110196000Y", "name": "x\x00", "roles": ["ebc\x00"]}, "admin"),
        ("/api/v1/subscriptions", {"url": "https://a.example/\x00"}, "ebc"),
        ("/api/v1/quota", {"idNumber": "110101199003070003", "name": "\x00"}, "regulator"),
    ]
    for path, body, who in bodies:
        answer = world.client.post(path, json=body, headers=world.headers(who))
        assert answer.status_code == 400, (path, answer.text)
        assert set(answer.json()) == {"code", "zh", "en"}


def test_a_json_form_message_with_control_characters_gets_a_ceb900(world: World) -> None:
    document = json.dumps(jsonform.to_json(examples.ceb311(examples.Trade(order_no="PLACEHOLDER"))))
    for bad in ("NUL\\u0000X", "BELL\\u0007", "LONE\\ud800"):  # JSON escapes, as a client would send
        answer = world.client.post(
            "/api/v1/messages",
            content=document.replace("PLACEHOLDER", bad).encode("utf-8"),
            headers=world.headers("ebc", **{"Content-Type": "application/json"}),
        )
        assert answer.status_code == 200, answer.text
        [receipt] = answer.json()["receipts"]
        assert receipt["type"] == "CEB900" and receipt["status"] == "-1"
        assert "控制字符" in receipt["info"]
