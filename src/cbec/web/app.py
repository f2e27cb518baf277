"""The web portal: mounted into the FastAPI app by `mount_portal(app, store, engine)`.

Everything lives under ``/portal`` (``/`` redirects there); pages are Jinja2 templates with autoescaping,
one stylesheet served locally, charts as inline SVG, no JavaScript. Each route is thin: it checks the
principal's capability, calls a query or a service, and renders. Security measures are in `security`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, FastAPI, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cbec.access import ACCESS_ROLES, Principal, audit
from cbec.ceb.dxp import CST
from cbec.ceb.errors import CebError
from cbec.clearance.service import Engine
from cbec.store.db import Store
from cbec.store.models import EnterpriseRow, UserRow
from cbec.web import i18n, security
from cbec.web.queries import declared_value
from cbec.web.security import SecurityPolicy, WebSession

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
PREFIX = "/portal"
MAX_UPLOAD = 10 * 1024 * 1024
PER_PAGE = 20


class PortalError(Exception):
    """An error a user can trigger: an HTTP status and a bilingual message (never personal data)."""

    def __init__(self, status: int, zh: str, en: str) -> None:
        super().__init__(en)
        self.status = status
        self.zh = zh
        self.en = en


class LoginRequired(Exception):
    def __init__(self, expired: bool) -> None:
        super().__init__("login required")
        self.expired = expired


def _error_key(status: int, key: str, **values: object) -> PortalError:
    return PortalError(status, i18n.text("zh", key, **values), i18n.text("en", key, **values))


def forbidden() -> PortalError:
    return _error_key(403, "error.forbidden")


def not_found(what: str) -> PortalError:
    return _error_key(404, "error.not_found", what=what)


@dataclass(frozen=True)
class Portal:
    """What the routes share: the store, the engine, the templates and the security policy."""

    store: Store
    engine: Engine
    env: Environment
    policy: SecurityPolicy


def _cst(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    return value.astimezone(CST).strftime(fmt) if value is not None else ""


def _money(value: Decimal | str | None) -> str:
    if value is None or value == "":
        return ""
    return f"{Decimal(str(value)):,.2f}"


def make_env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(HERE / "templates")),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cst"] = _cst
    env.filters["money"] = _money
    env.filters["value"] = declared_value
    return env


def lang_of(request: Request) -> str:
    lang = request.cookies.get(security.LANG_COOKIE, i18n.DEFAULT_LANG)
    return lang if lang in i18n.LANGS else i18n.DEFAULT_LANG


def _safe_next(target: str | None) -> str:
    """Only a path inside the portal: never another site (open redirect)."""
    if target and target.startswith(PREFIX + "/") and not target.startswith("//") and "\\" not in target:
        return target
    return PREFIX + "/"


def render(
    portal: Portal,
    request: Request,
    template: str,
    web: WebSession | None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    lang = lang_of(request)

    def tr(key: str, **values: object) -> str:
        return i18n.text(lang, key, **values)

    def pick(zh: str, en: str) -> str:
        return i18n.pick(lang, zh, en)

    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    html = portal.env.get_template(template).render(
        _=tr,
        pick=pick,
        lang=lang,
        web=web,
        principal=web.principal if web else None,
        role_names=ACCESS_ROLES,
        here=request.url.path,
        lang_url=f"{PREFIX}/lang/{'en' if lang == 'zh' else 'zh'}?next={quote(path)}",
        prefix=PREFIX,
        **context,
    )
    return HTMLResponse(html, status_code=status)


#: the security headers of every portal page (the API's JSON answers need none of them)
PORTAL_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; "
        b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)
NO_STORE = (b"cache-control", b"no-store")


class PortalHeaders:
    """Adds the portal's security headers (and no-store, static files aside) to its responses.

    A plain ASGI middleware: `@app.middleware("http")` wraps every request — API calls included — in a task
    group and memory streams, which cost the HTTP intake several per cent of its CPU; this one only looks
    at the path and, for portal pages, adds headers to the response start."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == "/" or path.startswith(PREFIX)):
            await self.app(scope, receive, send)
            return
        extra = PORTAL_HEADERS if path.startswith(f"{PREFIX}/static") else (*PORTAL_HEADERS, NO_STORE)
        names = {name for name, _value in extra}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": [*kept, *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def mount_portal(app: FastAPI, store: Store, engine: Engine, *, policy: SecurityPolicy | None = None) -> None:
    """Add the portal's routes, static files, error pages and security headers to `app`."""
    portal = Portal(store, engine, make_env(), policy or SecurityPolicy())
    app.state.portal = portal
    app.mount(f"{PREFIX}/static", StaticFiles(directory=str(HERE / "static")), name="portal-static")

    app.add_middleware(PortalHeaders)

    @app.exception_handler(PortalError)
    async def _portal_error(request: Request, exc: PortalError) -> HTMLResponse:
        log.info("portal refused %s %s: %s", request.method, request.url.path, exc.status)
        return render(portal, request, "error.html", None, exc.status, error=exc)

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> RedirectResponse:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        query = {"next": target} if request.method == "GET" else {}
        if exc.expired:
            query["expired"] = "1"
        response = RedirectResponse(f"{PREFIX}/login?{urlencode(query)}", status_code=303)
        if exc.expired:
            response.delete_cookie(security.SESSION_COOKIE, path="/")
        return response

    @app.get("/", include_in_schema=False)
    def _root() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/", status_code=307)

    from cbec.web import routes

    router = APIRouter(prefix=PREFIX, include_in_schema=False)
    routes.register(router, portal)
    app.include_router(router)


def current(request: Request) -> WebSession:
    """The logged-in session of this request, or a redirect to the login page."""
    portal: Portal = request.app.state.portal
    with portal.store.transaction() as session:
        web, expired = security.load_session(
            session, request.cookies.get(security.SESSION_COOKIE), portal.policy
        )
    if web is None:
        raise LoginRequired(expired)
    return web


Current = Annotated[WebSession, Depends(current)]


def check_csrf(web: WebSession, token: str | None) -> None:
    """Refuse (403) a state-changing form whose token is missing or not this session's."""
    if not security.tokens_match(token, web.csrf_token):
        log.info("portal CSRF token refused (session %s)", web.id)
        raise _error_key(403, "error.csrf")


def require(allowed: bool) -> None:
    if not allowed:
        raise forbidden()


def parse_day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _error_key(400, "search.bad_date") from None


async def read_upload(upload: UploadFile | None, limit: int = MAX_UPLOAD) -> bytes:
    if upload is None or not upload.filename:
        return b""
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise _error_key(413, "up.too_large", limit=limit)
    return data


def audit_now(portal: Portal, principal: Principal, action: str, kind: str | None, key: str | None) -> None:
    with portal.store.transaction() as session:
        audit(session, principal, action, [(kind, key)], via="portal")


def enterprise_names(session: Any, codes: set[str | None]) -> dict[str, str]:
    wanted = [c for c in codes if c]
    if not wanted:
        return {}
    return {
        r.code: r.name for r in session.scalars(select(EnterpriseRow).where(EnterpriseRow.code.in_(wanted)))
    }


def user_exists(session: Any, login: str) -> bool:
    return session.get(UserRow, login) is not None


def now_utc() -> datetime:
    return datetime.now(UTC)


def bilingual(exc: CebError) -> PortalError:
    return PortalError(400, exc.zh, exc.en)


__all__ = ["Current", "Portal", "PortalError", "mount_portal", "run_in_threadpool"]
