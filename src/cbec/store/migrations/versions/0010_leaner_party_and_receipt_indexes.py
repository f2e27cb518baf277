"""leaner party and receipt indexes: one b-tree for document parties, receipts found by recipient, no
unique index on a receipt's random guid

`document_parties` kept the document's kind beside each party and had two b-trees, a primary key on
(party_code, kind, document_id) and an index on (party_code, document_id). The kind is the document's own
(`documents.kind`), which every query that filters by it already checks, so it goes, and the primary key
(party_code, document_id) is the only b-tree left.

`receipts` had an index on `message_id` that no query uses, and none on `recipient`, which the receipt poll
(`GET /receipts`) and push delivery filter by, ordered by id: the one is replaced by (recipient, id). The
unique index on `receipts.guid` goes too: the platform makes each guid a fresh random UUID and no query looks
one up, while each insert into an index of random keys lands on a random page, so as the table grows nearly
every receipt read a page from disk and, after each checkpoint, wrote a full page image to the WAL.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
PARTY_INDEX = "ix_document_parties_party_document"
#: SQLite reflects the unnamed unique constraint of 0001 without a name; this gives it one to drop by
NAMES = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _guid_unique() -> str:
    """The name of the unique constraint on `receipts.guid`: PostgreSQL's default, or the batch name."""
    return "uq_receipts_guid" if op.get_bind().dialect.name == "sqlite" else "receipts_guid_key"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_parties(with_kind=False)
    else:
        op.drop_index(PARTY_INDEX, table_name="document_parties")
        op.drop_constraint("document_parties_pkey", "document_parties", type_="primary")
        op.drop_column("document_parties", "kind")
        op.create_primary_key("document_parties_pkey", "document_parties", ["party_code", "document_id"])
    with op.batch_alter_table("receipts", schema=None, naming_convention=NAMES) as batch_op:
        batch_op.drop_index("ix_receipts_message")
        batch_op.create_index("ix_receipts_recipient", ["recipient", "id"], unique=False)
        batch_op.drop_constraint(_guid_unique(), type_="unique")


def downgrade() -> None:
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.drop_index("ix_receipts_recipient")
        batch_op.create_index("ix_receipts_message", ["message_id"], unique=False)
        batch_op.create_unique_constraint(_guid_unique(), ["guid"])
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_parties(with_kind=True)
        return
    op.add_column("document_parties", sa.Column("kind", sa.String(length=16), nullable=True))
    op.execute(
        "UPDATE document_parties SET kind = documents.kind FROM documents"
        " WHERE documents.id = document_parties.document_id"
    )
    op.alter_column("document_parties", "kind", nullable=False)
    op.drop_constraint("document_parties_pkey", "document_parties", type_="primary")
    op.create_primary_key("document_parties_pkey", "document_parties", ["party_code", "kind", "document_id"])
    op.create_index(PARTY_INDEX, "document_parties", ["party_code", "document_id"], unique=False)


def _rebuild_parties(*, with_kind: bool) -> None:
    """SQLite cannot change a primary key in place: copy the rows into a table of the wanted shape (the kind
    taken from the document when it comes back), then put that table in the old one's place."""
    key = ["party_code", "kind", "document_id"] if with_kind else ["party_code", "document_id"]
    columns = [sa.Column("party_code", sa.String(length=64), nullable=False)]
    if with_kind:
        columns.append(sa.Column("kind", sa.String(length=16), nullable=False))
    op.create_table(
        "document_parties_new",
        *columns,
        sa.Column("document_id", ID, nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], name="fk_document_parties_document"),
        sa.PrimaryKeyConstraint(*key),
    )
    if with_kind:
        op.execute(
            "INSERT INTO document_parties_new (party_code, kind, document_id)"
            " SELECT p.party_code, d.kind, p.document_id FROM document_parties p"
            " JOIN documents d ON d.id = p.document_id"
        )
    else:
        op.execute(
            "INSERT INTO document_parties_new (party_code, document_id)"
            " SELECT party_code, document_id FROM document_parties"
        )
        op.drop_index(PARTY_INDEX, table_name="document_parties")
    op.drop_table("document_parties")
    op.rename_table("document_parties_new", "document_parties")
    if with_kind:
        op.create_index(PARTY_INDEX, "document_parties", ["party_code", "document_id"], unique=False)
