"""Test-only keys, certificates and CEB messages for the signature tests.

RSA identities come from `cryptography`; SM2 ones from the OpenSSL command line (an independent
implementation), so the SM2 code under test never generates its own test material.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from cbec.ceb.sign import self_signed_rsa

SM2_ID = "1234567812345678"


@dataclass(frozen=True)
class Identity:
    """A private key file, its certificate file, and facts the tests compare against."""

    key_path: Path
    cert_path: Path
    cert_der: bytes
    serial: int
    not_before: datetime
    not_after: datetime


# --- RSA -------------------------------------------------------------------------------------------------


def make_rsa_identity(
    folder: Path,
    *,
    serial: int = 0x0123ABCD,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    key_size: int = 2048,
) -> Identity:
    """RSA key and self-signed certificate (SHA-256 signed), written as PEM files in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    key_pem, cert_pem = self_signed_rsa(
        "cbec rsa test",
        organization="测试企业",
        serial=serial,
        not_before=not_before,
        not_after=not_after,
        key_size=key_size,
    )
    cert = x509.load_pem_x509_certificate(cert_pem)
    key_path = folder / "rsa_key.pem"
    cert_path = folder / "rsa_cert.pem"
    key_path.write_bytes(key_pem)
    cert_path.write_bytes(cert_pem)
    return Identity(
        key_path,
        cert_path,
        cert.public_bytes(serialization.Encoding.DER),
        serial,
        cert.not_valid_before_utc,
        cert.not_valid_after_utc,
    )


# --- SM2 through the OpenSSL CLI -------------------------------------------------------------------------


@cache
def openssl_sm2_problem() -> str | None:
    """Why the OpenSSL CLI cannot be used for SM2 here, or None when it can."""
    exe = shutil.which("openssl")
    if exe is None:
        return "the openssl command is not installed"
    curves = subprocess.run([exe, "ecparam", "-list_curves"], capture_output=True, text=True, check=False)
    if "SM2" not in curves.stdout:
        return "this openssl build has no SM2 curve"
    return None


def require_openssl_sm2() -> str:
    """Path of `openssl`, or skip the calling test with the reason."""
    problem = openssl_sm2_problem()
    if problem is not None:
        pytest.skip(f"needs OpenSSL with SM2/SM3: {problem}")
    exe = shutil.which("openssl")
    assert exe is not None
    return exe


def openssl(*args: str | Path, cwd: Path | None = None, input_bytes: bytes | None = None) -> bytes:
    """Run `openssl` and return stdout; a failure shows OpenSSL's own message."""
    exe = require_openssl_sm2()
    done = subprocess.run(
        [exe, *map(str, args)], capture_output=True, cwd=cwd, input=input_bytes, check=False
    )
    if done.returncode != 0:
        raise AssertionError(
            f"openssl {' '.join(map(str, args))} failed: {done.stderr.decode(errors='replace')}"
        )
    return done.stdout


def make_sm2_identity(folder: Path, *, days: int = 30, genkey: str = "genpkey") -> Identity:
    """SM2 key (``genpkey`` → PKCS#8, ``ecparam`` → parameters block + key) and a self-signed SM3 cert."""
    folder.mkdir(parents=True, exist_ok=True)
    key_path = folder / "sm2_key.pem"
    cert_path = folder / "sm2_cert.pem"
    if genkey == "genpkey":
        openssl("genpkey", "-algorithm", "ec", "-pkeyopt", "ec_paramgen_curve:SM2", "-out", key_path)
    else:
        openssl("ecparam", "-name", "SM2", "-genkey", "-out", key_path)
    openssl(
        "req", "-new", "-x509", "-key", key_path, "-sm3", "-sigopt", f"distid:{SM2_ID}",
        "-subj", "/C=CN/O=cbec/CN=sm2 test", "-days", str(days), "-out", cert_path,
    )  # fmt: skip
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())  # metadata only: SM2 keys are unsupported
    return Identity(
        key_path,
        cert_path,
        cert.public_bytes(serialization.Encoding.DER),
        cert.serial_number,
        cert.not_valid_before_utc,
        cert.not_valid_after_utc,
    )


def openssl_private_scalar(key_path: Path) -> int:
    """The private scalar as OpenSSL prints it (``priv:`` hex lines), an oracle for our key parser."""
    text = openssl("pkey", "-in", key_path, "-text", "-noout").decode()
    match = re.search(r"priv:\s*\n((?:\s+[0-9a-f:]+\n)+)", text)
    assert match, text
    return int(re.sub(r"[\s:]", "", match.group(1)), 16)


# --- messages --------------------------------------------------------------------------------------------

CEB_NS = "http://www.chinaport.gov.cn/ceb"

