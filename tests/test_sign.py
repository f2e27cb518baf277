"""Signing and verifying CEB messages: round trips, tampering, and agreement with independent verifiers.

Independent checks: signxml and xmlsec1 for RSA signatures; the OpenSSL CLI for SM2 (both directions)
and for the SM2 keys and certificates themselves.
"""

from __future__ import annotations

import base64
import functools
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from cbec.ceb.errors import SignatureError, XmlRefused
from cbec.ceb.sign import (
    DEFAULT_SM2_ID,
    Algorithm,
    RsaSoftwareSigner,
    Signer,
    Sm2PrivateKey,
    Sm2PublicKey,
    Sm2SoftwareSigner,
    load_certificate,
    load_private_key,
    load_signer,
    sign_message,
    sm3,
    verify_message,
)
from cbec.ceb.sign.sm2 import der_to_raw, raw_to_der, sm3_pure
from sign_helpers import (
    EXPORT_MESSAGE,
    IMPORT_MESSAGE,
    SM2_ID,
    Identity,
    make_rsa_identity,
    make_sm2_identity,
    openssl,
    openssl_private_scalar,
    openssl_sm2_problem,
    strip_signature,
)

DS = "http://www.w3.org/2000/09/xmldsig#"
CEB = "http://www.chinaport.gov.cn/ceb"
needs_openssl = pytest.mark.skipif(
    openssl_sm2_problem() is not None, reason=f"needs OpenSSL with SM2/SM3: {openssl_sm2_problem()}"
)


# --- fixtures --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def rsa_identity(tmp_path_factory: pytest.TempPathFactory) -> Identity:
    return make_rsa_identity(tmp_path_factory.mktemp("rsa"))


class Signers:
    """One software signer per algorithm. SM2 identities are made on first use, so that RSA tests still
    run (and only SM2 tests skip) on a machine without an SM2-capable openssl."""

    def __init__(self, rsa_identity: Identity, folder: Path) -> None:
        self.rsa_identity = rsa_identity
        self.folder = folder
        self._cache: Signers = {}

    def __getitem__(self, algorithm: Algorithm) -> Signer:
        if algorithm not in self._cache:
            if algorithm is Algorithm.RSA_SHA1:
                self._cache[algorithm] = load_signer(self.rsa_identity.key_path, self.rsa_identity.cert_path)
            else:
                ident = self.sm2_identity()
                self._cache[algorithm] = load_signer(ident.key_path, ident.cert_path, algorithm)
        return self._cache[algorithm]

    @functools.cache  # noqa: B019 - one instance per test session
    def sm2_identity(self) -> Identity:
        if openssl_sm2_problem() is not None:
            pytest.skip(f"needs OpenSSL with SM2/SM3: {openssl_sm2_problem()}")
        return make_sm2_identity(self.folder)

    def items(self) -> list[tuple[Algorithm, Signer]]:
        return [(algorithm, self[algorithm]) for algorithm in Algorithm]


@pytest.fixture(scope="session")
def sm2_identity(signers: Signers) -> Identity:
    return signers.sm2_identity()


@pytest.fixture(scope="session")
def signers(rsa_identity: Identity, tmp_path_factory: pytest.TempPathFactory) -> Signers:
    return Signers(rsa_identity, tmp_path_factory.mktemp("sm2"))


@dataclass
class RecordingSigner:
    """Delegates to another signer and keeps what it was asked to sign (the canonical SignedInfo)."""

    inner: Signer
    seen: list[bytes] = field(default_factory=list)

    @property
    def algorithm(self) -> Algorithm:
        return self.inner.algorithm

    @property
    def certificate_der(self) -> bytes:
        return self.inner.certificate_der

    @property
    def sm2_id(self) -> bytes:
        """Forwarded so that sign_message checks the signature with the ID the inner signer uses."""
        value = getattr(self.inner, "sm2_id", DEFAULT_SM2_ID)
        assert isinstance(value, bytes)
        return value

    def sign(self, data: bytes) -> bytes:
        self.seen.append(data)
        return self.inner.sign(data)


def children(xml: bytes) -> list[str]:
    root = etree.fromstring(xml)
    return [etree.QName(child).localname for child in root if isinstance(child.tag, str)]


