"""Pure assessment arithmetic. No store, no I/O: numbers in, numbers and notes out.

Scores and weights are floats on purpose (they are normalized, dimensionless quantities); money never
passes through here except as an indicator's raw value converted once by the caller.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from cbec.ceb.errors import CebError

NORMALIZATIONS = ("minmax", "zscore", "percentile")
DIRECTIONS = ("positive", "negative")
#: the official tiers of the 2022 round (policy.md §6.3), best first
TIERS: dict[int, tuple[str, str]] = {
    1: ("成效明显", "marked results"),
    2: ("成效较好", "good results"),
    3: ("成效初显", "initial results"),
    4: ("尚在起步阶段", "still starting"),
}
#: Saaty's random consistency index by matrix order
RANDOM_INDEX = {1: 0.0, 2: 0.0, 3: 0.58, 4: 0.90, 5: 1.12, 6: 1.24, 7: 1.32, 8: 1.41, 9: 1.45, 10: 1.49}
CR_LIMIT = 0.1
#: scores within this distance are equal (ties), so float noise never splits a tie
TIE = 1e-9


class AssessError(CebError):
    """A configuration or data problem of the assessment."""

    code = "CBEC-0710"


class InconsistentMatrix(CebError):
    """An AHP comparison matrix whose consistency ratio is 0.1 or more."""

    code = "CBEC-0711"


# ---- normalization ----


def normalize(
    values: Mapping[str, float | None], method: str, direction: str = "positive"
) -> dict[str, float | None]:
    """Normalize one indicator across zones; a missing value (None) stays missing.

    * min–max: (x − min) / (max − min), reversed for a negative indicator;
    * z-score: (x − mean) / population standard deviation, negated for a negative indicator;
    * percentile: (average rank − 1) / (n − 1) with ties sharing their average rank, 1 − p when negative.

    A column without spread carries no information: every zone gets 0.5 (min–max, percentile) or 0
    (z-score), so it moves no rank."""
    if method not in NORMALIZATIONS:
        raise AssessError(
            f"归一化方法应为 {', '.join(NORMALIZATIONS)}",
            f"normalization must be one of {', '.join(NORMALIZATIONS)}",
        )
    if direction not in DIRECTIONS:
        raise AssessError("指标方向应为 positive 或 negative", "direction must be positive or negative")
    present = {k: float(v) for k, v in values.items() if v is not None}
    out: dict[str, float | None] = {k: None for k in values}
    if not present:
        return out
    xs = list(present.values())
    negative = direction == "negative"
    if method == "minmax":
        low, high = min(xs), max(xs)
        for k, x in present.items():
            if high - low <= TIE:
                out[k] = 0.5
            else:
                out[k] = ((high - x) if negative else (x - low)) / (high - low)
    elif method == "zscore":
        mean = sum(xs) / len(xs)
        sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / len(xs))
        for k, x in present.items():
            z = 0.0 if sd <= TIE else (x - mean) / sd
            out[k] = -z if negative else z
    else:
        n = len(xs)
        ordered = sorted(xs)
        for k, x in present.items():
            if n == 1:
                out[k] = 0.5
                continue
            below = sum(1 for y in ordered if y < x - TIE)
            equal = sum(1 for y in ordered if abs(y - x) <= TIE)
            average_rank = below + (equal + 1) / 2
            p = (average_rank - 1) / (n - 1)
            if equal == n:
                p = 0.5
            out[k] = 1 - p if negative else p
    return out


# ---- AHP ----


@dataclass(frozen=True, slots=True)
class Ahp:
    """Weights from a pairwise comparison matrix (principal eigenvector) and its consistency."""

    weights: tuple[float, ...]
    lambda_max: float
    ci: float
    ri: float
    cr: float


def ahp(matrix: Sequence[Sequence[float]], *, limit: float = CR_LIMIT) -> Ahp:
    """Saaty's AHP: principal eigenvector by power iteration, λmax, CI = (λmax − n)/(n − 1),
    CR = CI / RI. A matrix with CR ≥ `limit` is refused (InconsistentMatrix), as are matrices that are not
    square, positive and reciprocal."""
    n = len(matrix)
    if n == 0 or any(len(row) != n for row in matrix):
        raise AssessError("判断矩阵应为非空方阵", "the comparison matrix must be a non-empty square matrix")
    if n > max(RANDOM_INDEX):
        raise AssessError(
            f"判断矩阵最多 {max(RANDOM_INDEX)} 阶",
            f"the comparison matrix may have at most {max(RANDOM_INDEX)} rows",
        )
    for i in range(n):
        for j in range(n):
            a = float(matrix[i][j])
            if not (a > 0 and math.isfinite(a)):
                raise AssessError(
                    f"判断矩阵第{i + 1}行第{j + 1}列应为正数",
                    f"matrix entry ({i + 1}, {j + 1}) must be positive",
                )
            if abs(a * float(matrix[j][i]) - 1) > 1e-3:
                raise AssessError(
                    f"判断矩阵不互反：a{i + 1}{j + 1} × a{j + 1}{i + 1} ≠ 1",
                    f"the matrix is not reciprocal: a{i + 1}{j + 1} × a{j + 1}{i + 1} ≠ 1",
                )
    w = [1.0 / n] * n
    for _ in range(1000):
        product = [sum(float(matrix[i][j]) * w[j] for j in range(n)) for i in range(n)]
        total = sum(product)
        nxt = [p / total for p in product]
        if max(abs(a - b) for a, b in zip(nxt, w, strict=True)) < 1e-14:
            w = nxt
            break
        w = nxt
    aw = [sum(float(matrix[i][j]) * w[j] for j in range(n)) for i in range(n)]
    lambda_max = sum(aw[i] / w[i] for i in range(n)) / n
    ci = (lambda_max - n) / (n - 1) if n > 1 else 0.0
    ri = RANDOM_INDEX[n]
    cr = ci / ri if ri > 0 else 0.0
    if cr >= limit:
        raise InconsistentMatrix(
            f"判断矩阵一致性比率 CR = {cr:.4f} ≥ {limit}，请调整两两比较后重试",
            f"the comparison matrix's consistency ratio CR = {cr:.4f} ≥ {limit}; "
            "revise the pairwise judgements",
        )
    return Ahp(tuple(w), lambda_max, ci, ri, cr)


# ---- scores, ranks, tiers ----


@dataclass(slots=True)
class Scored:
    """A zone's score (None when it could not be ranked), the indicators it lacked, and its place."""

    zone: str
    score: float | None
    missing: list[str] = field(default_factory=list)
    rank: int | None = None
    tier: int | None = None
    notes: list[str] = field(default_factory=list)


