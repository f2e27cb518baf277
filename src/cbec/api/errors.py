"""The API's errors: every one a caller can trigger has an HTTP status and a body ``{"code", "zh", "en"}``
(Chinese first), never with personal data or message content in it.

Codes: the CBEC-05xx family for the API itself (04xx belongs to clearance, 06xx to the register, users and
certificates, whose own codes are passed through unchanged).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, model_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

from cbec.ceb.errors import CebError

log = logging.getLogger("cbec.api")

UNAUTHENTICATED = "CBEC-0501"
FORBIDDEN = "CBEC-0502"
TOO_LARGE = "CBEC-0503"
BAD_REQUEST = "CBEC-0504"
UNSUPPORTED_TYPE = "CBEC-0505"
NOT_FOUND = "CBEC-0506"
CONFLICT = "CBEC-0507"
TOO_MANY_ITEMS = "CBEC-0508"
BAD_ENDPOINT = "CBEC-0509"
METHOD_NOT_ALLOWED = "CBEC-0510"


class ErrorBody(BaseModel):
    """An error answer: the code, then the explanation in Chinese and in English."""

    code: str
    zh: str
    en: str


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


class Input(BaseModel):
    """A JSON request body: no text in it may carry NUL (no document or register field can, and PostgreSQL
    refuses it), so such a body is a 400 like any other invalid one."""

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        if _has_nul(data):
            raise ValueError("text must not contain NUL characters")
        return data


async def no_nul_in_url(request: Request) -> None:
    """Refuse a path or query string carrying NUL (an app-wide dependency)."""
    query = request.query_params.multi_items()
    if "\x00" in request.url.path or any("\x00" in k or "\x00" in v for k, v in query):
        raise bad_request("地址或查询参数含有 NUL 字符", "the path or the query carries a NUL character")


class ApiError(Exception):
    """An error a caller can trigger: an HTTP status and a bilingual explanation without personal data."""

    def __init__(self, status: int, code: str, zh: str, en: str) -> None:
        super().__init__(f"[{code}] {en}")
        self.status = status
        self.code = code
        self.zh = zh
        self.en = en

    @classmethod
    def of(cls, status: int, exc: CebError) -> ApiError:
        """The API form of a domain error, keeping its code and texts."""
        return cls(status, exc.code, exc.zh, exc.en)


def not_found(what: str) -> ApiError:
    return ApiError(404, NOT_FOUND, f"未找到 {what}", f"{what} not found")


def forbidden(zh: str, en: str) -> ApiError:
    return ApiError(403, FORBIDDEN, zh, en)


def bad_request(zh: str, en: str) -> ApiError:
    return ApiError(400, BAD_REQUEST, zh, en)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route: the error statuses it may answer, each with the error body's schema."""
    texts = {
        400: "请求不正确 / bad request",
        401: "未认证 / missing or unknown API key",
        403: "无权操作 / not allowed",
        404: "不存在或无权查看 / not found (or not visible to the caller)",
        409: "冲突 / conflict with what is stored",
        413: "过大 / too large",
        415: "内容类型不受支持 / unsupported content type",
    }
    return {s: {"model": ErrorBody, "description": texts[s]} for s in (400, 401, *statuses)}


def error_response(status: int, code: str, zh: str, en: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"code": code, "zh": zh, "en": en})


def install(app: FastAPI) -> None:
    """Answer every error in the one shape; unexpected failures too (500, logged without content)."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        log.info("refused %s %s: %s", request.method, request.url.path, exc.code)
        return error_response(exc.status, exc.code, exc.zh, exc.en)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = ", ".join(".".join(str(p) for p in e.get("loc", ())) for e in exc.errors())
        return error_response(
            400, BAD_REQUEST, f"请求参数不正确：{fields}", f"invalid request parameters: {fields}"
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if not request.url.path.startswith("/api/"):
            return await http_exception_handler(request, exc)  # the portal keeps FastAPI's own answers
        if exc.status_code == 404:
            return error_response(404, NOT_FOUND, "没有这个地址", "no such path")
        if exc.status_code == 405:
            return error_response(405, METHOD_NOT_ALLOWED, "不支持该请求方法", "method not allowed")
        return error_response(exc.status_code, BAD_REQUEST, "请求不正确", "bad request")
