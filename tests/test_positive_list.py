"""Positive list: loading operator files (CSV/XLSX), remarks → restrictions, versions by date, judging."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl  # type: ignore[import-untyped]
import pytest

from cbec.ceb.examples import Line, Trade, ceb621
from cbec.ceb.model import Node
from cbec.clearance.positive_list import (
    CODE_BAD_DECL_DATE,
    CODE_BAD_GCODE,
    CODE_EXCLUSION,
    CODE_NO_VERSION,
    CODE_NOT_LISTED,
    CODE_PRODUCT_SCOPE,
    CODE_QUANTITY,
    CODE_SAMPLE_LIST,
    CODE_TRADE_MODE,
    CODE_UNMEASURABLE,
    CODE_UNPARSED_REMARK,
    Exclusion,
    PositiveList,
    PositiveListEntry,
    PositiveListLoadError,
    PositiveListVersion,
    ProductScope,
    QuantityLimit,
    TradeModeRestriction,
    UnparsedRemark,
    judge,
    load_positive_list,
    load_sample,
    parse_remark,
    positive_list_from_rows,
    sample_path,
)
from cbec.clearance.reasons import Reason

HEADER = "tariff_line,name,remark,version,effective_date"


def write_csv(tmp_path: Path, text: str, name: str = "list.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def line(gcode: str, *, qty: str = "1", unit: str = "011", kg: str = "1", legal_unit: str = "035") -> Line:
    return Line(
        item_no=f"SKU-{gcode}",
        name="测试商品",
        gcode=gcode,
        gmodel="测试规格",
        qty=Decimal(qty),
        price=Decimal("10.00"),
        unit=unit,
        legal_qty=Decimal(kg),
        legal_unit=legal_unit,
        item_record_no="REC-1",
    )


def inventory(*lines: Line, trade_mode: str = "9610", decl_time: str = "20260315") -> Node:
    node: Node = ceb621(Trade(lines=lines, trade_mode=trade_mode, decl_time=decl_time)).documents[0]
    return node


def one_version(*entries: PositiveListEntry, effective: date = date(2022, 3, 1)) -> PositiveList:
    return PositiveList(
        [PositiveListVersion("2022", effective, {e.tariff_line: e for e in entries}, label="测试 / test")]
    )


def codes(reasons: list[Reason]) -> list[str]:
    return [r.code for r in reasons]


# ---- loading ----------------------------------------------------------------------------------------------


def test_csv_loads_several_versions_with_parsed_remarks(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        f"{HEADER}\n"
        "04090000,天然蜂蜜,,2019,2020-01-01\n"
        "03061490,其他冻蟹,仅限网购保税,2019,2020-01-01\n"
        "04090000,天然蜂蜜,,2022,20220301\n"
        "17019910,砂糖,每人每年限购2千克,2022,2022/3/1\n",
    )
    positive_list = load_positive_list(path)
    assert [v.version for v in positive_list.versions] == ["2019", "2022"]
    v2019, v2022 = positive_list.versions
    assert (v2019.effective, v2022.effective) == (date(2020, 1, 1), date(2022, 3, 1))
    assert len(v2019) == 2 and len(v2022) == 2
    crab = v2019.entries["03061490"]
    assert crab.remark == "仅限网购保税"
    assert crab.restrictions == (TradeModeRestriction(frozenset({"1210"}), "仅限网购保税"),)
    (sugar_limit,) = v2022.entries["17019910"].restrictions
    assert isinstance(sugar_limit, QuantityLimit)
    assert (sugar_limit.max_qty, sugar_limit.unit.code) == (Decimal(2), "035")
    assert v2019.origin == str(path) and not positive_list.sample


def test_xlsx_loads_numeric_codes_and_date_cells(tmp_path: Path) -> None:
    path = tmp_path / "list.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["序号", "税则号列", "货品名称", "备注", "版本", "生效日期", "失效日期"])
    # Excel stores 04090000 as the number 4090000: the leading zero must come back
    sheet.append([1, 4090000, "天然蜂蜜", None, "2022", datetime(2022, 3, 1), None])
    sheet.append([2, "22042100", "葡萄酒", "每人每年限购6升", 2022, datetime(2022, 3, 1), None])
    sheet.append([None, None, None, None, None, None, None])  # blank rows are skipped
    sheet.append([3, "04090000", "天然蜂蜜", None, "2016", "2016-04-08", date(2018, 12, 31)])
    workbook.save(path)

    positive_list = load_positive_list(path)
    v2016, v2022 = positive_list.versions
    assert set(v2022.entries) == {"04090000", "22042100"}
    assert v2016.end == date(2018, 12, 31)
    (wine_limit,) = v2022.entries["22042100"].restrictions
    assert isinstance(wine_limit, QuantityLimit) and wine_limit.unit.zh == "升"


def test_chinese_headers_and_gb18030_csv(tmp_path: Path) -> None:
    text = (
        "序号,税则号列,商品描述,备注,清单版本,生效日期\n"
        "1,04100010,燕窝,列入《进出口野生动植物种商品目录》的商品除外,2016-1,2016年4月8日\n"
    )
    path = write_csv(tmp_path, text, encoding="gb18030")
    (version,) = load_positive_list(path).versions
    entry = version.entries["04100010"]
    assert entry.name == "燕窝" and version.effective == date(2016, 4, 8)
    assert entry.restrictions == (Exclusion("列入《进出口野生动植物种商品目录》的商品除外"),)


def test_bad_rows_are_all_reported_with_row_and_column_and_nothing_loads(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        "# comment line before the header\n"
        f"{HEADER}\n"
        "04090000,天然蜂蜜,,2022,2022-03-01\n"  # row 3: fine
        "0409000,短码,,2022,2022-03-01\n"  # row 4: 7 digits in text
        "04090000,重复,,2022,2022-03-01\n"  # row 5: repeated within 2022
        "04100010,燕窝,,,2022-03-01\n"  # row 6: no version
        "04100010,燕窝,,2022,2022-02-30\n"  # row 7: impossible date
        "04100020,燕窝,,2022,\n",  # row 8: no date
    )
    with pytest.raises(PositiveListLoadError) as caught:
        load_positive_list(path)
    problems = caught.value.problems
    assert [(p.row, p.column) for p in problems] == [
        (4, "tariff_line"),
        (5, "tariff_line"),
        (6, "version"),
        (7, "effective_date"),
        (8, "effective_date"),
    ]
    assert all(p.file == str(path) for p in problems)
    assert "8位数字" in problems[0].zh and "8 digits" in problems[0].en
    assert "重复" in problems[1].zh and "row 3" in problems[1].en
    assert "第7行" in str(caught.value) and "2022-02-30" in str(caught.value)


def test_version_rows_must_agree_and_structured_columns_are_validated() -> None:
    rows = [
        (
            "tariff_line",
            "name",
            "version",
            "effective_date",
            "max_qty_per_person_year",
            "qty_unit",
            "trade_modes",
        ),
        ("04090000", "天然蜂蜜", "2022", "2022-03-01", "", "", ""),
        ("04100010", "燕窝", "2022", "2022-04-01", "", "", ""),  # another effective date for 2022
        ("04100020", "燕窝", "2022", "2022-03-01", "-1", "箱", "9710"),
        ("04100030", "燕窝", "2023", "2022-03-01", "", "", ""),  # same date as version 2022
    ]
    with pytest.raises(PositiveListLoadError) as caught:
        positive_list_from_rows(rows, file="mem.csv")
    assert [(p.row, p.column) for p in caught.value.problems] == [
        (3, "effective_date"),
        (4, "trade_modes"),
        (4, "max_qty_per_person_year"),
        (4, "qty_unit"),
        (5, "effective_date"),
    ]


def test_missing_required_column_is_refused() -> None:
    with pytest.raises(PositiveListLoadError) as caught:
        positive_list_from_rows([("税则号列", "货品名称", "备注"), ("04090000", "天然蜂蜜", "")])
    assert [p.column for p in caught.value.problems] == ["version", "effective_date"]
    assert "版本" in caught.value.problems[0].zh


def test_structured_columns_take_precedence_over_the_remark() -> None:
    rows = [
        ("税则号列", "货品名称", "备注", "版本", "生效日期", "监管方式", "每人每年限量", "限量单位"),
        (
            "17019910",
            "砂糖",
            "仅限网购保税；每人每年限购两袋",
            "2022",
            "2022-03-01",
            "9610,1210",
            "2",
            "千克",
        ),
    ]
    (version,) = positive_list_from_rows(rows).versions
    restrictions = version.entries["17019910"].restrictions
    assert not any(isinstance(r, UnparsedRemark) for r in restrictions)  # the quantity clause is resolved
    (modes,) = [r for r in restrictions if isinstance(r, TradeModeRestriction)]
    assert modes.modes == {"9610", "1210"}
    (limit,) = [r for r in restrictions if isinstance(r, QuantityLimit)]
    assert (limit.max_qty, limit.unit.code) == (Decimal(2), "035")


# ---- remarks ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("remark", "expected"),
    [
        ("", ()),
        ("仅限网购保税", (TradeModeRestriction(frozenset({"1210"}), "仅限网购保税"),)),
        ("依法不属于普通食品的除外", (Exclusion("依法不属于普通食品的除外"),)),
        ("仅限家用打印机墨水", (ProductScope("仅限家用打印机墨水"),)),
        ("每人每次限购3件", (UnparsedRemark("每人每次限购3件", about_quantity=True),)),
        ("请参阅附件", (UnparsedRemark("请参阅附件"),)),
        ("限购3箱", (UnparsedRemark("限购3箱", about_quantity=True),)),
    ],
)
def test_parse_remark_kinds(remark: str, expected: tuple[object, ...]) -> None:
    assert parse_remark(remark) == expected


@pytest.mark.parametrize(
    ("remark", "qty", "unit"),
    [
        ("每人每年限购2千克", "2", "035"),
        ("每人每年不超过20公斤", "20", "035"),
        ("每人每年累计限购500克", "500", "036"),
        ("限购2件/人/年", "2", "011"),
        ("每人每年限购两千克", "2", "035"),
        ("每人每年度最多购买十二件", "12", "011"),
        ("每人每年限购1.5kg", "1.5", "035"),
    ],
)
def test_parse_quantity_limits(remark: str, qty: str, unit: str) -> None:
    (limit,) = parse_remark(remark)
    assert isinstance(limit, QuantityLimit)
    assert (limit.max_qty, limit.unit.code) == (Decimal(qty), unit)


def test_parse_combined_limit_and_several_clauses() -> None:
    restrictions = parse_remark(
        "仅限网购保税；每人每年限购2千克，与17019910、17019920合并计算；双用途物项除外"
    )
    kinds = [type(r) for r in restrictions]
    assert kinds == [TradeModeRestriction, Exclusion, QuantityLimit]
    limit = restrictions[2]
    assert isinstance(limit, QuantityLimit)
    assert limit.combined_with == {"17019910", "17019920"}


# ---- versions by date -------------------------------------------------------------------------------------


def versions() -> PositiveList:
    return PositiveList(
        [
            PositiveListVersion("2019", date(2020, 1, 1), {}),
            PositiveListVersion("2016", date(2016, 4, 8), {}),
            PositiveListVersion("2022", date(2022, 3, 1), {}, end=date(2030, 12, 31)),
        ]
    )


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2016, 4, 7), None),  # before the first version
        (date(2016, 4, 8), "2016"),  # on the effective date
        (date(2019, 12, 31), "2016"),
        (date(2020, 1, 1), "2019"),
        (date(2022, 2, 28), "2019"),  # between versions
        (date(2022, 3, 1), "2022"),
        (date(2030, 12, 31), "2022"),
        (date(2031, 1, 1), None),  # after the last version's end
    ],
)
def test_version_on(day: date, expected: str | None) -> None:
    found = versions().version_on(day)
    assert (found.version if found else None) == expected


def test_duplicate_versions_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        PositiveList(
            [PositiveListVersion("a", date(2020, 1, 1), {}), PositiveListVersion("a", date(2021, 1, 1), {})]
        )


# ---- judging ----------------------------------------------------------------------------------------------

HONEY = PositiveListEntry.create("04090000", "天然蜂蜜")
CRAB = PositiveListEntry.create("03061490", "其他冻蟹", "仅限网购保税")
SUGAR = PositiveListEntry.create("17019910", "砂糖", "每人每年限购2千克")


def test_on_list_passes_and_off_list_is_rejected_at_the_line() -> None:
    positive_list = one_version(HONEY)
    assert judge(inventory(line("0409000000")), positive_list) == []
    reasons = judge(inventory(line("0409000000"), line("9619001100")), positive_list)
    (reason,) = reasons
    assert reason.code == CODE_NOT_LISTED and not reason.warning
    assert reason.path == "InventoryList[2]/gcode"
    assert reason.source == "cbec"
    assert "第2项" in reason.zh and "96190011" in reason.zh and "not on the" in reason.en


def test_malformed_gcode() -> None:
    reasons = judge(inventory(line("04090000")), one_version(HONEY))
    assert codes(reasons) == [CODE_BAD_GCODE]
    assert reasons[0].path == "InventoryList[1]/gcode"


def test_no_version_in_force_and_decl_date_override() -> None:
    positive_list = one_version(HONEY, effective=date(2022, 3, 1))
    reasons = judge(inventory(line("0409000000"), decl_time="20220228"), positive_list)
    assert codes(reasons) == [CODE_NO_VERSION]
    assert "2022-02-28" in reasons[0].zh and reasons[0].path == "InventoryHead/declTime"
    # the caller may give the declaration date explicitly; it wins over declTime
    assert (
        judge(inventory(line("0409000000"), decl_time="20220228"), positive_list, decl_date=date(2022, 3, 1))
        == []
    )


def test_bad_decl_time() -> None:
    reasons = judge(inventory(line("0409000000"), decl_time="2022031"), one_version(HONEY))
    assert codes(reasons) == [CODE_BAD_DECL_DATE]


def test_bonded_only_goods_under_9610_and_1210() -> None:
    positive_list = one_version(CRAB)
    reasons = judge(inventory(line("0306149000"), trade_mode="9610"), positive_list)
    assert codes(reasons) == [CODE_TRADE_MODE]
    assert not reasons[0].warning and "仅限网购保税" in reasons[0].zh and "9610" in reasons[0].en
    assert judge(inventory(line("0306149000"), trade_mode="1210"), positive_list) == []


@pytest.mark.parametrize(
    ("already", "this_list", "rejected"),
    [("0", "1.5", False), ("0.5", "1.5", False), ("0.5", "1.6", True), ("2", "0.001", True)],
)
def test_annual_quantity_limit_below_at_over(already: str, this_list: str, rejected: bool) -> None:
    reasons = judge(
        inventory(line("1701991000", kg=this_list)),
        one_version(SUGAR),
        annual_quantities={"17019910": Decimal(already)},
    )
    assert codes(reasons) == ([CODE_QUANTITY] if rejected else [])
    if rejected:
        assert reasons[0].path == "InventoryList[1]/qty1"
        assert "每人每年限购2千克" in reasons[0].zh


def test_quantity_summed_over_lines_and_converted_from_grams() -> None:
    # line 2 declares its legal quantity in 克 (code 036): 1.2 kg + 700 g = 1.9 kg passes the 2 kg limit …
    under = (line("1701991000", kg="1.2"), line("1701991000", kg="700", legal_unit="036"))
    assert judge(inventory(*under), one_version(SUGAR)) == []
    # … and 1.2 kg + 900 g = 2.1 kg does not
    over = (line("1701991000", kg="1.2"), line("1701991000", kg="900", legal_unit="036"))
    reasons = judge(inventory(*over), one_version(SUGAR))
    assert codes(reasons) == [CODE_QUANTITY]
    assert reasons[0].path == "InventoryList[2]/qty1"  # the line that crossed the limit
    assert "2.1千克" in reasons[0].zh


def test_combined_limit_counts_the_other_tariff_line() -> None:
    white = PositiveListEntry.create("17019910", "白砂糖", "每人每年限购2千克，与17019920合并计算")
    brown = PositiveListEntry.create("17019920", "红糖", "每人每年限购2千克，与17019910合并计算")
    positive_list = one_version(white, brown)
    single = judge(inventory(line("1701992000", kg="1")), positive_list, annual_quantities={"17019910": 1})
    assert single == []
    over = judge(inventory(line("1701992000", kg="1.5")), positive_list, annual_quantities={"17019910": 1})
    assert codes(over) == [CODE_QUANTITY]


def test_quantity_that_cannot_be_measured_is_a_warning() -> None:
    reasons = judge(inventory(line("1701991000", unit="011", legal_unit="007")), one_version(SUGAR))
    assert codes(reasons) == [CODE_UNMEASURABLE] and reasons[0].warning


def test_unparsable_exclusion_and_scope_remarks_are_warnings() -> None:
    odd = PositiveListEntry.create("04100010", "燕窝", "每人每次限购3件")
    wild = PositiveListEntry.create("04079090", "其他蛋", "列入《进出口野生动植物种商品目录》的商品除外")
    ink = PositiveListEntry.create("32151900", "其他印刷油墨", "仅限家用打印机墨水")
    reasons = judge(
        inventory(line("0410001000"), line("0407909000"), line("3215190000")), one_version(odd, wild, ink)
    )
    assert codes(reasons) == [CODE_UNPARSED_REMARK, CODE_EXCLUSION, CODE_PRODUCT_SCOPE]
    assert all(r.warning for r in reasons)
    assert [r.path for r in reasons] == [f"InventoryList[{n}]/gcode" for n in (1, 2, 3)]
    assert "每人每次限购3件" in reasons[0].zh and "人工" in reasons[1].zh


# ---- the shipped sample -----------------------------------------------------------------------------------


def test_sample_loads_and_is_labelled_as_a_sample() -> None:
    sample = load_sample()
    assert sample.sample
    assert [v.version for v in sample.versions] == ["2016-1", "2016-2", "2019", "2022"]
    for version in sample.versions:
        assert version.sample and "sample" in version.label and "示例" in version.label
    assert "非官方" in sample_path().read_text(encoding="utf-8").splitlines()[0]
    v2016 = sample.version_on(date(2016, 5, 1))
    assert v2016 is not None and v2016.version == "2016-2"
    assert "04090000" in v2016.entries and "02101900" in v2016.entries  # both 2016 batches
    assert sample.version_on(date(2019, 6, 1)) is None  # the 2018 list is not in the sample
    assert "93070090" not in sample.version("2022").entries  # deleted in the 2022 adjustment


def test_judging_against_the_sample_says_so() -> None:
    reasons = judge(inventory(line("0409000000"), decl_time="20170101"), load_sample())
    assert codes(reasons) == [CODE_SAMPLE_LIST]
    assert reasons[0].warning and "示例" in reasons[0].zh
