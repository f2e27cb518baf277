"""A batch `cbec ingest` killed with SIGKILL halfway, then run again, processes every message exactly once.

About 150 messages (order, payment, waybill and list of 38 distinct trades, in a mixed order) go into a
folder; `cbec ingest DIR --outbox OUT` runs as a real process on an SQLite file or a fresh PostgreSQL
schema, is killed with SIGKILL once receipts appear in OUT, and is run again to completion. Afterwards each
file is one stored message and one document, every list is released, each message has exactly its receipts,
and the outbox holds exactly one file per receipt row (byte-identical), with no temporary leftovers.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, func, select, text
from typer.testing import CliRunner

from cbec.ceb.examples import ceb311, ceb411, ceb511, ceb621, ceb623, ceb625
from cbec.ceb.model import Message
from cbec.clearance import documents, queries
from cbec.clearance.service import Engine, IngestResult
from cbec.cli import app
from cbec.store.db import Store, make_engine
from cbec.store.migrate import upgrade
from cbec.store.models import DocumentRow, MessageRow, QuotaEntryRow, ReceiptRow, TaxBillRow
from clearance_helpers import buyer, four, load_positive_list, trade, wire
from store_fixtures import PG_URL

TRADES = 38  # 152 messages
#: receipts each message gets: one acknowledgement; a list also its release (800) and tax bill (CEB816)
EXPECTED = {
    "CEB311": ["CEB312 120"],
    "CEB411": ["CEB412 120"],
    "CEB511": ["CEB512 120"],
    "CEB621": ["CEB622 120", "CEB622 800", "CEB816 1"],
}
KILL_AFTER = 25  # receipts in the outbox
CBEC = Path(sys.executable).with_name("cbec")
#: a row of the summary table `cbec ingest` prints: "│ CEB311 accepted │ 12 │"
SUMMARY_ROW = re.compile(r"(CEB\d{3}) (accepted|duplicate|rejected)\s*│\s*(\d+)")


def _write_batch(folder: Path) -> list[Path]:
    """The messages of TRADES trades; the list comes first, in the middle or last, depending on the trade."""
    folder.mkdir()
    paths = []
    for n in range(TRADES):
        messages = four(trade(3000 + n, who=buyer(300 + n)))
        shift = n % 4  # rotate: list last, list third, …
        messages = messages[shift:] + messages[:shift]
        for position, message in enumerate(messages):
            # names sort trade by trade, and inside a trade in the rotated order
            path = folder / f"{n:03d}-{position}-{message.code}.xml"
            path.write_bytes(wire(message))
            paths.append(path)
    return paths


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL `cbec` can use from another process: an SQLite file, or PostgreSQL with a fresh schema."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'crash.db'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
        return
    if os.environ.get("CBEC_SKIP_PG") == "1":
        pytest.skip("CBEC_SKIP_PG=1: PostgreSQL tests skipped on request")
    schema = f"crash_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    upgrade(engine)
    engine.dispose()
    url = _with_search_path(PG_URL, schema)
    check = create_engine(url)
    with check.connect() as conn:
        assert conn.execute(text("SELECT current_schema()")).scalar_one() == schema
    check.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _with_search_path(url: str, schema: str) -> str:
    """`url` with libpq's ``options=-csearch_path=<schema>`` (percent-encoded), as psycopg reads it."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-csearch_path={schema}', safe='')}"


