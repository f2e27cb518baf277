"""Who is asking, and what they may do: the principals behind an API key or a portal login.

Four access roles (issue 4): an **enterprise** sees only documents it is a party to and never unmasked
personal data; a **regulator** reads everything and may see personal data (each such read is audited);
an **operator** manages the enterprise register and reference data; an **admin** may do all of it and
manage users. Enterprise business roles (ebp, ebc, pay, …) are a different thing: see `cbec.registry.ROLES`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy.orm import Session

from cbec.ceb.catalogue.spec import NodeSpec
from cbec.ceb.model import Node
from cbec.store.models import AuditRow

Role = Literal["enterprise", "regulator", "operator", "admin"]

ACCESS_ROLES: dict[str, tuple[str, str]] = {
    "enterprise": ("企业用户", "enterprise user"),
    "regulator": ("监管人员", "regulator"),
    "operator": ("平台运营人员", "platform operator"),
    "admin": ("系统管理员", "administrator"),
}

#: the fields of a document that name the enterprises taking part in it
PARTY_FIELDS = ("ebpCode", "ebcCode", "logisticsCode", "payCode", "agentCode", "assureCode", "areaCode")


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: `name` is the user login or, for an enterprise's API key, its code."""

    role: Role
    name: str
    enterprise: str | None = None  # the enterprise code of an enterprise principal

    @property
    def reads_all(self) -> bool:
        """Whether every document is visible (regulators and admins), not only those it is a party to."""
        return self.role in ("regulator", "admin")

    @property
    def sees_personal(self) -> bool:
        """Whether personal data may be shown unmasked (and then audited)."""
        return self.role in ("regulator", "admin")

    @property
    def reviews(self) -> bool:
        """Whether it may release, reject or order inspection of held lists."""
        return self.role in ("regulator", "admin")

    @property
    def manages_register(self) -> bool:
        """Whether it may change the enterprise register and reference data."""
        return self.role in ("operator", "admin")

    @property
    def manages_users(self) -> bool:
        return self.role == "admin"

    def may_read(self, body: Any) -> bool:
        """Whether a document (its JSON form) is visible to this principal."""
        return self.reads_all or (self.enterprise is not None and self.enterprise in parties(body))


def enterprise_principal(code: str) -> Principal:
    return Principal(role="enterprise", name=code, enterprise=code)


def parties(body: Any) -> set[str]:
    """Every enterprise code a document names in one of its party fields, at any depth."""
    found: set[str] = set()
    stack: list[Any] = [body]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key in PARTY_FIELDS and isinstance(value, str):
                    found.add(value)
                elif isinstance(value, dict | list):
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return found


def node_parties(node: Node) -> set[str]:
    """`parties` of a document's typed node: the same codes as of its JSON form, read only where its
    schema has party fields (the heads, not the item lines), which costs a fraction of walking the form."""
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        fields, children = _party_plan(item.spec)
        values = item.values
        for name in fields:
            value = values.get(name)
            if type(value) is str:
                found.add(value)
        for name in children:
            stack.extend(item.children.get(name, ()))
    return found


@functools.cache
def _party_plan(spec: NodeSpec) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The party fields of nodes of `spec`, and its children whose subtrees have some."""
    fields = tuple(name for name in PARTY_FIELDS if name in spec.fields)
    children = tuple(name for name, child in spec.children.items() if any(_party_plan(child.node)))
    return fields, children


def audit(
    session: Session,
    principal: Principal,
    action: str,
    subjects: Iterable[tuple[str | None, str | None]] = ((None, None),),
    *,
    via: str,
    now: datetime | None = None,
) -> None:
    """Record who did `action` on which (kind, key) subjects; never the personal data itself."""
    at = now or datetime.now(UTC)
    for kind, key in subjects:
        session.add(
            AuditRow(
                at=at,
                actor=principal.name,
                actor_role=principal.role,
                action=action,
                subject_kind=kind,
                subject_key=key,
                via=via,
            )
        )
    session.flush()
