"""Reference data the engine decides with: the positive list and the tax-rate table, as the operator
loaded them (stored in the database, so every worker of a zone decides with the same versions)."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from cbec.ceb.dxp import CST
from cbec.ceb.model import Node
from cbec.clearance import positive_list as plist
from cbec.clearance import unit
from cbec.clearance.rates import RateTable, default_rate_table, load_rate_table
from cbec.clearance.reasons import Reason
from cbec.store.models import DocumentRow, ReferenceRow

T = TypeVar("T")

POSITIVE_LIST = "positive-list"
RATES = "rates"

NO_LIST = Reason(
    "9300",
    "positive_list.none_loaded",
    "未加载跨境电商零售进口商品清单（正面清单），无法判定商品",
    "no positive list is loaded, so the goods cannot be judged",
    "cbec",
)


def _materialize(content: bytes, suffix: str) -> Path:
    folder = Path(tempfile.gettempdir()) / "cbec-reference"
    folder.mkdir(exist_ok=True)
    path = folder / (hashlib.sha256(content).hexdigest() + suffix)
    if not path.exists():
        path.write_bytes(content)
    return path


def _parse_list(content: bytes, suffix: str) -> plist.PositiveList:
    return plist.load_positive_list(_materialize(content, suffix))


def _parse_rates(content: bytes, suffix: str) -> RateTable:
    return load_rate_table(_materialize(content, suffix))


def load(session: Session, kind: str, path: Path, now: datetime | None = None) -> ReferenceRow:
    """Validate and store an operator file; a rate table replaces the previous one, list versions add up."""
    content = path.read_bytes()
    suffix = path.suffix.lower() or ".csv"
    if kind == POSITIVE_LIST:
        _parse_list(content, suffix)  # raises with every bad row before anything is stored
    elif kind == RATES:
        _parse_rates(content, suffix)
        for old in session.scalars(select(ReferenceRow).where(ReferenceRow.kind == RATES)):
            old.active = False
    else:
        raise ValueError(f"unknown reference kind {kind!r}")
    row = ReferenceRow(
        kind=kind,
        name=path.name,
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        loaded_at=now or datetime.now(UTC),
        active=True,
    )
    session.add(row)
    session.flush()
    cache = unit.reference_cache(session)
    if cache is not None:
        cache.clear()
    return row


def _active(session: Session, kind: str) -> list[tuple[int, str, str]]:
    """(id, sha256, name) of the active rows of a kind, oldest first — without fetching the contents.

    Asked once per intake transaction (`unit.reference_cache`), for every kind at once (a decision asks for
    both): a chunk of messages decides with the versions active when it began, as a single message always
    did."""
    cache = unit.reference_cache(session)
    if cache is not None and kind in cache:
        found: list[tuple[int, str, str]] = cache[kind]
        return found
    with session.no_autoflush:  # nothing pending in an intake changes reference rows (`load` flushes its own)
        rows = session.execute(_ACTIVE).all()
    active: dict[str, list[tuple[int, str, str]]] = {POSITIVE_LIST: [], RATES: []}
    for row in rows:
        active.setdefault(row.kind, []).append((row.id, row.sha256, row.name))
    if cache is not None:
        cache.update(active)
    return active.get(kind, [])


_ACTIVE = (
    select(ReferenceRow.kind, ReferenceRow.id, ReferenceRow.sha256, ReferenceRow.name)
    .where(ReferenceRow.active.is_(True))
    .order_by(ReferenceRow.id)
)


#: parsed reference files by content hash: every decision consults them, so they are parsed once
_PARSED: dict[str, object] = {}


def _parsed(session: Session, row_id: int, sha256: str, name: str, parse: Callable[[bytes, str], T]) -> T:
    cached = _PARSED.get(sha256)
    if cached is None:
        with session.no_autoflush:
            content = session.scalars(select(ReferenceRow.content).where(ReferenceRow.id == row_id)).one()
        cached = parse(content, Path(name).suffix.lower() or ".csv")
        if len(_PARSED) > 64:
            _PARSED.clear()
        _PARSED[sha256] = cached
    return cached  # type: ignore[return-value]


def rate_table(session: Session) -> RateTable:
    """The operator's newest rate table, else the shipped sample."""
    rows = _active(session, RATES)
    if not rows:
        return _default_rates()
    return _parsed(session, *rows[-1], _parse_rates)


