"""Loading private keys and X.509 certificates, RSA or SM2, from PEM, DER or a raw hex scalar.

`cryptography` reads RSA keys and the metadata of any certificate, but rejects the SM2 curve for keys and
public keys; for SM2 the PKCS#8 / SEC1 (RFC 5915) key structures and the certificate's SubjectPublicKeyInfo
are read with the small DER walker in `der`.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from cbec.ceb.errors import SignatureError
from cbec.ceb.sign.der import (
    BIT_STRING,
    INTEGER,
    OCTET_STRING,
    OID,
    SEQUENCE,
    DerError,
    decode_oid,
    der_children,
    der_single,
)
from cbec.ceb.sign.sm2 import Sm2PrivateKey, Sm2PublicKey

OID_RSA = "1.2.840.113549.1.1.1"
OID_EC_PUBLIC_KEY = "1.2.840.10045.2.1"
OID_SM2 = "1.2.156.10197.1.301"  # the SM2 curve; some issuers also use it as the key algorithm itself

KeyType = Literal["rsa", "sm2", "other"]
PrivateKey = rsa.RSAPrivateKey | Sm2PrivateKey
PublicKey = rsa.RSAPublicKey | Sm2PublicKey

_PEM = re.compile(
    rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----",
    re.DOTALL,
)
_HEX_SCALAR = re.compile(r"(?:0x)?([0-9a-fA-F]{64})")


@dataclass(frozen=True, slots=True)
class PemBlock:
    label: str
    pem: bytes  # the block as written, for cryptography to decrypt
    der: bytes  # empty for legacy encrypted blocks ("Proc-Type: 4,ENCRYPTED"), which only cryptography reads
    encrypted: bool


def pem_blocks(data: bytes) -> list[PemBlock]:
    """All PEM blocks in `data` (``openssl ecparam -genkey`` writes a parameters block before the key)."""
    blocks: list[PemBlock] = []
    for match in _PEM.finditer(data):
        label = match.group(1).decode("ascii")
        body = match.group(2)
        if b"Proc-Type:" in body:
            blocks.append(PemBlock(label, match.group(0), b"", b"ENCRYPTED" in body))
            continue
        try:
            der = base64.b64decode(b"".join(body.split()), validate=True)
        except binascii.Error as exc:
            raise SignatureError(
                f"PEM 块 {label} 的 Base64 内容无效", f"PEM block {label} is not valid Base64"
            ) from exc
        blocks.append(PemBlock(label, match.group(0), der, label == "ENCRYPTED PRIVATE KEY"))
    return blocks


# --- private keys ----------------------------------------------------------------------------------------


def load_private_key(data: bytes | str, password: bytes | None = None) -> PrivateKey:
    """An RSA or SM2 private key from PEM, DER, or a 64-hex-digit SM2 scalar."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    hex_match = _HEX_SCALAR.fullmatch(data.strip().decode("ascii", errors="replace"))
    if hex_match:
        return Sm2PrivateKey(int(hex_match.group(1), 16))
    if b"-----BEGIN" not in data:
        return _from_der(data, "", password)
    keys = [b for b in pem_blocks(data) if b.label.endswith("PRIVATE KEY")]
    if not keys:
        raise SignatureError("文件中没有 PEM 私钥块", "no PEM private key block found")
    if keys[0].encrypted:
        return _via_cryptography(keys[0].pem, password, pem=True)
    return _from_der(keys[0].der, keys[0].label, password)


def _from_der(der: bytes, label: str, password: bytes | None) -> PrivateKey:
    try:
        shape = _key_shape(der)
    except DerError as exc:
        raise SignatureError(
            "私钥不是可识别的 DER 结构", f"the private key is not a recognisable DER structure: {exc}"
        ) from exc
    if shape == "pkcs8-sm2":
        return _sm2_from_pkcs8(der)
    if shape == "sec1":
        return _sm2_from_sec1(der, require_sm2_params=label == "EC PRIVATE KEY")
    # RSA (PKCS#1 or PKCS#8), an encrypted PKCS#8 DER file, or something cryptography will name for us.
    return _via_cryptography(der, password, pem=False)


