"""Enveloped XML signatures for CEB messages (加签/验签): RSA-SHA1 and SM2/SM3, software keys or devices.

`sign_message` and `verify_message` are the entry points; `Signer` is the protocol a u-key or crypto
device implements; `load_signer` builds a software signer from key and certificate files.
"""

from cbec.ceb.sign.algorithms import Algorithm
from cbec.ceb.sign.keys import CertificateInfo, load_certificate, load_private_key, self_signed_rsa
from cbec.ceb.sign.signer import RsaSoftwareSigner, Signer, Sm2SoftwareSigner, load_signer
from cbec.ceb.sign.sm2 import DEFAULT_SM2_ID, Sm2PrivateKey, Sm2PublicKey, sm3
from cbec.ceb.sign.xmldsig import SignatureProblem, VerifyResult, sign_message, verify_message

__all__ = [
    "DEFAULT_SM2_ID",
    "Algorithm",
    "CertificateInfo",
    "RsaSoftwareSigner",
    "SignatureProblem",
    "Signer",
    "Sm2PrivateKey",
    "Sm2PublicKey",
    "Sm2SoftwareSigner",
    "VerifyResult",
    "load_certificate",
    "load_private_key",
    "load_signer",
    "self_signed_rsa",
    "sign_message",
    "sm3",
    "verify_message",
]
