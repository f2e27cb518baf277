"""The retail-import positive list (跨境电子商务零售进口商品清单): versions, loading, remarks, judging.

Only goods whose 8-digit tariff line (税则号列) is on the version of the list in force on the declaration
date may be imported as cross-border retail. The list changes by announcement (2016, 2018, 2019, 2022 …),
so a `PositiveList` holds several `PositiveListVersion`s and picks one by date. The official list is not
shipped with cbec: operators load it from CSV or XLSX (`load_positive_list`); the bundled file is a small
labelled sample (`load_sample`) for demos and tests.

The 备注 (remark) column is parsed into structured restrictions (`parse_remark`) because customs enforces
some of them mechanically (仅限网购保税, per-person annual quantities) and leaves others to a reviewer
(…除外 exclusions, product-name scopes). A remark the parser does not understand is never ignored: it
becomes a warning on the list line.

Accepted column headers (case and spaces ignored; each column at most once):

=========================  ===================================================  ========
column                     headers                                              required
=========================  ===================================================  ========
tariff line                tariff_line, hs_code, 税则号列, 税号                 yes
name                       name, name_zh, 货品名称, 中文货品名称, 商品描述,    yes
                           商品名称
remark                     remark, remarks, 备注                                no
version                    version, list_version, 版本, 清单版本                yes
effective date             effective_date, effective, 生效日期, 实施日期        yes
end date                   end_date, 失效日期, 截止日期                         no
trade modes                trade_modes, 监管方式                                no
annual quantity limit      max_qty_per_person_year, 每人每年限量                no
unit of that limit         qty_unit, 限量单位                                   no
label of the version       label, 标注                                          no
source of the row          source, 来源                                         no
free note                  note, 说明                                           no
=========================  ===================================================  ========

Other columns (序号 …) are ignored. Lines starting with ``#`` before the header are comments. Dates are
``YYYY-MM-DD``, ``YYYYMMDD``, ``YYYY/M/D`` or ``YYYY年M月D日`` (or real date cells in XLSX). The
structured columns take precedence over what the remark says about the same thing.

Codes: customs has no published error code for "goods not on the list" on a CEB621 (the nearest,
-625007 表体第[*]项商品未备案, is for return applications and means a different register), so every finding
here uses cbec codes 9301-9311 with ``source="cbec"``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import TypeAlias

from cbec.ceb.model import Node
from cbec.clearance.reasons import Reason

RULE = "positive_list"

#: cbec codes (no official code exists for these checks; see the module docstring)
CODE_NOT_LISTED = "9301"
CODE_BAD_GCODE = "9302"
CODE_NO_VERSION = "9303"
CODE_TRADE_MODE = "9304"
CODE_QUANTITY = "9305"
CODE_EXCLUSION = "9306"
CODE_PRODUCT_SCOPE = "9307"
CODE_UNPARSED_REMARK = "9308"
CODE_UNMEASURABLE = "9309"
CODE_BAD_DECL_DATE = "9310"
CODE_SAMPLE_LIST = "9311"

IMPORT_TRADE_MODES: Mapping[str, tuple[str, str]] = {
    "9610": ("直购进口", "direct-purchase import"),
    "1210": ("网购保税进口", "bonded import"),
}

SAMPLE_LABEL = "示例，非官方清单 / sample, not the official list"
_SAMPLE_RESOURCE = "positive-list-sample.csv"


# ---- units ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Unit:
    """A unit a quantity limit can be stated in: its JGS-20 code, dimension and size in the base unit."""

    code: str
    zh: str
    dimension: str  # mass | volume | count
    #: size in the dimension's base unit (千克, 升, or the unit itself for counts)
    factor: Decimal


_UNIT_LIST = (
    Unit("035", "千克", "mass", Decimal(1)),
    Unit("036", "克", "mass", Decimal("0.001")),
    Unit("070", "吨", "mass", Decimal(1000)),
    Unit("095", "升", "volume", Decimal(1)),
    Unit("096", "毫升", "volume", Decimal("0.001")),
    Unit("011", "件", "count-件", Decimal(1)),
    Unit("007", "个", "count-个", Decimal(1)),
)
#: units by JGS-20 code; only the ones a limit can be converted between are listed
UNITS_BY_CODE: Mapping[str, Unit] = {unit.code: unit for unit in _UNIT_LIST}
_UNIT_NAMES: Mapping[str, str] = {
    "千克": "035",
    "公斤": "035",
    "kg": "035",
    "克": "036",
    "g": "036",
    "吨": "070",
    "t": "070",
    "升": "095",
    "l": "095",
    "毫升": "096",
    "ml": "096",
    "件": "011",
    "个": "007",
}


def unit_of(text: str) -> Unit | None:
    """The unit named by `text`: a JGS-20 code (``035``) or a name (千克, 公斤, kg, 件 …); None if unknown."""
    key = text.strip()
    if key in UNITS_BY_CODE:
        return UNITS_BY_CODE[key]
    code = _UNIT_NAMES.get(key.lower())
    return UNITS_BY_CODE[code] if code else None


# ---- remarks → restrictions -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TradeModeRestriction:
    """Only these supervision modes may import the goods (仅限网购保税 → {'1210'})."""

    modes: frozenset[str]
    text: str


@dataclass(frozen=True, slots=True)
class QuantityLimit:
    """At most `max_qty` `unit` per buyer per calendar year, counted over this line and `combined_with`."""

    max_qty: Decimal
    unit: Unit
    text: str
    #: other tariff lines counted together with this one (合并数量限制)
    combined_with: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Exclusion:
    """ "…除外": some goods of the line are excluded; customs decides case by case, so a reviewer sees it."""

    text: str


@dataclass(frozen=True, slots=True)
class ProductScope:
    """ "仅限…": only a named product of the tariff line is allowed; needs a reviewer's eye on the goods."""

    text: str


