"""The message catalogue: every CEB message type, node and field as data."""

from cbec.ceb.catalogue.messages import (
    DS_NAMESPACE,
    EXPORT_CODES,
    IMPORT_CODES,
    MESSAGE_TYPES,
    NAMESPACE,
    MessageType,
    message_type,
)

__all__ = [
    "DS_NAMESPACE",
    "EXPORT_CODES",
    "IMPORT_CODES",
    "MESSAGE_TYPES",
    "NAMESPACE",
    "MessageType",
    "message_type",
]
