"""Reading documents: one by number (lists, orders, payments, waybills), pages of documents and tax bills
by keyset, and a person's annual quota.

An enterprise sees only documents it is a party to (`cbec.access.parties`, indexed in `document_parties`);
others get 404, so nobody learns of others' documents. Regulators and admins read everything; personal
data is masked unless the caller may see it, and then every such read is audited.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from cbec.access import Principal, audit
from cbec.api.auth import AppStore, Caller, require_regulator
from cbec.api.errors import Input, bad_request, forbidden, not_found, responses
from cbec.ceb.dxp import CST
from cbec.ceb.identity import mask_id
from cbec.clearance.documents import buyer_key
from cbec.clearance.queries import find, quota
from cbec.privacy import mask_document
from cbec.store.db import Store
from cbec.store.models import DocumentPartyRow, DocumentRow, EventRow, TaxBillRow

router = APIRouter(prefix="/api/v1")

MAX_PAGE = 500
#: the kinds a caller names, and the store's names for them
KINDS = {
    "order": "order",
    "payment": "payment",
    "waybill": "waybill",
    "list": "list",
    "cancel": "cancel",
    "return": "refund",
}
DocumentKind = Literal["order", "payment", "waybill", "list", "cancel", "return"]
_PUBLIC_KIND = {v: k for k, v in KINDS.items()}
_ID_NUMBER = re.compile(r"[0-9]{17}[0-9Xx]\Z|[0-9]{15}\Z")
#: events whose detail says what the comparison and the decision found
_DECISION_EVENTS = ("waiting", "rejected", "released", "held")


class EventOut(BaseModel):
    at: str
    event: str
    status: str | None
    detail: dict[str, Any] | None = None


class ReceiptSummary(BaseModel):
    id: int
    type: str
    status: str
    info: str


class TaxBillOut(BaseModel):
    taxNo: str
    invtNo: str
    status: str
    path: str
    customsTax: str
    valueAddedTax: str
    consumptionTax: str
    payableFrom: str
    payableUntil: str
    createdAt: str


class Comparison(BaseModel):
    """What the four-document comparison and the decision last found: the outcome, and each reason's
    code, rule and field path (or the documents still missing)."""

    outcome: str
    at: str
    reasons: list[dict[str, Any]]
    missing: list[str]


class DocumentDetail(BaseModel):
    kind: str
    key: str
    status: str
    version: int
    invtNo: str | None
    preNo: str | None
    document: dict[str, Any]
    history: list[EventOut]
    receipts: list[ReceiptSummary]
    taxBills: list[TaxBillOut]
    comparison: Comparison | None = None


class DocumentSummary(BaseModel):
    """A document in a page: its numbers, parties and status (no personal data)."""

    id: int
    kind: str
    key: str
    status: str
    version: int
    orderNo: str | None
    invtNo: str | None
    copNo: str | None
    logisticsNo: str | None
    payTransactionId: str | None
    ebpCode: str | None
    ebcCode: str | None
    createdAt: str
    updatedAt: str


class DocumentPage(BaseModel):
    """Newest first; pass `next` back as `cursor` for the following page (null: no more)."""

    documents: list[DocumentSummary]
    next: int | None


class TaxBillPage(BaseModel):
    taxBills: list[TaxBillOut]
    next: int | None


class QuotaLineOut(BaseModel):
    invtNo: str | None
    orderNo: str | None
    kind: str
    amount: str
    at: str


class QuotaOut(BaseModel):
    """A person's annual retail-import quota (26,000 CNY): used and remaining, and each list."""

    idNumber: str
    year: int
    used: str
    limit: str
    remaining: str
    lines: list[QuotaLineOut]


def _money(value: Decimal) -> str:
    return f"{value:f}"


def _bill(b: TaxBillRow) -> dict[str, Any]:
    return {
        "taxNo": b.tax_no,
        "invtNo": b.invt_no,
        "status": b.status,
        "path": b.path,
        "customsTax": _money(b.customs_tax),
        "valueAddedTax": _money(b.value_added_tax),
        "consumptionTax": _money(b.consumption_tax),
        "payableFrom": b.payable_from.isoformat(),
        "payableUntil": b.payable_until.isoformat(),
        "createdAt": b.created_at.isoformat(),
    }


def _comparison(events: tuple[EventRow, ...]) -> dict[str, Any] | None:
    decisive = [e for e in events if e.event in _DECISION_EVENTS]
    if not decisive:
        return None
    last = decisive[-1]
    detail = last.detail or {}
    reasons = detail.get("reasons", [])
    missing = detail.get("missing", [])
    return {
        "outcome": last.event,
        "at": last.at.isoformat(),
        "reasons": reasons if isinstance(reasons, list) else [],
        "missing": [str(m) for m in missing] if isinstance(missing, list) else [],
    }


