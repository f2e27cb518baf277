"""Example messages built in code: realistic, internally consistent, and valid under `check`.

Used as templates (`cbec example`), by the benchmarks and by tests. All parties and people are fictitious;
the buyer's ID number is the standard's worked example, not a real person's.
"""

from __future__ import annotations

from decimal import Decimal

from cbec.ceb.model import Message, new_message

BUYER_ID = "11010519491231002X"  # the GB 11643 worked example, not a real person

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


def order_311(lines: int = 3) -> Message:
    msg = new_message("CEB311")
    order = msg.add("Order")
    prices = [Decimal("129.00"), Decimal("58.50"), Decimal("15.90")][:lines] or [Decimal("10")]
    while len(prices) < lines:
        prices.append(Decimal("10.00"))
    goods = sum(p * 2 for p in prices)
    order.add(
        "OrderHead",
        guid="5C7B4F1E-2D3A-4B6C-8D9E-0F1A2B3C4D5E",
        appType="1",
        appTime="20261128103000",
        appStatus="2",
        orderType="I",
        orderNo="ORD202611280001",
        ebpCode="4401960ABC",
        ebpName="示例跨境电商平台有限公司",
        ebcCode="4401960XYZ",
        ebcName="示例电商企业有限公司",
        goodsValue=goods,
        freight=Decimal("10.00"),
        discount=Decimal("0"),
        taxTotal=Decimal("23.11"),
        acturalPaid=goods + Decimal("10.00") + Decimal("23.11"),
        currency="142",
        buyerRegNo="buyer0001",
        buyerName="张三",
        buyerTelephone="13800000000",
        buyerIdType="1",
        buyerIdNumber=BUYER_ID,
        payCode="4401960PAY",
        payName="示例支付有限公司",
        payTransactionId="PAY202611280001",
        consignee="张三",
        consigneeTelephone="13800000000",
        consigneeAddress="广东省广州市天河区示例路1号",
    )
    for i, price in enumerate(prices, 1):
        order.add(
            "OrderList",
            gnum=i,
            itemNo=f"SKU-{i:04d}",
            itemName=f"示例商品{i}",
            gmodel="100g/瓶",
            barCode="6901234567892",
            unit="007",
            qty=Decimal("2"),
            price=price,
            totalPrice=price * 2,
            currency="142",
            country="116",
        )
    _transfer(msg)
    return msg


def list_621(lines: int = 3) -> Message:
    msg = new_message("CEB621")
    inv = msg.add("Inventory")
    inv.add(
        "InventoryHead",
        guid="6D8C5A2F-3E4B-4C7D-9E0F-1A2B3C4D5E6F",
        appType="1",
        appTime="20261128103500",
        appStatus="2",
        orderNo="ORD202611280001",
        ebpCode="4401960ABC",
        ebpName="示例跨境电商平台有限公司",
        ebcCode="4401960XYZ",
        ebcName="示例电商企业有限公司",
        logisticsNo="SF1234567890",
        logisticsCode="4401960LOG",
        logisticsName="示例物流有限公司",
        copNo="COP202611280001",
        assureCode="4401960XYZ",
        ieFlag="I",
        declTime="20261128",
        customsCode="5141",
        portCode="5141",
        buyerIdType="1",
        buyerIdNumber=BUYER_ID,
        buyerName="张三",
        buyerTelephone="13800000000",
        consigneeAddress="广东省广州市天河区示例路1号",
        agentCode="4401960XYZ",
        agentName="示例电商企业有限公司",
        tradeMode="9610",
        trafMode="5",
        trafNo="CZ3000",
        voyageNo="CZ3000",
        billNo="784-12345678",
        country="116",
        freight=Decimal("10.00"),
        insuredFee=Decimal("0"),
        currency="142",
        packNo=1,
        grossWeight=Decimal("1.25"),
        netWeight=Decimal("1.00"),
    )
    for i in range(1, lines + 1):
        price = Decimal("58.50")
        inv.add(
            "InventoryList",
            gnum=i,
            itemNo=f"SKU-{i:04d}",
            itemName=f"示例商品{i}",
            gcode="3304990099",
            gname=f"示例商品{i}",
            gmodel="100g/瓶",
            barCode="6901234567892",
            country="116",
            currency="142",
            qty=Decimal("2"),
            unit="007",
            qty1=Decimal("0.2"),
            unit1="035",
            price=price,
            totalPrice=price * 2,
        )
    _transfer(msg)
    msg.signature = SIGNATURE_PLACEHOLDER
    return msg


def _transfer(msg: Message) -> None:
    msg.add(
        "BaseTransfer",
        copCode="4401960XYZ",
        copName="示例电商企业有限公司",
        dxpMode="DXP",
        dxpId="DXPENT0000000001",
    )
