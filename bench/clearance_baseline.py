"""Baseline of the clearance engine: N trades (order, payment, waybill, list) ingested one message at a time
in one process, every list released with its tax bill.

Usage: bench/clearance_baseline.py DATABASE_URL N  (for PostgreSQL a schema ``bench`` is dropped and
recreated). The full workload simulator and `cbec bench` belong to the benchmarks issue; this is the
first measurement to improve on.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text

from cbec.ceb import examples, render
from cbec.clearance import reference
from cbec.clearance.service import Engine
from cbec.store.db import Store, make_engine
from cbec.store.migrate import upgrade


def main(url: str, count: int) -> None:
    if url.startswith("postgresql"):
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS bench CASCADE"))
            conn.execute(text("CREATE SCHEMA bench"))
        admin.dispose()
        engine = create_engine(url, connect_args={"options": "-csearch_path=bench"})
    else:
        Path(url.split("///", 1)[1]).unlink(missing_ok=True)
        engine = make_engine(url)
    upgrade(engine)
    store = Store(engine=engine)
    plist = Path("/tmp/cbec-bench-positive-list.csv")
    plist.write_text(
        "tariff_line,name,remark,version,effective_date\n96190011,a,,T,2022-03-01\n19011010,b,,T,2022-03-01\n"
    )
    with store.transaction() as session:
        reference.load(session, reference.POSITIVE_LIST, plist)
    clearance = Engine(store)
    messages = []
    for i in range(count):
        buyer = examples.Buyer(
            id_number=examples.synthetic_id_number(
                sequence=f"{i % 1000:03d}", birth=f"19{50 + i // 1000 % 50:02d}0101"
            )
        )
        trade = examples.Trade(
            order_no=f"B{i}", logistics_no=f"BL{i}", pay_transaction_id=f"BP{i}", buyer=buyer
        )
        messages += [
            render(build(trade))
            for build in (examples.ceb311, examples.ceb411, examples.ceb511, examples.ceb621)
        ]
    now = datetime(2026, 11, 28, 4, tzinfo=UTC)
    start = time.perf_counter()
    released = 0
    for message in messages:
        released += sum(1 for a in clearance.ingest(message, now=now).answers if a.status == "800")
    elapsed = time.perf_counter() - start
    print(
        f"{engine.dialect.name}: {count} lists, {released} released, {elapsed:.1f} s -> "
        f"{count / elapsed:.1f} lists/s, {len(messages) / elapsed:.0f} documents/s"
    )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