def positive_list(session: Session) -> plist.PositiveList | None:
    """Every loaded version together, or None when the operator has loaded none."""
    rows = _active(session, POSITIVE_LIST)
    if not rows:
        return None
    key = "|".join(sha for _id, sha, _name in rows)
    merged = _MERGED.get(key)
    if merged is None:
        versions: dict[str, plist.PositiveListVersion] = {}
        for row in rows:  # a later load of a version replaces the earlier one
            for version in _parsed(session, *row, _parse_list).versions:
                versions[version.version] = version
        merged = plist.PositiveList(tuple(versions.values()))
        if len(_MERGED) > 16:
            _MERGED.clear()
        _MERGED[key] = merged
    return merged


_MERGED: dict[str, plist.PositiveList] = {}


@lru_cache(maxsize=1)
def _default_rates() -> RateTable:
    return default_rate_table()


def positive_list_reasons(
    session: Session, inventory: Node, moment: datetime, buyer: str | None = None
) -> list[Reason]:
    """The positive-list findings for one list (judged on the version in force on its declaration date);
    quantity limits count what `buyer` (the buyer key) already had released this calendar year."""
    current = positive_list(session)
    if current is None:
        return [NO_LIST]
    head = inventory.child("InventoryHead")
    decl = str(head.values.get("declTime") or "") if head is not None else ""
    try:
        decl_date = datetime.strptime(decl, "%Y%m%d").date()
    except ValueError:
        decl_date = moment.astimezone(CST).date()
    annual = _annual_quantities(session, current, inventory, decl_date, buyer, moment)
    return list(plist.judge(inventory, current, decl_date=decl_date, annual_quantities=annual))


def _annual_quantities(
    session: Session,
    current: plist.PositiveList,
    inventory: Node,
    decl_date: date,
    buyer: str | None,
    moment: datetime,
) -> dict[str, Decimal]:
    """What the buyer bought this year of every tariff line a quantity limit of this list counts, in the
    limit's unit (from lists released this year; returned quantities are not subtracted)."""
    version = current.version_on(decl_date)
    if version is None or not buyer:
        return {}
    limits: dict[str, plist.QuantityLimit] = {}
    for line in inventory.children.get("InventoryList", []):
        entry = version.entry_for(str(line.values.get("gcode") or ""))
        for restriction in entry.restrictions if entry is not None else ():
            if isinstance(restriction, plist.QuantityLimit):
                for tariff_line in {entry.tariff_line, *restriction.combined_with}:  # type: ignore[union-attr]
                    limits[tariff_line] = restriction
    if not limits:
        return {}
    from cbec.clearance.decide import node_of

    year = moment.astimezone(CST).year
    start = datetime(year, 1, 1, tzinfo=CST)
    released = session.scalars(
        select(DocumentRow).where(
            DocumentRow.kind == "list",
            DocumentRow.buyer_key == buyer,
            DocumentRow.status == "released",
            DocumentRow.released_at >= start,
        )
    )
    totals: dict[str, Decimal] = {}
    for row in released:
        for line in node_of(session, row).children.get("InventoryList", []):
            tariff_line = str(line.values.get("gcode") or "")[:8]
            limit = limits.get(tariff_line)
            if limit is None:
                continue
            found = plist.quantity_in(line, limit.unit)
            if found is not None:
                totals[tariff_line] = totals.get(tariff_line, Decimal("0")) + found[0]
    return totals