def score(
    normalized: Mapping[str, Mapping[str, float | None]],
    weights: Mapping[str, float],
    zones: Sequence[str],
    missing: str = "reweight",
) -> list[Scored]:
    """Weighted sums of normalized indicators per zone.

    A missing indicator is never read as zero: with ``reweight`` the zone is scored on the indicators it
    has, their weights rescaled to sum to one, and the missing ones are listed; with ``exclude`` a zone
    missing anything is not ranked. A zone with no indicator at all is never ranked."""
    if missing not in ("reweight", "exclude"):
        raise AssessError("缺失值策略应为 reweight 或 exclude", "missing must be reweight or exclude")
    out = []
    for zone in zones:
        lacking = [k for k in weights if normalized.get(k, {}).get(zone) is None]
        have = [k for k in weights if k not in lacking]
        total_weight = sum(weights[k] for k in have)
        if not have or total_weight <= 0 or (lacking and missing == "exclude"):
            out.append(Scored(zone, None, lacking))
            continue
        value = sum(weights[k] * float(normalized[k][zone] or 0.0) for k in have) / total_weight
        out.append(Scored(zone, value, lacking))
    return out


def rank(scored: list[Scored]) -> list[Scored]:
    """Order by score (best first, ties by zone code) and give competition ranks (1, 2, 2, 4 …)."""
    ranked = sorted((s for s in scored if s.score is not None), key=lambda s: (-(s.score or 0.0), s.zone))
    previous: float | None = None
    for position, s in enumerate(ranked, 1):
        assert s.score is not None
        if previous is None or abs(s.score - previous) > TIE:
            s.rank = position
        else:
            s.rank = ranked[position - 2].rank
        previous = s.score
    return ranked + sorted((s for s in scored if s.score is None), key=lambda s: s.zone)


