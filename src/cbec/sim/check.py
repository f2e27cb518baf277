"""Run the clearance engine over a generated set and compare every list's outcome with the ground truth.

The run is what an operator would do with the set (`README.txt`): load the positive list and the rate table,
book the bonded stock, ingest every file in name order — here with each file's arrival time as the engine's
clock, so the decision year and the declaration dates are the simulated ones. Then, for every list of
``expected.jsonl``: the final returnStatus (the list's last CEB622), the reason codes of a rejection (as a
set), the tax path of a release, and the fate of its broken (CEB900 -1) and duplicate ('duplicate') files.

The report gives the agreement in per cent of lists and every disagreement with the list key, expected and
actual status and codes. A disagreement is reported, never hidden: it is either a simulator bug or an
engine bug, and the report is how either is found.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from cbec.ceb.dxp import CST
from cbec.ceb.receipts import parse_return_info
from cbec.clearance import reference, stock
from cbec.clearance.service import Engine, Intake, Settings
from cbec.sim.output import EXPECTED, POSITIVE_LIST, RATES, REFERENCE, STOCK, read_expected
from cbec.store.db import Store
from cbec.store.models import DocumentRow, ReceiptRow, TaxBillRow

#: what `cbec ingest` reads
SUFFIXES = (".xml", ".json")
_STEM = re.compile(r"^(\d{17})-(\d{8})-\d+-")


@dataclass(frozen=True, slots=True)
class Actual:
    """What the engine made of one list."""

    status: str  # returnStatus of its last CEB622
    state: str  # the document's status in the store
    codes: frozenset[str]
    path: str | None


@dataclass(frozen=True, slots=True)
class FileOutcome:
    """What the engine answered to one file."""

    outcome: str  # accepted | rejected | duplicate
    message_type: str | None
    statuses: tuple[tuple[str, str], ...]  # (receipt type, status)


@dataclass(frozen=True, slots=True)
class Disagreement:
    """One list whose outcome differs from the ground truth (or whose files were answered unexpectedly)."""

    key: str
    seq: int
    faults: tuple[str, ...]
    expected_status: str
    actual_status: str | None
    expected_codes: tuple[str, ...]
    actual_codes: tuple[str, ...]
    expected_path: str | None
    actual_path: str | None
    notes: tuple[str, ...] = ()

    def text(self) -> str:
        """One line for people: key, faults, expected and actual (中文 labels first)."""
        faults = ",".join(self.faults) or "-"
        expected = " ".join(
            x for x in (self.expected_status, ",".join(self.expected_codes), self.expected_path or "") if x
        )
        actual = " ".join(
            x
            for x in (self.actual_status or "无/none", ",".join(self.actual_codes), self.actual_path or "")
            if x
        )
        notes = f"; {'; '.join(self.notes)}" if self.notes else ""
        return f"{self.key} (#{self.seq}, {faults}): 预期/expected {expected} — 实际/actual {actual}{notes}"


@dataclass
class CheckReport:
    """Agreement of the engine with the ground truth over one generated set."""

    lists: int
    agreed: int
    files: int
    seconds: float
    disagreements: list[Disagreement] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    #: problems not tied to one list (files the ground truth does not know)
    general: list[str] = field(default_factory=list)

    @property
    def agreement(self) -> float:
        """Per cent of lists whose outcome matches the ground truth."""
        return 100.0 * self.agreed / self.lists if self.lists else 100.0

    @property
    def ok(self) -> bool:
        return self.agreed == self.lists and not self.general

    def summary(self) -> str:
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items()))
        return (
            f"一致率 {self.agreement:.2f}%（{self.agreed}/{self.lists} 份清单，{self.files} 个文件，"
            f"{self.seconds:.1f} 秒）/ agreement {self.agreement:.2f}% ({self.agreed}/{self.lists} lists, "
            f"{self.files} files, {self.seconds:.1f} s); 预期状态 / expected: {statuses}"
        )

    def lines(self, limit: int | None = None) -> list[str]:
        """The summary, then each disagreement (at most `limit`)."""
        out = [self.summary()]
        out.extend(self.general)
        shown = self.disagreements if limit is None else self.disagreements[:limit]
        out.extend(d.text() for d in shown)
        if len(shown) < len(self.disagreements):
            more = len(self.disagreements) - len(shown)
            out.append(f"……另有 {more} 处不一致 / … {more} more disagreement(s)")
        return out


# ---- running the engine -----------------------------------------------------------------------------------


def message_files(folder: Path) -> list[Path]:
    """The files `cbec ingest DIR` would take, in its order (sorted paths)."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)


