"""Valid CEB import messages built in code: templates (`cbec example`), the demo, benchmarks and tests.

One `Trade` describes a single cross-border retail sale: the buyer, the goods lines, the amounts and the
companies involved. Every builder derives its message from a `Trade`, so the order (CEB311), payment
(CEB411), waybill (CEB511), declaration list (CEB621), cancellation (CEB623) and return (CEB625) of the
same trade agree with one another the way customs expects (order amount formula, amountPaid = acturalPaid,
the same consignee everywhere, list lines numbered like the order lines).

    trade = Trade(buyer=Buyer(name="王测试"), freight=Decimal("0"))
    order = ceb311(trade)
    bonded = ceb621(trade, trade_mode="1210")     # keyword changes apply to a copy of the trade

All companies, numbers and people are synthetic. The buyer's ID number is computed here from a made-up
birth date and sequence with the GB 11643 check digit; it is nobody's real number.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from cbec.ceb.model import Message, Node, new_message

SIGNATURE_PLACEHOLDER = (
    b'<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>'
    b'<ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>'
    b'<ds:SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#rsa-sha1"/>'
    b'<ds:Reference URI=""><ds:Transforms><ds:Transform '
    b'Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/></ds:Transforms>'
    b'<ds:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/>'
    b"<ds:DigestValue>AAAAAAAAAAAAAAAAAAAAAAAAAAA=</ds:DigestValue></ds:Reference></ds:SignedInfo>"
    b"<ds:SignatureValue>AAAA</ds:SignatureValue><ds:KeyInfo><ds:KeyName>01</ds:KeyName></ds:KeyInfo>"
    b"</ds:Signature>"
)
"""A structurally valid but cryptographically meaningless signature, for unsigned drafts and tests."""

_GUID_NAMESPACE = uuid.UUID("6f1c1a8e-0b7e-4c59-9a43-0c3f5d2e7a11")
CENT = Decimal("0.01")


def id_check_digit(first17: str) -> str:
    """GB 11643 check character of the first 17 digits of a resident ID card number."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("17 digits expected")
    total = sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(first17))
    check = (12 - total % 11) % 11
    return "X" if check == 10 else str(check)


def synthetic_id_number(region: str = "110101", birth: str = "19900307", sequence: str = "000") -> str:
    """A checksum-valid 18-character ID number for tests (sequence 000 is not issued to people)."""
    first17 = region + birth + sequence
    return first17 + id_check_digit(first17)


#: The default buyer's ID number: valid format, valid birth date, valid check digit, synthetic.
TEST_ID_NUMBER = synthetic_id_number()


def stable_guid(*parts: object) -> str:
    """A 36-character upper-case guid derived from `parts`, so built messages are reproducible."""
    return str(uuid.uuid5(_GUID_NAMESPACE, "|".join(map(str, parts)))).upper()


