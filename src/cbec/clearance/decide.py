"""Deciding a declaration list: find its order, payment and waybill, run the rules, write the outcome.

Called inside the intake transaction whenever a document arrives, so a list is decided exactly when the
last of its four documents is there, whatever the arrival order. The quota row is locked (PostgreSQL
``FOR UPDATE``; SQLite takes the write lock at BEGIN IMMEDIATE), so concurrent decisions for one buyer
cannot together exceed the annual limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from cbec.ceb.dxp import CST
from cbec.ceb.jsonform import JsonFormError, document_from_json
from cbec.ceb.model import Node
from cbec.ceb.receipts import ReturnInfoPart, TaxBill, TaxLine, build_tax_bill, format_return_info
from cbec.clearance import compare as compare_rules
from cbec.clearance import limits as limit_rules
from cbec.clearance import reference, stock, unit
from cbec.clearance.documents import KINDS, MESSAGE_OF, Kind
from cbec.clearance.reasons import Reason
from cbec.clearance.tax import compute_tax
from cbec.store.models import (
    DocumentRow,
    MessageRow,
    QuotaEntryRow,
    QuotaRow,
    TaxBillRow,
)

if TYPE_CHECKING:
    from cbec.clearance.service import Answer, Engine

#: tax is payable on days 31–45 after release (海关总署公告2018年第194号)
PAYABLE_FROM_DAY = 31
PAYABLE_UNTIL_DAY = 45
LIVE = ("accepted", "waiting")


@dataclass
class Companions:
    order: DocumentRow | None
    payment: DocumentRow | None
    waybill: DocumentRow | None

    @property
    def missing(self) -> list[tuple[str, str]]:
        out = []
        if self.order is None:
            out.append(("电子订单", "order"))
        if self.payment is None:
            out.append(("支付凭证", "payment"))
        if self.waybill is None:
            out.append(("物流运单", "waybill"))
        return out


def _live(session: Session, kind: str, **keys: str | None) -> DocumentRow | None:
    index = unit.index(session)
    if index is not None:
        covered, row = index.live(kind, keys)
        if covered:
            found: DocumentRow | None = row
            return found
    query = select(DocumentRow).where(
        DocumentRow.kind == kind, DocumentRow.current.is_(True), DocumentRow.status.in_(("accepted",))
    )
    for name, value in keys.items():
        query = query.where(getattr(DocumentRow, name) == value)
    return session.scalars(query.order_by(DocumentRow.id.desc()).limit(1)).first()


def companions(session: Session, listing: DocumentRow) -> Companions:
    return Companions(
        order=_live(session, "order", ebp_code=listing.ebp_code, order_no=listing.order_no),
        payment=_live(session, "payment", ebp_code=listing.ebp_code, order_no=listing.order_no),
        waybill=_live(
            session, "waybill", logistics_code=listing.logistics_code, logistics_no=listing.logistics_no
        ),
    )


def decide_waiting(
    engine: Engine, session: Session, kind: Kind, stored: DocumentRow, moment: datetime
) -> list[Answer]:
    """Decide every list the arrival of `stored` may complete."""
    if kind.name == "list":
        candidates = [stored]
    elif kind.name in ("order", "payment"):
        candidates = _waiting(session, ebp_code=stored.ebp_code, order_no=stored.order_no)
    elif kind.name == "waybill":
        candidates = _waiting(session, logistics_code=stored.logistics_code, logistics_no=stored.logistics_no)
    else:
        return []
    answers: list[Answer] = []
    for listing in candidates:
        found = companions(session, listing)
        if found.missing:
            if listing.status != "waiting":
                listing.status = "waiting"
                engine._event(
                    session,
                    listing,
                    "waiting",
                    "waiting",
                    moment,
                    {"missing": [en for _zh, en in found.missing]},
                )
            continue
        answers.extend(decide(engine, session, listing, found, moment))
    return answers


def _waiting(session: Session, **keys: str | None) -> list[DocumentRow]:
    index = unit.index(session)
    if index is not None:
        covered, rows = index.waiting(keys)
        if covered:
            return list(rows)
    query = select(DocumentRow).where(
        DocumentRow.kind == "list", DocumentRow.current.is_(True), DocumentRow.status == "waiting"
    )
    for name, value in keys.items():
        query = query.where(getattr(DocumentRow, name) == value)
    return list(session.scalars(query.order_by(DocumentRow.id)))


def node_of(session: Session, doc: DocumentRow) -> Node:
    """The document's typed node: the message parsed at its arrival when this process still holds it
    (`unit.recall`), else built from the document's stored JSON form (`stored_node`)."""
    message = unit.recall(session, doc.message_id)
    if message is not None:
        return message.documents[doc.position - 1]
    node = unit.kept_document(session, doc.id)
    if node is None:
        with session.no_autoflush:  # the stored form does not depend on what is pending
            node = stored_node(session, doc, doc.body)
        unit.keep_document(session, doc.id, node)
    return node


