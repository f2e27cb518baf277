"""Tables of the clearance store: archived messages, normalized documents, events, receipts, tax bills, quota.

Conventions: times are stored in UTC (timezone-aware); money is `Numeric(19, 5)` read back as `Decimal`;
personal data is stored as customs sends it inside the archived message, and looked up only by keyed hash
(`buyer_key` = HMAC of the ID number), so the quota ledger never holds an ID number in clear text.
Status changes are rows in `events` (append-only); `appType=2` changes keep the previous version.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

MONEY = Numeric(19, 5, asdecimal=True)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every database: SQLite has no time zones and would hand back naive values."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use timezone-aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class MessageRow(Base):
    """Every message received, byte-exact, with its hash, sender and signature result."""

    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    guid: Mapped[str] = mapped_column(String(64))
    msg_type: Mapped[str] = mapped_column(String(8))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    cop_code: Mapped[str | None] = mapped_column(String(64))
    dxp_id: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(255))
    #: none | valid | invalid (with code) — what the signature check said at arrival
    signature: Mapped[str] = mapped_column(String(16), default="none")
    signature_code: Mapped[str | None] = mapped_column(String(16))
    #: accepted | rejected (the message as a whole could not be taken)
    outcome: Mapped[str] = mapped_column(String(16))
    __table_args__ = (UniqueConstraint("msg_type", "guid", name="uq_messages_type_guid"),)


class DocumentRow(Base):
    """One business document (order, payment, waybill, list, cancellation, return, delivery, status).

    `doc_key` is the business key customs uses for duplicates: order `ebpCode|orderNo`, payment
    `payCode|payTransactionId`, waybill `logisticsCode|logisticsNo`, list `ebcCode|orderNo` …
    `version` counts appType=2 changes; the current row has `current=True`, older versions stay.
    """

    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    doc_key: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, default=1)
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"))
    position: Mapped[int] = mapped_column(Integer)  # index of the document inside its message (1-based)
    head_guid: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32))
    # join keys, denormalized for the four-document comparison
    ebp_code: Mapped[str | None] = mapped_column(String(64))
    ebc_code: Mapped[str | None] = mapped_column(String(64))
    order_no: Mapped[str | None] = mapped_column(String(80))
    logistics_code: Mapped[str | None] = mapped_column(String(64))
    logistics_no: Mapped[str | None] = mapped_column(String(80))
    pay_code: Mapped[str | None] = mapped_column(String(64))
    pay_transaction_id: Mapped[str | None] = mapped_column(String(80))
    invt_no: Mapped[str | None] = mapped_column(String(32))
    pre_no: Mapped[str | None] = mapped_column(String(32))
    cop_no: Mapped[str | None] = mapped_column(String(64))
    buyer_key: Mapped[str | None] = mapped_column(String(64))
    trade_mode: Mapped[str | None] = mapped_column(String(8))
    amount: Mapped[Decimal | None] = mapped_column(MONEY)
    #: the document as the JSON form of its business node (official field names; decimals as strings)
    body: Mapped[dict[str, object]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    released_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    #: no column: tells the unit of work to insert messages before the documents that point to them
    message: Mapped[MessageRow] = relationship(MessageRow, lazy="raise")
    __table_args__ = (
        Index("ix_documents_key", "kind", "doc_key", "current"),
        Index("ix_documents_order", "kind", "ebp_code", "order_no"),
        Index("ix_documents_logistics", "kind", "logistics_code", "logistics_no"),
        Index("ix_documents_invt", "invt_no"),
        Index("ix_documents_status", "kind", "status"),
    )


class EventRow(Base):
    """Append-only history: every status change of every document."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    event: Mapped[str] = mapped_column(String(40))
    status: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[dict[str, object] | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    __table_args__ = (Index("ix_events_document", "document_id"),)


class ReceiptRow(Base):
    """A receipt (or tax bill) the platform produced, as the XML sent back."""

    __tablename__ = "receipts"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    receipt_type: Mapped[str] = mapped_column(String(8))
    #: a fresh random UUID (`cbec.ceb.receipts.fresh_guid`); not indexed: no query looks a receipt up by it,
    #: and a unique index on random keys costs a random page at every insert
    guid: Mapped[str] = mapped_column(String(64))
    return_status: Mapped[str] = mapped_column(String(16))
    return_info: Mapped[str] = mapped_column(Text)
    xml: Mapped[bytes] = mapped_column(LargeBinary)
    #: the enterprise the receipt goes to (the sender's copCode)
    recipient: Mapped[str | None] = mapped_column(String(64))
    #: the message whose arrival produced this receipt (the same message again gets exactly these back)
    trigger_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    __table_args__ = (
        Index("ix_receipts_recipient", "recipient", "id"),
        Index("ix_receipts_document", "document_id"),
        Index("ix_receipts_trigger", "trigger_id"),
    )


class TaxBillRow(Base):
    """The electronic tax bill of a released list (CEB816) and its later status (CEB818)."""

    __tablename__ = "tax_bills"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    invt_no: Mapped[str] = mapped_column(String(32))
    tax_no: Mapped[str] = mapped_column(String(64), unique=True)
    path: Mapped[str] = mapped_column(String(8))  # retail | full
    customs_tax: Mapped[Decimal] = mapped_column(MONEY)
    value_added_tax: Mapped[Decimal] = mapped_column(MONEY)
    consumption_tax: Mapped[Decimal] = mapped_column(MONEY)
    status: Mapped[str] = mapped_column(String(2))  # 1 generated, 2 summarized, 3 void
    lines: Mapped[list[dict[str, object]]] = mapped_column(JSON)
    payable_from: Mapped[datetime] = mapped_column(UtcDateTime())
    payable_until: Mapped[datetime] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class QuotaRow(Base):
    """A buyer's calendar-year total of released lists (the annual limit's ledger), one row a year.

    Updated only with the row locked (PostgreSQL `SELECT … FOR UPDATE`; SQLite serializes writers), so two
    lists of one buyer decided at once can never together exceed the limit."""

    __tablename__ = "quota"
    buyer_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    used: Mapped[Decimal] = mapped_column(MONEY)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class QuotaEntryRow(Base):
    """Each change to a buyer's annual total: a release adds, a cancellation or return gives back."""

    __tablename__ = "quota_entries"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    buyer_key: Mapped[str] = mapped_column(String(64))
    year: Mapped[int] = mapped_column(Integer)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    kind: Mapped[str] = mapped_column(String(16))  # release | cancel | return
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    __table_args__ = (Index("ix_quota_entries_buyer", "buyer_key", "year"),)


class ReferenceRow(Base):
    """Operator-loaded reference data (positive-list versions, tax rates), stored as loaded."""

    __tablename__ = "reference_data"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # positive-list | rates
    name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    loaded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class DocumentLineRow(Base):
    """Item lines of orders, lists and returns, one row each: for quantities, returns and statistics."""

    __tablename__ = "document_lines"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    gnum: Mapped[int] = mapped_column(Integer)
    gcode: Mapped[str | None] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(255))
    qty: Mapped[Decimal | None] = mapped_column(MONEY)
    unit: Mapped[str | None] = mapped_column(String(8))
    price: Mapped[Decimal | None] = mapped_column(MONEY)
    total_price: Mapped[Decimal | None] = mapped_column(MONEY)
    country: Mapped[str | None] = mapped_column(String(8))
    item_record_no: Mapped[str | None] = mapped_column(String(64))
    __table_args__ = (Index("ix_document_lines_document", "document_id"),)


