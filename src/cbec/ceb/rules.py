"""Business rules the spec states for single messages, beyond what the schema can express.

Each rule reads one message and adds problems with the official code customs uses. Cross-document rules
(order vs payment vs waybill vs list) need several messages and live in the clearance engine.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from cbec.ceb.check import Context
from cbec.ceb.identity import id_card_problem
from cbec.ceb.model import Message, Node
from cbec.ceb.problems import NO_LINES_CODE

Rule = Callable[[Message, Context], None]

# Official codes for specific rule failures.
ORDER_DUPLICATE_GNUM = "-301002"
LIST_DUPLICATE_GNUM = "-621027"


def _dec(node: Node, name: str) -> Decimal | None:
    value = node.values.get(name)
    return value if isinstance(value, Decimal) else None


def _text(node: Node, name: str) -> str:
    value = node.values.get(name)
    return value if isinstance(value, str) else ""


def _docs(message: Message) -> list[tuple[str, Node]]:
    body = message.mspec.body
    nodes = message.children.get(body.name, [])
    return [(f"{body.name}[{i}]", n) for i, n in enumerate(nodes, 1)]


def _one(parent: Node, name: str, path: str) -> tuple[str, Node | None]:
    return f"{path}/{name}", parent.child(name)


def _lines(parent: Node, name: str, path: str) -> list[tuple[str, Node]]:
    return [(f"{path}/{name}[{i}]", n) for i, n in enumerate(parent.children.get(name, []), 1)]


def no_lines(lines: list[tuple[str, Node]], path: str, node: str, ctx: Context) -> None:
    """A document without item lines, with the official code for its type (e.g. -621000)."""
    if not lines:
        ctx.add(
            f"{path}/{node}",
            "no_lines",
            f"单证表体 {node} 为空（无商品项）",
            f"the document has no item lines ({node})",
            code=NO_LINES_CODE[(ctx.code, node)],
        )


def gnum_sequence(lines: list[tuple[str, Node]], ctx: Context, *, duplicate_code: str | None = None) -> None:
    """Line numbers run 1..n without gaps or repeats (从1开始连续)."""
    seen: dict[int, str] = {}
    for path, line in lines:
        g = line.values.get("gnum")
        if not isinstance(g, int):
            continue
        if g in seen:
            ctx.add(
                f"{path}/gnum",
                "gnum_duplicate",
                f"表体序号 gnum={g} 重复（与 {seen[g]} 相同）",
                f"line number gnum={g} is repeated (same as {seen[g]})",
                code=duplicate_code,
            )
            continue
        seen[g] = path
        if g < 1:
            ctx.add(
                f"{path}/gnum",
                "gnum_sequence",
                f"表体序号 gnum 应从1开始，实际为 {g}",
                f"line numbers gnum start at 1, found {g}",
            )
    expected = set(range(1, len(seen) + 1))
    gaps = sorted(expected - set(seen))
    if gaps and lines:
        path = lines[0][0].rsplit("[", 1)[0]
        ctx.add(
            path,
            "gnum_sequence",
            f"表体序号 gnum 应从1开始连续，缺少 {', '.join(map(str, gaps))}",
            f"line numbers gnum must run 1..n without gaps; missing {', '.join(map(str, gaps))}",
        )


def line_totals(lines: list[tuple[str, Node]], ctx: Context) -> None:
    """totalPrice = price × qty on every line (赠品 price 0 gives total 0)."""
    tol = ctx.options.amount_tolerance
    for path, line in lines:
        price, qty, total = _dec(line, "price"), _dec(line, "qty"), _dec(line, "totalPrice")
        if price is None or qty is None or total is None:
            continue
        expected = price * qty
        if abs(expected - total) > tol:
            ctx.add(
                f"{path}/totalPrice",
                "line_total",
                f"总价 totalPrice={total} 与 单价×数量={expected.normalize():f} 不符",
                f"totalPrice {total} does not equal price × qty = {expected.normalize():f}",
            )


def id_numbers(node: Node, path: str, ctx: Context, pairs: tuple[tuple[str, str], ...]) -> None:
    """ID card checksum where the ID type is 1 (身份证); a warning, as the spec does not state it."""
    if not ctx.options.id_checksum:
        return
    for type_field, number_field in pairs:
        if node.values.get(type_field) != "1":
            continue
        number = node.values.get(number_field)
        if not isinstance(number, str) or not number:
            continue
        problem = id_card_problem(number)
        if problem:
            ctx.add(f"{path}/{number_field}", "id_card", problem[0], problem[1], severity="warning")


def signature_for_declare(message: Message, heads: list[tuple[str, Node]], ctx: Context) -> None:
    """appStatus=2 (申报) requires the ds:Signature element (CEB621/623/625 field notes)."""
    if message.signature is not None:
        return
    for path, head in heads:
        if head.values.get("appStatus") == "2":
            ctx.add(
                f"{path}/appStatus",
                "signature_for_declare",
                "业务状态为2-申报时必须加签（Signature 节点必填）",
                "appStatus 2 (declare) requires the message to be signed (ds:Signature)",
            )
            return


def _required_when(
    node: Node, path: str, names: tuple[str, ...], ctx: Context, zh_mode: str, en_mode: str
) -> None:
    for name in names:
        if not _text(node, name).strip():
            field = node.spec.fields[name]
            ctx.add(
                f"{path}/{name}",
                "mode_required",
                f"{zh_mode}必填 {name}（{field.zh}）",
                f"{name} ({field.en}) is required for {en_mode}",
            )


# ---- per message --------------------------------------------------------------------------------------


def ceb311(message: Message, ctx: Context) -> None:
    tol = ctx.options.amount_tolerance
    for path, order in _docs(message):
        hpath, head = _one(order, "OrderHead", path)
        lines = _lines(order, "OrderList", path)
        if head is not None:
            parts = [_dec(head, n) for n in ("goodsValue", "freight", "taxTotal", "discount", "acturalPaid")]
            amounts = [p for p in parts if p is not None]
            if len(amounts) == len(parts):
                goods, freight, tax, discount, paid = amounts
                expected = goods + freight + tax - discount
                if abs(expected - paid) > tol:
                    ctx.add(
                        f"{hpath}/acturalPaid",
                        "actural_paid",
                        f"实际支付金额 acturalPaid={paid} 应等于 商品价格+运杂费+代扣税款-非现金抵扣金额="
                        f"{expected.normalize():f}",
                        f"acturalPaid {paid} must equal goodsValue + freight + taxTotal - discount = "
                        f"{expected.normalize():f}",
                    )
            goods_value = _dec(head, "goodsValue")
            line_sum = sum((t for _p, n in lines if (t := _dec(n, "totalPrice")) is not None), Decimal(0))
            if goods_value is not None and lines and abs(line_sum - goods_value) > tol:
                ctx.add(
                    f"{hpath}/goodsValue",
                    "goods_value",
                    f"商品价格 goodsValue={goods_value} 与表体总价合计 {line_sum.normalize():f} 不符",
                    f"goodsValue {goods_value} differs from the sum of line totals {line_sum.normalize():f}",
                    severity="warning",
                )
            id_numbers(head, hpath, ctx, (("buyerIdType", "buyerIdNumber"),))
        no_lines(lines, path, "OrderList", ctx)
        gnum_sequence(lines, ctx, duplicate_code=ORDER_DUPLICATE_GNUM)
        line_totals(lines, ctx)


def ceb411(message: Message, ctx: Context) -> None:
    for path, payment in _docs(message):
        hpath, head = _one(payment, "PaymentHead", path)
        if head is not None:
            id_numbers(head, hpath, ctx, (("payerIdType", "payerIdNumber"),))


def _pack_one(node: Node, path: str, ctx: Context) -> None:
    pack = node.values.get("packNo")
    if isinstance(pack, int) and pack != 1:
        ctx.add(
            f"{path}/packNo",
            "pack_no",
            f"件数 packNo 限定为1，实际为 {pack}",
            f"packNo (number of packages) must be 1, found {pack}",
        )


def ceb511(message: Message, ctx: Context) -> None:
    for path, logistics in _docs(message):
        hpath, head = _one(logistics, "LogisticsHead", path)
        if head is not None:
            _pack_one(head, hpath, ctx)


def ceb621(message: Message, ctx: Context) -> None:
    heads = []
    for path, inventory in _docs(message):
        hpath, head = _one(inventory, "InventoryHead", path)
        lines = _lines(inventory, "InventoryList", path)
        if head is not None:
            heads.append((hpath, head))
            mode = head.values.get("tradeMode")
            if mode == "1210":
                _required_when(
                    head,
                    hpath,
                    ("emsNo", "areaCode", "areaName"),
                    ctx,
                    "保税进口（1210）",
                    "bonded import (1210)",
                )
                for lpath, line in lines:
                    _required_when(
                        line, lpath, ("itemRecordNo",), ctx, "保税进口（1210）", "bonded import (1210)"
                    )
                country = head.values.get("country")
                if isinstance(country, str) and country and country != "142":
                    ctx.add(
                        f"{hpath}/country",
                        "bonded_country",
                        f"保税进口起运国 country 应填142，实际为 {country}",
                        f"bonded import (1210) requires country 142, found {country}",
                    )
            elif mode == "9610":
                _required_when(
                    head,
                    hpath,
                    ("trafNo", "voyageNo", "billNo"),
                    ctx,
                    "直购进口（9610）",
                    "direct-purchase import (9610)",
                )
            _pack_one(head, hpath, ctx)
            id_numbers(head, hpath, ctx, (("buyerIdType", "buyerIdNumber"),))
        no_lines(lines, path, "InventoryList", ctx)
        gnum_sequence(lines, ctx, duplicate_code=LIST_DUPLICATE_GNUM)
        line_totals(lines, ctx)
        second_quantity(lines, ctx)
    signature_for_declare(message, heads, ctx)


def second_quantity(lines: list[tuple[str, Node]], ctx: Context, code: str | None = None) -> None:
    """unit2 empty → qty2 empty; unit2 given → qty2 positive."""
    for path, line in lines:
        unit2 = _text(line, "unit2").strip()
        qty2 = line.values.get("qty2")
        if not unit2 and isinstance(qty2, Decimal) and qty2 != 0:
            ctx.add(
                f"{path}/qty2",
                "second_quantity",
                "第二计量单位为空时，第二数量应为空",
                "qty2 must be empty when unit2 is empty",
                code=code,
            )
        elif unit2 and not (isinstance(qty2, Decimal) and qty2 > 0):
            ctx.add(
                f"{path}/qty2",
                "second_quantity",
                "填写第二计量单位时，第二数量应为正数",
                "qty2 must be positive when unit2 is given",
                code=code,
            )


def ceb623(message: Message, ctx: Context) -> None:
    heads = _docs(message)
    for path, cancel in heads:
        id_numbers(cancel, path, ctx, (("buyerIdType", "buyerIdNumber"),))
    signature_for_declare(message, heads, ctx)


def ceb625(message: Message, ctx: Context) -> None:
    heads = []
    for path, refund in _docs(message):
        hpath, head = _one(refund, "InvtRefundHead", path)
        lines = _lines(refund, "InvtRefundList", path)
        if head is not None:
            heads.append((hpath, head))
            id_numbers(head, hpath, ctx, (("buyerIdType", "buyerIdNumber"),))
        no_lines(lines, path, "InvtRefundList", ctx)
        gnum_sequence_unique(lines, ctx)
    signature_for_declare(message, heads, ctx)


def gnum_sequence_unique(lines: list[tuple[str, Node]], ctx: Context) -> None:
    """Return lines name original list lines: no repeats, but gaps are normal."""
    seen: set[int] = set()
    for path, line in lines:
        g = line.values.get("gnum")
        if isinstance(g, int):
            if g in seen:
                ctx.add(
                    f"{path}/gnum",
                    "gnum_duplicate",
                    f"表体序号 gnum={g} 重复",
                    f"line number gnum={g} is repeated",
                )
            seen.add(g)


def ceb711(message: Message, ctx: Context) -> None:
    for path, delivery in _docs(message):
        lines = _lines(delivery, "DeliveryList", path)
        no_lines(lines, path, "DeliveryList", ctx)
        gnum_sequence(lines, ctx)


def export_order(message: Message, ctx: Context) -> None:
    for path, order in _docs(message):
        lines = _lines(order, "OrderList", path)
        gnum_sequence(lines, ctx)
        line_totals(lines, ctx)


def export_list(message: Message, ctx: Context) -> None:
    for path, inventory in _docs(message):
        lines = _lines(inventory, "InventoryList", path)
        gnum_sequence(lines, ctx)
        line_totals(lines, ctx)
        second_quantity(lines, ctx)


def receipt_status(message: Message, ctx: Context) -> None:
    """returnStatus must be a known status for this receipt type, or a negative business error code."""
    from cbec.ceb.receipts import status_problem

    for path, node in _docs(message):
        status = node.values.get("returnStatus")
        if isinstance(status, str) and status:
            problem = status_problem(message.code, status)
            if problem:
                ctx.add(f"{path}/returnStatus", "return_status", problem[0], problem[1], severity="warning")


RULES: dict[str, tuple[Rule, ...]] = {
    "CEB311": (ceb311,),
    "CEB411": (ceb411,),
    "CEB511": (ceb511,),
    "CEB621": (ceb621,),
    "CEB623": (ceb623,),
    "CEB625": (ceb625,),
    "CEB711": (ceb711,),
    "CEB303": (export_order,),
    "CEB603": (export_list,),
}


def apply(message: Message, ctx: Context) -> None:
    """Run the rules registered for the message type (receipts get the returnStatus rule)."""
    for rule in RULES.get(message.code, ()):
        rule(message, ctx)
    if message.type.kind == "receipt":
        receipt_status(message, ctx)
