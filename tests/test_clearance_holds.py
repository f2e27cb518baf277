"""Holds: random inspection (500) and the decision hook (300), then release or manual rejection."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from cbec.ceb import examples, render
from cbec.clearance import queries, reference
from cbec.clearance.service import ClearanceError, Engine, Settings
from cbec.store.db import Store

NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


def _load_list(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text(
        "tariff_line,name,remark,version,effective_date\n96190011,尿布,,T,2022-03-01\n19011010,奶粉,,T,2022-03-01\n",
        encoding="utf-8",
    )
    with store.transaction() as session:
        reference.load(session, reference.POSITIVE_LIST, path)


def _declare(engine: Engine, trade: examples.Trade) -> list[tuple[str, str]]:
    answers = []
    for message in (
        examples.ceb311(trade),
        examples.ceb411(trade),
        examples.ceb511(trade),
        examples.ceb621(trade),
    ):
        answers = engine.ingest(render(message), now=NOW).answers
    return [(a.receipt_type, a.status) for a in answers]


def _invt_no(store: Store, order_no: str) -> str:
    with store.transaction() as session:
        view = queries.find(session, "list", order_no)
        assert view is not None and view.document.invt_no
        return view.document.invt_no


def test_inspection_then_release(store: Store, tmp_path: Path) -> None:
    _load_list(store, tmp_path)
    engine = Engine(store, Settings(inspection_rate=1.0))
    trade = examples.Trade(order_no="H1")
    assert _declare(engine, trade)[-1] == ("CEB622", "500")
    with store.transaction() as session:
        assert queries.quota(session, trade.buyer.id_number, 2026).used == 0  # nothing counted while held
    answers = engine.resolve(_invt_no(store, "H1"), "release", now=NOW)
    assert [(a.receipt_type, a.status) for a in answers] == [("CEB622", "800"), ("CEB816", "1")]
    with store.transaction() as session:
        assert queries.quota(session, trade.buyer.id_number, 2026).used > 0
    with pytest.raises(ClearanceError):
        engine.resolve(_invt_no(store, "H1"), "release", now=NOW)  # not held any more


def test_review_hook_then_manual_rejection(store: Store, tmp_path: Path) -> None:
    _load_list(store, tmp_path)
    seen = []

    def hook(decision: object) -> str | None:
        seen.append(decision)
        return "300"

    engine = Engine(store, Settings(hook=hook))
    assert _declare(engine, examples.Trade(order_no="H2"))[-1] == ("CEB622", "300")
    assert len(seen) == 1
    answers = engine.resolve(_invt_no(store, "H2"), "reject", note="申报品名与实物不符", now=NOW)
    assert [(a.receipt_type, a.status) for a in answers] == [("CEB622", "100")]
    assert answers[0].info.startswith("[Code:1300;Desc:人工退单")


def test_settings_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "CBEC_COMPANION_WINDOW_HOURS": "2",
            "CBEC_INSPECTION_RATE": "0.05",
            "CBEC_CERTIFIED_PLATFORMS": " 110196000A, 3101960001 ",
            "CBEC_SIGNATURES": "enforce",
            "CBEC_GROUP_COMMIT_LEADERS": "3",
        }
    )
    assert settings.companion_window.total_seconds() == 7200
    assert settings.inspection_rate == 0.05
    assert settings.certified_platforms == frozenset({"110196000A", "3101960001"})
    assert settings.signatures == "enforce"
    assert settings.group_commit_leaders == 3 and Settings.from_env({}).group_commit_leaders == 1
    for bad in (
        {"CBEC_INSPECTION_RATE": "2"},
        {"CBEC_INSPECTION_RATE": "x"},
        {"CBEC_SIGNATURES": "maybe"},
        {"CBEC_GROUP_COMMIT_LEADERS": "0"},
        {"CBEC_GROUP_COMMIT_LEADERS": "two"},
    ):
        with pytest.raises(ClearanceError) as caught:
            Settings.from_env(bad)
        assert caught.value.code == "CBEC-0402" and caught.value.zh and caught.value.en


def test_settlement_closes_the_tax_bill_to_cancellation(store: Store, tmp_path: Path) -> None:
    from datetime import timedelta

    _load_list(store, tmp_path)
    engine = Engine(store)
    trade = examples.Trade(order_no="H3")
    assert _declare(engine, trade)[-1] == ("CEB816", "1")
    assert engine.settle(now=NOW + timedelta(days=29)) == []  # not yet in the payment window
    notices = engine.settle(now=NOW + timedelta(days=31))
    assert [(a.receipt_type, a.status) for a in notices] == [("CEB818", "2")]
    released = examples.Trade(order_no="H3", invt_no=_invt_no(store, "H3"))
    cancel = engine.ingest(render(examples.ceb623(released)), now=NOW + timedelta(days=32))
    assert [(a.receipt_type, a.status) for a in cancel.answers][-1] == ("CEB624", "100")