class StockRow(Base):
    """Bonded stock (网购保税 1210) by account book and book item: what is in the zone and may be sold."""

    __tablename__ = "bonded_stock"
    ems_no: Mapped[str] = mapped_column(String(64), primary_key=True)
    item_record_no: Mapped[str] = mapped_column(String(64), primary_key=True)
    qty: Mapped[Decimal] = mapped_column(MONEY)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class StockMovementRow(Base):
    """Every change of bonded stock: stock-in by the operator, out on release, back on cancel or return."""

    __tablename__ = "bonded_stock_movements"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    ems_no: Mapped[str] = mapped_column(String(64))
    item_record_no: Mapped[str] = mapped_column(String(64))
    qty: Mapped[Decimal] = mapped_column(MONEY)
    kind: Mapped[str] = mapped_column(String(16))  # in | release | cancel | return
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    reference: Mapped[str | None] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    __table_args__ = (Index("ix_stock_movements_item", "ems_no", "item_record_no"),)


class EnterpriseRow(Base):
    """An enterprise on the register (备案): who may send messages, in which roles, in which zone."""

    __tablename__ = "enterprises"
    code: Mapped[str] = mapped_column(String(18), primary_key=True)  # customs code or credit code
    name: Mapped[str] = mapped_column(String(255))
    credit_code: Mapped[str | None] = mapped_column(String(18))
    roles: Mapped[list[str]] = mapped_column(JSON)
    zone: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16))  # active | suspended
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    park_id: Mapped[int | None] = mapped_column(Integer)  # zone_parks.id (migration 0007; see the end)