def arrival_time(path: Path) -> datetime | None:
    """The simulated arrival time in a generated file's name (China time, to the millisecond)."""
    match = _STEM.match(path.name)
    if match is None:
        return None
    stamp = match.group(1)
    moment = datetime.strptime(stamp[:14], "%Y%m%d%H%M%S").replace(tzinfo=CST)
    return moment.replace(microsecond=int(stamp[14:]) * 1000)


def load_reference(store: Store, folder: Path, now: datetime | None = None) -> None:
    """Load the set's positive list and rate table and book its stock, as the README tells an operator."""
    where = folder / REFERENCE
    with store.transaction() as session:
        reference.load(session, reference.POSITIVE_LIST, where / POSITIVE_LIST, now=now)
        reference.load(session, reference.RATES, where / RATES, now=now)
        rows = stock.read_stock_csv(where / STOCK)
        if rows:
            stock.stock_in(session, rows, now or datetime.now(CST), reference="cbec simulate")


def ingest_folder(
    engine: Engine,
    folder: Path,
    progress: Callable[[int], None] | None = None,
    *,
    files: list[Path] | None = None,
    batch: int = 1,
) -> dict[str, FileOutcome]:
    """Ingest every file in name order with its arrival time as the clock; outcomes by relative name.
    With `batch` > 1, `batch` files a transaction (`Engine.ingest_many`)."""
    outcomes: dict[str, FileOutcome] = {}
    chunk: list[Path] = []

    def run() -> None:
        if batch > 1:
            results = engine.ingest_many(
                [Intake(p.read_bytes(), source=p.name, now=arrival_time(p)) for p in chunk]
            )
        else:
            results = [engine.ingest(p.read_bytes(), source=p.name, now=arrival_time(p)) for p in chunk]
        for path, result in zip(chunk, results, strict=True):
            statuses = tuple((a.receipt_type, a.status) for a in result.answers)
            outcomes[path.relative_to(folder).as_posix()] = FileOutcome(
                result.outcome, result.message_type, statuses
            )
        if progress is not None:
            progress(len(chunk))
        chunk.clear()

    for path in files if files is not None else message_files(folder):
        chunk.append(path)
        if len(chunk) >= batch:
            run()
    if chunk:
        run()
    return outcomes


def actual_lists(store: Store) -> dict[str, Actual]:
    """Every current list in the store by key (ebcCode|orderNo): last CEB622 status and codes, tax path."""
    with store.transaction() as session:
        lists = session.execute(
            select(DocumentRow.id, DocumentRow.doc_key, DocumentRow.status).where(
                DocumentRow.kind == "list", DocumentRow.current.is_(True)
            )
        ).all()
        last: dict[int, tuple[str, str]] = {}
        for document_id, status, info in session.execute(
            select(ReceiptRow.document_id, ReceiptRow.return_status, ReceiptRow.return_info)
            .where(ReceiptRow.receipt_type == "CEB622", ReceiptRow.document_id.is_not(None))
            .order_by(ReceiptRow.id)
        ):
            if document_id is not None:
                last[document_id] = (status, info)
        paths = {doc: path for doc, path in session.execute(select(TaxBillRow.document_id, TaxBillRow.path))}
    out: dict[str, Actual] = {}
    for document_id, key, state in lists:
        status, info = last.get(document_id, ("", ""))
        codes = frozenset(p.code for p in parse_return_info(info).parts) if status == "100" else frozenset()
        out[key] = Actual(status, state, codes, paths.get(document_id))
    return out


# ---- comparing -------------------------------------------------------------------------------------------


