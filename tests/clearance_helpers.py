"""Helpers of the clearance scenario, concurrency and crash tests: trades, reference data, checks.

Every answer that passes through `ingest` (or `check_answers`) is checked twice on the way: it validates
against the official import XSD when ../shared/reference is on this machine, and its returnInfo never
quotes a buyer's ID number, name or phone (every buyer made with `buyer` is remembered for that check).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import func, select

from cbec.ceb.examples import (
    DEFAULT_LINES,
    THIRD_LINE,
    Buyer,
    Line,
    Trade,
    ceb311,
    ceb411,
    ceb511,
    ceb621,
    synthetic_id_number,
)
from cbec.ceb.model import Message
from cbec.ceb.receipts import parse_return_info
from cbec.ceb.render import render
from cbec.clearance import queries, reference
from cbec.clearance.service import Answer, Engine, IngestResult
from cbec.store.db import Store
from cbec.store.models import Base

#: the buyer-hash key of these tests (set on `cbec.clearance.documents._SECRET` by an autouse fixture)
SECRET = b"clearance-tests-secret-key"

#: 12:00 China time on the example trades' declaration day (declTime 20261128)
NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
YEAR = 2026

IMPORT_XSD = Path("ceb/xsd/202205/海关跨境进口业务节点报文定义202205.xsd")

# ---- goods ---------------------------------------------------------------------------------------------

DIAPER, MILK = DEFAULT_LINES
CREAM = THIRD_LINE
#: wine: the sample rate table has an MFN rate (14 %) for 2204, so the full-tax path can levy duty
WINE = Line(
    item_no="SKU-WINE-750",
    name="红葡萄酒",
    gcode="2204210000",
    gmodel="750毫升/瓶 13%vol",
    qty=Decimal("1"),
    price=Decimal("6000.00"),
    unit="142",
    legal_qty=Decimal("0.75"),
    legal_unit="095",
    country="305",
    item_record_no="REC-0004",
)
#: goods whose tariff line the test positive list marks 仅限网购保税 (bonded import only)
BONDED_ONLY = Line(
    item_no="SKU-SUPPLEMENT",
    name="膳食补充剂",
    gcode="2106909090",
    gmodel="60粒/瓶",
    qty=Decimal("1"),
    price=Decimal("120.00"),
    unit="142",
    legal_qty=Decimal("0.1"),
    country="502",
    item_record_no="REC-0005",
)
#: goods that are not on the test positive list at all (toys, 9503)
OFF_LIST = Line(
    item_no="SKU-TOY",
    name="积木玩具",
    gcode="9503008900",
    gmodel="塑料 500块",
    qty=Decimal("1"),
    price=Decimal("199.00"),
    unit="011",
    legal_qty=Decimal("1.2"),
    country="304",
)

POSITIVE_LIST_CSV = """\
tariff_line,name,remark,version,effective_date
96190011,尿布及尿裤,,2022,2022-03-01
19011010,婴幼儿配方奶粉,,2022,2022-03-01
33049900,其他美容品或化妆品及护肤品,,2022,2022-03-01
22042100,小包装的鲜葡萄酿造的酒,,2022,2022-03-01
21069090,其他编号未列名的食品,仅限网购保税商品,2022,2022-03-01
"""


def write_positive_list(folder: Path) -> Path:
    path = folder / "positive-list.csv"
    path.write_text(POSITIVE_LIST_CSV, encoding="utf-8")
    return path


def load_positive_list(store: Store, folder: Path) -> None:
    """Load the small test positive list (the engine refuses every list before one is loaded)."""
    path = write_positive_list(folder)
    with store.transaction() as session:
        reference.load(session, reference.POSITIVE_LIST, path, now=NOW)


# ---- trades and messages -------------------------------------------------------------------------------

_BUYERS: dict[str, Buyer] = {}


def buyer(n: int = 0) -> Buyer:
    """Buyer number `n`: a distinct synthetic ID number, name and phone; n=0 is the examples' default."""
    made = (
        Buyer()
        if n == 0
        else Buyer(
            name=f"测试订购人{n:03d}",
            id_number=synthetic_id_number(sequence=f"{n % 1000:03d}", birth=f"19{80 + n // 1000:02d}0307"),
            telephone=f"139{n:08d}",
            reg_no=f"buyer-{n:04d}",
        )
    )
    _BUYERS[made.id_number] = made
    return made


buyer(0)


def trade(
    n: int, *, who: Buyer | None = None, lines: Sequence[Line] = DEFAULT_LINES, **changes: Any
) -> Trade:
    """Trade number `n`: its own order, waybill and payment numbers, so trades never collide."""
    return Trade(
        order_no=f"ORD{n:012d}",
        logistics_no=f"LN{n:012d}",
        pay_transaction_id=f"PAY{n:012d}",
        buyer=who if who is not None else buyer(0),
        lines=tuple(lines),
        **changes,
    )


def line_worth(total: Decimal, *, qty: int = 2, base: Line = MILK) -> Line:
    """A line of `qty` articles whose total price is `total` (so the tax price is total + freight)."""
    return replace(base, qty=Decimal(qty), price=total / qty)