@dataclass(frozen=True, slots=True)
class UnparsedRemark:
    """Remark text the parser could not turn into a rule; reported as a warning instead of being dropped."""

    text: str
    #: it reads like a quantity rule (so a structured quantity column resolves it)
    about_quantity: bool = False


Restriction: TypeAlias = TradeModeRestriction | QuantityLimit | Exclusion | ProductScope | UnparsedRemark

_NUMBER = r"(?P<num>\d+(?:\.\d+)?|[零一二两三四五六七八九十百]+)"
_UNIT = r"(?P<unit>千克|公斤|毫升|克|吨|升|件|个|kg|ml|g|l)(?![a-z])"
_PER_PERSON_YEAR = r"(?:每人每年度?|每年每人|每人年度|个人年度|个人每年)"
_LIMIT_VERB = r"(?:限购|限量|限|最多(?:购买)?|不得?超过|≤|<=)"
_QTY_WHO_FIRST = re.compile(
    _PER_PERSON_YEAR + r"[^，,；;。]{0,8}?" + _LIMIT_VERB + r"\s*(?:购买)?\s*" + _NUMBER + r"\s*" + _UNIT,
    re.IGNORECASE,
)
_QTY_WHO_LAST = re.compile(
    _LIMIT_VERB
    + r"\s*"
    + _NUMBER
    + r"\s*"
    + _UNIT
    + r"\s*[（(]?\s*(?:"
    + _PER_PERSON_YEAR
    + r"|/人/年|/人·年|每人/年)\s*[)）]?",
    re.IGNORECASE,
)
_COMBINED = re.compile(
    r"(?:与|和)(?:税则号列|税号)?\s*(?P<codes>\d{8}(?:\s*[、,，/和及]\s*\d{8})*)\s*(?:项下|的)?(?:商品)?"
    r"\s*合并(?:计算|限量|限购|计)?"
)
_TRADE_MODE_1210 = re.compile(r"(?:仅|只)?限(?:于)?(?:跨境电商)?网购保税(?:进口|模式)?")
_CLAUSE_SPLIT = re.compile(r"[；;。\n]+")
_FILLER = re.compile(r"[\s，,、：:（）()．.“”\"'\[\]]+")
#: residue that still reads like a quantity rule: its keywords, or a number followed by a measure word
_QUANTITY_HINT = re.compile(
    r"限购|限量|数量|每人|每年|合并"
    r"|(?:\d|[一二两三四五六七八九十])\s*(?:千克|公斤|毫升|克|吨|升|件|个|瓶|罐|袋|箱|盒|包|支|片|套|只|kg|g|ml|l)",
    re.IGNORECASE,
)
_CN_DIGITS = {
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}


def _chinese_number(text: str) -> Decimal | None:
    """一…九百九十九 written in Chinese numerals (两 = 2); None when it is not such a number."""
    total, digit = 0, None
    for char in text:
        if char in _CN_DIGITS:
            if digit is not None:
                return None
            digit = _CN_DIGITS[char]
        elif char in ("十", "百"):
            scale = 10 if char == "十" else 100
            total += (1 if digit is None else digit) * scale
            digit = None
        else:
            return None
    return Decimal(total + (digit or 0))


def _number(text: str) -> Decimal | None:
    if text[0].isdigit():
        return Decimal(text)
    return _chinese_number(text)