def _key_shape(der: bytes) -> str:
    items = der_children(der_single(der, SEQUENCE))
    if len(items) >= 3 and items[0][0] == INTEGER and items[1][0] == SEQUENCE and items[2][0] == OCTET_STRING:
        alg = der_children(items[1][1])
        oid = decode_oid(alg[0][1]) if alg and alg[0][0] == OID else ""
        params = decode_oid(alg[1][1]) if len(alg) > 1 and alg[1][0] == OID else ""
        if oid == OID_SM2 or (oid == OID_EC_PUBLIC_KEY and params == OID_SM2):
            return "pkcs8-sm2"
        return "pkcs8"
    if len(items) >= 2 and items[0] == (INTEGER, b"\x01") and items[1][0] == OCTET_STRING:
        return "sec1"
    return "other"


def _via_cryptography(data: bytes, password: bytes | None, *, pem: bool) -> rsa.RSAPrivateKey:
    try:
        if pem:
            key = serialization.load_pem_private_key(data, password=password)
        else:
            key = serialization.load_der_private_key(data, password=password)
    except UnsupportedAlgorithm as exc:
        raise SignatureError(
            "私钥算法不受支持；加密的 SM2 私钥请先解密：openssl pkey -in 加密私钥.pem -out 私钥.pem",
            "unsupported private key algorithm; decrypt an encrypted SM2 key first: "
            "openssl pkey -in encrypted.pem -out key.pem",
        ) from exc
    except (ValueError, TypeError) as exc:
        raise SignatureError(
            f"私钥无法读取（格式不符或密码错误）：{exc}",
            f"cannot read the private key (format or password): {exc}",
        ) from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise SignatureError(
            "私钥既不是 RSA 也不是 SM2 私钥", "the private key is neither an RSA nor an SM2 key"
        )
    return key


def _sm2_from_pkcs8(der: bytes) -> Sm2PrivateKey:
    items = der_children(der_single(der, SEQUENCE))
    return _sm2_from_sec1(items[2][1], require_sm2_params=False)


def _sm2_from_sec1(der: bytes, *, require_sm2_params: bool) -> Sm2PrivateKey:
    """RFC 5915 ECPrivateKey; refuses another curve, or an embedded public key that is not d·G."""
    try:
        items = der_children(der_single(der, SEQUENCE))
        if len(items) < 2 or items[0] != (INTEGER, b"\x01") or items[1][0] != OCTET_STRING:
            raise DerError("not an ECPrivateKey")
        key = Sm2PrivateKey(int.from_bytes(items[1][1], "big"))
        curve = ""
        embedded: bytes | None = None
        for tag, body in items[2:]:
            if tag == 0xA0:
                curve = decode_oid(der_single(body, OID))
            elif tag == 0xA1:
                embedded = _bit_string(der_single(body, BIT_STRING))
    except DerError as exc:
        raise SignatureError("SM2 私钥结构无效", f"invalid SM2 private key structure: {exc}") from exc
    if (curve and curve != OID_SM2) or (require_sm2_params and not curve):
        raise SignatureError(
            f"EC 私钥的曲线不是 SM2（{curve or '未标明'}）",
            f"the EC private key is not on the SM2 curve ({curve or 'unspecified'})",
        )
    if embedded is not None and Sm2PublicKey.from_bytes(embedded) != key.public_key:
        raise SignatureError(
            "SM2 私钥文件中的公钥与私钥不匹配",
            "the public key inside the SM2 key file does not match the private key",
        )
    return key


def _bit_string(content: bytes) -> bytes:
    if not content or content[0] != 0:
        raise DerError("BIT STRING with unused bits")
    return content[1:]


# --- certificates ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    """What signing and verification need from a certificate: identity, validity and the public key."""

    der: bytes
    serial: int
    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    key_type: KeyType
    public_key: PublicKey | None

    @property
    def serial_hex(self) -> str:
        """Serial as Java's ``BigInteger.toString(16)``: lower case, no leading zeros (the KeyName value)."""
        return format(self.serial, "x")

    def key_name_matches(self, key_name: str) -> bool:
        """KeyName compared as a hex number: u-keys zero-pad it (``03000000000cde6f``), Java does not."""
        text = key_name.strip()
        if not re.fullmatch(r"-?[0-9a-fA-F]+", text):
            return False
        return int(text, 16) == self.serial


