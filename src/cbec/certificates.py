"""Signing certificates registered to enterprises (证书备案): the certificates whose signatures the platform
accepts on an enterprise's declared lists, cancellations and returns.

A certificate is X.509 (PEM, DER or Base64), with an RSA or SM2 key (what `cbec.ceb.sign` verifies). It
is stored as PEM with its serial, subject, issuer, validity and SHA-256 fingerprint; a certificate
belongs to one enterprise only. Revoking keeps the row (status ``revoked``) so history stays readable.
"""

from __future__ import annotations

import base64
import hashlib
import textwrap
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

from cbec.ceb.errors import CebError
from cbec.ceb.sign.keys import CertificateInfo, load_certificate
from cbec.store.models import CertificateRow, EnterpriseRow

#: the largest certificate file accepted, in bytes (real ones are 1–3 kB)
MAX_CERTIFICATE_BYTES = 64 * 1024


class CertificateError(CebError):
    code = "CBEC-0603"


class CertificateNotFound(CertificateError):
    code = "CBEC-0604"


class CertificateDuplicate(CertificateError):
    code = "CBEC-0605"


def _pem(der: bytes) -> str:
    body = "\n".join(textwrap.wrap(base64.b64encode(der).decode("ascii"), 64))
    return f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"


def add_certificate(
    session: Session, enterprise_code: str, data: bytes | str, now: datetime | None = None
) -> CertificateRow:
    """Register a certificate to an enterprise; refused when unreadable, not RSA/SM2, expired, or already
    registered (to this enterprise or another)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    code = enterprise_code.strip().upper()
    enterprise = session.get(EnterpriseRow, code)
    if enterprise is None:
        raise CertificateNotFound(f"企业 {code} 未备案", f"enterprise {code} is not registered")
    if len(raw) > MAX_CERTIFICATE_BYTES:
        raise CertificateError(
            f"证书文件超过 {MAX_CERTIFICATE_BYTES} 字节",
            f"the certificate exceeds {MAX_CERTIFICATE_BYTES} bytes",
        )
    if not raw.strip():
        raise CertificateError("证书为空", "the certificate is empty")
    try:
        cert = load_certificate(raw)
    except CebError as exc:
        raise CertificateError(
            f"证书无法读取：{exc.zh}", f"the certificate cannot be read: {exc.en}"
        ) from exc
    if cert.key_type not in ("rsa", "sm2"):
        raise CertificateError(
            "证书公钥既不是 RSA 也不是 SM2，无法用于报文验签",
            "the certificate's key is neither RSA nor SM2, so it cannot verify messages",
        )
    moment = now or datetime.now(UTC)
    if cert.not_after < moment:
        raise CertificateError(
            f"证书已于 {cert.not_after:%Y-%m-%d} 过期",
            f"the certificate expired on {cert.not_after:%Y-%m-%d}",
        )
    fingerprint = hashlib.sha256(cert.der).hexdigest()
    if session.scalars(select(CertificateRow).where(CertificateRow.fingerprint == fingerprint)).first():
        raise CertificateDuplicate("该证书已经备案过", "this certificate is already registered")
    row = CertificateRow(
        enterprise_code=enterprise.code,
        serial=cert.serial_hex[:64],
        subject=cert.subject[:1000],
        issuer=cert.issuer[:1000],
        key_type=cert.key_type,
        not_before=cert.not_before,
        not_after=cert.not_after,
        fingerprint=fingerprint,
        pem=_pem(cert.der),
        status="active",
        created_at=moment,
        revoked_at=None,
    )
    session.add(row)
    session.flush()
    return row


def list_certificates(session: Session, enterprise_code: str | None = None) -> list[CertificateRow]:
    """Every registered certificate (of one enterprise, when given), oldest first."""
    query = select(CertificateRow).order_by(CertificateRow.id)
    if enterprise_code is not None:
        query = query.where(CertificateRow.enterprise_code == enterprise_code.strip().upper())
    return list(session.scalars(query))


def revoke_certificate(
    session: Session, certificate_id: int, *, enterprise_code: str | None = None, now: datetime | None = None
) -> CertificateRow:
    """Revoke a certificate: from now on its signatures are refused. Revoking twice is harmless."""
    row = session.get(CertificateRow, certificate_id)
    if row is None or (
        enterprise_code is not None and row.enterprise_code != enterprise_code.strip().upper()
    ):
        raise CertificateNotFound(
            f"证书 {certificate_id} 不存在", f"certificate {certificate_id} does not exist"
        )
    if row.status != "revoked":
        row.status = "revoked"
        row.revoked_at = now or datetime.now(UTC)
    return row


def trusted_for(session: Session, enterprise_code: str) -> list[CertificateInfo]:
    """The active certificates of an enterprise, loaded for `verify_message(trusted=…)`; validity dates
    are judged by the verifier (an expired certificate fails with 1002)."""
    rows = session.scalars(
        select(CertificateRow.pem).where(
            CertificateRow.enterprise_code == enterprise_code, CertificateRow.status == "active"
        )
    )
    return [_loaded(pem) for pem in rows]


def enterprise_and_trusted(
    session: Session, enterprise_code: str
) -> tuple[EnterpriseRow | None, list[CertificateInfo]]:
    """The enterprise's register entry and its active certificates (as `trusted_for`), in one query: what
    admission asks of every list, cancellation and return."""
    return enterprises_and_trusted(session, [enterprise_code]).get(enterprise_code, (None, []))


#: built once (building and keying a statement costs more CPU than running it): admission asks it per chunk
_ENTERPRISES_AND_TRUSTED = (
    select(EnterpriseRow, CertificateRow.pem)
    .outerjoin(
        CertificateRow,
        and_(CertificateRow.enterprise_code == EnterpriseRow.code, CertificateRow.status == "active"),
    )
    .where(EnterpriseRow.code.in_(bindparam("codes", expanding=True)))
    .order_by(CertificateRow.id)
)


def enterprises_and_trusted(
    session: Session, enterprise_codes: Iterable[str]
) -> dict[str, tuple[EnterpriseRow, list[CertificateInfo]]]:
    """`enterprise_and_trusted` of several enterprises in one query, by code; a code not on the register
    has no entry."""
    rows = session.execute(_ENTERPRISES_AND_TRUSTED, {"codes": sorted(set(enterprise_codes))}).all()
    found: dict[str, tuple[EnterpriseRow, list[CertificateInfo]]] = {}
    for enterprise, pem in rows:
        _row, certificates = found.setdefault(enterprise.code, (enterprise, []))
        if pem is not None:
            certificates.append(_loaded(pem))
    return found


@lru_cache(maxsize=1024)
def _loaded(pem: str) -> CertificateInfo:
    """A stored certificate read once per process: the PEM text is the whole certificate (immutable,
    `CertificateInfo` is frozen), so the cache cannot outlive a revocation — which certificates are active
    is asked of the database on every call."""
    return load_certificate(pem)
