"""The enterprise-facing HTTP API: send a message, collect receipts by cursor, check health.

Authentication: API keys of the enterprise register (`cbec.registry`, stored hashed, issued with
`cbec enterprise key`), or an in-memory mapping of key → copCode given to `create_app(api_keys=…)` for
tests and embedding. The ``X-Copcode`` header is not trusted:
the caller's copCode is the one its key maps to, and a message whose ``BaseTransfer/copCode`` names
another enterprise is refused (403) before anything is stored.

Error bodies are ``{"code", "zh", "en"}``; they and the log lines never carry message content, so no
personal data (names, ID numbers, addresses) leaks through them.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import select

from cbec.access import Principal, audit, enterprise_principal
from cbec.ceb import jsonform
from cbec.ceb.errors import CebError
from cbec.ceb.model import Message
from cbec.ceb.parse import parse_checked
from cbec.clearance.documents import text
from cbec.clearance.service import Engine, Settings
from cbec.registry import principal_for_key
from cbec.store.db import Store
from cbec.store.models import ReceiptRow

log = logging.getLogger(__name__)

TITLE = "cbec 跨境电商线上综合服务平台 API"
#: the largest message body accepted, in bytes
MAX_BODY_BYTES = 10 * 1024 * 1024
#: the most receipts one page returns
MAX_PAGE = 500
ACCEPTED_TYPES = frozenset({"application/xml", "text/xml", "application/json"})

# The API's own error codes (the CBEC-05xx family; 04xx belongs to clearance).
UNAUTHENTICATED = "CBEC-0501"
FORBIDDEN = "CBEC-0502"
TOO_LARGE = "CBEC-0503"
BAD_REQUEST = "CBEC-0504"
UNSUPPORTED_TYPE = "CBEC-0505"
NOT_FOUND = "CBEC-0506"


class ApiError(Exception):
    """An error a caller can trigger: an HTTP status and a bilingual explanation without personal data."""

    def __init__(self, status: int, code: str, zh: str, en: str) -> None:
        super().__init__(f"[{code}] {en}")
        self.status = status
        self.code = code
        self.zh = zh
        self.en = en


def _error(status: int, code: str, zh: str, en: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"code": code, "zh": zh, "en": en})


def _receipt_json(receipt_type: str, status: str, info: str, xml: bytes) -> dict[str, Any]:
    return {"type": receipt_type, "status": status, "info": info, "xml": xml.decode("utf-8")}


def _sender(data: bytes) -> tuple[bool, str | None]:
    """(parsed, copCode): whether the body is a readable message, and the copCode its BaseTransfer names."""
    try:
        message: Message
        if data.lstrip().startswith(b"{"):
            message = jsonform.from_json(data, max_bytes=MAX_BODY_BYTES)
        else:
            message, _ = parse_checked(data, max_bytes=MAX_BODY_BYTES)
    except CebError:
        return False, None
    transfer = message.child("BaseTransfer")
    return True, (text(transfer, "copCode") if transfer is not None else None)


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large() -> ApiError:
    return ApiError(
        413, TOO_LARGE, f"报文超过 {MAX_BODY_BYTES} 字节上限", f"the message exceeds {MAX_BODY_BYTES} bytes"
    )


def caller(request: Request, x_api_key: Annotated[str | None, Header()] = None) -> Principal:
    """Who the API key acts for; 401 when the key is missing or unknown.

    Keys come from the register (hashed; `cbec enterprise key`, `cbec user key`) unless `create_app` was
    given an in-memory mapping of key → enterprise code (tests, embedding)."""
    keys: dict[str, str] | None = request.app.state.api_keys
    if x_api_key:
        if keys is None:
            with request.app.state.store.transaction() as session:
                found = principal_for_key(session, x_api_key)
            if found is not None:
                return found
        else:
            given = x_api_key.encode("utf-8")
            for key, cop_code in keys.items():
                if hmac.compare_digest(given, key.encode("utf-8")):
                    return enterprise_principal(cop_code)
    raise ApiError(
        401, UNAUTHENTICATED, "缺少或无效的 X-API-Key", "the X-API-Key header is missing or unknown"
    )


#: the authenticated caller
Caller = Annotated[Principal, Depends(caller)]


def _enterprise_of(principal: Principal) -> str:
    """The enterprise code of a caller that acts as an enterprise; 403 for users (regulators …)."""
    if principal.enterprise is None:
        raise ApiError(
            403,
            FORBIDDEN,
            "只有企业可以申报报文、接收回执",
            "only enterprises send messages and receive receipts",
        )
    return principal.enterprise


def create_app(
    store: Store | None = None,
    settings: Settings | None = None,
    *,
    api_keys: Mapping[str, str] | None = None,
) -> FastAPI:
    """The API over `store` (default: the configured database) with `settings` (default: CBEC_* env)."""
    the_store = store if store is not None else Store()
    engine = Engine(the_store, settings if settings is not None else Settings.from_env())
    app = FastAPI(title=TITLE, docs_url="/docs", openapi_url="/openapi.json")
    app.state.api_keys = dict(api_keys) if api_keys is not None else None
    app.state.store = the_store

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        log.info("refused %s %s: %s", request.method, request.url.path, exc.code)
        return _error(exc.status, exc.code, exc.zh, exc.en)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = ", ".join(".".join(str(p) for p in e.get("loc", ())) for e in exc.errors())
        return _error(400, BAD_REQUEST, f"请求参数不正确：{fields}", f"invalid request parameters: {fields}")

    @app.get("/api/v1/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post(
        "/api/v1/messages",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {t: {"schema": {"type": "string"}} for t in sorted(ACCEPTED_TYPES)},
            }
        },
    )
    async def post_message(request: Request, principal: Caller) -> dict[str, Any]:
        """Take one message (CEB XML, DxpMsg or the JSON form) and answer with its receipts."""
        cop_code = _enterprise_of(principal)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type and content_type not in ACCEPTED_TYPES:
            raise ApiError(
                415,
                UNSUPPORTED_TYPE,
                "内容类型应为 application/xml、text/xml 或 application/json",
                "the content type must be application/xml, text/xml or application/json",
            )
        data = await _read_body(request)
        if not data.strip():
            raise ApiError(400, BAD_REQUEST, "报文为空", "the message body is empty")
        parsed, sender = _sender(data)
        if parsed and sender != cop_code:
            raise ApiError(
                403,
                FORBIDDEN,
                "报文 BaseTransfer/copCode 与 API 密钥所属企业不符",
                "the message's BaseTransfer/copCode is not the enterprise the API key belongs to",
            )
        result = await run_in_threadpool(engine.ingest, data, source=f"api:{cop_code}")
        log.info("message from %s: %s %s", cop_code, result.message_type, result.outcome)
        return {
            "messageType": result.message_type,
            "outcome": result.outcome,
            "receipts": [_receipt_json(a.receipt_type, a.status, a.info, a.xml) for a in result.answers],
        }

    @app.get("/api/v1/receipts")
    def receipts(
        principal: Caller,
        after: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    ) -> dict[str, Any]:
        """The caller's receipts with id > `after`, oldest first; pass `next` back as `after`."""
        cop_code = _enterprise_of(principal)
        with the_store.transaction() as session:
            rows = session.scalars(
                select(ReceiptRow)
                .where(ReceiptRow.recipient == cop_code, ReceiptRow.id > after)
                .order_by(ReceiptRow.id)
                .limit(limit)
            ).all()
            page = [
                {"id": r.id, **_receipt_json(r.receipt_type, r.return_status, r.return_info, r.xml)}
                for r in rows
            ]
        return {"receipts": page, "next": page[-1]["id"] if page else after}

    @app.get("/api/v1/lists/{number}")
    def get_list(number: str, principal: Caller) -> dict[str, Any]:
        """A declaration list (by invtNo, orderNo or copNo) the caller may read; personal data masked unless
        the caller is a regulator (then the read is audited)."""
        return _document(the_store, "list", number, principal)

    @app.get("/api/v1/orders/{order_no}")
    def get_order(order_no: str, principal: Caller) -> dict[str, Any]:
        """An order the caller may read, with its history and receipts; personal data masked unless the
        caller is a regulator (then the read is audited)."""
        return _document(the_store, "order", order_no, principal)

    __import__("cbec.web").web.mount_portal(app, the_store, engine)  # the web portal (cbec.web)
    return app


