"""A per-person yearly quantity limit from the positive list counts the buyer's earlier released lists."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from cbec.ceb import examples, render
from cbec.clearance import reference
from cbec.clearance.service import Engine
from cbec.store.db import Store

NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


def test_yearly_quantity_limit_counts_earlier_lists(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text(
        "tariff_line,name,remark,version,effective_date\n"
        "96190011,尿布,,T,2022-03-01\n"
        "19011010,婴幼儿配方奶粉,每人每年限购2千克,T,2022-03-01\n",
        encoding="utf-8",
    )
    with store.transaction() as session:
        reference.load(session, reference.POSITIVE_LIST, path)
    engine = Engine(store)
    outcomes = []
    for n in range(3):  # each list carries 0.8 kg of milk powder (qty1/unit1 035): 0.8, 1.6, then 2.4 > 2
        trade = examples.Trade(order_no=f"Q{n}", logistics_no=f"QL{n}", pay_transaction_id=f"QP{n}")
        answers = []
        for message in (
            examples.ceb311(trade),
            examples.ceb411(trade),
            examples.ceb511(trade),
            examples.ceb621(trade),
        ):
            answers = engine.ingest(render(message), now=NOW).answers
        outcomes.append(
            [(a.receipt_type, a.status, a.info) for a in answers if a.receipt_type == "CEB622"][-1]
        )
    assert [status for _t, status, _i in outcomes] == ["800", "800", "100"]
    assert "[Code:9305;" in outcomes[2][2]
