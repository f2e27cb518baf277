"""The register and reference data over HTTP (operators and admins): enterprises, their signing
certificates, positive-list versions and tax rates. Every change is audited; a refused change stores
nothing."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, UploadFile
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlalchemy import select

from cbec.access import Principal, audit
from cbec.api.auth import AppStore, Caller, require_manager
from cbec.api.errors import ApiError, Input, bad_request, forbidden, not_found, responses
from cbec.certificates import (
    MAX_CERTIFICATE_BYTES,
    CertificateDuplicate,
    CertificateError,
    CertificateNotFound,
    add_certificate,
    list_certificates,
    revoke_certificate,
)
from cbec.clearance import reference
from cbec.registry import RegistryError, add_enterprise
from cbec.store.db import Store
from cbec.store.models import CertificateRow, EnterpriseRow, ReferenceRow

router = APIRouter(prefix="/api/v1")

REFERENCE_REFUSED = "CBEC-0511"
#: the largest reference file accepted, in bytes
MAX_REFERENCE_BYTES = 20 * 1024 * 1024


class EnterpriseIn(Input):
    code: str = Field(min_length=1, max_length=18, description="customs (10) or credit (18) code")
    name: str = Field(min_length=1, max_length=255)
    roles: list[str] = Field(
        min_length=1, max_length=7, description="ebp ebc pay logistics agent assure operator"
    )
    creditCode: str | None = Field(default=None, max_length=18)
    zone: str | None = Field(default=None, max_length=100)


class EnterpriseOut(BaseModel):
    code: str
    name: str
    creditCode: str | None
    roles: list[str]
    zone: str | None
    status: str
    createdAt: str


class EnterprisePatch(Input):
    status: Literal["active", "suspended"]


class CertificateIn(Input):
    pem: str = Field(min_length=1, max_length=MAX_CERTIFICATE_BYTES, description="X.509 certificate, PEM")


class CertificateOut(BaseModel):
    id: int
    enterpriseCode: str
    serial: str
    subject: str
    issuer: str
    keyType: str
    notBefore: str
    notAfter: str
    fingerprint: str
    status: str
    createdAt: str
    revokedAt: str | None
    pem: str


class ReferenceOut(BaseModel):
    id: int
    kind: str
    name: str
    sha256: str
    loadedAt: str
    active: bool


def _enterprise(row: EnterpriseRow) -> dict[str, Any]:
    return {
        "code": row.code,
        "name": row.name,
        "creditCode": row.credit_code,
        "roles": list(row.roles),
        "zone": row.zone,
        "status": row.status,
        "createdAt": row.created_at.isoformat(),
    }


def _certificate(row: CertificateRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "enterpriseCode": row.enterprise_code,
        "serial": row.serial,
        "subject": row.subject,
        "issuer": row.issuer,
        "keyType": row.key_type,
        "notBefore": row.not_before.isoformat(),
        "notAfter": row.not_after.isoformat(),
        "fingerprint": row.fingerprint,
        "status": row.status,
        "createdAt": row.created_at.isoformat(),
        "revokedAt": row.revoked_at.isoformat() if row.revoked_at else None,
        "pem": row.pem,
    }


def _reference(row: ReferenceRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "name": row.name,
        "sha256": row.sha256,
        "loadedAt": row.loaded_at.isoformat(),
        "active": row.active,
    }


@router.get("/enterprises", response_model=list[EnterpriseOut], responses=responses(403))
def enterprises(principal: Caller, store: AppStore) -> list[dict[str, Any]]:
    """The enterprise register (operators and admins)."""
    require_manager(principal)
    with store.transaction() as session:
        return [_enterprise(r) for r in session.scalars(select(EnterpriseRow).order_by(EnterpriseRow.code))]


@router.post("/enterprises", status_code=201, response_model=EnterpriseOut, responses=responses(403))
def enterprise_add(body: EnterpriseIn, principal: Caller, store: AppStore) -> dict[str, Any]:
    """Register an enterprise (备案); every problem is refused with its reason, nothing half-stored."""
    require_manager(principal)
    try:
        with store.transaction() as session:
            row = add_enterprise(
                session, body.code, body.name, roles=body.roles, credit_code=body.creditCode, zone=body.zone
            )
            audit(session, principal, "enterprise.add", [("enterprise", row.code)], via="api")
            return _enterprise(row)
    except RegistryError as exc:
        raise ApiError.of(400, exc) from exc


@router.patch("/enterprises/{code}", response_model=EnterpriseOut, responses=responses(403, 404))
def enterprise_status(code: str, body: EnterprisePatch, principal: Caller, store: AppStore) -> dict[str, Any]:
    """Suspend an enterprise (its keys stop working) or make it active again."""
    require_manager(principal)
    with store.transaction() as session:
        row = session.get(EnterpriseRow, code.strip().upper())
        if row is None:
            raise not_found(code)
        if row.status != body.status:
            row.status = body.status
            audit(session, principal, f"enterprise.{body.status}", [("enterprise", row.code)], via="api")
        return _enterprise(row)


def _may_see_certificates(principal: Principal, code: str) -> None:
    if principal.manages_register or principal.enterprise == code.strip().upper():
        return
    raise forbidden("只能查看本企业的证书", "an enterprise sees only its own certificates")


@router.get(
    "/enterprises/{code}/certificates", response_model=list[CertificateOut], responses=responses(403, 404)
)
def certificates(code: str, principal: Caller, store: AppStore) -> list[dict[str, Any]]:
    """The certificates registered to an enterprise (operators, admins, and the enterprise itself)."""
    _may_see_certificates(principal, code)
    with store.transaction() as session:
        if session.get(EnterpriseRow, code.strip().upper()) is None:
            raise not_found(code)
        return [_certificate(r) for r in list_certificates(session, code)]


@router.post(
    "/enterprises/{code}/certificates",
    status_code=201,
    response_model=CertificateOut,
    responses=responses(403, 404, 409),
)
def certificate_add(code: str, body: CertificateIn, principal: Caller, store: AppStore) -> dict[str, Any]:
    """Register a signing certificate (X.509 PEM, RSA or SM2) to an enterprise: from now on its signed
    lists, cancellations and returns are accepted when signed with it."""
    require_manager(principal)
    try:
        with store.transaction() as session:
            row = add_certificate(session, code, body.pem)
            audit(session, principal, "certificate.add", [("certificate", row.fingerprint)], via="api")
            return _certificate(row)
    except CertificateNotFound as exc:
        raise ApiError.of(404, exc) from exc
    except CertificateDuplicate as exc:
        raise ApiError.of(409, exc) from exc
    except CertificateError as exc:
        raise ApiError.of(400, exc) from exc


@router.delete(
    "/enterprises/{code}/certificates/{certificate_id}",
    response_model=CertificateOut,
    responses=responses(403, 404),
)
def certificate_revoke(
    code: str, certificate_id: Annotated[int, PathParam(ge=1, le=2**62)], principal: Caller, store: AppStore
) -> dict[str, Any]:
    """Revoke a certificate: signatures made with it are refused from now on (the record stays)."""
    require_manager(principal)
    try:
        with store.transaction() as session:
            row = revoke_certificate(session, certificate_id, enterprise_code=code)
            audit(session, principal, "certificate.revoke", [("certificate", row.fingerprint)], via="api")
            return _certificate(row)
    except CertificateNotFound as exc:
        raise ApiError.of(404, exc) from exc


@router.get("/reference", response_model=list[ReferenceOut], responses=responses(403))
def reference_versions(principal: Caller, store: AppStore) -> list[dict[str, Any]]:
    """Every reference file loaded (positive-list versions and rate tables), newest first."""
    require_manager(principal)
    with store.transaction() as session:
        return [_reference(r) for r in session.scalars(select(ReferenceRow).order_by(ReferenceRow.id.desc()))]


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._\-\u4e00-\u9fff]+")


async def _load(kind: str, upload: UploadFile, principal: Principal, store: Store) -> dict[str, Any]:
    require_manager(principal)
    name = _SAFE_NAME.sub("_", Path(upload.filename or "upload.csv").name)[:200] or "upload.csv"
    if not name.lower().endswith((".csv", ".xlsx")):
        raise bad_request("文件应为 CSV 或 XLSX", "the file must be CSV or XLSX")
    content = await upload.read(MAX_REFERENCE_BYTES + 1)
    if len(content) > MAX_REFERENCE_BYTES:
        raise ApiError(
            413,
            "CBEC-0503",
            f"文件超过 {MAX_REFERENCE_BYTES} 字节",
            f"the file exceeds {MAX_REFERENCE_BYTES} bytes",
        )
    return await run_in_threadpool(_store_reference, kind, name, content, principal, store)


def _store_reference(
    kind: str, name: str, content: bytes, principal: Principal, store: Store
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="cbec-upload-") as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        try:
            with store.transaction() as session:
                row = reference.load(session, kind, path)
                audit(session, principal, "reference.load", [(kind, row.sha256)], via="api")
                return _reference(row)
        except ValueError as exc:
            raise _refused(exc) from exc


def _refused(exc: ValueError) -> ApiError:
    problems = list(getattr(exc, "problems", ()))[:10]
    if problems:
        zh = "；".join(
            f"第{getattr(p, 'row', getattr(p, 'line', '?'))}行 {getattr(p, 'zh', '')}" for p in problems
        )
        en = "; ".join(
            f"row {getattr(p, 'row', getattr(p, 'line', '?'))}: {getattr(p, 'en', '')}" for p in problems
        )
    else:
        zh = en = str(exc)[:500]
    return ApiError(
        400, REFERENCE_REFUSED, f"文件有错误，未加载：{zh}", f"the file has errors and was not loaded: {en}"
    )


@router.post(
    "/reference/positive-list", status_code=201, response_model=ReferenceOut, responses=responses(403, 413)
)
async def positive_list_load(
    principal: Caller, store: AppStore, file: Annotated[UploadFile, File(description="CSV or XLSX")]
) -> dict[str, Any]:
    """Load a positive-list version (CSV or XLSX, Chinese headers accepted); the whole file is checked and
    nothing is loaded when a row is bad."""
    return await _load(reference.POSITIVE_LIST, file, principal, store)


@router.post("/reference/rates", status_code=201, response_model=ReferenceOut, responses=responses(403, 413))
async def rates_load(
    principal: Caller, store: AppStore, file: Annotated[UploadFile, File(description="CSV or XLSX")]
) -> dict[str, Any]:
    """Load a tax-rate table (CSV or XLSX), replacing the previous one; nothing changes when a row is bad."""
    return await _load(reference.RATES, file, principal, store)