def replace_text(xml: bytes, tag: str, new_text: str) -> bytes:
    """Edit one element's text on the parsed document and serialize again (as an attacker would)."""
    root = etree.fromstring(xml)
    element = root.find(f".//{tag}", namespaces={"ceb": CEB, "ds": DS})
    assert element is not None, tag
    element.text = new_text
    return etree.tostring(root.getroottree(), encoding="UTF-8", xml_declaration=True)


def signature_text(xml: bytes, tag: str) -> str:
    element = etree.fromstring(xml).find(f".//ds:{tag}", namespaces={"ds": DS})
    assert element is not None and element.text is not None
    return element.text


# --- SM3 and SM2 primitives ------------------------------------------------------------------------------

SM3_ABC = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
SM3_ABCD16 = "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"


@pytest.mark.parametrize("digest", [sm3, sm3_pure], ids=["openssl", "gmssl"])
def test_sm3_standard_vectors(digest: object) -> None:
    assert callable(digest)
    assert digest(b"abc").hex() == SM3_ABC
    assert digest(b"abcd" * 16).hex() == SM3_ABCD16


def test_sm2_sign_verify_and_reject_other_data_or_id() -> None:
    key = Sm2PrivateKey.generate()
    signature = key.sign(b"payload")
    assert len(signature) == 64
    assert key.public_key.verify(signature, b"payload")
    assert not key.public_key.verify(signature, b"payloae")
    assert not key.public_key.verify(signature, b"payload", sm2_id=b"8765432187654321")  # same length
    assert not key.public_key.verify(signature, b"payload", sm2_id=b"another-id")
    custom = key.sign(b"payload", sm2_id=b"8765432187654321")
    assert key.public_key.verify(custom, b"payload", sm2_id=b"8765432187654321")
    assert not key.public_key.verify(custom, b"payload")
    assert key.public_key.verify(raw_to_der(signature), b"payload")  # DER accepted as well
    assert not Sm2PrivateKey.generate().public_key.verify(signature, b"payload")


def test_sm2_public_key_encodings() -> None:
    public = Sm2PrivateKey.generate().public_key
    encoded = public.to_bytes()
    compressed = bytes([2 + (public.y & 1)]) + encoded[1:33]
    assert Sm2PublicKey.from_bytes(encoded) == Sm2PublicKey.from_bytes(encoded[1:]) == public
    assert Sm2PublicKey.from_bytes(compressed) == public
    with pytest.raises(SignatureError):
        Sm2PublicKey.from_bytes(encoded[:-1] + bytes([encoded[-1] ^ 1]))  # not on the curve


@given(st.binary(min_size=64, max_size=64))
def test_raw_der_round_trip(raw: bytes) -> None:
    der = raw_to_der(raw)
    assert der[0] == 0x30
    assert der_to_raw(der) == raw


def test_der_to_raw_rejects_junk() -> None:
    for junk in (
        b"",
        b"\x30\x00",
        b"\x30\x03\x02\x01\x01",
        b"\x04\x02\x01\x01",
        raw_to_der(bytes(64)) + b"x",
    ):
        with pytest.raises(ValueError):
            der_to_raw(junk)


# --- keys and certificates -------------------------------------------------------------------------------


@needs_openssl
@pytest.mark.parametrize("genkey", ["genpkey", "ecparam"])
def test_sm2_key_formats_match_openssl(tmp_path: Path, genkey: str) -> None:
    """PKCS#8, params block + key, SEC1 (`openssl ec`), DER and a raw hex scalar all give OpenSSL's key."""
    ident = make_sm2_identity(tmp_path, genkey=genkey)
    expected = openssl_private_scalar(ident.key_path)
    sec1 = openssl("ec", "-in", ident.key_path)
    assert b"PRIVATE KEY-----" in sec1
    der = openssl("pkey", "-in", ident.key_path, "-outform", "DER")
    variants: list[bytes | str] = [ident.key_path.read_bytes(), sec1, der, f"{expected:064x}"]
    for variant in variants:
        key = load_private_key(variant)
        assert isinstance(key, Sm2PrivateKey)
        assert key.d == expected
    cert = load_certificate(ident.cert_path.read_bytes())
    assert cert.key_type == "sm2"
    assert cert.public_key == Sm2PrivateKey(expected).public_key
    assert cert.serial == ident.serial and cert.serial_hex == format(ident.serial, "x")


