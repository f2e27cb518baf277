"""Read-only questions the portal's pages ask: the dashboard numbers, the list search, a list with its three
companion documents and the comparison's result per rule. Nothing here writes."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from cbec.access import Principal
from cbec.ceb.dxp import CST
from cbec.ceb.receipts import parse_return_info
from cbec.clearance import compare as compare_rules
from cbec.clearance.decide import node_of
from cbec.clearance.reasons import Reason
from cbec.store.models import DocumentRow, EnterpriseRow, MessageRow, ReceiptRow

LIST_STATUSES = ("waiting", "review", "inspection", "released", "rejected", "cancelled", "expired", "deleted")
HELD = ("review", "inspection")


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants that begin and end a day in China Standard Time."""
    start = datetime.combine(day, time(0), tzinfo=CST).astimezone(UTC)
    return start, start + timedelta(days=1)


def today_cst(now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(CST).date()


def _own_lists(query: Any, principal: Principal) -> Any:
    """Restrict a query over documents to those an enterprise takes part in (by party column or sender)."""
    if principal.reads_all or principal.enterprise is None:
        return query
    code = principal.enterprise
    sent = select(MessageRow.id).where(MessageRow.cop_code == code)
    return query.where(
        or_(
            DocumentRow.ebp_code == code,
            DocumentRow.ebc_code == code,
            DocumentRow.logistics_code == code,
            DocumentRow.pay_code == code,
            DocumentRow.message_id.in_(sent),
        )
    )


def count(session: Session, query: Any) -> int:
    """How many rows a select would return."""
    return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)


@dataclass
class Dashboard:
    messages: int = 0
    lists: int = 0
    released: int = 0
    rejected: int = 0
    held: int = 0
    waiting: int = 0
    days: list[date] = field(default_factory=list)
    messages_by_day: list[int] = field(default_factory=list)
    released_by_day: list[int] = field(default_factory=list)
    rejected_by_day: list[int] = field(default_factory=list)
    reasons: list[tuple[str, int]] = field(default_factory=list)
    top: list[tuple[str, str, int]] = field(default_factory=list)

    @property
    def release_rate(self) -> str:
        decided = self.released + self.rejected
        return f"{100 * self.released / decided:.1f}%" if decided else "—"


def dashboard(session: Session, principal: Principal, today: date, days: int = 14) -> Dashboard:
    """Today's counts, the trend over `days`, rejections by reason and the top enterprises (30 days)."""
    board = Dashboard()
    lists = _own_lists(
        select(DocumentRow.id).where(DocumentRow.kind == "list", DocumentRow.current), principal
    )
    messages = select(MessageRow.id)
    if not principal.reads_all and principal.enterprise is not None:
        messages = messages.where(MessageRow.cop_code == principal.enterprise)
    for offset in range(days - 1, -1, -1):
        day = today - timedelta(days=offset)
        start, end = day_bounds(day)
        board.days.append(day)
        board.messages_by_day.append(
            count(session, messages.where(MessageRow.received_at >= start, MessageRow.received_at < end))
        )
        board.released_by_day.append(
            count(session, lists.where(DocumentRow.released_at >= start, DocumentRow.released_at < end))
        )
        board.rejected_by_day.append(
            count(
                session,
                lists.where(
                    DocumentRow.status.in_(("rejected", "expired")),
                    DocumentRow.updated_at >= start,
                    DocumentRow.updated_at < end,
                ),
            )
        )
    start, end = day_bounds(today)
    board.messages = board.messages_by_day[-1]
    board.released = board.released_by_day[-1]
    board.rejected = board.rejected_by_day[-1]
    board.lists = count(session, lists.where(DocumentRow.created_at >= start, DocumentRow.created_at < end))
    board.held = count(session, lists.where(DocumentRow.status.in_(HELD)))
    board.waiting = count(session, lists.where(DocumentRow.status == "waiting"))

    since = day_bounds(today - timedelta(days=29))[0]
    own_ids = lists.where(DocumentRow.updated_at >= since)
    infos = session.scalars(
        select(ReceiptRow.return_info)
        .where(
            ReceiptRow.receipt_type == "CEB622",
            ReceiptRow.return_status == "100",
            ReceiptRow.created_at >= since,
            ReceiptRow.document_id.in_(own_ids),
        )
        .limit(20000)
    )
    reasons: Counter[str] = Counter()
    for info in infos:
        for part in parse_return_info(info).parts:
            reasons[f"{part.code} {part.desc}"[:60]] += 1
    board.reasons = reasons.most_common(8)

    top = session.execute(
        _own_lists(
            select(DocumentRow.ebc_code, func.count(DocumentRow.id).label("n"))
            .where(DocumentRow.kind == "list", DocumentRow.current, DocumentRow.created_at >= since)
            .group_by(DocumentRow.ebc_code),
            principal,
        )
        .order_by(func.count(DocumentRow.id).desc())
        .limit(8)
    ).all()
    names = {
        r.code: r.name
        for r in session.scalars(select(EnterpriseRow).where(EnterpriseRow.code.in_([t[0] for t in top])))
    }
    board.top = [(row[0] or "-", names.get(row[0] or "", ""), int(row[1])) for row in top]
    return board


