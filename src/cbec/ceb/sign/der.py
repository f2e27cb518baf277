"""A minimal DER reader and writer: enough to pull SM2 keys out of PKCS#8/SEC1 files and certificates.

`cryptography` refuses anything on the SM2 curve, so those few structures are walked by hand. Every read is
bounds-checked and raises `DerError`, because certificates arrive inside untrusted messages.
"""

from __future__ import annotations

SEQUENCE = 0x30
INTEGER = 0x02
BIT_STRING = 0x03
OCTET_STRING = 0x04
NULL = 0x05
OID = 0x06


class DerError(ValueError):
    """The bytes are not the DER structure expected."""


def der_read(data: bytes, pos: int) -> tuple[int, bytes, int]:
    """One TLV at `pos`: (tag, content, position after it). Single-byte tags, definite lengths only."""
    if pos + 2 > len(data):
        raise DerError("truncated DER element")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise DerError("multi-byte DER tags are not supported")
    first = data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4:
            raise DerError("indefinite or oversized DER length")
        if pos + count > len(data):
            raise DerError("truncated DER length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    end = pos + length
    if end > len(data):
        raise DerError("DER element runs past the end of the data")
    return tag, data[pos:end], end


def der_children(content: bytes) -> list[tuple[int, bytes]]:
    """The (tag, content) items inside a constructed element's content."""
    items: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(content):
        tag, body, pos = der_read(content, pos)
        items.append((tag, body))
    return items


def der_single(data: bytes, expected_tag: int) -> bytes:
    """Content of `data` when it is exactly one element with `expected_tag`."""
    tag, body, end = der_read(data, 0)
    if tag != expected_tag or end != len(data):
        raise DerError(f"expected one DER element with tag 0x{expected_tag:02x}")
    return body


def decode_oid(content: bytes) -> str:
    """Dotted form of an OBJECT IDENTIFIER's content bytes."""
    if not content or content[-1] & 0x80:
        raise DerError("malformed OBJECT IDENTIFIER")
    arcs: list[int] = []
    value = 0
    for byte in content:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in [first, arcs[0] - 40 * first, *arcs[1:]])


def encode_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def encode_integer(value: int) -> bytes:
    """A non-negative INTEGER in minimal two's-complement form."""
    if value < 0:
        raise ValueError("only non-negative integers are encoded here")
    content = value.to_bytes(value.bit_length() // 8 + 1, "big")  # the spare byte keeps the sign bit clear
    while len(content) > 1 and content[0] == 0 and content[1] < 0x80:
        content = content[1:]
    return bytes([INTEGER]) + encode_length(len(content)) + content


def encode_sequence(*items: bytes) -> bytes:
    body = b"".join(items)
    return bytes([SEQUENCE]) + encode_length(len(body)) + body
