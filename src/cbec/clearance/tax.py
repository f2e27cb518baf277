"""Retail-import tax (跨境电商综合税) of one declaration list: a pure function from list and rates to a bill.

Steps, each from policy.md §1:

1. Completed tax price P = Σ line ``totalPrice`` + ``freight`` + ``insuredFee`` (完税价格 = 实际交易价格,
   货物零售价格 + 运费 + 保险费; 财关税〔2016〕18号), rounded to the fen.
2. P is allocated over the lines in proportion to their ``totalPrice`` (`allocate`), so every line carries its
   share of freight and insurance and the line tax prices add up to P exactly.
3. Per line, with v = VAT rate, c = CT rate (0 when the row's price condition is not met), d = MFN duty:

   - ``retail`` (within the limits, §1.3): duty 0; CT = taxPrice/(1−c)·c·70 %; VAT = taxPrice/(1−c)·v·70 %.
   - ``full`` (one item over 5,000 CNY, 财关税〔2018〕49号 §2): duty = taxPrice·d;
     CT = (taxPrice + duty)/(1−c)·c; VAT = (taxPrice + duty + CT)·v, using the duty and CT as levied
     (already rounded), since each later tax is computed on the amounts actually charged.

4. Each tax of each line is rounded to the fen, half up; the bill's totals are the sums of its lines
   (ARCHITECTURE.md "Money is Decimal"), so the CEB816 head always equals the sum of its TaxListRd rows.

Nothing here guesses: a full-path line without an MFN rate gives a reason and no bill. A result with an
error reason (`TaxResult.ok` is False) is not a bill and must not be sent as a CEB816.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from typing import Literal

from cbec.ceb.model import Message, Node, Value
from cbec.clearance.rates import PRICE_UNIT_NAMES, RateRow, RateTable, price_per_unit
from cbec.clearance.reasons import Reason

__all__ = [
    "RETAIL_TAX_FACTOR",
    "LineTax",
    "TaxInput",
    "TaxInputError",
    "TaxLine",
    "TaxPath",
    "TaxResult",
    "allocate",
    "composite_rate",
    "compute_tax",
    "ct_applies",
    "money",
    "tax_input",
]

TaxPath = Literal["retail", "full"]

RETAIL_TAX_FACTOR = Decimal("0.7")
"""Within the limits VAT and CT are levied at 70 % of the statutory amount (18号, policy.md §1.2)."""

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

# Our reason codes for the tax rule (the cbec 9000 range, see reasons.py): 94xx.
CODE_ZERO_PRICE = "9401"
CODE_BAD_AMOUNT = "9402"
CODE_NO_MFN = "9403"
CODE_CT_UNMEASURED = "9404"
CODE_ZERO_LINE = "9405"
CODE_NO_LINES = "9406"


def money(value: Decimal) -> Decimal:
    """Round to the fen, half up: how customs rounds each tax (ARCHITECTURE.md)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class TaxLine:
    """What tax needs from one list line (InventoryList): code, value and the quantities with unit codes."""

    gnum: int
    gcode: str
    total_price: Decimal
    qty: Decimal | None = None
    unit: str | None = None
    #: legal (法定) quantity and unit: the preferred measure for CT price conditions
    qty1: Decimal | None = None
    unit1: str | None = None
    qty2: Decimal | None = None
    unit2: str | None = None

    @property
    def quantities(self) -> tuple[tuple[Decimal | None, str | None], ...]:
        """(quantity, unit code) pairs in the order CT price conditions read them: legal, second, declared."""
        return ((self.qty1, self.unit1), (self.qty2, self.unit2), (self.qty, self.unit))


@dataclass(frozen=True, slots=True)
class TaxInput:
    """The taxable content of a list: its lines plus the freight and insurance of the whole parcel."""

    lines: tuple[TaxLine, ...]
    freight: Decimal = ZERO
    insured_fee: Decimal = ZERO

    @property
    def goods_value(self) -> Decimal:
        return sum((line.total_price for line in self.lines), ZERO)

    @property
    def tax_price(self) -> Decimal:
        """P = goods + freight + insurance, to the fen (完税价格, 18号)."""
        return money(self.goods_value + self.freight + self.insured_fee)