def parse_remark(text: str) -> tuple[Restriction, ...]:
    """Structured restrictions read from one 备注 text. Never loses text: what is not understood comes back
    as `UnparsedRemark`, exclusions as `Exclusion`, name scopes as `ProductScope`."""
    found: list[Restriction] = []
    combined: set[str] = set()
    limits: list[QuantityLimit] = []
    for clause in (c.strip() for c in _CLAUSE_SPLIT.split(text or "")):
        if not _FILLER.sub("", clause):
            continue
        rest = clause
        for match in _TRADE_MODE_1210.finditer(clause):
            found.append(TradeModeRestriction(frozenset({"1210"}), match.group(0)))
        rest = _TRADE_MODE_1210.sub(" ", rest)
        for pattern in (_QTY_WHO_FIRST, _QTY_WHO_LAST):
            for match in pattern.finditer(rest):
                qty = _number(match.group("num"))
                unit = unit_of(match.group("unit"))
                if qty is None or unit is None or qty <= 0:
                    continue  # left in the residue, reported as unparsed
                limits.append(QuantityLimit(qty, unit, match.group(0).strip()))
                rest = rest.replace(match.group(0), " ", 1)
        for match in _COMBINED.finditer(rest):
            combined.update(re.findall(r"\d{8}", match.group("codes")))
        rest = _COMBINED.sub(" ", rest)
        residue = _FILLER.sub("", rest)
        if not residue:
            continue
        if "除外" in clause:
            found.append(Exclusion(clause))
        elif residue.startswith(("仅限", "只限", "限于")):
            found.append(ProductScope(clause))
        else:
            found.append(UnparsedRemark(clause, bool(_QUANTITY_HINT.search(residue))))
    if combined and not limits:
        found.append(UnparsedRemark(text.strip(), about_quantity=True))
    found.extend(replace(limit, combined_with=frozenset(combined)) for limit in limits)
    return tuple(found)


# ---- model ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PositiveListEntry:
    """One 8-digit tariff line of a list version, with its remark as written and as parsed."""

    tariff_line: str
    name: str
    remark: str = ""
    restrictions: tuple[Restriction, ...] = ()
    source: str = ""
    note: str = ""

    @classmethod
    def create(cls, tariff_line: str, name: str, remark: str = "", **more: str) -> PositiveListEntry:
        """An entry whose restrictions are parsed from `remark` (for code that builds lists by hand)."""
        return cls(tariff_line, name, remark, parse_remark(remark), **more)


@dataclass(frozen=True)
class PositiveListVersion:
    """One announced version of the list: in force from `effective` until the next version (or `end`)."""

    version: str
    effective: date
    entries: Mapping[str, PositiveListEntry]
    end: date | None = None
    #: provenance shown to people, e.g. "示例，非官方清单 / sample, not the official list"
    label: str = ""
    #: where it was loaded from (file path)
    origin: str = ""
    #: an example list: decisions judged against it are flagged, never mistaken for official ones
    sample: bool = False

    def __len__(self) -> int:
        return len(self.entries)

    def __bool__(self) -> bool:
        # a version with no entries is still a version (``if list.version_on(d):`` must not lie)
        return True

    def in_force_on(self, day: date) -> bool:
        return self.effective <= day and (self.end is None or day <= self.end)

    def entry_for(self, gcode: str) -> PositiveListEntry | None:
        """The entry covering a 10-digit goods code (its first 8 digits are the tariff line)."""
        return self.entries.get(gcode[:8])


class PositiveList:
    """All known versions of the list; `version_on` answers which one governs a declaration date."""

    def __init__(self, versions: Iterable[PositiveListVersion]) -> None:
        ordered = sorted(versions, key=lambda v: v.effective)
        ids = [v.version for v in ordered]
        if len(set(ids)) != len(ids):
            raise ValueError(f"正面清单版本号重复 / duplicate positive-list version ids: {ids}")
        dates = [v.effective for v in ordered]
        if len(set(dates)) != len(dates):
            raise ValueError("两个版本生效日期相同 / two versions share an effective date")
        self.versions: tuple[PositiveListVersion, ...] = tuple(ordered)

    def __repr__(self) -> str:
        return f"<PositiveList {', '.join(f'{v.version}@{v.effective}' for v in self.versions)}>"

    def version(self, version_id: str) -> PositiveListVersion:
        for version in self.versions:
            if version.version == version_id:
                return version
        raise KeyError(version_id)

    def version_on(self, day: date) -> PositiveListVersion | None:
        """The version with the latest effective date ≤ `day`; None before the first or after its end."""
        current = None
        for version in self.versions:
            if version.effective <= day:
                current = version
        if current is None or (current.end is not None and day > current.end):
            return None
        return current

    @property
    def sample(self) -> bool:
        return any(v.sample for v in self.versions)