def load_certificate(data: bytes | str) -> CertificateInfo:
    """A certificate from PEM or DER (or bare Base64, as in ds:X509Certificate)."""
    if isinstance(data, str):
        data = data.encode("ascii", errors="replace")
    if b"-----BEGIN" in data:
        certs = [b for b in pem_blocks(data) if b.label in ("CERTIFICATE", "X509 CERTIFICATE")]
        if not certs:
            raise SignatureError("文件中没有 PEM 证书块", "no PEM certificate block found")
        der = certs[0].der
    elif data[:1] == b"\x30":
        der = bytes(data)
    else:
        try:
            der = base64.b64decode(b"".join(data.split()), validate=True)
        except binascii.Error as exc:
            raise SignatureError("证书不是有效的 Base64", "the certificate is not valid Base64") from exc
    try:
        cert = x509.load_der_x509_certificate(der)
        serial = cert.serial_number
        subject = cert.subject.rfc4514_string()
        issuer = cert.issuer.rfc4514_string()
        not_before = cert.not_valid_before_utc
        not_after = cert.not_valid_after_utc
    except ValueError as exc:
        raise SignatureError(f"证书无法解析：{exc}", f"the certificate cannot be parsed: {exc}") from exc
    key_type, public_key = _public_key(cert, der)
    return CertificateInfo(der, serial, subject, issuer, not_before, not_after, key_type, public_key)


def _public_key(cert: x509.Certificate, der: bytes) -> tuple[KeyType, PublicKey | None]:
    try:
        key = cert.public_key()
    except (UnsupportedAlgorithm, ValueError):
        key = None
    if isinstance(key, rsa.RSAPublicKey):
        return "rsa", key
    if key is not None:
        return "other", None
    try:
        algorithm, params, point = _spki(der)
    except DerError as exc:
        raise SignatureError(
            "证书公钥结构无效", f"invalid public key structure in the certificate: {exc}"
        ) from exc
    if algorithm == OID_SM2 or (algorithm == OID_EC_PUBLIC_KEY and params == OID_SM2):
        return "sm2", Sm2PublicKey.from_bytes(point)
    return "other", None


def _spki(cert_der: bytes) -> tuple[str, str, bytes]:
    """(algorithm OID, parameters OID or '', key bytes) of the certificate's SubjectPublicKeyInfo."""
    certificate = der_children(der_single(cert_der, SEQUENCE))
    if not certificate or certificate[0][0] != SEQUENCE:
        raise DerError("not a certificate")
    tbs = der_children(certificate[0][1])
    if tbs and tbs[0][0] == 0xA0:  # explicit version
        tbs = tbs[1:]
    # serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo
    if len(tbs) < 6 or tbs[5][0] != SEQUENCE:
        raise DerError("no SubjectPublicKeyInfo")
    spki = der_children(tbs[5][1])
    if len(spki) != 2 or spki[0][0] != SEQUENCE or spki[1][0] != BIT_STRING:
        raise DerError("malformed SubjectPublicKeyInfo")
    alg = der_children(spki[0][1])
    if not alg or alg[0][0] != OID:
        raise DerError("malformed AlgorithmIdentifier")
    params = decode_oid(alg[1][1]) if len(alg) > 1 and alg[1][0] == OID else ""
    return decode_oid(alg[0][1]), params, _bit_string(spki[1][1])


def private_key_type(key: PrivateKey) -> KeyType:
    return "rsa" if isinstance(key, rsa.RSAPrivateKey) else "sm2"


def key_matches_certificate(key: PrivateKey, cert: CertificateInfo) -> bool:
    """True when the certificate carries the public half of `key` (catches swapped key/cert files)."""
    if isinstance(key, rsa.RSAPrivateKey):
        return isinstance(cert.public_key, rsa.RSAPublicKey) and (
            cert.public_key.public_numbers() == key.public_key().public_numbers()
        )
    return isinstance(cert.public_key, Sm2PublicKey) and cert.public_key == key.public_key


def self_signed_rsa(
    common_name: str,
    *,
    organization: str | None = None,
    serial: int | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    key_size: int = 2048,
) -> tuple[bytes, bytes]:
    """(key PEM, certificate PEM): an RSA key with a self-signed certificate, for demos and tests.

    Customs accepts only certificates its data centre issues; this one proves nothing about anyone."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, "CN")]
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    name = x509.Name(attributes)
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(days=1))
        .not_valid_after(not_after or now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)