def money(value: Decimal) -> Decimal:
    """Round to fen (0.01 yuan), half up, as customs compares amounts."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Party:
    """A company as customs knows it: 10-character registration code and registered name."""

    code: str
    name: str


EBP = Party("110196000A", "测试跨境电商平台有限公司")
EBC = Party("110196000B", "测试跨境电商企业有限公司")
LOGISTICS = Party("110198000C", "测试国际物流有限公司")
PAYMENT = Party("310196000D", "测试支付服务有限公司")
AGENT = Party("110198000E", "测试报关服务有限公司")
AREA = Party("110166000F", "测试保税仓储有限公司")


@dataclass(frozen=True)
class Buyer:
    """The person who orders (订购人), who is also payer and consignee unless a test says otherwise."""

    name: str = "测试订购人"
    id_number: str = TEST_ID_NUMBER
    id_type: str = "1"
    telephone: str = "13800000000"
    reg_no: str = "buyer-0001"
    address: str = "北京市海淀区测试路1号"
    district: str = "110108"


@dataclass(frozen=True)
class Line:
    """One goods line. `legal_qty`/`legal_unit` are the first legal quantity and unit (法定数量/单位)."""

    item_no: str
    name: str
    gcode: str
    gmodel: str
    qty: Decimal
    price: Decimal
    unit: str = "011"
    legal_qty: Decimal = Decimal("1")
    legal_unit: str = "035"
    second_qty: Decimal | None = None
    second_unit: str | None = None
    country: str = "116"
    bar_code: str | None = None
    #: bonded (1210) lines name the article in the warehouse book (账册备案料号)
    item_record_no: str | None = None

    @property
    def total(self) -> Decimal:
        return money(self.price * self.qty)


DEFAULT_LINES: tuple[Line, ...] = (
    Line(
        item_no="SKU-DIAPER-L",
        name="婴儿纸尿裤L码",
        gcode="9619001100",
        gmodel="L码 54片/包 4包/箱",
        qty=Decimal("2"),
        price=Decimal("99.00"),
        unit="011",
        legal_qty=Decimal("1.6"),
        bar_code="4901301000001",
        item_record_no="REC-0001",
    ),
    Line(
        item_no="SKU-MILK-3",
        name="婴幼儿配方奶粉3段",
        gcode="1901101000",
        gmodel="800克/罐 3段",
        qty=Decimal("1"),
        price=Decimal("258.00"),
        unit="122",
        legal_qty=Decimal("0.8"),
        country="502",
        bar_code="9418783000002",
        item_record_no="REC-0002",
    ),
)


@dataclass(frozen=True)
class Trade:
    """One sale and everything its messages share. Amounts follow the spec's formulas by default."""

    order_no: str = "ORD202611280001"
    logistics_no: str = "LN202611280001"
    pay_transaction_id: str = "PAY202611280001"
    buyer: Buyer = field(default_factory=Buyer)
    lines: tuple[Line, ...] = DEFAULT_LINES
    freight: Decimal = Decimal("10.00")
    discount: Decimal = Decimal("5.00")
    #: withheld tax; None = 9.1 % (the usual cross-border comprehensive rate) of the goods value
    tax_total: Decimal | None = None
    insured_fee: Decimal = Decimal("0")
    #: acturalPaid as declared; None = the spec's formula
    actural_paid: Decimal | None = None
    trade_mode: str = "9610"
    ebp: Party = EBP
    ebc: Party = EBC
    logistics: Party = LOGISTICS
    payment: Party = PAYMENT
    agent: Party = AGENT
    area: Party = AREA
    customs_code: str = "2924"
    port_code: str = "2924"
    app_time: str = "20261128114633"
    pay_time: str = "20261128102015"
    decl_time: str = "20261128"
    app_status: str = "2"
    invt_no: str = "292420261000000001"
    ems_no: str = "T2924W000001"
    traf_no: str = "CA1234"
    voyage_no: str = "CA1234-20261127"
    bill_no: str = "999-12345675"
    #: packaging weight added to the net weight for the gross weight (kg)
    packaging_kg: Decimal = Decimal("0.3")
    dxp_id: str = "DXPENT0000000001"

    @property
    def goods_value(self) -> Decimal:
        return sum((line.total for line in self.lines), Decimal("0.00"))

    @property
    def taxes(self) -> Decimal:
        return self.tax_total if self.tax_total is not None else money(self.goods_value * Decimal("0.091"))

    @property
    def paid(self) -> Decimal:
        """acturalPaid = goodsValue + freight + taxTotal - discount (unless overridden)."""
        if self.actural_paid is not None:
            return self.actural_paid
        return self.goods_value + self.freight + self.taxes - self.discount

    @property
    def net_weight(self) -> Decimal:
        return sum((line.legal_qty for line in self.lines), Decimal("0"))

    @property
    def gross_weight(self) -> Decimal:
        return self.net_weight + self.packaging_kg

    @property
    def bonded(self) -> bool:
        return self.trade_mode == "1210"