class TaxInputError(ValueError):
    """The list cannot be read as tax input; `reasons` say which fields and why."""

    def __init__(self, reasons: Sequence[Reason]) -> None:
        self.reasons = tuple(reasons)
        super().__init__("; ".join(r.en for r in self.reasons))


@dataclass(frozen=True, slots=True)
class LineTax:
    """One line of the bill; `values()` are the CEB816 TaxListRd fields."""

    gnum: int
    gcode: str
    tax_price: Decimal
    customs_tax: Decimal
    value_added_tax: Decimal
    consumption_tax: Decimal
    #: the rate row used (the table's default when no prefix matched)
    rate: RateRow
    #: False when the row has a CT rate but the line's price is below its threshold
    ct_applied: bool

    @property
    def total(self) -> Decimal:
        return self.customs_tax + self.value_added_tax + self.consumption_tax

    def values(self) -> dict[str, Value]:
        """TaxListRd fields, by their official names."""
        return {
            "gnum": self.gnum,
            "gcode": self.gcode,
            "taxPrice": self.tax_price,
            "customsTax": self.customs_tax,
            "valueAddedTax": self.value_added_tax,
            "consumptionTax": self.consumption_tax,
        }


@dataclass(frozen=True, slots=True)
class TaxResult:
    """The bill of one list, or the reasons there is none. Totals are sums of the rounded line taxes."""

    path: TaxPath
    #: P, the completed tax price of the whole list
    tax_price: Decimal
    lines: tuple[LineTax, ...]
    reasons: tuple[Reason, ...] = ()

    @property
    def customs_tax(self) -> Decimal:
        return sum((line.customs_tax for line in self.lines), ZERO)

    @property
    def value_added_tax(self) -> Decimal:
        return sum((line.value_added_tax for line in self.lines), ZERO)

    @property
    def consumption_tax(self) -> Decimal:
        return sum((line.consumption_tax for line in self.lines), ZERO)

    @property
    def total(self) -> Decimal:
        return self.customs_tax + self.value_added_tax + self.consumption_tax

    @property
    def ok(self) -> bool:
        """True when no reason is an error (warnings allow the bill)."""
        return not any(not r.warning for r in self.reasons)

    def head_values(self) -> dict[str, Value]:
        """The CEB816 TaxHeadRd amounts, by their official names."""
        return {
            "customsTax": self.customs_tax,
            "valueAddedTax": self.value_added_tax,
            "consumptionTax": self.consumption_tax,
        }

    def list_values(self) -> list[dict[str, Value]]:
        """One TaxListRd field dict per line, in line order."""
        return [line.values() for line in self.lines]


# ---- reading a CEB621 Inventory ---------------------------------------------------------------------------


def _amount(
    node: Node, name: str, path: str, problems: list[Reason], *, required: bool = True
) -> Decimal | None:
    value = node.values.get(name)
    if value is None or value == "":
        if required:
            problems.append(
                Reason(
                    CODE_BAD_AMOUNT,
                    "tax.input",
                    f"计税需要的{name}为空",
                    f"{name} is needed for the tax but is empty",
                    path=path,
                )
            )
        return None
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount < 0:
        problems.append(
            Reason(
                CODE_BAD_AMOUNT,
                "tax.input",
                f"{name}不是有效的非负数：{str(value)[:30]!r}",
                f"{name} is not a valid non-negative number: {str(value)[:30]!r}",
                path=path,
            )
        )
        return None
    return amount


def _text(node: Node, name: str) -> str | None:
    value = node.values.get(name)
    return None if value is None or value == "" else str(value).strip()


