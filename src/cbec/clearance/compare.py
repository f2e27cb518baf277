"""三单对碰: the declaration list (CEB621) against the order (CEB311), payment (CEB411) and waybill (CEB511).

Customs releases a list only when it agrees with the three documents behind it (海关总署公告2018年第194号:
"三单"信息与《申报清单》自动比对). `compare` is that comparison as a pure function: four business nodes and a
`ComparePolicy` in, a list of `Reason` out, no I/O. Rules about one document alone (amount formula, line
totals, mode-dependent fields, code lists) belong to `cbec.ceb.check` and are not repeated here.

Conventions
    * The order is the reference: it is what the buyer agreed to. A reason's path points at the field whose
      spec text states the rule (``acturalPaid`` "与支付凭证的支付金额一致" → ``Order/OrderHead/acturalPaid``;
      ``gname`` "与电子订单一致" → ``Inventory/InventoryList[n]/gname``), or, where the spec states none, at
      the field of the document that disagrees with the order. ``[n]`` is the line's position in its list.
    * A field absent or empty on either side is not compared: `check` already reports a missing mandatory
      field, and comparing against nothing would report one defect twice.
    * Texts never quote personal data (names, ID numbers, phones, addresses): they say *which* field
      differs. Amounts, quantities, company codes, order and waybill numbers are quoted.

Normalization (``ComparePolicy.normalize``, on by default) is deliberately small, so values equal after it
are the same thing typed differently, never two different things:
    * names, addresses, goods names: surrounding whitespace removed; each inner run of whitespace (any
      Unicode whitespace, including the full-width space U+3000 and NBSP) becomes one space. Case,
      punctuation and full-width letters are kept, and a space is never removed ("王测试" ≠ "王 测试").
    * phone numbers: as above, and full-width digits and Latin letters (０-９ Ａ-Ｚ ａ-ｚ) become ASCII.
      Hyphens, "+", brackets and spaces between digit groups are kept ("138 0000 0000" ≠ "13800000000").
    * ID numbers, company codes, order/waybill/payment numbers: surrounding whitespace only.
With ``normalize=False`` every text is compared exactly as received.

Decisions where the sources leave room
    * List buyer vs order buyer (observed 13127): buyerName, buyerIdType and buyerIdNumber are the buyer's
      identity and must match. buyerTelephone is compared too, but is contact data rather than identity, so
      a difference is a warning by default (``ComparePolicy.buyer_telephone``).
    * Payer = buyer (observed 1327): payerName vs buyerName and payerIdNumber vs buyerIdNumber, skipped when
      the order's platform certifies buyer identity (18号/194号: only uncertified buyers must pay themselves).
    * Goods lines (observed 1322): matched by gnum; gname vs the order's itemName, qty exactly, price and
      totalPrice within the amount tolerance. itemNo, unit and gmodel are not compared (no source asks).
    * assureCode: the 202205 spec PDF allows the list's platform, e-commerce company and logistics company
      (ebpCode, ebcCode, logisticsCode); the XSD's note says 申报企业 (declarant) instead of the platform. The
      PDF is followed; ``ComparePolicy.assure_by_agent`` also accepts agentCode.
    * The list's consigneeAddress is compared with the waybill's as a warning: no source states the rule.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Literal

from cbec.ceb.model import Message, Node
from cbec.clearance.reasons import Reason, Source

#: How a comparison that is not a clear customs rule is reported: a rejection, a warning, or not at all.
Strictness = Literal["error", "warning", "off"]


@dataclass(frozen=True, slots=True)
class ComparePolicy:
    """What a zone or platform may configure; the defaults are what customs does as far as sources show."""

    #: platforms (ebpCode) that certify the buyer's identity, or a callable deciding per ebpCode; for
    #: those the payer need not be the buyer (海关总署公告2018年第194号)
    certified_platforms: Collection[str] | Callable[[str], bool] = frozenset()
    #: how far two amounts may differ and still match; customs compares exactly
    amount_tolerance: Decimal = Decimal("0")
    #: the normalization described in the module docstring; False compares texts exactly
    normalize: bool = True
    #: list line price and totalPrice must equal the order line's
    line_prices_match: bool = True
    #: the list's sum of line totalPrice must equal the order's goodsValue
    list_total_matches: bool = True
    #: list buyerTelephone vs order buyerTelephone
    buyer_telephone: Strictness = "warning"
    #: list consigneeAddress vs waybill consigneeAddress
    list_address: Strictness = "warning"
    #: also accept the declarant (agentCode) as assureCode, as the XSD's note reads
    assure_by_agent: bool = False

    def __post_init__(self) -> None:
        certified = self.certified_platforms
        if isinstance(certified, str):
            raise TypeError("certified_platforms: a collection of ebpCodes or a callable, not one string")
        if not callable(certified):
            object.__setattr__(self, "certified_platforms", frozenset(certified))
        if self.amount_tolerance < 0:
            raise ValueError("amount_tolerance must not be negative")

    def certifies(self, ebp_code: str | None) -> bool:
        """Whether the platform `ebp_code` certifies its buyers' identity."""
        if not ebp_code:
            return False
        certified = self.certified_platforms
        if callable(certified):
            return bool(certified(ebp_code))
        return ebp_code in certified