class ApiKeyRow(Base):
    """An API key of an enterprise or a user, stored only as a hash; the key itself is shown once."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    #: the key belongs to an enterprise (enterprise role) or to a platform user (regulator, operator, admin)
    enterprise_code: Mapped[str | None] = mapped_column(ForeignKey("enterprises.code"))
    user_login: Mapped[str | None] = mapped_column(ForeignKey("users.login"))
    prefix: Mapped[str] = mapped_column(String(16))  # the key's first characters, to find the row
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    __table_args__ = (Index("ix_api_keys_prefix", "prefix"),)


class UserRow(Base):
    """A person who logs in to the portal: an enterprise's staff, a regulator, an operator or an admin."""

    __tablename__ = "users"
    login: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    #: enterprise | regulator | operator | admin (`cbec.access.ACCESS_ROLES`)
    role: Mapped[str] = mapped_column(String(16))
    enterprise_code: Mapped[str | None] = mapped_column(ForeignKey("enterprises.code"))
    password_hash: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))  # active | disabled
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    password_changed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AuditRow(Base):
    """Who read unmasked personal data or changed the register, when, and what (never the data itself)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(64))  # user login or enterprise code
    actor_role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))  # e.g. personal.read, enterprise.add, key.issue
    subject_kind: Mapped[str | None] = mapped_column(String(32))
    subject_key: Mapped[str | None] = mapped_column(String(255))
    via: Mapped[str] = mapped_column(String(16))  # api | portal | cli
    __table_args__ = (Index("ix_audit_log_at", "at"), Index("ix_audit_log_actor", "actor"))


# ==== pilot zones, parks and assessments (issue 6; migration 0007) ==========================================
# Kept together at the end of the module so that the tables of other capabilities stay untouched. The
# enterprise register links here through `EnterpriseRow.zone` (a `zones.code`) and `EnterpriseRow.park_id`
# (a `zone_parks.id`); both are checked by `cbec.zones.service`, not by foreign keys, because adding a
# foreign key to an existing SQLite table means rebuilding it under the api_keys table that references it.


class ZoneRow(Base):
    """A cross-border e-commerce pilot zone (综试区): its approval batch and document, and its status."""

    __tablename__ = "zones"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)  # ASCII key, e.g. ``hangzhou``
    name: Mapped[str] = mapped_column(String(100))
    province: Mapped[str] = mapped_column(String(40))
    batch: Mapped[str] = mapped_column(String(8))  # 1..7, or 2025
    approved: Mapped[str | None] = mapped_column(String(10))  # YYYY-MM or YYYY-MM-DD as far as known
    document: Mapped[str | None] = mapped_column(String(255))
    source: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # active | warned | exited
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ParkRow(Base):
    """An offline industrial park (线下产业园区) of a zone."""

    __tablename__ = "zone_parks"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    zone_code: Mapped[str] = mapped_column(ForeignKey("zones.code"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))  # e.g. 综合园区 / 产业园 / 物流园 / 孵化园
    area_km2: Mapped[Decimal | None] = mapped_column(MONEY)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    __table_args__ = (UniqueConstraint("zone_code", "name", name="uq_zone_parks_zone_name"),)


class ZoneIndicatorRow(Base):
    """An indicator value a zone supplies for a year (high-tech enterprises, overseas warehouses …)."""

    __tablename__ = "zone_indicator_values"
    zone_code: Mapped[str] = mapped_column(ForeignKey("zones.code"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    indicator: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Decimal] = mapped_column(MONEY)
    source: Mapped[str | None] = mapped_column(String(255))
    loaded_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AssessmentRunRow(Base):
    """One yearly assessment run with the configuration it used; a later run of a year supersedes it."""

    __tablename__ = "assessment_runs"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    config_name: Mapped[str] = mapped_column(String(255))
    config_sha256: Mapped[str] = mapped_column(String(64))
    config: Mapped[dict[str, object]] = mapped_column(JSON)
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    __table_args__ = (Index("ix_assessment_runs_year", "year", "current"),)


class AssessmentResultRow(Base):
    """A zone's result in a run: score (a normalized float), rank, tier, exit action and its indicators."""

    __tablename__ = "assessment_results"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("assessment_runs.id"))
    zone_code: Mapped[str] = mapped_column(ForeignKey("zones.code"))
    score: Mapped[float | None] = mapped_column(Float)
    rank: Mapped[int | None] = mapped_column(Integer)
    tier: Mapped[int | None] = mapped_column(Integer)  # 1 成效明显 … 4 尚在起步阶段; None: not ranked
    action: Mapped[str] = mapped_column(String(16))  # none | warning | exit
    detail: Mapped[dict[str, object]] = mapped_column(JSON)
    __table_args__ = (Index("ix_assessment_results_run", "run_id"),)


