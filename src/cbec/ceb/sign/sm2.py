"""SM3 hashing and SM2 signatures (GB/T 32918, GM/T 0003/0009) on the recommended 256-bit curve.

`cryptography` hashes SM3 natively but cannot sign or verify with SM2 keys, and gmssl's SM2 code works on hex
strings (slow, and its public-key handling mangles keys whose coordinates start with ``0``/``4``). The curve
arithmetic here is a small integer implementation in Jacobian coordinates. It is not constant-time: it suits
software keys for testing and modest volumes; production keys belong in a u-key or crypto device (`Signer`).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache

from cbec.ceb.errors import SignatureError
from cbec.ceb.sign.der import INTEGER, SEQUENCE, der_children, der_read, encode_integer, encode_sequence

#: Distinguishing ID most SM2 implementations (GM/T 0009) use when none is agreed; customs publishes none.
DEFAULT_SM2_ID = b"1234567812345678"

# Recommended curve parameters, GB/T 32918.5.
P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = P - 3
B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0

_Jacobian = tuple[int, int, int]  # (X, Y, Z); Z == 0 is the point at infinity
_INFINITY: _Jacobian = (1, 1, 0)
_WINDOW = 4


# --- SM3 -------------------------------------------------------------------------------------------------


def sm3(data: bytes) -> bytes:
    """SM3 digest (32 bytes). OpenSSL through `cryptography` when it has SM3; gmssl otherwise."""
    fast = _openssl_sm3()
    if fast is not None:
        return fast(data)
    return sm3_pure(data)


def sm3_pure(data: bytes) -> bytes:
    """SM3 by gmssl (pure Python): the fallback for OpenSSL builds without SM3."""
    from gmssl import sm3 as gm_sm3

    return bytes.fromhex(gm_sm3.sm3_hash(list(data)))


@cache
def _openssl_sm3() -> Callable[[bytes], bytes] | None:
    try:
        from cryptography.hazmat.primitives import hashes

        hashes.Hash(hashes.SM3()).finalize()
    except Exception:  # UnsupportedAlgorithm, or an old cryptography without SM3
        return None

    def digest(data: bytes) -> bytes:
        h = hashes.Hash(hashes.SM3())
        h.update(data)
        return h.finalize()

    return digest


# --- curve arithmetic ------------------------------------------------------------------------------------


def _double(p1: _Jacobian) -> _Jacobian:
    x1, y1, z1 = p1
    if z1 == 0 or y1 == 0:
        return _INFINITY
    # dbl-2001-b, valid because a = -3.
    delta = z1 * z1 % P
    gamma = y1 * y1 % P
    beta = x1 * gamma % P
    alpha = 3 * (x1 - delta) * (x1 + delta) % P
    x3 = (alpha * alpha - 8 * beta) % P
    z3 = ((y1 + z1) * (y1 + z1) - gamma - delta) % P
    y3 = (alpha * (4 * beta - x3) - 8 * gamma * gamma) % P
    return (x3, y3, z3)


def _add(p1: _Jacobian, p2: _Jacobian) -> _Jacobian:
    x1, y1, z1 = p1
    x2, y2, z2 = p2
    if z1 == 0:
        return p2
    if z2 == 0:
        return p1
    z1z1 = z1 * z1 % P
    z2z2 = z2 * z2 % P
    u1 = x1 * z2z2 % P
    u2 = x2 * z1z1 % P
    s1 = y1 * z2 * z2z2 % P
    s2 = y2 * z1 * z1z1 % P
    h = (u2 - u1) % P
    r = (s2 - s1) % P
    if h == 0:
        return _double(p1) if r == 0 else _INFINITY
    h2 = h * h % P
    h3 = h * h2 % P
    u1h2 = u1 * h2 % P
    x3 = (r * r - h3 - 2 * u1h2) % P
    y3 = (r * (u1h2 - x3) - s1 * h3) % P
    z3 = h * z1 * z2 % P
    return (x3, y3, z3)


def _table(point: _Jacobian) -> list[_Jacobian]:
    """0·P … 15·P for a fixed 4-bit window."""
    table = [_INFINITY, point]
    for _ in range(2, 1 << _WINDOW):
        table.append(_add(table[-1], point))
    return table


@cache
def _g_table() -> list[_Jacobian]:
    return _table((GX, GY, 1))


def _multiply(k: int, table: list[_Jacobian]) -> _Jacobian:
    result = _INFINITY
    for shift in range((k.bit_length() + _WINDOW - 1) // _WINDOW * _WINDOW - _WINDOW, -1, -_WINDOW):
        for _ in range(_WINDOW):
            result = _double(result)
        digit = (k >> shift) & ((1 << _WINDOW) - 1)
        if digit:
            result = _add(result, table[digit])
    return result


def _affine(point: _Jacobian) -> tuple[int, int] | None:
    x, y, z = point
    if z == 0:
        return None
    zinv = pow(z, -1, P)
    zinv2 = zinv * zinv % P
    return (x * zinv2 % P, y * zinv2 * zinv % P)


def _on_curve(x: int, y: int) -> bool:
    return 0 <= x < P and 0 <= y < P and (y * y - (x * x * x + A * x + B)) % P == 0


# --- keys and signatures ---------------------------------------------------------------------------------


def _int32(value: int) -> bytes:
    return value.to_bytes(32, "big")


@dataclass(frozen=True, slots=True)
class Sm2PublicKey:
    """A point on the SM2 curve, checked on construction so later arithmetic cannot be fed junk."""

    x: int
    y: int

    def __post_init__(self) -> None:
        if not _on_curve(self.x, self.y):
            raise SignatureError("SM2 公钥不在曲线上", "the SM2 public key is not a point on the SM2 curve")

    @classmethod
    def from_bytes(cls, data: bytes) -> Sm2PublicKey:
        """Uncompressed ``04‖x‖y``, bare ``x‖y`` (64 bytes) or compressed ``02/03‖x``."""
        if len(data) == 65 and data[0] == 4:
            data = data[1:]
        if len(data) == 64:
            return cls(int.from_bytes(data[:32], "big"), int.from_bytes(data[32:], "big"))
        if len(data) == 33 and data[0] in (2, 3):
            x = int.from_bytes(data[1:], "big")
            rhs = (x * x * x + A * x + B) % P
            y = pow(rhs, (P + 1) // 4, P)  # P ≡ 3 (mod 4)
            if y * y % P != rhs:
                raise SignatureError(
                    "SM2 公钥不在曲线上", "the SM2 public key is not a point on the SM2 curve"
                )
            if (y & 1) != (data[0] & 1):
                y = P - y
            return cls(x, y)
        raise SignatureError(
            f"SM2 公钥编码无法识别（{len(data)} 字节）",
            f"unrecognised SM2 public key encoding ({len(data)} bytes)",
        )

    def to_bytes(self) -> bytes:
        """Uncompressed encoding ``04‖x‖y``."""
        return b"\x04" + _int32(self.x) + _int32(self.y)

    def z_value(self, sm2_id: bytes = DEFAULT_SM2_ID) -> bytes:
        """Z = SM3(ENTL‖ID‖a‖b‖xG‖yG‖xA‖yA): binds the signer's identity and key into every hash."""
        bits = len(sm2_id) * 8
        if bits > 0xFFFF:
            raise SignatureError("SM2 区分标识过长", "the SM2 distinguishing ID is too long")
        return sm3(
            bits.to_bytes(2, "big") + sm2_id + b"".join(_int32(v) for v in (A, B, GX, GY, self.x, self.y))
        )

    def verify(self, signature: bytes, data: bytes, sm2_id: bytes = DEFAULT_SM2_ID) -> bool:
        """SM3withSM2 verification of `data`; `signature` is raw r‖s (64 bytes) or DER."""
        try:
            r, s = decode_signature(signature)
        except ValueError:
            return False
        if not (1 <= r < N and 1 <= s < N):
            return False
        t = (r + s) % N
        if t == 0:
            return False
        e = int.from_bytes(sm3(self.z_value(sm2_id) + data), "big")
        point = _affine(_add(_multiply(s, _g_table()), _multiply(t, self._table())))
        if point is None:
            return False
        return hmac.compare_digest(_int32((e + point[0]) % N), _int32(r))

    def _table(self) -> list[_Jacobian]:
        return _cached_table(self.x, self.y)


