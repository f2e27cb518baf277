"""Who holds the key. `Signer` is the seam where a u-key, a server crypto device or a software key plugs in.

The XML side (`xmldsig`) only ever hands a signer the canonical SignedInfo bytes and takes back the raw
signature value, so a hardware signer needs nothing else from this package.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from cbec.ceb.errors import SignatureError
from cbec.ceb.sign.algorithms import Algorithm
from cbec.ceb.sign.keys import (
    CertificateInfo,
    key_matches_certificate,
    load_certificate,
    load_private_key,
)
from cbec.ceb.sign.sm2 import DEFAULT_SM2_ID, Sm2PrivateKey


@runtime_checkable
class Signer(Protocol):
    """Signs canonical SignedInfo bytes.

    `sign` returns the raw signature value: the PKCS#1 v1.5 block for RSA, r‖s (64 bytes) for SM2 (a DER
    SM2 signature is accepted too and converted). An SM2 signer hashes with SM3withSM2 itself, Z value
    included, as u-keys and crypto devices do. A signer may also expose ``sm2_id: bytes`` when it does not
    use the default distinguishing ID, so the signature can be checked after signing.
    """

    @property
    def algorithm(self) -> Algorithm: ...

    @property
    def certificate_der(self) -> bytes: ...

    def sign(self, data: bytes) -> bytes: ...


def _certificate_for(key: rsa.RSAPrivateKey | Sm2PrivateKey, certificate: bytes) -> CertificateInfo:
    cert = load_certificate(certificate)
    if not key_matches_certificate(key, cert):
        raise SignatureError(
            f"私钥与证书（序列号 {cert.serial_hex}）不匹配",
            f"the private key does not belong to the certificate (serial {cert.serial_hex})",
        )
    return cert


class _SoftwareSigner:
    """What both software signers share: the certificate that goes into KeyInfo."""

    _cert: CertificateInfo

    @property
    def certificate_der(self) -> bytes:
        return self._cert.der

    @property
    def certificate(self) -> CertificateInfo:
        return self._cert


class RsaSoftwareSigner(_SoftwareSigner):
    """RSA private key in memory, SHA1withRSA (PKCS#1 v1.5) as the ``rsa-sha1`` SignatureMethod requires."""

    def __init__(self, private_key: rsa.RSAPrivateKey, certificate: bytes) -> None:
        self._key = private_key
        self._cert = _certificate_for(private_key, certificate)

    @property
    def algorithm(self) -> Algorithm:
        return Algorithm.RSA_SHA1

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data, padding.PKCS1v15(), hashes.SHA1())


class Sm2SoftwareSigner(_SoftwareSigner):
    """SM2 private key in memory, SM3withSM2 with the GM/T 0009 Z value; returns raw r‖s."""

    def __init__(
        self,
        private_key: Sm2PrivateKey | int,
        certificate: bytes,
        *,
        algorithm: Algorithm | str = Algorithm.SM2_SM3,
        sm2_id: bytes = DEFAULT_SM2_ID,
    ) -> None:
        self._key = private_key if isinstance(private_key, Sm2PrivateKey) else Sm2PrivateKey(private_key)
        self._cert = _certificate_for(self._key, certificate)
        self._public = self._key.public_key
        self._algorithm = Algorithm.parse(algorithm)
        if self._algorithm.key_type != "sm2":
            raise SignatureError(
                f"SM2 私钥不能使用 {self._algorithm} 算法", f"an SM2 key cannot sign with {self._algorithm}"
            )
        self.sm2_id = sm2_id

    @property
    def algorithm(self) -> Algorithm:
        return self._algorithm

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data, self.sm2_id, self._public)


def load_signer(
    key_path: str | Path,
    cert_path: str | Path,
    algorithm: Algorithm | str | None = None,
    *,
    password: bytes | None = None,
    sm2_id: bytes = DEFAULT_SM2_ID,
) -> RsaSoftwareSigner | Sm2SoftwareSigner:
    """A software signer from key and certificate files; RSA or SM2 is read from the key itself.

    Without `algorithm`, RSA keys sign ``rsa-sha1`` and SM2 keys ``sm2-sm3`` (the spec's preferred URIs).
    """
    key_bytes = _read(key_path, "私钥", "private key")
    cert_bytes = _read(cert_path, "证书", "certificate")
    key = load_private_key(key_bytes, password)
    chosen = Algorithm.parse(algorithm) if algorithm is not None else None
    if isinstance(key, rsa.RSAPrivateKey):
        if chosen not in (None, Algorithm.RSA_SHA1):
            raise SignatureError(f"RSA 私钥不能使用 {chosen} 算法", f"an RSA key cannot sign with {chosen}")
        return RsaSoftwareSigner(key, cert_bytes)
    return Sm2SoftwareSigner(key, cert_bytes, algorithm=chosen or Algorithm.SM2_SM3, sm2_id=sm2_id)


def _read(path: str | Path, what_zh: str, what_en: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise SignatureError(
            f"无法读取{what_zh}文件 {path}：{exc.strerror}",
            f"cannot read the {what_en} file {path}: {exc.strerror}",
        ) from exc
