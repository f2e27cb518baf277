"""Portal sessions, CSRF tokens and login throttling.

* A login creates a random 256-bit session token; the browser keeps it in an HttpOnly, SameSite=Strict
  cookie (``Secure`` over HTTPS); the `web_sessions` table keeps only its SHA-256, the user, a CSRF token
  bound to the session, an absolute expiry and the last time it was seen (idle timeout).
* Every state-changing form carries the session's CSRF token (synchronizer token), compared in constant
  time; the login form itself is protected by a double-submit token in a short-lived cookie.
* Repeated failed logins lock the login name for a while (`LoginThrottleRow`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from cbec.access import Principal
from cbec.store.models import LoginThrottleRow, UserRow, WebSessionRow
from cbec.users import principal_of

SESSION_COOKIE = "cbec_session"
PRELOGIN_COOKIE = "cbec_prelogin"
LANG_COOKIE = "cbec_lang"


@dataclass(frozen=True)
class SecurityPolicy:
    """How long sessions live and how logins are throttled; every number a setting."""

    session_lifetime: timedelta = timedelta(hours=8)
    idle_timeout: timedelta = timedelta(minutes=30)
    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class WebSession:
    """An authenticated portal visit: who, and the CSRF token its forms must carry."""

    id: int
    principal: Principal
    user_name: str
    csrf_token: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def tokens_match(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison of two tokens; a missing one never matches."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def start_session(session: Session, login: str, policy: SecurityPolicy, now: datetime | None = None) -> str:
    """Create a session for `login`; returns the cookie token (the table keeps only its hash)."""
    at = now or datetime.now(UTC)
    # the user's sessions that have run out are of no further use: keep the table small
    session.execute(
        delete(WebSessionRow).where(WebSessionRow.user_login == login, WebSessionRow.expires_at < at)
    )
    token = new_token()
    session.add(
        WebSessionRow(
            token_hash=_hash(token),
            user_login=login,
            csrf_token=new_token(),
            created_at=at,
            last_seen_at=at,
            expires_at=at + policy.session_lifetime,
            ended_at=None,
        )
    )
    session.flush()
    return token


def load_session(
    session: Session, token: str | None, policy: SecurityPolicy, now: datetime | None = None
) -> tuple[WebSession | None, bool]:
    """(the live session for a cookie token, whether a session was found but had expired)."""
    if not token or len(token) > 200:
        return None, False
    at = now or datetime.now(UTC)
    row = session.scalars(select(WebSessionRow).where(WebSessionRow.token_hash == _hash(token))).first()
    if row is None or row.ended_at is not None:
        return None, False
    if at >= row.expires_at or at - row.last_seen_at >= policy.idle_timeout:
        row.ended_at = at
        return None, True
    user = session.get(UserRow, row.user_login)
    if user is None or user.status != "active":
        row.ended_at = at
        return None, False
    row.last_seen_at = at
    return WebSession(row.id, principal_of(user), user.name, row.csrf_token), False


def end_session(session: Session, session_id: int, now: datetime | None = None) -> None:
    row = session.get(WebSessionRow, session_id)
    if row is not None and row.ended_at is None:
        row.ended_at = now or datetime.now(UTC)


def end_user_sessions(session: Session, login: str, now: datetime | None = None) -> None:
    """End every live session of a user (disabled, or password reset)."""
    session.execute(
        update(WebSessionRow)
        .where(WebSessionRow.user_login == login, WebSessionRow.ended_at.is_(None))
        .values(ended_at=now or datetime.now(UTC))
    )


def locked_for(session: Session, login: str, now: datetime | None = None) -> timedelta | None:
    """How much longer a login is locked after repeated failures, or None."""
    row = session.get(LoginThrottleRow, login[:64])
    at = now or datetime.now(UTC)
    if row is None or row.locked_until is None or row.locked_until <= at:
        return None
    return row.locked_until - at


def record_failure(session: Session, login: str, policy: SecurityPolicy, now: datetime | None = None) -> bool:
    """Count a failed login; returns True when this failure locks the login."""
    at = now or datetime.now(UTC)
    key = login[:64]
    row = session.get(LoginThrottleRow, key)
    if row is None:
        row = LoginThrottleRow(login=key, failures=0, last_failure_at=at, locked_until=None)
        session.add(row)
    elif row.locked_until is not None and row.locked_until <= at:
        row.failures = 0  # a lock that ran out starts a fresh count
        row.locked_until = None
    row.failures += 1
    row.last_failure_at = at
    if row.failures >= policy.max_failures:
        row.locked_until = at + policy.lockout
        return True
    return False


def record_success(session: Session, login: str) -> None:
    row = session.get(LoginThrottleRow, login[:64])
    if row is not None:
        session.delete(row)
