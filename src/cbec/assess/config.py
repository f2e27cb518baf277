"""The indicator system of an assessment, from YAML, checked as a whole before anything runs.

An indicator comes either from the platform's own data (``source: platform``, one of `PLATFORM`) or from
values the zones supply per year (``source: supplied``, loaded with ``cbec zones indicators load``).
Weights are given per indicator (rescaled to sum to one) or derived by AHP from a pairwise comparison
matrix, which must be consistent (CR < 0.1). Tiers are placed by quotas or by score thresholds.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from cbec.assess.maths import DIRECTIONS, NORMALIZATIONS, TIERS, Ahp, AssessError, ExitRule, ahp

#: indicators the platform computes per zone and year from cleared data and the registry
PLATFORM: dict[str, tuple[str, str]] = {
    "trade_value": ("年度进出口额（元）", "annual trade value (CNY)"),
    "trade_growth": ("年度进出口增速（%）", "annual trade growth (%)"),
    "export_value": ("年度出口额（元）", "annual export value (CNY)"),
    "export_share": ("出口占比", "export share of trade"),
    "lists": ("清单票数", "declaration lists released"),
    "active_enterprises": ("活跃电商企业数", "active e-commerce enterprises"),
    "returns_handled": ("退货办结票数", "returns handled"),
    "parks": ("线下产业园区数", "offline industrial parks"),
}


@dataclass(frozen=True, slots=True)
class Indicator:
    key: str
    name: str
    name_en: str
    source: str  # platform | supplied
    direction: str
    normalization: str
    weight: float


@dataclass(frozen=True, slots=True)
class Config:
    name: str
    indicators: tuple[Indicator, ...]
    quotas: tuple[int, ...] | None
    thresholds: tuple[float, ...] | None
    missing: str
    exit: ExitRule
    ahp: Ahp | None
    sha256: str
    raw: dict[str, Any]

    @property
    def weights(self) -> dict[str, float]:
        return {i.key: i.weight for i in self.indicators}


def _fail(zh: str, en: str) -> AssessError:
    return AssessError(f"考核配置错误：{zh}", f"assessment configuration: {en}")


def _number(value: Any, where: str) -> float:
    """A YAML number or a fraction written as text ("1/3"), as judges write AHP matrices."""
    if isinstance(value, bool):
        raise _fail(f"{where} 应为数字", f"{where} must be a number")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(Fraction(value.strip()))
        except (ValueError, ZeroDivisionError):
            pass
    raise _fail(f"{where} 应为数字或分数（如 1/3）", f"{where} must be a number or a fraction such as 1/3")


def default_path() -> Path:
    return Path(str(resources.files("cbec") / "data" / "assessment.yaml"))


def load(path: Path | None = None) -> Config:
    """Read and check a configuration file (the shipped example when `path` is None)."""
    path = path or default_path()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _fail(f"无法读取 {path}", f"cannot read {path}") from exc
    return parse(data, path.name)


def parse(data: bytes, name: str = "config") -> Config:
    try:
        raw = yaml.safe_load(data)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第{mark.line + 1}行" if mark is not None else ""
        where_en = f" at line {mark.line + 1}" if mark is not None else ""
        raise _fail(f"{name} 不是有效的 YAML {where}", f"{name} is not valid YAML{where_en}") from exc
    if not isinstance(raw, dict):
        raise _fail(f"{name} 应为一个映射（键: 值）", f"{name} must be a mapping (key: value)")
    items = raw.get("indicators")
    if not isinstance(items, list) or not items:
        raise _fail("缺少 indicators 列表", "an indicators list is required")
    weights_section = raw.get("weights") or {}
    if not isinstance(weights_section, dict):
        raise _fail("weights 应为映射", "weights must be a mapping")
    matrix_section = weights_section.get("ahp")
    parsed: list[dict[str, Any]] = []
    seen: set[str] = set()
    for n, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise _fail(f"第{n}个指标应为映射", f"indicator {n} must be a mapping")
        key = str(item.get("key", "")).strip()
        if not key or key in seen:
            raise _fail(f"第{n}个指标缺少 key 或 key 重复", f"indicator {n} lacks a key or repeats one")
        seen.add(key)
        source = item.get("source", "platform")
        if source not in ("platform", "supplied"):
            raise _fail(
                f"指标 {key} 的 source 应为 platform 或 supplied",
                f"{key}: source must be platform or supplied",
            )
        if source == "platform" and key not in PLATFORM:
            raise _fail(
                f"平台指标 {key} 不存在，可选：{', '.join(PLATFORM)}",
                f"{key} is not a platform indicator; choose one of {', '.join(PLATFORM)}",
            )
        direction = item.get("direction", "positive")
        if direction not in DIRECTIONS:
            raise _fail(
                f"指标 {key} 的方向应为 positive 或 negative",
                f"{key}: direction must be positive or negative",
            )
        normalization = item.get("normalization", "minmax")
        if normalization not in NORMALIZATIONS:
            raise _fail(
                f"指标 {key} 的归一化方法应为 {', '.join(NORMALIZATIONS)}",
                f"{key}: normalization must be one of {', '.join(NORMALIZATIONS)}",
            )
        weight = item.get("weight")
        if matrix_section is None:
            if weight is None:
                raise _fail(
                    f"指标 {key} 缺少权重（或改用 AHP 判断矩阵）",
                    f"{key} has no weight (or give an AHP matrix)",
                )
            w = _number(weight, f"{key}.weight")
            if w < 0:
                raise _fail(f"指标 {key} 的权重不能为负", f"{key}: weight must not be negative")
        elif weight is not None:
            raise _fail(
                "权重只能直接给出或由 AHP 得出，不能两者都有", "give weights directly or by AHP, not both"
            )
        else:
            w = 0.0
        zh, en = PLATFORM.get(key, (key, key))
        parsed.append(
            {
                "key": key,
                "name": str(item.get("name", zh)),
                "name_en": str(item.get("name_en", en)),
                "source": source,
                "direction": direction,
                "normalization": normalization,
                "weight": w,
            }
        )
    result: Ahp | None = None
    if matrix_section is not None:
        if not isinstance(matrix_section, dict):
            raise _fail("weights.ahp 应包含 order 和 matrix", "weights.ahp needs order and matrix")
        order = matrix_section.get("order")
        matrix = matrix_section.get("matrix")
        if not isinstance(order, list) or sorted(map(str, order)) != sorted(seen):
            raise _fail(
                "weights.ahp.order 应恰好列出每个指标一次",
                "weights.ahp.order must list every indicator exactly once",
            )
        if not isinstance(matrix, list) or any(not isinstance(r, list) for r in matrix):
            raise _fail(
                "weights.ahp.matrix 应为矩阵（列表的列表）", "weights.ahp.matrix must be a list of lists"
            )
        numbers = [
            [_number(v, f"matrix[{i + 1}][{j + 1}]") for j, v in enumerate(r)] for i, r in enumerate(matrix)
        ]
        if len(numbers) != len(order):
            raise _fail("判断矩阵阶数应等于指标数", "the matrix order must equal the number of indicators")
        result = ahp(numbers)
        by_key = dict(zip(map(str, order), result.weights, strict=True))
        for p in parsed:
            p["weight"] = by_key[p["key"]]
    total = sum(p["weight"] for p in parsed)
    if total <= 0:
        raise _fail("权重之和应大于0", "the weights must sum to more than 0")
    indicators = tuple(Indicator(**{**p, "weight": p["weight"] / total}) for p in parsed)
    tiers = raw.get("tiers")
    if not isinstance(tiers, dict) or ("quotas" in tiers) == ("thresholds" in tiers):
        raise _fail("tiers 应给出 quotas 或 thresholds 之一", "tiers must give either quotas or thresholds")
    quotas: tuple[int, ...] | None = None
    thresholds: tuple[float, ...] | None = None
    if "quotas" in tiers:
        q = tiers["quotas"]
        if not isinstance(q, list) or len(q) != len(TIERS) or any(not isinstance(x, int) or x < 0 for x in q):
            raise _fail(
                f"tiers.quotas 应为 {len(TIERS)} 个非负整数",
                f"tiers.quotas must be {len(TIERS)} non-negative integers",
            )
        if sum(q) == 0:
            raise _fail("tiers.quotas 之和应大于0", "tiers.quotas must sum to more than 0")
        quotas = tuple(q)
    else:
        t = tiers["thresholds"]
        if not isinstance(t, list) or len(t) != len(TIERS) - 1:
            raise _fail(
                f"tiers.thresholds 应为 {len(TIERS) - 1} 个数",
                f"tiers.thresholds must be {len(TIERS) - 1} numbers",
            )
        thresholds = tuple(_number(x, "tiers.thresholds") for x in t)
        if any(a <= b for a, b in itertools.pairwise(thresholds)):
            raise _fail("tiers.thresholds 应严格递减", "tiers.thresholds must be strictly decreasing")
    missing = raw.get("missing", "reweight")
    if missing not in ("reweight", "exclude"):
        raise _fail("missing 应为 reweight 或 exclude", "missing must be reweight or exclude")
    exit_section = raw.get("exit") or {}
    if not isinstance(exit_section, dict):
        raise _fail("exit 应为映射", "exit must be a mapping")
    consecutive = exit_section.get("lowest_tier_consecutive", 2)
    if not isinstance(consecutive, int) or isinstance(consecutive, bool) or consecutive < 1:
        raise _fail(
            "exit.lowest_tier_consecutive 应为正整数",
            "exit.lowest_tier_consecutive must be a positive integer",
        )
    warn = exit_section.get("warn_ahead", True)
    if not isinstance(warn, bool):
        raise _fail("exit.warn_ahead 应为 true 或 false", "exit.warn_ahead must be true or false")
    return Config(
        name=str(raw.get("name", name)),
        indicators=indicators,
        quotas=quotas,
        thresholds=thresholds,
        missing=missing,
        exit=ExitRule(consecutive, warn),
        ahp=result,
        sha256=hashlib.sha256(data).hexdigest(),
        raw=raw,
    )
