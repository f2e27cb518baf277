"""Push delivery: subscriptions over HTTP, the worker posting each new receipt signed with HMAC-SHA256,
retries with back-off, giving up after the maximum attempts, and the delivery log."""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from api_helpers import World, make_world, send
from cbec.ceb import examples, render
from cbec.delivery import SIGNATURE_HEADER, TIMESTAMP_HEADER, deliver_once, sign, verify
from cbec.delivery.service import backoff, check_url
from cbec.store.db import Store
from cbec.store.models import SubscriptionRow

T0 = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
BASE = timedelta(seconds=30)


@pytest.fixture
def world(store: Store) -> World:
    return make_world(store)


def _subscribe(world: World, url: str = "https://receiver.example/cbec") -> tuple[int, str]:
    answer = world.client.post("/api/v1/subscriptions", json={"url": url}, headers=world.headers("ebc"))
    assert answer.status_code == 201, answer.text
    body = answer.json()
    return body["id"], body["secret"]


def _orders(world: World, *numbers: int) -> None:
    for n in numbers:
        send(world, "ebc", render(examples.ceb311(replace(world.trade, order_no=f"PUSH{n}"))))


class Receiver:
    """An httpx transport that answers with the given statuses in turn and keeps what it received."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.received: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.received.append(request)
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return httpx.Response(status)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self))


def test_subscriptions_over_http(world: World) -> None:
    sub_id, secret = _subscribe(world)
    assert secret.startswith("whsec_") and len(secret) > 40
    listed = world.client.get("/api/v1/subscriptions", headers=world.headers("ebc"))
    assert listed.status_code == 200 and secret not in listed.text
    assert [s["id"] for s in listed.json()] == [sub_id]
    with world.store.transaction() as session:
        row = session.get(SubscriptionRow, sub_id)
        assert row is not None and secret not in row.secret  # stored encrypted
    for url in ("http://receiver.example/cbec", "ftp://127.0.0.1/x", "https://user:pw@host/x", "not a url"):
        bad = world.client.post("/api/v1/subscriptions", json={"url": url}, headers=world.headers("ebc"))
        assert bad.status_code == 400 and bad.json()["code"] == "CBEC-0509", url
    local = world.client.post(
        "/api/v1/subscriptions", json={"url": "http://127.0.0.1:9/x"}, headers=world.headers("ebc")
    )
    assert local.status_code == 201
    assert world.client.get("/api/v1/subscriptions", headers=world.headers("regulator")).status_code == 403
    for path in (f"/api/v1/subscriptions/{sub_id}/deliveries",):
        assert world.client.get(path, headers=world.headers("outsider")).status_code == 404
    assert (
        world.client.delete(f"/api/v1/subscriptions/{sub_id}", headers=world.headers("outsider")).status_code
        == 404
    )
    deleted = world.client.delete(f"/api/v1/subscriptions/{sub_id}", headers=world.headers("ebc"))
    assert deleted.status_code == 200 and deleted.json()["status"] == "deleted"
    assert (
        world.client.delete("/api/v1/subscriptions/999999", headers=world.headers("ebc")).status_code == 404
    )


def test_new_receipts_are_delivered_in_order_and_signed(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    _orders(world, 0)  # before the subscription: not pushed
    sub_id, secret = _subscribe(world)
    _orders(world, 1, 2)
    receiver = Receiver(200)
    with caplog.at_level(logging.DEBUG):
        stats = deliver_once(world.store, client=receiver.client(), now=T0)
    assert (stats.delivered, stats.failed, stats.given_up) == (2, 0, 0)
    bodies = [json.loads(r.content) for r in receiver.received]
    assert [b["type"] for b in bodies] == ["CEB312", "CEB312"]
    assert bodies[0]["id"] < bodies[1]["id"] and "PUSH1" in bodies[0]["xml"] and "PUSH2" in bodies[1]["xml"]
    for request in receiver.received:
        timestamp = request.headers[TIMESTAMP_HEADER]
        assert verify(secret, timestamp, request.content, request.headers[SIGNATURE_HEADER], now=T0)
        assert not verify(
            "whsec_wrong", timestamp, request.content, request.headers[SIGNATURE_HEADER], now=T0
        )
        assert not verify(
            secret, timestamp, request.content + b" ", request.headers[SIGNATURE_HEADER], now=T0
        )
        late = T0 + timedelta(minutes=10)
        assert not verify(secret, timestamp, request.content, request.headers[SIGNATURE_HEADER], now=late)
    assert secret not in caplog.text
    assert deliver_once(world.store, client=receiver.client(), now=T0).attempts == 0  # nothing new
    log = world.client.get(f"/api/v1/subscriptions/{sub_id}/deliveries", headers=world.headers("ebc")).json()
    assert [(d["attempt"], d["outcome"], d["statusCode"]) for d in log["deliveries"]] == [
        (1, "delivered", 200),
        (1, "delivered", 200),
    ]


def test_a_failure_is_retried_after_the_back_off(world: World) -> None:
    sub_id, _ = _subscribe(world)
    _orders(world, 1, 2)
    receiver = Receiver(500, 200)
    first = deliver_once(world.store, client=receiver.client(), now=T0, base_delay=BASE)
    assert (first.delivered, first.failed) == (0, 1)  # the second receipt waits behind the first
    assert (
        deliver_once(world.store, client=receiver.client(), now=T0 + BASE / 2, base_delay=BASE).attempts == 0
    )
    second = deliver_once(world.store, client=receiver.client(), now=T0 + BASE, base_delay=BASE)
    assert second.delivered == 2
    log = world.client.get(f"/api/v1/subscriptions/{sub_id}/deliveries", headers=world.headers("ebc")).json()
    rows = [(d["attempt"], d["outcome"], d["statusCode"]) for d in log["deliveries"]]
    assert rows == [(1, "failed", 500), (2, "delivered", 200), (1, "delivered", 200)]
    assert log["deliveries"][0]["nextAttemptAt"] == (T0 + BASE).isoformat()
    assert len({d["receiptId"] for d in log["deliveries"]}) == 2


def test_it_gives_up_after_the_maximum_attempts(world: World) -> None:
    sub_id, _ = _subscribe(world)
    _orders(world, 1)
    receiver = Receiver(503)
    moment = T0
    outcomes = []
    for attempt in range(1, 4):
        stats = deliver_once(
            world.store, client=receiver.client(), now=moment, max_attempts=3, base_delay=BASE
        )
        outcomes.append((stats.failed, stats.given_up))
        moment += backoff(attempt, BASE)
    assert outcomes == [(1, 0), (1, 0), (0, 1)]
    assert (
        backoff(1, BASE) == BASE and backoff(2, BASE) == 2 * BASE and backoff(30, BASE) == timedelta(hours=6)
    )
    _orders(world, 2)  # the next receipt is not blocked by the one given up
    assert deliver_once(world.store, client=Receiver(200).client(), now=moment).delivered == 1
    log = world.client.get(f"/api/v1/subscriptions/{sub_id}/deliveries", headers=world.headers("ebc")).json()
    assert [d["outcome"] for d in log["deliveries"]] == ["failed", "failed", "gave-up", "delivered"]


def test_unreachable_endpoint_is_a_failed_attempt(world: World) -> None:
    _subscribe(world)
    _orders(world, 1)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client = httpx.Client(transport=httpx.MockTransport(refuse))
    assert deliver_once(world.store, client=client, now=T0).failed == 1


def test_a_real_local_receiver_verifies_the_signature(world: World) -> None:
    got: list[tuple[bool, dict[str, Any]]] = []
    secret_box: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            ok = verify(secret_box[0], self.headers[TIMESTAMP_HEADER], body, self.headers[SIGNATURE_HEADER])
            got.append((ok, json.loads(body)))
            self.send_response(204 if ok else 401)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        _, secret = _subscribe(world, f"http://127.0.0.1:{server.server_port}/hook")
        secret_box.append(secret)
        _orders(world, 1)
        stats = deliver_once(world.store)
    finally:
        server.shutdown()
        server.server_close()
    assert stats.delivered == 1
    assert [(ok, body["type"]) for ok, body in got] == [(True, "CEB312")]


def test_sign_and_check_url() -> None:
    assert sign("s", "1", b"x") == sign("s", "1", b"x") != sign("s", "2", b"x")
    assert sign("s", "1", b"x").startswith("sha256=")
    assert check_url("https://a.example/x") == "https://a.example/x"
    assert check_url("http://localhost:8080/x") == "http://localhost:8080/x"
    assert check_url("http://[::1]:8080/x") == "http://[::1]:8080/x"
    with pytest.raises(Exception, match="https"):
        check_url("http://10.0.0.1/x")


def test_deliver_command_runs_one_pass(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from cbec.cli import app

    monkeypatch.setenv("CBEC_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CBEC_DATABASE_URL", raising=False)
    result = CliRunner().invoke(app, ["deliver", "--once"])
    assert result.exit_code == 0, result.output
    assert "delivered 0" in result.output
    with Store().transaction() as session:  # the command migrated the fresh data directory
        assert session.scalars(select(SubscriptionRow)).all() == []


def test_a_claimed_subscription_is_left_alone_until_its_lease_ends(world: World) -> None:
    from cbec.delivery.service import LEASE, _claim

    sub_id, _ = _subscribe(world)
    _orders(world, 1)
    assert _claim(world.store, sub_id, T0) is not None  # a worker took it, then died before posting
    assert _claim(world.store, sub_id, T0) is None  # a second worker does not take it again
    assert deliver_once(world.store, client=Receiver(200).client(), now=T0 + LEASE / 2).attempts == 0
    assert deliver_once(world.store, client=Receiver(200).client(), now=T0 + LEASE).delivered == 1