DEFAULT_POLICY = ComparePolicy()


# ---- the codes this module uses ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReasonCode:
    """One code `compare` can produce: where it comes from, what it means, which rules produce it."""

    code: str
    source: Source
    zh: str
    en: str
    rules: tuple[str, ...]


#: Every code `compare` uses. Observed codes are customs-internal ``[Code:NNNN]`` values seen in receipts
#: (STANDARD.md §4.3); the 91xx block is cbec's own, for checks the spec states without a code.
REASON_CODES: tuple[ReasonCode, ...] = (
    ReasonCode(
        code="1327",
        source="observed",
        zh="订单购买人与支付单支付人名字或身份证号码不一致",
        en="the order's buyer and the payment's payer differ in name or ID number",
        rules=("compare.payer",),
    ),
    ReasonCode(
        code="13127",
        source="observed",
        zh="清单订购人和订单不一致",
        en="the list's buyer differs from the order's",
        rules=("compare.list_buyer", "compare.list_buyer_telephone"),
    ),
    ReasonCode(
        code="1322",
        source="observed",
        zh="订单清单表体商品项不一致",
        en="the list's goods lines differ from the order's",
        rules=("compare.list_lines",),
    ),
    ReasonCode(
        code="13035",
        source="observed",
        zh="支付企业不一致",
        en="the payment company differs",
        rules=("compare.pay_code",),
    ),
    ReasonCode(
        code="9101",
        source="cbec",
        zh="支付金额与订单实际支付金额不一致",
        en="the amount paid differs from the order's actual payment",
        rules=("compare.amount_paid",),
    ),
    ReasonCode(
        code="9102",
        source="cbec",
        zh="支付交易编号不一致",
        en="the payment transaction number differs",
        rules=("compare.pay_transaction_id",),
    ),
    ReasonCode(
        code="9103",
        source="cbec",
        zh="支付单的订单编号或电商平台与订单不一致",
        en="the payment's order number or platform differs from the order's",
        rules=("compare.payment_keys",),
    ),
    ReasonCode(
        code="9104",
        source="cbec",
        zh="订单收货人信息与运单不一致",
        en="the order's consignee differs from the waybill's",
        rules=("compare.consignee",),
    ),
    ReasonCode(
        code="9105",
        source="cbec",
        zh="运单的订单编号与订单不一致",
        en="the waybill's order number differs from the order's",
        rules=("compare.waybill_order",),
    ),
    ReasonCode(
        code="9106",
        source="cbec",
        zh="清单的运单编号或物流企业与运单不一致",
        en="the list's waybill number or logistics company differs from the waybill's",
        rules=("compare.list_waybill",),
    ),
    ReasonCode(
        code="9107",
        source="cbec",
        zh="清单的订单编号、电商平台或电商企业与订单不一致",
        en="the list's order number, platform or e-commerce company differs from the order's",
        rules=("compare.list_parties",),
    ),
    ReasonCode(
        code="9108",
        source="cbec",
        zh="清单表体总价合计与订单商品价格不一致",
        en="the list's total of line prices differs from the order's goods value",
        rules=("compare.goods_value",),
    ),
    ReasonCode(
        code="9109",
        source="cbec",
        zh="担保企业不是清单的电商平台、电商企业或物流企业",
        en="the guarantor is not the list's platform, e-commerce company or logistics company",
        rules=("compare.assure_code",),
    ),
    ReasonCode(
        code="9110",
        source="cbec",
        zh="清单收货地址与运单不一致",
        en="the list's delivery address differs from the waybill's",
        rules=("compare.list_address",),
    ),
)

