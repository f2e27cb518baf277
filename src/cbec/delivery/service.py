"""Subscriptions and the delivery worker.

A subscription is an enterprise's endpoint URL (HTTPS; plain HTTP only to the local machine, for tests and
development) and a random signing secret, shown once when created and stored Fernet-encrypted under a key
derived from CBEC_SECRET_KEY. The worker reads the receipts table after each subscription's cursor — the
clearance engine knows nothing of it — and posts one receipt at a time, in order, as JSON:

    X-Cbec-Timestamp: 1764300000
    X-Cbec-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>

A 2xx answer delivers it and moves the cursor; anything else (or no answer) is retried after an
exponentially growing delay (base × 2^(attempt−1), capped), and after `max_attempts` the receipt is given
up (logged as ``gave-up``) and the cursor moves on, so one bad receipt cannot block the ones after it.
Every attempt is a row in `deliveries`. Receipts stay readable with ``GET /api/v1/receipts`` whatever
happens to their delivery. Log lines name the subscription and receipt ids, never content or secrets.

Several workers may run (`cbec deliver` on several machines): a worker claims a subscription by leasing
it for the length of one post (PostgreSQL: `SELECT … FOR UPDATE SKIP LOCKED`; SQLite serializes writers),
so a receipt is posted by one worker at a time and in order.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select
from sqlalchemy.orm import Session

from cbec.ceb.errors import CebError
from cbec.store.db import Store
from cbec.store.models import DeliveryRow, EnterpriseRow, ReceiptRow, SubscriptionRow

log = logging.getLogger("cbec.delivery")

TIMESTAMP_HEADER = "X-Cbec-Timestamp"
SIGNATURE_HEADER = "X-Cbec-Signature"
#: a receiver should refuse a timestamp further than this from its clock (replays)
DEFAULT_TOLERANCE = timedelta(minutes=5)
MAX_ATTEMPTS = 8
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=6)
TIMEOUT_SECONDS = 10.0
#: how long a claimed subscription is left alone by other workers while its post is in flight
LEASE = timedelta(seconds=6 * TIMEOUT_SECONDS)
MAX_SUBSCRIPTIONS = 10
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class DeliveryError(CebError):
    code = "CBEC-0509"


class SubscriptionNotFound(DeliveryError):
    code = "CBEC-0506"


# --- secrets and signatures ------------------------------------------------------------------------------


def _fernet() -> Fernet:
    from cbec.clearance.documents import _secret

    key = hmac.new(_secret(), b"cbec subscription secrets", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def _encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode("utf-8")).decode("ascii")


def _decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        raise DeliveryError(
            "订阅密钥无法解密（CBEC_SECRET_KEY 是否变更？）",
            "the subscription secret cannot be decrypted (did CBEC_SECRET_KEY change?)",
        ) from exc


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value: ``sha256=`` and the hex HMAC-SHA256 of ``timestamp.body``."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    now: datetime | None = None,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent (no replays)."""
    if not timestamp.isdigit():
        return False
    moment = (now or datetime.now(UTC)).timestamp()
    if abs(moment - int(timestamp)) > tolerance.total_seconds():
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


# --- subscriptions ---------------------------------------------------------------------------------------


def check_url(url: str) -> str:
    """An endpoint URL the platform will post to: HTTPS with a host, or HTTP to this machine only."""
    url = url.strip()
    if len(url) > 2000:
        raise DeliveryError("地址过长", "the URL is too long")
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise DeliveryError("地址格式不正确", "the URL is malformed") from exc
    if parts.username or parts.password:
        raise DeliveryError("地址中不能含用户名或密码", "the URL must not carry a user name or password")
    if not host:
        raise DeliveryError("地址缺少主机名", "the URL has no host")
    if parts.scheme == "https":
        return url
    if parts.scheme == "http" and host in _LOCAL_HOSTS:
        return url
    if parts.scheme == "http":
        try:
            local = ipaddress.ip_address(host).is_loopback
        except ValueError:
            local = False
        if local:
            return url
    raise DeliveryError(
        "推送地址必须是 https（http 只允许本机 localhost/127.0.0.1）",
        "the endpoint must be https (plain http only for localhost/127.0.0.1)",
    )


