"""The HTTP API of the platform (FastAPI; OpenAPI at ``/openapi.json``, docs at ``/docs``).

Authentication: API keys of the enterprise register (`cbec.registry`, stored hashed) or an in-memory
mapping of key → copCode given to `create_app(api_keys=…)` for tests and embedding (`cbec.api.auth`).
Routes, one module each: messages and receipts (`messages`), documents, tax bills and quota
(`documents`), the register, certificates and reference data (`registry`), push subscriptions
(`subscriptions`). Error bodies are ``{"code", "zh", "en"}`` (`errors`); neither they nor the log lines
carry message content or personal data.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import Depends, FastAPI

from cbec.api import documents, errors, messages, registry, subscriptions
from cbec.clearance.service import Engine, Settings
from cbec.store.db import Store

TITLE = "cbec 跨境电商线上综合服务平台 API"


class _NoQueryStrings(logging.Filter):
    """Access-log lines without query strings: a quota query carries an ID number and a name."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


def quiet_access_log() -> None:
    """Strip query strings from uvicorn's access log (installed once)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _NoQueryStrings) for f in access.filters):
        access.addFilter(_NoQueryStrings())


def create_app(
    store: Store | None = None,
    settings: Settings | None = None,
    *,
    api_keys: Mapping[str, str] | None = None,
) -> FastAPI:
    """The API over `store` (default: the configured database) with `settings` (default: CBEC_* env)."""
    the_store = store if store is not None else Store()
    app = FastAPI(
        title=TITLE,
        docs_url="/docs",
        openapi_url="/openapi.json",
        dependencies=[Depends(errors.no_nul_in_url)],
    )
    app.state.api_keys = dict(api_keys) if api_keys is not None else None
    app.state.store = the_store
    app.state.engine = Engine(the_store, settings if settings is not None else Settings.from_env())
    errors.install(app)
    quiet_access_log()

    @app.get("/api/v1/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    for module in (messages, documents, registry, subscriptions):
        app.include_router(module.router)
    from cbec.web import mount_portal  # the portal sits above the API; imported here to keep layers apart

    mount_portal(app, the_store, app.state.engine)
    return app
