"""The bonded stock ledger (网购保税 1210): goods in the zone by account book (emsNo) and book item
(itemRecordNo). The operator books stock in; a released list takes it out; a cancellation or return puts
it back. Two lists can never sell the same last unit:

* one list at a time (`Engine.ingest`) locks the rows it reads until it commits;
* a chunk of messages on PostgreSQL reads its rows without locking them, remembers what each decision
  relied on (`_margins`), and locks them only just before it commits (`settle`): if another transaction
  changed a row meanwhile so that a decision would now go the other way, the chunk is rolled back and run
  again with its rows locked as it reads them (`StockConflict`). Popular book items are shared by every
  buyer, so locking them for a whole chunk made parallel intake processes queue behind each other.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from cbec.ceb.model import Node
from cbec.clearance import unit
from cbec.clearance.documents import decimal, text
from cbec.clearance.reasons import Reason
from cbec.store import bulk
from cbec.store.models import StockMovementRow, StockRow

STOCK_SHORT = "9501"


@dataclass(frozen=True)
class StockIn:
    ems_no: str
    item_record_no: str
    qty: Decimal


class StockFileError(ValueError):
    """A stock-in file with bad rows; `problems` lists each as (line, 中文, English)."""

    def __init__(self, problems: list[tuple[int, str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"line {n}: {en}" for n, _zh, en in problems))


def read_stock_csv(path: Path) -> list[StockIn]:
    """Rows `ems_no,item_record_no,qty` (headers 账册编号,账册备案料号,数量 accepted); all or nothing."""
    text_ = path.read_text(encoding="utf-8-sig")
    reader = csv.reader(io.StringIO(text_))
    header = [h.strip() for h in next(reader, [])]
    aliases = {"账册编号": "ems_no", "账册备案料号": "item_record_no", "数量": "qty"}
    names = [aliases.get(h, h) for h in header]
    if names[:3] != ["ems_no", "item_record_no", "qty"]:
        raise StockFileError(
            [(1, "表头应为 ems_no,item_record_no,qty", "the header must be ems_no,item_record_no,qty")]
        )
    rows: list[StockIn] = []
    problems: list[tuple[int, str, str]] = []
    for number, cells in enumerate(reader, 2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) < 3 or not cells[0].strip() or not cells[1].strip():
            problems.append((number, "缺少账册编号或料号", "ems_no or item_record_no is missing"))
            continue
        try:
            qty = Decimal(cells[2].strip())
        except InvalidOperation:
            problems.append((number, "数量不是数字", "qty is not a number"))
            continue
        if not qty.is_finite() or qty <= 0:
            problems.append((number, "数量应为正数", "qty must be positive"))
            continue
        rows.append(StockIn(cells[0].strip(), cells[1].strip(), qty))
    if problems:
        raise StockFileError(problems)
    return rows


def _row(session: Session, ems_no: str, item: str, moment: datetime, *, create: bool) -> StockRow | None:
    index = unit.index(session)
    if index is not None:  # a chunk locked the rows of its bonded lists when it began
        locked: StockRow | None = index.stock.get((ems_no, item))
        if locked is not None:
            return locked
        if (ems_no, item) in index.stock_missing:
            if not create:
                return None
            index.stock_missing.discard((ems_no, item))
            locked = StockRow(ems_no=ems_no, item_record_no=item, qty=Decimal("0"), updated_at=moment)
            session.add(locked)
            index.stock[(ems_no, item)] = locked
            return locked
    row = session.get(StockRow, (ems_no, item), with_for_update=True)
    if row is None and create:
        row = StockRow(ems_no=ems_no, item_record_no=item, qty=Decimal("0"), updated_at=moment)
        session.add(row)
        session.flush()
    return row


def stock_in(
    session: Session, rows: Iterable[StockIn], moment: datetime, reference: str | None = None
) -> int:
    """Book goods into the zone; returns the number of rows booked."""
    count = 0
    for item in rows:
        row = _row(session, item.ems_no, item.item_record_no, moment, create=True)
        assert row is not None
        row.qty += item.qty
        row.updated_at = moment
        session.add(
            StockMovementRow(
                ems_no=item.ems_no,
                item_record_no=item.item_record_no,
                qty=item.qty,
                kind="in",
                document_id=None,
                reference=reference,
                at=moment,
            )
        )
        count += 1
    return count


def _needs(inventory: Node) -> tuple[str, dict[str, tuple[Decimal, str]]]:
    """(emsNo, {itemRecordNo: (qty, first line path)}) of a bonded list."""
    head = inventory.child("InventoryHead")
    ems_no = (text(head, "emsNo") or "") if head is not None else ""
    needs: dict[str, tuple[Decimal, str]] = {}
    for index, line in enumerate(inventory.children.get("InventoryList", []), 1):
        item = text(line, "itemRecordNo") or ""
        qty = decimal(line, "qty") or Decimal("0")
        before = needs.get(item, (Decimal("0"), f"Inventory/InventoryList[{index}]/qty"))
        needs[item] = (before[0] + qty, before[1])
    return ems_no, needs


def items(inventory: Node) -> set[tuple[str, str]]:
    """(emsNo, itemRecordNo) of every line of a bonded list: the stock rows its decision reads."""
    ems_no, needs = _needs(inventory)
    return {(ems_no, item) for item in needs}


def shortages(session: Session, inventory: Node, moment: datetime) -> list[Reason]:
    """Reasons for every book item the zone does not hold enough of (rows locked until commit)."""
    ems_no, needs = _needs(inventory)
    reasons = []
    for item, (qty, path) in needs.items():
        row = _row(session, ems_no, item, moment, create=False)
        have = row.qty if row is not None else Decimal("0")
        _margins(session, (ems_no, item), have, qty)
        if have < qty:
            reasons.append(
                Reason(
                    STOCK_SHORT,
                    "stock.short",
                    f"账册 {ems_no} 料号 {item} 库存不足："
                    f"需要 {qty.normalize():f}，结存 {have.normalize():f}",
                    f"not enough stock of book item {item} in account book {ems_no}: "
                    f"{qty.normalize():f} needed, {have.normalize():f} held",
                    "cbec",
                    path,
                )
            )
    return reasons


class StockConflict(Exception):
    """Bonded stock a chunk read without a lock changed before the chunk could lock it, so that one of
    its decisions would go the other way: the chunk must run again with its rows locked."""


def _margins(session: Session, key: tuple[str, str], have: Decimal, need: Decimal) -> None:
    """Record, for a row read without a lock, how far its quantity may move before this check would
    answer otherwise: down by the slack of a check that passed, up to the shortfall of one that failed."""
    index = unit.index(session)
    if index is None or index.stock_read is None or key not in index.stock_read:
        return
    slack, short = index.stock_margins.get(key, (None, None))
    if have >= need:
        slack = have - need if slack is None else min(slack, have - need)
    else:
        short = need - have if short is None else min(short, need - have)
    index.stock_margins[key] = (slack, short)


def settle(session: Session) -> None:
    """Lock (in key order) the stock rows the chunk read without a lock and has since relied on or
    changed; check that every decision still holds with what they hold now (`StockConflict` if not);
    carry over what other transactions did to them meanwhile, so this chunk's changes add to theirs."""
    index = unit.index(session)
    if index is None or index.stock_read is None:
        return
    read = index.stock_read
    touched = sorted(
        key
        for key in read
        if key in index.stock_margins or (key in index.stock and index.stock[key].qty != read[key])
    )
    if not touched:
        return
    dialect = session.get_bind().dialect.name
    with session.no_autoflush:
        query = (
            select(StockRow.ems_no, StockRow.item_record_no, StockRow.qty)
            .where(bulk.keys_bound(dialect, (StockRow.ems_no, StockRow.item_record_no)))
            .order_by(StockRow.ems_no, StockRow.item_record_no)
            .with_for_update()
        )
        now = {(e, i): q for e, i, q in session.execute(query, bulk.keys_values(dialect, touched))}
    for key in touched:
        before = read.pop(key)  # locked from here on: later checks see the true quantity
        slack, short = index.stock_margins.pop(key, (None, None))
        row = index.stock.get(key)
        if row is not None and row in session.new and key in now:
            raise StockConflict(key)  # another transaction booked the first unit meanwhile
        held = now.get(key, Decimal("0"))
        if (slack is not None and held < before - slack) or (short is not None and held >= before + short):
            raise StockConflict(key)
        if row is not None and row not in session.new and held != before:
            row.qty += held - before


