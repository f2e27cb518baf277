"""What an assessment run produced, as plain data: what the CLI prints, the report renders and the portal
shows. No store here, so the portal can render a result it got from anywhere."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

from cbec.assess.maths import TIERS


@dataclass(slots=True)
class IndicatorInfo:
    key: str
    name: str
    name_en: str
    source: str
    direction: str
    normalization: str
    weight: float


@dataclass(slots=True)
class ZoneResult:
    code: str
    name: str
    province: str
    batch: str
    score: float | None
    rank: int | None
    tier: int | None
    action: str  # none | warning | exit
    streak: int
    status: str  # the zone's status after this run
    #: raw values as text (Decimal strings; None = missing) and normalized values per indicator
    raw: dict[str, str | None] = field(default_factory=dict)
    normalized: dict[str, float | None] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    previous_rank: int | None = None
    previous_tier: int | None = None

    @property
    def tier_name(self) -> str:
        return f"{TIERS[self.tier][0]} / {TIERS[self.tier][1]}" if self.tier else "未排名 / not ranked"

    @property
    def movement(self) -> int | None:
        """Places gained since the previous assessment (positive = up)."""
        if self.rank is None or self.previous_rank is None:
            return None
        return self.previous_rank - self.rank


@dataclass(slots=True)
class AssessmentResult:
    year: int
    run_id: int | None
    config_name: str
    config_sha256: str
    indicators: list[IndicatorInfo]
    zones: list[ZoneResult]
    #: zones approved before the year but without any data (not assessed), and zones already exited
    not_assessed: list[str] = field(default_factory=list)
    exited: list[str] = field(default_factory=list)
    tier_method: str = ""
    cr: float | None = None

    def ranked(self) -> list[ZoneResult]:
        return [z for z in self.zones if z.rank is not None]

    def median(self, key: str) -> float | None:
        values = [z.normalized.get(key) for z in self.zones]
        present = [v for v in values if v is not None]
        return statistics.median(present) if present else None

    def top_tier_mean(self, key: str) -> float | None:
        values = [z.normalized.get(key) for z in self.zones if z.tier == 1]
        present = [v for v in values if v is not None]
        return sum(present) / len(present) if present else None

    def tier_counts(self) -> dict[int, int]:
        counts = dict.fromkeys(TIERS, 0)
        for z in self.zones:
            if z.tier is not None:
                counts[z.tier] += 1
        return counts

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for z, zone in zip(data["zones"], self.zones, strict=True):
            z["tier_name"] = zone.tier_name
            z["movement"] = zone.movement
        data["tier_counts"] = {str(k): v for k, v in self.tier_counts().items()}
        return data