def compare(
    expected: Iterable[Mapping[str, Any]],
    actual: Mapping[str, Actual],
    outcomes: Mapping[str, FileOutcome],
) -> CheckReport:
    """Every list of the ground truth against what the engine did (see the module docstring)."""
    report = CheckReport(lists=0, agreed=0, files=len(outcomes), seconds=0.0)
    special: dict[str, tuple[str, str]] = {}  # file → (key, "broken" | "duplicate")
    rows = list(expected)
    for row in rows:
        for name in row.get("broken_files", []):
            special[name] = (row["key"], "broken")
        for name in row.get("duplicate_files", []):
            special[name] = (row["key"], "duplicate")
    file_notes: dict[str, list[str]] = {}
    seq_keys = {int(row["seq"]): str(row["key"]) for row in rows}
    for name, outcome in outcomes.items():
        kind = special.get(name, (None, "plain"))[1]
        note = _file_note(name, kind, outcome)
        if note is None:
            continue
        key = special[name][0] if name in special else _key_of(name, seq_keys)
        if key is None:
            report.general.append(note)
        else:
            file_notes.setdefault(key, []).append(note)
    for row in rows:
        report.lists += 1
        report.statuses[str(row["status"])] += 1
        key = str(row["key"])
        found = actual.get(key)
        want_codes = frozenset(str(c) for c in row.get("codes", []))
        notes = tuple(file_notes.get(key, []))
        matches = (
            found is not None
            and found.status == row["status"]
            and (row["status"] != "100" or found.codes == want_codes)
            and (row["status"] != "800" or found.path == row.get("path"))
        )
        if matches and not notes:
            report.agreed += 1
            continue
        report.disagreements.append(
            Disagreement(
                key=key,
                seq=int(row["seq"]),
                faults=tuple(row.get("faults", [])),
                expected_status=str(row["status"]),
                actual_status=found.status if found is not None else None,
                expected_codes=tuple(sorted(want_codes)),
                actual_codes=tuple(sorted(found.codes)) if found is not None else (),
                expected_path=row.get("path"),
                actual_path=found.path if found is not None else None,
                notes=notes,
            )
        )
    return report


def _file_note(name: str, kind: str, outcome: FileOutcome) -> str | None:
    """Why a file's answer is not what its kind expects (None when it is)."""
    if kind == "broken":
        if outcome.outcome == "rejected" and ("CEB900", "-1") in outcome.statuses:
            return None
        return f"{name}: 预期/expected CEB900 -1, 实际/actual {outcome.outcome} {list(outcome.statuses)}"
    if kind == "duplicate":
        if outcome.outcome == "duplicate":
            return None
        return f"{name}: 预期/expected duplicate, 实际/actual {outcome.outcome} {list(outcome.statuses)}"
    if outcome.outcome == "accepted":
        return None
    return f"{name}: 预期/expected accepted, 实际/actual {outcome.outcome} {list(outcome.statuses)}"


def _key_of(name: str, seq_keys: Mapping[int, str]) -> str | None:
    match = _STEM.match(Path(name).name)
    return seq_keys.get(int(match.group(2))) if match else None


def run_check(
    folder: Path,
    store: Store,
    *,
    settings: Settings | None = None,
    progress: Callable[[int], None] | None = None,
    batch: int = 1,
) -> CheckReport:
    """Load the set's reference data into `store` (which must be empty), ingest every file, compare.

    The engine runs with `settings` or the defaults the ground truth assumes (no certified platforms, no
    random inspection, signatures recorded but not enforced)."""
    started = time.perf_counter()
    expected = read_expected(folder)
    if not expected:
        raise ValueError(f"{folder / EXPECTED} 为空 / is empty")
    files = message_files(folder)
    first = arrival_time(files[0]) if files else None
    load_reference(store, folder, first)
    engine = Engine(store, settings or Settings())
    outcomes = ingest_folder(engine, folder, progress, files=files, batch=batch)
    report = compare(expected, actual_lists(store), outcomes)
    report.seconds = time.perf_counter() - started
    return report
