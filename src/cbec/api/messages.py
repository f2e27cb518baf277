"""Sending messages and collecting receipts: ``POST /api/v1/messages`` (one message, or a batch as
``multipart/form-data`` or ``application/x-ndjson``) and ``GET /api/v1/receipts`` by cursor.

A message whose ``BaseTransfer/copCode`` names another enterprise is refused (403; in a batch, that item
is refused) before anything is stored. Lists, cancellations and returns must be signed with a certificate
registered to the sender (`cbec.certificates`); the engine refuses the others with the official signature
codes. Log lines carry the sender, the message type and the outcome, never message content.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import select
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from cbec.api.auth import AppEngine, AppStore, Caller, enterprise_of
from cbec.api.errors import (
    TOO_LARGE,
    TOO_MANY_ITEMS,
    UNSUPPORTED_TYPE,
    ApiError,
    bad_request,
    forbidden,
    responses,
)
from cbec.clearance.service import Engine, IngestResult
from cbec.intake import MAX_MESSAGE_BYTES, Refused, admit, admit_each
from cbec.store.models import ReceiptRow

#: the largest message accepted, in bytes
MAX_BODY_BYTES = MAX_MESSAGE_BYTES
#: the largest batch accepted (all items together), in bytes
MAX_BATCH_BYTES = 20 * 1024 * 1024
#: the most messages one batch may carry
MAX_BATCH_ITEMS = 100
#: the most receipts one page returns
MAX_PAGE = 500
SINGLE_TYPES = ("application/xml", "text/xml", "application/json")
BATCH_TYPES = ("multipart/form-data", "application/x-ndjson")
ACCEPTED_TYPES = frozenset(SINGLE_TYPES + BATCH_TYPES)

router = APIRouter(prefix="/api/v1")


class ReceiptOut(BaseModel):
    """A receipt (or tax bill) as sent back: its message type, returnStatus, returnInfo and the XML."""

    type: str
    status: str
    info: str
    xml: str


class MessageAnswer(BaseModel):
    """What became of one message: accepted, rejected or duplicate (a repeat answered from the store)."""

    messageType: str | None
    outcome: str
    receipts: list[ReceiptOut]


class BatchItem(BaseModel):
    """One item of a batch, by its position (0-based); `outcome` ``refused`` means the API did not take it
    (then `error` says why and nothing was stored)."""

    index: int
    name: str | None = None
    messageType: str | None
    outcome: str
    receipts: list[ReceiptOut]
    error: dict[str, str] | None = None


class BatchAnswer(BaseModel):
    items: list[BatchItem]


class ReceiptPageItem(ReceiptOut):
    id: int


class ReceiptPage(BaseModel):
    """Receipts after the cursor, oldest first; pass `next` back as `after`."""

    receipts: list[ReceiptPageItem]
    next: int


def _receipt_json(receipt_type: str, status: str, info: str, xml: bytes) -> dict[str, Any]:
    return {"type": receipt_type, "status": status, "info": info, "xml": xml.decode("utf-8")}


def _too_large(limit: int, zh: str = "报文", en: str = "the message") -> ApiError:
    return ApiError(413, TOO_LARGE, f"{zh}超过 {limit} 字节上限", f"{en} exceeds {limit} bytes")


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit, "请求", "the request")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit, "请求", "the request")
        chunks.append(chunk)
    return b"".join(chunks)


def _take(engine: Engine, data: bytes, cop_code: str) -> IngestResult:
    try:
        return admit(engine, data, cop_code, source=f"api:{cop_code}")
    except Refused as exc:
        raise forbidden(exc.zh, exc.en) from None


def _answer(result: IngestResult) -> dict[str, Any]:
    return {
        "messageType": result.message_type,
        "outcome": result.outcome,
        "receipts": [_receipt_json(a.receipt_type, a.status, a.info, a.xml) for a in result.answers],
    }


#: non-blank text (a blank body is refused with 400)
_TEXT = {"type": "string", "pattern": r"\S"}
_BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            **{t: {"schema": _TEXT} for t in SINGLE_TYPES},
            "application/x-ndjson": {"schema": _TEXT},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["files"],
                    "properties": {
                        "files": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": MAX_BATCH_ITEMS,
                            "items": {"type": "string", "format": "binary"},
                        }
                    },
                }
            },
        },
    }
}


@router.post(
    "/messages",
    response_model=MessageAnswer | BatchAnswer,
    responses=responses(403, 413, 415),
    openapi_extra=_BODY_DOC,
)
async def post_message(request: Request, principal: Caller, engine: AppEngine) -> Any:
    """Take one message (CEB XML, DxpMsg or the JSON form) and answer with its receipts; or a batch
    (``multipart/form-data`` with one file a message, or ``application/x-ndjson`` with one message a line:
    the JSON form, or ``{"xml": "…"}``), answered item by item."""
    cop_code = enterprise_of(principal)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and content_type not in ACCEPTED_TYPES:
        raise ApiError(
            415,
            UNSUPPORTED_TYPE,
            "内容类型应为 application/xml、text/xml、application/json、multipart/form-data 或 "
            "application/x-ndjson",
            "the content type must be application/xml, text/xml, application/json, multipart/form-data "
            "or application/x-ndjson",
        )
    if content_type in BATCH_TYPES:
        data = await _read_body(request, MAX_BATCH_BYTES)
        if content_type == "multipart/form-data":
            items = await _multipart_items(request, data)
        else:
            items = _ndjson_items(data)
        if not items:
            raise bad_request("批量请求中没有报文", "the batch carries no message")
        if len(items) > MAX_BATCH_ITEMS:
            raise _too_many()
        answers = await run_in_threadpool(_batch_items, engine, cop_code, items)
        return {"items": [{"index": i, **a} for i, a in enumerate(answers)]}
    data = await _read_body(request, MAX_BODY_BYTES)
    if not data.strip():
        raise bad_request("报文为空", "the message body is empty")
    result = await run_in_threadpool(_take, engine, data, cop_code)
    # built here rather than validated against the response model: the answer is ours, already in shape
    return JSONResponse(_answer(result))


def _too_many() -> ApiError:
    return ApiError(
        413,
        TOO_MANY_ITEMS,
        f"一次最多提交 {MAX_BATCH_ITEMS} 份报文",
        f"a batch may carry at most {MAX_BATCH_ITEMS} messages",
    )


#: an item of a batch: (name, message bytes or None, why it cannot be taken)
Item = tuple[str | None, bytes | None, ApiError | None]


async def _multipart_items(request: Request, data: bytes) -> list[Item]:
    async def chunks() -> AsyncGenerator[bytes, None]:
        yield data

    parser = MultiPartParser(
        request.headers,
        chunks(),
        max_files=MAX_BATCH_ITEMS + 1,
        max_fields=MAX_BATCH_ITEMS + 1,
        max_part_size=MAX_BODY_BYTES,
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        if "Too many" in exc.message:
            raise _too_many() from exc
        raise bad_request(
            "multipart 请求无法解析", f"the multipart body cannot be read: {exc.message}"
        ) from exc
    items: list[Item] = []
    try:
        for _field, value in form.multi_items():
            if isinstance(value, UploadFile):
                content = await value.read()
                items.append(_sized(value.filename, content))
            else:
                items.append(_sized(None, value.encode("utf-8")))
    finally:
        await form.close()
    return items


def _sized(name: str | None, content: bytes) -> Item:
    if len(content) > MAX_BODY_BYTES:
        return name, None, _too_large(MAX_BODY_BYTES)
    if not content.strip():
        return name, None, bad_request("报文为空", "the message is empty")
    return name, content, None


def _ndjson_items(data: bytes) -> list[Item]:
    items: list[Item] = []
    for line in data.splitlines():
        if not line.strip():
            continue
        if len(items) > MAX_BATCH_ITEMS:
            raise _too_many()
        try:
            value = json.loads(line)
        except ValueError:
            items.append((None, None, bad_request("该行不是 JSON", "the line is not JSON")))
            continue
        if isinstance(value, dict) and set(value) == {"xml"}:
            if not isinstance(value["xml"], str):
                items.append((None, None, bad_request("xml 应为字符串", "xml must be a string")))
                continue
            items.append(_sized(None, value["xml"].encode("utf-8")))
        elif isinstance(value, dict):
            items.append(_sized(None, line))
        else:
            items.append(
                (None, None, bad_request("每行应为一个 JSON 对象", "each line must be one JSON object"))
            )
    return items


def _batch_items(engine: Engine, cop_code: str, items: list[Item]) -> list[dict[str, Any]]:
    """Answer a batch item by item, its messages taken together in their order (`admit_each`): a batch
    of a hundred costs the engine one or two chunks, not a hundred transactions."""
    ready = [data for _name, data, error in items if data is not None and error is None]
    results = iter(admit_each(engine, ready, cop_code, source=f"api:{cop_code}"))
    answers: list[dict[str, Any]] = []
    for name, data, error in items:
        if data is not None and error is None:
            result = next(results)
            if isinstance(result, IngestResult):
                answers.append({"name": name, **_answer(result)})
                continue
            if not isinstance(result, Refused):
                raise result  # unexpected: a 500 as for one message (the others are kept; a retry replays)
            error = forbidden(result.zh, result.en)
        assert error is not None
        answers.append(
            {
                "name": name,
                "messageType": None,
                "outcome": "refused",
                "receipts": [],
                "error": {"code": error.code, "zh": error.zh, "en": error.en},
            }
        )
    return answers


@router.get("/receipts", response_model=ReceiptPage, responses=responses(403))
def receipts(
    principal: Caller,
    store: AppStore,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> dict[str, Any]:
    """The caller's receipts with id > `after`, oldest first; pass `next` back as `after`."""
    cop_code = enterprise_of(principal)
    with store.transaction() as session:
        rows = session.scalars(
            select(ReceiptRow)
            .where(ReceiptRow.recipient == cop_code, ReceiptRow.id > after)
            .order_by(ReceiptRow.id)
            .limit(limit)
        ).all()
        page = [
            {"id": r.id, **_receipt_json(r.receipt_type, r.return_status, r.return_info, r.xml)} for r in rows
        ]
    return {"receipts": page, "next": page[-1]["id"] if page else after}