def companions(t: Trade) -> list[Message]:
    """Order, payment and waybill of a trade."""
    return [ceb311(t), ceb411(t), ceb511(t)]


def four(t: Trade) -> list[Message]:
    """All four documents of a trade, the list last."""
    return [*companions(t), ceb621(t)]


def wire(message: Message | bytes) -> bytes:
    return message if isinstance(message, bytes) else render(message)


def revised(message: Message, head: str, *, guid: str, **values: Any) -> Message:
    """The message under a new root guid with `values` set on its head (e.g. appType="2")."""
    message.guid = guid
    node = message.documents[0]
    target = node.child(head) if node.child(head) is not None else node
    assert target is not None
    target.set(**values)
    return message


# ---- checks every answer passes ------------------------------------------------------------------------


@cache
def import_schema() -> etree.XMLSchema | None:
    """The official import XSD (compiled once per process), or None when the reference is absent."""
    from conftest import REFERENCE_DIR

    path = REFERENCE_DIR / IMPORT_XSD
    if not path.is_file():
        return None
    return etree.XMLSchema(etree.parse(str(path)))


def assert_schema_valid(xml: bytes) -> None:
    schema = import_schema()
    if schema is None:
        return
    document = etree.fromstring(xml)
    if not schema.validate(document):
        raise AssertionError(f"{document.tag} does not validate: {schema.error_log}")


def personal_values() -> set[str]:
    return {v for b in _BUYERS.values() for v in (b.id_number, b.name, b.telephone)}


def assert_no_personal_data(info: str) -> None:
    leaked = sorted(v for v in personal_values() if v in info)
    assert not leaked, f"returnInfo quotes personal data {leaked}: {info}"


def check_answers(answers: Iterable[Answer]) -> list[Answer]:
    out = list(answers)
    for answer in out:
        assert_schema_valid(answer.xml)
        assert_no_personal_data(answer.info)
        assert_no_personal_data(returned_info(answer.xml))
    return out


def returned_info(xml: bytes) -> str:
    """The returnInfo text inside a receipt's XML ('' for tax bills)."""
    root = etree.fromstring(xml)
    return "".join(el.text or "" for el in root.iter() if etree.QName(el).localname == "returnInfo")


def ingest(engine: Engine, message: Message | bytes, *, now: datetime = NOW) -> IngestResult:
    """Ingest one message and check every answer (XSD, personal data)."""
    result = engine.ingest(wire(message), source="test", now=now)
    check_answers(result.answers)
    return result


def ingest_all(engine: Engine, messages: Iterable[Message | bytes], *, now: datetime = NOW) -> list[Answer]:
    answers: list[Answer] = []
    for message in messages:
        answers.extend(ingest(engine, message, now=now).answers)
    return answers


def pick(answers: Iterable[Answer], receipt_type: str, status: str | None = None) -> list[Answer]:
    return [a for a in answers if a.receipt_type == receipt_type and (status is None or a.status == status)]


def one(answers: Iterable[Answer], receipt_type: str, status: str | None = None) -> Answer:
    found = pick(answers, receipt_type, status)
    assert len(found) == 1, f"expected one {receipt_type} {status or ''}, got {found}"
    return found[0]


def reasons(info: str) -> list[tuple[str, str]]:
    """(code, description) of each ``[Code:NNNN;Desc:…]`` group (descriptions may hold ``[…]`` pairs)."""
    return [(part.code, part.desc) for part in parse_return_info(info).parts]


def codes(info: str) -> list[str]:
    """The codes of a returnInfo's groups, in order."""
    return [code for code, _desc in reasons(info)]


# ---- the store -----------------------------------------------------------------------------------------


def invt_no(store: Store, order_no: str) -> str:
    """The invtNo customs assigned to the list of `order_no`."""
    with store.transaction() as session:
        view = queries.find(session, "list", order_no)
        assert view is not None and view.document.invt_no
        return view.document.invt_no


def list_status(store: Store, order_no: str) -> str:
    with store.transaction() as session:
        view = queries.find(session, "list", order_no)
        assert view is not None
        return view.document.status


def quota_used(store: Store, who: Buyer, year: int = YEAR) -> Decimal:
    with store.transaction() as session:
        return queries.quota(session, who.id_number, year).used


def row_counts(store: Store) -> dict[str, int]:
    """Rows per table: to prove an operation stored nothing."""
    with store.transaction() as session:
        return {
            name: session.scalar(select(func.count()).select_from(table)) or 0
            for name, table in Base.metadata.tables.items()
        }


def book_stock(store: Store, t: Trade, qty: Decimal = Decimal("100")) -> None:
    """Book the trade's goods into its bonded account book, where the engine keeps a stock ledger (1210)."""
    try:
        from cbec.clearance import stock
    except ImportError:  # an engine without a bonded stock ledger releases 1210 lists without one
        return
    rows = [stock.StockIn(t.ems_no, line.item_record_no or "", qty) for line in t.lines]
    with store.transaction() as session:
        stock.stock_in(session, rows, NOW, reference="tests")
