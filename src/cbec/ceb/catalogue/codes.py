"""Code lists and value formats the spec states for CEB fields.

The XSD carries almost no enumerations: the allowed codes live in the spec's field descriptions. They are
written here as data, each with its meaning in Chinese and English. Wide national code tables (JGS-20
currency, country, unit; JGS/T 18 customs districts) are reference data loaded elsewhere, not here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CodeList:
    """Allowed values of a field with their meanings; `name` identifies the list in problems."""

    name: str
    codes: dict[str, tuple[str, str]]  # code -> (中文, English)

    def __contains__(self, code: object) -> bool:
        return code in self.codes

    def describe(self) -> str:
        return ", ".join(f"{c}-{zh}" for c, (zh, _en) in self.codes.items())


APP_TYPE = CodeList("appType", {"1": ("新增", "new"), "2": ("变更", "change"), "3": ("删除", "delete")})
APP_STATUS = CodeList("appStatus", {"1": ("暂存", "draft"), "2": ("申报", "declare")})
ORDER_TYPE_IMPORT = CodeList("orderType", {"I": ("进口", "import")})
ORDER_TYPE_EXPORT = CodeList(
    "orderType",
    {
        "E": ("B2C出口订单", "B2C export order"),
        "B": ("B2B出口订单", "B2B export order"),
        "W": ("海外仓订仓单", "overseas-warehouse booking"),
    },
)
CURRENCY_CNY = CodeList("currency", {"142": ("人民币", "Chinese yuan")})
ID_TYPE = CodeList("idType", {"1": ("身份证", "resident identity card")})
LOGISTICS_STATUS = CodeList("logisticsStatus", {"S": ("签收", "signed for")})
IE_FLAG_IMPORT = CodeList("ieFlag", {"I": ("进口", "import")})
IE_FLAG = CodeList("ieFlag", {"I": ("进口", "import"), "E": ("出口", "export")})
TRADE_MODE_IMPORT = CodeList(
    "tradeMode",
    {"9610": ("直购进口", "direct-purchase import"), "1210": ("保税进口", "bonded import")},
)
TRADE_MODE_EXPORT = CodeList(
    "tradeMode",
    {
        "9610": ("一般出口", "general B2C export"),
        "1210": ("特殊区域出口", "special-zone export"),
        "1239": ("特殊区域出口（保税电商A）", "special-zone export (bonded e-commerce A)"),
        "9710": ("跨境电商B2B直接出口", "B2B direct export"),
        "9810": ("跨境电商出口海外仓", "export to overseas warehouse"),
    },
)
STATISTICS_FLAG = CodeList(
    "statisticsFlag", {"A": ("简化申报", "simplified declaration"), "B": ("汇总申报", "summary declaration")}
)
FEE_FLAG = CodeList("feeFlag", {"1": ("率", "rate"), "2": ("单价", "unit price"), "3": ("总价", "total")})
SUBSCRIBE_STATUS = CodeList(
    "subscribeStatus",
    {
        "ALL": ("订阅数据和回执", "data and receipts"),
        "DATA": ("只订阅数据", "data only"),
        "RET": ("只订阅回执", "receipts only"),
    },
)
DXP_MODE = CodeList("dxpMode", {"DXP": ("中国电子口岸数据交换平台", "China E-port data exchange platform")})
TAX_STATUS = CodeList(
    "taxStatus", {"1": ("已生成", "generated"), "2": ("已汇总", "summarized"), "3": ("作废", "void")}
)
SUMMARY_FLAG = CodeList(
    "summaryFlag",
    {
        "1": ("按收发货人单一汇总", "by consignor"),
        "2": ("按收发货人和生产销售单位汇总", "by consignor and producer/seller"),
    },
)

#: field name -> code list, for every node of the given direction that has the field.
_BY_FIELD: dict[str, dict[str, CodeList]] = {
    "import": {
        "appType": APP_TYPE,
        "appStatus": APP_STATUS,
        "orderType": ORDER_TYPE_IMPORT,
        "currency": CURRENCY_CNY,
        "buyerIdType": ID_TYPE,
        "payerIdType": ID_TYPE,
        "logisticsStatus": LOGISTICS_STATUS,
        "ieFlag": IE_FLAG_IMPORT,
        "tradeMode": TRADE_MODE_IMPORT,
        "dxpMode": DXP_MODE,
    },
    "export": {
        "appType": APP_TYPE,
        "appStatus": APP_STATUS,
        "orderType": ORDER_TYPE_EXPORT,
        "ieFlag": IE_FLAG,
        "tradeMode": TRADE_MODE_EXPORT,
        "statisticsFlag": STATISTICS_FLAG,
        "fFlag": FEE_FLAG,
        "iFlag": FEE_FLAG,
        "dxpMode": DXP_MODE,
        "summaryFlag": SUMMARY_FLAG,
    },
}

#: (node key, field) -> code list where the node decides, overriding the by-field table (None = no list).
_BY_NODE: dict[tuple[str, str], CodeList | None] = {
    ("import:BaseSubscribe", "status"): SUBSCRIBE_STATUS,
    ("export:BaseSubscribe", "status"): SUBSCRIBE_STATUS,
    ("import:TaxHeadRd", "status"): TAX_STATUS,
    ("import:TaxHeadStatus", "status"): TAX_STATUS,
}


def fixed_list(base: CodeList | None, field: str, fixed: str) -> CodeList:
    """The XSD fixes the value (e.g. export fFlag/iFlag = 3): only that code, with its meaning if known."""
    meaning = base.codes.get(fixed) if base is not None else None
    return CodeList(base.name if base is not None else field, {fixed: meaning or ("固定值", "fixed value")})


def code_list(direction: str, node_key: str, field: str) -> CodeList | None:
    """The code list that applies to `field` in node `node_key`, or None."""
    if (node_key, field) in _BY_NODE:
        return _BY_NODE[(node_key, field)]
    return _BY_FIELD[direction].get(field)


# Value formats: field name -> format, applied where the XSD length agrees with the format's length.
DATE8 = "YYYYMMDD"
DATETIME14 = "YYYYMMDDhhmmss"
DATETIME17 = "YYYYMMDDhhmmssSSS"
_FORMAT_FIELDS = {
    "appTime",
    "payTime",
    "logisticsTime",
    "accountingDate",
    "leaveTime",
    "declTime",
    "ieDate",
    "returnTime",
    "startTime",
    "endTime",
    "opDate",
}
_FORMAT_BY_LENGTH = {8: DATE8, 14: DATETIME14, 17: DATETIME17}


def value_format(field: str, min_length: int | None, max_length: int | None) -> str | None:
    """Date/time format of a field, decided by its name and its fixed XSD length."""
    if field in _FORMAT_FIELDS and max_length is not None and min_length == max_length:
        return _FORMAT_BY_LENGTH.get(max_length)
    return None
