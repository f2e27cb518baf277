"""The import clearance use cases: take a message, judge each document, store it, answer with receipts;
compare the four documents when the last one arrives, decide the list, write the tax bill.

Each public function is one use case and one transaction (`Store.transaction`). Pure rules live beside
this module (`compare`, `positive_list`, `limits`, `tax`); this module loads, calls them and writes.
"""

from __future__ import annotations

import functools
import hashlib
import os
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select, union_all
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session, defer

from cbec.access import node_parties
from cbec.ceb import jsonform
from cbec.ceb.catalogue.messages import MESSAGE_TYPES
from cbec.ceb.dxp import CST
from cbec.ceb.errors import CebError
from cbec.ceb.model import Message, Node
from cbec.ceb.parse import parse_checked
from cbec.ceb.problems import Problem
from cbec.ceb.receipts import (
    ReturnInfoPart,
    build_return,
    document_keys,
    format_return_info,
    receipt_message,
)
from cbec.ceb.render import render
from cbec.clearance import decide, locks, stock, unit
from cbec.clearance.documents import (
    KINDS,
    Kind,
    business_key,
    buyer_id_number,
    buyer_key,
    decimal,
    head_of,
    text,
)
from cbec.clearance.reasons import Reason
from cbec.store import bulk
from cbec.store.db import Store
from cbec.store.models import (
    DocumentLineRow,
    DocumentPartyRow,
    DocumentRow,
    EventRow,
    MessageRow,
    ReceiptRow,
)

if TYPE_CHECKING:
    from cbec.ceb.sign.keys import CertificateInfo

#: A decision hook: given the list and what the rules found, return "300" (manual review), "500"
#: (inspection) or None (release). The risk engine plugs in here.
DecisionHook = Callable[["Decision"], str | None]


@dataclass
class Settings:
    """What an operator tunes. Defaults follow the policy texts; every number is a setting."""

    #: a list whose order, payment and waybill have not all arrived within this window is rejected
    companion_window: timedelta = timedelta(hours=24)
    #: share of releasable lists sent to inspection (500) at random; 0 by default
    inspection_rate: float = 0.0
    #: platforms (ebpCode) that certify buyer identity: for them the payer need not be the buyer
    certified_platforms: frozenset[str] = frozenset()
    #: extra decision hook (risk engine); runs after the random inspection draw
    hook: DecisionHook | None = None
    #: take messages that arrive together from several threads in one transaction (`Engine.ingest`);
    #: CBEC_GROUP_COMMIT=1. Off by default: one transaction a message.
    group_commit: bool = False
    #: with group commit, how long a new leader waits for more requests to join its transaction, in
    #: seconds; CBEC_GROUP_COMMIT_WAIT_MS. 0 by default: measured, a wait cost more than it saved
    group_commit_wait: float = 0.0
    #: with group commit, how many chunks one process may run at once (CBEC_GROUP_COMMIT_LEADERS): while
    #: one waits on the database, the next is parsed and decided, and a request does not wait for the
    #: chunk in flight to finish before its own starts. 1 by default: measured over HTTP, 2 gave lower
    #: latency one message a request but smaller chunks and less throughput, and in batches of 50 no more
    #: throughput and a p99 of seconds. SQLite takes one writer, so it stays at 1 there.
    group_commit_leaders: int = 1
    #: signatures are always verified and the result archived; "enforce" also refuses a document whose
    #: signature does not verify (-621029 …). Registered certificates come with the enterprise registry.
    signatures: str = "record"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from CBEC_* variables (what the CLI and services use); bad values are refused clearly."""
        env = os.environ if environ is None else environ
        settings = cls()
        try:
            if env.get("CBEC_COMPANION_WINDOW_HOURS"):
                settings.companion_window = timedelta(hours=float(env["CBEC_COMPANION_WINDOW_HOURS"]))
            if env.get("CBEC_INSPECTION_RATE"):
                settings.inspection_rate = float(env["CBEC_INSPECTION_RATE"])
            if env.get("CBEC_GROUP_COMMIT_WAIT_MS"):
                settings.group_commit_wait = max(float(env["CBEC_GROUP_COMMIT_WAIT_MS"]), 0.0) / 1000
            if env.get("CBEC_GROUP_COMMIT_LEADERS"):
                settings.group_commit_leaders = int(env["CBEC_GROUP_COMMIT_LEADERS"])
        except ValueError as exc:
            raise ClearanceError(
                f"配置值不是数字：{exc}", f"a setting is not a number: {exc}", code="CBEC-0402"
            ) from exc
        if not 1 <= settings.group_commit_leaders <= 16:
            raise ClearanceError(
                "CBEC_GROUP_COMMIT_LEADERS 应在 1 到 16 之间",
                "CBEC_GROUP_COMMIT_LEADERS must be within 1..16",
                code="CBEC-0402",
            )
        if not 0 <= settings.inspection_rate <= 1:
            raise ClearanceError(
                "CBEC_INSPECTION_RATE 应在 0 到 1 之间",
                "CBEC_INSPECTION_RATE must be within 0..1",
                code="CBEC-0402",
            )
        settings.group_commit = env.get("CBEC_GROUP_COMMIT", "") in ("1", "true", "yes")
        platforms = env.get("CBEC_CERTIFIED_PLATFORMS", "")
        settings.certified_platforms = frozenset(p.strip() for p in platforms.split(",") if p.strip())
        signatures = env.get("CBEC_SIGNATURES", "record")
        if signatures not in ("record", "enforce"):
            raise ClearanceError(
                "CBEC_SIGNATURES 应为 record 或 enforce",
                "CBEC_SIGNATURES must be record or enforce",
                code="CBEC-0402",
            )
        settings.signatures = signatures
        return settings

    rng: random.Random = field(default_factory=random.Random)


@dataclass
class Answer:
    """One receipt produced by a use case."""

    receipt_type: str
    status: str
    info: str
    xml: bytes
    document_key: str | None = None


@dataclass(frozen=True, slots=True)
class Intake:
    """One message for `Engine.ingest_many`: its bytes, where it came from, and the engine's clock."""

    data: bytes
    source: str | None = None
    now: datetime | None = None
    #: the sender's registered certificates, as `Engine.ingest(trusted=…)` takes them
    trusted: Collection[CertificateInfo] | None = None
    #: `data` already read by `read_message` (an admission check needed it), so it is not parsed again
    parsed: Parsed | None = None
    #: a check run before intake (`Engine.ingest(admission=…)`), whose result replaces `trusted`
    admission: Admission | None = None


@dataclass
class IngestResult:
    """What `ingest` did: the message outcome and every receipt (and tax bill) it produced."""

    message_type: str | None
    outcome: str  # accepted | rejected | duplicate
    answers: list[Answer]

    @property
    def statuses(self) -> list[str]:
        return [a.status for a in self.answers]


@dataclass
class Decision:
    """The facts a decision hook sees about one list."""

    list_key: str
    reasons: list[Reason]
    tax_price: Decimal


class ClearanceError(CebError):
    code = "CBEC-0401"


def _now(now: datetime | None) -> datetime:
    moment = now or datetime.now(UTC)
    if moment.tzinfo is None:
        raise ClearanceError("时间必须带时区", "times must be timezone-aware")
    return moment.astimezone(UTC)


