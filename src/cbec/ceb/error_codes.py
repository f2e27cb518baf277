"""The official error codes of the CEB spec (202205版 §7), as data: code → 中文 text, with our English.

Two tables in the spec: four-digit DXP data-exchange codes (表7-1, e.g. ``0002`` schema failure) and
negative business codes (表7-2) that customs puts in a receipt's ``returnStatus`` ("若小于0数字表示处理异常
回执"). The Chinese text is the official wording, ``[*]`` being a placeholder customs fills in. The official
table gives two different texts for ``-621027`` and for ``-625022``; both are kept, in table order, so a
lookup returns every meaning a code may carry.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

__all__ = [
    "ERROR_CODES",
    "ErrorCode",
    "duplicated_codes",
    "error_codes",
    "error_text",
]


@dataclass(frozen=True, slots=True)
class ErrorCode:
    """One row of the official error tables."""

    code: str
    zh: str
    en: str

    @property
    def category(self) -> tuple[str, str]:
        """The range the code belongs to (中文, English), as the spec groups them."""
        return _category(self.code)


# (code, 中文 as in the spec, English written for this project)
_ROWS: tuple[tuple[str, str, str], ...] = (
    # 表7-1 数据交换平台错误信息 (DXP)
    ("0001", "报文格式错误", "malformed message"),
    ("0002", "数据包不能通过 schema 验证", "the data package does not pass schema validation"),
    ("0999", "其他格式错误", "other format error"),
    ("1001", "数字签名无效", "invalid digital signature"),
    ("1002", "数字签名过期", "digital signature expired"),
    ("1003", "报文解密错误", "message decryption error"),
    ("1004", "签名与数据不符", "the signature does not match the data"),
    ("1999", "其他安全错误", "other security error"),
    ("2001", "指定的接收方不存在", "the specified receiver does not exist"),
    (
        "2002",
        "地址不匹配，报文的实际接收方与该报文的“接收方”定义不同",
        "address mismatch: the actual receiver differs from the receiver named in the message",
    ),
    ("2999", "其他业务逻辑错误", "other business logic error"),
    ("3001", "数据库、中间件等系统错误", "system error (database, middleware, …)"),
    ("3002", "远程连接错误", "remote connection error"),
    ("3003", "远程连接超时", "remote connection timed out"),
    ("3999", "其他系统级错误", "other system-level error"),
    # 表7-2 业务报文错误信息: enterprise
    ("-10101", "无效企业类型", "invalid enterprise type"),
    ("-10102", "无效企业代码", "invalid enterprise code"),
    # order (订单)
    ("-301001", "订单商品表体信息不存在", "the order has no goods lines"),
    ("-301002", "订单商品信息内有重复商品序号", "the order goods lines repeat a line number"),
    ("-301003", "订单信息查询不存在[*]", "order not found [*]"),
    ("-301004", "订单信息查询不存在[*]", "order not found [*]"),
    ("-301005", "[*]订单信息查询不存在", "[*] order not found"),
    ("-301006", "[*]检索到多条订单信息", "[*] matches more than one order"),
    ("-301007", "订单业务报文信息不能为空", "the order business message must not be empty"),
    ("-301008", "参数校验不通过，*", "parameter validation failed: *"),
    (
        "-301009",
        "订单标识(appType)不正确,未找到操作的订单",
        "wrong appType: the order to change or delete was not found",
    ),
    ("-301010", "已存在相同编号的订单", "an order with the same number already exists"),
    (
        "-301011",
        "该订单已向海关申报清单，状态不符",
        "a list has already been declared for this order; wrong status",
    ),
    ("-301012", "订单报文处理失败，未找到对应操作", "order message processing failed: no matching operation"),
    ("-301013", "订单报文处理失败，系统异常", "order message processing failed: system error"),
    (
        "-301014",
        "订单报文处理失败，接收报文为旧报文数据，不做处理",
        "order message processing failed: the message carries older data and was ignored",
    ),
    (
        "-301015",
        "订单报文处理失败，报文表头数据超过限制",
        "order message processing failed: too many heads in the message",
    ),
    # payment (支付单)
    ("-401001", "支付凭证查询不存在[*]", "payment voucher not found [*]"),
    ("-401002", "支付状态查询不存在[*]", "payment status not found [*]"),
    ("-401003", "[*]对应多条支付凭证", "[*] matches more than one payment voucher"),
    ("-401004", "[*]对应支付凭证查询不存在", "no payment voucher found for [*]"),
    ("-401005", "支付单业务报文不能为空", "the payment business message must not be empty"),
    (
        "-401006",
        "支付单标识(appType)不正确,未找到对应操作的支付单",
        "wrong appType: the payment to change or delete was not found",
    ),
    ("-401007", "已存在相同编号的支付单", "a payment with the same number already exists"),
    (
        "-401008",
        "该支付单已向海关申报支付单，状态不符",
        "this payment has already been declared to customs; wrong status",
    ),
    (
        "-401009",
        "参数校验不通过，[paymentHead,payment]",
        "parameter validation failed: [paymentHead,payment]",
    ),
    (
        "-401010",
        "支付单报文处理失败，未找到对应操作",
        "payment message processing failed: no matching operation",
    ),
    ("-401011", "支付单报文处理失败，系统异常", "payment message processing failed: system error"),
    (
        "-401012",
        "支付单报文处理失败，接收报文为旧报文数据，不做处理",
        "payment message processing failed: the message carries older data and was ignored",
    ),
    (
        "-401013",
        "支付单报文处理失败，报文表头数据超过限制",
        "payment message processing failed: too many heads in the message",
    ),
    # waybill (运单)
    ("-504000", "运单报文解析失败！", "the waybill message could not be parsed"),
    ("-504010", "运单业务报文不能为空", "the waybill business message must not be empty"),
    ("-504011", "参数校验不通过，*", "parameter validation failed: *"),
    ("-504012", "物流运单已存在", "the waybill already exists"),
    ("-504013", "物流运单报文数量超过限制", "too many waybills in the message"),
    (
        "-504014",
        "运单标识(appType)不正确,未找到操作的运单",
        "wrong appType: the waybill to change or delete was not found",
    ),
    ("-504015", "已存在相同编号的运单", "a waybill with the same number already exists"),
    (
        "-504016",
        "该运单已向海关申报运单，状态不符",
        "this waybill has already been declared to customs; wrong status",
    ),
    # waybill status (运单状态)
    ("-505000", "运单状态报文解析失败！", "the waybill status message could not be parsed"),
    ("-505010", "运单状态业务报文不能为空", "the waybill status business message must not be empty"),
    ("-505011", "参数校验不通过", "parameter validation failed"),
    ("-505012", "物流运单状态已存在", "the waybill status already exists"),
    ("-505013", "物流运单状态报文数量超过限制", "too many waybill statuses in the message"),
    (
        "-505014",
        "物流运单状态报文处理失败，未找到对应操作",
        "waybill status message processing failed: no matching operation",
    ),
    ("-505015", "物流报文处理失败，系统异常", "logistics message processing failed: system error"),
    (
        "-505016",
        "物流报文处理失败，接收报文为旧报文数据，不做处理",
        "logistics message processing failed: the message carries older data and was ignored",
    ),
    (
        "-505017",
        "报文处理失败，报文表头数据超过限制",
        "message processing failed: too many heads in the message",
    ),
    # import list (清单)
    (
        "-621000",
        "CEB621Message 接收失败，清单表体为空，报文业务主键[*]",
        "CEB621Message refused: the list has no lines, business key [*]",
    ),
    ("-621001", "清单报文校验失败，[*]", "list message validation failed: [*]"),
    ("-621002", "四单回执解析失败，[*]！", "the four-document receipt could not be parsed: [*]"),
    ("-621003", "清单申报失败，[*]", "list declaration failed: [*]"),
    (
        "-621004",
        "清单[*]已经申报过，请勿重复申报",
        "list [*] has already been declared; do not declare it again",
    ),
    (
        "-621005",
        "清单[*]的购买金额超过单笔限额[[*]]",
        "the purchase amount of list [*] exceeds the single-transaction limit [[*]]",
    ),
    ("-621006", "未找到 headGuid 为[*]的清单", "no list with headGuid [*] was found"),
    (
        "-621008",
        "清单[*]发送海关成功，更新状态时发生错误",
        "list [*] was sent to customs, but updating its status failed",
    ),
    (
        "-621009",
        "清单[*]发送海关失败，更新状态时发生错误",
        "sending list [*] to customs failed, and updating its status failed",
    ),
    (
        "-621010",
        "申报清单[*]发生错误，状态不是申报中",
        "error declaring list [*]: its status is not 'declaring'",
    ),
    (
        "-621011",
        "不存在已申报的清单[*]，无法进行改单操作",
        "no declared list [*] exists, so it cannot be changed",
    ),
    (
        "-621012",
        "清单[*]的申报状态不符合改单申报的条件",
        "the declaration status of list [*] does not allow a change declaration",
    ),
    ("-621013", "清单[*]，查询个人限额失败", "list [*]: querying the personal limit failed"),
    (
        "-621014",
        "清单[*]，核增个人[*]消费金额时出错",
        "list [*]: error adding to the spending of individual [*]",
    ),
    (
        "-621015",
        "*[*]与卡信息[*]不匹配，没有权限进行操作",
        "*[*] does not match the card information [*]; not authorised",
    ),
    ("-621016", "[*]没有权限进行操作", "[*] is not authorised for this operation"),
    ("-621017", "系统发生异常", "system error"),
    (
        "-621018",
        "清单[*]中购买人[*]已用购买额度为[*]，本次购买将超过年度限额[*]",
        "list [*]: buyer [*] has used [*] of the quota; this purchase would exceed the annual limit [*]",
    ),
    ("-621019", "查无此数据", "no such data"),
    ("-621020", "请求参数错误，请重试", "wrong request parameters; please retry"),
    (
        "-621021",
        "申报失败[主键为空或未找到数据]，请重试",
        "declaration failed [empty key or data not found]; please retry",
    ),
    ("-621022", "申报失败[*]，请重试", "declaration failed [*]; please retry"),
    ("-621023", "执行改单操作时发生错误，请重试", "error while changing the list; please retry"),
    ("-621024", "所有清单的表体均为空，无法完成申报操作", "every list has no lines; cannot declare"),
    ("-621025", "保存签名信息发生错误！", "error saving the signature information"),
    ("-621026", "保存签名信息发生错误,签名信息为空！", "error saving the signature information: it is empty"),
    ("-621027", "保存失败，请确认状态并刷新重试", "saving failed; check the status, refresh and retry"),
    ("-621027", "请确认表体 gnum 无重复！", "make sure no line number gnum is repeated"),
    ("-621028", "加签数据比对失败！", "the signed data does not match"),
    ("-621029", "验签失败！", "signature verification failed"),
    (
        "-621030",
        "CEB621Message 接收失败[*]，清单数据超过限制！",
        "CEB621Message refused [*]: too many lists in the message",
    ),
    # cancellation request (撤单申请单)
    (
        "-623000",
        "CEB623Message 接收失败，撤单清单为空，报文业务主键[*]",
        "CEB623Message refused: the cancellation is empty, business key [*]",
    ),
    ("-623001", "报文校验失败，[*]", "message validation failed: [*]"),
    ("-623002", "回执解析失败，[*]！", "the receipt could not be parsed: [*]"),
    ("-623003", "系统中不存在清单编号为[*]的清单！", "no list with list number [*] exists"),
    ("-623004", "查无此数据", "no such data"),
    (
        "-623005",
        "清单的状态不符合撤单申报要求(清单编号[*])！",
        "the list status does not allow a cancellation (list number [*])",
    ),
    (
        "-623006",
        "撤单清单[*]发送海关成功，更新状态时发生错误",
        "cancellation [*] was sent to customs, but updating its status failed",
    ),
    (
        "-623007",
        "撤单清单[*]发送海关失败，更新状态时发生错误",
        "sending cancellation [*] to customs failed, and updating its status failed",
    ),
    (
        "-623008",
        "CEB623Message 接收失败[*]，数据超过限制！",
        "CEB623Message refused [*]: too much data in the message",
    ),
    ("-623009", "撤单清单[*]已经申报过", "cancellation [*] has already been declared"),
    ("-623010", "第*条，企业内部编号[*]:[*]<br />", "item *, enterprise internal number [*]: [*]"),
    (
        "-623011",
        "生成失败[主键为空或未找到数据]，请重试",
        "generation failed [empty key or data not found]; please retry",
    ),
    ("-623012", "生成失败[撤单原因为空]，请重试", "generation failed [no cancellation reason]; please retry"),
    ("-623013", "撤单状态[*]不符合删除条件", "cancellation status [*] does not allow deletion"),
    ("-623014", "校验失败[*]", "validation failed [*]"),
    ("-623016", "保存签名信息发生错误！", "error saving the signature information"),
    ("-623017", "保存签名信息发生错误,签名信息为空！", "error saving the signature information: it is empty"),
    ("-623018", "请求参数错误，请重试", "wrong request parameters; please retry"),
    (
        "-623019",
        "申报失败[主键为空或未找到数据]，请重试",
        "declaration failed [empty key or data not found]; please retry",
    ),
    ("-623020", "申报失败[*]，请重试", "declaration failed [*]; please retry"),
    (
        "-623021",
        "*[*]与卡信息[*]不匹配，没有权限进行操作",
        "*[*] does not match the card information [*]; not authorised",
    ),
    ("-623022", "保存失败，请确认状态并刷新重试", "saving failed; check the status, refresh and retry"),
    ("-623023", "撤单清单申报失败，[*]", "cancellation declaration failed: [*]"),
    (
        "-623024",
        "通过界面申报清单[*]发生错误，状态不是申报中",
        "error declaring list [*] through the user interface: its status is not 'declaring'",
    ),
    (
        "-623025",
        "清单[*]，核增个人[*]消费金额时出错",
        "list [*]: error adding to the spending of individual [*]",
    ),
    ("-623026", "[*]没有权限进行操作", "[*] is not authorised for this operation"),
    ("-623027", "系统发生异常", "system error"),
    ("-623028", "申报请求发送失败[*]", "sending the declaration request failed [*]"),
    ("-623029", "验签失败*！", "signature verification failed *"),
    # return request (退货申请单)
    ("-625001", "退货申请单报文校验失败，[*]", "return request message validation failed: [*]"),
    ("-625002", "四单回执解析失败，[*]！", "the four-document receipt could not be parsed: [*]"),
    ("-625003", "退货申请单业务报文不能为空！", "the return request business message must not be empty"),
    ("-625004", "退货申请单申报失败，[*]", "return request declaration failed: [*]"),
    ("-625005", "退货申请单[*]验签失败！", "signature verification of return request [*] failed"),
    (
        "-625006",
        "退货申请单[*]表体无数据，不允许申报！",
        "return request [*] has no lines and cannot be declared",
    ),
    (
        "-625007",
        "退货申请单[*]表体第[*]项商品未备案！",
        "return request [*], line [*]: the goods are not registered",
    ),
    (
        "-625008",
        "退货申请单预录入号应由电子口岸生成！",
        "the pre-entry number of a return request must be generated by the e-port",
    ),
    (
        "-625009",
        "退货申请单[*]表体第[*]项的第二数量与第二单位不符合规则（当第二单位为空时，第二数量应为空；"
        "当第二单位有值时，第二数量应为正数）！",
        "return request [*], line [*]: second quantity and second unit break the rule (no second unit: "
        "no second quantity; a second unit: a positive second quantity)",
    ),
    (
        "-625010",
        "退货申请单[*]表体第[*]项的*[*]与备案库[*]不一致！",
        "return request [*], line [*]: *[*] differs from the registration record [*]",
    ),
    (
        "-625011",
        "退货申请单[*]表体第[*]项在参数库中没有匹配商品编号[*]的商品！",
        "return request [*], line [*]: no goods with commodity code [*] in the parameter library",
    ),
    (
        "-625012",
        "退货申请单[*]表体第[*]项的*[*]与参数库[*]不一致！",
        "return request [*], line [*]: *[*] differs from the parameter library [*]",
    ),
    (
        "-625013",
        "退货申请单[*]和证书中的“申报单位代码/名称”不一致！",
        "return request [*] and the certificate disagree on the declarant code/name",
    ),
    (
        "-625022",
        "退货申请单[*]已经申报过，请勿重复申报",
        "return request [*] has already been declared; do not declare it again",
    ),
    ("-625014", "退货申请单[*]金额超过单笔限额", "return request [*] exceeds the single-transaction limit"),
    (
        "-625015",
        "退货申请单[*]中购买人[*]的购买金额超过限额",
        "return request [*]: the purchases of buyer [*] exceed the limit",
    ),
    ("-625016", "查无此数据", "no such data"),
    ("-625017", "请求参数错误，请重试", "wrong request parameters; please retry"),
    (
        "-625018",
        "申报失败[主键为空或未找到数据]，请重试",
        "declaration failed [empty key or data not found]; please retry",
    ),
    ("-625019", "申报失败[系统错误]，请重试", "declaration failed [system error]; please retry"),
    (
        "-625020",
        "*[*]与卡信息[*]不匹配，没有权限进行操作",
        "*[*] does not match the card information [*]; not authorised",
    ),
    ("-625021", "[*]没有权限进行操作", "[*] is not authorised for this operation"),
    (
        "-625022",
        "退货申请单[*]的申报状态不符合改单申报的条件",
        "the declaration status of return request [*] does not allow a change declaration",
    ),
    (
        "-625023",
        "所有退货申请单的表体均为空，无法完成批量申报操作",
        "every return request has no lines; the batch cannot be declared",
    ),
    (
        "-625024",
        "退货申请单[*]，核增个人[*]消费金额时出错",
        "return request [*]: error adding to the spending of individual [*]",
    ),
    (
        "-625025",
        "退货申请单[*]，新增个人消费金额时出错",
        "return request [*]: error recording the individual's spending",
    ),
    ("-625026", "退货申请单[*]，查询个人限额失败", "return request [*]: querying the personal limit failed"),
    ("-625027", "保存签名信息发生错误！", "error saving the signature information"),
    ("-625028", "保存签名信息发生错误,签名信息为空！", "error saving the signature information: it is empty"),
    ("-625029", "保存失败，请确认状态并刷新重试", "saving failed; check the status, refresh and retry"),
    ("-625030", "申报失败[*]，请重试", "declaration failed [*]; please retry"),
    (
        "-625031",
        "所有退货申请单的表体均为空，无法完成批量申报操作",
        "every return request has no lines; the batch cannot be declared",
    ),
    ("-625032", "查无此数据", "no such data"),
    (
        "-625033",
        "退货申请单[*]已经申报过，请勿重复申报",
        "return request [*] has already been declared; do not declare it again",
    ),
    ("-625110", "系统发生异常", "system error"),
    (
        "-625113",
        "*[*]与卡信息[*]不匹配，没有权限进行操作",
        "*[*] does not match the card information [*]; not authorised",
    ),
    ("-625114", "[*]没有权限进行操作", "[*] is not authorised for this operation"),
    ("-625116", "系统发生异常", "system error"),
    (
        "-625200",
        "CEB625Message 接收失败，退货申请单为空，报文业务主键[*]",
        "CEB625Message refused: the return request is empty, business key [*]",
    ),
    (
        "-625202",
        "退货申请单[*]发送海关成功，更新状态时发生错误",
        "return request [*] was sent to customs, but updating its status failed",
    ),
    (
        "-625203",
        "退货申请单[*]发送海关失败，更新状态时发生错误",
        "sending return request [*] to customs failed, and updating its status failed",
    ),
    ("-625204", "未找到 headGuid 为[*]的清单", "no list with headGuid [*] was found"),
    (
        "-625205",
        "通过界面申报清单[*]发生错误，状态不是申报中",
        "error declaring list [*] through the user interface: its status is not 'declaring'",
    ),
    (
        "-625206",
        "退货申请单[*]发送海关成功，更新状态时发生错误",
        "return request [*] was sent to customs, but updating its status failed",
    ),
    (
        "-625207",
        "退货申请单[*]发送海关失败，更新状态时发生错误",
        "sending return request [*] to customs failed, and updating its status failed",
    ),
    ("-625208", "验签失败*！", "signature verification failed *"),
    (
        "-625209",
        "退货申请单[*],在关联的清单中未找到表体序号为[*],商品编号为[*]的数据",
        "return request [*]: the linked list has no line with number [*] and commodity code [*]",
    ),
    # warehouse entry detail (入库明细单)
    ("-800000", "入库明细单表体信息不存在", "the warehouse entry detail has no lines"),
    ("-800001", "校验不通过，[错误信息]", "validation failed: [error message]"),
    ("-800002", "入库明细单报文解析失败", "the warehouse entry detail message could not be parsed"),
    ("-800003", "入库明细单报已存在", "the warehouse entry detail already exists"),
    (
        "-800004",
        "入库明细单报文处理失败，系统异常",
        "warehouse entry detail processing failed: system error",
    ),
    (
        "-800005",
        "入库明细单报文处理失败，接收报文为旧报文数据，不做处理",
        "warehouse entry detail processing failed: the message carries older data and was ignored",
    ),
    (
        "-800006",
        "入库明细单报文处理失败，报文表头数据超过限制",
        "warehouse entry detail processing failed: too many heads in the message",
    ),
)

#: Every row of the official tables, in table order (duplicated codes appear twice).
ERROR_CODES: tuple[ErrorCode, ...] = tuple(ErrorCode(code, zh, en) for code, zh, en in _ROWS)

# Code ranges as the spec groups them: (low, high) inclusive → (中文, English). Positive codes are DXP codes.
_RANGES: tuple[tuple[int, int, str, str], ...] = (
    (1, 999, "报文格式错误", "message format error"),
    (1000, 1999, "报文安全错误", "message security error"),
    (2000, 2999, "报文业务逻辑错误", "message routing/business logic error"),
    (3000, 3999, "系统级错误", "system-level error"),
    (4000, 9999, "其他错误（用户可扩展）", "other error (user-defined)"),
    (-10199, -10100, "企业错误信息", "enterprise error"),
    (-301999, -301000, "订单", "order"),
    (-401999, -401000, "支付单", "payment"),
    (-504999, -502000, "运单", "waybill"),
    (-505999, -505000, "运单状态", "waybill status"),
    (-621999, -621000, "清单", "import list"),
    (-623999, -623000, "撤单申请单", "cancellation request"),
    (-625999, -625000, "退货申请单", "return request"),
    (-800999, -800000, "入库明细单", "warehouse entry detail"),
)


def _category(code: str) -> tuple[str, str]:
    try:
        value = int(code)
    except ValueError:
        return ("未知", "unknown")
    for low, high, zh, en in _RANGES:
        if low <= value <= high:
            return (zh, en)
    return ("未归类", "unclassified")


@cache
def _index() -> dict[str, tuple[ErrorCode, ...]]:
    index: dict[str, list[ErrorCode]] = {}
    for row in ERROR_CODES:
        index.setdefault(row.code, []).append(row)
    return {code: tuple(rows) for code, rows in index.items()}


def _key(code: str | int) -> str:
    if isinstance(code, int):
        return f"{code:04d}" if code >= 0 else str(code)
    return code.strip()


def error_codes(code: str | int) -> tuple[ErrorCode, ...]:
    """Every official meaning of `code` (two for ``-621027`` and ``-625022``); empty when not in the tables.

    DXP codes are four digits: ``2`` and ``"0002"`` find the same row.
    """
    return _index().get(_key(code), ())


def error_text(code: str | int) -> tuple[str, str] | None:
    """(中文, English) of a code, the alternatives joined when the official table gives several."""
    rows = error_codes(code)
    if not rows:
        return None
    return ("；或：".join(r.zh for r in rows), "; or: ".join(r.en for r in rows))


def duplicated_codes() -> tuple[str, ...]:
    """Codes the official table lists with more than one text."""
    return tuple(code for code, rows in _index().items() if len(rows) > 1)