def _trade(trade: Trade | None, changes: dict[str, Any]) -> Trade:
    base = trade if trade is not None else Trade()
    return replace(base, **changes) if changes else base


def add_base_transfer(message: Message, party: Party, dxp_id: str) -> Node:
    """The mandatory BaseTransfer block: who transmits the message."""
    return message.add("BaseTransfer", copCode=party.code, copName=party.name, dxpMode="DXP", dxpId=dxp_id)


# ---- CEB311 order ----------------------------------------------------------------------------------------


def add_order(message: Message, trade: Trade) -> Node:
    """Append one Order (head and lines) for `trade` to a CEB311 message."""
    buyer = trade.buyer
    order = message.add("Order")
    order.add(
        "OrderHead",
        guid=stable_guid("OrderHead", trade.order_no),
        appType="1",
        appTime=trade.app_time,
        appStatus=trade.app_status,
        orderType="I",
        orderNo=trade.order_no,
        ebpCode=trade.ebp.code,
        ebpName=trade.ebp.name,
        ebcCode=trade.ebc.code,
        ebcName=trade.ebc.name,
        goodsValue=trade.goods_value,
        freight=trade.freight,
        discount=trade.discount,
        taxTotal=trade.taxes,
        acturalPaid=trade.paid,
        currency="142",
        buyerRegNo=buyer.reg_no,
        buyerName=buyer.name,
        buyerTelephone=buyer.telephone,
        buyerIdType=buyer.id_type,
        buyerIdNumber=buyer.id_number,
        payCode=trade.payment.code,
        payName=trade.payment.name,
        payTransactionId=trade.pay_transaction_id,
        consignee=buyer.name,
        consigneeTelephone=buyer.telephone,
        consigneeAddress=buyer.address,
        consigneeDistrict=buyer.district,
    )
    for gnum, line in enumerate(trade.lines, 1):
        order.add(
            "OrderList",
            gnum=gnum,
            itemNo=line.item_no,
            itemName=line.name,
            gmodel=line.gmodel,
            barCode=line.bar_code,
            unit=line.unit,
            qty=line.qty,
            price=line.price,
            totalPrice=line.total,
            currency="142",
            country=line.country,
        )
    return order


def ceb311(trade: Trade | None = None, /, **changes: Any) -> Message:
    """电子订单: one Order for the trade, sent by the e-commerce company."""
    trade = _trade(trade, changes)
    message = new_message("CEB311", guid=stable_guid("CEB311", trade.order_no))
    add_order(message, trade)
    add_base_transfer(message, trade.ebc, trade.dxp_id)
    return message


# ---- CEB411 payment --------------------------------------------------------------------------------------


def add_payment(message: Message, trade: Trade) -> Node:
    buyer = trade.buyer
    payment = message.add("Payment")
    payment.add(
        "PaymentHead",
        guid=stable_guid("PaymentHead", trade.pay_transaction_id),
        appType="1",
        appTime=trade.app_time,
        appStatus=trade.app_status,
        payCode=trade.payment.code,
        payName=trade.payment.name,
        payTransactionId=trade.pay_transaction_id,
        orderNo=trade.order_no,
        ebpCode=trade.ebp.code,
        ebpName=trade.ebp.name,
        payerIdType=buyer.id_type,
        payerIdNumber=buyer.id_number,
        payerName=buyer.name,
        telephone=buyer.telephone,
        amountPaid=trade.paid,
        currency="142",
        payTime=trade.pay_time,
    )
    return payment


def ceb411(trade: Trade | None = None, /, **changes: Any) -> Message:
    """支付凭证: the payment company's voucher; amountPaid equals the order's acturalPaid."""
    trade = _trade(trade, changes)
    message = new_message("CEB411", guid=stable_guid("CEB411", trade.pay_transaction_id))
    add_payment(message, trade)
    add_base_transfer(message, trade.payment, trade.dxp_id)
    return message


# ---- CEB511 waybill --------------------------------------------------------------------------------------