def create_subscription(
    session: Session, enterprise_code: str, url: str, now: datetime | None = None
) -> tuple[SubscriptionRow, str]:
    """A new subscription and its signing secret (returned once; stored encrypted). Receipts from now on
    are pushed: the cursor starts after the enterprise's newest receipt."""
    checked = check_url(url)
    if session.get(EnterpriseRow, enterprise_code) is None:
        raise DeliveryError(
            f"企业 {enterprise_code} 未备案", f"enterprise {enterprise_code} is not registered"
        )
    live = session.scalars(
        select(SubscriptionRow).where(
            SubscriptionRow.enterprise_code == enterprise_code, SubscriptionRow.status == "active"
        )
    ).all()
    if len(live) >= MAX_SUBSCRIPTIONS:
        raise DeliveryError(
            f"每个企业最多 {MAX_SUBSCRIPTIONS} 个推送地址",
            f"at most {MAX_SUBSCRIPTIONS} subscriptions an enterprise",
        )
    newest = session.scalars(
        select(ReceiptRow.id)
        .where(ReceiptRow.recipient == enterprise_code)
        .order_by(ReceiptRow.id.desc())
        .limit(1)
    ).first()
    secret = "whsec_" + secrets.token_urlsafe(32)
    row = SubscriptionRow(
        enterprise_code=enterprise_code,
        url=checked,
        secret=_encrypt(secret),
        status="active",
        cursor=newest or 0,
        attempts=0,
        next_attempt_at=None,
        created_at=now or datetime.now(UTC),
        deleted_at=None,
    )
    session.add(row)
    session.flush()
    return row, secret


def get_subscription(session: Session, enterprise_code: str, subscription_id: int) -> SubscriptionRow:
    """The enterprise's subscription (deleted ones too); not found when it is another's."""
    row = session.get(SubscriptionRow, subscription_id)
    if row is None or row.enterprise_code != enterprise_code:
        raise SubscriptionNotFound(
            f"订阅 {subscription_id} 不存在", f"subscription {subscription_id} does not exist"
        )
    return row


def delete_subscription(
    session: Session, enterprise_code: str, subscription_id: int, now: datetime | None = None
) -> SubscriptionRow:
    """Stop pushing to the endpoint; the subscription and its delivery log stay readable."""
    row = get_subscription(session, enterprise_code, subscription_id)
    if row.status != "deleted":
        row.status = "deleted"
        row.deleted_at = now or datetime.now(UTC)
    return row


# --- the worker ------------------------------------------------------------------------------------------


@dataclass
class DeliveryStats:
    delivered: int = 0
    failed: int = 0
    given_up: int = 0

    @property
    def attempts(self) -> int:
        return self.delivered + self.failed + self.given_up