# ---- loading ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RowProblem:
    """One bad cell or row of a list file: where it is, and what is wrong in Chinese and English."""

    file: str
    row: int
    column: str
    zh: str
    en: str

    def __str__(self) -> str:
        where = f"{self.file} 第{self.row}行" + (f" [{self.column}]" if self.column else "")
        return f"{where}: {self.zh} / {self.en}"


class PositiveListLoadError(ValueError):
    """The file was refused as a whole; `problems` lists every bad row, so one fix round is enough."""

    def __init__(self, problems: Sequence[RowProblem]) -> None:
        self.problems: tuple[RowProblem, ...] = tuple(problems)
        lines = "\n".join(str(p) for p in self.problems)
        super().__init__(
            f"正面清单未加载，共{len(self.problems)}处错误 / "
            f"positive list not loaded, {len(self.problems)} problem(s):\n{lines}"
        )


#: canonical column → accepted headers (compared lower-case without spaces)
HEADER_ALIASES: Mapping[str, tuple[str, ...]] = {
    "tariff_line": ("tariff_line", "hs_code", "税则号列", "税号"),
    "name": ("name", "name_zh", "货品名称", "中文货品名称", "商品描述", "商品名称"),
    "remark": ("remark", "remarks", "备注"),
    "version": ("version", "list_version", "版本", "清单版本"),
    "effective_date": ("effective_date", "effective", "生效日期", "实施日期"),
    "end_date": ("end_date", "失效日期", "截止日期"),
    "trade_modes": ("trade_modes", "监管方式"),
    "max_qty_per_person_year": ("max_qty_per_person_year", "每人每年限量"),
    "qty_unit": ("qty_unit", "限量单位"),
    "label": ("label", "标注"),
    "source": ("source", "来源"),
    "note": ("note", "说明"),
}
REQUIRED_COLUMNS = ("tariff_line", "name", "version", "effective_date")
_HEADER_LOOKUP = {alias: key for key, aliases in HEADER_ALIASES.items() for alias in aliases}

Cell: TypeAlias = object
#: collects one problem: (row, column, zh, en)
_Bad: TypeAlias = Callable[[int, str, str, str], None]


def _header_key(cell: Cell) -> str:
    return re.sub(r"\s+", "", _text(cell)).lstrip("\ufeff").lower()


def _text(cell: Cell) -> str:
    """A cell as text: numbers without a spurious '.0', dates as ISO, None as ''."""
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, datetime):
        return cell.date().isoformat()
    return str(cell).strip()


_DATE_PATTERNS = (
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"),
    re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})"),
    re.compile(r"(\d{4})\.(\d{1,2})\.(\d{1,2})"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
)


def parse_date(cell: Cell) -> date | None:
    """A date from a cell (date object or one of the accepted text forms); None when it is not one."""
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    text = _text(cell)
    for pattern in _DATE_PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            try:
                return date(*(int(g) for g in match.groups()))
            except ValueError:
                return None
    return None


def _tariff_line(cell: Cell) -> str | None:
    """An 8-digit tariff line. A numeric XLSX cell of 7 digits lost its leading zero (chapters 01-09)."""
    if isinstance(cell, bool):
        return None
    if isinstance(cell, int | float) and float(cell).is_integer() and 0 < cell < 10**8:
        return f"{int(cell):08d}"
    text = _text(cell)
    return text if re.fullmatch(r"\d{8}", text) else None


def _decimal(cell: Cell) -> Decimal | None:
    text = _text(cell)
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() and value > 0 else None


@dataclass
class _VersionDraft:
    first_row: int
    effective: date
    end: date | None
    label: str
    entries: dict[str, PositiveListEntry] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)