def add_logistics(message: Message, trade: Trade) -> Node:
    buyer = trade.buyer
    logistics = message.add("Logistics")
    logistics.add(
        "LogisticsHead",
        guid=stable_guid("LogisticsHead", trade.logistics_no),
        appType="1",
        appTime=trade.app_time,
        appStatus=trade.app_status,
        logisticsCode=trade.logistics.code,
        logisticsName=trade.logistics.name,
        logisticsNo=trade.logistics_no,
        billNo=trade.bill_no if not trade.bonded else None,
        orderNo=trade.order_no,
        freight=trade.freight,
        insuredFee=trade.insured_fee,
        currency="142",
        weight=trade.gross_weight,
        packNo=1,
        goodsInfo="、".join(line.name for line in trade.lines)[:200],
        consignee=buyer.name,
        consigneeAddress=buyer.address,
        consigneeTelephone=buyer.telephone,
    )
    return logistics


def ceb511(trade: Trade | None = None, /, **changes: Any) -> Message:
    """物流运单: the logistics company's waybill for the parcel (packNo is always 1)."""
    trade = _trade(trade, changes)
    message = new_message("CEB511", guid=stable_guid("CEB511", trade.logistics_no))
    add_logistics(message, trade)
    add_base_transfer(message, trade.logistics, trade.dxp_id)
    return message


def ceb513(
    trade: Trade | None = None, /, *, status: str = "S", when: str = "20261130153000", **changes: Any
) -> Message:
    """物流运单状态: the logistics company reports the parcel signed for (logisticsStatus S)."""
    trade = _trade(trade, changes)
    message = new_message("CEB513", guid=stable_guid("CEB513", trade.logistics_no, status))
    message.add(
        "LogisticsStatus",
        guid=stable_guid("LogisticsStatus", trade.logistics_no, status),
        appType="1",
        appTime=when,
        appStatus=trade.app_status,
        logisticsCode=trade.logistics.code,
        logisticsName=trade.logistics.name,
        logisticsNo=trade.logistics_no,
        logisticsStatus=status,
        logisticsTime=when,
    )
    add_base_transfer(message, trade.logistics, trade.dxp_id)
    return message


# ---- CEB621 declaration list -----------------------------------------------------------------------------


def add_inventory(message: Message, trade: Trade) -> Node:
    """Append one Inventory; 1210 fills the bonded fields, 9610 the transport fields."""
    buyer = trade.buyer
    bonded = trade.bonded
    inventory = message.add("Inventory")
    inventory.add(
        "InventoryHead",
        guid=stable_guid("InventoryHead", trade.order_no),
        appType="1",
        appTime=trade.app_time,
        appStatus=trade.app_status,
        orderNo=trade.order_no,
        ebpCode=trade.ebp.code,
        ebpName=trade.ebp.name,
        ebcCode=trade.ebc.code,
        ebcName=trade.ebc.name,
        logisticsNo=trade.logistics_no,
        logisticsCode=trade.logistics.code,
        logisticsName=trade.logistics.name,
        copNo=trade.order_no[-20:],
        assureCode=trade.ebc.code,
        emsNo=trade.ems_no if bonded else None,
        ieFlag="I",
        declTime=trade.decl_time,
        customsCode=trade.customs_code,
        portCode=trade.port_code,
        ieDate=trade.decl_time,
        buyerIdType=buyer.id_type,
        buyerIdNumber=buyer.id_number,
        buyerName=buyer.name,
        buyerTelephone=buyer.telephone,
        consigneeAddress=buyer.address,
        agentCode=trade.agent.code,
        agentName=trade.agent.name,
        areaCode=trade.area.code if bonded else None,
        areaName=trade.area.name if bonded else None,
        tradeMode=trade.trade_mode,
        trafMode="W" if bonded else "5",
        trafNo=None if bonded else trade.traf_no,
        voyageNo=None if bonded else trade.voyage_no,
        billNo=None if bonded else trade.bill_no,
        country="142" if bonded else trade.lines[0].country,
        freight=trade.freight,
        insuredFee=trade.insured_fee,
        currency="142",
        wrapType="2",
        packNo=1,
        grossWeight=trade.gross_weight,
        netWeight=trade.net_weight,
    )
    for gnum, line in enumerate(trade.lines, 1):
        inventory.add(
            "InventoryList",
            gnum=gnum,
            itemRecordNo=line.item_record_no if bonded else None,
            itemNo=line.item_no,
            itemName=line.name,
            gcode=line.gcode,
            gname=line.name,
            gmodel=line.gmodel,
            barCode=line.bar_code,
            country=line.country,
            currency="142",
            qty=line.qty,
            unit=line.unit,
            qty1=line.legal_qty,
            unit1=line.legal_unit,
            qty2=line.second_qty,
            unit2=line.second_unit,
            price=line.price,
            totalPrice=line.total,
        )
    return inventory