def stored_node(session: Session, doc: DocumentRow, body: dict[str, object]) -> Node:
    """A stored document's node from its JSON form `body` (lossless, and far cheaper than parsing the
    archived message again); from the archived message should the form not read back."""
    try:
        return document_from_json(MESSAGE_OF[doc.kind], body)
    except JsonFormError:
        with session.no_autoflush:  # the archived bytes do not depend on what is pending
            raw = session.get(MessageRow, doc.message_id)
        assert raw is not None
        from cbec.clearance.service import load_message

        return load_message(raw.raw).documents[doc.position - 1]


def decide(
    engine: Engine, session: Session, listing: DocumentRow, found: Companions, moment: datetime
) -> list[Answer]:
    """Run every rule on a complete list and write the outcome: 800 release, 100 reject, 300 or 500 hold."""
    from cbec.clearance.service import Decision

    assert found.order is not None and found.payment is not None and found.waybill is not None
    inventory = node_of(session, listing)
    order, payment, waybill = (node_of(session, d) for d in (found.order, found.payment, found.waybill))
    settings = engine.settings
    reasons: list[Reason] = compare_rules.compare(
        order,
        payment,
        waybill,
        inventory,
        policy=compare_rules.ComparePolicy(certified_platforms=settings.certified_platforms),
    )
    head = inventory.child("InventoryHead")
    assert head is not None
    reasons.extend(reference.positive_list_reasons(session, inventory, moment, listing.buyer_key))
    bonded = listing.trade_mode == "1210"
    if bonded:
        reasons.extend(stock.shortages(session, inventory, moment))
    rates = reference.rate_table(session)
    retail = compute_tax(inventory, rates, "retail")
    reasons.extend(retail.reasons)
    year = moment.astimezone(CST).year
    quota = _lock_quota(session, listing.buyer_key or "", year, moment)
    limit = limit_rules.decide(
        retail.tax_price,
        inventory.children.get("InventoryList", []),
        quota.used,
        list_no=listing.invt_no or listing.order_no or "",
    )
    reasons.extend(limit.reasons)
    tax = retail
    if limit.path == "full":
        tax = compute_tax(inventory, rates, "full")
        reasons.extend(tax.reasons)
    rejections = [r for r in reasons if not r.warning]
    if rejections:
        return _reject(engine, session, listing, inventory, rejections, moment)
    hold = None
    if settings.inspection_rate > 0 and settings.rng.random() < settings.inspection_rate:
        hold = "500"
    if hold is None and settings.hook is not None:
        hold = settings.hook(Decision(listing.doc_key, reasons, retail.tax_price))
    if hold in ("300", "500"):
        listing.status = "review" if hold == "300" else "inspection"
        engine._event(
            session, listing, "held", listing.status, moment, {"warnings": [r.rule for r in reasons]}
        )
        info = format_return_info(
            [ReturnInfoPart("2100" if hold == "300" else "2500", "人工审核" if hold == "300" else "查验")]
        )
        return [_list_answer(engine, session, listing, inventory, hold, info, moment)]
    return release(engine, session, listing, inventory, limit.counted, tax, moment, quota)


