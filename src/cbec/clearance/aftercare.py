"""After release: cancellation (CEB623 撤销申请单) and returns (CEB625 退货申请单).

Both give the buyer's quota back and void or reduce the tax bill before it is settled (CEB818). A return is
accepted within 30 days of release for quantities no larger than what was released and not yet returned
(海关总署公告2020年第45号; policy.md §3.1).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from cbec.ceb.dxp import CST
from cbec.ceb.receipts import (
    ReturnInfoPart,
    TaxBill,
    TaxLine,
    TaxStatus,
    build_tax_bill,
    build_tax_status,
    format_return_info,
)
from cbec.clearance import stock, unit
from cbec.clearance.documents import KINDS, text
from cbec.store.models import (
    DocumentLineRow,
    DocumentRow,
    EventRow,
    MessageRow,
    QuotaEntryRow,
    QuotaRow,
    TaxBillRow,
)

if TYPE_CHECKING:
    from cbec.clearance.service import Answer, Engine

RETURN_WINDOW = timedelta(days=30)
CENT = Decimal("0.01")


def _released_list(session: Session, invt_no: str | None) -> DocumentRow | None:
    if not invt_no:
        return None
    return session.scalars(
        select(DocumentRow).where(
            DocumentRow.kind == "list", DocumentRow.current.is_(True), DocumentRow.invt_no == invt_no
        )
    ).first()


def _answer(
    engine: Engine, session: Session, doc: DocumentRow, status: str, info: str, moment: datetime
) -> Answer:
    from cbec.clearance.decide import node_of

    row = unit.message_row(session, MessageRow, doc.message_id)
    kind = KINDS["CEB623"] if doc.kind == "cancel" else KINDS["CEB625"]
    return engine._answer(session, row, doc, kind, node_of(session, doc), status, info, moment, doc.doc_key)


def _refuse(
    engine: Engine, session: Session, doc: DocumentRow, code: str, zh: str, moment: datetime
) -> list[Answer]:
    doc.status = "rejected"
    engine._event(session, doc, "rejected", "rejected", moment, {"code": code})
    return [_answer(engine, session, doc, "100", format_return_info([ReturnInfoPart(code, zh)]), moment)]


def _give_back(session: Session, listing: DocumentRow, amount: Decimal, kind: str, moment: datetime) -> None:
    """Return `amount` to the buyer's total of the year the list was released in."""
    if amount <= 0 or not listing.buyer_key or listing.released_at is None:
        return
    year = listing.released_at.astimezone(CST).year
    row = session.get(QuotaRow, (listing.buyer_key, year), with_for_update=True)
    if row is None:
        return
    row.used = max(row.used - amount, Decimal("0"))
    row.updated_at = moment
    session.add(
        QuotaEntryRow(
            buyer_key=listing.buyer_key,
            year=year,
            document_id=listing.id,
            amount=-amount,
            kind=kind,
            at=moment,
        )
    )


def _open_bill(session: Session, listing: DocumentRow) -> TaxBillRow | None:
    return session.scalars(
        select(TaxBillRow)
        .where(TaxBillRow.document_id == listing.id, TaxBillRow.status == "1")
        .order_by(TaxBillRow.id.desc())
    ).first()


def _void(engine: Engine, session: Session, bill: TaxBillRow, moment: datetime) -> Answer:
    from cbec.clearance.service import keep_notice

    bill.status = "3"
    message = build_tax_status(TaxStatus(bill.invt_no, bill.tax_no, "3"), time=moment.astimezone(CST))
    return keep_notice(
        session,
        message,
        status="3",
        zh="电子税单作废",
        en="tax bill void",
        document_id=bill.document_id,
        message_id=None,
        key=bill.tax_no,
        moment=moment,
    )


