"""The official national series (GACC, policy.md §7.1) as reference data, so a zone's figures can be set
against the nation. Two series are kept apart and never mixed: ``preliminary`` (初步测算, published with the
January trade figures) and ``survey`` (跨境电商统计调查制度, published months later); 2018 is a revised total.
Amounts are in billions of CNY (Decimal); a blank cell is a figure that could not be verified."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources

from cbec.stats.errors import BadNational

SERIES = {
    "preliminary": ("初步测算", "preliminary"),
    "survey": ("统计调查", "statistical survey"),
    "revised": ("修订", "revised"),
}
BILLION = Decimal(1_000_000_000)


@dataclass(frozen=True, slots=True)
class NationalFigure:
    period: str  # 2022, 2024-H1 …
    series: str
    total_bn: Decimal
    total_yoy: Decimal | None
    export_bn: Decimal | None
    export_yoy: Decimal | None
    import_bn: Decimal | None
    import_yoy: Decimal | None
    note: str
    source: str


def _dec(text: str) -> Decimal | None:
    return Decimal(text) if text.strip() else None


def figures() -> list[NationalFigure]:
    """Every shipped figure, in file order."""
    text = (resources.files("cbec") / "data" / "gacc_national.csv").read_text(encoding="utf-8")
    out = []
    for row in csv.DictReader(text.splitlines()):
        total = _dec(row["total_bn"])
        assert total is not None
        out.append(
            NationalFigure(
                row["period"],
                row["series"],
                total,
                _dec(row["total_yoy"]),
                _dec(row["export_bn"]),
                _dec(row["export_yoy"]),
                _dec(row["import_bn"]),
                _dec(row["import_yoy"]),
                row["note"],
                row["source"],
            )
        )
    return out


def figure_for(period: str, series: str = "preliminary") -> NationalFigure:
    if series not in SERIES:
        raise BadNational(
            f"全国数据口径应为 {', '.join(SERIES)}", f"series must be one of {', '.join(SERIES)}"
        )
    for f in figures():
        if f.period == period and f.series == series:
            return f
    raise BadNational(
        f"没有 {period} 年的全国{SERIES[series][0]}数据", f"no national {series} figure for {period}"
    )


def share(value_cny: Decimal, period: str, series: str = "preliminary", direction: str = "import") -> Decimal:
    """A zone's value as a percentage of the national figure (import, export or total), to 0.0001 %."""
    f = figure_for(period, series)
    base = {"import": f.import_bn, "export": f.export_bn, "total": f.total_bn}.get(direction)
    if base is None:
        raise BadNational(
            f"{period} 年全国{SERIES[series][0]}数据没有可核实的{direction}分项",
            f"the national {series} figure for {period} has no verified {direction} split",
        )
    return (value_cny * 100 / (base * BILLION)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
