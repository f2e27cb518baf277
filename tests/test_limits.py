"""Personal limits (policy.md §1.2): boundaries to the fen, official reason codes, and the annual ledger."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cbec.ceb.examples import TEST_ID_NUMBER, Buyer, Line, Trade, ceb621
from cbec.clearance.limits import (
    CHINA_STANDARD_TIME,
    LimitDecision,
    LimitPolicy,
    QuotaRecord,
    annual_used,
    decide,
    is_indivisible,
    remaining,
)
from cbec.clearance.rates import default_rate_table
from cbec.clearance.tax import TaxLine, compute_tax

D = Decimal
ONE = [D("1")]  # one line of quantity 1: one indivisible item
TWO_LINES = [D("1"), D("1")]


def codes(decision: LimitDecision) -> list[str]:
    return [r.code for r in decision.reasons]


# ---- single-transaction limit ------------------------------------------------------------------------------


def test_exactly_5000_is_retail() -> None:
    decision = decide(D("5000.00"), TWO_LINES, D("0"))
    assert decision.path == "retail"
    assert decision.reasons == ()
    assert decision.counted == D("5000.00")
    assert decision.remaining == D("21000.00")


def test_5000_01_single_item_takes_the_full_path_and_counts() -> None:
    decision = decide(D("5000.01"), ONE, D("0"))
    assert decision.path == "full"
    assert decision.accepted and decision.indivisible
    assert decision.counted == D("5000.01")
    assert decision.remaining == D("20999.99")


@pytest.mark.parametrize("lines", [TWO_LINES, [D("2")], [D("0.5")]])
def test_5000_01_with_more_than_one_item_is_refused(lines: list[Decimal]) -> None:
    decision = decide(D("5000.01"), lines, D("0"), list_no="292420261000000001")
    assert decision.path == "reject"
    assert codes(decision) == ["-621005"]
    reason = decision.reasons[0]
    assert reason.source == "official"
    assert reason.zh.startswith("清单292420261000000001的购买金额超过单笔限额[5000.00]")
    assert "[*]" not in reason.zh and "[*]" not in reason.en
    assert decision.counted == D("0") and decision.remaining == D("26000.00")


# ---- annual limit ------------------------------------------------------------------------------------------


def test_annual_exactly_26000_is_allowed() -> None:
    decision = decide(D("5000.00"), ONE, D("21000.00"))
    assert decision.path == "retail"
    assert decision.remaining == D("0.00")


def test_annual_26000_01_is_refused_with_the_numbers() -> None:
    decision = decide(D("5000.00"), ONE, D("21000.01"), list_no="ORD1")
    assert decision.path == "reject"
    assert codes(decision) == ["-621018"]
    zh = decision.reasons[0].zh
    assert "已用购买额度为21000.01" in zh and "年度限额26000.00" in zh
    assert "[*]" not in zh
    assert decision.remaining == D("4999.99")


def test_full_path_single_item_over_the_annual_limit_is_refused() -> None:
    assert decide(D("6000.00"), ONE, D("20000.00")).path == "full"
    decision = decide(D("6000.00"), ONE, D("20000.01"))
    assert decision.path == "reject"
    assert codes(decision) == ["-621018"]
    assert decide(D("26000.01"), ONE, D("0")).path == "reject"


def test_every_finding_is_reported() -> None:
    assert codes(decide(D("8000"), TWO_LINES, D("20000"))) == ["-621005", "-621018"]


def test_policy_amounts_are_parameters() -> None:
    old = LimitPolicy(single=D("2000"), annual=D("20000"))  # 财关税〔2016〕18号
    assert decide(D("2000.01"), TWO_LINES, D("0"), policy=old).path == "reject"
    assert decide(D("2000.01"), ONE, D("0"), policy=old).path == "full"
    assert remaining(D("19000"), old) == D("1000.00")
    with pytest.raises(ValueError):
        LimitPolicy(single=D("30000"), annual=D("26000"))


@given(
    st.decimals(min_value=0, max_value=40_000, places=2),
    st.decimals(min_value=0, max_value=30_000, places=2),
    st.booleans(),
)
def test_decision_matches_the_rule_table(price: Decimal, used: Decimal, single_item: bool) -> None:
    decision = decide(price, ONE if single_item else TWO_LINES, used)
    within_annual = used + price <= D("26000")
    if price <= D("5000") and within_annual:
        assert decision.path == "retail"
    elif price > D("5000") and single_item and within_annual:
        assert decision.path == "full"
    else:
        assert decision.path == "reject"
    assert decision.counted == (price if decision.accepted else 0)
    assert decision.remaining == max(D("26000") - used - decision.counted, D("0"))


def test_indivisible_means_one_line_of_quantity_one() -> None:
    trade = Trade(lines=(Line("W", "手表", "9102110000", "机械表", D("1"), D("6000"), unit="008"),))
    inventory = ceb621(trade).documents[0]
    assert is_indivisible(inventory.InventoryList)
    assert is_indivisible([TaxLine(1, "9102110000", D("6000"), qty=D("1"))])
    assert not is_indivisible(ceb621(Trade()).documents[0].InventoryList)
    assert not is_indivisible([])


def test_reason_texts_never_contain_the_id_number() -> None:
    buyer = Buyer(name="王测试")
    trade = Trade(buyer=buyer, lines=(Line("A", "奶粉", "1901101000", "800g", D("3"), D("2000")),))
    inventory = ceb621(trade).documents[0]
    head = inventory.InventoryHead
    assert head.buyerIdNumber == TEST_ID_NUMBER
    tax = compute_tax(inventory, default_rate_table())
    decision = decide(tax.tax_price, inventory.InventoryList, D("25000"), list_no=str(head.orderNo))
    assert codes(decision) == ["-621005", "-621018"]
    for reason in decision.reasons + tax.reasons:
        for text in (reason.zh, reason.en, reason.path, reason.desc):
            assert TEST_ID_NUMBER not in text
            assert TEST_ID_NUMBER[-6:] not in text
            assert buyer.name not in text


def test_negative_amounts_are_programming_errors() -> None:
    with pytest.raises(ValueError):
        decide(D("-1"), ONE, D("0"))
    with pytest.raises(ValueError):
        decide(D("1"), ONE, D("-1"))


# ---- the annual ledger -------------------------------------------------------------------------------------


def test_remaining_never_goes_below_zero() -> None:
    assert remaining(D("0")) == D("26000.00")
    assert remaining(D("25999.99")) == D("0.01")
    assert remaining(D("30000")) == D("0.00")


def test_annual_used_counts_released_minus_cancelled_and_returned() -> None:
    records = [
        QuotaRecord(date(2026, 1, 5), D("1000.00"), "released"),
        QuotaRecord(date(2026, 3, 1), D("2500.50"), "released"),
        QuotaRecord(date(2026, 3, 1), D("2500.50"), "cancelled"),
        (date(2026, 6, 1), D("300.00"), "released"),
        (date(2026, 6, 1), D("100.00"), "returned"),
        QuotaRecord(date(2025, 12, 31), D("9999.00"), "released"),  # last year
        QuotaRecord(date(2027, 1, 1), D("8888.00"), "released"),  # next year
    ]
    assert annual_used(records, 2026) == D("1200.00")
    assert annual_used(records, 2025) == D("9999.00")
    assert annual_used([], 2026) == D("0.00")


def test_annual_used_takes_china_calendar_year() -> None:
    # 2026-12-31 17:30 UTC is 2027-01-01 01:30 in China
    late = datetime(2026, 12, 31, 17, 30)
    assert annual_used([(late, D("100"), "released")], 2026) == D("100.00")  # naive = China time by default
    assert annual_used([(late, D("100"), "released")], 2027, naive=UTC) == D("100.00")
    aware = datetime(2026, 12, 31, 17, 30, tzinfo=UTC)
    assert annual_used([(aware, D("100"), "released")], 2027) == D("100.00")
    china = datetime(2027, 1, 1, 0, 0, tzinfo=CHINA_STANDARD_TIME)
    assert annual_used([(china, D("100"), "released")], 2027) == D("100.00")


def test_annual_used_refuses_bad_records() -> None:
    with pytest.raises(ValueError, match="status"):
        annual_used([(date(2026, 1, 1), D("1"), "pending")], 2026)
    with pytest.raises(ValueError, match="negative"):
        annual_used([(date(2026, 1, 1), D("-1"), "released")], 2026)
    assert annual_used([(date(2026, 1, 1), D("5"), "returned")], 2026) == D("0.00")
