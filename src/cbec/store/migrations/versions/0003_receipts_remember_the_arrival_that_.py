"""receipts remember the arrival that produced them

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 05:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("trigger_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch_op.create_foreign_key("fk_receipts_trigger_id_messages", "messages", ["trigger_id"], ["id"])
        batch_op.create_index("ix_receipts_trigger", ["trigger_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.drop_index("ix_receipts_trigger")
        batch_op.drop_constraint("fk_receipts_trigger_id_messages", type_="foreignkey")
        batch_op.drop_column("trigger_id")
