"""Helpers of the zone, statistics and assessment tests: cleared lists written as store rows.

Statistics only read released lists and their lines, so these tests write those rows directly (the engine's
own tests cover how lists come to be released); the demo test takes real traffic through the engine."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from cbec.registry import add_enterprise
from cbec.store.models import DocumentLineRow, DocumentRow, MessageRow

_serial = itertools.count(1)


def released_list(
    session: Session,
    ebc: str,
    at: datetime,
    lines: Sequence[tuple[str, str, str]],
    *,
    mode: str = "9610",
    status: str = "released",
    kind: str = "list",
) -> DocumentRow:
    """A list of `ebc` released at `at` (UTC) with lines (gcode, country, totalPrice)."""
    n = next(_serial)
    message = MessageRow(
        guid=f"guid-{n:08d}",
        msg_type="CEB621",
        sha256="0" * 64,
        size=1,
        raw=b"-",
        received_at=at,
        signature="none",
        outcome="accepted",
    )
    session.add(message)
    session.flush()
    doc = DocumentRow(
        kind=kind,
        doc_key=f"{ebc}|ORDER{n}",
        version=1,
        current=True,
        message_id=message.id,
        position=1,
        head_guid=f"head-{n}",
        status=status,
        ebc_code=ebc,
        order_no=f"ORDER{n}",
        trade_mode=mode,
        body={},
        created_at=at,
        updated_at=at,
        released_at=at if status in ("released", "cancelled") else None,
    )
    session.add(doc)
    session.flush()
    for gnum, (gcode, country, total) in enumerate(lines, 1):
        session.add(
            DocumentLineRow(
                document_id=doc.id, gnum=gnum, gcode=gcode, country=country, total_price=Decimal(total)
            )
        )
    session.flush()
    return doc


def enterprise(session: Session, code: str, zone: str | None = None, park: int | None = None) -> None:
    """Register an e-commerce enterprise and place it in a zone (and park)."""
    from cbec.zones.service import link_enterprise

    add_enterprise(session, code, f"测试企业{code}（模拟）", roles=["ebc"])
    if zone is not None:
        link_enterprise(session, code, zone, park)
