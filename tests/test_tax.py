"""Retail-import tax and the rate table: the worked examples of policy.md §1.3–1.5 are tests, to the fen."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cbec.ceb.examples import Line, Trade, ceb621
from cbec.ceb.model import Node, new_message
from cbec.clearance.rates import (
    DEFAULT_RATE,
    RateRow,
    RateTable,
    RateTableError,
    default_rate_table,
    load_rate_table,
    read_rate_csv,
)
from cbec.clearance.tax import (
    TaxInput,
    TaxLine,
    allocate,
    composite_rate,
    compute_tax,
    tax_input,
)

D = Decimal
RATES = default_rate_table()


def inventory(*lines: Line, freight: str = "0", insured: str = "0") -> Node:
    """The Inventory node of a valid CEB621 list with these lines."""
    trade = Trade(lines=lines, freight=D(freight), insured_fee=D(insured))
    return ceb621(trade).documents[0]


def line(
    gcode: str,
    price: str,
    *,
    qty: str = "1",
    unit: str = "011",
    legal_qty: Decimal = Decimal("1"),
    legal_unit: str = "035",
) -> Line:
    return Line(
        item_no=f"SKU-{gcode}",
        name="测试商品",
        gcode=gcode,
        gmodel="规格",
        qty=D(qty),
        price=D(price),
        unit=unit,
        legal_qty=legal_qty,
        legal_unit=legal_unit,
    )


GENERAL = "9503000000"  # toys: VAT 13 %, no CT
CREAM = "3304990099"  # high-end cosmetics: CT 15 % from 10 CNY per ml/g
WINE = "2204210000"  # wine: CT 10 %, MFN 14 %
BOOK = "4901990000"  # books: VAT 9 %
WATCH = "9102110000"  # watches: CT 20 % from 10,000 CNY per watch


# ---- the worked examples (policy.md §1.3, §1.5) ------------------------------------------------------------


def test_general_goods_1000_pays_91() -> None:
    result = compute_tax(inventory(line(GENERAL, "1000")), RATES)
    assert result.ok
    assert (result.customs_tax, result.consumption_tax, result.value_added_tax) == (
        D("0"),
        D("0"),
        D("91.00"),
    )
    assert result.total == D("91.00")


def test_high_end_cream_1000_pays_230_59() -> None:
    # 1,000 CNY for 50 g: 20 CNY per g, above the 10 CNY/g threshold of 财税〔2016〕103号
    result = compute_tax(inventory(line(CREAM, "1000", legal_qty=D("0.05"), legal_unit="035")), RATES)
    assert result.ok
    assert result.consumption_tax == D("123.53")
    assert result.value_added_tax == D("107.06")
    assert result.total == D("230.59")
    assert result.lines[0].ct_applied


def test_wine_1000_retail_178_89_and_general_trade_431_34() -> None:
    node = inventory(line(WINE, "1000", unit="142", legal_qty=D("0.75"), legal_unit="095"))
    retail = compute_tax(node, RATES, "retail")
    assert (retail.customs_tax, retail.consumption_tax, retail.value_added_tax) == (
        D("0"),
        D("77.78"),
        D("101.11"),
    )
    assert retail.total == D("178.89")
    full = compute_tax(node, RATES, "full")
    assert full.ok
    assert (full.customs_tax, full.consumption_tax, full.value_added_tax) == (
        D("140.00"),
        D("126.67"),
        D("164.67"),
    )
    assert full.total == D("431.34")


def test_nine_percent_vat_goods_pay_6_3_percent() -> None:
    row = RATES.lookup(BOOK)
    assert row.vat_rate == D("0.09")
    assert composite_rate(row) == D("0.063")
    assert compute_tax(inventory(line(BOOK, "1000")), RATES).total == D("63.00")


@pytest.mark.parametrize(
    ("vat", "ct", "composite"),
    [
        ("0.13", "0", "0.0910"),
        ("0.09", "0", "0.0630"),
        ("0.13", "0.15", "0.2306"),
        ("0.13", "0.10", "0.1789"),
        ("0.13", "0.20", "0.2888"),  # 28.875 %
    ],
)
def test_composite_rates_of_policy_table(vat: str, ct: str, composite: str) -> None:
    row = RateRow("99", D(vat), D(ct))
    assert composite_rate(row).quantize(D("0.0001")) == D(composite)


# ---- CT price conditions -----------------------------------------------------------------------------------


def test_cosmetics_below_the_price_threshold_pay_no_ct() -> None:
    # 1,000 CNY for 500 g is 2 CNY per g: ordinary cosmetics, VAT only
    result = compute_tax(inventory(line(CREAM, "1000", legal_qty=D("0.5"), legal_unit="035")), RATES)
    assert result.ok
    assert result.consumption_tax == D("0")
    assert result.value_added_tax == D("91.00")
    assert not result.lines[0].ct_applied
    assert result.lines[0].rate.hs_prefix == "3304"


def test_cosmetics_exactly_at_the_threshold_pay_ct() -> None:
    # 500 CNY for 50 ml: 10 CNY per ml, "10元/毫升(克)及以上"
    result = compute_tax(inventory(line(CREAM, "500", legal_qty=D("50"), legal_unit="096")), RATES)
    assert result.lines[0].ct_applied
    assert result.consumption_tax > 0


def test_masks_are_measured_per_piece() -> None:
    cheap = inventory(line(CREAM, "10", qty="10", unit="020", legal_qty=D("0.25"), legal_unit="035"))
    dear = inventory(line(CREAM, "20", qty="10", unit="020", legal_qty=D("0.25"), legal_unit="035"))
    assert not compute_tax(cheap, RATES).lines[0].ct_applied  # 10 CNY per 片 < 15
    assert compute_tax(dear, RATES).lines[0].ct_applied  # 20 CNY per 片


def test_unmeasurable_ct_condition_charges_ct_with_a_warning() -> None:
    result = compute_tax(inventory(line(CREAM, "1000", legal_qty=D("2"), legal_unit="140")), RATES)
    assert result.ok
    assert result.lines[0].ct_applied
    assert [r.code for r in result.reasons] == ["9404"]
    assert result.reasons[0].warning


def test_watch_threshold_and_full_path() -> None:
    cheap = compute_tax(inventory(line(WATCH, "9999", unit="008", legal_unit="008")), RATES)
    assert not cheap.lines[0].ct_applied
    assert cheap.total == D("909.91")
    dear = compute_tax(inventory(line(WATCH, "12000", unit="008", legal_unit="008")), RATES, "full")
    # duty 10 % (example MFN) 1,200; CT (12,000 + 1,200)/0.8 × 20 % = 3,300; VAT 16,500 × 13 % = 2,145
    assert (dear.customs_tax, dear.consumption_tax, dear.value_added_tax) == (
        D("1200.00"),
        D("3300.00"),
        D("2145.00"),
    )


# ---- allocation and rounding -------------------------------------------------------------------------------


def test_freight_and_insurance_are_allocated_by_value() -> None:
    node = inventory(line(GENERAL, "100"), line(GENERAL, "200"), freight="10", insured="0.01")
    result = compute_tax(node, RATES)
    assert result.tax_price == D("310.01")
    assert [x.tax_price for x in result.lines] == [D("103.34"), D("206.67")]
    assert sum(x.tax_price for x in result.lines) == result.tax_price


def test_allocation_largest_remainder_ties_go_to_the_earlier_line() -> None:
    assert allocate(D("1.00"), [D("1"), D("1"), D("1")]) == (D("0.34"), D("0.33"), D("0.33"))
    assert allocate(D("0.02"), [D("1"), D("1"), D("1")]) == (D("0.01"), D("0.01"), D("0.00"))
    assert allocate(D("5.00"), [D("0"), D("0")]) == (D("2.50"), D("2.50"))
    assert allocate(D("0"), []) == ()


amounts = st.decimals(min_value=0, max_value=100_000, places=2, allow_nan=False, allow_infinity=False)
wire_amounts = st.decimals(min_value=0, max_value=100_000, places=5, allow_nan=False, allow_infinity=False)


@given(st.lists(wire_amounts, min_size=1, max_size=20), amounts, amounts)
def test_allocated_tax_prices_sum_exactly_to_p(
    totals: list[Decimal], freight: Decimal, insured: Decimal
) -> None:
    lines = tuple(TaxLine(i, GENERAL, total) for i, total in enumerate(totals, 1))
    source = TaxInput(lines, freight=freight, insured_fee=insured)
    result = compute_tax(source, RATES)
    prices = [x.tax_price for x in result.lines]
    assert sum(prices) == result.tax_price == source.tax_price
    assert all(p >= 0 and p == p.quantize(D("0.01")) for p in prices)
    weight = sum(totals)
    if weight:
        for total, price in zip(totals, prices, strict=True):
            assert abs(price - source.tax_price * total / weight) < D("0.01")
    assert result.total == sum(x.total for x in result.lines)


def test_each_line_is_rounded_then_summed() -> None:
    # 10.05 × 9.1 % = 0.91455 per line: rounded lines 0.91 + 0.91 = 1.82; the unrounded sum would give 1.83
    result = compute_tax(inventory(line(GENERAL, "10.05"), line(GENERAL, "10.05")), RATES)
    assert [x.value_added_tax for x in result.lines] == [D("0.91"), D("0.91")]
    assert result.value_added_tax == D("1.82")
    assert (D("20.10") * D("0.091")).quantize(D("0.01")) == D("1.83")


# ---- errors and the CEB816 mapping -------------------------------------------------------------------------


def test_zero_price_order_is_an_error() -> None:
    result = compute_tax(inventory(line(GENERAL, "0"), freight="10"), RATES)
    assert not result.ok
    assert result.reasons[0].code == "9401"
    assert "订单价格原则上不能为零" in result.reasons[0].zh


def test_zero_price_line_is_a_warning() -> None:
    result = compute_tax(inventory(line(GENERAL, "100"), line(GENERAL, "0")), RATES)
    assert result.ok
    assert [r.code for r in result.reasons] == ["9405"]


def test_full_path_without_mfn_reports_instead_of_guessing() -> None:
    result = compute_tax(inventory(line("8517130000", "6000")), RATES, "full")
    assert RATES.lookup("8517130000") is RATES.default
    assert not result.ok
    assert result.lines == ()
    assert result.reasons[0].code == "9403"
    assert "8517130000" in result.reasons[0].zh
    # the retail path can still use the default VAT 13 %
    assert compute_tax(inventory(line("8517130000", "1000")), RATES).total == D("91.00")


def test_unreadable_amount_gives_a_reason_with_the_field_path() -> None:
    node = inventory(line(GENERAL, "100"))
    node.children["InventoryList"][0].values["totalPrice"] = "12,5"
    result = compute_tax(node, RATES)
    assert not result.ok
    assert result.reasons[0].path == "Inventory/InventoryList[1]/totalPrice"
    with pytest.raises(ValueError):
        tax_input(node)


def test_default_trade_bill_maps_to_ceb816_fields() -> None:
    message = ceb621(Trade())
    result = compute_tax(message, RATES)
    assert result.ok
    assert result.tax_price == D("466.00")  # 99 × 2 + 258 + freight 10
    tax816 = new_message("CEB816").add("Tax")
    head = tax816.add("TaxHeadRd", **result.head_values())  # refuses any name the spec does not have
    for values in result.list_values():
        tax816.add("TaxListRd", **values)
    assert head.valueAddedTax == sum(x.valueAddedTax for x in tax816.TaxListRd)
    assert sum(x.taxPrice for x in tax816.TaxListRd) == result.tax_price


# ---- the rate table ----------------------------------------------------------------------------------------


def test_longest_prefix_wins_and_default_applies() -> None:
    table = read_rate_csv(
        "hs_prefix,vat_rate,ct_rate,mfn_rate\n22,13%,0,\n2204,13%,10%,14%\n220421,0.13,0.1,0.2\n"
    )
    assert table.lookup("2204210000").hs_prefix == "220421"
    assert table.lookup("2204290000").hs_prefix == "2204"
    assert table.lookup("2208000000").hs_prefix == "22"
    assert table.lookup("0101") is DEFAULT_RATE
    assert DEFAULT_RATE.vat_rate == D("0.13") and DEFAULT_RATE.ct_rate == 0 and DEFAULT_RATE.mfn_rate is None


def test_shipped_table_is_labelled_a_sample() -> None:
    text = (Path(__file__).parents[1] / "src/cbec/data/tax_rates.csv").read_text(encoding="utf-8")
    assert "SAMPLE" in text and "示例" in text
    assert len(RATES) >= 10
    assert RATES.lookup(CREAM).ct_rate == D("0.15")


def test_bad_rows_give_file_line_and_column_in_both_languages() -> None:
    text = (
        "# comment line\n"
        "hs_prefix,vat_rate,ct_rate,ct_min_unit_price,ct_price_unit,mfn_rate\n"
        "3304,13%,15%,10,ml_g,\n"
        "33A4,13%,0,,,\n"  # line 4: bad prefix
        "9102,13%,120%,,,\n"  # line 5: CT ≥ 100 %
        "3304,13%,0,,,\n"  # line 6: duplicate prefix
        "2204,,10%,,,abc\n"  # line 7: empty VAT, bad MFN
        "9101,13%,20%,10000|5,each,\n"  # line 8: unpaired condition
        "9103,13%,20%,10000,per_box,\n"  # line 9: unknown unit
    )
    with pytest.raises(RateTableError) as caught:
        read_rate_csv(text, source="my_rates.csv")
    found = {(p.line, p.column) for p in caught.value.problems}
    assert found == {
        (4, "hs_prefix"),
        (5, "ct_rate"),
        (6, "hs_prefix"),
        (7, "vat_rate"),
        (7, "mfn_rate"),
        (8, "ct_price_unit"),
        (9, "ct_price_unit"),
    }
    message = str(caught.value)
    assert "my_rates.csv:4 [hs_prefix]" in message
    assert "税率表" in message and "rate table" in message
    assert all(p.zh and p.en and p.file == "my_rates.csv" for p in caught.value.problems)


def test_bad_header_is_reported() -> None:
    with pytest.raises(RateTableError) as caught:
        read_rate_csv("hs_prefix,vat,ct_rate\n2204,13%,10%\n", source="x.csv")
    assert {(p.line, p.column) for p in caught.value.problems} == {(1, "vat"), (1, "vat_rate")}


def test_operator_tables_load_from_csv_and_xlsx(tmp_path: Path) -> None:
    from openpyxl import Workbook  # type: ignore[import-untyped]

    csv_file = tmp_path / "rates.csv"
    csv_file.write_text(
        "\ufeffhs_prefix,vat_rate,ct_rate,mfn_rate,name_zh\n2204,13%,10%,14%,葡萄酒\n", "utf-8"
    )
    assert load_rate_table(csv_file).lookup(WINE).mfn_rate == D("0.14")

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["# operator table"])
    sheet.append(["hs_prefix", "vat_rate", "ct_rate", "mfn_rate"])
    sheet.append(["2204", 0.13, 0.1, 0.14])
    sheet.append(["22x", 0.13, 0, None])
    xlsx_file = tmp_path / "rates.xlsx"
    workbook.save(xlsx_file)
    with pytest.raises(RateTableError) as caught:
        load_rate_table(xlsx_file)
    assert [(p.line, p.column) for p in caught.value.problems] == [(4, "hs_prefix")]
    sheet.delete_rows(4)
    workbook.save(xlsx_file)
    table = load_rate_table(xlsx_file)
    assert isinstance(table, RateTable)
    assert table.lookup(WINE).ct_rate == D("0.1")