def _info(parts: Sequence[tuple[str, str]], text_: str = "") -> str:
    return format_return_info([ReturnInfoPart(code, desc) for code, desc in parts], text_)


# ---------------------------------------------------------------------------------------------- ingest


class Engine:
    """The clearance engine over a store. Thread-safe as far as the store is; one instance per process."""

    def __init__(self, store: Store, settings: Settings | None = None) -> None:
        self.store = store
        self.settings = settings or Settings()
        #: messages parsed at arrival, by message id, so a later decision need not parse them again
        self.nodes = unit.NodeCache()
        self._group = _GroupCommit(self)
        #: how chunks went (`ingest_many`): taken whole, run again after a bonded-stock conflict, or given
        #: up for one message a transaction (and how many messages that took); read by benchmarks
        self.chunk_stats: Counter[str] = Counter()
        self._stats_lock = threading.Lock()

    # -- intake -----------------------------------------------------------------------------------------

    def ingest(
        self,
        data: bytes,
        *,
        source: str | None = None,
        now: datetime | None = None,
        trusted: Collection[CertificateInfo] | None = None,
        parsed: Parsed | None = None,
        admission: Admission | None = None,
    ) -> IngestResult:
        """Take one message (XML, DxpMsg or the JSON form) and answer it; idempotent on the root guid.

        `trusted`, when given, are the certificates registered to the sender: then every declared
        (appStatus=2) list, cancellation and return must carry a valid signature by one of them, or it is
        refused with the official signature code (-621029, -623029, -625005) and nothing is stored but the
        archived message and its receipt. Drafts need a signature, but not a registered certificate; the
        JSON form cannot be verified, so it cannot declare these.

        With `Settings.group_commit`, calls that arrive together from several threads (an HTTP server's
        thread pool) are taken in one transaction (`ingest_many`), each still judged on its own.

        `parsed`, when given, is what `read_message(data)` returned for these very bytes (the caller read
        the message already); the answer is the same as without it.

        `admission`, when given, is asked first: it raises to refuse the message (raised here, nothing
        stored) or returns the certificates to judge it by, in place of `trusted`. With group commit it is
        asked in the transaction of the chunk that takes the message, before anything is locked or written;
        without, in a transaction of its own."""
        item = Intake(data, source, now, trusted, parsed, admission)
        return self._group.submit(item) if self.settings.group_commit else self._alone(item)

    def ingest_each(self, items: Sequence[Intake]) -> list[IngestResult | Exception]:
        """Take several messages as `ingest` takes each (admission check included), in the order given, in
        as few transactions as they fit: each answered with its result, or with the error `ingest` would
        have raised for it (a refusal by its admission check, say), in its place.

        With group commit the messages join the waiting ones as one block, in their order, so a batch of a
        hundred is one or two chunks rather than a hundred rounds; without, they are one chunk
        (`ingest_many`), their admission checks asked in its transaction."""
        if not items:
            return []
        if self.settings.group_commit:
            return self._group.submit_all(items)
        tickets = [_Ticket(item) for item in items]
        self._group.take(tickets)
        return _outcomes(tickets)

    def _ingest_one(
        self,
        data: bytes,
        source: str | None,
        now: datetime | None,
        trusted: Collection[CertificateInfo] | None = None,
        preread: Parsed | None = None,
    ) -> IngestResult:
        moment = _now(now)
        try:
            message, problems, business = preread if preread is not None else _read(data)
        except CebError as exc:
            return IngestResult(None, "rejected", [self._format_receipt(data, exc, moment)])
        with self.store.transaction() as session:
            locks.lock_trades(session, [message])
            unit.begin(session, self.nodes)
            result = self._ingest(session, data, message, problems, business, source, moment, trusted)
            parsed = unit.finish(session)
        self.nodes.update(parsed)
        return result

    def ingest_many(self, items: Sequence[Intake]) -> list[IngestResult]:
        """Take several messages in one transaction, each judged on its own exactly as `ingest` would, in
        the order given: the same receipts, the same idempotency. One commit for the chunk, the rows the
        chunk makes written with one insert per table, and the messages of the chunk not parsed twice.

        If anything fails, the chunk's transaction is rolled back and every message of it is ingested again
        one by one, so one bad message loses nothing of the others: all the others are committed, then the
        first error is raised as `ingest` would raise it."""
        outcomes = self._many(items)
        for outcome in outcomes:
            if isinstance(outcome, Exception):
                raise outcome
        return [o for o in outcomes if isinstance(o, IngestResult)]

    def _many(
        self, items: Sequence[Intake], left_out: Sequence[int] | None = None
    ) -> list[IngestResult | Exception]:
        """`ingest_many`, with each message's error (after the fallback) in its place instead of raised.

        With `left_out` (group commit: how many chunks each item was left out of already), the chunk does
        not wait for trades or buyers another transaction holds: those messages get `LeftOut` in their
        place, to be taken again (`locks.lock_or_defer`). An item left out twice, or a chunk of nothing but
        items left out before, waits for its locks instead."""
        read: list[tuple[Intake, datetime, tuple[Message, list[Problem], bytes | None] | CebError]] = []
        for item in items:
            moment = _now(item.now)
            try:
                read.append((item, moment, item.parsed if item.parsed is not None else _read(item.data)))
            except CebError as exc:
                read.append((item, moment, exc))
        self._count("chunks")
        try:
            try:
                return self._chunk(read, lock_stock=False, left_out=left_out)
            except stock.StockConflict:  # bonded stock it relied on changed: again, rows locked as read
                self._count("stock_reruns")
                return self._chunk(read, lock_stock=True, left_out=left_out)
        except Exception:
            self._count("fallbacks")
            self._count("fallback_messages", len(items))
            return [self._try_one(item) for item in items]

    def _count(self, what: str, n: int = 1) -> None:
        with self._stats_lock:  # an API server's threads share the engine
            self.chunk_stats[what] += n

    def _chunk(
        self,
        read: Sequence[tuple[Intake, datetime, tuple[Message, list[Problem], bytes | None] | CebError]],
        *,
        lock_stock: bool,
        left_out: Sequence[int] | None = None,
    ) -> list[IngestResult | Exception]:
        """One transaction for the chunk (`_many`): raises what went wrong, the transaction rolled back."""
        results: list[IngestResult | Exception] = []
        with self.store.transaction() as session:
            later = _lock_or_defer(session, read, left_out) if left_out is not None else {}
            read, refused = _admitted(session, read, skip=later)
            not_taken = {**refused, **later}  # by position: a refusal, or `LeftOut`
            taken = [
                (p[0], m)
                for i, (_i, m, p) in enumerate(read)
                if i not in not_taken and not isinstance(p, CebError)
            ]
            if left_out is None:
                locks.lock_trades(session, [message for message, _m in taken])
            unit.begin(session, self.nodes)
            _preload(session, taken, lock_stock=lock_stock)
            for index, (item, moment, parsed) in enumerate(read):
                if index in not_taken:
                    results.append(not_taken[index])
                    continue
                if isinstance(parsed, CebError):
                    answer = self._format_receipt(item.data, parsed, moment)
                    results.append(IngestResult(None, "rejected", [answer]))
                    continue
                message, problems, business = parsed
                results.append(
                    self._ingest(
                        session, item.data, message, problems, business, item.source, moment, item.trusted
                    )
                )
            stock.settle(session)
            done = unit.finish(session)
        self.nodes.update(done)
        return results

    def _try_one(self, item: Intake) -> IngestResult | Exception:
        try:
            return self._alone(item)
        except Exception as exc:
            return exc

    def _alone(self, item: Intake) -> IngestResult:
        """One message in transactions of its own: its admission check (if any) first, then intake."""
        trusted = item.trusted
        if item.admission is not None:
            with self.store.transaction() as session:
                trusted = item.admission(session)
        return self._ingest_one(item.data, item.source, item.now, trusted, item.parsed)

    def _ingest(
        self,
        session: Session,
        data: bytes,
        message: Message,
        problems: list[Problem],
        business: bytes | None,
        source: str | None,
        moment: datetime,
        trusted: Collection[CertificateInfo] | None = None,
    ) -> IngestResult:
        code = message.code
        # idempotency is judged on the business message: the same message in a new envelope is the same
        digest = hashlib.sha256(business if business is not None else data).hexdigest()
        chunk = unit.index(session)
        stored_before = chunk.stored_before(code, message.guid) if chunk is not None else None
        existing = (
            None
            if stored_before is False
            else session.scalars(
                select(MessageRow).where(MessageRow.msg_type == code, MessageRow.guid == message.guid)
            ).first()
        )
        if existing is not None:
            return self._replay(session, existing, digest, message, moment)
        kind = KINDS.get(code)
        if kind is None:
            exc = ClearanceError(
                f"{code} 不是本平台受理的进口申报报文",
                f"{code} is not an import declaration this platform accepts",
                code="-2",
            )
            return IngestResult(
                code, "rejected", [self._format_receipt(data, exc, moment, message.type.root)]
            )
        transfer = message.child("BaseTransfer")
        pinned = trusted is not None and code in SIGNED_DECLARATIONS
        signature, signature_code, signature_reason = _signature(
            message, business, trusted if pinned else None, moment
        )
        if pinned and signature != "valid":
            # the sender's certificate decides: an unsigned message fails for every document (the schema
            # requires ds:Signature), a signature by another certificate only for declared documents
            unsigned = signature == "none"
            problems = [
                *(p for p in problems if p.rule not in ("signature_required", "signature_for_declare")),
                *_unsigned_declarations(message, kind, signature_code, signature_reason, drafts=unsigned),
            ]
        elif signature == "invalid" and self.settings.signatures == "enforce":
            code_ = SIGNATURE_CODES.get(code, "1001")
            problems = [
                *problems,
                Problem(
                    code_,
                    "Signature",
                    "error",
                    "signature_invalid",
                    f"验签失败！{signature_reason}",
                    f"signature verification failed: {signature_reason}",
                ),
            ]
        row = bulk.new_object(
            MessageRow,
            guid=message.guid,
            msg_type=code,
            sha256=digest,
            size=len(data),
            raw=data,
            received_at=moment,
            cop_code=text(transfer, "copCode") if transfer is not None else None,
            dxp_id=text(transfer, "dxpId") if transfer is not None else None,
            source=source,
            signature=signature,
            signature_code=signature_code,
            outcome="accepted",
        )
        new_id = chunk.next_id("messages") if chunk is not None else None
        if chunk is not None and new_id is not None:
            row.id = new_id  # allocated for the chunk: no insert round trip now, one batch at the end
            session.add(row)
            chunk.messages[new_id] = row
        else:
            session.add(row)
            session.flush()
        session.info["trigger"] = row.id  # every receipt this arrival produces is kept under it
        unit.remember(session, row.id, message)
        if chunk is not None:
            chunk.chunk_messages.add((code, message.guid))
        body = message.mspec.body.name
        errors = [p for p in problems if p.is_error]
        message_level = [p for p in errors if not p.path.startswith(f"{body}[")]
        answers: list[Answer] = []
        accepted = 0
        for index, document in enumerate(message.documents, 1):
            own = [p for p in errors if p.path.startswith(f"{body}[{index}]/")]
            answer, stored = self._document(
                session, row, kind, message, index, document, message_level + own, moment
            )
            answers.append(answer)
            if stored is not None:
                accepted += 1
                answers.extend(self._after_arrival(session, kind, stored, moment))
        if not accepted:
            row.outcome = "rejected"
        return IngestResult(code, row.outcome, answers)

    def _replay(
        self, session: Session, existing: MessageRow, digest: str, message: Message, moment: datetime
    ) -> IngestResult:
        """The same message again: the receipts it got, unchanged; a reused guid with new content: refused."""
        unit.flush_rows(session)
        if existing.sha256 == digest:
            rows = session.scalars(
                select(ReceiptRow).where(ReceiptRow.trigger_id == existing.id).order_by(ReceiptRow.id)
            ).all()
            answers = [Answer(r.receipt_type, r.return_status, r.return_info, r.xml) for r in rows]
            return IngestResult(message.code, "duplicate", answers)
        kind = KINDS[message.code]
        answers = []
        for document in message.documents:
            head = head_of(kind, document)
            info = _info(
                [(kind.duplicate, "报文 guid 已被其他内容使用，不做处理")],
                "the message guid was already used",
            )
            answers.append(
                self._answer(
                    session,
                    None,
                    None,
                    kind,
                    document,
                    kind.duplicate,
                    info,
                    moment,
                    business_key(kind, head),
                )
            )
        return IngestResult(message.code, "rejected", answers)

    def _document(
        self,
        session: Session,
        row: MessageRow,
        kind: Kind,
        message: Message,
        index: int,
        document: Node,
        errors: list[Problem],
        moment: datetime,
    ) -> tuple[Answer, DocumentRow | None]:
        """Judge one document on its own (fields, duplicates, references) and store it if accepted."""
        head = head_of(kind, document)
        key = business_key(kind, head)
        if errors:
            code = errors[0].code
            info = _info([(p.code, f"{p.path}: {p.zh}") for p in errors[:20]])
            return self._answer(session, row, None, kind, document, code, info, moment, key), None
        app_type = text(head, "appType") or "1"
        chunk = unit.index(session)
        covered, current = chunk.current(kind.name, key) if chunk is not None else (False, None)
        if not covered:
            current = session.scalars(
                select(DocumentRow).where(
                    DocumentRow.kind == kind.name, DocumentRow.doc_key == key, DocumentRow.current.is_(True)
                )
            ).first()
        live = current is not None and current.status not in ("deleted", "rejected", "expired")
        if app_type == "1" and live:
            info = _info([(kind.duplicate, f"已存在相同编号的单证 {key}")])
            return self._answer(session, row, None, kind, document, kind.duplicate, info, moment, key), None
        if app_type in ("2", "3"):
            if not live:
                info = _info([(kind.not_found, "报送类型为变更/删除，但未找到要操作的单证")])
                return (
                    self._answer(session, row, None, kind, document, kind.not_found, info, moment, key),
                    None,
                )
            assert current is not None
            if kind.locked is not None and self._in_use(session, kind, current):
                info = _info([(kind.locked, "该单证已被申报清单使用，状态不符，不能变更或删除")])
                return (
                    self._answer(session, row, None, kind, document, kind.locked, info, moment, key),
                    None,
                )
            current.current = False
            current.updated_at = moment
            self._event(
                session, current, "superseded" if app_type == "2" else "deleted", current.status, moment
            )
        if current is not None and not live and app_type == "1":
            # declared again after a deletion, rejection or expiry: a new version, the old one kept
            current.current = False
            current.updated_at = moment
        version = current.version + 1 if current is not None else 1
        draft = (text(head, "appStatus") or "2") == "1"
        status = "deleted" if app_type == "3" else ("draft" if draft else "accepted")
        stored = self._store_document(session, row, kind, index, document, head, key, version, status, moment)
        if kind.name == "list":
            stored.pre_no = f"B{moment.astimezone(CST):%Y%m%d}{stored.id:09d}"
            customs = text(head, "customsCode") or "0000"
            stored.invt_no = f"{customs}{moment.astimezone(CST):%Y}I{stored.id:09d}"
        if status == "deleted":
            receipt_status, info = "399", _info([("2300", "审核通过")], "删除成功")
        elif draft:
            receipt_status, info = ("1" if kind.name == "list" else "2"), "暂存 / draft stored"
        else:
            receipt_status, info = "120", _info([("1800", "逻辑校验通过")])
        answer = self._answer(session, row, stored, kind, document, receipt_status, info, moment, key)
        return answer, (stored if status == "accepted" else None)

    def _store_document(
        self,
        session: Session,
        row: MessageRow,
        kind: Kind,
        index: int,
        document: Node,
        head: Node,
        key: str,
        version: int,
        status: str,
        moment: datetime,
    ) -> DocumentRow:
        amount = {
            "order": decimal(head, "acturalPaid"),
            "payment": decimal(head, "amountPaid"),
            "list": None,
        }.get(kind.name)
        stored = bulk.new_object(
            DocumentRow,
            kind=kind.name,
            doc_key=key,
            version=version,
            current=True,
            message_id=row.id,
            position=index,
            head_guid=text(head, "guid") or "",
            status=status,
            ebp_code=text(head, "ebpCode"),
            ebc_code=text(head, "ebcCode"),
            order_no=text(head, "orderNo"),
            logistics_code=text(head, "logisticsCode"),
            logistics_no=text(head, "logisticsNo"),
            pay_code=text(head, "payCode"),
            pay_transaction_id=text(head, "payTransactionId"),
            invt_no=text(head, "invtNo") if kind.name in ("cancel", "refund") else None,
            cop_no=text(head, "copNo"),
            buyer_key=buyer_key(buyer_id_number(kind, head)),
            trade_mode=text(head, "tradeMode"),
            amount=amount,
            body=jsonform.node_to_json(document),
            created_at=moment,
            updated_at=moment,
        )
        chunk = unit.index(session)
        new_id = chunk.next_id("documents") if chunk is not None else None
        if new_id is not None:
            stored.id = new_id
            session.add(stored)
        else:
            session.add(stored)
            session.flush()
        if chunk is not None:
            chunk.add(stored)
        for line_name in ("OrderList", "InventoryList", "InvtRefundList", "DeliveryList"):
            for line in document.children.get(line_name, []):
                gnum = line.values.get("gnum")
                unit.add_row(
                    session,
                    DocumentLineRow,
                    document_id=stored.id,
                    gnum=gnum if isinstance(gnum, int) else 0,
                    gcode=text(line, "gcode"),
                    name=text(line, "gname") or text(line, "itemName"),
                    qty=decimal(line, "qty"),
                    unit=text(line, "unit"),
                    price=decimal(line, "price"),
                    total_price=decimal(line, "totalPrice"),
                    country=text(line, "country"),
                    item_record_no=text(line, "itemRecordNo"),
                )
        for party in sorted(node_parties(document)):
            unit.add_row(session, DocumentPartyRow, party_code=party[:64], document_id=stored.id)
        self._event(session, stored, "received", status, moment)
        return stored

    def _in_use(self, session: Session, kind: Kind, document: DocumentRow) -> bool:
        """True when a live declaration list relies on this order, payment or waybill."""
        query = select(DocumentRow.id).where(
            DocumentRow.kind == "list",
            DocumentRow.current.is_(True),
            DocumentRow.status.not_in(("rejected", "deleted", "expired", "cancelled")),
        )
        if kind.name == "order" or kind.name == "payment":
            query = query.where(
                DocumentRow.ebp_code == document.ebp_code, DocumentRow.order_no == document.order_no
            )
        elif kind.name == "waybill":
            query = query.where(
                DocumentRow.logistics_code == document.logistics_code,
                DocumentRow.logistics_no == document.logistics_no,
            )
        elif kind.name == "list":
            return document.status in ("released", "review", "inspection")
        else:
            return False
        return session.scalars(query.limit(1)).first() is not None

    # -- answers ------------------------------------------------------------------------------------------

    def _answer(
        self,
        session: Session,
        row: MessageRow | None,
        stored: DocumentRow | None,
        kind: Kind,
        document: Node,
        status: str,
        info: str,
        moment: datetime,
        key: str | None,
    ) -> Answer:
        """Build, store and return the receipt answering one document."""
        receipt_code = MESSAGE_TYPES[kind.message].receipt
        assert receipt_code is not None
        keys: dict[str, Any] = dict(document_keys(document, receipt_code))
        if receipt_code in ("CEB622", "CEB624", "CEB626"):
            keys.setdefault("copNo", (text(head_of(kind, document), "copNo") or "-")[:20])
            pre_no = stored.pre_no if stored is not None and stored.pre_no else None
            keys["preNo"] = pre_no or f"B{moment.astimezone(CST):%Y%m%d}{(row.id if row else 0) % 10**9:09d}"
            if stored is not None and stored.invt_no:
                keys["invtNo"] = stored.invt_no
        node = build_return(receipt_code, keys, status, info, moment.astimezone(CST), any_status=True)
        receipt = receipt_message(receipt_code, [node])
        xml = render(receipt)
        unit.add_row(
            session,
            ReceiptRow,
            trigger_id=session.info.get("trigger"),
            message_id=row.id if row is not None else None,
            document_id=stored.id if stored is not None else None,
            receipt_type=receipt_code,
            guid=receipt.guid,
            return_status=status,
            return_info=str(node.values.get("returnInfo", "")),
            xml=xml,
            recipient=row.cop_code if row is not None else None,
            created_at=moment,
        )
        return Answer(receipt_code, status, str(node.values.get("returnInfo", "")), xml, key)

    def _format_receipt(
        self, data: bytes, exc: CebError, moment: datetime, message_type: str = "Unknown"
    ) -> Answer:
        """A message that cannot be taken (unreadable, or not an import declaration) gets a CEB900
        format-check receipt: -1 for DXP 0001 报文格式错误, -2 for a type this platform does not take."""
        keys = {
            "guid": str(uuid.uuid4()).upper(),
            "oriCopMsgId": "",
            "oriMessageType": message_type,
        }
        status = exc.code if exc.code.startswith("-") else "-" + exc.code.lstrip("0")
        info = f"{exc.zh} / {exc.en}"
        if not status[1:].isdigit():  # a cbec code (a JSON-form error, CBEC-0201): a format error, -1
            status, info = "-1", f"[{exc.code}] {info}"
        node = build_return(
            "CEB900",
            {k: v for k, v in keys.items() if v},
            status,
            info,
            moment.astimezone(CST),
            any_status=True,
        )
        xml = render(receipt_message("CEB900", [node]))
        return Answer("CEB900", status, str(node.values.get("returnInfo", "")), xml)

    def _event(
        self,
        session: Session,
        doc: DocumentRow,
        event: str,
        status: str | None,
        moment: datetime,
        detail: dict[str, object] | None = None,
    ) -> None:
        unit.add_row(
            session,
            EventRow,
            document_id=doc.id,
            message_id=doc.message_id,
            event=event,
            status=status,
            detail=detail,
            at=moment,
        )

    # -- comparison and decision ------------------------------------------------------------------------

    def _after_arrival(
        self, session: Session, kind: Kind, stored: DocumentRow, moment: datetime
    ) -> list[Answer]:
        """What a newly accepted document sets off: a list decision, a cancellation, a return."""
        from cbec.clearance import aftercare

        if kind.name in ("cancel", "refund"):
            unit.flush_rows(session)  # they read back lines, events, quota entries and tax bills
        if kind.name == "cancel":
            return aftercare.cancel(self, session, stored, moment)
        if kind.name == "refund":
            return aftercare.refund(self, session, stored, moment)
        return decide.decide_waiting(self, session, kind, stored, moment)

    # -- scheduled and manual use cases ----------------------------------------------------------------

    def resolve(self, list_no: str, action: str, note: str = "", now: datetime | None = None) -> list[Answer]:
        """Release or reject a list held for review (300) or inspection (500); `list_no` is its invtNo."""
        from cbec.clearance.decide import resolve

        with self.store.transaction() as session:
            listing = session.scalars(
                select(DocumentRow).where(
                    DocumentRow.kind == "list", DocumentRow.current.is_(True), DocumentRow.invt_no == list_no
                )
            ).first()
            if listing is None:
                raise ClearanceError(f"未找到清单 {list_no}", f"no list {list_no}", code="-621019")
            try:
                return resolve(self, session, listing, action, note, _now(now))
            except ValueError as exc:
                raise ClearanceError(str(exc), str(exc), code="-621010") from exc

    def settle(self, now: datetime | None = None) -> list[Answer]:
        """Summarize the tax bills whose payment window has begun (CEB818 status 2)."""
        from cbec.clearance.aftercare import settle

        with self.store.transaction() as session:
            return settle(self, session, _now(now))

    def expire(self, now: datetime | None = None) -> list[Answer]:
        """Reject lists whose order, payment or waybill did not arrive within the window."""
        from cbec.clearance.decide import expire

        with self.store.transaction() as session:
            return expire(self, session, _now(now))