def positive_list_from_rows(
    rows: Iterable[Sequence[Cell]], *, file: str = "<rows>", sample: bool = False, label: str = ""
) -> PositiveList:
    """Build a `PositiveList` from table rows (header first; row numbers count from 1, as a spreadsheet
    shows them). Pure: file reading is `read_table`. Raises `PositiveListLoadError` with every problem."""
    problems: list[RowProblem] = []

    def bad(row: int, column: str, zh: str, en: str) -> None:
        problems.append(RowProblem(file, row, column, zh, en))

    columns: dict[str, int] = {}
    headers: dict[str, str] = {}
    drafts: dict[str, _VersionDraft] = {}
    header_row = 0
    for number, row in enumerate(rows, 1):
        cells = list(row)
        if not any(_text(c) for c in cells):
            continue
        if not header_row:
            if _text(cells[0]).startswith("#"):
                continue
            header_row = number
            for index, cell in enumerate(cells):
                key = _HEADER_LOOKUP.get(_header_key(cell))
                if key is None:
                    continue
                if key in columns:
                    bad(number, _text(cell), "列重复", f"column {key} appears twice")
                columns[key] = index
                headers[key] = _text(cell)
            missing = [k for k in REQUIRED_COLUMNS if k not in columns]
            for key in missing:
                accepted = ", ".join(HEADER_ALIASES[key])
                bad(
                    number,
                    key,
                    f"缺少必需的列（可用表头：{accepted}）",
                    f"missing column (headers: {accepted})",
                )
            if missing:
                break
            continue
        _read_row(number, cells, columns, headers, drafts, bad)
    if not header_row:
        bad(0, "", "文件没有表头和数据", "the file has no header and no rows")
    elif not drafts and not problems:
        bad(header_row, "", "文件没有数据行", "the file has no data rows")
    by_date: dict[date, str] = {}
    for version_id, draft in drafts.items():
        if draft.effective in by_date:
            bad(
                draft.first_row,
                headers["effective_date"],
                f"版本{version_id}与版本{by_date[draft.effective]}生效日期相同",
                f"version {version_id} has the same effective date as version {by_date[draft.effective]}",
            )
        by_date[draft.effective] = version_id
    if problems:
        raise PositiveListLoadError(problems)
    return PositiveList(
        PositiveListVersion(
            version=version_id,
            effective=draft.effective,
            entries=draft.entries,
            end=draft.end,
            label=draft.label or label,
            origin=file,
            sample=sample,
        )
        for version_id, draft in drafts.items()
    )


def _read_row(
    number: int,
    cells: list[Cell],
    columns: Mapping[str, int],
    headers: Mapping[str, str],
    drafts: dict[str, _VersionDraft],
    bad: _Bad,
) -> None:
    """Validate one data row and add it to its version draft; every problem goes to `bad`."""

    def cell(key: str) -> Cell:
        index = columns.get(key)
        return cells[index] if index is not None and index < len(cells) else None

    def col(key: str) -> str:
        return headers.get(key, key)

    ok = True
    tariff_line = _tariff_line(cell("tariff_line"))
    if tariff_line is None:
        ok = False
        bad(
            number,
            col("tariff_line"),
            f"税则号列[{_text(cell('tariff_line'))}]应为8位数字",
            f"tariff line {_text(cell('tariff_line'))!r} must be 8 digits",
        )
    name = _text(cell("name"))
    if not name:
        ok = False
        bad(number, col("name"), "货品名称为空", "the name is empty")
    version_id = _text(cell("version"))
    if not version_id:
        ok = False
        bad(number, col("version"), "版本为空", "the version is empty")
    effective_raw = cell("effective_date")
    effective = parse_date(effective_raw)
    if effective is None:
        ok = False
        if _text(effective_raw):
            bad(
                number,
                col("effective_date"),
                f"生效日期[{_text(effective_raw)}]不是有效日期",
                f"effective date {_text(effective_raw)!r} is not a valid date",
            )
        else:
            bad(number, col("effective_date"), "生效日期为空", "the effective date is empty")
    end_raw = cell("end_date")
    end = parse_date(end_raw) if _text(end_raw) else None
    if _text(end_raw) and end is None:
        ok = False
        bad(
            number,
            col("end_date"),
            f"失效日期[{_text(end_raw)}]不是有效日期",
            f"end date {_text(end_raw)!r} is not a valid date",
        )
    elif end is not None and effective is not None and end < effective:
        ok = False
        bad(number, col("end_date"), "失效日期早于生效日期", "the end date is before the effective date")

    remark = _text(cell("remark"))
    restrictions = list(parse_remark(remark))
    modes_text = _text(cell("trade_modes"))
    if modes_text:
        modes = frozenset(m for m in re.split(r"[\s,，;；、|/]+", modes_text) if m)
        unknown = sorted(m for m in modes if m not in IMPORT_TRADE_MODES)
        if unknown:
            ok = False
            bad(
                number,
                col("trade_modes"),
                f"监管方式{unknown}不是进口监管方式（9610、1210）",
                f"trade modes {unknown} are not import modes (9610, 1210)",
            )
        restrictions = [r for r in restrictions if not isinstance(r, TradeModeRestriction)]
        restrictions.append(TradeModeRestriction(modes, f"{col('trade_modes')}={modes_text}"))
    qty_text, unit_text = _text(cell("max_qty_per_person_year")), _text(cell("qty_unit"))
    if qty_text or unit_text:
        max_qty, unit = _decimal(cell("max_qty_per_person_year")), unit_of(unit_text)
        if max_qty is None:
            ok = False
            bad(
                number,
                col("max_qty_per_person_year"),
                f"每人每年限量[{qty_text}]应为正数",
                f"annual quantity limit {qty_text!r} must be a positive number",
            )
        if unit is None:
            ok = False
            known = "、".join(_UNIT_NAMES)
            bad(
                number,
                col("qty_unit"),
                f"限量单位[{unit_text}]无法识别（可用：{known}或其代码）",
                f"quantity unit {unit_text!r} is not known (use {known} or their JGS-20 codes)",
            )
        if max_qty is not None and unit is not None:
            combined = frozenset[str]().union(
                *(r.combined_with for r in restrictions if isinstance(r, QuantityLimit))
            )
            restrictions = [
                r
                for r in restrictions
                if not isinstance(r, QuantityLimit)
                and not (isinstance(r, UnparsedRemark) and r.about_quantity)
            ]
            restrictions.append(
                QuantityLimit(
                    max_qty, unit, f"{col('max_qty_per_person_year')}={qty_text}{unit.zh}", combined
                )
            )
    label = _text(cell("label"))
    if not version_id or effective is None:
        return
    draft = drafts.get(version_id)
    if draft is None:
        draft = drafts[version_id] = _VersionDraft(number, effective, end, label)
    else:
        for key, mine, theirs in (
            ("effective_date", effective, draft.effective),
            ("end_date", end, draft.end),
            ("label", label, draft.label),
        ):
            if mine != theirs:
                ok = False
                bad(
                    number,
                    col(key),
                    f"同一版本{version_id}的{col(key)}与第{draft.first_row}行不一致",
                    f"{key} differs from row {draft.first_row} of the same version {version_id}",
                )
    if tariff_line is not None and tariff_line in draft.rows:
        ok = False
        bad(
            number,
            col("tariff_line"),
            f"税则号列{tariff_line}在版本{version_id}中重复（第{draft.rows[tariff_line]}行）",
            f"tariff line {tariff_line} is repeated in version {version_id} (row {draft.rows[tariff_line]})",
        )
    if ok and tariff_line is not None:
        draft.rows[tariff_line] = number
        draft.entries[tariff_line] = PositiveListEntry(
            tariff_line,
            name,
            remark,
            tuple(restrictions),
            source=_text(cell("source")),
            note=_text(cell("note")),
        )