def _lock_quota(session: Session, key: str, year: int, moment: datetime) -> QuotaRow:
    """The buyer's ledger row for the year, locked for this transaction; created at 0 when new."""
    index = unit.index(session)
    if index is not None:
        locked: QuotaRow | None = index.quota.get((key, year))
        if locked is not None:
            return locked
        if (key, year) in index.quota_missing:  # SQLite: known to have no row; the write lock is held
            index.quota_missing.discard((key, year))
            created = QuotaRow(buyer_key=key, year=year, used=Decimal("0"), updated_at=moment)
            session.add(created)
            index.quota[(key, year)] = created
            return created
    query = select(QuotaRow).where(QuotaRow.buyer_key == key, QuotaRow.year == year)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert

        session.execute(
            insert(QuotaRow)
            .values(buyer_key=key, year=year, used=Decimal("0"), updated_at=moment)
            .on_conflict_do_nothing()
        )
        return session.scalars(query.with_for_update()).one()
    existing = session.scalars(query).first()
    if existing is None:
        existing = QuotaRow(buyer_key=key, year=year, used=Decimal("0"), updated_at=moment)
        session.add(existing)
        session.flush()
    return existing


def release(
    engine: Engine,
    session: Session,
    listing: DocumentRow,
    inventory: Node,
    counted: Decimal,
    tax: object,
    moment: datetime,
    quota: QuotaRow,
) -> list[Answer]:
    """Release (800): count the list in the buyer's annual total, issue the tax bill (CEB816)."""
    from cbec.clearance.tax import TaxResult

    assert isinstance(tax, TaxResult)
    if listing.trade_mode == "1210":
        stock.move(session, inventory, listing.id, "release", moment)
    quota.used = quota.used + counted
    quota.updated_at = moment
    unit.add_row(
        session,
        QuotaEntryRow,
        buyer_key=quota.buyer_key,
        year=quota.year,
        document_id=listing.id,
        amount=counted,
        kind="release",
        at=moment,
    )
    listing.status = "released"
    listing.released_at = moment
    listing.amount = tax.tax_price
    engine._event(session, listing, "released", "released", moment, {"path": tax.path})
    answers = [
        _list_answer(
            engine,
            session,
            listing,
            inventory,
            "800",
            format_return_info([ReturnInfoPart("2600", "放行")]),
            moment,
        )
    ]
    answers.append(_tax_bill(engine, session, listing, inventory, tax, moment))
    return answers


def _tax_bill(
    engine: Engine, session: Session, listing: DocumentRow, inventory: Node, tax: object, moment: datetime
) -> Answer:
    from cbec.clearance.service import keep_notice
    from cbec.clearance.tax import TaxResult

    assert isinstance(tax, TaxResult)
    head = inventory.child("InventoryHead")
    assert head is not None and listing.invt_no
    tax_no = f"{listing.invt_no}_0"
    lines = [
        TaxLine(t.gnum, t.gcode, t.tax_price, t.customs_tax, t.value_added_tax, t.consumption_tax)
        for t in tax.lines
    ]
    values = head.values
    bill = TaxBill(
        invt_no=listing.invt_no,
        tax_no=tax_no,
        lines=lines,
        status="1",
        assure_code=str(values.get("assureCode") or "") or None,
        ebc_code=str(values.get("ebcCode") or "") or None,
        logistics_code=str(values.get("logisticsCode") or "") or None,
        agent_code=str(values.get("agentCode") or "") or None,
        customs_code=str(values.get("customsCode") or "") or None,
    )
    message = build_tax_bill(bill, time=moment.astimezone(CST))
    unit.add_row(
        session,
        TaxBillRow,
        document_id=listing.id,
        invt_no=listing.invt_no,
        tax_no=tax_no,
        path=tax.path,
        customs_tax=tax.customs_tax,
        value_added_tax=tax.value_added_tax,
        consumption_tax=tax.consumption_tax,
        status="1",
        lines=[{k: str(v) for k, v in line.values().items()} for line in tax.lines],
        payable_from=moment + timedelta(days=PAYABLE_FROM_DAY - 1),
        payable_until=moment + timedelta(days=PAYABLE_UNTIL_DAY),
        created_at=moment,
    )
    return keep_notice(
        session,
        message,
        status="1",
        zh="电子税单已生成",
        en="tax bill generated",
        document_id=listing.id,
        message_id=listing.message_id,
        key=listing.doc_key,
        moment=moment,
    )