def _payload(receipt: ReceiptRow) -> bytes:
    body = {
        "id": receipt.id,
        "type": receipt.receipt_type,
        "status": receipt.return_status,
        "info": receipt.return_info,
        "createdAt": receipt.created_at.isoformat(),
        "xml": receipt.xml.decode("utf-8"),
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def backoff(attempt: int, base: timedelta = BASE_DELAY) -> timedelta:
    """The wait after failed attempt number `attempt` (1-based): base, 2×base, 4×base … at most MAX_DELAY."""
    delay: timedelta = base * (2 ** max(attempt - 1, 0))
    return min(delay, MAX_DELAY)


def _due(store: Store, moment: datetime) -> list[int]:
    with store.transaction() as session:
        return list(
            session.scalars(
                select(SubscriptionRow.id)
                .where(SubscriptionRow.status == "active")
                .where(
                    (SubscriptionRow.next_attempt_at.is_(None)) | (SubscriptionRow.next_attempt_at <= moment)
                )
                .order_by(SubscriptionRow.id)
            )
        )


def _claim(store: Store, subscription_id: int, moment: datetime) -> tuple[str, str, int, bytes, int] | None:
    """(url, secret, receipt id, payload, attempt number) of the receipt after the cursor of a due
    subscription, or None. The subscription is leased (its next attempt pushed `LEASE` ahead) while the
    post is in flight, so another worker skips it; a worker that dies leaves it due again after the lease.
    On PostgreSQL the row is taken with SKIP LOCKED, so two workers never claim it at once."""
    with store.transaction() as session:
        query = select(SubscriptionRow).where(
            SubscriptionRow.id == subscription_id,
            SubscriptionRow.status == "active",
            (SubscriptionRow.next_attempt_at.is_(None)) | (SubscriptionRow.next_attempt_at <= moment),
        )
        if store.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        sub = session.scalars(query).first()
        if sub is None:
            return None
        receipt = session.scalars(
            select(ReceiptRow)
            .where(ReceiptRow.recipient == sub.enterprise_code, ReceiptRow.id > sub.cursor)
            .order_by(ReceiptRow.id)
            .limit(1)
        ).first()
        if receipt is None:
            return None
        sub.next_attempt_at = moment + LEASE
        return sub.url, _decrypt(sub.secret), receipt.id, _payload(receipt), sub.attempts + 1


def _post(
    client: httpx.Client, url: str, secret: str, body: bytes, moment: datetime
) -> tuple[int | None, str | None]:
    timestamp = str(int(moment.timestamp()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        "User-Agent": "cbec-delivery/1",
    }
    try:
        response = client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return None, f"{exc.__class__.__name__}"[:500]
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}"


def _record(
    store: Store,
    subscription_id: int,
    receipt_id: int,
    attempt: int,
    status_code: int | None,
    error: str | None,
    moment: datetime,
    max_attempts: int,
    base_delay: timedelta,
) -> str:
    with store.transaction() as session:
        query = select(SubscriptionRow).where(SubscriptionRow.id == subscription_id)
        if store.dialect == "postgresql":
            query = query.with_for_update()
        sub = session.scalars(query).one()
        if error is None:
            outcome, next_at = "delivered", None
        elif attempt >= max_attempts:
            outcome, next_at = "gave-up", None
        else:
            outcome, next_at = "failed", moment + backoff(attempt, base_delay)
        if outcome == "failed":
            sub.attempts = attempt
            sub.next_attempt_at = next_at
        else:
            sub.cursor = max(sub.cursor, receipt_id)
            sub.attempts = 0
            sub.next_attempt_at = None
        session.add(
            DeliveryRow(
                subscription_id=subscription_id,
                receipt_id=receipt_id,
                attempt=attempt,
                outcome=outcome,
                status_code=status_code,
                error=error,
                at=moment,
                next_attempt_at=next_at,
            )
        )
    log.info(
        "delivery subscription=%s receipt=%s attempt=%s %s", subscription_id, receipt_id, attempt, outcome
    )
    return outcome


def deliver_once(
    store: Store,
    *,
    client: httpx.Client | None = None,
    now: datetime | None = None,
    max_attempts: int = MAX_ATTEMPTS,
    base_delay: timedelta = BASE_DELAY,
    limit: int = 1000,
) -> DeliveryStats:
    """One pass: for every due subscription, post its pending receipts in order until one fails (then it
    waits for its back-off) or `limit` attempts were made in this pass."""
    stats = DeliveryStats()
    own = client is None
    http = client or httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False)
    try:
        for subscription_id in _due(store, now or datetime.now(UTC)):
            while stats.attempts < limit:
                moment = now or datetime.now(UTC)
                pending = _claim(store, subscription_id, moment)
                if pending is None:
                    break
                url, secret, receipt_id, body, attempt = pending
                status_code, error = _post(http, url, secret, body, moment)
                outcome = _record(
                    store,
                    subscription_id,
                    receipt_id,
                    attempt,
                    status_code,
                    error,
                    moment,
                    max_attempts,
                    base_delay,
                )
                if outcome == "delivered":
                    stats.delivered += 1
                elif outcome == "gave-up":
                    stats.given_up += 1
                else:
                    stats.failed += 1
                    break
    finally:
        if own:
            http.close()
    return stats


def run(store: Store, *, interval: float = 5.0, **options: Any) -> None:
    """Deliver forever, a pass every `interval` seconds (`cbec deliver`)."""
    while True:
        deliver_once(store, **options)
        time.sleep(interval)