def read_table(path: str | Path, *, sheet: str | None = None) -> list[tuple[Cell, ...]]:
    """The rows of a CSV (UTF-8, or GB18030 as saved by Chinese Excel) or XLSX file, cells as found."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        import openpyxl  # type: ignore[import-untyped]

        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            worksheet = workbook[sheet] if sheet else workbook.worksheets[0]
            return [tuple(row) for row in worksheet.iter_rows(values_only=True)]
        finally:
            workbook.close()
    if suffix != ".csv":
        raise PositiveListLoadError(
            [RowProblem(str(path), 0, "", "只支持CSV和XLSX文件", "only CSV and XLSX files are supported")]
        )
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes almost anything
        raise PositiveListLoadError(
            [RowProblem(str(path), 0, "", "文件编码无法识别", "the file is neither UTF-8 nor GB18030")]
        )
    return [tuple(row) for row in csv.reader(io.StringIO(text, newline=""))]


def load_positive_list(
    path: str | Path, *, sheet: str | None = None, sample: bool = False, label: str = ""
) -> PositiveList:
    """Load an operator's list file (CSV or XLSX, one or several versions); all or nothing."""
    return positive_list_from_rows(read_table(path, sheet=sheet), file=str(path), sample=sample, label=label)


def sample_path() -> Path:
    """Where the bundled sample file is."""
    return Path(str(resources.files("cbec") / "data" / _SAMPLE_RESOURCE))


def load_sample() -> PositiveList:
    """The bundled SAMPLE list: a few dozen rows of the 2016-2022 lists, for demos and tests only.

    It is not the official list (about 1,400 tariff lines) and must not clear real goods: operators load
    the real list with `load_positive_list`. Every version is marked ``sample=True`` and labelled so.
    """
    return load_positive_list(sample_path(), sample=True, label=SAMPLE_LABEL)


# ---- judging ----------------------------------------------------------------------------------------------


def _num(value: Decimal) -> str:
    """A decimal as people write it: no exponent, no trailing zeros."""
    text = f"{value.normalize():f}"
    return text