_BY_RULE: dict[str, ReasonCode] = {rule: rc for rc in REASON_CODES for rule in rc.rules}


def _reason(rule: str, path: str, zh: str, en: str, *, warning: bool = False) -> Reason:
    rc = _BY_RULE[rule]
    return Reason(rc.code, rule, zh, en, rc.source, path, warning)


# ---- normalization ----------------------------------------------------------------------------------------

_FULL_WIDTH_ALNUM = {
    cp: cp - 0xFEE0 for cp in (*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B))
}

Kind = Literal["text", "phone", "code"]


def normalize_value(value: str, kind: Kind, *, normalize: bool = True) -> str:
    """The form two values are compared in (see the module docstring); `kind` picks the rule."""
    if not normalize:
        return value
    if kind == "code":
        return value.strip()
    if kind == "phone":
        value = value.translate(_FULL_WIDTH_ALNUM)
    return " ".join(value.split())


# ---- reading documents ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _View:
    """Read access to one node's fields, with the path prefix reasons use."""

    node: Node | None
    path: str

    def at(self, name: str) -> str:
        return f"{self.path}/{name}"

    def text(self, name: str) -> str | None:
        """The value as text; None when absent or blank (then it is not compared)."""
        if self.node is None:
            return None
        value = self.node.values.get(name)
        if value is None:
            return None
        text = value if isinstance(value, str) else str(value)
        return text if text.strip() else None

    def number(self, name: str) -> Decimal | None:
        """The value as a Decimal; None when absent or not a number (`check` reports that)."""
        if self.node is None:
            return None
        value = self.node.values.get(name)
        if isinstance(value, Decimal | int):
            return Decimal(value)
        if isinstance(value, str) and value.strip():
            try:
                return Decimal(value.strip())
            except InvalidOperation:
                return None
        return None


def _document(node: Node, body: str, head: str | None) -> tuple[Node | None, Node]:
    """(head, document) from a whole message, its business node or (payment, waybill) the head itself."""
    if isinstance(node, Message):
        docs = node.documents
        if not docs:
            raise ValueError(f"{node.spec.name} 没有业务节点 {body} / has no {body} node")
        node = docs[0]
    if head is not None and node.spec.name == head:
        return node, node
    if node.spec.name != body:
        raise ValueError(
            f"需要 {body} 节点，实际为 {node.spec.name} / expected the {body} node, got {node.spec.name}"
        )
    return (node.child(head) if head is not None else None), node


def _gnum(line: Node) -> int | None:
    value = line.values.get("gnum")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _amount(value: Decimal) -> str:
    return f"{value:f}"


#: (payment field, order field, kind, 中文, English) compared by the payer = buyer rule
_PAYER_FIELDS: tuple[tuple[str, str, Kind, str, str], ...] = (
    ("payerName", "buyerName", "text", "姓名", "name"),
    ("payerIdNumber", "buyerIdNumber", "code", "证件号码", "ID number"),
)
#: (field, kind, 中文, English) that must be the same on order and waybill
_CONSIGNEE_FIELDS: tuple[tuple[str, Kind, str, str], ...] = (
    ("consignee", "text", "收货人姓名", "consignee name"),
    ("consigneeTelephone", "phone", "收货人电话", "consignee telephone"),
    ("consigneeAddress", "text", "收货地址", "delivery address"),
)
#: (field, kind, 中文, English) of the buyer's identity, the same on list and order
_BUYER_FIELDS: tuple[tuple[str, Kind, str, str], ...] = (
    ("buyerName", "text", "订购人姓名", "buyer name"),
    ("buyerIdType", "code", "订购人证件类型", "buyer ID type"),
    ("buyerIdNumber", "code", "订购人证件号码", "buyer ID number"),
)


# ---- the comparison ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Run:
    """One comparison in progress: the policy and the reasons found so far."""

    policy: ComparePolicy
    reasons: list[Reason] = field(default_factory=list)

    def differ(self, a: str | None, b: str | None, kind: Kind) -> bool:
        """True when both values are present and differ after normalization."""
        if a is None or b is None:
            return False
        norm = self.policy.normalize
        return normalize_value(a, kind, normalize=norm) != normalize_value(b, kind, normalize=norm)

    def amounts_differ(self, a: Decimal | None, b: Decimal | None) -> bool:
        return a is not None and b is not None and abs(a - b) > self.policy.amount_tolerance

    def add(self, rule: str, path: str, zh: str, en: str, *, warning: bool = False) -> None:
        self.reasons.append(_reason(rule, path, zh, en, warning=warning))