class _GroupCommit:
    """Group commit for `Engine.ingest` called from many threads at once: a thread that finds fewer than
    `Settings.group_commit_leaders` chunks running leads one, taking every message waiting (as many as the
    server has threads) through `Engine.ingest_many` in one transaction; the others wait for their answers,
    and one of those still queued leads next. A message's error is raised in the thread that sent it.

    Several leaders let one chunk's database round trips overlap the next chunk's parsing and decisions,
    and spare a request the wait for the chunk in flight. Chunks of one process then run side by side as
    those of several processes do: a trade's documents are judged one after the other (the per-trade lock
    each chunk takes first), and quota and stock rows are locked in key order. SQLite has one leader.

    A new leader first lets `Settings.group_commit_wait` pass (0 by default) so that requests
    arriving just behind it join its transaction: a chunk's fixed cost (the preloading queries, the commit)
    is shared by more messages, at the price of that much latency when the server is not busy.

    A chunk does not wait for trades or buyers another transaction holds (another process's chunk, most
    often): it leaves their messages out, and they are queued again at the front for the next chunk
    (`locks.lock_or_defer`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        #: guards the queue and the count of leaders; each waiting call has a condition of its own on it
        self.lock = threading.Lock()
        self.waiting: list[_Ticket] = []
        self.leaders = 0
        sqlite = engine.store.engine.dialect.name == "sqlite"
        self.most = 1 if sqlite else engine.settings.group_commit_leaders
        self.wait = engine.settings.group_commit_wait

    def submit(self, item: Intake) -> IngestResult:
        result = self.submit_all([item])[0]
        if isinstance(result, Exception):
            raise result
        return result

    def submit_all(self, items: Sequence[Intake]) -> list[IngestResult | Exception]:
        """Queue `items` together, in their order (so one chunk takes them all), and wait until each has
        its outcome: led by this thread while some are still queued and a leader's place is free, else by
        another leader.

        Each call waits on a condition of its own, woken when a chunk answered or requeued one of its items
        or, for the call whose item is first in the queue, when a leader's place came free: one condition
        for every thread woke them all after each chunk, to find most of them with nothing to do."""
        turn = threading.Condition(self.lock)
        tickets = [_Ticket(item, turn) for item in items]
        with self.lock:
            self.waiting.extend(tickets)
        while True:
            with self.lock:
                while not _done(tickets) and not (self.leaders < self.most and _queued(tickets)):
                    turn.wait()
                if _done(tickets):
                    return _outcomes(tickets)
                self.leaders += 1
            batch: list[_Ticket] = []
            try:
                if self.wait:
                    time.sleep(self.wait)  # the others queue behind a leader, so they join this chunk
                with self.lock:
                    batch, self.waiting = self.waiting, []
                    for ticket in batch:
                        ticket.taken = True
                self.take(batch)
            finally:
                with self.lock:
                    self.leaders -= 1
                    woken = {t.turn for t in batch if t.turn is not None}
                    if self.waiting and (first := self.waiting[0].turn) is not None:
                        woken.add(first)  # to lead the next chunk
                    for waiting in woken:
                        waiting.notify()

    def take(self, batch: list[_Ticket]) -> None:
        """Admit and ingest `batch` as one chunk (`Engine._many`, whose transaction runs the admission
        checks first), each ticket given its outcome; a ticket left out (its trade or buyer held by another
        chunk) is queued again at the front, in its order, for the next chunk."""
        try:
            outcomes: list[IngestResult | Exception] = self.engine._many(
                [t.item for t in batch], [t.left_out for t in batch]
            )
        except Exception as exc:  # reading failed before any transaction: everyone gets the error
            outcomes = [exc] * len(batch)
        again: list[_Ticket] = []
        with self.lock:
            for waiting, outcome in zip(batch, outcomes, strict=True):
                if isinstance(outcome, LeftOut):
                    waiting.taken = False
                    waiting.left_out += 1
                    again.append(waiting)
                else:
                    waiting.outcome = outcome
            self.waiting[:0] = again
        if again:
            self.engine._count("left_out", len(again))


class LeftOut(Exception):
    """In a message's place among a group-commit chunk's outcomes: a trade or buyer of the message was held
    by another transaction, so this chunk did not take it; the next one will."""

    def __init__(self) -> None:
        super().__init__("留待下一批处理 / left for the next chunk (its trade or buyer is judged elsewhere)")


#: a message left out of this many chunks waits for its locks in the next one
_MOST_LEFT_OUT = 2


def _lock_or_defer(
    session: Session, read: Sequence[tuple[Intake, datetime, Any]], left_out: Sequence[int]
) -> dict[int, Exception]:
    """Lock the trades and buyers of a group-commit chunk without waiting for other transactions
    (`locks.lock_or_defer`), except for messages left out `_MOST_LEFT_OUT` times already, or all of them
    when each was left out before (nothing else to do but wait). Returns `LeftOut` by position."""
    messages = [None if isinstance(p, CebError) else p[0] for _i, _m, p in read]
    only_left_out_before = all(left_out)
    waiting = [i for i, n in enumerate(left_out) if only_left_out_before or n >= _MOST_LEFT_OUT]
    return {i: LeftOut() for i in locks.lock_or_defer(session, messages, waiting)}


def _admitted(
    session: Session, read: Sequence[tuple[Intake, datetime, Any]], skip: Collection[int] = ()
) -> tuple[list[tuple[Intake, datetime, Any]], dict[int, Exception]]:
    """Run the admission checks of a chunk's messages in the chunk's own transaction, before anything is
    locked or written: what each check asks of the register and the stored documents is read together
    first (`_prepare`). Returns the messages with the certificates their checks returned (in place of
    `Intake.trusted`), and the refusals by position: a refused message is not taken. A check that fails
    otherwise raises, and the chunk falls back to one message a transaction, each checked on its own. The
    messages at the positions in `skip` are not taken by this chunk, and not checked."""
    checks = [
        item.admission
        for i, (item, _m, _p) in enumerate(read)
        if item.admission is not None and i not in skip
    ]
    if not checks:
        return list(read), {}
    _prepare(checks, session)
    admitted: list[tuple[Intake, datetime, Any]] = []
    refused: dict[int, Exception] = {}
    for index, (item, moment, parsed) in enumerate(read):
        if item.admission is not None and index not in skip:
            try:
                trusted = item.admission(session)
            except CebError as exc:  # a refusal: nothing wrong with the transaction
                refused[index] = exc
            else:
                item = replace(item, trusted=trusted, admission=None)
        admitted.append((item, moment, parsed))
    return admitted, refused


def _prepare(admissions: Sequence[Admission | None], session: Session) -> None:
    """Let admission checks that can read what they will ask for several messages at once do so, before
    they are asked one by one in `session`: a check's ``prepare(session, checks)`` attribute, when it has
    one, is called once with all the checks of the chunk that share it (see `Admission`)."""
    groups: dict[Any, list[Admission]] = {}
    for admission in admissions:
        prepare = getattr(admission, "prepare", None)
        if admission is not None and prepare is not None:
            groups.setdefault(prepare, []).append(admission)
    for prepare, group in groups.items():
        prepare(session, group)


@dataclass
class _Ticket:
    item: Intake
    #: the condition its caller waits on (None: taken outside group commit's queue, `ingest_each`)
    turn: threading.Condition | None = None
    outcome: IngestResult | Exception | None = None
    #: a leader has taken it into its chunk
    taken: bool = False
    #: how many chunks left it out (its trade or buyer held by another chunk)
    left_out: int = 0


def _done(tickets: Sequence[_Ticket]) -> bool:
    return all(t.outcome is not None for t in tickets)


def _queued(tickets: Sequence[_Ticket]) -> bool:
    return any(not t.taken for t in tickets)


def _outcomes(tickets: Sequence[_Ticket]) -> list[IngestResult | Exception]:
    found = [t.outcome for t in tickets]
    assert all(o is not None for o in found), "a ticket left without an outcome"
    return [o for o in found if o is not None]


def _preload(
    session: Session, messages: Sequence[tuple[Message, datetime]], *, lock_stock: bool = True
) -> None:
    """Load what a chunk of messages will ask about, one query per question (`unit.ChunkIndex`): which of
    its messages are stored already, the current documents with its business keys and join keys, and (for
    its lists) the buyers' quota rows, locked in a fixed order, and the bonded stock rows: locked in a fixed
    order too, or on PostgreSQL unless `lock_stock`, read without a lock and checked before the commit
    (`stock.settle`)."""
    index = unit.ChunkIndex()
    quota: dict[tuple[str, int], datetime] = {}
    bonded: set[tuple[str, str]] = set()
    for message, moment in messages:
        index.covered_messages.add((message.code, message.guid))
        kind = KINDS.get(message.code)
        if kind is None:
            continue
        for document in message.documents:
            head = head_of(kind, document)
            index.covered_keys.add((kind.name, business_key(kind, head)))
            ebp, order_no = text(head, "ebpCode"), text(head, "orderNo")
            if kind.name in unit.BY_ORDER and ebp is not None and order_no is not None:
                index.covered_orders.add((ebp, order_no))
            code, number = text(head, "logisticsCode"), text(head, "logisticsNo")
            if kind.name in unit.BY_WAYBILL and code is not None and number is not None:
                index.covered_waybills.add((code, number))
            if kind.name == "list" and (buyer := buyer_key(text(head, "buyerIdNumber"))):
                quota.setdefault((buyer, moment.astimezone(CST).year), moment)
            if kind.name == "list" and text(head, "tradeMode") == "1210":
                bonded |= stock.items(document)
    dialect = session.get_bind().dialect.name
    asks = _preload_statements(dialect)
    if index.covered_messages:
        index.known_messages = {
            (t, g)
            for t, g in session.execute(
                asks.messages, bulk.keys_values(dialect, sorted(index.covered_messages))
            )
        }
    seen: set[int] = set()
    _add_documents(
        session,
        index,
        {BY_KEY: index.covered_keys, BY_ORDER: index.covered_orders, BY_WAYBILL: index.covered_waybills},
        seen,
    )
    waiting = _waiting_lists(session, index, asks, seen)
    years = {moment.astimezone(CST).year for _message, moment in messages}
    for listing in waiting:  # a companion of the chunk may decide it: its buyer's ledger rows too
        if listing.buyer_key:
            for year in years:
                quota.setdefault((listing.buyer_key, year), messages[0][1])
    _recall_companions(session, index)
    for listing in waiting:  # and its bonded stock
        if listing.trade_mode == "1210":
            bonded |= stock.items(decide.node_of(session, listing))
    if quota:
        buyers = sorted(quota)
        if asks.quota_rows is not None:
            session.execute(
                asks.quota_rows,
                [
                    {"buyer_key": k, "year": y, "used": Decimal("0"), "updated_at": quota[(k, y)]}
                    for k, y in buyers
                ],
            )
        for ledger in session.scalars(asks.quota, bulk.keys_values(dialect, buyers)):
            index.quota[(ledger.buyer_key, ledger.year)] = ledger
        index.quota_missing = {pair for pair in buyers if pair not in index.quota}
    if bonded:  # bonded stock rows (after the quota rows, as a decision takes them)
        items = sorted(bonded)
        postgres = dialect == "postgresql"
        held_rows = asks.stock_locked if postgres and lock_stock else asks.stock
        for held in session.scalars(held_rows, bulk.keys_values(dialect, items)):
            index.stock[(held.ems_no, held.item_record_no)] = held
        index.stock_missing = {pair for pair in items if pair not in index.stock}
        if postgres and not lock_stock:
            index.stock_read = {
                pair: index.stock[pair].qty if pair in index.stock else Decimal("0") for pair in items
            }
            stock.watch(session)
    documents = sum(len(m.documents) for m, _moment in messages if m.code in KINDS)
    index.ids = _allocate(session, {"messages": len(messages), "documents": documents})
    session.info[unit.INDEX] = index


@dataclass(frozen=True)
class _Question:
    """One part of the preload's question about documents (`_PreloadStatements.documents`): the name of its
    keys' parameters, and the kinds each of its keys is asked for (none: the key carries its kind)."""

    name: str
    arity: int
    kinds: tuple[str, ...] = ()

    def keys(self, pairs: Collection[tuple[str, str]]) -> list[tuple[str, ...]]:
        if not self.kinds:
            return sorted(pairs)
        return [(kind, *pair) for pair in sorted(pairs) for kind in self.kinds]


