"""The 42 message types of the 202205 edition: who sends them, what answers them, whether they are signed.

Facts from the official XSDs (root elements, signature occurrence) and the spec's message tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Direction = Literal["import", "export"]
Kind = Literal["declaration", "receipt", "customs"]
SignatureRule = Literal["required", "optional", "none"]

NAMESPACE = "http://www.chinaport.gov.cn/ceb"
DS_NAMESPACE = "http://www.w3.org/2000/09/xmldsig#"


@dataclass(frozen=True, slots=True)
class MessageType:
    """One CEB message type: `code` like ``CEB621``, `root` like ``CEB621Message``."""

    code: str
    direction: Direction
    kind: Kind
    name_zh: str
    name_en: str
    receipt: str | None = None
    # Signature rule as the XSD enforces it (minOccurs of ds:Signature).
    signature_xsd: SignatureRule = "none"
    # Signature rule as the spec's header table states it (签名节点 必填); stricter for some export messages.
    signature_spec: SignatureRule = "none"

    @property
    def root(self) -> str:
        return f"{self.code}Message"

    @property
    def signature_before_extend(self) -> bool:
        """Export schemas place ds:Signature before ExtendMessage; import schemas after it."""
        return self.direction == "export"


def _decl(
    code: str, direction: Direction, zh: str, en: str, receipt: str, xsd: SignatureRule, spec: SignatureRule
) -> MessageType:
    return MessageType(code, direction, "declaration", zh, en, receipt, xsd, spec)


def _rcpt(code: str, direction: Direction, zh: str, en: str) -> MessageType:
    return MessageType(code, direction, "receipt", zh, en)


def _customs(code: str, direction: Direction, zh: str, en: str) -> MessageType:
    return MessageType(code, direction, "customs", zh, en)


_ALL = (
    # Import (跨境进口)
    _decl("CEB311", "import", "电子订单", "Order", "CEB312", "optional", "optional"),
    _rcpt("CEB312", "import", "电子订单回执", "Order receipt"),
    _decl("CEB411", "import", "支付凭证", "Payment voucher", "CEB412", "optional", "optional"),
    _rcpt("CEB412", "import", "支付凭证回执", "Payment voucher receipt"),
    _decl("CEB511", "import", "物流运单", "Waybill", "CEB512", "optional", "optional"),
    _rcpt("CEB512", "import", "物流运单回执", "Waybill receipt"),
    _decl("CEB513", "import", "物流运单状态", "Waybill status", "CEB514", "optional", "optional"),
    _rcpt("CEB514", "import", "物流运单状态回执", "Waybill status receipt"),
    _decl("CEB621", "import", "进口清单", "Import declaration list", "CEB622", "required", "required"),
    _rcpt("CEB622", "import", "进口清单回执", "Import declaration list receipt"),
    _decl("CEB623", "import", "撤销申请单", "Cancellation request", "CEB624", "required", "required"),
    _rcpt("CEB624", "import", "撤销申请单回执", "Cancellation request receipt"),
    _decl("CEB625", "import", "退货申请单", "Return request", "CEB626", "required", "required"),
    _rcpt("CEB626", "import", "退货申请单回执", "Return request receipt"),
    _decl("CEB711", "import", "入库明细单", "Warehouse entry detail", "CEB712", "required", "required"),
    _rcpt("CEB712", "import", "入库明细单回执", "Warehouse entry detail receipt"),
    _customs("CEB816", "import", "电子税单", "Electronic tax bill"),
    _customs("CEB818", "import", "电子税单状态", "Electronic tax bill status"),
    _customs("CEB900", "import", "报文格式校验回执", "Message format check receipt"),
    # Export (跨境出口)
    _decl(
        "CEB213", "export", "零售出口退货申请单", "Export return request", "CEB214", "optional", "optional"
    ),
    _rcpt("CEB214", "export", "退货申请单回执", "Export return request receipt"),
    _decl(
        "CEB215",
        "export",
        "出口退运理货明细单（运抵）",
        "Export return tally detail (arrival)",
        "CEB216",
        "optional",
        "optional",
    ),
    _rcpt("CEB216", "export", "理货明细单回执", "Export return tally detail receipt"),
    _decl("CEB303", "export", "电子订单", "Export order", "CEB304", "optional", "optional"),
    _rcpt("CEB304", "export", "电子订单回执", "Export order receipt"),
    _decl("CEB403", "export", "收款单", "Payment receipt (collection)", "CEB404", "optional", "optional"),
    _rcpt("CEB404", "export", "收款单回执", "Collection receipt"),
    _decl("CEB505", "export", "物流运单", "Export waybill", "CEB506", "optional", "optional"),
    _rcpt("CEB506", "export", "物流运单回执", "Export waybill receipt"),
    _decl("CEB507", "export", "运抵单", "Arrival report", "CEB508", "optional", "optional"),
    _rcpt("CEB508", "export", "运抵单回执", "Arrival report receipt"),
    _decl("CEB509", "export", "离境单", "Departure report", "CEB510", "optional", "required"),
    _rcpt("CEB510", "export", "离境单回执", "Departure report receipt"),
    _decl("CEB603", "export", "申报清单", "Export declaration list", "CEB604", "optional", "required"),
    _rcpt("CEB604", "export", "申报清单回执", "Export declaration list receipt"),
    _decl("CEB605", "export", "撤销申请单", "Export cancellation request", "CEB606", "optional", "required"),
    _rcpt("CEB606", "export", "撤销申请单回执", "Export cancellation request receipt"),
    _decl("CEB607", "export", "清单总分单", "Master/house bill list", "CEB608", "optional", "required"),
    _rcpt("CEB608", "export", "清单总分单回执", "Master/house bill list receipt"),
    _decl("CEB701", "export", "汇总申请单", "Summary application", "CEB702", "optional", "required"),
    _rcpt("CEB702", "export", "汇总申请单回执", "Summary application receipt"),
    _customs("CEB792", "export", "汇总结果单", "Summary result"),
)

MESSAGE_TYPES: dict[str, MessageType] = {m.code: m for m in _ALL}
IMPORT_CODES = tuple(m.code for m in _ALL if m.direction == "import")
EXPORT_CODES = tuple(m.code for m in _ALL if m.direction == "export")


def message_type(code_or_root: str) -> MessageType:
    """Look up by ``CEB621``, ``CEB621Message`` or ``621``; KeyError with a clear text otherwise."""
    key = code_or_root.strip()
    if key.endswith("Message"):
        key = key[: -len("Message")]
    if key.isdigit():
        key = "CEB" + key
    key = key.upper()
    try:
        return MESSAGE_TYPES[key]
    except KeyError:
        raise KeyError(
            f"未知的报文类型 {code_or_root!r} / unknown CEB message type {code_or_root!r}"
        ) from None
