"""Personal data in documents: which fields hold it and how they are masked for callers who may not see it.

ID numbers, names, phones and addresses of buyers, payers and consignees (ARCHITECTURE.md): shown masked in
the API and the portal unless the caller's role may see them; never written to logs.
"""

from __future__ import annotations

from typing import Any

from cbec.ceb.identity import mask_id

ID_FIELDS = frozenset({"buyerIdNumber", "payerIdNumber"})
NAME_FIELDS = frozenset({"buyerName", "payerName", "consignee"})
PHONE_FIELDS = frozenset({"buyerTelephone", "consigneeTelephone", "telephone"})
ADDRESS_FIELDS = frozenset({"consigneeAddress"})
PERSONAL_FIELDS = ID_FIELDS | NAME_FIELDS | PHONE_FIELDS | ADDRESS_FIELDS


def mask_value(field: str, value: str) -> str:
    """The masked form of one personal value: ID 110***********002X, name 张*, phone 138****0000,
    address: the first six characters and ****."""
    if field in ID_FIELDS:
        return mask_id(value)
    if field in NAME_FIELDS:
        return value[:1] + "*" * max(len(value) - 1, 1) if value else value
    if field in PHONE_FIELDS:
        return value[:3] + "****" + value[-4:] if len(value) > 7 else "*" * len(value)
    if field in ADDRESS_FIELDS:
        return value[:6] + "****" if value else value
    return value


def mask_document(body: Any) -> Any:
    """A copy of a document's JSON form with every personal field masked, at any depth."""
    if isinstance(body, dict):
        return {
            key: mask_value(key, value)
            if key in PERSONAL_FIELDS and isinstance(value, str)
            else mask_document(value)
            for key, value in body.items()
        }
    if isinstance(body, list):
        return [mask_document(item) for item in body]
    return body
