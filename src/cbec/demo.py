"""The demonstration round `make run` performs: one trade through the message standard, files on disk.

It shows a newcomer every piece working together on realistic data: build, check, sign, verify, wrap,
answer with receipts. The RSA key and certificate are generated for the run and are worthless elsewhere.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cbec.ceb import dxp, examples, parse_checked, render
from cbec.ceb.dxp import CST
from cbec.ceb.receipts import ReturnInfoPart, build_receipt, format_return_info
from cbec.ceb.sign import load_signer, self_signed_rsa, sign_message, verify_message


@dataclass(frozen=True)
class Step:
    """One step of the round: what was done, the file it wrote, and the outcome."""

    zh: str
    en: str
    file: Path
    outcome: str


def _demo_certificate(directory: Path) -> tuple[Path, Path]:
    """A throw-away RSA-2048 key and self-signed certificate, written beside the demo files."""
    key_pem, cert_pem = self_signed_rsa(
        "cbec 演示企业", organization="cbec demo (not a real certificate)", not_after=_in_days(30)
    )
    key_path, cert_path = directory / "demo-key.pem", directory / "demo-cert.pem"
    key_path.write_bytes(key_pem)
    key_path.chmod(0o600)
    cert_path.write_bytes(cert_pem)
    return key_path, cert_path


def _in_days(days: int) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(days=days)


def _outcome(problems: list[object]) -> str:
    errors = sum(1 for p in problems if getattr(p, "severity", "") == "error")
    warnings = len(problems) - errors
    return f"{errors} 错误 / errors, {warnings} 警告 / warnings"


def run_demo(directory: Path) -> list[Step]:
    """Run the round into `directory` (created if needed) and say what happened at each step."""
    directory.mkdir(parents=True, exist_ok=True)
    steps: list[Step] = []
    trade = examples.Trade()

    order = examples.ceb311(trade)
    order_file = directory / "CEB311_order.xml"
    order_file.write_bytes(render(order))
    _msg, problems = parse_checked(order_file)
    steps.append(Step("生成并校验电子订单", "order built and checked", order_file, _outcome(list(problems))))

    listing = examples.ceb621(trade, signed=False)  # a list must be signed before it is declared
    key_path, cert_path = _demo_certificate(directory)
    signed = sign_message(render(listing), load_signer(key_path, cert_path, "rsa-sha1"))
    signed_file = directory / "CEB621_list.signed.xml"
    signed_file.write_bytes(signed)
    _msg, problems = parse_checked(signed)
    steps.append(
        Step(
            "清单加签（RSA-SHA1）并校验",
            "list signed (RSA-SHA1) and checked",
            signed_file,
            _outcome(list(problems)),
        )
    )

    result = verify_message(signed)
    verdict = "有效 / valid" if result.valid else f"无效 / invalid [{result.code}] {result.reason_en}"
    steps.append(Step("验签", "signature verified", signed_file, f"{verdict}; KeyName {result.key_name}"))

    envelope = dxp.wrap(signed, sender_id=trade.dxp_id)
    envelope_file = directory / "CEB621_list.dxp.xml"
    envelope_file.write_bytes(envelope)
    opened = dxp.unwrap(envelope)
    steps.append(
        Step(
            "封装 DxpMsg 传输报文",
            "wrapped in a DxpMsg envelope",
            envelope_file,
            f"{opened.msg_type} → {', '.join(opened.receiver_ids)}",
        )
    )

    order_receipt = build_receipt(
        order, status="120", info=format_return_info([ReturnInfoPart("1800", "逻辑校验通过")])
    )
    order_receipt_file = directory / "CEB312_receipt.xml"
    order_receipt_file.write_bytes(render(order_receipt))
    steps.append(Step("订单回执（120 海关入库）", "order receipt (120 accepted)", order_receipt_file, "120"))

    list_receipt = build_receipt(
        listing,
        status="800",
        info=format_return_info([ReturnInfoPart("2600", "放行")]),
        overrides={"preNo": "B20261128000000001", "invtNo": trade.invt_no},
    )
    list_receipt_file = directory / "CEB622_receipt.xml"
    list_receipt_file.write_bytes(render(list_receipt))
    steps.append(Step("清单回执（800 放行）", "list receipt (800 released)", list_receipt_file, "800"))
    return steps


#: Tariff lines of the demo goods, written to a file labelled as a demo list: the official positive list
#: is not public as text, so the operator loads it; the demo must not pretend to ship it.
DEMO_LIST = (
    "# 演示用正面清单（非官方）：仅含演示商品的税则号列 / DEMO positive list, not the official one\n"
    "tariff_line,name,remark,version,effective_date,label\n"
    "96190011,尿布,,DEMO,2000-01-01,演示 / demo\n"
    "19011010,婴幼儿配方奶粉,,DEMO,2000-01-01,演示 / demo\n"
    "33049900,其他美容化妆品,,DEMO,2000-01-01,演示 / demo\n"
)


def run_clearance_demo(directory: Path) -> list[Step]:
    """The clearance engine on the embedded database: four documents in, receipts and a tax bill out."""
    from cbec.clearance import reference
    from cbec.clearance.queries import quota
    from cbec.clearance.service import Engine
    from cbec.store.db import Store
    from cbec.store.migrate import upgrade

    directory.mkdir(parents=True, exist_ok=True)
    store = Store()
    upgrade(store.engine)
    steps = [Step("数据库就绪", "database ready", Path(store.engine.url.database or "-"), "alembic head")]
    list_file = directory / "demo-positive-list.csv"
    list_file.write_text(DEMO_LIST, encoding="utf-8")
    with store.transaction() as session:
        reference.load(session, reference.POSITIVE_LIST, list_file)
    steps.append(Step("加载演示正面清单", "demo positive list loaded", list_file, "3 lines (demo)"))
    engine = Engine(store)
    stamp = dt.datetime.now(dt.UTC).strftime("%H%M%S%f")
    trade = examples.Trade(
        order_no=f"DEMO{stamp}", logistics_no=f"LN{stamp}", pay_transaction_id=f"PAY{stamp}"
    )
    outbox = directory / "outbox"
    outbox.mkdir(exist_ok=True)
    for build, zh, en in (
        (examples.ceb621, "清单先到：等待订单、支付单、运单", "list first: waits for its companions"),
        (examples.ceb311, "电子订单", "order"),
        (examples.ceb411, "支付凭证", "payment"),
        (
            examples.ceb511,
            "物流运单：四单齐全，比对并决定",
            "waybill: all four present, compared and decided",
        ),
    ):
        result = engine.ingest(render(build(trade)))
        for answer in result.answers:
            target = outbox / f"{answer.receipt_type}_{answer.status}_{trade.order_no}.xml"
            target.write_bytes(answer.xml)
        outcome = ", ".join(f"{a.receipt_type} {a.status}" for a in result.answers)
        steps.append(Step(zh, en, outbox, outcome))
    with store.transaction() as session:
        view = quota(session, trade.buyer.id_number, dt.datetime.now(CST).year)
    steps.append(
        Step(
            "个人年度额度",
            "annual quota",
            Path("cbec quota"),
            f"{view.masked_id}: {view.used:.2f} / {view.limit:.2f}",
        )
    )
    store.dispose()
    return steps
