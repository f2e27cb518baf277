"""Enveloped XML-DSig on CEB messages: `sign_message` and `verify_message`.

Plain W3C XML-DSig so that standard verifiers (xmlsec1, signxml, Java's javax.xml.crypto) agree with it on
RSA signatures: one Reference with ``URI=""`` and the enveloped-signature transform, the document digest
over inclusive C14N 1.0 (no comments) of the whole message without its ds:Signature, and the SignedInfo
canonicalized where it sits in the document, so inherited namespace declarations (``xmlns:ceb``) are part
of what is signed. The signature is placed where the message's XSD puts it (import: last child of the root;
export: before ExtendMessage). No whitespace is added outside ds:Signature, so the digest equals the C14N
of the unsigned message even for verifiers that mishandle the text around the removed element.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree

from cbec.ceb.catalogue import DS_NAMESPACE, message_type
from cbec.ceb.errors import CebError, SignatureError
from cbec.ceb.sign.algorithms import C14N, C14N_WITH_COMMENTS, ENVELOPED, Algorithm
from cbec.ceb.sign.keys import CertificateInfo, load_certificate
from cbec.ceb.sign.signer import Signer
from cbec.ceb.sign.sm2 import DEFAULT_SM2_ID, Sm2PublicKey, der_to_raw
from cbec.ceb.xmlsafe import DEFAULT_MAX_BYTES, local_name, parse_xml

XML_NAMESPACE = "http://www.w3.org/XML/1998/namespace"
DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'

#: DXP security error codes (spec table 7-1).
CODE_INVALID = "1001"  # 数字签名无效
CODE_EXPIRED = "1002"  # 数字签名过期
CODE_MISMATCH = "1004"  # 签名与数据不符
CODE_OTHER = "1999"  # 其他安全错误


def _ds(name: str) -> str:
    return f"{{{DS_NAMESPACE}}}{name}"


# --- canonicalization ------------------------------------------------------------------------------------


def canonical_document(root: etree._Element) -> bytes:
    """Inclusive C14N 1.0 without comments of the whole document (what ``URI=""`` selects)."""
    return etree.tostring(root.getroottree(), method="c14n", exclusive=False, with_comments=False)


def canonical_subtree(element: etree._Element, *, with_comments: bool = False) -> bytes:
    """Inclusive C14N 1.0 of one element in its document context.

    lxml already renders the inherited namespace declarations on the apex; C14N 1.0 also inherits the
    ``xml:*`` attributes of ancestors onto it, which lxml omits, so they are set for the duration.
    """
    added: list[str] = []
    for ancestor in element.iterancestors():
        for name, value in ancestor.attrib.items():
            if (
                isinstance(name, str)
                and name.startswith(f"{{{XML_NAMESPACE}}}")
                and name not in element.attrib
            ):
                element.set(name, value)
                added.append(name)
    try:
        return etree.tostring(element, method="c14n", exclusive=False, with_comments=with_comments)
    finally:
        for name in added:
            del element.attrib[name]


# --- signing ---------------------------------------------------------------------------------------------


def sign_message(
    xml: bytes | str | Path,
    signer: Signer,
    *,
    check: bool = True,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> bytes:
    """Sign a CEB message (replacing any existing ds:Signature) and return it as UTF-8 bytes.

    With `check`, the signature value is verified against the certificate before returning, which catches a
    device whose key does not belong to the certificate it reports.
    """
    root = parse_xml(xml, max_bytes=max_bytes)
    algorithm = Algorithm.parse(signer.algorithm)
    cert = load_certificate(signer.certificate_der)
    if cert.key_type != algorithm.key_type:
        raise SignatureError(
            f"证书公钥类型（{cert.key_type}）与签名算法 {algorithm} 不符",
            f"the certificate's key type ({cert.key_type}) does not fit the algorithm {algorithm}",
        )
    for old in [child for child in root if child.tag == _ds("Signature")]:
        root.remove(old)  # with its tail: re-signing must not pile up whitespace
    digest = algorithm.digest(canonical_document(root))
    signature = _build_signature(algorithm, digest, cert)
    _place(root, signature)
    signed_info = signature[0]
    data = canonical_subtree(signed_info)
    try:
        value = _normalise_value(algorithm, signer.sign(data))
    except CebError:
        raise
    except Exception as exc:  # a device driver may raise anything; report it in the project's terms
        raise SignatureError(f"签名设备签名失败：{exc}", f"the signer failed: {exc}") from exc
    if check:
        sm2_id = getattr(signer, "sm2_id", DEFAULT_SM2_ID)
        if not _value_ok(
            algorithm, cert, value, data, sm2_id if isinstance(sm2_id, bytes) else DEFAULT_SM2_ID
        ):
            raise SignatureError(
                "签名值无法用证书公钥验证：签名私钥与证书不匹配，或 SM2 区分标识不一致",
                "the signature value does not verify with the certificate's public key: the signing key does "
                "not belong to the certificate, or the SM2 distinguishing ID differs",
            )
    signature[1].text = base64.b64encode(value).decode("ascii")  # ds:SignatureValue
    return DECLARATION + etree.tostring(root.getroottree(), encoding="UTF-8", xml_declaration=False)


def _build_signature(algorithm: Algorithm, digest: bytes, cert: CertificateInfo) -> etree._Element:
    signature = etree.Element(_ds("Signature"), nsmap={"ds": DS_NAMESPACE})
    signed_info = etree.SubElement(signature, _ds("SignedInfo"))
    etree.SubElement(signed_info, _ds("CanonicalizationMethod"), Algorithm=C14N)
    etree.SubElement(signed_info, _ds("SignatureMethod"), Algorithm=algorithm.signature_uri)
    reference = etree.SubElement(signed_info, _ds("Reference"), URI="")
    transforms = etree.SubElement(reference, _ds("Transforms"))
    etree.SubElement(transforms, _ds("Transform"), Algorithm=ENVELOPED)
    etree.SubElement(reference, _ds("DigestMethod"), Algorithm=algorithm.digest_uri)
    etree.SubElement(reference, _ds("DigestValue")).text = base64.b64encode(digest).decode("ascii")
    etree.SubElement(signature, _ds("SignatureValue"))
    key_info = etree.SubElement(signature, _ds("KeyInfo"))
    etree.SubElement(key_info, _ds("KeyName")).text = cert.serial_hex
    x509_data = etree.SubElement(key_info, _ds("X509Data"))
    etree.SubElement(x509_data, _ds("X509Certificate")).text = base64.b64encode(cert.der).decode("ascii")
    return signature


def _place(root: etree._Element, signature: etree._Element) -> None:
    """Import XSDs end with ds:Signature; export XSDs put it before ExtendMessage. Unknown roots: last."""
    try:
        before_extend = message_type(local_name(root)).signature_before_extend
    except KeyError:
        before_extend = False
    if before_extend:
        extend = next((child for child in root if local_name(child) == "ExtendMessage"), None)
        if extend is not None:
            extend.addprevious(signature)
            return
    root.append(signature)


def _normalise_value(algorithm: Algorithm, value: bytes) -> bytes:
    if algorithm.key_type != "sm2" or len(value) == 64:
        return value
    try:
        return der_to_raw(value)  # some devices return DER; the CEB SignatureValue is raw r‖s
    except ValueError as exc:
        raise SignatureError(
            f"签名设备返回的 SM2 签名格式无法识别（{len(value)} 字节）",
            f"the signer returned an unrecognised SM2 signature ({len(value)} bytes)",
        ) from exc


def _value_ok(algorithm: Algorithm, cert: CertificateInfo, value: bytes, data: bytes, sm2_id: bytes) -> bool:
    key = cert.public_key
    if algorithm.key_type == "rsa":
        if not isinstance(key, rsa.RSAPublicKey):
            return False
        try:
            key.verify(value, data, padding.PKCS1v15(), hashes.SHA1())
        except InvalidSignature:
            return False
        return True
    return isinstance(key, Sm2PublicKey) and key.verify(value, data, sm2_id)


# --- verification ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignatureProblem:
    """One reason a signature is not acceptable, with its DXP code."""

    code: str
    zh: str
    en: str


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """Outcome of `verify_message`. `code`/`reason_*` give the first problem; `problems` lists them all.

    `digest_ok`/`signature_ok` are None when the check could not be run (e.g. no usable certificate).
    """

    valid: bool
    code: str | None
    reason_zh: str
    reason_en: str
    algorithm: Algorithm | None = None
    digest_ok: bool | None = None
    signature_ok: bool | None = None
    key_name: str | None = None
    key_name_matches: bool | None = None
    cert_serial: str | None = None
    cert_subject: str | None = None
    cert_issuer: str | None = None
    not_before: datetime | None = None
    not_after: datetime | None = None
    problems: tuple[SignatureProblem, ...] = ()


class _Unusable(Exception):
    """The ds:Signature cannot be evaluated at all."""

    def __init__(self, code: str, zh: str, en: str) -> None:
        super().__init__(en)
        self.problem = SignatureProblem(code, zh, en)


@dataclass(frozen=True, slots=True)
class _ParsedSignature:
    element: etree._Element
    signed_info: etree._Element
    algorithm: Algorithm
    with_comments: bool
    digest_value: bytes
    signature_value: bytes
    key_name: str | None
    certificates: tuple[CertificateInfo, ...]


def verify_message(
    xml: bytes | str | Path,
    *,
    trusted: Iterable[bytes | CertificateInfo] | None = None,
    now: datetime | None = None,
    sm2_id: bytes = DEFAULT_SM2_ID,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> VerifyResult:
    """Check the enveloped signature of a CEB message. Never raises for a bad signature.

    `trusted` pins the certificates accepted (DER/PEM bytes or loaded); without it any embedded certificate
    is used, which proves integrity but not who signed. `now` is the moment certificate validity is judged
    at. Only `XmlRefused` is raised, for input that is not acceptable XML.
    """
    root = parse_xml(xml, max_bytes=max_bytes)
    found = [child for child in root if child.tag == _ds("Signature")]
    if not found:
        return _failed(
            SignatureProblem(
                CODE_INVALID,
                "报文未签名：根元素下没有 ds:Signature 节点",
                "the message is not signed: there is no ds:Signature under the root element",
            )
        )
    if len(found) > 1:
        return _failed(
            SignatureProblem(
                CODE_INVALID,
                f"报文含有 {len(found)} 个 ds:Signature 节点，只允许一个",
                f"the message has {len(found)} ds:Signature elements; exactly one is allowed",
            )
        )
    try:
        parsed = _parse_signature(found[0])
        pinned = None if trusted is None else [_as_certificate(c) for c in trusted]
        cert = _signing_certificate(parsed, pinned)
    except _Unusable as bad:
        return _failed(bad.problem)
    except SignatureError as exc:
        return _failed(SignatureProblem(CODE_INVALID, exc.zh, exc.en))
    return _evaluate(root, parsed, cert, pinned, now, sm2_id)


def _evaluate(
    root: etree._Element,
    parsed: _ParsedSignature,
    cert: CertificateInfo,
    pinned: list[CertificateInfo] | None,
    now: datetime | None,
    sm2_id: bytes,
) -> VerifyResult:
    problems: list[SignatureProblem] = []
    signature_ok: bool | None = None
    if cert.key_type != parsed.algorithm.key_type:
        problems.append(
            SignatureProblem(
                CODE_INVALID,
                f"证书公钥类型（{cert.key_type}）与签名算法 {parsed.algorithm} 不符",
                f"the certificate's key type ({cert.key_type}) does not fit the algorithm {parsed.algorithm}",
            )
        )
    else:
        signed_info = canonical_subtree(parsed.signed_info, with_comments=parsed.with_comments)
        signature_ok = _value_ok(parsed.algorithm, cert, parsed.signature_value, signed_info, sm2_id)
        if not signature_ok:
            problems.append(
                SignatureProblem(
                    CODE_INVALID,
                    "数字签名无效：签名值与 SignedInfo 及证书公钥不符",
                    "invalid signature: SignatureValue does not match SignedInfo and the certificate's key",
                )
            )

    _detach_keeping_tail(parsed.element)  # the enveloped-signature transform
    digest_ok = hmac.compare_digest(parsed.algorithm.digest(canonical_document(root)), parsed.digest_value)
    if not digest_ok:
        problems.append(
            SignatureProblem(
                CODE_MISMATCH,
                "签名与数据不符：报文内容在签名后被改动（摘要值不一致）",
                "the signature does not match the data: the message changed after signing (digest differs)",
            )
        )

    moment = now or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # a naive "now" is taken as UTC, like the certificate's times
    if moment < cert.not_before or moment > cert.not_after:
        state_zh, state_en = (
            ("尚未生效", "is not yet valid") if moment < cert.not_before else ("已过期", "has expired")
        )
        problems.append(
            SignatureProblem(
                CODE_EXPIRED,
                f"数字签名过期：证书{state_zh}（有效期 {cert.not_before:%Y-%m-%d %H:%M} 至 "
                f"{cert.not_after:%Y-%m-%d %H:%M} UTC）",
                f"signature expired: the certificate {state_en} (valid {cert.not_before:%Y-%m-%d %H:%M} to "
                f"{cert.not_after:%Y-%m-%d %H:%M} UTC)",
            )
        )

    key_name_matches = None if parsed.key_name is None else cert.key_name_matches(parsed.key_name)
    if parsed.key_name is None:
        problems.append(
            SignatureProblem(
                CODE_INVALID,
                "缺少 KeyName（应填写证书序列号）",
                "KeyName is missing (it must hold the certificate serial number)",
            )
        )
    elif not key_name_matches:
        problems.append(
            SignatureProblem(
                CODE_INVALID,
                f"KeyName {parsed.key_name} 与证书序列号 {cert.serial_hex} 不符",
                f"KeyName {parsed.key_name} does not match the certificate serial number {cert.serial_hex}",
            )
        )

    if pinned is not None and all(cert.der != p.der for p in pinned):
        problems.append(
            SignatureProblem(
                CODE_INVALID,
                f"签名证书（序列号 {cert.serial_hex}）不在受信任证书之列",
                f"the signing certificate (serial {cert.serial_hex}) is not among the trusted certificates",
            )
        )

    head = problems[0] if problems else None
    return VerifyResult(
        valid=head is None,
        code=head.code if head else None,
        reason_zh=head.zh if head else "签名有效",
        reason_en=head.en if head else "the signature is valid",
        algorithm=parsed.algorithm,
        digest_ok=digest_ok,
        signature_ok=signature_ok,
        key_name=parsed.key_name,
        key_name_matches=key_name_matches,
        cert_serial=cert.serial_hex,
        cert_subject=cert.subject,
        cert_issuer=cert.issuer,
        not_before=cert.not_before,
        not_after=cert.not_after,
        problems=tuple(problems),
    )


def _failed(problem: SignatureProblem) -> VerifyResult:
    return VerifyResult(False, problem.code, problem.zh, problem.en, problems=(problem,))


def _detach_keeping_tail(element: etree._Element) -> None:
    """Remove `element` but keep the text after it, as the XPath data model of the transform does."""
    parent = element.getparent()
    assert parent is not None
    tail = element.tail
    if tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(element)


def _one(parent: etree._Element, name: str, *, required: bool = True) -> etree._Element | None:
    found = parent.findall(_ds(name))
    if len(found) > 1 or (required and not found):
        raise _Unusable(
            CODE_INVALID,
            f"签名结构无效：{local_name(parent)} 下应有{'且只有' if required else '至多'}一个 ds:{name}",
            f"malformed signature: {local_name(parent)} must have {'exactly' if required else 'at most'} "
            f"one ds:{name}",
        )
    return found[0] if found else None


def _required(parent: etree._Element, name: str) -> etree._Element:
    element = _one(parent, name)
    assert element is not None
    return element


def _base64(element: etree._Element, what: str) -> bytes:
    try:
        return base64.b64decode("".join((element.text or "").split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _Unusable(CODE_INVALID, f"{what} 不是有效的 Base64", f"{what} is not valid Base64") from exc


def _parse_signature(signature: etree._Element) -> _ParsedSignature:
    signed_info = _required(signature, "SignedInfo")
    c14n = _required(signed_info, "CanonicalizationMethod").get("Algorithm", "")
    if c14n not in (C14N, C14N_WITH_COMMENTS):
        raise _Unusable(
            CODE_OTHER, f"不支持的规范化算法：{c14n}", f"unsupported canonicalization method: {c14n}"
        )
    signature_uri = _required(signed_info, "SignatureMethod").get("Algorithm", "")
    references = signed_info.findall(_ds("Reference"))
    if len(references) != 1:
        raise _Unusable(
            CODE_INVALID,
            f"签名应只有一个 Reference，实际 {len(references)} 个",
            f"the signature must have exactly one Reference, found {len(references)}",
        )
    reference = references[0]
    if reference.get("URI") != "":
        raise _Unusable(
            CODE_INVALID,
            f'Reference 的 URI 应为 ""（对整个报文签名），实际为 {reference.get("URI")!r}',
            f'the Reference URI must be "" (the whole message), found {reference.get("URI")!r}',
        )
    transforms_element = _one(reference, "Transforms", required=False)
    transforms = [] if transforms_element is None else transforms_element.findall(_ds("Transform"))
    steps = [t.get("Algorithm", "") for t in transforms]
    # URI="" already drops comments, so a trailing C14N transform (with or without comments) changes nothing.
    if steps[:1] != [ENVELOPED] or any(step not in (C14N, C14N_WITH_COMMENTS) for step in steps[1:]):
        raise _Unusable(
            CODE_OTHER,
            f"不支持的转换：{', '.join(steps) or '无'}（应为 enveloped-signature）",
            f"unsupported transforms: {', '.join(steps) or 'none'} (expected enveloped-signature)",
        )
    digest_uri = _required(reference, "DigestMethod").get("Algorithm", "")
    algorithm = Algorithm.from_uris(signature_uri, digest_uri)
    if algorithm is None:
        raise _Unusable(
            CODE_OTHER,
            f"不支持的签名/摘要算法组合：{signature_uri} + {digest_uri}",
            f"unsupported signature/digest algorithm pair: {signature_uri} + {digest_uri}",
        )
    digest_value = _base64(_required(reference, "DigestValue"), "DigestValue")
    signature_value = _base64(_required(signature, "SignatureValue"), "SignatureValue")
    key_info = _one(signature, "KeyInfo", required=False)
    key_name: str | None = None
    certificates: list[CertificateInfo] = []
    if key_info is not None:
        name_element = _one(key_info, "KeyName", required=False)
        key_name = None if name_element is None else (name_element.text or "").strip()
        for cert_element in key_info.iterfind(f"{_ds('X509Data')}/{_ds('X509Certificate')}"):
            der = _base64(cert_element, "X509Certificate")
            try:
                certificates.append(load_certificate(der))
            except SignatureError as exc:
                raise _Unusable(CODE_INVALID, exc.zh, exc.en) from exc
    return _ParsedSignature(
        signature,
        signed_info,
        algorithm,
        c14n == C14N_WITH_COMMENTS,
        digest_value,
        signature_value,
        key_name,
        tuple(certificates),
    )


def _as_certificate(value: bytes | CertificateInfo) -> CertificateInfo:
    return value if isinstance(value, CertificateInfo) else load_certificate(value)


def _signing_certificate(parsed: _ParsedSignature, pinned: list[CertificateInfo] | None) -> CertificateInfo:
    """The embedded certificate (the one KeyName names, if several); without one, a pinned one by KeyName."""
    candidates = list(parsed.certificates)
    if not candidates and pinned is not None and parsed.key_name is not None:
        candidates = [c for c in pinned if c.key_name_matches(parsed.key_name)]
    if not candidates:
        raise _Unusable(
            CODE_INVALID,
            "签名中没有 X509Certificate 证书，无法验证",
            "the signature carries no X509Certificate, so it cannot be verified",
        )
    if parsed.key_name is not None:
        for cert in candidates:
            if cert.key_name_matches(parsed.key_name):
                return cert
    return candidates[0]