def cancel(engine: Engine, session: Session, doc: DocumentRow, moment: datetime) -> list[Answer]:
    """A cancellation of a released list: the list is withdrawn, quota and tax given back."""
    listing = _released_list(session, doc.invt_no)
    if listing is None:
        return _refuse(
            engine, session, doc, "-623003", f"系统中不存在清单编号为[{doc.invt_no}]的清单！", moment
        )
    if listing.status != "released":
        return _refuse(
            engine,
            session,
            doc,
            "-623005",
            f"清单的状态不符合撤单申报要求(清单编号[{doc.invt_no}])！",
            moment,
        )
    bill = _open_bill(session, listing)
    if bill is None:
        return _refuse(engine, session, doc, "-623005", f"清单[{doc.invt_no}]税款已汇总，不能撤单", moment)
    returned = _returned_amount(session, listing)
    _give_back(session, listing, (listing.amount or Decimal("0")) - returned, "cancel", moment)
    if listing.trade_mode == "1210":
        from cbec.clearance.decide import node_of

        already = _already_returned(session, listing)
        inventory = node_of(session, listing)
        kept = {
            g: line.qty - already.get(g, Decimal(0))
            for g, line in _released_lines(session, listing).items()
            if line.qty is not None
        }
        stock.move(session, inventory, listing.id, "cancel", moment, kept)
    listing.status = "cancelled"
    engine._event(session, listing, "cancelled", "cancelled", moment, {"by": doc.id})
    doc.status = "done"
    engine._event(session, doc, "done", "done", moment)
    info = format_return_info([ReturnInfoPart("2300", "审核通过")], "撤单申请审核通过,清单已成功撤单")
    return [_answer(engine, session, doc, "399", info, moment), _void(engine, session, bill, moment)]


def _returned_amount(session: Session, listing: DocumentRow) -> Decimal:
    rows = session.scalars(
        select(QuotaEntryRow.amount).where(
            QuotaEntryRow.document_id == listing.id, QuotaEntryRow.kind == "return"
        )
    ).all()
    return -sum(rows, Decimal("0"))


def refund(engine: Engine, session: Session, doc: DocumentRow, moment: datetime) -> list[Answer]:
    """A return of some or all goods of a released list within 30 days: quota and tax reduced pro rata."""
    from cbec.clearance.decide import node_of

    listing = _released_list(session, doc.invt_no)
    if listing is None or listing.status != "released" or listing.released_at is None:
        return _refuse(
            engine, session, doc, "-625004", f"退货申请单申报失败，未找到已放行的清单[{doc.invt_no}]", moment
        )
    if moment - listing.released_at > RETURN_WINDOW:
        return _refuse(
            engine, session, doc, "-625004", "退货申请单申报失败，已超过放行之日起30日的退货申请期限", moment
        )
    bill = _open_bill(session, listing)
    if bill is None:
        return _refuse(engine, session, doc, "-625004", "退货申请单申报失败，税款已汇总", moment)
    released = _released_lines(session, listing)
    already = _already_returned(session, listing)
    request = node_of(session, doc)
    wanted: dict[int, Decimal] = {}
    for line in request.children.get("InvtRefundList", []):
        gnum = line.values.get("gnum")
        qty = line.values.get("qty")
        original = released.get(gnum) if isinstance(gnum, int) else None
        if original is None or original.gcode != text(line, "gcode"):
            return _refuse(
                engine,
                session,
                doc,
                "-625209",
                f"退货申请单[{doc.cop_no or ''}],在关联的清单中未找到表体序号为[{gnum}],"
                f"商品编号为[{text(line, 'gcode')}]的数据",
                moment,
            )
        assert isinstance(gnum, int)
        if (
            not isinstance(qty, Decimal)
            or qty <= 0
            or qty + already.get(gnum, Decimal(0)) > (original.qty or 0)
        ):
            return _refuse(
                engine,
                session,
                doc,
                "-625001",
                f"退货申请单报文校验失败，表体第[{gnum}]项退货数量超过清单数量",
                moment,
            )
        wanted[gnum] = wanted.get(gnum, Decimal(0)) + qty
    # Scale each bill line by the share of its quantity still kept.
    lines = []
    given_back = Decimal("0")
    for entry in bill.lines:
        gnum = int(str(entry["gnum"]))
        original = released[gnum]
        before = (original.qty or Decimal(0)) - already.get(gnum, Decimal(0))
        keep = before - wanted.get(gnum, Decimal(0))
        share = keep / before if before else Decimal(0)
        price = Decimal(str(entry["taxPrice"]))
        new_price = (price * share).quantize(CENT, ROUND_HALF_UP)
        given_back += price - new_price
        if keep > 0:
            lines.append(
                TaxLine(
                    gnum,
                    str(entry["gcode"]),
                    new_price,
                    *(
                        ((Decimal(str(entry[k])) * share).quantize(CENT, ROUND_HALF_UP))
                        for k in ("customsTax", "valueAddedTax", "consumptionTax")
                    ),
                )
            )
    _give_back(session, listing, given_back, "return", moment)
    if listing.trade_mode == "1210":
        stock.move(session, node_of(session, listing), listing.id, "return", moment, wanted)
    for gnum, qty in wanted.items():
        engine._event(session, listing, "returned", listing.status, moment, {"gnum": gnum, "qty": str(qty)})
    doc.status = "done"
    engine._event(session, doc, "done", "done", moment)
    # receipts are stored in the order they are answered, so a replay gives them back in the same order
    info = format_return_info([ReturnInfoPart("2300", "审核通过")], "退货申请审核通过")
    answers = [_answer(engine, session, doc, "399", info, moment), _void(engine, session, bill, moment)]
    if lines:
        answers.append(_reissue(engine, session, listing, bill, lines, moment))
    return answers


