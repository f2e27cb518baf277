"""Read-only questions to the store: a buyer's annual quota, a document with its history and receipts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cbec.ceb.identity import mask_id
from cbec.clearance.documents import buyer_key
from cbec.clearance.limits import DEFAULT_POLICY, LimitPolicy
from cbec.store.models import DocumentRow, EventRow, QuotaEntryRow, QuotaRow, ReceiptRow, TaxBillRow


@dataclass(frozen=True)
class QuotaLine:
    invt_no: str | None
    order_no: str | None
    kind: str
    amount: Decimal
    at: datetime


@dataclass(frozen=True)
class QuotaView:
    """Like the public personal-quota service: used, remaining, and each list, with the ID masked."""

    masked_id: str
    year: int
    used: Decimal
    limit: Decimal
    remaining: Decimal
    lines: tuple[QuotaLine, ...]


def quota(session: Session, id_number: str, year: int, policy: LimitPolicy = DEFAULT_POLICY) -> QuotaView:
    key = buyer_key(id_number) or ""
    row = session.get(QuotaRow, (key, year))
    used = row.used if row is not None else Decimal("0")
    entries = session.execute(
        select(QuotaEntryRow, DocumentRow)
        .join(DocumentRow, DocumentRow.id == QuotaEntryRow.document_id)
        .where(QuotaEntryRow.buyer_key == key, QuotaEntryRow.year == year)
        .order_by(QuotaEntryRow.id)
    ).all()
    lines = tuple(QuotaLine(d.invt_no, d.order_no, e.kind, e.amount, e.at) for e, d in entries)
    return QuotaView(
        mask_id(id_number.strip()), year, used, policy.annual, max(policy.annual - used, Decimal("0")), lines
    )


@dataclass(frozen=True)
class DocumentView:
    document: DocumentRow
    versions: tuple[DocumentRow, ...]
    events: tuple[EventRow, ...]
    receipts: tuple[ReceiptRow, ...]
    tax_bills: tuple[TaxBillRow, ...]


def find(session: Session, kind: str, number: str) -> DocumentView | None:
    """A list by invtNo, orderNo or copNo, a payment by payTransactionId or orderNo, a waybill by logisticsNo
    or orderNo, or an order by orderNo: the current version with its history."""
    query = select(DocumentRow).where(DocumentRow.kind == kind)
    if kind == "list":
        query = query.where(
            or_(DocumentRow.invt_no == number, DocumentRow.order_no == number, DocumentRow.cop_no == number)
        )
    elif kind == "payment":
        query = query.where(or_(DocumentRow.pay_transaction_id == number, DocumentRow.order_no == number))
    elif kind == "waybill":
        query = query.where(or_(DocumentRow.logistics_no == number, DocumentRow.order_no == number))
    else:
        query = query.where(DocumentRow.order_no == number)
    rows = list(session.scalars(query.order_by(DocumentRow.version)))
    if not rows:
        return None
    current = next((r for r in reversed(rows) if r.current), rows[-1])
    ids = [r.id for r in rows]
    events = tuple(
        session.scalars(select(EventRow).where(EventRow.document_id.in_(ids)).order_by(EventRow.id))
    )
    receipts = tuple(
        session.scalars(select(ReceiptRow).where(ReceiptRow.document_id.in_(ids)).order_by(ReceiptRow.id))
    )
    bills = tuple(
        session.scalars(select(TaxBillRow).where(TaxBillRow.document_id.in_(ids)).order_by(TaxBillRow.id))
    )
    return DocumentView(current, tuple(rows), events, receipts, bills)