def test_rsa_key_and_certificate(rsa_identity: Identity) -> None:
    cert = load_certificate(rsa_identity.cert_der)
    assert cert.key_type == "rsa"
    assert cert.serial_hex == "123abcd"  # Java BigInteger.toString(16): no leading zeros
    assert cert.key_name_matches("0123ABCD") and not cert.key_name_matches("123abce")
    assert isinstance(load_signer(rsa_identity.key_path, rsa_identity.cert_path), RsaSoftwareSigner)


def test_key_and_certificate_must_belong_together(tmp_path: Path, rsa_identity: Identity) -> None:
    other = make_rsa_identity(tmp_path)
    with pytest.raises(SignatureError, match="不匹配"):
        load_signer(rsa_identity.key_path, other.cert_path)


def test_load_signer_picks_algorithm(signers: Signers, rsa_identity: Identity) -> None:
    assert isinstance(signers[Algorithm.SM2_SM3], Sm2SoftwareSigner)
    assert all(signer.algorithm == algorithm for algorithm, signer in signers.items())
    assert all(isinstance(signer, Signer) for _, signer in signers.items())
    with pytest.raises(SignatureError):
        load_signer(rsa_identity.key_path, rsa_identity.cert_path, "sm2-sm3")
    with pytest.raises(SignatureError):
        load_signer(rsa_identity.key_path, rsa_identity.cert_path, "dsa-md5")


def test_unreadable_key_is_a_signature_error(tmp_path: Path, rsa_identity: Identity) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises(SignatureError):
        load_signer(bad, rsa_identity.cert_path)
    with pytest.raises(SignatureError):
        load_signer(tmp_path / "missing.pem", rsa_identity.cert_path)


def test_encrypted_keys(tmp_path: Path, rsa_identity: Identity) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    rsa_key = load_private_key(rsa_identity.key_path.read_bytes())
    assert isinstance(rsa_key, rsa.RSAPrivateKey)
    encrypted = tmp_path / "rsa_encrypted.pem"
    encrypted.write_bytes(
        rsa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"88888888"),
        )
    )
    signer = load_signer(encrypted, rsa_identity.cert_path, password=b"88888888")
    assert verify_message(sign_message(IMPORT_MESSAGE, signer)).valid
    with pytest.raises(SignatureError):
        load_signer(encrypted, rsa_identity.cert_path, password=b"wrong")


@needs_openssl
def test_encrypted_sm2_key_gives_a_hint(sm2_identity: Identity, tmp_path: Path) -> None:
    encrypted = openssl("pkey", "-in", sm2_identity.key_path, "-aes256", "-passout", "pass:88888888")
    with pytest.raises(SignatureError, match="openssl pkey"):
        load_private_key(encrypted, password=b"88888888")


def test_failing_device_is_a_signature_error(signers: Signers) -> None:
    class Unplugged:
        algorithm = Algorithm.SM2_SM3
        certificate_der = signers[Algorithm.SM2_SM3].certificate_der

        def sign(self, data: bytes) -> bytes:
            raise OSError("u-key not found")

    with pytest.raises(SignatureError, match="u-key not found"):
        sign_message(IMPORT_MESSAGE, Unplugged())


# --- round trips and placement ---------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_import_round_trip(signers: Signers, algorithm: Algorithm) -> None:
    signed = sign_message(IMPORT_MESSAGE, signers[algorithm])
    assert signed.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<ceb:CEB311Message')
    assert children(signed)[-2:] == ["ExtendMessage", "Signature"]
    # Nothing else is reformatted: cutting the signature out gives back the original text.
    assert strip_signature(signed).rstrip(b"\n") == IMPORT_MESSAGE.rstrip(b"\n")
    root = etree.fromstring(signed)
    method = root.find("ds:Signature/ds:SignedInfo/ds:SignatureMethod", namespaces={"ds": DS})
    digest = root.find("ds:Signature/ds:SignedInfo/ds:Reference/ds:DigestMethod", namespaces={"ds": DS})
    assert method is not None and method.get("Algorithm") == algorithm.signature_uri
    assert digest is not None and digest.get("Algorithm") == algorithm.digest_uri
    expected_size = 20 if algorithm.digest_name == "sha1" else 32
    assert len(base64.b64decode(signature_text(signed, "DigestValue"))) == expected_size
    if algorithm.key_type == "sm2":
        assert len(base64.b64decode(signature_text(signed, "SignatureValue"))) == 64  # raw r‖s

    result = verify_message(signed)
    assert result.valid, result
    assert result.code is None and result.problems == ()
    assert result.algorithm == algorithm
    assert result.digest_ok and result.signature_ok and result.key_name_matches
    cert = load_certificate(signers[algorithm].certificate_der)
    assert result.key_name == result.cert_serial == cert.serial_hex
    assert result.cert_subject == cert.subject and result.not_after == cert.not_after