#: current documents by (kind, business key), by (ebpCode, orderNo) and by (logisticsCode, logisticsNo),
#: the last two of the kinds that carry them
BY_KEY = _Question("by_key", 2)
BY_ORDER = _Question("by_order", 3, unit.BY_ORDER)
BY_WAYBILL = _Question("by_waybill", 3, unit.BY_WAYBILL)


@dataclass(frozen=True)
class _PreloadStatements:
    """The questions of `_preload`, built once per dialect and run with their keys as parameters (building
    and keying a statement cost several times the CPU of running it, and a chunk asks up to eight)."""

    messages: Any
    #: current documents found by any of the keys of `BY_KEY`, `BY_ORDER` and `BY_WAYBILL`: one statement,
    #: where a statement each cost a chunk of a few messages two more round trips and ORM executions
    documents: Any
    quota: Any
    #: PostgreSQL: the buyers' quota rows made if missing (SQLite: None; its chunk holds the write lock)
    quota_rows: Any
    stock: Any
    stock_locked: Any
    #: message rows by id, without the archived bytes
    message_rows: Any
    #: documents' stored JSON forms by document id
    bodies: Any


@functools.cache
def _preload_statements(dialect: str) -> _PreloadStatements:
    from cbec.store.models import QuotaRow, StockRow

    current = DocumentRow.current.is_(True)

    def ids(question: _Question, *columns: Any) -> Any:
        """Current documents' ids by (kind, *columns): each key names every column of its index, the kind
        included, so the index is probed key by key whatever the table's statistics (`bulk.keys_bound`)."""
        keys = bulk.keys_bound(dialect, (DocumentRow.kind, *columns), question.name)
        return select(DocumentRow.id).where(current, keys)

    found = union_all(
        ids(BY_KEY, DocumentRow.doc_key),
        ids(BY_ORDER, DocumentRow.ebp_code, DocumentRow.order_no),
        ids(BY_WAYBILL, DocumentRow.logistics_code, DocumentRow.logistics_no),
    )
    documents = (
        select(DocumentRow)
        .where(DocumentRow.id.in_(found.scalar_subquery()))
        .options(defer(DocumentRow.body))  # read only where no parsed message is at hand
    )

    quota = select(QuotaRow).where(bulk.keys_bound(dialect, (QuotaRow.buyer_key, QuotaRow.year)))
    quota_rows = None
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert

        quota_rows = insert(QuotaRow).on_conflict_do_nothing()
        quota = quota.order_by(QuotaRow.buyer_key, QuotaRow.year).with_for_update()
    # SQLite: the write lock taken at BEGIN IMMEDIATE already serializes the chunk
    stock_rows = select(StockRow).where(bulk.keys_bound(dialect, (StockRow.ems_no, StockRow.item_record_no)))
    return _PreloadStatements(
        messages=select(MessageRow.msg_type, MessageRow.guid).where(
            bulk.keys_bound(dialect, (MessageRow.msg_type, MessageRow.guid))
        ),
        documents=documents,
        quota=quota,
        quota_rows=quota_rows,
        stock=stock_rows,
        stock_locked=stock_rows.order_by(StockRow.ems_no, StockRow.item_record_no).with_for_update(),
        message_rows=select(MessageRow)
        .where(MessageRow.id.in_(bindparam("ids", expanding=True)))
        .options(defer(MessageRow.raw)),
        bodies=select(DocumentRow.id, DocumentRow.body).where(
            DocumentRow.id.in_(bindparam("ids", expanding=True))
        ),
    )