@lru_cache(maxsize=64)
def _cached_table(x: int, y: int) -> list[_Jacobian]:
    # Verifying many messages from one certificate reuses the precomputed multiples.
    return _table((x, y, 1))


@dataclass(frozen=True, slots=True, repr=False)
class Sm2PrivateKey:
    """An SM2 private scalar d, 1 ≤ d ≤ n−2 (so that 1+d is invertible). `repr` hides the secret."""

    d: int

    def __post_init__(self) -> None:
        if not 1 <= self.d <= N - 2:
            raise SignatureError("SM2 私钥超出有效范围", "the SM2 private key is out of range")

    def __repr__(self) -> str:
        return "Sm2PrivateKey(<secret>)"

    @classmethod
    def generate(cls) -> Sm2PrivateKey:
        return cls(secrets.randbelow(N - 2) + 1)

    @property
    def public_key(self) -> Sm2PublicKey:
        point = _affine(_multiply(self.d, _g_table()))
        assert point is not None  # d < n, so d·G is never infinity
        return Sm2PublicKey(*point)

    def sign(
        self, data: bytes, sm2_id: bytes = DEFAULT_SM2_ID, public_key: Sm2PublicKey | None = None
    ) -> bytes:
        """SM3withSM2 signature over `data`, returned as raw r‖s (64 bytes)."""
        pub = public_key or self.public_key
        e = int.from_bytes(sm3(pub.z_value(sm2_id) + data), "big")
        inv = pow(1 + self.d, -1, N)
        while True:
            k = secrets.randbelow(N - 1) + 1
            point = _affine(_multiply(k, _g_table()))
            assert point is not None
            r = (e + point[0]) % N
            if r == 0 or r + k == N:
                continue
            s = inv * (k - r * self.d) % N
            if s != 0:
                return _int32(r) + _int32(s)


