"""Who is calling: the principal behind the ``X-API-Key`` header, and what each route requires of it.

Keys come from the register (hashed; `cbec enterprise key`, `registry.issue_user_key`) unless
`create_app` was given an in-memory mapping of key → enterprise code (tests, embedding). The
``X-Copcode`` header is not trusted: the caller's enterprise is the one its key maps to.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader

from cbec.access import Principal, enterprise_principal
from cbec.api.errors import UNAUTHENTICATED, ApiError, forbidden
from cbec.clearance.service import Engine
from cbec.registry import principal_for_key
from cbec.store.db import Store

#: the API key header, declared as the OpenAPI security scheme (the Authorize button of /docs)
API_KEY = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="企业或用户的 API 密钥 / the API key of an enterprise or a platform user",
)


def _registered(store: Store, key: str) -> Principal | None:
    with store.transaction() as session:
        return principal_for_key(session, key)


async def caller(request: Request, x_api_key: Annotated[str | None, Security(API_KEY)] = None) -> Principal:
    """Who the API key acts for; 401 when the key is missing or unknown. Asked of the register on every
    request (one query, in the thread pool); an in-memory mapping is read on the event loop."""
    keys: dict[str, str] | None = request.app.state.api_keys
    if x_api_key:
        if keys is None:
            found = await run_in_threadpool(_registered, request.app.state.store, x_api_key)
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


# async, so FastAPI does not send these to the thread pool (a thread hop each) for an attribute lookup
async def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


async def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


#: the store and the clearance engine of the app
AppStore = Annotated[Store, Depends(store_of)]
AppEngine = Annotated[Engine, Depends(engine_of)]


def enterprise_of(principal: Principal) -> str:
    """The enterprise code of a caller that acts as an enterprise; 403 for users (regulators …)."""
    if principal.enterprise is None:
        raise forbidden(
            "只有企业可以申报报文、接收回执", "only enterprises send messages and receive receipts"
        )
    return principal.enterprise


def require_manager(principal: Principal) -> None:
    """403 unless the caller manages the register and reference data (operator, admin)."""
    if not principal.manages_register:
        raise forbidden(
            "只有平台运营人员或管理员可以管理备案和参数", "only operators and admins manage the register"
        )


def require_regulator(principal: Principal) -> None:
    """403 unless the caller reads personal data by right (regulator, admin)."""
    if not principal.sees_personal:
        raise forbidden("只有监管人员可以查询个人额度", "only regulators may query a person's quota")