def quota_counts(quotas: Sequence[int], n: int) -> list[int]:
    """Tier sizes for `n` zones in proportion to `quotas` (largest remainder; ties go to the better tier).

    With quotas 10/50/40/5 and n = 105 this is exactly 10/50/40/5."""
    if len(quotas) != len(TIERS) or any(q < 0 for q in quotas) or sum(quotas) <= 0:
        raise AssessError(
            f"名额应为 {len(TIERS)} 个非负整数且总和大于0",
            f"quotas must be {len(TIERS)} non-negative integers, sum > 0",
        )
    total = sum(quotas)
    exact = [Fraction(q * n, total) for q in quotas]  # exact: float remainders would break ties at random
    counts = [math.floor(e) for e in exact]
    order = sorted(range(len(quotas)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[: n - sum(counts)]:
        counts[i] += 1
    return counts


def tiers_by_quotas(ranked: list[Scored], quotas: Sequence[int]) -> list[Scored]:
    """Place ranked zones in tiers by quota. Zones tied on a boundary all take the better tier (the
    boundary moves down and the lower tier shrinks); each such tie is noted."""
    scored = [s for s in ranked if s.score is not None]
    counts = quota_counts(quotas, len(scored))
    bounds = [sum(counts[: k + 1]) for k in range(len(counts))]
    i = 0
    while i < len(scored):
        j = i
        while j + 1 < len(scored) and abs((scored[j + 1].score or 0) - (scored[i].score or 0)) <= TIE:
            j += 1
        tier = next(k + 1 for k, b in enumerate(bounds) if i < b)
        for s in scored[i : j + 1]:
            s.tier = tier
            if j >= bounds[tier - 1]:
                s.notes.append(
                    f"与第{j + 1}名并列，跨越名额边界，同列较高档 / tied across the quota boundary with rank "
                    f"{scored[j].rank}; all tied zones take the better tier"
                )
        i = j + 1
    return ranked


def tiers_by_thresholds(ranked: list[Scored], thresholds: Sequence[float]) -> list[Scored]:
    """Place zones by score: ≥ t1 tier 1, ≥ t2 tier 2, ≥ t3 tier 3, else tier 4 (t1 > t2 > t3)."""
    if len(thresholds) != len(TIERS) - 1 or any(a <= b for a, b in itertools.pairwise(thresholds)):
        raise AssessError(
            f"分档阈值应为 {len(TIERS) - 1} 个严格递减的数",
            f"thresholds must be {len(TIERS) - 1} strictly decreasing numbers",
        )
    for s in ranked:
        if s.score is None:
            continue
        s.tier = next((k + 1 for k, t in enumerate(thresholds) if s.score >= t - TIE), len(TIERS))
    return ranked


# ---- exit rule ----


@dataclass(frozen=True, slots=True)
class ExitRule:
    """``consecutive`` assessments in the lowest tier recommend exit; with ``warn_ahead`` the assessment
    before that warns. Years in which a zone was not ranked neither count nor break the run."""

    consecutive: int = 2
    warn_ahead: bool = True
    lowest: int = len(TIERS)


def exit_action(history: Sequence[int | None], rule: ExitRule) -> tuple[str, int]:
    """(action, streak) after the last assessment in `history` (tiers, oldest first; None = not ranked):
    ``exit``, ``warning`` or ``none``, and how many assessments in a row ended in the lowest tier."""
    if rule.consecutive < 1:
        raise AssessError(
            "退出规则的连续次数应至少为1", "the exit rule needs at least 1 consecutive assessment"
        )
    streak = 0
    for tier in history:
        if tier is None:
            continue
        streak = streak + 1 if tier >= rule.lowest else 0
    if history and history[-1] is None:
        return "none", streak
    if streak >= rule.consecutive:
        return "exit", streak
    if rule.warn_ahead and streak == rule.consecutive - 1 and streak > 0:
        return "warning", streak
    return "none", streak