def compare(
    order: Node, payment: Node, waybill: Node, inventory: Node, *, policy: ComparePolicy = DEFAULT_POLICY
) -> list[Reason]:
    """Every disagreement between a list and its order, payment and waybill, as reasons; [] when they agree.

    `order` is the CEB311 ``Order`` node, `payment` the CEB411 ``Payment`` or ``PaymentHead``, `waybill` the
    CEB511 ``Logistics`` or ``LogisticsHead``, `inventory` the CEB621 ``Inventory`` (a whole message is also
    accepted: its first business node is used). Nothing stops at the first finding.
    """
    order_head, order_doc = _document(order, "Order", "OrderHead")
    pay_head, _ = _document(payment, "Payment", "PaymentHead")
    way_head, _ = _document(waybill, "Logistics", "LogisticsHead")
    inv_head, inv_doc = _document(inventory, "Inventory", "InventoryHead")

    o = _View(order_head, "Order/OrderHead")
    p = _View(pay_head, "Payment/PaymentHead")
    w = _View(way_head, "Logistics/LogisticsHead")
    i = _View(inv_head, "Inventory/InventoryHead")

    run = _Run(policy)
    _order_payment(run, o, p)
    _payer(run, o, p)
    _order_waybill(run, o, w)
    _list_order(run, o, i)
    _list_waybill(run, w, i)
    _list_buyer(run, o, i)
    _list_lines(run, o, order_doc, inv_doc)
    _assure(run, i)
    return run.reasons


def _order_payment(run: _Run, o: _View, p: _View) -> None:
    """Payment vs order: amount, payment company, transaction number, and the join keys."""
    paid, actural = p.number("amountPaid"), o.number("acturalPaid")
    if paid is not None and actural is not None and run.amounts_differ(paid, actural):
        run.add(
            "compare.amount_paid",
            o.at("acturalPaid"),
            f"订单实际支付金额 acturalPaid={_amount(actural)} "
            f"与支付单支付金额 amountPaid={_amount(paid)} 不一致",
            f"the order's acturalPaid {_amount(actural)} "
            f"differs from the payment's amountPaid {_amount(paid)}",
        )
    order_pay, pay_pay = o.text("payCode"), p.text("payCode")
    if order_pay is not None and pay_pay is not None and run.differ(order_pay, pay_pay, "code"):
        run.add(
            "compare.pay_code",
            o.at("payCode"),
            f"支付企业不一致：订单支付企业代码 payCode={order_pay.strip()}，支付单为 {pay_pay.strip()}",
            f"payment company differs: the order's payCode is {order_pay.strip()}, "
            f"the payment's {pay_pay.strip()}",
        )
    if run.differ(o.text("payTransactionId"), p.text("payTransactionId"), "code"):
        run.add(
            "compare.pay_transaction_id",
            o.at("payTransactionId"),
            "订单支付交易编号 payTransactionId 与支付单的支付交易编号不一致",
            "the order's payTransactionId differs from the payment's transaction number",
        )
    for name, zh, en in (
        ("orderNo", "订单编号", "order number"),
        ("ebpCode", "电商平台代码", "platform code"),
    ):
        theirs, ours = p.text(name), o.text(name)
        if theirs is not None and ours is not None and run.differ(theirs, ours, "code"):
            run.add(
                "compare.payment_keys",
                p.at(name),
                f"支付单{zh} {name}={theirs.strip()} 与订单的 {ours.strip()} 不一致",
                f"the payment's {en} {name} {theirs.strip()} differs from the order's {ours.strip()}",
            )


def _payer(run: _Run, o: _View, p: _View) -> None:
    """Payer = buyer unless the platform certifies the buyer's identity (公告2018年第194号)."""
    if run.policy.certifies(o.text("ebpCode")):
        return
    for payer, buyer, kind, zh, en in _PAYER_FIELDS:
        if run.differ(p.text(payer), o.text(buyer), kind):
            run.add(
                "compare.payer",
                p.at(payer),
                f"支付单支付人{zh} {payer} 与订单订购人{zh} {buyer} 不一致"
                "（订购人身份未经认证的，订购人与支付人应当为同一人）",
                f"the payment's payer {en} ({payer}) differs from the order's buyer {en} ({buyer}); "
                "unless the buyer's identity is certified, buyer and payer must be the same person",
            )