def _waiting_lists(
    session: Session, index: unit.ChunkIndex, asks: _PreloadStatements, seen: set[int]
) -> list[DocumentRow]:
    """The stored lists waiting for a document the chunk may bring (found by the chunk's join keys), with
    their other companions loaded too: an order arriving for a waiting list must find its waybill, and a
    waybill its order and payment, without a query each. Their join keys become covered."""
    waiting = {
        row.id: row
        for rows in (*index.by_order.values(), *index.by_waybill.values())
        for row in rows.values()
        if row.kind == "list" and row.current and row.status == "waiting"
    }
    orders = {
        (row.ebp_code, row.order_no)
        for row in waiting.values()
        if row.ebp_code is not None and row.order_no is not None
    } - index.covered_orders
    waybills = {
        (row.logistics_code, row.logistics_no)
        for row in waiting.values()
        if row.logistics_code is not None and row.logistics_no is not None
    } - index.covered_waybills
    _add_documents(session, index, {BY_ORDER: orders, BY_WAYBILL: waybills}, seen)
    index.covered_orders |= orders
    index.covered_waybills |= waybills
    # their message rows, which a decision answers for (id, sender), without a query (and flush) each
    ids = sorted({row.message_id for row in waiting.values()} - index.messages.keys())
    if ids:
        for message_row in session.scalars(asks.message_rows, {"ids": ids}):
            index.messages[message_row.id] = message_row
    return list(waiting.values())