IMPORT_MESSAGE = """<?xml version="1.0" encoding="UTF-8"?>
<ceb:CEB311Message xmlns:ceb="http://www.chinaport.gov.cn/ceb" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" \
guid="4CDE1CFD-EDED-46B1-946C-B8022E42FC94" version="1.0">
\t<ceb:Order>
\t\t<ceb:OrderHead>
\t\t\t<ceb:guid>4CDE1CFD-EDED-46B1-946C-B8022E42FC94</ceb:guid>
\t\t\t<ceb:appType>1</ceb:appType>
\t\t\t<ceb:appTime>20240308112701</ceb:appTime>
\t\t\t<ceb:appStatus>2</ceb:appStatus>
\t\t\t<ceb:orderType>I</ceb:orderType>
\t\t\t<ceb:orderNo>order20240321116421002</ceb:orderNo>
\t\t\t<ceb:ebpCode>1105910159</ceb:ebpCode>
\t\t\t<ceb:ebpName>东方物通科技(北京)有限公司</ceb:ebpName>
\t\t\t<ceb:goodsValue>14000</ceb:goodsValue>
\t\t\t<ceb:freight>5000</ceb:freight>
\t\t\t<ceb:discount>0</ceb:discount>
\t\t\t<ceb:taxTotal>50</ceb:taxTotal>
\t\t\t<ceb:acturalPaid>19050</ceb:acturalPaid>
\t\t\t<ceb:currency>142</ceb:currency>
\t\t\t<ceb:consignee>焦洪宇</ceb:consignee>
\t\t\t<ceb:note>R&amp;D &lt;样品&gt;</ceb:note>
\t\t</ceb:OrderHead>
\t\t<ceb:OrderList>
\t\t\t<ceb:gnum>1</ceb:gnum>
\t\t\t<ceb:itemNo>AF001-001</ceb:itemNo>
\t\t\t<ceb:itemName>奶粉</ceb:itemName>
\t\t\t<ceb:qty>100</ceb:qty>
\t\t\t<ceb:price>140</ceb:price>
\t\t\t<ceb:totalPrice>14000</ceb:totalPrice>
\t\t</ceb:OrderList>
\t</ceb:Order>
\t<ceb:BaseTransfer>
\t\t<ceb:copCode>1105910159</ceb:copCode>
\t\t<ceb:copName>东方物通科技(北京)有限公司</ceb:copName>
\t\t<ceb:dxpMode>DXP</ceb:dxpMode>
\t\t<ceb:dxpId>DXPENT0000011951</ceb:dxpId>
\t\t<ceb:note>test</ceb:note>
\t</ceb:BaseTransfer>
\t<ceb:ExtendMessage>
\t\t<ceb:name>cbec</ceb:name>
\t\t<ceb:version>1.0</ceb:version>
\t\t<ceb:Message>extra</ceb:Message>
\t</ceb:ExtendMessage>
</ceb:CEB311Message>
""".encode()

EXPORT_MESSAGE = """<?xml version="1.0" encoding="UTF-8"?>
<ceb:CEB303Message xmlns:ceb="http://www.chinaport.gov.cn/ceb" guid="311af125-6fed-4603-8c5d-49b1fa4b4b9b" \
version="1.0">
\t<ceb:Order>
\t\t<ceb:OrderHead>
\t\t\t<ceb:guid>311af125-6fed-4603-8c5d-49b1fa4b4b9b</ceb:guid>
\t\t\t<ceb:appType>1</ceb:appType>
\t\t\t<ceb:appTime>20240308112701</ceb:appTime>
\t\t\t<ceb:appStatus>2</ceb:appStatus>
\t\t\t<ceb:orderType>E</ceb:orderType>
\t\t\t<ceb:orderNo>E20240321116421002</ceb:orderNo>
\t\t\t<ceb:goodsValue>300</ceb:goodsValue>
\t\t\t<ceb:currency>142</ceb:currency>
\t\t</ceb:OrderHead>
\t\t<ceb:OrderList>
\t\t\t<ceb:gnum>1</ceb:gnum>
\t\t\t<ceb:itemName>茶叶</ceb:itemName>
\t\t\t<ceb:qty>3</ceb:qty>
\t\t\t<ceb:price>100</ceb:price>
\t\t\t<ceb:totalPrice>300</ceb:totalPrice>
\t\t</ceb:OrderList>
\t</ceb:Order>
\t<ceb:BaseTransfer>
\t\t<ceb:copCode>4403169D3W</ceb:copCode>
\t\t<ceb:dxpMode>DXP</ceb:dxpMode>
\t\t<ceb:dxpId>DXPENT0000012345</ceb:dxpId>
\t</ceb:BaseTransfer>
\t<ceb:ExtendMessage>
\t\t<ceb:name>cbec</ceb:name>
\t\t<ceb:version>1.0</ceb:version>
\t\t<ceb:Message>extra</ceb:Message>
\t</ceb:ExtendMessage>
</ceb:CEB303Message>
""".encode()

SIGNATURE_RE = re.compile(rb"<ds:Signature .*?</ds:Signature>", re.DOTALL)


def strip_signature(signed: bytes) -> bytes:
    """The signed bytes with the ds:Signature element cut out textually."""
    stripped, count = SIGNATURE_RE.subn(b"", signed)
    assert count == 1, count
    return stripped