# --- signature encodings ---------------------------------------------------------------------------------


def decode_signature(signature: bytes) -> tuple[int, int]:
    """(r, s) from raw r‖s (64 bytes) or a DER SEQUENCE of two INTEGERs; ValueError otherwise."""
    if len(signature) == 64:
        return int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    return _der_to_rs(signature)


def der_to_raw(signature: bytes) -> bytes:
    """DER SEQUENCE{r, s} → raw r‖s; ValueError if it is not such a structure or r/s exceed 32 bytes."""
    r, s = _der_to_rs(signature)
    if r.bit_length() > 256 or s.bit_length() > 256:
        raise ValueError("SM2 signature component longer than 256 bits")
    return _int32(r) + _int32(s)


def raw_to_der(signature: bytes) -> bytes:
    """Raw r‖s → DER SEQUENCE{INTEGER r, INTEGER s}, the form OpenSSL and Java expect."""
    if len(signature) != 64:
        raise ValueError("a raw SM2 signature is 64 bytes")
    return encode_sequence(
        encode_integer(int.from_bytes(signature[:32], "big")),
        encode_integer(int.from_bytes(signature[32:], "big")),
    )


def _der_to_rs(signature: bytes) -> tuple[int, int]:
    tag, body, end = der_read(signature, 0)  # DerError is a ValueError
    if tag != SEQUENCE or end != len(signature):
        raise ValueError("not a DER SEQUENCE")
    items = der_children(body)
    if len(items) != 2 or any(t != INTEGER or not v or v[0] & 0x80 for t, v in items):
        raise ValueError("not two positive INTEGERs")
    return int.from_bytes(items[0][1], "big"), int.from_bytes(items[1][1], "big")