#: from this many keys a chunk's document question is kept from parallel workers, for its transaction
_SERIAL_FROM_KEYS = 32
_SERIAL = sql_text("SET LOCAL max_parallel_workers_per_gather = 0")


def _add_documents(
    session: Session,
    index: unit.ChunkIndex,
    asked: Mapping[_Question, Collection[tuple[str, str]]],
    seen: set[int],
) -> None:
    """Ask the preload's question about documents (`_PreloadStatements.documents`) for the pairs of each
    part, and put every row found into `index`, each once (`seen`: the ids already in it)."""
    if not any(asked.values()):
        return
    dialect = session.get_bind().dialect.name
    values: dict[str, Any] = {}
    count = 0
    for question in (BY_KEY, BY_ORDER, BY_WAYBILL):
        keys = question.keys(asked.get(question, ()))
        count += len(keys)
        values.update(bulk.keys_values(dialect, keys, question.name, arity=question.arity))
    if dialect == "postgresql" and count >= _SERIAL_FROM_KEYS:
        # with a few hundred keys the planner runs the three probes in parallel workers: a few milliseconds
        # of work then waited 30 ms for the workers to start, on a machine whose cores intake keeps busy
        session.execute(_SERIAL)
    statement = _preload_statements(dialect).documents
    for found in session.scalars(statement, values):
        if found.id not in seen:
            seen.add(found.id)
            index.add(found)


