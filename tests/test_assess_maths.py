"""The assessment arithmetic, pinned with values computed by hand."""

from __future__ import annotations

import math

import pytest

from cbec.assess.maths import (
    AssessError,
    ExitRule,
    InconsistentMatrix,
    Scored,
    ahp,
    exit_action,
    normalize,
    quota_counts,
    rank,
    score,
    tiers_by_quotas,
    tiers_by_thresholds,
)


def approx(value: float | None) -> object:
    return pytest.approx(value, abs=1e-9)


# ---- normalization ----


def test_min_max_positive_negative_and_missing() -> None:
    values = {"a": 10.0, "b": 20.0, "c": 40.0, "d": None}
    # (x - 10) / 30
    assert normalize(values, "minmax") == {"a": 0.0, "b": approx(1 / 3), "c": 1.0, "d": None}
    # (40 - x) / 30
    assert normalize(values, "minmax", "negative") == {"a": 1.0, "b": approx(2 / 3), "c": 0.0, "d": None}


def test_constant_column_moves_no_rank() -> None:
    assert normalize({"a": 5.0, "b": 5.0}, "minmax") == {"a": 0.5, "b": 0.5}
    assert normalize({"a": 5.0, "b": 5.0}, "zscore") == {"a": 0.0, "b": 0.0}
    assert normalize({"a": 5.0, "b": 5.0}, "percentile") == {"a": 0.5, "b": 0.5}


def test_z_score_uses_the_population_standard_deviation() -> None:
    # mean 4, variance (4 + 0 + 4) / 3 = 8/3, sd = 1.632993…, so z = ±2 / 1.632993 = ±1.224745
    out = normalize({"a": 2.0, "b": 4.0, "c": 6.0}, "zscore")
    assert out["a"] == approx(-2 / math.sqrt(8 / 3)) and out["b"] == 0.0
    assert out["c"] == approx(1.2247448713915890)
    assert normalize({"a": 2.0, "b": 4.0, "c": 6.0}, "zscore", "negative")["a"] == approx(1.2247448713915890)


def test_percentile_shares_the_average_rank_of_ties() -> None:
    # ranks 1, 2.5, 2.5, 4 over n = 4: (r - 1) / 3
    out = normalize({"a": 1.0, "b": 2.0, "c": 2.0, "d": 5.0}, "percentile")
    assert out == {"a": 0.0, "b": 0.5, "c": 0.5, "d": 1.0}
    assert normalize({"a": 1.0, "b": 3.0}, "percentile", "negative") == {"a": 1.0, "b": 0.0}


def test_unknown_normalization_is_refused() -> None:
    with pytest.raises(AssessError, match="normalization must be one of"):
        normalize({"a": 1.0}, "log")


# ---- AHP ----


def test_ahp_on_a_consistent_matrix_gives_the_exact_weights() -> None:
    # a_ij = w_i / w_j with w = (0.5, 0.25, 0.25): the eigenvector is w itself, λmax = n, CI = CR = 0
    result = ahp([[1, 2, 2], [1 / 2, 1, 1], [1 / 2, 1, 1]])
    assert result.weights == (approx(0.5), approx(0.25), approx(0.25))
    assert result.lambda_max == approx(3.0) and result.ci == approx(0.0) and result.cr == approx(0.0)
    four = ahp([[1, 4 / 3, 2, 4], [3 / 4, 1, 3 / 2, 3], [1 / 2, 2 / 3, 1, 2], [1 / 4, 1 / 3, 1 / 2, 1]])
    assert four.weights == (approx(0.4), approx(0.3), approx(0.2), approx(0.1))
    assert four.ri == 0.90


def test_ahp_on_the_textbook_matrix() -> None:
    # The classic 3×3 example: weights ≈ (0.1571, 0.5936, 0.2493), λmax ≈ 3.0536,
    # CI = (3.0536 - 3) / 2 ≈ 0.0268, CR = CI / RI(3) = 0.0268 / 0.58 ≈ 0.0462 < 0.1.
    result = ahp([[1, 1 / 3, 1 / 2], [3, 1, 3], [2, 1 / 3, 1]])
    assert [round(w, 4) for w in result.weights] == [0.1571, 0.5936, 0.2493]
    assert round(result.lambda_max, 4) == 3.0536
    assert round(result.ci, 4) == 0.0268
    assert result.ri == 0.58
    assert round(result.cr, 4) == 0.0462
    assert result.cr == pytest.approx(result.ci / 0.58)


def test_ahp_refuses_an_inconsistent_matrix() -> None:
    # a > b by 9, b > c by 9, yet c > a by 9: a circular judgement
    with pytest.raises(InconsistentMatrix) as caught:
        ahp([[1, 9, 1 / 9], [1 / 9, 1, 9], [9, 1 / 9, 1]])
    assert caught.value.code == "CBEC-0711"
    assert "CR =" in caught.value.en and "一致性比率" in caught.value.zh


