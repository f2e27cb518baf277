"""The tax-rate table: VAT, consumption tax (CT) and MFN duty by HS-code prefix, loaded from CSV or XLSX.

A row is keyed by an HS-code prefix of 2–10 digits and the longest matching prefix wins, so a table can
give a chapter-wide rate (``2204``) and override one tariff line (``2204210000``). A code no row matches
gets `DEFAULT_RATE` (VAT 13 %, no CT, MFN unknown): the retail path can still tax it, the full path must
say it has no duty rate instead of guessing.

Some consumption taxes apply only above a price (财税〔2016〕103号 for 高档化妆品: ≥ 10 CNY per ml or g,
≥ 15 CNY per 片/张; 高档手表 ≥ 10,000 CNY per watch; policy.md §1.5). Those thresholds are data: a row
carries `CtCondition` values, each a minimum price per unit of a measure (``ml_g``, ``piece``, ``each``).
The measure is read from the list line's quantities and their customs unit codes (JGS-20 计量单位代码),
converted to the base unit with `UNIT_MEASURES`.

File format (CSV, UTF-8 with or without BOM; XLSX: the first sheet, same columns). Lines whose first cell
starts with ``#`` are comments. The header names the columns, in any order:

``hs_prefix`` (required), ``vat_rate`` (required), ``ct_rate``, ``ct_min_unit_price``, ``ct_price_unit``,
``mfn_rate`` (empty = unknown), ``name_zh``, ``name_en``, ``source``.

Rates are fractions (``0.13``) or percentages (``13%``). Several CT conditions are written ``|``-separated
and paired in order: ``ct_min_unit_price`` = ``15|10``, ``ct_price_unit`` = ``piece|ml_g``.

Loading is the only I/O here (`load_rate_table`, `default_rate_table`); `parse_rate_rows`, `read_rate_csv`
and `RateTable.lookup` are pure.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal, get_args

__all__ = [
    "COLUMNS",
    "DEFAULT_RATE",
    "UNIT_MEASURES",
    "CtCondition",
    "PriceUnit",
    "RateProblem",
    "RateRow",
    "RateTable",
    "RateTableError",
    "default_rate_table",
    "load_rate_table",
    "parse_rate_rows",
    "price_per_unit",
    "read_rate_csv",
    "read_rate_xlsx",
]

#: ``ml_g``: per millilitre or gram (103号 treats 1 ml like 1 g); ``piece``: per 片/张 (masks);
#: ``each``: per article (件/个/只/块, e.g. one watch).
PriceUnit = Literal["ml_g", "piece", "each"]

PRICE_UNIT_NAMES: Mapping[str, tuple[str, str]] = {
    "ml_g": ("毫升/克", "ml or g"),
    "piece": ("片/张", "piece (sheet)"),
    "each": ("件/只", "article"),
}

#: Customs unit code (JGS-20 计量单位代码) → (measure, how many base units one unit is). Only the units a CT
#: price condition can be measured in; any other unit simply does not measure that condition.
UNIT_MEASURES: Mapping[str, tuple[PriceUnit, Decimal]] = {
    "036": ("ml_g", Decimal("1")),  # 克 g
    "035": ("ml_g", Decimal("1000")),  # 千克 kg
    "070": ("ml_g", Decimal("1000000")),  # 吨 t
    "096": ("ml_g", Decimal("1")),  # 毫升 ml
    "095": ("ml_g", Decimal("1000")),  # 升 l
    "063": ("ml_g", Decimal("1000000")),  # 千升 kl
    "020": ("piece", Decimal("1")),  # 片
    "010": ("piece", Decimal("1")),  # 张
    "044": ("piece", Decimal("100")),  # 百片
    "058": ("piece", Decimal("1000")),  # 千张
    "059": ("piece", Decimal("10000")),  # 万张
    "011": ("each", Decimal("1")),  # 件
    "007": ("each", Decimal("1")),  # 个
    "008": ("each", Decimal("1")),  # 只
    "017": ("each", Decimal("1")),  # 块
    "043": ("each", Decimal("100")),  # 百个
    "054": ("each", Decimal("1000")),  # 千个
    "050": ("each", Decimal("1000")),  # 千只
}

COLUMNS: tuple[str, ...] = (
    "hs_prefix",
    "vat_rate",
    "ct_rate",
    "ct_min_unit_price",
    "ct_price_unit",
    "mfn_rate",
    "name_zh",
    "name_en",
    "source",
)
_REQUIRED = ("hs_prefix", "vat_rate")


@dataclass(frozen=True, slots=True)
class CtCondition:
    """CT is due only when the price per `unit` reaches `min_unit_price` (e.g. 10 CNY per ml/g, 103号)."""

    min_unit_price: Decimal
    unit: PriceUnit


@dataclass(frozen=True, slots=True)
class RateRow:
    """One row of the table: the rates for every HS code that starts with `hs_prefix`."""

    hs_prefix: str
    vat_rate: Decimal
    ct_rate: Decimal = Decimal("0")
    #: the MFN (最惠国) import duty rate for the full-tax path; None = not known to this table
    mfn_rate: Decimal | None = None
    #: empty = CT (if any) always applies; otherwise it applies when a measurable condition is met
    ct_conditions: tuple[CtCondition, ...] = ()
    name_zh: str = ""
    name_en: str = ""
    source: str = ""


DEFAULT_RATE = RateRow(
    hs_prefix="",
    vat_rate=Decimal("0.13"),
    name_zh="未列明商品（默认：增值税13%，无消费税，最惠国税率未知）",
    name_en="goods not in the table (default: VAT 13 %, no consumption tax, MFN rate unknown)",
    source="cbec default rule; VAT 13 % standard rate per policy.md §1.5",
)
"""Used when no row matches: the standard VAT rate (policy.md §1.5), no CT, and no duty guess."""


def price_per_unit(
    price: Decimal, unit: PriceUnit, quantities: Iterable[tuple[Decimal | None, str | None]]
) -> Decimal | None:
    """`price` divided by the first quantity expressed in `unit`'s measure, or None if none is.

    `quantities` are (qty, unit code) pairs in order of preference; the tax engine passes the legal
    quantity first (qty1/unit1), then qty2/unit2, then the declared qty/unit.
    """
    for qty, code in quantities:
        if qty is None or code is None or qty <= 0:
            continue
        measure = UNIT_MEASURES.get(code)
        if measure is not None and measure[0] == unit:
            return price / (qty * measure[1])
    return None


@dataclass(frozen=True)
class RateTable:
    """Rows by HS prefix plus the default. `lookup` is a longest-prefix match, at most nine dict probes."""

    rows: Mapping[str, RateRow]
    default: RateRow = DEFAULT_RATE
    #: where the table came from (file name), for bills and error messages
    source: str = ""
    _lengths: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_lengths", tuple(sorted({len(p) for p in self.rows}, reverse=True)))

    def lookup(self, gcode: str) -> RateRow:
        """The row with the longest prefix of `gcode`, or `default`."""
        code = gcode.strip()
        for length in self._lengths:
            if length <= len(code):
                row = self.rows.get(code[:length])
                if row is not None:
                    return row
        return self.default

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[RateRow]:
        return iter(self.rows.values())


@dataclass(frozen=True, slots=True)
class RateProblem:
    """One bad cell or row: where (file, line, column) and what, in Chinese and English."""

    file: str
    line: int
    column: str
    zh: str
    en: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" + (f" [{self.column}]" if self.column else "")
        return f"{where}: {self.zh} / {self.en}"


class RateTableError(ValueError):
    """The table cannot be used; `problems` lists every bad row and cell found, not just the first."""

    def __init__(self, problems: Sequence[RateProblem]) -> None:
        self.problems = tuple(problems)
        head = f"税率表有 {len(self.problems)} 处错误 / the rate table has {len(self.problems)} problem(s)"
        super().__init__("\n".join([head, *map(str, self.problems)]))


# ---- parsing ---------------------------------------------------------------------------------------------


class _Bad(Exception):
    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh = zh
        self.en = en


def _rate(text: str, *, below_one: bool, upper: Decimal = Decimal("1")) -> Decimal:
    raw = text.strip()
    percent = raw.endswith("%")
    try:
        value = Decimal(raw[:-1].strip() if percent else raw)
    except InvalidOperation:
        raise _Bad(f"不是税率：{raw!r}", f"not a rate: {raw!r}") from None
    if not value.is_finite():
        raise _Bad(f"不是税率：{raw!r}", f"not a rate: {raw!r}")
    if percent:
        value = value / 100
    if value < 0 or value > upper or (below_one and value >= 1):
        bound = "[0, 1)" if below_one else f"[0, {upper}]"
        raise _Bad(f"税率 {raw} 超出范围 {bound}", f"rate {raw} is outside {bound}")
    return value


def _price(text: str) -> Decimal:
    raw = text.strip()
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise _Bad(f"不是金额：{raw!r}", f"not an amount: {raw!r}") from None
    if not value.is_finite() or value <= 0:
        raise _Bad(f"最低单价必须大于零：{raw!r}", f"the minimum unit price must be positive: {raw!r}")
    return value


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split("|")] if text.strip() else []


_PRICE_UNITS: Mapping[str, PriceUnit] = {unit: unit for unit in get_args(PriceUnit)}


def _header(cells: Sequence[str]) -> tuple[dict[str, int], list[tuple[str, str, str]]]:
    header: dict[str, int] = {}
    problems: list[tuple[str, str, str]] = []
    for index, name in enumerate(c.strip() for c in cells):
        if not name:
            continue
        if name not in COLUMNS:
            problems.append((name, f"未知列 {name!r}", f"unknown column {name!r}"))
        elif name in header:
            problems.append((name, f"列 {name!r} 重复", f"column {name!r} appears twice"))
        else:
            header[name] = index
    for name in _REQUIRED:
        if name not in header:
            problems.append((name, f"缺少必填列 {name!r}", f"required column {name!r} is missing"))
    return header, problems


def _row(
    cells: Sequence[str], header: Mapping[str, int], seen: Mapping[str, int]
) -> tuple[RateRow | None, list[tuple[str, str, str]]]:
    """One data row: the parsed row, or None and its problems as (column, 中文, English)."""
    problems: list[tuple[str, str, str]] = []

    def cell(name: str) -> str:
        index = header.get(name)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    prefix = cell("hs_prefix")
    if not (prefix.isascii() and prefix.isdigit() and 2 <= len(prefix) <= 10):
        problems.append(
            (
                "hs_prefix",
                f"商品编码前缀须为2至10位数字：{prefix!r}",
                f"the HS prefix must be 2 to 10 digits: {prefix!r}",
            )
        )
    elif prefix in seen:
        problems.append(
            (
                "hs_prefix",
                f"前缀 {prefix} 与第 {seen[prefix]} 行重复",
                f"prefix {prefix} repeats line {seen[prefix]}",
            )
        )

    rates: dict[str, Decimal | None] = {}
    for column, below_one, upper, required in (
        ("vat_rate", False, Decimal("1"), True),
        ("ct_rate", True, Decimal("1"), False),
        ("mfn_rate", False, Decimal("10"), False),
    ):
        text = cell(column)
        rates[column] = None
        if not text:
            if required:
                problems.append((column, "必填项为空", "required value is empty"))
            continue
        try:
            rates[column] = _rate(text, below_one=below_one, upper=upper)
        except _Bad as error:
            problems.append((column, error.zh, error.en))

    conditions: list[CtCondition] = []
    prices, units = _split(cell("ct_min_unit_price")), _split(cell("ct_price_unit"))
    if len(prices) != len(units):
        problems.append(
            (
                "ct_price_unit",
                "最低单价与计价单位的个数不一致",
                "ct_min_unit_price and ct_price_unit must list the same number of values",
            )
        )
    for price_text, unit_text in zip(prices, units, strict=False):
        unit = _PRICE_UNITS.get(unit_text)
        if unit is None:
            known = ", ".join(_PRICE_UNITS)
            problems.append(
                (
                    "ct_price_unit",
                    f"未知计价单位 {unit_text!r}（可用：{known}）",
                    f"unknown price unit {unit_text!r} (known: {known})",
                )
            )
        try:
            price = _price(price_text)
        except _Bad as error:
            problems.append(("ct_min_unit_price", error.zh, error.en))
            continue
        if unit is not None:
            conditions.append(CtCondition(price, unit))
    ct = rates["ct_rate"] or Decimal("0")
    if prices and ct == 0 and "ct_rate" not in {p[0] for p in problems}:
        problems.append(
            (
                "ct_rate",
                "有消费税起征单价但消费税率为零",
                "a CT price condition is given but the CT rate is zero",
            )
        )

    vat = rates["vat_rate"]
    if problems or vat is None:
        return None, problems
    row = RateRow(
        hs_prefix=prefix,
        vat_rate=vat,
        ct_rate=ct,
        mfn_rate=rates["mfn_rate"],
        ct_conditions=tuple(conditions),
        name_zh=cell("name_zh"),
        name_en=cell("name_en"),
        source=cell("source"),
    )
    return row, problems


def parse_rate_rows(
    rows: Iterable[tuple[int, Sequence[str]]], *, source: str = "<rates>", default: RateRow = DEFAULT_RATE
) -> RateTable:
    """Build a table from (line number, cells) rows, the first non-comment row being the header.

    Every problem is collected and raised together as `RateTableError`, so an operator fixes a file in one
    pass. Checks: known and required columns; prefix of 2–10 digits and not repeated; VAT in [0, 1], CT in
    [0, 1) (the formulas divide by 1 − c), MFN in [0, 10]; CT conditions paired, positive, with a known unit,
    and only where there is a CT rate.
    """
    problems: list[RateProblem] = []
    header: dict[str, int] | None = None
    table: dict[str, RateRow] = {}
    seen: dict[str, int] = {}
    for line, cells in rows:
        if not any(c.strip() for c in cells) or cells[0].lstrip().startswith("#"):
            continue
        if header is None:
            header, found = _header(cells)
            problems.extend(RateProblem(source, line, *p) for p in found)
            if found:
                break
            continue
        row, found = _row(cells, header, seen)
        problems.extend(RateProblem(source, line, *p) for p in found)
        prefix = row.hs_prefix if row is not None else ""
        if row is not None:
            table[prefix] = row
            seen[prefix] = line
        elif not any(p[0] == "hs_prefix" for p in found) and header.get("hs_prefix") is not None:
            # a bad row still claims its prefix, so a later duplicate is reported against it
            index = header["hs_prefix"]
            seen.setdefault(cells[index].strip() if index < len(cells) else "", line)
    if header is None and not problems:
        problems.append(RateProblem(source, 0, "", "文件没有表头", "the file has no header row"))
    if problems:
        raise RateTableError(problems)
    return RateTable(table, default=default, source=source)


def read_rate_csv(text: str, *, source: str = "<csv>", default: RateRow = DEFAULT_RATE) -> RateTable:
    """Parse CSV text (comments start with ``#``); line numbers in errors are the physical lines."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    numbered: list[tuple[int, Sequence[str]]] = []
    start = 1
    try:
        for cells in reader:
            numbered.append((start, cells))
            start = reader.line_num + 1
    except csv.Error as error:
        raise RateTableError(
            [RateProblem(source, start, "", f"CSV 格式错误：{error}", f"bad CSV: {error}")]
        ) from None
    return parse_rate_rows(numbered, source=source, default=default)


def read_rate_xlsx(path: str | Path, *, default: RateRow = DEFAULT_RATE) -> RateTable:
    """Read the first sheet of an XLSX workbook; line numbers in errors are the sheet's row numbers."""
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    source = str(path)
    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        numbered = [
            (index, [_xlsx_text(v) for v in values])
            for index, values in enumerate(sheet.iter_rows(values_only=True), 1)
        ]
    finally:
        workbook.close()
    return parse_rate_rows(numbered, source=source, default=default)


def _xlsx_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        # Excel stores numbers as binary floats; repr gives the shortest text that round-trips (0.13).
        return repr(value)
    return str(value)


def load_rate_table(path: str | Path, *, default: RateRow = DEFAULT_RATE) -> RateTable:
    """An operator's table from a ``.csv`` or ``.xlsx`` file."""
    file = Path(path)
    if file.suffix.lower() in (".xlsx", ".xlsm"):
        return read_rate_xlsx(file, default=default)
    return read_rate_csv(file.read_text(encoding="utf-8-sig"), source=str(file), default=default)


@cache
def default_rate_table() -> RateTable:
    """The SAMPLE table shipped in ``cbec/data/tax_rates.csv`` (an example, not the official tariff)."""
    text = resources.files("cbec").joinpath("data/tax_rates.csv").read_text(encoding="utf-8-sig")
    return read_rate_csv(text, source="cbec/data/tax_rates.csv")