def _document(store: Store, kind: str, number: str, principal: Principal) -> dict[str, Any]:
    """A document for a caller who may read it; 404 both when it does not exist and when the caller may
    not read it, so nobody learns of others' documents."""
    from cbec.clearance.queries import find
    from cbec.privacy import mask_document

    with store.transaction() as session:
        view = find(session, kind, number)
        if view is None or not principal.may_read(view.document.body):
            raise ApiError(404, NOT_FOUND, f"未找到 {number}", f"{number} not found")
        doc = view.document
        if principal.sees_personal:
            audit(session, principal, "personal.read", [(doc.kind, doc.doc_key)], via="api")
        return {
            "kind": doc.kind,
            "key": doc.doc_key,
            "status": doc.status,
            "version": doc.version,
            "invtNo": doc.invt_no,
            "preNo": doc.pre_no,
            "document": doc.body if principal.sees_personal else mask_document(doc.body),
            "history": [{"at": e.at.isoformat(), "event": e.event, "status": e.status} for e in view.events],
            "receipts": [
                {"id": r.id, "type": r.receipt_type, "status": r.return_status, "info": r.return_info}
                for r in view.receipts
            ],
            "taxBills": [
                {
                    "taxNo": b.tax_no,
                    "status": b.status,
                    "path": b.path,
                    "customsTax": str(b.customs_tax),
                    "valueAddedTax": str(b.value_added_tax),
                    "consumptionTax": str(b.consumption_tax),
                    "payableFrom": b.payable_from.isoformat(),
                    "payableUntil": b.payable_until.isoformat(),
                }
                for b in view.tax_bills
            ],
        }