def ceb621(trade: Trade | None = None, /, *, signed: bool = True, **changes: Any) -> Message:
    """进口清单: the list the agent declares; `trade_mode="1210"` for bonded import, 9610 by default."""
    trade = _trade(trade, changes)
    message = new_message("CEB621", guid=stable_guid("CEB621", trade.order_no, trade.trade_mode))
    add_inventory(message, trade)
    add_base_transfer(message, trade.agent, trade.dxp_id)
    if signed:
        message.signature = SIGNATURE_PLACEHOLDER
    return message


# ---- CEB623 cancellation ---------------------------------------------------------------------------------


def add_cancel(message: Message, trade: Trade, reason: str = "订购人取消订单") -> Node:
    buyer = trade.buyer
    return message.add(
        "InvtCancel",
        guid=stable_guid("InvtCancel", trade.invt_no),
        appType="1",
        appTime=trade.app_time,
        appStatus=trade.app_status,
        customsCode=trade.customs_code,
        orderNo=trade.order_no,
        ebpCode=trade.ebp.code,
        ebpName=trade.ebp.name,
        ebcCode=trade.ebc.code,
        ebcName=trade.ebc.name,
        logisticsNo=trade.logistics_no,
        logisticsCode=trade.logistics.code,
        logisticsName=trade.logistics.name,
        copNo=trade.order_no[-20:],
        invtNo=trade.invt_no,
        buyerIdType=buyer.id_type,
        buyerIdNumber=buyer.id_number,
        buyerName=buyer.name,
        buyerTelephone=buyer.telephone,
        agentCode=trade.agent.code,
        agentName=trade.agent.name,
        reason=reason,
    )


def ceb623(
    trade: Trade | None = None, /, *, reason: str = "订购人取消订单", signed: bool = True, **changes: Any
) -> Message:
    """撤销申请单: request to cancel the declared list `trade.invt_no`."""
    trade = _trade(trade, changes)
    message = new_message("CEB623", guid=stable_guid("CEB623", trade.invt_no))
    add_cancel(message, trade, reason)
    add_base_transfer(message, trade.agent, trade.dxp_id)
    if signed:
        message.signature = SIGNATURE_PLACEHOLDER
    return message


# ---- CEB625 return ---------------------------------------------------------------------------------------