def tax_input(inventory: Node) -> TaxInput:
    """The tax input of a CEB621 Inventory (or a CEB621 message holding one); TaxInputError if unreadable."""
    if isinstance(inventory, Message):
        documents = inventory.documents
        if len(documents) != 1:
            raise ValueError(f"expected one Inventory in the message, found {len(documents)}")
        inventory = documents[0]
    if inventory.spec.name != "Inventory":
        raise ValueError(f"expected an Inventory node, got {inventory.spec.name}")
    problems: list[Reason] = []
    head = inventory.child("InventoryHead")
    freight = insured = ZERO
    if head is None:
        problems.append(
            Reason(CODE_BAD_AMOUNT, "tax.input", "清单没有表头", "the list has no head", path="Inventory")
        )
    else:
        freight = _amount(head, "freight", "Inventory/InventoryHead/freight", problems) or ZERO
        insured = _amount(head, "insuredFee", "Inventory/InventoryHead/insuredFee", problems) or ZERO
    lines: list[TaxLine] = []
    for index, node in enumerate(inventory.children.get("InventoryList", []), 1):
        path = f"Inventory/InventoryList[{index}]"
        total = _amount(node, "totalPrice", f"{path}/totalPrice", problems)
        gcode = _text(node, "gcode")
        if gcode is None:
            problems.append(
                Reason(
                    CODE_BAD_AMOUNT,
                    "tax.input",
                    "商品编码为空，无法确定税率",
                    "gcode is empty, so no rate can be found",
                    path=f"{path}/gcode",
                )
            )
        gnum = node.values.get("gnum")
        if total is None or gcode is None:
            continue
        lines.append(
            TaxLine(
                gnum=gnum if isinstance(gnum, int) else index,
                gcode=gcode,
                total_price=total,
                qty=_amount(node, "qty", f"{path}/qty", problems, required=False),
                unit=_text(node, "unit"),
                qty1=_amount(node, "qty1", f"{path}/qty1", problems, required=False),
                unit1=_text(node, "unit1"),
                qty2=_amount(node, "qty2", f"{path}/qty2", problems, required=False),
                unit2=_text(node, "unit2"),
            )
        )
    if problems:
        raise TaxInputError(problems)
    return TaxInput(tuple(lines), freight=freight, insured_fee=insured)


# ---- allocation and per-line tax -------------------------------------------------------------------------