def _order_waybill(run: _Run, o: _View, w: _View) -> None:
    """Consignee name, phone and address must be the waybill's (CEB311 field notes); same orderNo."""
    for name, kind, zh, en in _CONSIGNEE_FIELDS:
        if run.differ(o.text(name), w.text(name), kind):
            run.add(
                "compare.consignee",
                o.at(name),
                f"订单{zh} {name} 与运单的{zh}不一致",
                f"the order's {en} ({name}) differs from the waybill's",
            )
    theirs, ours = w.text("orderNo"), o.text("orderNo")
    if theirs is not None and ours is not None and run.differ(theirs, ours, "code"):
        run.add(
            "compare.waybill_order",
            w.at("orderNo"),
            f"运单订单编号 orderNo={theirs.strip()} 与订单的 {ours.strip()} 不一致",
            f"the waybill's orderNo {theirs.strip()} differs from the order's {ours.strip()}",
        )


def _list_order(run: _Run, o: _View, i: _View) -> None:
    """The list names the order it declares: orderNo, platform and e-commerce company."""
    for name, zh, en in (
        ("orderNo", "订单编号", "order number"),
        ("ebpCode", "电商平台代码", "platform code"),
        ("ebcCode", "电商企业代码", "e-commerce company code"),
    ):
        theirs, ours = i.text(name), o.text(name)
        if theirs is not None and ours is not None and run.differ(theirs, ours, "code"):
            run.add(
                "compare.list_parties",
                i.at(name),
                f"清单{zh} {name}={theirs.strip()} 与订单的 {ours.strip()} 不一致",
                f"the list's {en} {name} {theirs.strip()} differs from the order's {ours.strip()}",
            )


def _list_waybill(run: _Run, w: _View, i: _View) -> None:
    """The list names its parcel: waybill number and logistics company; optionally the address."""
    for name, zh, en in (
        ("logisticsNo", "物流运单编号", "waybill number"),
        ("logisticsCode", "物流企业代码", "logistics company code"),
    ):
        theirs, ours = i.text(name), w.text(name)
        if theirs is not None and ours is not None and run.differ(theirs, ours, "code"):
            run.add(
                "compare.list_waybill",
                i.at(name),
                f"清单{zh} {name}={theirs.strip()} 与运单的 {ours.strip()} 不一致",
                f"the list's {en} {name} {theirs.strip()} differs from the waybill's {ours.strip()}",
            )
    strictness = run.policy.list_address
    if strictness != "off" and run.differ(i.text("consigneeAddress"), w.text("consigneeAddress"), "text"):
        run.add(
            "compare.list_address",
            i.at("consigneeAddress"),
            "清单收货地址 consigneeAddress 与运单的收货地址不一致",
            "the list's delivery address (consigneeAddress) differs from the waybill's",
            warning=strictness == "warning",
        )


def _list_buyer(run: _Run, o: _View, i: _View) -> None:
    """The list's buyer is the order's buyer (observed 13127); the phone is compared per policy."""
    for name, kind, zh, en in _BUYER_FIELDS:
        if run.differ(i.text(name), o.text(name), kind):
            run.add(
                "compare.list_buyer",
                i.at(name),
                f"清单订购人和订单不一致：清单{zh} {name} 与订单的{zh}不一致",
                f"the list's buyer differs from the order's: {en} ({name}) differs",
            )
    strictness = run.policy.buyer_telephone
    if strictness != "off" and run.differ(i.text("buyerTelephone"), o.text("buyerTelephone"), "phone"):
        run.add(
            "compare.list_buyer_telephone",
            i.at("buyerTelephone"),
            "清单订购人电话 buyerTelephone 与订单的订购人电话不一致",
            "the list's buyer telephone (buyerTelephone) differs from the order's",
            warning=strictness == "warning",
        )