@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_export_signature_goes_before_extend_message(signers: Signers, algorithm: Algorithm) -> None:
    signed = sign_message(EXPORT_MESSAGE, signers[algorithm])
    assert children(signed)[-3:] == ["BaseTransfer", "Signature", "ExtendMessage"]
    assert strip_signature(signed).rstrip(b"\n") == EXPORT_MESSAGE.rstrip(b"\n")
    assert verify_message(signed).valid


def test_export_without_extend_message_appends(signers: Signers) -> None:
    root = etree.fromstring(EXPORT_MESSAGE)
    extend = root.find("ceb:ExtendMessage", namespaces={"ceb": CEB})
    assert extend is not None
    root.remove(extend)
    signed = sign_message(etree.tostring(root), signers[Algorithm.RSA_SHA1])
    assert children(signed)[-2:] == ["BaseTransfer", "Signature"]
    assert verify_message(signed).valid


def test_resigning_replaces_the_signature(signers: Signers) -> None:
    rsa_signer = signers[Algorithm.RSA_SHA1]
    once = sign_message(IMPORT_MESSAGE, rsa_signer)
    assert sign_message(once, rsa_signer) == once  # PKCS#1 v1.5 is deterministic; no whitespace piles up
    switched = sign_message(once, signers[Algorithm.SM2_SM3])
    assert children(switched).count("Signature") == 1
    assert verify_message(switched).algorithm == Algorithm.SM2_SM3
    # An export message signed in the wrong place is moved to where the XSD wants it.
    misplaced = etree.fromstring(sign_message(EXPORT_MESSAGE, rsa_signer))
    signature = misplaced.find("ds:Signature", namespaces={"ds": DS})
    assert signature is not None
    misplaced.append(signature)
    fixed = sign_message(etree.tostring(misplaced), rsa_signer)
    assert children(fixed)[-2:] == ["Signature", "ExtendMessage"]