def test_ahp_refuses_non_reciprocal_and_non_square_matrices() -> None:
    with pytest.raises(AssessError, match="not reciprocal"):
        ahp([[1, 2], [2, 1]])
    with pytest.raises(AssessError, match="square"):
        ahp([[1, 2, 3], [1 / 2, 1, 1]])
    with pytest.raises(AssessError, match="positive"):
        ahp([[1, 0], [0, 1]])


# ---- scores and missing data ----


def test_a_missing_indicator_is_reported_and_never_read_as_zero() -> None:
    normalized = {"x": {"a": 1.0, "b": 0.0, "c": 0.5}, "y": {"a": 0.0, "b": 1.0, "c": None}}
    weights = {"x": 0.75, "y": 0.25}
    scored = {s.zone: s for s in score(normalized, weights, ["a", "b", "c"])}
    assert scored["a"].score == approx(0.75) and scored["b"].score == approx(0.25)
    # c is scored on x alone (weight rescaled to 1), not as if y were 0 (which would give 0.375)
    assert scored["c"].score == approx(0.5) and scored["c"].missing == ["y"]
    excluded = {s.zone: s for s in score(normalized, weights, ["a", "b", "c"], "exclude")}
    assert excluded["c"].score is None and excluded["c"].missing == ["y"]
    assert score({"x": {"a": None}}, {"x": 1.0}, ["a"])[0].score is None


def test_competition_ranks_for_ties() -> None:
    ranked = rank([Scored("d", 0.5), Scored("c", 0.8), Scored("a", 0.9), Scored("b", 0.8), Scored("e", None)])
    assert [(s.zone, s.rank) for s in ranked] == [("a", 1), ("b", 2), ("c", 2), ("d", 4), ("e", None)]


# ---- tiers ----


def test_quotas_of_the_2022_round_and_proportional_scaling() -> None:
    assert quota_counts([10, 50, 40, 5], 105) == [10, 50, 40, 5]
    # 33 zones: exact shares 3.14, 15.71, 12.57, 1.57 → floors 3, 15, 12, 1; the two seats left go to the
    # largest remainders: 0.714 (tier 2), then 0.571 tied between tiers 3 and 4 → the better tier
    assert quota_counts([10, 50, 40, 5], 33) == [3, 16, 13, 1]
    assert quota_counts([10, 50, 40, 5], 21) == [2, 10, 8, 1]
    with pytest.raises(AssessError):
        quota_counts([10, 50, 40], 10)


def test_quota_placement_on_105_zones() -> None:
    scored = rank([Scored(f"z{i:03d}", 1.0 - i / 1000) for i in range(105)])
    tiers_by_quotas(scored, [10, 50, 40, 5])
    counts = [sum(1 for s in scored if s.tier == t) for t in (1, 2, 3, 4)]
    assert counts == [10, 50, 40, 5]
    assert scored[9].tier == 1 and scored[10].tier == 2 and scored[99].tier == 3 and scored[100].tier == 4


def test_ties_on_a_quota_boundary_take_the_better_tier() -> None:
    scored = rank([Scored("a", 0.9), Scored("b", 0.8), Scored("c", 0.8), Scored("d", 0.5)])
    tiers_by_quotas(scored, [1, 1, 1, 1])
    assert [(s.zone, s.tier) for s in scored] == [("a", 1), ("b", 2), ("c", 2), ("d", 4)]
    assert scored[1].notes and scored[2].notes and not scored[0].notes
    top = rank([Scored("a", 0.9), Scored("b", 0.9), Scored("c", 0.5), Scored("d", 0.4)])
    tiers_by_quotas(top, [1, 1, 1, 1])
    assert [s.tier for s in top] == [1, 1, 3, 4]


def test_thresholds() -> None:
    scored = rank([Scored("a", 0.8), Scored("b", 0.5), Scored("c", 0.3), Scored("d", 0.1), Scored("e", None)])
    tiers_by_thresholds(scored, [0.75, 0.5, 0.25])
    assert [(s.zone, s.tier) for s in scored] == [("a", 1), ("b", 2), ("c", 3), ("d", 4), ("e", None)]
    with pytest.raises(AssessError, match="strictly decreasing"):
        tiers_by_thresholds(scored, [0.5, 0.5, 0.25])


# ---- exit rule ----


def test_exit_rule_over_four_years_with_a_warning_a_year_ahead() -> None:
    rule = ExitRule(consecutive=2, warn_ahead=True)
    history: list[int | None] = []
    actions = []
    for tier in (3, 4, 4, 2):
        history.append(tier)
        actions.append(exit_action(history, rule))
    assert actions == [("none", 0), ("warning", 1), ("exit", 2), ("none", 0)]
    # recovering breaks the run; a year not ranked neither counts nor breaks it
    assert exit_action([4, 3, 4], rule) == ("warning", 1)
    assert exit_action([4, None], rule) == ("none", 1)
    assert exit_action([4, None, 4], rule) == ("exit", 2)
    three = ExitRule(consecutive=3, warn_ahead=True)
    assert [exit_action([4] * k, three)[0] for k in (1, 2, 3, 4)] == ["none", "warning", "exit", "exit"]
    assert exit_action([4], ExitRule(consecutive=2, warn_ahead=False)) == ("none", 1)