def allocate(total: Decimal, weights: Sequence[Decimal]) -> tuple[Decimal, ...]:
    """Split `total` (rounded to the fen first) over `weights` in proportion, to the fen, summing exactly.

    Largest-remainder method in exact integer arithmetic: every share is first rounded down to the fen, then
    the fen still missing go one each to the shares with the largest remainders, ties to the earlier line.
    So each share is ≥ 0, within one fen of its exact proportion, and the shares add up to `total`.
    All-zero weights split equally. Used for P over the lines (freight and insurance follow the goods value).
    """
    if not weights:
        if total != 0:
            raise ValueError("cannot allocate a non-zero amount over no lines")
        return ()
    if total < 0 or any(not w.is_finite() or w < 0 for w in weights):
        raise ValueError("allocation needs a non-negative total and non-negative finite weights")
    fen = int(money(total).scaleb(2))
    with localcontext() as ctx:
        ctx.prec = 60
        places = max(0, *(-int(w.as_tuple().exponent) for w in weights))
        scaled = [int((w.scaleb(places)).to_integral_value()) for w in weights]
    if sum(scaled) == 0:
        scaled = [1] * len(weights)
    whole = sum(scaled)
    shares = [fen * w // whole for w in scaled]
    remainders = [fen * w % whole for w in scaled]
    missing = fen - sum(shares)
    for index in sorted(range(len(scaled)), key=lambda i: (-remainders[i], i))[:missing]:
        shares[index] += 1
    return tuple(Decimal(share).scaleb(-2) for share in shares)


def ct_applies(row: RateRow, tax_price: Decimal, line: TaxLine) -> bool | None:
    """Whether the row's CT is due on this line: True/False, or None when no condition can be measured.

    The first condition (in row order) that the line's quantities can express decides: the line's tax
    price per unit (per ml/g, per 片/张, per article) against the minimum (财税〔2016〕103号: the import
    (完税) price excluding VAT; policy.md §1.5). A row without conditions always applies its CT.
    """
    if row.ct_rate == 0:
        return False
    if not row.ct_conditions:
        return True
    for condition in row.ct_conditions:
        unit_price = price_per_unit(tax_price, condition.unit, line.quantities)
        if unit_price is not None:
            return unit_price >= condition.min_unit_price
    return None


def composite_rate(row: RateRow, factor: Decimal = RETAIL_TAX_FACTOR) -> Decimal:
    """The retail composite rate (c + v)/(1 − c)·70 % (policy.md §1.3): 9.1 % for general goods."""
    return (row.ct_rate + row.vat_rate) / (1 - row.ct_rate) * factor


def _taxes(
    tax_price: Decimal, row: RateRow, path: TaxPath, ct_on: bool, factor: Decimal
) -> tuple[Decimal, Decimal, Decimal]:
    c = row.ct_rate if ct_on else Decimal("0")
    v = row.vat_rate
    with localcontext() as ctx:
        ctx.prec = 40
        if path == "retail":
            base = tax_price / (1 - c)
            return ZERO, money(base * c * factor), money(base * v * factor)
        assert row.mfn_rate is not None
        duty = money(tax_price * row.mfn_rate)
        ct = money((tax_price + duty) / (1 - c) * c)
        vat = money((tax_price + duty + ct) * v)
        return duty, ct, vat


def compute_tax(
    source: Node | TaxInput,
    rates: RateTable,
    path: TaxPath = "retail",
    *,
    retail_factor: Decimal = RETAIL_TAX_FACTOR,
) -> TaxResult:
    """The tax bill of a list (Inventory node or `TaxInput`) on the given path; see the module docstring."""
    if path not in ("retail", "full"):
        raise ValueError(f"unknown tax path {path!r}")
    if isinstance(source, Node):
        try:
            source = tax_input(source)
        except TaxInputError as error:
            return TaxResult(path, ZERO, (), error.reasons)
    reasons: list[Reason] = []
    tax_price = source.tax_price
    if not source.lines:
        reasons.append(
            Reason(
                CODE_NO_LINES,
                "tax.lines",
                "清单没有商品项，无法计税",
                "the list has no lines to tax",
                path="Inventory/InventoryList",
            )
        )
        return TaxResult(path, tax_price, (), tuple(reasons))
    if source.goods_value == 0:
        reasons.append(
            Reason(
                CODE_ZERO_PRICE,
                "tax.zero_price",
                "订单价格原则上不能为零（清单商品总价为0）",
                "the order price should in principle not be zero (the list's goods total is 0)",
                path="Inventory/InventoryList",
            )
        )
    else:
        for index, line in enumerate(source.lines, 1):
            if line.total_price == 0:
                reasons.append(
                    Reason(
                        CODE_ZERO_LINE,
                        "tax.zero_price",
                        f"商品项[{line.gnum}]总价为零：订单价格原则上不能为零",
                        f"line {line.gnum} has a zero total price: "
                        "the order price should in principle not be zero",
                        path=f"Inventory/InventoryList[{index}]/totalPrice",
                        warning=True,
                    )
                )

    shares = allocate(tax_price, [line.total_price for line in source.lines])
    rows = [rates.lookup(line.gcode) for line in source.lines]
    if path == "full":
        missing = [
            (i, line)
            for i, (line, row) in enumerate(zip(source.lines, rows, strict=True), 1)
            if row.mfn_rate is None
        ]
        for index, line in missing:
            reasons.append(
                Reason(
                    CODE_NO_MFN,
                    "tax.mfn",
                    f"商品项[{line.gnum}]税号[{line.gcode}]在税率表中没有最惠国税率，无法按货物税率全额计税",
                    f"line {line.gnum} (HS {line.gcode}) has no MFN duty rate in the rate table; "
                    "the full tax cannot be computed",
                    path=f"Inventory/InventoryList[{index}]/gcode",
                )
            )
        if missing:
            return TaxResult(path, tax_price, (), tuple(reasons))

    lines: list[LineTax] = []
    for index, (line, row, share) in enumerate(zip(source.lines, rows, shares, strict=True), 1):
        applies = ct_applies(row, share, line)
        if applies is None:
            names = "、".join(PRICE_UNIT_NAMES[c.unit][0] for c in row.ct_conditions)
            names_en = " / ".join(PRICE_UNIT_NAMES[c.unit][1] for c in row.ct_conditions)
            reasons.append(
                Reason(
                    CODE_CT_UNMEASURED,
                    "tax.ct_condition",
                    f"商品项[{line.gnum}]的数量单位无法换算为每{names}单价，按应税消费品计征消费税",
                    f"line {line.gnum}: no quantity is in a unit that gives a price per {names_en}; "
                    "consumption tax is charged",
                    path=f"Inventory/InventoryList[{index}]/unit1",
                    warning=True,
                )
            )
            applies = True
        duty, ct, vat = _taxes(share, row, path, applies, retail_factor)
        lines.append(LineTax(line.gnum, line.gcode, share, duty, vat, ct, row, applies and row.ct_rate > 0))
    return TaxResult(path, tax_price, tuple(lines), tuple(reasons))
