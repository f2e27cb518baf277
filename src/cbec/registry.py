"""The enterprise register (备案) and its API keys.

An enterprise is known by its customs code (10 characters) or unified social credit code (18, checksum
checked with python-stdnum), with its roles and zone. API keys are random, shown once when issued, and
stored only as SHA-256 hashes (they are long random secrets, so a fast hash is enough); a key is found by
its prefix and compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from stdnum.cn import uscc

from cbec.access import Principal, enterprise_principal
from cbec.ceb.errors import CebError
from cbec.store.models import ApiKeyRow, EnterpriseRow, UserRow
from cbec.users import principal_of

#: roles as the spec names the parties (电商平台, 电商企业/境内代理人, 支付企业, 物流企业, 申报企业, 担保企业,
#: 监管场所经营企业), plus the platform's own users
ROLES: dict[str, tuple[str, str]] = {
    "ebp": ("电商平台", "e-commerce platform"),
    "ebc": ("电商企业/境内代理人", "e-commerce enterprise or its domestic agent"),
    "pay": ("支付企业", "payment enterprise"),
    "logistics": ("物流企业", "logistics enterprise"),
    "agent": ("申报企业", "declarant"),
    "assure": ("担保企业", "guarantor"),
    "operator": ("监管场所经营企业", "supervised place operator"),
}
KEY_PREFIX = "cbec_"
_CODE = re.compile(r"[0-9A-Z]{10}\Z|[0-9A-Z]{18}\Z")


class RegistryError(CebError):
    code = "CBEC-0601"


def add_enterprise(
    session: Session,
    code: str,
    name: str,
    *,
    roles: Iterable[str],
    credit_code: str | None = None,
    zone: str | None = None,
    now: datetime | None = None,
) -> EnterpriseRow:
    """Register an enterprise; every problem is refused with a specific message, nothing half-stored."""
    code = code.strip().upper()
    problems: list[tuple[str, str]] = []
    if not _CODE.match(code):
        problems.append(
            (
                "企业代码应为10位海关代码或18位统一社会信用代码",
                "the code must be a 10-character customs code or an 18-character credit code",
            )
        )
    elif len(code) == 18 and not uscc.is_valid(code):
        problems.append(("统一社会信用代码校验位错误", "the unified social credit code fails its checksum"))
    if credit_code is not None and not uscc.is_valid(credit_code.strip().upper()):
        problems.append(("统一社会信用代码校验位错误", "the unified social credit code fails its checksum"))
    if not name.strip():
        problems.append(("企业名称不能为空", "the name must not be empty"))
    role_list = sorted({r.strip() for r in roles if r.strip()})
    unknown = [r for r in role_list if r not in ROLES]
    if unknown or not role_list:
        problems.append(
            (
                f"角色应为 {', '.join(ROLES)} 中的一个或多个",
                f"roles must be one or more of {', '.join(ROLES)}",
            )
        )
    if session.get(EnterpriseRow, code) is not None:
        problems.append((f"企业 {code} 已备案", f"enterprise {code} is already registered"))
    if problems:
        raise RegistryError("；".join(zh for zh, _ in problems), "; ".join(en for _, en in problems))
    row = EnterpriseRow(
        code=code,
        name=name.strip(),
        credit_code=credit_code.strip().upper() if credit_code else None,
        roles=role_list,
        zone=zone,
        status="active",
        created_at=now or datetime.now(UTC),
    )
    session.add(row)
    session.flush()
    return row


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _new_key(session: Session, now: datetime | None, *, enterprise: str | None, user: str | None) -> str:
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiKeyRow(
            enterprise_code=enterprise,
            user_login=user,
            prefix=key[:16],
            key_hash=_hash(key),
            created_at=now or datetime.now(UTC),
            revoked_at=None,
        )
    )
    session.flush()
    return key


def issue_key(session: Session, code: str, now: datetime | None = None) -> str:
    """A new API key for a registered enterprise; returned once, stored as a hash."""
    enterprise = session.get(EnterpriseRow, code.strip().upper())
    if enterprise is None:
        raise RegistryError(f"企业 {code} 未备案", f"enterprise {code} is not registered")
    return _new_key(session, now, enterprise=enterprise.code, user=None)


def issue_user_key(session: Session, login: str, now: datetime | None = None) -> str:
    """A new API key acting as a platform user (a regulator's or operator's system); shown once."""
    user = session.get(UserRow, login)
    if user is None:
        raise RegistryError(f"用户 {login} 不存在", f"user {login} does not exist")
    return _new_key(session, now, enterprise=None, user=user.login)


def revoke_keys(session: Session, code: str, now: datetime | None = None) -> int:
    """Revoke every key of an enterprise; returns how many were live."""
    rows = session.scalars(
        select(ApiKeyRow).where(
            ApiKeyRow.enterprise_code == code.strip().upper(), ApiKeyRow.revoked_at.is_(None)
        )
    ).all()
    for row in rows:
        row.revoked_at = now or datetime.now(UTC)
    return len(rows)


def principal_for_key(session: Session, key: str) -> Principal | None:
    """Who an API key acts for: an active enterprise, or an active user; None when unknown or revoked.

    One query (the key with its enterprise and user joined) on every call, nothing cached: a revoked key,
    a suspended enterprise or a disabled user is refused on the very next request, in every process."""
    if not key.startswith(KEY_PREFIX) or len(key) < 20:
        return None
    digest = _hash(key)
    rows = session.execute(
        select(ApiKeyRow.key_hash, EnterpriseRow, UserRow)
        .outerjoin(EnterpriseRow, EnterpriseRow.code == ApiKeyRow.enterprise_code)
        .outerjoin(UserRow, UserRow.login == ApiKeyRow.user_login)
        .where(ApiKeyRow.prefix == key[:16], ApiKeyRow.revoked_at.is_(None))
    )
    for key_hash, enterprise, user in rows:
        if not hmac.compare_digest(key_hash, digest):
            continue
        if enterprise is not None:
            if enterprise.status == "active":
                return enterprise_principal(enterprise.code)
        elif user is not None and user.status == "active":
            return principal_of(user)
    return None


def enterprise_for_key(session: Session, key: str) -> str | None:
    """The code of the active enterprise the key belongs to, or None (unknown, revoked, suspended, a
    user's key)."""
    principal = principal_for_key(session, key)
    return principal.enterprise if principal is not None and principal.role == "enterprise" else None