def _recall_companions(session: Session, index: unit.ChunkIndex) -> None:
    """Build, with one query of their stored JSON forms, the nodes of the stored orders, payments, waybills
    and lists the chunk found by its join keys that this process no longer holds parsed (`unit.NodeCache`
    keeps the most recent few thousand messages): the decisions compare those documents, and one read each
    (with the flush of the chunk's pending rows a query sets off) cost more than the rest of the chunk once
    a trade's documents arrive further apart than the cache reaches."""
    wanted = {
        row.id: row
        for rows in (*index.by_order.values(), *index.by_waybill.values())
        for row in rows.values()
        if row.status in ("accepted", "waiting")
        and unit.recall(session, row.message_id) is None
        and unit.kept_document(session, row.id) is None
    }
    if not wanted:
        return
    with session.no_autoflush:
        asks = _preload_statements(session.get_bind().dialect.name)
        for document_id, body in session.execute(asks.bodies, {"ids": sorted(wanted)}).all():
            row = wanted[document_id]
            unit.keep_document(session, document_id, decide.stored_node(session, row, body))


def _allocate(session: Session, counts: dict[str, int]) -> dict[str, list[int]]:
    """`counts[table]` ids for new rows of each table, handed out lowest first (`list.pop` from the end).

    PostgreSQL: taken from the tables' sequences in one statement (ids left unused are a gap, as a
    rolled-back insert leaves one). SQLite: the ids it would give itself (max + 1 …): the chunk holds the
    write lock, so nobody else inserts meanwhile."""
    wanted = {table: count for table, count in counts.items() if count > 0}
    ids: dict[str, list[int]] = {table: [] for table in counts}
    dialect = session.get_bind().dialect.name
    if not wanted or dialect not in ("postgresql", "sqlite"):
        return ids
    if dialect == "postgresql":
        for table, value in session.execute(_nextval(tuple(wanted)), wanted):
            ids[table].append(value)
        return {table: sorted(found, reverse=True) for table, found in ids.items()}
    session.flush()
    for table, count in wanted.items():
        top = session.scalar(sql_text(f"SELECT coalesce(max(id), 0) FROM {table}")) or 0
        ids[table] = list(range(top + count, top, -1))
    return ids