@dataclass(frozen=True)
class SearchFilter:
    number: str = ""
    status: str = ""
    date_from: date | None = None
    date_to: date | None = None
    enterprise: str = ""


def search(
    session: Session, principal: Principal, flt: SearchFilter, page: int, per_page: int = 20
) -> tuple[list[DocumentRow], int]:
    """Current lists matching the filter that the principal may read, newest first, one page."""
    query = _own_lists(select(DocumentRow).where(DocumentRow.kind == "list", DocumentRow.current), principal)
    if flt.number:
        n = flt.number
        query = query.where(or_(DocumentRow.invt_no == n, DocumentRow.order_no == n, DocumentRow.cop_no == n))
    if flt.status:
        query = query.where(DocumentRow.status == flt.status)
    if flt.date_from is not None:
        query = query.where(DocumentRow.created_at >= day_bounds(flt.date_from)[0])
    if flt.date_to is not None:
        query = query.where(DocumentRow.created_at < day_bounds(flt.date_to)[1])
    if flt.enterprise:
        code = flt.enterprise
        query = query.where(
            or_(
                DocumentRow.ebc_code == code,
                DocumentRow.ebp_code == code,
                DocumentRow.logistics_code == code,
                DocumentRow.pay_code == code,
            )
        )
    total = count(session, query)
    rows = list(
        session.scalars(query.order_by(DocumentRow.id.desc()).offset((page - 1) * per_page).limit(per_page))
    )
    return rows, total


def held_lists(session: Session, limit: int = 200) -> list[DocumentRow]:
    """Lists waiting for a person: review (300) and inspection (500), oldest first."""
    return list(
        session.scalars(
            select(DocumentRow)
            .where(DocumentRow.kind == "list", DocumentRow.current, DocumentRow.status.in_(HELD))
            .order_by(DocumentRow.updated_at, DocumentRow.id)
            .limit(limit)
        )
    )


# ---- a list and its companions --------------------------------------------------------------------------


def _latest(session: Session, kind: str, **keys: str | None) -> DocumentRow | None:
    if any(v is None for v in keys.values()):
        return None
    query = select(DocumentRow).where(DocumentRow.kind == kind, DocumentRow.current)
    for name, value in keys.items():
        query = query.where(getattr(DocumentRow, name) == value)
    return session.scalars(query.order_by(DocumentRow.id.desc()).limit(1)).first()


@dataclass
class Companions:
    order: DocumentRow | None
    payment: DocumentRow | None
    waybill: DocumentRow | None


def companions(session: Session, listing: DocumentRow) -> Companions:
    """The order, payment and waybill a list names (the current version of each, whatever its status)."""
    return Companions(
        order=_latest(session, "order", ebp_code=listing.ebp_code, order_no=listing.order_no),
        payment=_latest(session, "payment", ebp_code=listing.ebp_code, order_no=listing.order_no),
        waybill=_latest(
            session, "waybill", logistics_code=listing.logistics_code, logistics_no=listing.logistics_no
        ),
    )


@dataclass(frozen=True)
class RuleResult:
    code: str
    zh: str
    en: str
    outcome: str  # pass | warn | fail
    findings: tuple[Reason, ...]


def rule_results(
    session: Session, listing: DocumentRow, found: Companions, certified: frozenset[str]
) -> list[RuleResult] | None:
    """Each comparison rule's result on the current four documents; None when one is missing."""
    if found.order is None or found.payment is None or found.waybill is None:
        return None
    reasons = compare_rules.compare(
        node_of(session, found.order),
        node_of(session, found.payment),
        node_of(session, found.waybill),
        node_of(session, listing),
        policy=compare_rules.ComparePolicy(certified_platforms=certified),
    )
    results = []
    for rc in compare_rules.REASON_CODES:
        mine = tuple(r for r in reasons if r.rule in rc.rules)
        outcome = "pass" if not mine else ("warn" if all(r.warning for r in mine) else "fail")
        results.append(RuleResult(rc.code, rc.zh, rc.en, outcome, mine))
    return results


def head(body: dict[str, Any] | None) -> dict[str, Any]:
    """The head node of a document's JSON form (OrderHead, PaymentHead, LogisticsHead, InventoryHead)."""
    if not body:
        return {}
    for key, value in body.items():
        if key.endswith("Head") and isinstance(value, dict):
            return value
    return {}


def items(body: dict[str, Any] | None, node: str) -> list[dict[str, Any]]:
    value = (body or {}).get(node)
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def declared_value(row: DocumentRow) -> Decimal | None:
    """A list's dutiable value once decided, else the total of its lines as declared."""
    if row.amount is not None:
        return row.amount
    total = line_total(items(row.body, "InventoryList"))
    return Decimal(total) if total else None


def line_total(lines: list[dict[str, Any]]) -> str:
    total = Decimal("0")
    for line in lines:
        try:
            total += Decimal(str(line.get("totalPrice", "0")))
        except ArithmeticError:
            continue
    return f"{total:f}"
