"""The indicator system from YAML: the shipped example loads; every bad file gets a specific message."""

from __future__ import annotations

import pytest

from cbec.assess.config import load, parse
from cbec.assess.maths import AssessError, InconsistentMatrix

GOOD = b"""
name: test
indicators:
  - {key: trade_value, normalization: minmax, weight: 3}
  - {key: high_tech_enterprises, source: supplied, normalization: zscore, weight: 1}
tiers: {thresholds: [0.75, 0.5, 0.25]}
exit: {lowest_tier_consecutive: 3, warn_ahead: false}
"""


def test_shipped_example_uses_ahp_and_the_2022_quotas() -> None:
    config = load()
    assert config.quotas == (10, 50, 40, 5)
    assert config.ahp is not None and config.ahp.cr < 0.1
    assert sum(config.weights.values()) == pytest.approx(1.0)
    assert config.weights["trade_value"] == pytest.approx(0.3631, abs=1e-4)
    assert config.exit.consecutive == 2 and config.exit.warn_ahead


def test_direct_weights_are_rescaled_to_one() -> None:
    config = parse(GOOD)
    assert config.weights == {"trade_value": 0.75, "high_tech_enterprises": 0.25}
    assert config.thresholds == (0.75, 0.5, 0.25) and config.quotas is None
    assert config.exit.consecutive == 3 and not config.exit.warn_ahead


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"indicators: [", "is not valid YAML at line"),
        (b"- a\n- b\n", "must be a mapping"),
        (b"indicators: []\n", "an indicators list is required"),
        (GOOD.replace(b"key: trade_value", b"key: happiness"), "happiness is not a platform indicator"),
        (GOOD.replace(b"normalization: minmax", b"normalization: log"), "normalization must be one of"),
        (GOOD.replace(b", weight: 3", b""), "trade_value has no weight"),
        (GOOD.replace(b"weight: 3", b"weight: -3"), "must not be negative"),
        (GOOD.replace(b"[0.75, 0.5, 0.25]", b"[0.25, 0.5, 0.75]"), "strictly decreasing"),
        (
            GOOD.replace(b"{thresholds: [0.75, 0.5, 0.25]}", b"{quotas: [10, 50, 40]}"),
            "4 non-negative integers",
        ),
        (
            GOOD.replace(b"tiers: {thresholds: [0.75, 0.5, 0.25]}", b"tiers: {}"),
            "either quotas or thresholds",
        ),
        (GOOD.replace(b"consecutive: 3", b"consecutive: 0"), "positive integer"),
        (GOOD + b"missing: zero\n", "missing must be reweight or exclude"),
        (GOOD + b"weights: {ahp: {order: [trade_value], matrix: [[1]]}}\n", "not both"),
    ],
)
def test_bad_configurations_are_refused_with_a_specific_message(text: bytes, message: str) -> None:
    with pytest.raises(AssessError) as caught:
        parse(text, "bad.yaml")
    assert message in caught.value.en
    assert caught.value.code == "CBEC-0710" and caught.value.zh.startswith("考核配置错误")


def test_an_inconsistent_ahp_matrix_is_refused() -> None:
    text = b"""
indicators: [{key: trade_value}, {key: lists}, {key: parks}]
weights:
  ahp:
    order: [trade_value, lists, parks]
    matrix: [[1, 9, 1/9], [1/9, 1, 9], [9, 1/9, 1]]
tiers: {quotas: [1, 1, 1, 1]}
"""
    with pytest.raises(InconsistentMatrix, match="CR = "):
        parse(text)
    with pytest.raises(AssessError, match="must list every indicator exactly once"):
        parse(text.replace(b"order: [trade_value, lists, parks]", b"order: [trade_value, lists]"))
    with pytest.raises(AssessError, match="a number or a fraction"):
        parse(text.replace(b"1/9], [1/9", b"x], [1/9"))