def _reject(
    engine: Engine,
    session: Session,
    listing: DocumentRow,
    inventory: Node,
    reasons: list[Reason],
    moment: datetime,
) -> list[Answer]:
    listing.status = "rejected"
    engine._event(
        session,
        listing,
        "rejected",
        "rejected",
        moment,
        {"reasons": [{"code": r.code, "rule": r.rule, "path": r.path} for r in reasons]},
    )
    info = format_return_info([ReturnInfoPart(r.code, r.zh) for r in reasons])
    return [_list_answer(engine, session, listing, inventory, "100", info, moment)]


def _list_answer(
    engine: Engine,
    session: Session,
    listing: DocumentRow,
    inventory: Node,
    status: str,
    info: str,
    moment: datetime,
) -> Answer:
    row = unit.message_row(session, MessageRow, listing.message_id)
    return engine._answer(
        session, row, listing, KINDS["CEB621"], inventory, status, info, moment, listing.doc_key
    )


def expire(engine: Engine, session: Session, now: datetime) -> list[Answer]:
    """Reject every list still waiting for companions after the configured window (四单不全)."""
    cutoff = now - engine.settings.companion_window
    waiting = session.scalars(
        select(DocumentRow).where(
            DocumentRow.kind == "list",
            DocumentRow.current.is_(True),
            DocumentRow.status == "waiting",
            DocumentRow.created_at <= cutoff,
        )
    ).all()
    answers: list[Answer] = []
    for listing in waiting:
        found = companions(session, listing)
        if not found.missing:
            answers.extend(decide(engine, session, listing, found, now))
            continue
        inventory = node_of(session, listing)
        missing_zh = "、".join(zh for zh, _en in found.missing)
        listing.status = "expired"
        engine._event(
            session, listing, "expired", "expired", now, {"missing": [en for _zh, en in found.missing]}
        )
        info = format_return_info([ReturnInfoPart("-621002", f"四单回执解析失败，未找到{missing_zh}")])
        answers.append(_list_answer(engine, session, listing, inventory, "100", info, now))
    return answers


def resolve(
    engine: Engine, session: Session, listing: DocumentRow, action: str, note: str, moment: datetime
) -> list[Answer]:
    """Finish a held list (300 review or 500 inspection): release it — limits and tax judged again, since
    the buyer's quota may have moved — or reject it by hand (observed code 1300 人工退单); or order a list
    held for review to inspection (`inspect`: 500 查验, still held)."""
    if listing.status not in ("review", "inspection"):
        raise ValueError(
            f"清单状态为 {listing.status}，不是待审核或查验 / the list is {listing.status}, not held"
        )
    if action == "inspect":
        if listing.status != "review":
            raise ValueError(
                f"只有待审核的清单可以布控查验，该清单状态为 {listing.status} / only a list held for review "
                f"can be sent to inspection; the list is {listing.status}"
            )
        inventory = node_of(session, listing)
        listing.status = "inspection"
        engine._event(session, listing, "held", "inspection", moment, {"note": note[:200], "by": "officer"})
        info = format_return_info([ReturnInfoPart("2500", "查验")])
        return [_list_answer(engine, session, listing, inventory, "500", info, moment)]
    inventory = node_of(session, listing)
    engine._event(session, listing, f"resolved:{action}", listing.status, moment, {"note": note[:200]})
    if action == "reject":
        text_ = "人工退单" + (f"，{note}" if note else "")
        return _reject(
            engine,
            session,
            listing,
            inventory,
            [Reason("1300", "manual", text_, "rejected by an officer", "observed")],
            moment,
        )
    if action != "release":
        raise ValueError(f"未知的处理 {action} / unknown action {action}")
    rates = reference.rate_table(session)
    retail = compute_tax(inventory, rates, "retail")
    quota = _lock_quota(session, listing.buyer_key or "", moment.astimezone(CST).year, moment)
    limit = limit_rules.decide(
        retail.tax_price,
        inventory.children.get("InventoryList", []),
        quota.used,
        list_no=listing.invt_no or listing.order_no or "",
    )
    tax = compute_tax(inventory, rates, "full") if limit.path == "full" else retail
    blocking = [r for r in (*limit.reasons, *tax.reasons) if not r.warning]
    if listing.trade_mode == "1210":
        blocking.extend(stock.shortages(session, inventory, moment))
    if blocking:
        return _reject(engine, session, listing, inventory, blocking, moment)
    return release(engine, session, listing, inventory, limit.counted, tax, moment, quota)
