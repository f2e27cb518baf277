"""`cbec user …` and `cbec start` (what `make run` ends with): passwords shown once, demo data once."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from cbec.cli import app
from cbec.store.db import Store
from cbec.store.models import AssessmentRunRow, AuditRow, DocumentRow, EnterpriseRow, UserRow, ZoneRow
from cbec.users import authenticate

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "var"
    monkeypatch.setenv("CBEC_DATA_DIR", str(folder))
    monkeypatch.delenv("CBEC_DATABASE_URL", raising=False)
    return folder


def _store(folder: Path) -> Store:
    return Store(f"sqlite:///{folder / 'cbec.db'}")


def _secret(output: str, label: str = "密码 / password: ") -> str:
    found = re.search(re.escape(label) + r"(\S+)", output)
    assert found, output
    return found.group(1)


def test_user_add_passwd_disable_list(data_dir: Path) -> None:
    added = runner.invoke(app, ["user", "add", "clerk", "--role", "regulator", "--name", "办事员"])
    assert added.exit_code == 0, added.output
    first = _secret(added.output)
    bad = runner.invoke(app, ["user", "add", "x", "--role", "king"])
    assert bad.exit_code == 2 and "CBEC-0602" in bad.output and "the role must be one of" in bad.output
    changed = runner.invoke(app, ["user", "passwd", "clerk"])
    assert changed.exit_code == 0, changed.output
    second = _secret(changed.output, "new password for clerk: ")
    store = _store(data_dir)
    with store.transaction() as session:
        assert authenticate(session, "clerk", first) is None
        assert authenticate(session, "clerk", second) is not None
    assert runner.invoke(app, ["user", "passwd", "nobody"]).exit_code == 2
    assert runner.invoke(app, ["user", "disable", "clerk"]).exit_code == 0
    assert runner.invoke(app, ["user", "disable", "nobody"]).exit_code == 2
    listed = runner.invoke(app, ["user", "list"])
    assert listed.exit_code == 0 and "clerk" in listed.output and "disabled" in listed.output
    with store.transaction() as session:
        row = session.get(UserRow, "clerk")
        assert row is not None and row.status == "disabled"
        assert session.scalar(select(func.count()).select_from(AuditRow).where(AuditRow.via == "cli")) == 3
    store.dispose()


def test_start_creates_admin_once_and_serves(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    served: list[dict[str, Any]] = []
    monkeypatch.setattr("uvicorn.run", lambda _app, **kw: served.append(kw))
    first = runner.invoke(app, ["start", "--no-demo", "--port", "8123"])
    assert first.exit_code == 0, first.output
    assert served == [{"host": "127.0.0.1", "port": 8123, "log_level": "info"}]
    assert re.search(r"admin\s+admin\s+\S{20}", first.output)
    again = runner.invoke(app, ["start", "--no-demo"])
    assert again.exit_code == 0 and "cbec user passwd admin" in again.output
    assert not re.search(r"admin\s+admin\s+\S{20}\n", again.output)
    assert runner.invoke(app, ["start", "--demo-lists", "0"]).exit_code == 2


def test_start_loads_the_demo_dataset_once(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("uvicorn.run", lambda _app, **kw: None)
    first = runner.invoke(app, ["start", "--demo-lists", "30"])
    assert first.exit_code == 0, first.output
    for login in ("admin", "regulator", "operator", "enterprise", "ebc-demo"):
        assert re.search(rf"{login}\s+\w+\s+\S{{20}}", first.output), login
    store = _store(data_dir)
    with store.transaction() as session:
        lists = session.scalar(
            select(func.count()).select_from(DocumentRow).where(DocumentRow.kind == "list")
        )
        assert lists is not None and lists >= 30
        assert (session.scalar(select(func.count()).select_from(EnterpriseRow)) or 0) > 5
        user = session.get(UserRow, "enterprise")
        assert user is not None and user.enterprise_code
        # the simulated enterprises sit in registered zones (codes, not city names), and the year is assessed
        zone_codes = set(session.scalars(select(ZoneRow.code)))
        linked = [e.zone for e in session.scalars(select(EnterpriseRow)) if e.zone is not None]
        assert len(zone_codes) > 90 and linked and set(linked) <= zone_codes
        assert session.scalars(select(AssessmentRunRow)).first() is not None
    assert "考核年度 / assessed" in first.output
    again = runner.invoke(app, ["start", "--demo-lists", "30"])
    assert again.exit_code == 0 and "已存在" in again.output and "已经" not in again.output
    with store.transaction() as session:
        assert (
            session.scalar(select(func.count()).select_from(DocumentRow).where(DocumentRow.kind == "list"))
            == lists
        )
    store.dispose()