def test_signed_info_is_canonicalized_in_document_context(signers: Signers) -> None:
    recorder = RecordingSigner(signers[Algorithm.SM2_SM3])
    sign_message(IMPORT_MESSAGE, recorder)
    (data,) = recorder.seen
    assert data.startswith(
        b'<ds:SignedInfo xmlns:ceb="http://www.chinaport.gov.cn/ceb" xmlns:ds="http://www.w3.org/2000/09/xmldsig#"'
        b' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    )


def test_text_input_and_other_encodings(signers: Signers) -> None:
    gbk = IMPORT_MESSAGE.decode().replace('encoding="UTF-8"', 'encoding="GBK"').encode("gbk")
    signed = sign_message(gbk, signers[Algorithm.SM2_SM3])
    assert signed.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert "焦洪宇" in signed.decode("utf-8")
    assert verify_message(signed).valid
    assert verify_message(signed.decode("utf-8")).valid  # str input


# --- tampering and the DXP codes -------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_changed_amount_is_1004(signers: Signers, algorithm: Algorithm) -> None:
    signed = sign_message(IMPORT_MESSAGE, signers[algorithm])
    tampered = replace_text(signed, "ceb:acturalPaid", "1.00")
    result = verify_message(tampered)
    assert not result.valid
    assert result.code == "1004"
    assert result.digest_ok is False and result.signature_ok is True
    assert "签名与数据不符" in result.reason_zh


@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_changed_signature_value_is_1001(signers: Signers, algorithm: Algorithm) -> None:
    signed = sign_message(IMPORT_MESSAGE, signers[algorithm])
    value = bytearray(base64.b64decode(signature_text(signed, "SignatureValue")))
    value[len(value) // 2] ^= 0x01
    tampered = replace_text(signed, "ds:SignatureValue", base64.b64encode(bytes(value)).decode())
    result = verify_message(tampered)
    assert (result.valid, result.code, result.digest_ok, result.signature_ok) == (False, "1001", True, False)


def test_garbage_signature_value_is_1001(signers: Signers) -> None:
    signed = sign_message(IMPORT_MESSAGE, signers[Algorithm.SM2_SM3])
    for junk in ("not base64 !!", base64.b64encode(b"short").decode()):
        result = verify_message(replace_text(signed, "ds:SignatureValue", junk))
        assert (result.valid, result.code) == (False, "1001")


def test_der_encoded_sm2_signature_value_verifies(signers: Signers) -> None:
    signed = sign_message(IMPORT_MESSAGE, signers[Algorithm.SM2_SM3])
    der = raw_to_der(base64.b64decode(signature_text(signed, "SignatureValue")))
    result = verify_message(replace_text(signed, "ds:SignatureValue", base64.b64encode(der).decode()))
    assert result.valid, result


def test_key_name_mismatch_is_reported(signers: Signers) -> None:
    signed = sign_message(IMPORT_MESSAGE, signers[Algorithm.RSA_SHA1])
    result = verify_message(replace_text(signed, "ds:KeyName", "deadbeef"))
    assert not result.valid
    assert result.code == "1001" and result.key_name == "deadbeef" and result.key_name_matches is False
    assert result.digest_ok and result.signature_ok  # KeyName is outside SignedInfo
    assert "KeyName" in result.reason_zh and "deadbeef" in result.reason_en
    # A u-key style zero-padded, upper-case KeyName names the same serial and is fine.
    assert verify_message(replace_text(signed, "ds:KeyName", "000123ABCD")).valid


def test_expired_certificate_is_1002(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    expired = make_rsa_identity(
        tmp_path, not_before=now - timedelta(days=400), not_after=now - timedelta(days=1)
    )
    signed = sign_message(IMPORT_MESSAGE, load_signer(expired.key_path, expired.cert_path))
    result = verify_message(signed)
    assert (result.valid, result.code, result.digest_ok, result.signature_ok) == (False, "1002", True, True)
    assert "过期" in result.reason_zh
    # The same message judged at a time inside the validity period is fine: "now" is injectable.
    assert verify_message(signed, now=now - timedelta(days=10)).valid


def test_sm2_certificate_validity_uses_injected_now(signers: Signers) -> None:
    signed = sign_message(IMPORT_MESSAGE, signers[Algorithm.SM2_SM3])
    cert = load_certificate(signers[Algorithm.SM2_SM3].certificate_der)
    late = verify_message(signed, now=cert.not_after + timedelta(seconds=1))
    early = verify_message(signed, now=(cert.not_before - timedelta(days=1)).replace(tzinfo=None))
    assert (late.code, early.code) == ("1002", "1002")
    assert "尚未生效" in early.reason_zh and "已过期" in late.reason_zh


def test_unsigned_message_is_invalid() -> None:
    result = verify_message(IMPORT_MESSAGE)
    assert not result.valid
    assert result.code == "1001"
    assert "未签名" in result.reason_zh and "not signed" in result.reason_en
    assert result.signature_ok is None and result.algorithm is None


def test_unsupported_algorithm_is_1999(signers: Signers) -> None:
    signed = sign_message(IMPORT_MESSAGE, signers[Algorithm.RSA_SHA1])
    root = etree.fromstring(signed)
    method = root.find(".//ds:SignatureMethod", namespaces={"ds": DS})
    assert method is not None
    method.set("Algorithm", "http://www.w3.org/2000/09/xmldsig#dsa-sha1")
    result = verify_message(etree.tostring(root))
    assert (result.valid, result.code) == (False, "1999")


def test_trusted_certificates(signers: Signers, tmp_path: Path) -> None:
    signed = sign_message(IMPORT_MESSAGE, signers[Algorithm.RSA_SHA1])
    own = signers[Algorithm.RSA_SHA1].certificate_der
    assert verify_message(signed, trusted=[own]).valid
    stranger = make_rsa_identity(tmp_path).cert_path.read_bytes()
    result = verify_message(signed, trusted=[stranger])
    assert (result.valid, result.code, result.signature_ok) == (False, "1001", True)
    assert "受信任" in result.reason_zh
    # Without an embedded certificate, the pinned one named by KeyName is used.
    root = etree.fromstring(signed)
    key_info = root.find(".//ds:KeyInfo", namespaces={"ds": DS})
    x509_data = root.find(".//ds:X509Data", namespaces={"ds": DS})
    assert key_info is not None and x509_data is not None
    key_info.remove(x509_data)
    bare = etree.tostring(root)
    assert verify_message(bare, trusted=[own]).valid
    assert verify_message(bare).code == "1001"


def test_non_xml_is_refused() -> None:
    with pytest.raises(XmlRefused):
        verify_message(b"\x00\x01 definitely not <xml")


# --- independent verifiers for RSA -----------------------------------------------------------------------


def test_signxml_verifies_rsa(signers: Signers, rsa_identity: Identity) -> None:
    from signxml import DigestAlgorithm, SignatureConfiguration, SignatureMethod, XMLVerifier
    from signxml.exceptions import InvalidDigest

    config = SignatureConfiguration(
        signature_methods=frozenset({SignatureMethod.RSA_SHA1}),
        digest_algorithms=frozenset({DigestAlgorithm.SHA1}),
    )
    cert = rsa_identity.cert_path.read_text()
    for message in (IMPORT_MESSAGE, EXPORT_MESSAGE):
        signed = sign_message(message, signers[Algorithm.RSA_SHA1])
        XMLVerifier().verify(signed, x509_cert=cert, expect_config=config)
    with pytest.raises(InvalidDigest):
        XMLVerifier().verify(replace_text(signed, "ceb:qty", "4"), x509_cert=cert, expect_config=config)


def test_signxml_signed_message_verifies(rsa_identity: Identity) -> None:
    """The other direction: a signature made by signxml, sitting between whitespace like a pretty-printed
    message, with a C14N transform after the enveloped one."""
    from signxml import CanonicalizationMethod, DigestAlgorithm, SignatureMethod, XMLSigner, methods

    class Sha1XmlSigner(XMLSigner):
        def check_deprecated_methods(self) -> None:  # signxml refuses SHA-1 unless told otherwise
            pass

    placeholder = (
        b'\t<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Id="placeholder"></ds:Signature>\n'
    )
    end = b"\t</ceb:ExtendMessage>\n"
    document = etree.fromstring(IMPORT_MESSAGE.replace(end, end + placeholder))
    signed_root = Sha1XmlSigner(
        method=methods.enveloped,
        signature_algorithm=SignatureMethod.RSA_SHA1,
        digest_algorithm=DigestAlgorithm.SHA1,
        c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_0,
    ).sign(
        document,
        key=rsa_identity.key_path.read_bytes(),
        cert=rsa_identity.cert_path.read_text(),
        key_name="123abcd",
    )
    signed = etree.tostring(signed_root)
    signature = signed_root.find("ds:Signature", namespaces={"ds": DS})
    assert signature is not None and signature.tail == "\n"  # the text after the signature is signed data
    result = verify_message(signed)
    assert result.valid, result
    assert verify_message(signed.replace(b"</ds:Signature>\n", b"</ds:Signature>\n\n")).code == "1004"


@pytest.mark.reference
def test_official_samples_are_never_valid(reference_dir: Path) -> None:
    """The official samples carry placeholder signatures (SM2 URIs over an RSA test certificate)."""
    samples = sorted((reference_dir / "ceb" / "samples").rglob("CEB*.xml"))
    assert samples
    for sample in samples:
        result = verify_message(sample)
        assert not result.valid and result.code == "1001", (sample.name, result)
        if result.algorithm is not None:
            assert result.cert_serial is not None and result.key_name_matches is False


XMLSEC1 = shutil.which("xmlsec1")
needs_xmlsec1 = pytest.mark.skipif(
    XMLSEC1 is None, reason="xmlsec1 is not installed (CI installs Debian's xmlsec1 package)"
)

#: Harder context for SignedInfo canonicalization: a default namespace, an inherited xml:lang, a comment.
CONTEXT_MESSAGE = b"""<?xml version="1.0" encoding="UTF-8"?>
<!-- generated by a test -->
<CEB311Message xmlns="http://www.chinaport.gov.cn/ceb" xmlns:x="urn:x" xml:lang="zh-CN" guid="g" version="1">
  <Order><!-- comment inside --><OrderHead x:a="1" b='2'><acturalPaid>10.50</acturalPaid></OrderHead></Order>
  <BaseTransfer><copCode>X</copCode></BaseTransfer>
  <ExtendMessage/>
</CEB311Message>
"""


def _xmlsec1(*args: str | Path) -> subprocess.CompletedProcess[str]:
    assert XMLSEC1 is not None
    return subprocess.run([XMLSEC1, "--verify", *map(str, args)], capture_output=True, text=True, check=False)


@needs_xmlsec1
@pytest.mark.parametrize(
    "message", [IMPORT_MESSAGE, EXPORT_MESSAGE, CONTEXT_MESSAGE], ids=["import", "export", "context"]
)
def test_xmlsec1_verifies_rsa(
    signers: Signers, rsa_identity: Identity, tmp_path: Path, message: bytes
) -> None:
    signed = sign_message(message, signers[Algorithm.RSA_SHA1])
    assert verify_message(signed).valid
    path = tmp_path / "signed.xml"
    path.write_bytes(signed)
    # The key of the given certificate; then the embedded X509Certificate, trusted through --trusted-pem.
    by_key = _xmlsec1("--pubkey-cert-pem", rsa_identity.cert_path, path)
    assert by_key.returncode == 0, by_key.stderr
    by_cert = _xmlsec1("--trusted-pem", rsa_identity.cert_path, path)
    assert by_cert.returncode == 0, by_cert.stderr
    path.write_bytes(replace_text(signed, "ds:DigestValue", base64.b64encode(bytes(20)).decode()))
    assert _xmlsec1("--pubkey-cert-pem", rsa_identity.cert_path, path).returncode != 0


# --- SM2 interoperability with OpenSSL -------------------------------------------------------------------


def _public_key_pem(ident: Identity, folder: Path) -> Path:
    pub = folder / "pub.pem"
    pub.write_bytes(openssl("x509", "-in", ident.cert_path, "-pubkey", "-noout"))
    return pub


def _openssl_verify(pub: Path, data: Path, sig: Path, distid: str) -> subprocess.CompletedProcess[bytes]:
    exe = shutil.which("openssl")
    assert exe is not None
    cmd: list[str | Path] = [exe, "pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-digest", "sm3"]
    cmd += ["-in", data, "-sigfile", sig, "-pkeyopt", f"distid:{distid}"]
    return subprocess.run(cmd, capture_output=True, check=False)


@needs_openssl
@pytest.mark.parametrize("algorithm", [Algorithm.SM2_SM3, Algorithm.SM2_SHA1])
def test_openssl_verifies_our_sm2_signature(
    signers: Signers, sm2_identity: Identity, tmp_path: Path, algorithm: Algorithm
) -> None:
    recorder = RecordingSigner(signers[algorithm])
    signed = sign_message(IMPORT_MESSAGE, recorder)
    (signed_info,) = recorder.seen
    data = tmp_path / "signedinfo.bin"
    data.write_bytes(signed_info)
    sig = tmp_path / "sig.der"
    sig.write_bytes(raw_to_der(base64.b64decode(signature_text(signed, "SignatureValue"))))
    pub = _public_key_pem(sm2_identity, tmp_path)
    assert _openssl_verify(pub, data, sig, SM2_ID).returncode == 0
    assert _openssl_verify(pub, data, sig, "8765432187654321").returncode != 0  # the ID really is checked
    data.write_bytes(signed_info.replace(b"Reference", b"Referencf"))
    assert _openssl_verify(pub, data, sig, SM2_ID).returncode != 0


@needs_openssl
def test_we_verify_openssl_sm2_signature(sm2_identity: Identity, tmp_path: Path) -> None:
    data = tmp_path / "data.bin"
    data.write_bytes("任意数据 any bytes \x00\x01".encode())
    sig = tmp_path / "sig.der"
    openssl(
        "pkeyutl", "-sign", "-inkey", sm2_identity.key_path, "-rawin", "-digest", "sm3",
        "-pkeyopt", f"distid:{SM2_ID}", "-in", data, "-out", sig,
    )  # fmt: skip
    public_key = load_certificate(sm2_identity.cert_der).public_key
    assert isinstance(public_key, Sm2PublicKey)
    der = sig.read_bytes()
    assert public_key.verify(der, data.read_bytes())
    assert public_key.verify(der_to_raw(der), data.read_bytes())
    assert not public_key.verify(der, data.read_bytes() + b"!")


@needs_openssl
def test_custom_distinguishing_id_end_to_end(sm2_identity: Identity, tmp_path: Path) -> None:
    custom_id = "cbec-distid-0001"
    signer = load_signer(sm2_identity.key_path, sm2_identity.cert_path, sm2_id=custom_id.encode())
    recorder = RecordingSigner(signer)
    signed = sign_message(IMPORT_MESSAGE, recorder)  # the self-check after signing uses the signer's ID
    assert verify_message(signed, sm2_id=custom_id.encode()).valid
    assert verify_message(signed).code == "1001"  # default ID: the signature does not verify
    (tmp_path / "si.bin").write_bytes(recorder.seen[0])
    (tmp_path / "sig.der").write_bytes(raw_to_der(base64.b64decode(signature_text(signed, "SignatureValue"))))
    pub = _public_key_pem(sm2_identity, tmp_path)
    assert _openssl_verify(pub, tmp_path / "si.bin", tmp_path / "sig.der", custom_id).returncode == 0
    assert _openssl_verify(pub, tmp_path / "si.bin", tmp_path / "sig.der", SM2_ID).returncode != 0


class OpensslSm2Signer:
    """A `Signer` backed by the OpenSSL CLI, standing in for a device that returns DER signatures."""

    def __init__(self, ident: Identity, folder: Path) -> None:
        self.ident = ident
        self.folder = folder

    @property
    def algorithm(self) -> Algorithm:
        return Algorithm.SM2_SM3

    @property
    def certificate_der(self) -> bytes:
        return self.ident.cert_der

    def sign(self, data: bytes) -> bytes:
        (self.folder / "in.bin").write_bytes(data)
        openssl(
            "pkeyutl", "-sign", "-inkey", self.ident.key_path, "-rawin", "-digest", "sm3",
            "-pkeyopt", f"distid:{SM2_ID}", "-in", self.folder / "in.bin", "-out", self.folder / "out.der",
        )  # fmt: skip
        return (self.folder / "out.der").read_bytes()


@needs_openssl
def test_message_signed_by_openssl_device_verifies(sm2_identity: Identity, tmp_path: Path) -> None:
    signer = OpensslSm2Signer(sm2_identity, tmp_path)
    assert isinstance(signer, Signer)
    signed = sign_message(EXPORT_MESSAGE, signer)
    assert len(base64.b64decode(signature_text(signed, "SignatureValue"))) == 64  # DER normalised to r‖s
    assert verify_message(signed).valid


def test_signer_whose_key_does_not_match_its_certificate_is_caught(
    signers: Signers, rsa_identity: Identity
) -> None:
    class Liar:
        algorithm = Algorithm.SM2_SM3
        certificate_der = signers[Algorithm.SM2_SM3].certificate_der

        def sign(self, data: bytes) -> bytes:
            return Sm2PrivateKey.generate().sign(data)

    with pytest.raises(SignatureError, match="不匹配"):
        sign_message(IMPORT_MESSAGE, Liar())

    class WrongCertType(Liar):
        certificate_der = rsa_identity.cert_der

    with pytest.raises(SignatureError, match="不符"):
        sign_message(IMPORT_MESSAGE, WrongCertType())


def test_keyname_is_lowercase_hex_without_leading_zeros(signers: Signers) -> None:
    for _, signer in signers.items():
        key_name = signature_text(sign_message(IMPORT_MESSAGE, signer), "KeyName")
        assert re.fullmatch(r"[1-9a-f][0-9a-f]*", key_name), key_name
