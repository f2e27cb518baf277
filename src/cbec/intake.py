"""Admission of a message sent by an authenticated enterprise, the same for the API and the portal.

Before the engine sees a message: its `BaseTransfer/copCode` must be the sender (the spec requires it);
a sender on the register must hold a role that declares the message type; the sender must be a party to
every document it declares and to every stored document it changes, deletes, cancels or returns. Lists,
cancellations and returns of a registered sender are then judged against its registered certificates
(`cbec.certificates.trusted_for`), so an unsigned or foreign-signed one is refused with its official code.
A sender known only to an in-memory key mapping (`create_app(api_keys=…)`: tests, embedding, benchmarks)
has no register entry: neither its roles nor its certificates are judged, and signatures follow
`CBEC_SIGNATURES` as for file intake.
A refusal stores nothing; an unreadable message goes on to the engine, which answers it with CEB900.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from cbec.access import node_parties, parties
from cbec.ceb.errors import CebError
from cbec.ceb.model import Message, Node
from cbec.ceb.sign.keys import CertificateInfo
from cbec.certificates import enterprise_and_trusted, enterprises_and_trusted
from cbec.clearance.documents import KINDS, business_key, head_of, text
from cbec.clearance.service import SIGNED_DECLARATIONS, Engine, IngestResult, Intake, Parsed, read_message
from cbec.store import bulk
from cbec.store.models import DocumentRow, EnterpriseRow

log = logging.getLogger(__name__)

#: the largest single message taken, in bytes
MAX_MESSAGE_BYTES = 10 * 1024 * 1024


class Refused(CebError):
    """The sender may not send this message; nothing was stored."""

    code = "CBEC-0502"


def read(data: bytes) -> Parsed | None:
    """The message read as the engine reads it (parsed and checked), when the body is readable (the engine
    answers an unreadable one with CEB900); handed on to the engine, so a message is parsed once."""
    if len(data) > MAX_MESSAGE_BYTES:
        return None
    try:
        return read_message(data)
    except CebError:
        return None


#: party fields of message kinds `cbec.access.PARTY_FIELDS` does not name (CEB711 delivery notes)
_EXTRA_PARTIES = ("operatorCode",)


def _party_codes(body: Any) -> set[str]:
    """The enterprises a stored document (its JSON form) names as parties."""
    found = parties(body)
    head = next(iter(body.values()), None) if isinstance(body, dict) else None
    for node in (body, head):
        if isinstance(node, dict):
            found.update(v for k, v in node.items() if k in _EXTRA_PARTIES and isinstance(v, str))
    return found


def _node_party_codes(document: Node, head: Node) -> set[str]:
    """`_party_codes` of a document's typed node (`head`: its head node), without making its JSON form."""
    found = node_parties(document)
    for node in (document, head):
        found.update(v for k, v in node.values.items() if k in _EXTRA_PARTIES and isinstance(v, str))
    return found


#: the register roles (`cbec.registry.ROLES`) that may declare each message type
DECLARING_ROLES: dict[str, frozenset[str]] = {
    "CEB311": frozenset({"ebp", "ebc", "agent"}),
    "CEB411": frozenset({"pay"}),
    "CEB511": frozenset({"logistics"}),
    "CEB513": frozenset({"logistics"}),
    "CEB621": frozenset({"agent", "ebc", "ebp"}),
    "CEB623": frozenset({"agent", "ebc", "ebp"}),
    "CEB625": frozenset({"agent", "ebc", "ebp"}),
    "CEB711": frozenset({"operator", "logistics"}),
}


def _role_refusal(enterprise: EnterpriseRow | None, message: Message) -> Refused | None:
    """A refusal when the sender is on the register without a role that declares this message type (a
    sender known only to an in-memory key mapping has no register entry and is not judged here)."""
    allowed = DECLARING_ROLES.get(message.code)
    if enterprise is None or allowed is None or allowed & set(enterprise.roles):
        return None
    roles = ", ".join(sorted(allowed))
    return Refused(
        f"本企业备案的角色不能申报 {message.code}（应为 {roles} 之一）",
        f"the enterprise's registered roles do not declare {message.code} (one of {roles} is needed)",
    )