class ZoneStatusChangeRow(Base):
    """Append-only history of a zone's status (active, warned, exited) and why it changed."""

    __tablename__ = "zone_status_changes"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    zone_code: Mapped[str] = mapped_column(ForeignKey("zones.code"))
    previous: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("assessment_runs.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    __table_args__ = (Index("ix_zone_status_changes_zone", "zone_code"),)


# --- issue 4, HTTP API: registered certificates, document parties, push delivery (migration 0006) ----------


class CertificateRow(Base):
    """A signing certificate registered to an enterprise: lists, cancellations and returns it declares over
    the API must be signed with one of its active certificates."""

    __tablename__ = "enterprise_certificates"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    enterprise_code: Mapped[str] = mapped_column(ForeignKey("enterprises.code"))
    serial: Mapped[str] = mapped_column(String(64))  # hex, as KeyName carries it
    subject: Mapped[str] = mapped_column(String(1000))
    issuer: Mapped[str] = mapped_column(String(1000))
    key_type: Mapped[str] = mapped_column(String(8))  # rsa | sm2
    not_before: Mapped[datetime] = mapped_column(UtcDateTime())
    not_after: Mapped[datetime] = mapped_column(UtcDateTime())
    #: SHA-256 of the DER certificate, hex; a certificate belongs to one enterprise only
    fingerprint: Mapped[str] = mapped_column(String(64))
    pem: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # active | revoked
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    __table_args__ = (
        Index("ix_enterprise_certificates_enterprise", "enterprise_code", "status"),
        UniqueConstraint("fingerprint", name="uq_enterprise_certificates_fingerprint"),
    )


class DocumentPartyRow(Base):
    """Every enterprise a document names in a party field (`cbec.access.PARTY_FIELDS`), one row each: what
    an enterprise may read is found by index, not by reading every document's body. The primary key is the
    only b-tree; a filter by kind is the document's own (`documents.kind`)."""

    __tablename__ = "document_parties"
    party_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), primary_key=True)


class SubscriptionRow(Base):
    """An enterprise's endpoint for pushed receipts (BaseSubscribe): the worker posts each new receipt of
    the enterprise, in order, signed with HMAC-SHA256; `cursor` is the last receipt id dealt with."""

    __tablename__ = "subscriptions"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    enterprise_code: Mapped[str] = mapped_column(ForeignKey("enterprises.code"))
    url: Mapped[str] = mapped_column(String(2000))
    #: the signing secret, Fernet-encrypted with a key derived from CBEC_SECRET_KEY; shown once when created
    secret: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # active | deleted
    cursor: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    #: failed attempts at the receipt after `cursor`, and when the next attempt is due
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    __table_args__ = (Index("ix_subscriptions_enterprise", "enterprise_code"),)


class DeliveryRow(Base):
    """One attempt to push one receipt to one subscription: delivered, failed (retried later) or gave-up."""

    __tablename__ = "deliveries"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"))
    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipts.id"))
    attempt: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))  # delivered | failed | gave-up
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    __table_args__ = (Index("ix_deliveries_subscription", "subscription_id", "id"),)


# ---- web portal (issue 4, portal half): server-side sessions and login throttling --------------------------


class WebSessionRow(Base):
    """A portal login session. Only the SHA-256 of the random cookie token is stored, never the token; the
    CSRF token is bound to the session. A session ends at `expires_at` or after the idle timeout."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_login: Mapped[str] = mapped_column(ForeignKey("users.login"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    __table_args__ = (Index("ix_web_sessions_user", "user_login"),)


class LoginThrottleRow(Base):
    """Failed portal logins per login name: after repeated failures the login is locked for a while."""

    __tablename__ = "login_throttle"
    login: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[datetime] = mapped_column(UtcDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