def watch(session: Session) -> None:
    """Settle before any flush of the chunk: a flush writes the quantities it holds, which must already
    include what other transactions changed."""
    event.listen(session, "before_flush", lambda s, _context, _objects: settle(s))


def move(
    session: Session,
    inventory: Node,
    document_id: int,
    kind: str,
    moment: datetime,
    quantities: dict[int, Decimal] | None = None,
) -> None:
    """Take stock out (kind 'release') or put it back ('cancel', 'return'); `quantities` by gnum for a
    partial return, else every line's full quantity."""
    head = inventory.child("InventoryHead")
    ems_no = (text(head, "emsNo") or "") if head is not None else ""
    sign = Decimal("-1") if kind == "release" else Decimal("1")
    for line in inventory.children.get("InventoryList", []):
        gnum = line.values.get("gnum")
        qty = decimal(line, "qty") or Decimal("0")
        if quantities is not None:
            qty = quantities.get(gnum, Decimal("0")) if isinstance(gnum, int) else Decimal("0")
        if qty == 0:
            continue
        item = text(line, "itemRecordNo") or ""
        row = _row(session, ems_no, item, moment, create=True)
        assert row is not None
        row.qty += sign * qty
        row.updated_at = moment
        unit.add_row(
            session,
            StockMovementRow,
            ems_no=ems_no,
            item_record_no=item,
            qty=sign * qty,
            kind=kind,
            document_id=document_id,
            reference=None,
            at=moment,
        )


def holding(session: Session, ems_no: str) -> list[StockRow]:
    return list(
        session.scalars(select(StockRow).where(StockRow.ems_no == ems_no).order_by(StockRow.item_record_no))
    )