def _acts_on_others(session: Session, message: Message, cop_code: str) -> bool:
    """Whether a document of the message is not the caller's to declare: the caller is none of its
    parties, or it changes, deletes, cancels or returns a stored document the caller is no party to.
    The stored documents come from the chunk's `_Lookups` when it holds them (`_Admission.prepare`)."""
    kind = KINDS.get(message.code)
    if kind is None:
        return False
    lookups: _Lookups | None = session.info.get(_LOOKUPS)
    for document in message.documents:
        head = head_of(kind, document)
        if cop_code not in _node_party_codes(document, head):
            return True
        key = (kind.name, business_key(kind, head))
        if lookups is not None and key in lookups.stored:
            stored = lookups.stored[key]
        else:
            stored = session.scalars(
                select(DocumentRow.body).where(
                    DocumentRow.kind == kind.name,
                    DocumentRow.doc_key == key[1],
                    DocumentRow.current.is_(True),
                )
            ).first()
        if stored is not None and cop_code not in _party_codes(stored):
            return True
        invt_no = text(head, "invtNo") if kind.name in ("cancel", "refund") else None
        if invt_no:
            if lookups is not None and invt_no in lookups.lists:
                target = lookups.lists[invt_no]
            else:
                target = session.scalars(
                    select(DocumentRow.body).where(
                        DocumentRow.kind == "list",
                        DocumentRow.invt_no == invt_no,
                        DocumentRow.current.is_(True),
                    )
                ).first()
            if target is not None and cop_code not in _party_codes(target):
                return True
    return False


#: `session.info` key of the `_Lookups` of the admissions a transaction judges together
_LOOKUPS = "cbec.intake.lookups"


@dataclass
class _Lookups:
    """What the admissions of a chunk ask of the register and the documents, read with one query a
    question in their shared transaction (`_Admission.prepare`); a question it does not hold is asked alone.
    Read afresh for every chunk: nothing is kept across transactions."""

    #: the register entry (None: not on the register) and active certificates of each sender
    enterprises: dict[str, tuple[EnterpriseRow | None, list[CertificateInfo]]] = field(default_factory=dict)
    #: the body of the current document with each (kind, business key), None when there is none
    stored: dict[tuple[str, str], Any] = field(default_factory=dict)
    #: the body of the current list with each invtNo, None when there is none
    lists: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Admission:
    """The register checks of one message (`admit`), asked by the engine in the chunk's transaction."""

    message: Message | None
    cop_code: str
    signed: bool

    def __call__(self, session: Session) -> list[CertificateInfo] | None:
        message, cop_code, signed = self.message, self.cop_code, self.signed
        lookups: _Lookups | None = session.info.get(_LOOKUPS)
        if lookups is not None and cop_code in lookups.enterprises:
            enterprise, shared = lookups.enterprises[cop_code]
            certificates = list(shared) if signed else []  # a list of its own, as when asked alone
        elif signed:
            enterprise, certificates = enterprise_and_trusted(session, cop_code)
        else:
            enterprise, certificates = session.get(EnterpriseRow, cop_code), []
        refused = _role_refusal(enterprise, message) if message is not None else None
        if refused is not None:
            raise refused
        if message is not None and _acts_on_others(session, message, cop_code):
            raise Refused(
                "报文中的单证不属于本企业（本企业不是其当事方，或其变更、删除、撤销、退货的单证属于他人）",
                "the message declares or acts on documents the caller is no party to",
            )
        return certificates if enterprise is not None and signed else None

    @staticmethod
    def prepare(session: Session, admissions: Sequence[_Admission]) -> None:
        """Read what `admissions` will ask, one query a question (the engine calls this before judging the
        messages it takes together, in the same transaction): the senders' register entries and
        certificates, the stored documents the messages declare, the lists they cancel or return."""
        lookups = _Lookups()
        codes = {a.cop_code for a in admissions}
        found = enterprises_and_trusted(session, codes)
        for code in codes:
            lookups.enterprises[code] = found.get(code, (None, []))
        keys: set[tuple[str, str]] = set()
        invt_nos: set[str] = set()
        for admission in admissions:
            message = admission.message
            kind = KINDS.get(message.code) if message is not None else None
            if message is None or kind is None:
                continue
            for document in message.documents:
                head = head_of(kind, document)
                keys.add((kind.name, business_key(kind, head)))
                invt_no = text(head, "invtNo") if kind.name in ("cancel", "refund") else None
                if invt_no:
                    invt_nos.add(invt_no)
        dialect = session.get_bind().dialect.name
        if keys:
            lookups.stored = dict.fromkeys(keys)
            query = _stored_bodies(dialect)
            for kind_name, doc_key, body in session.execute(query, bulk.keys_values(dialect, sorted(keys))):
                if lookups.stored[(kind_name, doc_key)] is None:  # the first found, as `.first()` takes it
                    lookups.stored[(kind_name, doc_key)] = body
        if invt_nos:
            lookups.lists = dict.fromkeys(invt_nos)
            for invt_no, body in session.execute(_LIST_BODIES, {"invt_nos": sorted(invt_nos)}):
                if invt_no is not None and lookups.lists[invt_no] is None:
                    lookups.lists[invt_no] = body
        session.info[_LOOKUPS] = lookups


