"""users, audit log, API keys for users

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 06:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("enterprise_code", sa.String(length=18), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["enterprise_code"], ["enterprises.code"], name="fk_users_enterprise"),
        sa.PrimaryKeyConstraint("login"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("actor_role", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject_kind", sa.String(length=32), nullable=True),
        sa.Column("subject_key", sa.String(length=255), nullable=True),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_at", ["at"], unique=False)
        batch_op.create_index("ix_audit_log_actor", ["actor"], unique=False)
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.alter_column("enterprise_code", existing_type=sa.String(length=18), nullable=True)
        batch_op.add_column(sa.Column("user_login", sa.String(length=64), nullable=True))
        batch_op.create_foreign_key("fk_api_keys_user", "users", ["user_login"], ["login"])


def downgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_constraint("fk_api_keys_user", type_="foreignkey")
        batch_op.drop_column("user_login")
        batch_op.alter_column("enterprise_code", existing_type=sa.String(length=18), nullable=False)
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_actor")
        batch_op.drop_index("ix_audit_log_at")
    op.drop_table("audit_log")
    op.drop_table("users")
