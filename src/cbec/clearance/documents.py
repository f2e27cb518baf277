"""What the engine needs to know about each kind of import document: its head, business key, join keys,
and the official codes customs answers with for duplicates and missing originals."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from cbec.ceb.model import Node, Value


@dataclass(frozen=True, slots=True)
class Kind:
    """One import document kind: the message that carries it and the codes of its answers."""

    name: str  # order | payment | waybill | list | status | cancel | refund | delivery
    message: str  # CEB311 …
    head: str | None  # the head node inside the business node (None: the node is its own head)
    key_fields: tuple[str, str]  # business key: duplicates are judged on these two fields
    duplicate: str  # appType=1 with an existing key
    not_found: str  # appType=2/3 with no such document
    locked: str | None  # appType=2/3 when a declaration list already uses the document


KINDS: dict[str, Kind] = {
    "CEB311": Kind("order", "CEB311", "OrderHead", ("ebpCode", "orderNo"), "-301010", "-301009", "-301011"),
    "CEB411": Kind(
        "payment", "CEB411", "PaymentHead", ("payCode", "payTransactionId"), "-401007", "-401006", "-401008"
    ),
    "CEB511": Kind(
        "waybill",
        "CEB511",
        "LogisticsHead",
        ("logisticsCode", "logisticsNo"),
        "-504015",
        "-504014",
        "-504016",
    ),
    "CEB513": Kind("status", "CEB513", None, ("logisticsCode", "logisticsNo"), "-505012", "-505014", None),
    "CEB621": Kind(
        "list", "CEB621", "InventoryHead", ("ebcCode", "orderNo"), "-621004", "-621011", "-621012"
    ),
    "CEB623": Kind("cancel", "CEB623", None, ("ebcCode", "invtNo"), "-623009", "-623003", "-623005"),
    "CEB625": Kind(
        "refund", "CEB625", "InvtRefundHead", ("ebcCode", "invtNo"), "-625022", "-625016", "-625022"
    ),
    "CEB711": Kind(
        "delivery", "CEB711", "DeliveryHead", ("operatorCode", "copNo"), "-800003", "-800001", None
    ),
}

#: the message code of each document kind by its name (``"list"`` → ``"CEB621"``)
MESSAGE_OF: dict[str, str] = {kind.name: kind.message for kind in KINDS.values()}


def head_of(kind: Kind, document: Node) -> Node:
    """The node holding a document's head fields (the document itself for flat ones)."""
    if kind.head is None:
        return document
    head = document.child(kind.head)
    return head if head is not None else document


def text(node: Node, name: str) -> str | None:
    value: Value | None = node.values.get(name)
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def decimal(node: Node, name: str) -> Decimal | None:
    value = node.values.get(name)
    return value if isinstance(value, Decimal) else None


def business_key(kind: Kind, head: Node) -> str:
    a, b = (text(head, f) or "" for f in kind.key_fields)
    return f"{a}|{b}"


# ---- personal data: looked up by keyed hash, never stored in clear in the ledger ---------------------------

_SECRET: bytes | None = None


def _secret() -> bytes:
    """The key of the buyer hash: CBEC_SECRET_KEY, else a file made once under the data directory."""
    global _SECRET
    if _SECRET is not None:
        return _SECRET
    env = os.environ.get("CBEC_SECRET_KEY")
    if env:
        _SECRET = env.encode("utf-8")
        return _SECRET
    folder = Path(os.environ.get("CBEC_DATA_DIR", "var"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "secret.key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    _SECRET = path.read_text().strip().encode("utf-8")
    return _SECRET


def buyer_id_number(kind: Kind, head: Node) -> str | None:
    """The ID number of the buyer a document names: the payer's on a payment, else its buyerIdNumber."""
    return text(head, "payerIdNumber" if kind.name == "payment" else "buyerIdNumber")


def buyer_key(id_number: str | None) -> str | None:
    """HMAC-SHA256 of a normalized ID number: the quota ledger's key (ARCHITECTURE.md, personal data)."""
    if not id_number:
        return None
    normalized = id_number.strip().upper()
    return hmac.new(_secret(), normalized.encode("utf-8"), hashlib.sha256).hexdigest()