#: the questions of `_Admission.prepare`, built once (building and keying a statement costs more CPU than
#: running it) and run with the chunk's keys as parameters
_LIST_BODIES = select(DocumentRow.invt_no, DocumentRow.body).where(
    DocumentRow.current.is_(True),
    DocumentRow.kind == "list",
    DocumentRow.invt_no.in_(bindparam("invt_nos", expanding=True)),
)


@functools.cache
def _stored_bodies(dialect: str) -> Any:
    return select(DocumentRow.kind, DocumentRow.doc_key, DocumentRow.body).where(
        DocumentRow.current.is_(True), bulk.keys_bound(dialect, (DocumentRow.kind, DocumentRow.doc_key))
    )


def admit(engine: Engine, data: bytes, cop_code: str, *, source: str) -> IngestResult:
    """Check the sender and what it acts on, then hand the message to the engine with the sender's
    registered certificates when it is a kind that must be signed (or its kind cannot be told yet).
    Raises `Refused` (nothing stored) when the sender may not send it.

    The message is read once, here, and handed on; the register checks run as the engine's admission step
    (`Engine.ingest(admission=…)`), so with group commit they are asked in the transaction of the chunk
    that takes the message, each judged on its own before anything of the chunk is locked or written."""
    parsed, admission = _intake(data, cop_code)
    result = engine.ingest(data, source=source, parsed=parsed, admission=admission)
    _logged(result, cop_code, source)
    return result


def admit_each(
    engine: Engine, messages: Sequence[bytes], cop_code: str, *, source: str
) -> list[IngestResult | Exception]:
    """`admit` for the messages of a batch, in their order, taken together (`Engine.ingest_each`): each
    answered with its result or with the error `admit` would raise for it (`Refused` among them)."""
    found: list[IngestResult | Exception | None] = []
    taken: list[Intake] = []
    for data in messages:
        try:
            parsed, admission = _intake(data, cop_code)
            taken.append(Intake(data, source, parsed=parsed, admission=admission))
            found.append(None)
        except Refused as exc:
            found.append(exc)
    results = iter(engine.ingest_each(taken))
    answers = [next(results) if slot is None else slot for slot in found]
    for answer in answers:
        if isinstance(answer, IngestResult):
            _logged(answer, cop_code, source)
    return answers


def _intake(data: bytes, cop_code: str) -> tuple[Parsed | None, _Admission]:
    """The message from `cop_code` read once, and the sender's admission check for the engine to run; or
    `Refused` when the message names another enterprise as its sender."""
    parsed = read(data)
    message = parsed[0] if parsed is not None else None
    transfer = message.child("BaseTransfer") if message is not None else None
    if message is not None and (text(transfer, "copCode") if transfer is not None else None) != cop_code:
        raise Refused(
            "报文 BaseTransfer/copCode 与申报企业不符",
            "the message's BaseTransfer/copCode is not the sending enterprise",
        )
    signed = message is None or message.code in SIGNED_DECLARATIONS
    return parsed, _Admission(message, cop_code, signed)


def _logged(result: IngestResult, cop_code: str, source: str) -> None:
    log.info(
        "message from %s via %s: %s %s", cop_code, source.split(":")[0], result.message_type, result.outcome
    )
