"""Documents over HTTP: only parties see them (404 otherwise), personal data masked."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient

from cbec.api import create_app
from cbec.ceb import examples, render
from cbec.clearance import queries, reference
from cbec.clearance.service import Engine, Settings
from cbec.privacy import mask_document, mask_value
from cbec.store.db import Store

NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


def _released(store: Store, tmp_path: Path) -> tuple[examples.Trade, str]:
    path = tmp_path / "list.csv"
    path.write_text(
        "tariff_line,name,remark,version,effective_date\n96190011,尿布,,T,2022-03-01\n19011010,奶粉,,T,2022-03-01\n",
        encoding="utf-8",
    )
    with store.transaction() as session:
        reference.load(session, reference.POSITIVE_LIST, path)
    engine = Engine(store, Settings())
    trade = examples.Trade(order_no="API1")
    for message in (
        examples.ceb311(trade),
        examples.ceb411(trade),
        examples.ceb511(trade),
        examples.ceb621(trade),
    ):
        engine.ingest(render(message), now=NOW)
    with store.transaction() as session:
        view = queries.find(session, "list", "API1")
        assert view is not None and view.document.invt_no
        return trade, view.document.invt_no


def test_parties_see_masked_documents_and_others_get_404(store: Store, tmp_path: Path) -> None:
    trade, invt_no = _released(store, tmp_path)
    keys = {"k-ebc": trade.ebc.code, "k-log": trade.logistics.code, "k-out": "9999999999"}
    client = TestClient(create_app(store, Settings(), api_keys=keys))
    listing = client.get(f"/api/v1/lists/{invt_no}", headers={"X-API-Key": "k-ebc"})
    assert listing.status_code == 200, listing.text
    body = listing.json()
    assert body["status"] == "released" and body["taxBills"][0]["status"] == "1"
    assert [(r["type"], r["status"]) for r in body["receipts"]] == [
        ("CEB622", "120"),
        ("CEB622", "800"),
        ("CEB816", "1"),
    ]
    text = listing.text
    for personal in (trade.buyer.id_number, trade.buyer.name, trade.buyer.telephone, trade.buyer.address):
        assert personal not in text
    head = body["document"]["InventoryHead"]
    assert head["buyerIdNumber"] == mask_value("buyerIdNumber", trade.buyer.id_number)
    assert client.get(f"/api/v1/lists/{invt_no}", headers={"X-API-Key": "k-log"}).status_code == 200
    outsider = client.get(f"/api/v1/lists/{invt_no}", headers={"X-API-Key": "k-out"})
    assert outsider.status_code == 404 and outsider.json()["code"] == "CBEC-0506"
    assert client.get("/api/v1/lists/NOPE", headers={"X-API-Key": "k-ebc"}).status_code == 404
    order = client.get("/api/v1/orders/API1", headers={"X-API-Key": "k-ebc"})
    assert order.status_code == 200 and order.json()["kind"] == "order"


def test_masking_rules() -> None:
    assert mask_value("buyerIdNumber", "11010519491231002X") == "110***********002X"
    assert mask_value("buyerName", "王测试") == "王**"
    assert mask_value("consigneeTelephone", "13800000000") == "138****0000"
    assert mask_value("consigneeAddress", "北京市海淀区测试路1号") == "北京市海淀区****"
    assert mask_value("orderNo", "ORD1") == "ORD1"
    nested = {"Order": [{"OrderHead": {"buyerName": "王测试", "orderNo": "O1"}}]}
    assert mask_document(nested) == {"Order": [{"OrderHead": {"buyerName": "王**", "orderNo": "O1"}}]}
