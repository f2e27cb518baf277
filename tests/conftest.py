"""Shared test helpers. Reference material (official XSDs, samples) lives outside the repository."""

from __future__ import annotations

from pathlib import Path

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
