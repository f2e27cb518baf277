"""Shared test helpers. Reference material (official XSDs, samples) lives outside the repository."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

#: ../shared/reference next to the checkout; absent on machines that only have the repository.
REFERENCE_DIR = Path(__file__).resolve().parents[2] / "shared" / "reference"
REFERENCE_SKIP = "needs ../shared/reference (official XSDs); absent on this machine"


def reference_path() -> Path:
    """The reference folder, or skip the calling test when this machine does not have it."""
    if not REFERENCE_DIR.is_dir():
        pytest.skip(REFERENCE_SKIP)
    return REFERENCE_DIR


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """Fixture form of `reference_path`: tests that need the official XSDs or samples take this argument."""
    return reference_path()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A migrated, empty store on SQLite and on PostgreSQL: every store test runs on both."""
    from store_fixtures import pg_store, sqlite_store

    if request.param == "sqlite":
        s = sqlite_store(tmp_path)
        yield s
        s.dispose()
    else:
        yield from pg_store()


@pytest.fixture(autouse=True, scope="session")
def _isolated_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests never write into the checkout's var/: the data directory and secret key live in a temp dir."""
    import os

    saved = {k: os.environ.get(k) for k in ("CBEC_DATA_DIR", "CBEC_SECRET_KEY")}
    os.environ["CBEC_DATA_DIR"] = str(tmp_path_factory.mktemp("cbec-data"))
    os.environ.setdefault("CBEC_SECRET_KEY", "cbec-test-secret")
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