def add_refund(
    message: Message,
    trade: Trade,
    returned: dict[int, Decimal] | None = None,
    reason: str = "商品破损，订购人退货",
) -> Node:
    """Append one InvtRefund. `returned` maps list line numbers (gnum) to returned quantities; default all."""
    buyer = trade.buyer
    if returned is None:
        returned = {gnum: line.qty for gnum, line in enumerate(trade.lines, 1)}
    refund = message.add("InvtRefund")
    refund.add(
        "InvtRefundHead",
        guid=stable_guid("InvtRefundHead", trade.invt_no),
        appType="1",
        appTime=trade.app_time,
        appStatus=trade.app_status,
        customsCode=trade.customs_code,
        orderNo=trade.order_no,
        ebpCode=trade.ebp.code,
        ebpName=trade.ebp.name,
        ebcCode=trade.ebc.code,
        ebcName=trade.ebc.name,
        logisticsNo=trade.logistics_no,
        logisticsCode=trade.logistics.code,
        logisticsName=trade.logistics.name,
        copNo=trade.order_no[-20:],
        invtNo=trade.invt_no,
        buyerIdType=buyer.id_type,
        buyerIdNumber=buyer.id_number,
        buyerName=buyer.name,
        buyerTelephone=buyer.telephone,
        agentCode=trade.agent.code,
        agentName=trade.agent.name,
        reason=reason,
    )
    for gnum, qty in sorted(returned.items()):
        line = trade.lines[gnum - 1]
        refund.add("InvtRefundList", gnum=gnum, gcode=line.gcode, gname=line.name, qty=qty, unit=line.unit)
    return refund


def ceb625(
    trade: Trade | None = None,
    /,
    *,
    returned: dict[int, Decimal] | None = None,
    reason: str = "商品破损，订购人退货",
    signed: bool = True,
    **changes: Any,
) -> Message:
    """退货申请单: return of (some of) the declared list's lines; `returned` = {gnum: qty}."""
    trade = _trade(trade, changes)
    message = new_message("CEB625", guid=stable_guid("CEB625", trade.invt_no))
    add_refund(message, trade, returned, reason)
    add_base_transfer(message, trade.agent, trade.dxp_id)
    if signed:
        message.signature = SIGNATURE_PLACEHOLDER
    return message


# ---- CEB622 receipt --------------------------------------------------------------------------------------


def ceb622(
    trade: Trade | None = None,
    /,
    *,
    status: str = "800",
    info: str = "[Code:2600;Desc:放行]",
    return_time: str = "20261128120501123",
    **changes: Any,
) -> Message:
    """进口清单回执 as customs would send it for the trade's list."""
    trade = _trade(trade, changes)
    message = new_message("CEB622", guid=stable_guid("CEB622", trade.invt_no, status))
    message.add(
        "InventoryReturn",
        guid=stable_guid("InventoryHead", trade.order_no),
        customsCode=trade.customs_code,
        ebpCode=trade.ebp.code,
        ebcCode=trade.ebc.code,
        agentCode=trade.agent.code,
        copNo=trade.order_no[-20:],
        preNo="B" + trade.invt_no[1:18],
        invtNo=trade.invt_no,
        returnStatus=status,
        returnTime=return_time,
        returnInfo=info,
    )
    return message


#: the declaration builders by message code
BUILDERS = {
    "CEB311": ceb311,
    "CEB411": ceb411,
    "CEB511": ceb511,
    "CEB513": ceb513,
    "CEB621": ceb621,
    "CEB623": ceb623,
    "CEB625": ceb625,
}


THIRD_LINE = Line(
    item_no="SKU-CREAM-50",
    name="保湿面霜",
    gcode="3304990099",
    gmodel="50毫升/瓶",
    qty=Decimal("1"),
    price=Decimal("168.00"),
    unit="142",
    legal_qty=Decimal("0.05"),
    country="116",
    bar_code="4901301000003",
    item_record_no="REC-0003",
)


def bench_trade(lines: int = 3) -> Trade:
    """A trade with `lines` goods lines (the benchmark's CEB311/CEB621 have three)."""
    pool = (*DEFAULT_LINES, THIRD_LINE)
    chosen = tuple(
        replace(pool[i % len(pool)], item_no=f"{pool[i % len(pool)].item_no}-{i + 1}") for i in range(lines)
    )
    return Trade(lines=chosen)


def order_311(lines: int = 3) -> Message:
    """A valid CEB311 order with `lines` item lines."""
    return ceb311(bench_trade(lines))


def list_621(lines: int = 3) -> Message:
    """A valid CEB621 declaration list (9610) with `lines` item lines and a placeholder signature."""
    return ceb621(bench_trade(lines))