def document(store_session: Session, kind: str, number: str, principal: Principal) -> dict[str, Any]:
    """A document for a caller who may read it; 404 both when it does not exist and when the caller may
    not read it."""
    view = find(store_session, kind, number)
    if view is None or not principal.may_read(view.document.body):
        raise not_found(number)
    doc = view.document
    if principal.sees_personal:
        audit(store_session, principal, "personal.read", [(doc.kind, doc.doc_key)], via="api")
    answer: dict[str, Any] = {
        "kind": _PUBLIC_KIND.get(doc.kind, doc.kind),
        "key": doc.doc_key,
        "status": doc.status,
        "version": doc.version,
        "invtNo": doc.invt_no,
        "preNo": doc.pre_no,
        "document": doc.body if principal.sees_personal else mask_document(doc.body),
        "history": [
            {"at": e.at.isoformat(), "event": e.event, "status": e.status, "detail": e.detail}
            for e in view.events
        ],
        "receipts": [
            {"id": r.id, "type": r.receipt_type, "status": r.return_status, "info": r.return_info}
            for r in view.receipts
        ],
        "taxBills": [_bill(b) for b in view.tax_bills],
    }
    if doc.kind == "list":
        answer["comparison"] = _comparison(view.events)
    return answer


@router.get("/lists/{number}", response_model=DocumentDetail, responses=responses(404))
def get_list(number: str, principal: Caller, store: AppStore) -> dict[str, Any]:
    """A declaration list (by invtNo, orderNo or copNo) the caller may read, with its status timeline,
    the comparison's result, receipts and tax bills; personal data masked unless the caller is a regulator
    (then the read is audited)."""
    with store.transaction() as session:
        return document(session, "list", number, principal)


@router.get("/orders/{order_no}", response_model=DocumentDetail, responses=responses(404))
def get_order(order_no: str, principal: Caller, store: AppStore) -> dict[str, Any]:
    """An order the caller may read, with its history and receipts; personal data masked unless the
    caller is a regulator (then the read is audited)."""
    with store.transaction() as session:
        return document(session, "order", order_no, principal)


@router.get("/payments/{number}", response_model=DocumentDetail, responses=responses(404))
def get_payment(number: str, principal: Caller, store: AppStore) -> dict[str, Any]:
    """A payment (by payTransactionId or orderNo) the caller may read; masked like the others."""
    with store.transaction() as session:
        return document(session, "payment", number, principal)


@router.get("/waybills/{number}", response_model=DocumentDetail, responses=responses(404))
def get_waybill(number: str, principal: Caller, store: AppStore) -> dict[str, Any]:
    """A waybill (by logisticsNo or orderNo) the caller may read; masked like the others."""
    with store.transaction() as session:
        return document(session, "waybill", number, principal)


def _moment(value: datetime | None) -> datetime | None:
    """A bound of a time filter; a time without zone is China Standard Time, as on the wire."""
    if value is None:
        return None
    return value.replace(tzinfo=CST) if value.tzinfo is None else value


def _visible(principal: Principal, query: Select[Any]) -> Select[Any]:
    """Only what the caller may read: everything for regulators and admins, its own for an enterprise (a
    filter by kind is the caller's, on `documents.kind`)."""
    if principal.reads_all:
        return query
    if principal.enterprise is None:
        raise forbidden("该角色不能查看申报单证", "this role does not read declarations")
    party = select(DocumentPartyRow.document_id).where(DocumentPartyRow.party_code == principal.enterprise)
    return query.where(DocumentRow.id.in_(party))