def _released_lines(session: Session, listing: DocumentRow) -> dict[int, DocumentLineRow]:
    rows = session.scalars(select(DocumentLineRow).where(DocumentLineRow.document_id == listing.id))
    return {line.gnum: line for line in rows}


def _already_returned(session: Session, listing: DocumentRow) -> dict[int, Decimal]:
    out: dict[int, Decimal] = {}
    for event in session.scalars(select_returns(listing.id)):
        detail = event.detail or {}
        gnum = int(str(detail.get("gnum")))
        out[gnum] = out.get(gnum, Decimal(0)) + Decimal(str(detail.get("qty")))
    return out


def select_returns(document_id: int) -> Select[EventRow]:
    """The 'returned' events of a list: each carries one line's returned quantity."""
    return select(EventRow).where(EventRow.document_id == document_id, EventRow.event == "returned")


def _reissue(
    engine: Engine,
    session: Session,
    listing: DocumentRow,
    old: TaxBillRow,
    lines: list[TaxLine],
    moment: datetime,
) -> Answer:
    """A new CEB816 for what was kept, numbered after the voided one (taxNo suffix _1, _2 …)."""
    from cbec.clearance.service import keep_notice

    base, _, n = old.tax_no.rpartition("_")
    tax_no = f"{base}_{int(n) + 1}" if n.isdigit() else f"{old.tax_no}_1"
    message = build_tax_bill(TaxBill(old.invt_no, tax_no, lines, status="1"), time=moment.astimezone(CST))
    total = {
        k: sum((getattr(t, k) for t in lines), Decimal("0"))
        for k in ("customs_tax", "value_added_tax", "consumption_tax")
    }
    session.add(
        TaxBillRow(
            document_id=listing.id,
            invt_no=old.invt_no,
            tax_no=tax_no,
            path=old.path,
            customs_tax=total["customs_tax"],
            value_added_tax=total["value_added_tax"],
            consumption_tax=total["consumption_tax"],
            status="1",
            lines=[
                {
                    "gnum": str(t.gnum),
                    "gcode": t.gcode,
                    "taxPrice": str(t.tax_price),
                    "customsTax": str(t.customs_tax),
                    "valueAddedTax": str(t.value_added_tax),
                    "consumptionTax": str(t.consumption_tax),
                }
                for t in lines
            ],
            payable_from=old.payable_from,
            payable_until=old.payable_until,
            created_at=moment,
        )
    )
    return keep_notice(
        session,
        message,
        status="1",
        zh="电子税单已生成（退货后）",
        en="tax bill reissued after a return",
        document_id=listing.id,
        message_id=None,
        key=tax_no,
        moment=moment,
    )


def settle(engine: Engine, session: Session, now: datetime) -> list[Answer]:
    """Summarize (CEB818 status 2 已汇总) every open tax bill whose payment window has begun (day 31 after
    release): from then on the list can no longer be cancelled or returned through this platform."""
    from cbec.clearance.service import keep_notice

    due = session.scalars(
        select(TaxBillRow)
        .where(TaxBillRow.status == "1", TaxBillRow.payable_from <= now)
        .order_by(TaxBillRow.id)
    ).all()
    answers = []
    for bill in due:
        bill.status = "2"
        message = build_tax_status(TaxStatus(bill.invt_no, bill.tax_no, "2"), time=now.astimezone(CST))
        answers.append(
            keep_notice(
                session,
                message,
                status="2",
                zh="电子税单已汇总",
                en="tax bill summarized",
                document_id=bill.document_id,
                message_id=None,
                key=bill.tax_no,
                moment=now,
            )
        )
    return answers
