"""registered certificates, document parties, push subscriptions and their deliveries

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 06:45:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
#: the party fields of cbec.access.PARTY_FIELDS, copied so that this migration never changes with the code
PARTY_FIELDS = ("ebpCode", "ebcCode", "logisticsCode", "payCode", "agentCode", "assureCode", "areaCode")


def upgrade() -> None:
    op.create_table(
        "enterprise_certificates",
        sa.Column("id", ID, nullable=False),
        sa.Column("enterprise_code", sa.String(length=18), nullable=False),
        sa.Column("serial", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=1000), nullable=False),
        sa.Column("issuer", sa.String(length=1000), nullable=False),
        sa.Column("key_type", sa.String(length=8), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("pem", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["enterprise_code"], ["enterprises.code"], name="fk_enterprise_certificates_enterprise"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("fingerprint", name="uq_enterprise_certificates_fingerprint"),
    )
    with op.batch_alter_table("enterprise_certificates", schema=None) as batch_op:
        batch_op.create_index(
            "ix_enterprise_certificates_enterprise", ["enterprise_code", "status"], unique=False
        )
    parties = op.create_table(
        "document_parties",
        sa.Column("party_code", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("document_id", ID, nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], name="fk_document_parties_document"),
        sa.PrimaryKeyConstraint("party_code", "kind", "document_id"),
    )
    with op.batch_alter_table("document_parties", schema=None) as batch_op:
        batch_op.create_index(
            "ix_document_parties_party_document", ["party_code", "document_id"], unique=False
        )
    _backfill_parties(parties)
    op.create_table(
        "subscriptions",
        sa.Column("id", ID, nullable=False),
        sa.Column("enterprise_code", sa.String(length=18), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cursor", ID, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["enterprise_code"], ["enterprises.code"], name="fk_subscriptions_enterprise"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.create_index("ix_subscriptions_enterprise", ["enterprise_code"], unique=False)
    op.create_table(
        "deliveries",
        sa.Column("id", ID, nullable=False),
        sa.Column("subscription_id", ID, nullable=False),
        sa.Column("receipt_id", ID, nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["subscription_id"], ["subscriptions.id"], name="fk_deliveries_subscription"),
        sa.ForeignKeyConstraint(["receipt_id"], ["receipts.id"], name="fk_deliveries_receipt"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_deliveries_subscription", ["subscription_id", "id"], unique=False)


def _codes(body: Any) -> set[str]:
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


def _backfill_parties(parties: sa.Table) -> None:
    """Index the parties of the documents already stored, a thousand at a time."""
    documents = sa.table(
        "documents", sa.column("id", ID), sa.column("kind", sa.String()), sa.column("body", sa.JSON())
    )
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(
            sa.select(documents.c.id, documents.c.kind, documents.c.body)
            .where(documents.c.id > last)
            .order_by(documents.c.id)
            .limit(1000)
        ).all()
        if not rows:
            return
        batch = [
            {"party_code": code[:64], "kind": kind, "document_id": doc_id}
            for doc_id, kind, body in rows
            for code in sorted(_codes(body))
        ]
        if batch:
            connection.execute(parties.insert(), batch)
        last = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_subscription")
    op.drop_table("deliveries")
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_index("ix_subscriptions_enterprise")
    op.drop_table("subscriptions")
    with op.batch_alter_table("document_parties", schema=None) as batch_op:
        batch_op.drop_index("ix_document_parties_party_document")
    op.drop_table("document_parties")
    with op.batch_alter_table("enterprise_certificates", schema=None) as batch_op:
        batch_op.drop_index("ix_enterprise_certificates_enterprise")
    op.drop_table("enterprise_certificates")