def _qty_in(line: Node, unit: Unit) -> tuple[Decimal, str] | None:
    """The line's quantity in `unit` (from qty/unit, qty1/unit1 or qty2/unit2, converting within a
    dimension) and the field it came from; None when no declared quantity is in a compatible unit."""
    for qty_field, unit_field in (("qty", "unit"), ("qty1", "unit1"), ("qty2", "unit2")):
        declared = UNITS_BY_CODE.get(str(line.values.get(unit_field, "")))
        qty = line.values.get(qty_field)
        if declared is None or declared.dimension != unit.dimension:
            continue
        if isinstance(qty, int | Decimal) and not isinstance(qty, bool):
            return Decimal(qty) * declared.factor / unit.factor, qty_field
    return None


#: public name for the unit conversion, used when counting a buyer's earlier lists
quantity_in = _qty_in


def _decl_date(head: Node | None) -> date | None:
    raw = head.values.get("declTime") if head is not None else None
    text = str(raw) if raw is not None else ""
    if not re.fullmatch(r"\d{8}", text):
        return None
    return parse_date(text)


def judge(
    inventory: Node,
    positive_list: PositiveList,
    *,
    decl_date: date | None = None,
    annual_quantities: Mapping[str, Decimal | int] | None = None,
) -> list[Reason]:
    """Every finding of the positive list on one CEB621 `Inventory` (rejections, then reviewer warnings).

    `decl_date` defaults to the head's ``declTime``. `annual_quantities` maps an 8-digit tariff line to
    what the buyer already bought this calendar year, in the unit of that line's quantity limit.
    """
    reasons: list[Reason] = []
    head = inventory.child("InventoryHead")
    lines = inventory.children.get("InventoryList", [])
    day = decl_date if decl_date is not None else _decl_date(head)
    if day is None:
        raw = head.values.get("declTime", "") if head is not None else ""
        return [
            Reason(
                CODE_BAD_DECL_DATE,
                RULE,
                f"申报日期[{raw}]无效，无法确定适用的正面清单版本",
                f"declTime {raw!r} is not a valid YYYYMMDD date, so no positive-list version can be chosen",
                path="InventoryHead/declTime",
            )
        ]

    valid: list[tuple[int, Node, str, str]] = []  # (position, line, gnum, gcode)
    for position, line in enumerate(lines, 1):
        gnum = str(line.values.get("gnum", position))
        gcode = str(line.values.get("gcode", ""))
        if re.fullmatch(r"\d{10}", gcode):
            valid.append((position, line, gnum, gcode))
        else:
            reasons.append(
                Reason(
                    CODE_BAD_GCODE,
                    RULE,
                    f"表体第{gnum}项商品编码[{gcode}]应为10位数字",
                    f"line {gnum}: goods code {gcode!r} must be 10 digits",
                    path=f"InventoryList[{position}]/gcode",
                )
            )

    version = positive_list.version_on(day)
    if version is None:
        reasons.append(
            Reason(
                CODE_NO_VERSION,
                RULE,
                f"申报日期{day.isoformat()}没有生效的跨境电子商务零售进口商品清单版本",
                f"no version of the retail-import positive list is in force on {day.isoformat()}",
                path="InventoryHead/declTime",
            )
        )
        return reasons

    mode = str(head.values.get("tradeMode", "")) if head is not None else ""
    used = annual_quantities or {}
    listed: list[tuple[int, Node, str, PositiveListEntry]] = []
    warnings: list[Reason] = []
    for position, line, gnum, gcode in valid:
        entry = version.entry_for(gcode)
        if entry is None:
            reasons.append(
                Reason(
                    CODE_NOT_LISTED,
                    RULE,
                    f"表体第{gnum}项商品编码[{gcode}]（税则号列{gcode[:8]}）不在跨境电子商务零售进口商品清单"
                    f"（{version.version}版）内",
                    f"line {gnum}: goods code {gcode} (tariff line {gcode[:8]}) is not on the retail-import "
                    f"positive list (version {version.version}); customs publishes no code for this, "
                    "the code is cbec's",
                    path=f"InventoryList[{position}]/gcode",
                )
            )
            continue
        listed.append((position, line, gnum, entry))
        for restriction in entry.restrictions:
            finding = _restriction_reason(restriction, entry, position, gnum, mode)
            if finding is not None:
                (warnings if finding.warning else reasons).append(finding)

    reasons.extend(_quantity_reasons(listed, used, warnings))
    if version.sample:
        warnings.append(
            Reason(
                CODE_SAMPLE_LIST,
                RULE,
                f"依据的是示例清单（{version.version}版，{version.label}），不是官方正面清单",
                f"judged against a sample list (version {version.version}, {version.label}), "
                "not the official positive list",
                warning=True,
            )
        )
    return reasons + warnings


