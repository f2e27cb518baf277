"""Push delivery of receipts (the BaseSubscribe idea): enterprises register an HTTPS endpoint and the
delivery worker posts each new receipt of theirs to it, signed with HMAC-SHA256 (`cbec.delivery.service`)."""

from cbec.delivery.service import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    DeliveryError,
    DeliveryStats,
    create_subscription,
    deliver_once,
    sign,
    verify,
)

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "DeliveryError",
    "DeliveryStats",
    "create_subscription",
    "deliver_once",
    "sign",
    "verify",
]
