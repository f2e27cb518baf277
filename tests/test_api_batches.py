"""Batches on POST /api/v1/messages: several files as multipart/form-data, or NDJSON (one message a line,
the JSON form or {"xml": …}); each item answered with its index, type, outcome and receipts; per-item
sender check; limits on the item count and the total size refuse the batch before anything is stored."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from api_helpers import (
    OUTSIDER,
    World,
    load_positive_list,
    make_world,
    register_certificate,
    rsa_identity,
)
from cbec.api import messages
from cbec.ceb import examples, jsonform, render
from cbec.ceb.model import Message
from cbec.clearance.service import Engine, Settings
from cbec.store.db import Store
from cbec.store.models import MessageRow
from store_fixtures import sqlite_store

NDJSON = {"Content-Type": "application/x-ndjson"}


@pytest.fixture
def world(store: Store) -> World:
    return make_world(store)


def _order(world: World, n: int) -> Message:
    return examples.ceb311(replace(world.trade, order_no=f"BATCH{n}"))


def _stored(store: Store) -> int:
    with store.transaction() as session:
        return session.scalar(select(func.count()).select_from(MessageRow)) or 0


def _foreign(message: Message) -> Message:
    transfer = message.child("BaseTransfer")
    assert transfer is not None
    transfer.values["copCode"] = OUTSIDER
    return message


def test_multipart_files_are_answered_one_by_one(world: World) -> None:
    files = [
        ("files", ("a.xml", render(_order(world, 1)), "application/xml")),
        ("files", ("b.xml", render(_order(world, 2)), "application/xml")),
        ("files", ("c.xml", render(_foreign(_order(world, 3))), "application/xml")),
        ("files", ("d.xml", b"<not-a-message/>", "application/xml")),
    ]
    answer = world.client.post("/api/v1/messages", files=files, headers=world.headers("ebc"))
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    assert [(i["index"], i["name"], i["outcome"]) for i in items] == [
        (0, "a.xml", "accepted"),
        (1, "b.xml", "accepted"),
        (2, "c.xml", "refused"),
        (3, "d.xml", "rejected"),
    ]
    assert items[0]["messageType"] == "CEB311" and items[0]["receipts"][0]["status"] == "120"
    assert items[2]["error"]["code"] == "CBEC-0502" and items[2]["receipts"] == []
    assert items[3]["receipts"][0]["type"] == "CEB900"
    assert _stored(world.store) == 2  # the foreign one was never stored; the unreadable one has no row


def test_ndjson_lines_json_form_xml_and_bad_lines(world: World) -> None:
    lines = [
        json.dumps(jsonform.to_json(_order(world, 1)), ensure_ascii=False),
        json.dumps({"xml": render(_order(world, 2)).decode("utf-8")}, ensure_ascii=False),
        "",
        "this is not json",
        json.dumps([1, 2]),
        json.dumps({"xml": 5}),
        json.dumps({"xml": render(_foreign(_order(world, 3))).decode("utf-8")}),
    ]
    body = "\n".join(lines).encode("utf-8")
    answer = world.client.post("/api/v1/messages", content=body, headers=world.headers("ebc", **NDJSON))
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    assert [i["outcome"] for i in items] == [
        "accepted",
        "accepted",
        "refused",
        "refused",
        "refused",
        "refused",
    ]
    assert [i["error"]["code"] for i in items[2:]] == ["CBEC-0504", "CBEC-0504", "CBEC-0504", "CBEC-0502"]
    assert all(i["error"]["zh"] and i["error"]["en"] for i in items[2:])
    again = world.client.post("/api/v1/messages", content=body, headers=world.headers("ebc", **NDJSON))
    assert [i["outcome"] for i in again.json()["items"][:2]] == ["duplicate", "duplicate"]


def test_too_many_items_or_bytes_refuse_the_whole_batch(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(messages, "MAX_BATCH_ITEMS", 2)
    three = "\n".join(json.dumps({"xml": render(_order(world, n)).decode()}) for n in range(3)).encode()
    answer = world.client.post("/api/v1/messages", content=three, headers=world.headers("ebc", **NDJSON))
    assert answer.status_code == 413 and answer.json()["code"] == "CBEC-0508"
    files = [("files", (f"{n}.xml", render(_order(world, n)), "application/xml")) for n in range(3)]
    answer = world.client.post("/api/v1/messages", files=files, headers=world.headers("ebc"))
    assert answer.status_code == 413 and answer.json()["code"] == "CBEC-0508"
    monkeypatch.setattr(messages, "MAX_BATCH_BYTES", 1000)
    big = world.client.post("/api/v1/messages", content=three, headers=world.headers("ebc", **NDJSON))
    assert big.status_code == 413 and big.json()["code"] == "CBEC-0503"
    assert _stored(world.store) == 0


def test_empty_or_malformed_batches_are_400(world: World) -> None:
    empty = world.client.post("/api/v1/messages", content=b"\n\n", headers=world.headers("ebc", **NDJSON))
    assert empty.status_code == 400 and empty.json()["code"] == "CBEC-0504"
    broken = world.client.post(
        "/api/v1/messages",
        content=b"--xyz\r\nContent-Disposition: form-data\r\n\r\n",
        headers=world.headers("ebc", **{"Content-Type": "multipart/form-data; boundary=xyz"}),
    )
    assert broken.status_code == 400 and set(broken.json()) == {"code", "zh", "en"}
    other = world.client.post(
        "/api/v1/messages", content=b"x", headers=world.headers("ebc", **{"Content-Type": "text/csv"})
    )
    assert other.status_code == 415 and other.json()["code"] == "CBEC-0505"
    regulator = world.client.post(
        "/api/v1/messages", content=b"{}", headers=world.headers("regulator", **NDJSON)
    )
    assert regulator.status_code == 403


@pytest.mark.parametrize("group", [False, True])
def test_a_batch_is_taken_in_one_chunk_and_answered_as_one_by_one(
    store: Store, tmp_path: Path, group: bool
) -> None:
    """Each sender's batch of several trades' documents (the lists signed with a registered certificate)
    is one chunk of the engine, with or without group commit, and every item gets exactly the answer the
    same messages get one message a request on a fresh store; a refused item stays out of the chunk."""
    identity = rsa_identity(tmp_path)
    trades = [
        examples.Trade(order_no=f"BCH{i}", logistics_no=f"LNBCH{i}", pay_transaction_id=f"PAYBCH{i}")
        for i in range(4)
    ]
    batches = [
        ("ebc", [render(examples.ceb311(t)) for t in trades]),
        ("payment", [render(examples.ceb411(t)) for t in trades]),
        ("logistics", [render(examples.ceb511(t)) for t in trades]),
        ("agent", [identity.sign(examples.ceb621(t, signed=False)) for t in trades]),
    ]

    def shape(answer: dict[str, Any]) -> tuple[Any, ...]:
        receipts = [(r["type"], r["status"], r["info"]) for r in answer["receipts"]]
        return answer["messageType"], answer["outcome"], receipts, (answer.get("error") or {}).get("code")

    (tmp_path / "plain").mkdir()
    plain = sqlite_store(tmp_path / "plain")
    try:
        one_by_one = make_world(plain)
        register_certificate(one_by_one, identity)
        load_positive_list(plain, tmp_path / "plain")
        expected = []
        for who, bodies in batches:
            for body in [*bodies, bodies[0]]:  # the first again: a duplicate
                headers = one_by_one.headers(who, **{"Content-Type": "application/xml"})
                expected.append(
                    shape(one_by_one.client.post("/api/v1/messages", content=body, headers=headers).json())
                )
            expected.append((None, "refused", [], "CBEC-0502"))
    finally:
        plain.dispose()

    world = make_world(store, settings=Settings(group_commit=group))
    register_certificate(world, identity)
    load_positive_list(store, tmp_path)
    sizes: list[int] = []
    real_many = Engine._many

    def counting(self: Engine, chunk: Any, *rest: Any) -> Any:
        sizes.append(len(chunk))
        return real_many(self, chunk, *rest)

    got = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Engine, "_many", counting)
        for who, bodies in batches:
            files = [
                ("files", (f"{n}.xml", body, "application/xml"))
                for n, body in enumerate([*bodies, bodies[0], render(_foreign(_order(world, 9)))])
            ]
            answer = world.client.post("/api/v1/messages", files=files, headers=world.headers(who))
            assert answer.status_code == 200, answer.text
            got += [shape(item) for item in answer.json()["items"]]
    assert got == expected
    assert sizes == [5, 5, 5, 5]  # a chunk a batch: the foreign item never reached the engine
    decided = [s for _t, _o, receipts, _e in got[-6:-2] for _r, s, _i in receipts if s in ("800", "100")]
    assert decided == ["800"] * 4  # the lists, last, were released in their own batch