def _restriction_reason(
    restriction: Restriction, entry: PositiveListEntry, position: int, gnum: str, mode: str
) -> Reason | None:
    """The finding one non-quantity restriction gives on one line (quantities are summed separately)."""
    where = f"表体第{gnum}项商品（税则号列{entry.tariff_line}）"
    where_en = f"line {gnum} (tariff line {entry.tariff_line})"
    path = f"InventoryList[{position}]/gcode"
    if isinstance(restriction, TradeModeRestriction):
        if mode in restriction.modes:
            return None
        allowed = "、".join(sorted(restriction.modes))
        allowed_en = ", ".join(
            f"{m} {IMPORT_TRADE_MODES.get(m, ('', m))[1]}" for m in sorted(restriction.modes)
        )
        declared = mode or "空"
        return Reason(
            CODE_TRADE_MODE,
            RULE,
            f"{where}按清单备注“{restriction.text}”仅限监管方式{allowed}，本清单监管方式为{declared}",
            f"{where_en}: the list remark {restriction.text!r} allows only {allowed_en}; "
            f"this list is declared under {mode or '(empty)'}",
            path=path,
        )
    if isinstance(restriction, Exclusion):
        return Reason(
            CODE_EXCLUSION,
            RULE,
            f"{where}清单备注“{restriction.text}”：除外商品由海关人工判定，请核实",
            f"{where_en}: list remark {restriction.text!r} excludes some goods; customs decides by hand",
            path=path,
            warning=True,
        )
    if isinstance(restriction, ProductScope):
        return Reason(
            CODE_PRODUCT_SCOPE,
            RULE,
            f"{where}清单备注“{restriction.text}”限定了商品范围，请人工核实",
            f"{where_en}: list remark {restriction.text!r} allows only named goods; a reviewer checks them",
            path=path,
            warning=True,
        )
    if isinstance(restriction, UnparsedRemark):
        return Reason(
            CODE_UNPARSED_REMARK,
            RULE,
            f"{where}清单备注“{restriction.text}”无法自动解析，请人工审核",
            f"{where_en}: list remark {restriction.text!r} could not be read automatically; review it",
            path=path,
            warning=True,
        )
    return None


def _quantity_reasons(
    listed: Sequence[tuple[int, Node, str, PositiveListEntry]],
    used: Mapping[str, Decimal | int],
    warnings: list[Reason],
) -> list[Reason]:
    """Per-person annual limits: year-to-date plus this list, per limit (combined lines share one)."""
    reasons: list[Reason] = []
    limits: dict[tuple[frozenset[str], Decimal, str], QuantityLimit] = {}
    for _, _, _, entry in listed:
        for r in entry.restrictions:
            if isinstance(r, QuantityLimit):
                group = frozenset({entry.tariff_line}) | r.combined_with
                limits.setdefault((group, r.max_qty * r.unit.factor, r.unit.dimension), r)
    for (group, _, _), limit in limits.items():
        unit = limit.unit
        before = sum((Decimal(used.get(t, 0)) for t in sorted(group)), Decimal(0))
        total = before
        over: Reason | None = None
        for position, line, gnum, entry in listed:
            if entry.tariff_line not in group:
                continue
            measured = _qty_in(line, unit)
            if measured is None:
                warnings.append(
                    Reason(
                        CODE_UNMEASURABLE,
                        RULE,
                        f"表体第{gnum}项数量无法换算为限量单位{unit.zh}，无法核对每人每年限量，请人工审核",
                        f"line {gnum}: no declared quantity converts to {unit.zh} ({unit.code}), so the "
                        "annual per-person limit cannot be checked; review it",
                        path=f"InventoryList[{position}]/qty",
                        warning=True,
                    )
                )
                continue
            qty, qty_field = measured
            total += qty
            if over is None and total > limit.max_qty:
                lines_zh = "、".join(sorted(group))
                over = Reason(
                    CODE_QUANTITY,
                    RULE,
                    f"表体第{gnum}项商品（税则号列{lines_zh}）每人每年限购{_num(limit.max_qty)}{unit.zh}，"
                    f"订购人本年已购{_num(before)}{unit.zh}，连同本清单合计{_num(total)}{unit.zh}，超过限量",
                    f"line {gnum} (tariff line {', '.join(sorted(group))}): at most "
                    f"{_num(limit.max_qty)} {unit.zh} per person per year; the buyer already bought "
                    f"{_num(before)}, with this list {_num(total)}, over the limit",
                    path=f"InventoryList[{position}]/{qty_field}",
                )
        if over is not None:
            reasons.append(over)
    return reasons