Cursor = Annotated[int | None, Query(ge=1, le=2**62, description="the `next` of the previous page")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
From = Annotated[datetime | None, Query(alias="from", description="ISO time; without zone: CST")]
To = Annotated[datetime | None, Query(alias="to", description="ISO time; without zone: CST")]


@router.get("/documents", response_model=DocumentPage, responses=responses(403))
def documents(
    principal: Caller,
    store: AppStore,
    kind: DocumentKind | None = None,
    status: Annotated[str | None, Query(max_length=32)] = None,
    from_: From = None,
    to: To = None,
    number: Annotated[str | None, Query(max_length=80)] = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    """The current documents the caller may read, newest first, by keyset (`cursor`): filtered by kind,
    status, arrival time (`from` ≤ t < `to`) and number (orderNo, invtNo, copNo, logisticsNo or
    payTransactionId)."""
    stored_kind = KINDS[kind] if kind is not None else None
    query = select(DocumentRow).where(DocumentRow.current.is_(True))
    query = _visible(principal, query)
    if stored_kind is not None:
        query = query.where(DocumentRow.kind == stored_kind)
    if status:
        query = query.where(DocumentRow.status == status)
    start, end = _moment(from_), _moment(to)
    if start is not None:
        query = query.where(DocumentRow.created_at >= start)
    if end is not None:
        query = query.where(DocumentRow.created_at < end)
    if number:
        query = query.where(
            or_(
                DocumentRow.order_no == number,
                DocumentRow.invt_no == number,
                DocumentRow.cop_no == number,
                DocumentRow.logistics_no == number,
                DocumentRow.pay_transaction_id == number,
            )
        )
    if cursor is not None:
        query = query.where(DocumentRow.id < cursor)
    with store.transaction() as session:
        rows = session.scalars(query.order_by(DocumentRow.id.desc()).limit(limit)).all()
        page = [
            {
                "id": r.id,
                "kind": _PUBLIC_KIND.get(r.kind, r.kind),
                "key": r.doc_key,
                "status": r.status,
                "version": r.version,
                "orderNo": r.order_no,
                "invtNo": r.invt_no,
                "copNo": r.cop_no,
                "logisticsNo": r.logistics_no,
                "payTransactionId": r.pay_transaction_id,
                "ebpCode": r.ebp_code,
                "ebcCode": r.ebc_code,
                "createdAt": r.created_at.isoformat(),
                "updatedAt": r.updated_at.isoformat(),
            }
            for r in rows
        ]
    return {"documents": page, "next": page[-1]["id"] if len(page) == limit else None}


@router.get("/tax-bills", response_model=TaxBillPage, responses=responses(403))
def tax_bills(
    principal: Caller,
    store: AppStore,
    status: Annotated[
        Literal["1", "2", "3"] | None, Query(description="1 generated, 2 summarized, 3 void")
    ] = None,
    invt_no: Annotated[str | None, Query(alias="invtNo", max_length=32)] = None,
    from_: From = None,
    to: To = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    """The electronic tax bills (CEB816) of the lists the caller may read, newest first, by keyset."""
    query = select(TaxBillRow).join(DocumentRow, DocumentRow.id == TaxBillRow.document_id)
    query = _visible(principal, query)
    if status:
        query = query.where(TaxBillRow.status == status)
    if invt_no:
        query = query.where(TaxBillRow.invt_no == invt_no)
    start, end = _moment(from_), _moment(to)
    if start is not None:
        query = query.where(TaxBillRow.created_at >= start)
    if end is not None:
        query = query.where(TaxBillRow.created_at < end)
    if cursor is not None:
        query = query.where(TaxBillRow.id < cursor)
    with store.transaction() as session:
        rows = session.scalars(query.order_by(TaxBillRow.id.desc()).limit(limit)).all()
        page = [(r.id, _bill(r)) for r in rows]
    return {"taxBills": [b for _, b in page], "next": page[-1][0] if len(page) == limit else None}


class QuotaQuery(Input):
    """The body of POST /api/v1/quota: the same question with the ID number out of the URL (and so out
    of proxies' and servers' access logs)."""

    idNumber: str = Field(min_length=15, max_length=18)
    name: str | None = Field(default=None, max_length=100)
    year: int | None = Field(default=None, ge=2000, le=2100)


@router.get("/quota", response_model=QuotaOut, responses=responses(403, 404))
def get_quota(
    principal: Caller,
    store: AppStore,
    id_number: Annotated[str, Query(alias="idNumber", min_length=15, max_length=18)],
    name: Annotated[str | None, Query(max_length=100)] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> dict[str, Any]:
    """A person's annual quota (regulators and admins only; every query audited): used and remaining of
    the annual limit, with each list. With `name`, the person's lists must carry that buyer name.
    Prefer POST (the ID number stays out of URLs)."""
    return _quota(principal, store, id_number, name, year)


@router.post("/quota", response_model=QuotaOut, responses=responses(403, 404))
def post_quota(body: QuotaQuery, principal: Caller, store: AppStore) -> dict[str, Any]:
    """The same as GET /api/v1/quota, with the question in a JSON body."""
    return _quota(principal, store, body.idNumber, body.name, body.year)


def _quota(
    principal: Principal, store: Store, id_number: str, name: str | None, year: int | None
) -> dict[str, Any]:
    require_regulator(principal)
    id_number = id_number.strip()
    if not _ID_NUMBER.match(id_number):
        raise bad_request("身份证号码格式不正确", "idNumber is not a 15- or 18-character ID number")
    the_year = year if year is not None else datetime.now(CST).year
    masked = mask_id(id_number)
    with store.transaction() as session:
        audit(session, principal, "quota.read", [("buyer", masked)], via="api")
        matches = name is None or _name_matches(session, id_number, name.strip())
        view = quota(session, id_number, the_year)
    if not matches:  # after the commit: the attempt stays in the audit log
        raise not_found("该身份证号码与姓名的订购人 / the buyer with that ID and name")
    return {
        "idNumber": view.masked_id,
        "year": view.year,
        "used": _money(view.used),
        "limit": _money(view.limit),
        "remaining": _money(view.remaining),
        "lines": [
            {
                "invtNo": line.invt_no,
                "orderNo": line.order_no,
                "kind": line.kind,
                "amount": _money(line.amount),
                "at": line.at.isoformat(),
            }
            for line in view.lines
        ],
    }


def _name_matches(session: Session, id_number: str, name: str) -> bool:
    """Whether the buyer's lists carry `name` (true when there are no lists: nothing to contradict)."""
    key = buyer_key(id_number)
    bodies = session.scalars(
        select(DocumentRow.body).where(DocumentRow.kind == "list", DocumentRow.buyer_key == key).limit(50)
    ).all()
    if not bodies:
        return True
    for body in bodies:
        head = body.get("InventoryHead") if isinstance(body, dict) else None
        if isinstance(head, dict) and head.get("buyerName") == name:
            return True
    return False
