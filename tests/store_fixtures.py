"""Stores for tests: a fresh SQLite file, or a fresh schema on the machine's PostgreSQL.

PostgreSQL is at 127.0.0.1:5432 (trust auth, database ``test``) on these machines; `CBEC_TEST_PG_URL`
overrides it. When no server answers, PostgreSQL tests fail loudly unless CBEC_SKIP_PG=1 is set.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from cbec.store.db import Store, make_engine
from cbec.store.migrate import upgrade

PG_URL = os.environ.get("CBEC_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def sqlite_store(folder: Path) -> Store:
    engine = make_engine(f"sqlite:///{folder / 'cbec-test.db'}")
    upgrade(engine)
    return Store(engine=engine)


def pg_store() -> Iterator[Store]:
    """A store in a schema of its own, dropped afterwards."""
    if os.environ.get("CBEC_SKIP_PG") == "1":
        pytest.skip("CBEC_SKIP_PG=1: PostgreSQL tests skipped on request")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        admin.dispose()
        pytest.fail(
            f"PostgreSQL at {PG_URL} is not reachable ({exc.__class__.__name__}); "
            "start it or set CBEC_SKIP_PG=1"
        )
    engine = create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"}, pool_pre_ping=True)
    upgrade(engine)
    store = Store(engine=engine)
    try:
        yield store
    finally:
        store.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def search_path_option(store: Store) -> str:
    """The libpq ``options`` that give another connection the schema `store` works in (PostgreSQL)."""
    with store.engine.connect() as conn:
        schema = conn.exec_driver_sql("SELECT current_schema()").scalar_one()
    return f"-csearch_path={schema}"
