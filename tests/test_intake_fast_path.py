"""The cheaper HTTP intake path: a message is parsed once (admission hands its reading to the engine), the
register is asked in few queries and nothing that grants access is cached, and group commit with a short
wait gathers concurrent requests without changing any answer."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from api_helpers import World, load_positive_list, make_world, register_certificate, rsa_identity, send
from cbec.ceb import examples, render
from cbec.clearance import service
from cbec.clearance.service import Engine, IngestResult, Intake, Settings, read_message
from cbec.store.db import Store
from cbec.store.models import EnterpriseRow, UserRow
from clearance_helpers import NOW
from store_fixtures import sqlite_store


def _trade_messages(trade: examples.Trade) -> list[bytes]:
    return [
        render(examples.ceb311(trade)),
        render(examples.ceb411(trade)),
        render(examples.ceb511(trade)),
        render(examples.ceb621(trade)),
    ]


def _shape(result: IngestResult) -> tuple[str | None, str, list[tuple[str, str, str]]]:
    return result.message_type, result.outcome, [(a.receipt_type, a.status, a.info) for a in result.answers]


def _counting_reads(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    calls: list[bytes] = []
    real = service._read

    def counting(data: bytes) -> Any:
        calls.append(data)
        return real(data)

    monkeypatch.setattr(service, "_read", counting)
    return calls


@pytest.mark.parametrize("group", [False, True])
def test_a_parsed_message_gets_the_same_answers_as_its_bytes(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, group: bool
) -> None:
    messages = [
        *_trade_messages(examples.Trade()),
        b"<not a message",
        render(examples.ceb311(examples.Trade())),
    ]
    (tmp_path / "plain").mkdir()
    plain = sqlite_store(tmp_path / "plain")
    try:
        expected = [_shape(Engine(plain).ingest(m, now=NOW)) for m in messages]
    finally:
        plain.dispose()
    parsed = []
    for data in messages:
        try:
            parsed.append(read_message(data))
        except Exception:
            parsed.append(None)
    reads = _counting_reads(monkeypatch)
    engine = Engine(store, Settings(group_commit=group))
    got = [_shape(engine.ingest(m, now=NOW, parsed=p)) for m, p in zip(messages, parsed, strict=True)]
    assert got == expected
    assert expected[-1][1] == "duplicate" and expected[-2][1] == "rejected"
    assert reads == [b"<not a message"]  # only the unreadable one is read again (to answer it with CEB900)


def test_ingest_many_takes_parsed_messages_without_parsing_again(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    messages = _trade_messages(examples.Trade(order_no="MANY1"))
    (tmp_path / "plain").mkdir()
    plain = sqlite_store(tmp_path / "plain")
    try:
        expected = [_shape(r) for r in Engine(plain).ingest_many([Intake(m, now=NOW) for m in messages])]
    finally:
        plain.dispose()
    items = [Intake(m, now=NOW, parsed=read_message(m)) for m in messages]
    reads = _counting_reads(monkeypatch)
    assert [_shape(r) for r in Engine(store).ingest_many(items)] == expected
    assert reads == []


@pytest.fixture
def world(store: Store) -> World:
    return make_world(store)


@pytest.mark.parametrize("group", [False, True])
def test_the_api_parses_each_message_once(store: Store, monkeypatch: pytest.MonkeyPatch, group: bool) -> None:
    world = make_world(store, settings=Settings(group_commit=group))
    reads = _counting_reads(monkeypatch)
    answer = send(world, "ebc", render(examples.ceb311(world.trade)))
    assert answer["outcome"] == "accepted"
    assert len(reads) == 1


def _statements(store: Store) -> tuple[list[str], Callable[[], None]]:
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(store.engine, "before_cursor_execute", record)
    return seen, lambda: event.remove(store.engine, "before_cursor_execute", record)


def test_a_key_is_checked_in_one_query(world: World) -> None:
    seen, stop = _statements(world.store)
    try:
        assert world.client.get("/api/v1/receipts", headers=world.headers("ebc")).status_code == 200
        assert world.client.get("/api/v1/receipts", headers=world.headers("regulator")).status_code == 403
    finally:
        stop()
    assert sum("api_keys" in s for s in seen) == 2  # one a request, the enterprise or user joined
    assert not any(s.lstrip().upper().startswith("SELECT") and "FROM enterprises" in s for s in seen)


def test_revocations_take_effect_on_the_very_next_request(world: World, tmp_path: Path) -> None:
    """Nothing about a caller is kept between requests: a revoked key, a suspended enterprise, a disabled
    user and a revoked certificate are refused on the next request."""
    from cbec.registry import issue_key, revoke_keys

    trade = world.trade
    assert send(world, "ebc", render(examples.ceb311(trade)))["outcome"] == "accepted"
    with world.store.transaction() as session:
        revoke_keys(session, trade.ebc.code)
    second = replace(trade, order_no="NEXT1")
    refused = world.client.post(
        "/api/v1/messages", content=render(examples.ceb311(second)), headers=world.headers("ebc")
    )
    assert refused.status_code == 401
    with world.store.transaction() as session:
        world.keys["ebc"] = issue_key(session, trade.ebc.code)
    assert send(world, "ebc", render(examples.ceb311(second)))["outcome"] == "accepted"
    with world.store.transaction() as session:
        session.get_one(EnterpriseRow, trade.ebc.code).status = "suspended"
    third = replace(trade, order_no="NEXT2")
    suspended = world.client.post(
        "/api/v1/messages", content=render(examples.ceb311(third)), headers=world.headers("ebc")
    )
    assert suspended.status_code == 401
    assert world.client.get("/api/v1/receipts", headers=world.headers("regulator")).status_code == 403
    with world.store.transaction() as session:
        session.get_one(UserRow, "regulator01").status = "disabled"
    assert world.client.get("/api/v1/receipts", headers=world.headers("regulator")).status_code == 401

    identity = rsa_identity(tmp_path)
    cert_id = register_certificate(world, identity)
    signed = identity.sign(examples.ceb621(replace(trade, order_no="CERT1"), signed=False))
    assert next(r["status"] for r in send(world, "agent", signed)["receipts"]) == "120"  # type: ignore[attr-defined]
    revoked = world.client.delete(
        f"/api/v1/enterprises/{trade.agent.code}/certificates/{cert_id}", headers=world.headers("operator")
    )
    assert revoked.status_code == 200
    again = identity.sign(examples.ceb621(replace(trade, order_no="CERT2"), signed=False))
    assert [r["status"] for r in send(world, "agent", again)["receipts"]] == ["-621029"]  # type: ignore[index]


def test_group_commit_over_http_answers_as_one_by_one(store: Store, tmp_path: Path) -> None:
    """Concurrent API requests with group commit (and a short wait, so chunks surely form) get exactly the
    answers the same requests get one by one on a fresh store."""
    trades = [
        examples.Trade(order_no=f"GRP{i}", logistics_no=f"LNGRP{i}", pay_transaction_id=f"PAYGRP{i}")
        for i in range(8)
    ]
    identity = rsa_identity(tmp_path)
    senders = ("ebc", "payment", "logistics", "agent")

    def chain(trade: examples.Trade) -> list[tuple[str, bytes]]:
        messages = _trade_messages(trade)[:3]
        return [
            *zip(senders, messages, strict=False),
            ("agent", identity.sign(examples.ceb621(trade, signed=False))),
        ]

    def answers(world: World, sequential: bool) -> dict[tuple[str, int], Any]:
        register_certificate(world, identity)
        got: dict[tuple[str, int], Any] = {}
        lock = threading.Lock()

        def run(trade: examples.Trade) -> None:
            for index, (who, body) in enumerate(chain(trade)):
                answer = send(world, who, body)
                answer["receipts"] = [(r["type"], r["status"], r["info"]) for r in answer["receipts"]]  # type: ignore[attr-defined]
                with lock:
                    got[(trade.order_no, index)] = answer

        if sequential:
            for trade in trades:
                run(trade)
        else:
            with world.client, ThreadPoolExecutor(8) as pool:
                list(pool.map(run, trades))
        return got

    sizes: list[int] = []
    real_many = Engine._many

    def counting(self: Engine, chunk: Any, *rest: Any) -> Any:
        sizes.append(len(chunk))
        return real_many(self, chunk, *rest)

    (tmp_path / "plain").mkdir()
    plain = sqlite_store(tmp_path / "plain")
    try:
        expected = answers(make_world(plain), sequential=True)
    finally:
        plain.dispose()
    grouped = make_world(store, settings=Settings(group_commit=True))
    engine: Engine = grouped.client.app.state.engine  # type: ignore[attr-defined]
    engine._group.wait = 0.02
    Engine._many = counting  # type: ignore[method-assign]
    try:
        got = answers(grouped, sequential=False)
    finally:
        Engine._many = real_many  # type: ignore[method-assign]
    assert max(sizes) > 1  # chunks did form
    assert got == expected
    with store.transaction() as session:
        from cbec.store.models import DocumentRow

        lists = session.scalars(select(DocumentRow.status).where(DocumentRow.kind == "list")).all()
    assert len(lists) == len(trades)


def test_admission_checks_of_a_chunk_are_judged_each_on_its_own(store: Store) -> None:
    """With group commit the admission checks of the messages taken together are asked in their chunk's
    transaction; a refusal or a failure is still raised in its own caller's thread only, and nothing of it
    is stored. A failing check (not a refusal) sends the chunk to one message a transaction, each checked
    again on its own."""
    from cbec.intake import Refused

    trades = [examples.Trade(order_no=f"ADM{i}") for i in range(6)]
    engine = Engine(store, Settings(group_commit=True))
    engine._group.wait = 0.2  # the six arrive within the leader's wait: most likely one chunk
    sizes: list[int] = []
    real_many = engine._many

    def counting(chunk: Any, *rest: Any) -> Any:
        sizes.append(len(chunk))
        return real_many(chunk, *rest)

    engine._many = counting  # type: ignore[method-assign]
    asked: list[int] = []

    def admission_of(i: int) -> Any:
        def admission(session: Any) -> None:
            asked.append(i)
            session.scalars(select(EnterpriseRow)).all()  # a read in the shared transaction
            if i == 1:
                raise Refused("拒绝", "refused")
            if i == 2:
                raise RuntimeError("the check broke")

        return admission

    def send_one(i: int) -> Any:
        try:
            return engine.ingest(render(examples.ceb311(trades[i])), now=NOW, admission=admission_of(i))
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(6) as pool:
        got = list(pool.map(send_one, range(6)))
    assert isinstance(got[1], Refused)
    assert isinstance(got[2], RuntimeError)
    assert all(
        isinstance(r, IngestResult) and r.outcome == "accepted" for i, r in enumerate(got) if i not in (1, 2)
    )
    assert sum(sizes) == 6  # every message reached a chunk and its check was asked there
    assert (
        sorted(asked).count(2) == 2 and sorted(asked).count(3) >= 1
    )  # the broken check was asked again alone
    with store.transaction() as session:
        from cbec.store.models import DocumentRow

        stored = set(session.scalars(select(DocumentRow.doc_key).where(DocumentRow.kind == "order")))
    assert len(stored) == 4 and not any("ADM1" in k or "ADM2" in k for k in stored)


def test_a_chunk_asks_its_admission_checks_in_its_own_transaction(store: Store) -> None:
    """The admission checks of a chunk are asked in the chunk's transaction, not in one before it: one
    transaction in all, each check seeing the session that then stores what it admitted."""
    from cbec.intake import Refused

    engine = Engine(store)
    transactions: list[Any] = []
    real = store.transaction

    def counted() -> Any:
        transactions.append(None)
        return real()

    store.transaction = counted  # type: ignore[method-assign]
    seen: list[Any] = []

    def admission_of(refuse: bool) -> Any:
        def admission(session: Any) -> None:
            seen.append(session)
            if refuse:
                raise Refused("拒绝", "refused")

        return admission

    trades = [examples.Trade(order_no=f"ONE{i}") for i in range(3)]
    items = [
        Intake(render(examples.ceb311(t)), now=NOW, admission=admission_of(i == 1))
        for i, t in enumerate(trades)
    ]
    got = engine.ingest_each(items)
    assert [type(g).__name__ for g in got] == ["IngestResult", "Refused", "IngestResult"]
    assert len(transactions) == 1 and len(seen) == 3 and seen[0] is seen[1] is seen[2]
    with real() as session:
        from cbec.store.models import DocumentRow

        stored = sorted(session.scalars(select(DocumentRow.doc_key).where(DocumentRow.kind == "order")))
    assert [k.endswith(n) for k, n in zip(stored, ("ONE0", "ONE2"), strict=True)] == [True, True]


def test_admission_without_group_commit_refuses_before_anything_is_stored(store: Store) -> None:
    from cbec.intake import Refused

    engine = Engine(store)

    def refuse(session: Any) -> None:
        raise Refused("拒绝", "refused")

    with pytest.raises(Refused):
        engine.ingest(render(examples.ceb311(examples.Trade(order_no="NOPE1"))), now=NOW, admission=refuse)
    accepted = engine.ingest(
        render(examples.ceb311(examples.Trade(order_no="NOPE1"))), now=NOW, admission=lambda session: None
    )
    assert accepted.outcome == "accepted"  # the refused one left nothing behind: not a duplicate


def test_admission_prepared_for_a_chunk_judges_as_each_alone(store: Store, tmp_path: Path) -> None:
    """The register checks of a chunk read in one query a question (`_Admission.prepare`) give every
    message exactly the verdict it gets when judged alone: the certificates, the role refusals, the refusals
    for documents (stored or cancelled) of others; and once prepared, the checks ask nothing more."""
    from api_helpers import OUTSIDER, load_positive_list, released_trade
    from cbec.ceb.examples import Party
    from cbec.intake import _Admission, read

    load_positive_list(store, tmp_path)
    world = make_world(store)
    identity, outsider_identity = rsa_identity(tmp_path, "agent"), rsa_identity(tmp_path, "outsider")
    register_certificate(world, identity)
    invt_no = released_trade(world, identity)
    with store.transaction() as session:
        from cbec.certificates import add_certificate

        add_certificate(session, OUTSIDER, outsider_identity.cert_pem)
    me, stranger = Party(OUTSIDER, "无关企业"), Party("0000000000", "未备案企业")  # stranger: unregistered
    trade = replace(world.trade, invt_no=invt_no)
    changed = examples.ceb311(trade)
    head = changed.documents[0].child("OrderHead")
    assert head is not None
    head.values.update(appType="2", ebcCode=OUTSIDER)
    transfer = changed.child("BaseTransfer")
    assert transfer is not None
    transfer.values["copCode"] = OUTSIDER
    cases: list[tuple[bytes, str]] = [
        (render(examples.ceb311(trade)), trade.ebc.code),  # its own stored order again
        (render(examples.ceb311(replace(trade, order_no="NEW1"))), trade.ebc.code),  # a new one
        (render(examples.ceb411(trade)), trade.payment.code),
        (render(examples.ceb511(replace(trade, logistics=trade.ebc, logistics_no="FAKE1"))), trade.ebc.code),
        (render(changed), OUTSIDER),  # a change of another's stored order
        (outsider_identity.sign(examples.ceb623(replace(trade, agent=me), signed=False)), OUTSIDER),
        (outsider_identity.sign(examples.ceb625(replace(trade, agent=me), signed=False)), OUTSIDER),
        (identity.sign(examples.ceb623(trade, signed=False)), trade.agent.code),  # its own list
        (identity.sign(examples.ceb621(replace(trade, order_no="NEW2"), signed=False)), trade.agent.code),
        (render(examples.ceb311(replace(trade, order_no="NEW3", ebc=stranger))), stranger.code),
        (b"<not a message", trade.agent.code),
    ]
    admissions = []
    for data, cop_code in cases:
        parsed = read(data)
        message = parsed[0] if parsed is not None else None
        admissions.append(
            _Admission(message, cop_code, message is None or message.code in service.SIGNED_DECLARATIONS)
        )

    def verdict(admission: _Admission, session: Any) -> Any:
        try:
            certificates = admission(session)
        except Exception as exc:
            return type(exc).__name__, str(exc)
        return None if certificates is None else sorted(c.der for c in certificates)

    alone = []
    for admission in admissions:
        with store.transaction() as session:
            alone.append(verdict(admission, session))
    seen, stop = _statements(store)
    try:
        with store.transaction() as session:
            service._prepare(admissions, session)
            prepared_with = len(seen)
            together = [verdict(admission, session) for admission in admissions]
    finally:
        stop()
    assert together == alone
    assert len(seen) == prepared_with  # every answer came from what `prepare` read
    assert prepared_with <= 4  # register and certificates, stored documents, cancelled or returned lists
    assert [v[0] if isinstance(v, tuple) else v for v in alone[:7]] == [None, None, None, *["Refused"] * 4]
    assert alone[-2] is None  # not on the register: neither roles nor certificates judged
    assert alone[7] and alone[7] == alone[8] == alone[10]  # the agent's certificates, for what must be signed


def test_a_chunk_completing_waiting_lists_loads_their_companions_with_the_chunk(
    store: Store, tmp_path: Path
) -> None:
    """Lists that arrived first wait; the chunk that brings their order, payment and waybill decides them
    exactly as one by one, and finds each list's other companions and ledger row with the chunk's preload
    instead of asking the database once a list (so the chunk's statements do not grow with its lists)."""
    load_positive_list(store, tmp_path)
    (tmp_path / "plain").mkdir()
    plain = sqlite_store(tmp_path / "plain")
    load_positive_list(plain, tmp_path / "plain")

    def trades(n: int) -> list[examples.Trade]:
        return [
            examples.Trade(order_no=f"WAIT{n}{i}", logistics_no=f"LNW{n}{i}", pay_transaction_id=f"PW{n}{i}")
            for i in range(n)
        ]

    statements: dict[int, int] = {}
    for n in (2, 6):
        lists = [render(examples.ceb621(t)) for t in trades(n)]
        rest = [m for t in trades(n) for m in _trade_messages(t)[:3]]
        expected = [_shape(Engine(plain).ingest(m, now=NOW)) for m in [*lists, *rest]]
        engine = Engine(store)
        first = [_shape(r) for r in engine.ingest_many([Intake(m, now=NOW) for m in lists])]
        assert all(status == "waiting" or status == "120" for _t, _o, rs in first for _r, status, _i in rs)
        seen, stop = _statements(store)
        try:
            second = [_shape(r) for r in engine.ingest_many([Intake(m, now=NOW) for m in rest])]
        finally:
            stop()
        assert [*first, *second] == expected
        assert sum(1 for _t, _o, rs in second for _r, status, _i in rs if status == "800") == n
        statements[n] = sum(
            1 for s in seen if any(f"FROM {t}" in s for t in ("documents", "quota", "messages"))
        )
    plain.dispose()
    assert statements[6] == statements[2]  # the same questions for six lists as for two
