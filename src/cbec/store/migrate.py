"""`cbec db upgrade`: create or migrate the database with Alembic, whatever the URL points at."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

if TYPE_CHECKING:
    from cbec.store.db import Store

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        # ConfigParser interpolation treats % specially: URL-encoded passwords and options carry it.
        url = engine.url.render_as_string(hide_password=False).replace("%", "%%")
        config.set_main_option("sqlalchemy.url", url)
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (default: the newest)."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def open_store(url: str | None = None) -> Store:
    """The configured store, migrated to the newest revision first: commands work on a fresh data directory
    without a separate `cbec db upgrade` (which remains the explicit way to migrate)."""
    from cbec.store.db import Store

    store = Store(url)
    upgrade(store.engine)
    return store