def _list_lines(run: _Run, o: _View, order_doc: Node, inv_doc: Node) -> None:
    """Lines pair by gnum (一一对应); name, quantity and prices must agree; the list total = goodsValue."""
    order_lines: dict[int, Node] = {}
    for line in order_doc.children.get("OrderList", []):
        g = _gnum(line)
        if g is not None:
            order_lines.setdefault(g, line)  # a repeated gnum is check's finding (-301002)
    seen: set[int] = set()
    compare_prices = run.policy.line_prices_match
    for pos, line in enumerate(inv_doc.children.get("InventoryList", []), 1):
        g = _gnum(line)
        if g is None or g in seen:
            continue  # unreadable or repeated gnum: check reports it (-621027)
        seen.add(g)
        lv = _View(line, f"Inventory/InventoryList[{pos}]")
        ordered = order_lines.get(g)
        if ordered is None:
            run.add(
                "compare.list_lines",
                lv.at("gnum"),
                f"订单清单表体商品项不一致：清单表体序号 gnum={g} 在订单中不存在",
                f"list line gnum={g} has no order line with the same gnum",
            )
            continue
        ov = _View(ordered, "")
        if run.differ(lv.text("gname"), ov.text("itemName"), "text"):
            run.add(
                "compare.list_lines",
                lv.at("gname"),
                f"订单清单表体商品项不一致：第{g}项商品名称 gname 与订单商品名称 itemName 不一致",
                f"line gnum={g}: the list's goods name (gname) differs from the order's itemName",
            )
        qty, ordered_qty = lv.number("qty"), ov.number("qty")
        if qty is not None and ordered_qty is not None and qty != ordered_qty:
            run.add(
                "compare.list_lines",
                lv.at("qty"),
                f"订单清单表体商品项不一致：第{g}项数量 qty={_amount(qty)}，订单为 {_amount(ordered_qty)}",
                f"line gnum={g}: the list's qty {_amount(qty)} "
                f"differs from the order's {_amount(ordered_qty)}",
            )
        if not compare_prices:
            continue
        for name, zh in (("price", "单价"), ("totalPrice", "总价")):
            ours, theirs = lv.number(name), ov.number(name)
            if ours is not None and theirs is not None and run.amounts_differ(ours, theirs):
                run.add(
                    "compare.list_lines",
                    lv.at(name),
                    f"订单清单表体商品项不一致：第{g}项{zh} {name}={_amount(ours)}，订单为 {_amount(theirs)}",
                    f"line gnum={g}: the list's {name} {_amount(ours)} "
                    f"differs from the order's {_amount(theirs)}",
                )
    for g in sorted(set(order_lines) - seen):
        run.add(
            "compare.list_lines",
            "Inventory/InventoryList",
            f"订单清单表体商品项不一致：订单表体第{g}项（gnum={g}）在清单中不存在",
            f"order line gnum={g} is missing from the list",
        )
    if run.policy.list_total_matches:
        _list_total(run, o, inv_doc)


def _list_total(run: _Run, o: _View, inv_doc: Node) -> None:
    """The declared lines add up to the order's goods value, the price customs accepts once the 三单 agree."""
    goods_value = o.number("goodsValue")
    totals = [_View(line, "").number("totalPrice") for line in inv_doc.children.get("InventoryList", [])]
    if goods_value is None or not totals or any(t is None for t in totals):
        return
    total = sum((t for t in totals if t is not None), Decimal(0))
    if run.amounts_differ(total, goods_value):
        run.add(
            "compare.goods_value",
            "Inventory/InventoryList",
            f"清单表体总价合计 {_amount(total)} 与订单商品价格 goodsValue={_amount(goods_value)} 不一致",
            f"the list's line totals add up to {_amount(total)}, "
            f"the order's goodsValue is {_amount(goods_value)}",
        )


def _assure(run: _Run, i: _View) -> None:
    """assureCode 只限清单的电商平台企业、电商企业、物流企业 (spec PDF; the XSD note differs, see above)."""
    assure = i.text("assureCode")
    if assure is None:
        return
    names = ["ebpCode", "ebcCode", "logisticsCode"] + (["agentCode"] if run.policy.assure_by_agent else [])
    allowed = {
        normalize_value(code, "code", normalize=run.policy.normalize)
        for name in names
        if (code := i.text(name)) is not None
    }
    if normalize_value(assure, "code", normalize=run.policy.normalize) not in allowed:
        who_zh = "电商平台企业、电商企业、物流企业" + ("或申报企业" if run.policy.assure_by_agent else "")
        who_en = "platform, e-commerce company or logistics company" + (
            " or declarant" if run.policy.assure_by_agent else ""
        )
        run.add(
            "compare.assure_code",
            i.at("assureCode"),
            f"担保企业编号 assureCode={assure.strip()} 只限清单的{who_zh}（{', '.join(names)}）",
            f"assureCode {assure.strip()} must be the list's {who_en} ({', '.join(names)})",
        )
