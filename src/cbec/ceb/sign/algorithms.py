"""The signature algorithms CEB messages use, with their exact XML-DSig URIs.

Three combinations exist: the spec's two (RSA-SHA1 and the chinaport 2022/04 SM2/SM3 URIs) and the one
u-key based signers send in production (a w3.org-namespaced ``sm2-sm3`` URI with a SHA-1 document digest).
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Literal

from cbec.ceb.errors import SignatureError
from cbec.ceb.sign.sm2 import sm3

C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
C14N_WITH_COMMENTS = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"

RSA_SHA1_URI = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
SHA1_URI = "http://www.w3.org/2000/09/xmldsig#sha1"
SM2_SM3_URI = "http://www.chinaport.gov.cn/2022/04/xmldsig#sm2-sm3"
SM3_URI = "http://www.chinaport.gov.cn/2022/04/xmldsig#sm3"
W3_SM2_SM3_URI = "http://www.w3.org/2000/09/xmldsig#sm2-sm3"

DigestName = Literal["sha1", "sm3"]

_URIS: dict[str, tuple[str, str, DigestName]] = {
    # name: (SignatureMethod, DigestMethod, document digest)
    "rsa-sha1": (RSA_SHA1_URI, SHA1_URI, "sha1"),
    "sm2-sm3": (SM2_SM3_URI, SM3_URI, "sm3"),
    "sm2-sha1": (W3_SM2_SM3_URI, SHA1_URI, "sha1"),
}


class Algorithm(StrEnum):
    """Which signature a message carries. The SignedInfo of every SM2 variant is signed with SM3withSM2."""

    RSA_SHA1 = "rsa-sha1"
    SM2_SM3 = "sm2-sm3"
    SM2_SHA1 = "sm2-sha1"

    @property
    def signature_uri(self) -> str:
        return _URIS[self.value][0]

    @property
    def digest_uri(self) -> str:
        return _URIS[self.value][1]

    @property
    def digest_name(self) -> DigestName:
        return _URIS[self.value][2]

    @property
    def key_type(self) -> Literal["rsa", "sm2"]:
        return "rsa" if self is Algorithm.RSA_SHA1 else "sm2"

    def digest(self, data: bytes) -> bytes:
        """The Reference digest over the canonical document."""
        if self.digest_name == "sm3":
            return sm3(data)
        return hashlib.sha1(data).digest()

    @classmethod
    def from_uris(cls, signature_uri: str, digest_uri: str) -> Algorithm | None:
        """The algorithm a SignatureMethod/DigestMethod pair names, or None for any other pair."""
        for algorithm in cls:
            if (algorithm.signature_uri, algorithm.digest_uri) == (signature_uri, digest_uri):
                return algorithm
        return None

    @classmethod
    def parse(cls, value: Algorithm | str) -> Algorithm:
        """Accept ``rsa-sha1``, ``SM2_SM3``, ``sm2-sha1`` … from configuration or the command line."""
        if isinstance(value, Algorithm):
            return value
        key = value.strip().lower().replace("_", "-")
        try:
            return cls(key)
        except ValueError:
            names = "、".join(a.value for a in cls)
            raise SignatureError(
                f"不支持的签名算法 {value!r}，可选：{names}",
                f"unsupported signature algorithm {value!r}; choose one of {', '.join(a.value for a in cls)}",
            ) from None