def _start(url: str, inbox: Path, outbox: Path, home: Path, batch: int = 1) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CBEC_DATABASE_URL": url,
        "CBEC_DATA_DIR": str(home),
        "CBEC_SECRET_KEY": "crash-test-key",
        "COLUMNS": "200",
    }
    return subprocess.Popen(
        [str(CBEC), "ingest", str(inbox), "--outbox", str(outbox), "--batch", str(batch)],
        cwd=home,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _receipt_files(outbox: Path) -> list[Path]:
    return list(outbox.glob("*.xml")) if outbox.is_dir() else []


@pytest.mark.parametrize("chunk", [1, 10], ids=["one-by-one", "batch-10"])
def test_a_killed_batch_run_again_processes_every_message_once(
    database: str, tmp_path: Path, chunk: int
) -> None:
    assert CBEC.is_file(), f"the cbec script is not next to {sys.executable}"
    store = Store(url=database)
    load_positive_list(store, tmp_path)
    inbox, outbox, home = tmp_path / "in", tmp_path / "out", tmp_path / "home"
    home.mkdir()
    files = _write_batch(inbox)

    first = _start(database, inbox, outbox, home, chunk)
    deadline = time.monotonic() + 60
    while len(_receipt_files(outbox)) < KILL_AFTER and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    assert first.returncode == -signal.SIGKILL, "the batch finished before it could be killed"
    with store.transaction() as session:
        halfway = session.scalar(select(func.count()).select_from(MessageRow))
    assert halfway is not None and 0 < halfway < len(files), halfway

    second = _start(database, inbox, outbox, home, chunk)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err.decode(errors="replace")
    summary = out.decode()
    assert f"{len(files)} file(s) ingested" in " ".join(summary.split())
    rows = {(code, outcome): int(n) for code, outcome, n in SUMMARY_ROW.findall(summary)}
    # what the killed run committed comes back as duplicates, the rest is accepted now
    assert sum(n for (_code, outcome), n in rows.items() if outcome == "duplicate") == halfway, summary
    assert sum(rows.values()) == len(files), summary

    with store.transaction() as session:
        messages = session.scalars(select(MessageRow)).all()
        # every file is exactly one stored message, accepted once
        assert sorted(m.source or "" for m in messages) == sorted(str(p) for p in files)
        assert Counter((m.msg_type, m.guid) for m in messages).most_common(1)[0][1] == 1
        assert {m.outcome for m in messages} == {"accepted"}
        docs = session.scalars(select(DocumentRow)).all()
        assert len(docs) == len(files)
        assert Counter((d.kind, d.doc_key) for d in docs).most_common(1)[0][1] == 1
        lists = [d for d in docs if d.kind == "list"]
        assert len(lists) == TRADES and {d.status for d in lists} == {"released"}
        assert session.scalar(select(func.count()).select_from(TaxBillRow)) == TRADES
        assert session.scalar(select(func.count()).select_from(QuotaEntryRow)) == TRADES
        receipts = session.scalars(select(ReceiptRow)).all()
        by_message: dict[int | None, list[str]] = {}
        for r in receipts:
            by_message.setdefault(r.message_id, []).append(f"{r.receipt_type} {r.return_status}")
        for m in messages:
            assert sorted(by_message.pop(m.id, [])) == EXPECTED[m.msg_type], m.source
        assert by_message == {}, "receipts that belong to no message"
        expected_files = {f"{r.receipt_type}_{r.guid}.xml": r.xml for r in receipts}

    written = {p.name: p.read_bytes() for p in _receipt_files(outbox)}
    assert sorted(written) == sorted(expected_files)
    assert written == expected_files
    leftovers = sorted(p.name for p in outbox.iterdir() if p.suffix != ".xml")
    assert leftovers == [], leftovers
    store.dispose()


def test_migrations_run_on_a_url_that_carries_the_search_path() -> None:
    if os.environ.get("CBEC_SKIP_PG") == "1":
        pytest.skip("CBEC_SKIP_PG=1: PostgreSQL tests skipped on request")
    schema = f"crash_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(_with_search_path(PG_URL, schema))
    try:
        upgrade(engine)
        with engine.connect() as conn:
            tables = conn.execute(
                text("SELECT count(*) FROM information_schema.tables WHERE table_schema = :s"), {"s": schema}
            ).scalar_one()
        assert tables > 0
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_python_dash_m_runs_the_clearance_commands(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cbec.cli", "ingest", "--help"],
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")


# ---- a crash between the commit and the outbox, made deterministic -----------------------------------


class Died(Exception):
    """Stands for the process dying right after a message's transaction committed."""


@pytest.mark.parametrize(
    "last",
    [
        "list",
        pytest.param("waybill"),
        pytest.param("cancel"),
        pytest.param("return"),
    ],
)
def test_a_crash_after_the_commit_loses_no_receipt(
    last: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(documents, "_SECRET", b"crash-test-key")
    url = f"sqlite:///{tmp_path / 'died.db'}"
    env = {"CBEC_DATABASE_URL": url, "CBEC_DATA_DIR": str(tmp_path / "home")}
    runner = CliRunner()
    outbox = tmp_path / "out"

    def batch(name: str, messages: list[Message]) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        for n, message in enumerate(messages):
            (folder / f"{n}.xml").write_bytes(wire(message))
        return folder

    def cbec(*args: str) -> None:
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == 0, (result.output, result.exception)

    cbec("db", "upgrade")
    store = Store(url=url)
    load_positive_list(store, tmp_path)
    t = trade(4000, who=buyer(400))
    if last == "list":
        first, then = [ceb311(t), ceb411(t), ceb511(t)], [ceb621(t)]
    elif last == "waybill":
        first, then = [ceb621(t), ceb311(t), ceb411(t)], [ceb511(t)]
    else:
        first, then = four(t), []
    cbec("ingest", str(batch("first", first)), "--outbox", str(outbox))
    if last in ("cancel", "return"):
        with store.transaction() as session:
            view = queries.find(session, "list", t.order_no)
            assert view is not None and view.document.status == "released"
            released = replace(t, invt_no=view.document.invt_no or "")
        then = [ceb623(released)] if last == "cancel" else [ceb625(released, returned={1: Decimal("1")})]
    inbox = batch("then", then)

    original = Engine.ingest

    def dying(self: Engine, data: bytes, **kwargs: Any) -> IngestResult:
        original(self, data, **kwargs)  # committed: the process dies before it writes the outbox
        raise Died

    monkeypatch.setattr(Engine, "ingest", dying)
    died = runner.invoke(app, ["ingest", str(inbox), "--outbox", str(outbox)], env=env)
    assert isinstance(died.exception, Died)
    monkeypatch.setattr(Engine, "ingest", original)
    cbec("ingest", str(inbox), "--outbox", str(outbox))

    with store.transaction() as session:
        rows = session.scalars(select(ReceiptRow)).all()
        expected = {f"{r.receipt_type}_{r.guid}.xml" for r in rows}
    store.dispose()
    assert sorted(p.name for p in outbox.iterdir()) == sorted(expected)