@functools.cache
def _nextval(tables: tuple[str, ...]) -> Any:
    """One statement for the next ids of several tables: (table, id) rows, `:<table>` of each."""
    return sql_text(
        " UNION ALL ".join(
            f"SELECT '{t}', nextval(pg_get_serial_sequence('{t}', 'id')) FROM generate_series(1, :{t})"
            for t in tables
        )
    )


def keep_notice(
    session: Session,
    message: Message,
    *,
    status: str,
    zh: str,
    en: str,
    document_id: int | None,
    message_id: int | None,
    key: str | None,
    moment: datetime,
) -> Answer:
    """Store a message customs sends on its own (tax bill CEB816, its status CEB818) beside the receipts,
    under the arrival that caused it, and return it as an answer."""
    xml = render(message)
    unit.add_row(
        session,
        ReceiptRow,
        trigger_id=session.info.get("trigger"),
        message_id=message_id,
        document_id=document_id,
        receipt_type=message.code,
        guid=message.guid,
        return_status=status,
        return_info=zh,
        xml=xml,
        recipient=None,
        created_at=moment,
    )
    return Answer(message.code, status, f"{zh} / {en}", xml, key)


#: a message as `read_message` returns it: the message, its problems, the business XML bytes (None for JSON)
Parsed = tuple[Message, list[Problem], bytes | None]
#: a check before intake (`Engine.ingest(admission=…)`): raises to refuse, or returns the certificates.
#: With group commit, a check may also have a ``prepare(session, checks)`` attribute, called once in the
#: chunk's transaction with every check of the chunk that has the same one, before any of them
#: is asked: to read for all of them at once what each would ask alone (it changes no answer)
Admission = Callable[[Session], "Collection[CertificateInfo] | None"]


def read_message(data: bytes) -> Parsed:
    """`data` read as `Engine.ingest` reads it, for a caller that needs the message before the engine takes
    it (then passed on as `ingest(parsed=…)`); raises `CebError` when unreadable."""
    return _read(data)


def _read(data: bytes) -> tuple[Message, list[Problem], bytes | None]:
    """Parse (XML, DxpMsg or the JSON form) and check in one pass; also the business XML bytes as
    received (None for the JSON form, whose signature cannot be verified)."""
    stripped = data.lstrip()
    if stripped.startswith(b"{"):
        from cbec.ceb.check import check

        message = jsonform.from_json(data)
        return message, check(message), None
    from cbec.ceb import dxp
    from cbec.ceb.xmlsafe import parse_xml

    root = parse_xml(data)
    if dxp.is_dxp(root):
        business = dxp.unwrap(data).data
        message, problems = parse_checked(business)
        return message, problems, business
    message, problems = parse_checked(root)
    return message, problems, data


def load_message(data: bytes) -> Message:
    """An archived message read back (no checks: it was checked when it arrived)."""
    if data.lstrip().startswith(b"{"):
        return jsonform.from_json(data)
    from cbec.ceb.parse import parse

    return parse(data)


#: what customs answers when a signature does not verify, by message type
SIGNATURE_CODES = {"CEB621": "-621029", "CEB623": "-623029", "CEB625": "-625005", "CEB711": "-800001"}
#: the declarations that must be signed with a certificate registered to the sender when `ingest` is
#: given the sender's certificates: lists, cancellations and returns
SIGNED_DECLARATIONS = frozenset({"CEB621", "CEB623", "CEB625"})


def _signature(
    message: Message,
    business: bytes | None,
    trusted: Collection[CertificateInfo] | None = None,
    moment: datetime | None = None,
) -> tuple[str, str | None, str]:
    """(status, code, reason) of the message's signature: none, valid, invalid or unverifiable; with
    `trusted`, valid only when signed by one of those certificates, judged valid at `moment`."""
    if message.signature is None:
        return "none", None, ""
    if business is None:
        return "unverifiable", None, "JSON 形式无法验签 / a signature cannot be verified on the JSON form"
    from cbec.ceb.sign import verify_message

    result = verify_message(business, trusted=trusted, now=moment if trusted is not None else None)
    if result.valid:
        return "valid", None, ""
    return "invalid", result.code, f"{result.reason_zh} / {result.reason_en}"


def _unsigned_declarations(
    message: Message, kind: Kind, signature_code: str | None, reason: str, *, drafts: bool
) -> list[Problem]:
    """A problem for every declared (appStatus=2) document — and every draft too, with `drafts` — of a
    message whose signature is not by one of the sender's registered certificates."""
    code = SIGNATURE_CODES[message.code]
    dxp_code = signature_code or "1001"
    reason = reason or "报文未签名 / the message is not signed"
    zh, _, en = reason.partition(" / ")
    body = message.mspec.body.name
    found: list[Problem] = []
    for index, document in enumerate(message.documents, 1):
        if not drafts and (text(head_of(kind, document), "appStatus") or "2") == "1":
            continue
        found.append(
            Problem(
                code,
                f"{body}[{index}]/Signature",
                "error",
                "signature_not_registered",
                f"验签失败！[{dxp_code}] {zh}（须以本企业备案的证书签名）",
                f"signature verification failed: [{dxp_code}] {en or zh} (it must be signed with a "
                "certificate registered to the sending enterprise)",
            )
        )
    return found


__all__ = [
    "SIGNATURE_CODES",
    "SIGNED_DECLARATIONS",
    "Admission",
    "Answer",
    "ClearanceError",
    "Decision",
    "Engine",
    "IngestResult",
    "Intake",
    "Parsed",
    "Settings",
    "keep_notice",
    "load_message",
    "read_message",
]
