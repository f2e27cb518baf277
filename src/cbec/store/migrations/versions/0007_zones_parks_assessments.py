"""pilot zones, parks, supplied indicators, assessment history; enterprises link to a park

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 06:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_MONEY = sa.Numeric(precision=19, scale=5)


def upgrade() -> None:
    op.create_table(
        "zones",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("province", sa.String(length=40), nullable=False),
        sa.Column("batch", sa.String(length=8), nullable=False),
        sa.Column("approved", sa.String(length=10), nullable=True),
        sa.Column("document", sa.String(length=255), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "zone_parks",
        sa.Column("id", _ID, nullable=False),
        sa.Column("zone_code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("area_km2", _MONEY, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["zone_code"], ["zones.code"], name="fk_zone_parks_zone"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("zone_code", "name", name="uq_zone_parks_zone_name"),
    )
    op.create_table(
        "zone_indicator_values",
        sa.Column("zone_code", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("indicator", sa.String(length=64), nullable=False),
        sa.Column("value", _MONEY, nullable=False),
        sa.Column("source", sa.String(length=255), nullable=True),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["zone_code"], ["zones.code"], name="fk_zone_indicator_values_zone"),
        sa.PrimaryKeyConstraint("zone_code", "year", "indicator"),
    )
    op.create_table(
        "assessment_runs",
        sa.Column("id", _ID, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("config_name", sa.String(length=255), nullable=False),
        sa.Column("config_sha256", sa.String(length=64), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("assessment_runs", schema=None) as batch_op:
        batch_op.create_index("ix_assessment_runs_year", ["year", "current"], unique=False)
    op.create_table(
        "assessment_results",
        sa.Column("id", _ID, nullable=False),
        sa.Column("run_id", _ID, nullable=False),
        sa.Column("zone_code", sa.String(length=32), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("tier", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["assessment_runs.id"], name="fk_assessment_results_run"),
        sa.ForeignKeyConstraint(["zone_code"], ["zones.code"], name="fk_assessment_results_zone"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("assessment_results", schema=None) as batch_op:
        batch_op.create_index("ix_assessment_results_run", ["run_id"], unique=False)
    op.create_table(
        "zone_status_changes",
        sa.Column("id", _ID, nullable=False),
        sa.Column("zone_code", sa.String(length=32), nullable=False),
        sa.Column("previous", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("run_id", _ID, nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["assessment_runs.id"], name="fk_zone_status_changes_run"),
        sa.ForeignKeyConstraint(["zone_code"], ["zones.code"], name="fk_zone_status_changes_zone"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("zone_status_changes", schema=None) as batch_op:
        batch_op.create_index("ix_zone_status_changes_zone", ["zone_code"], unique=False)
    # A plain ADD COLUMN on every database (no table rebuild): the enterprise's park, checked by the service.
    op.add_column("enterprises", sa.Column("park_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+): a batch rebuild would drop the table api_keys references.
    op.drop_column("enterprises", "park_id")
    with op.batch_alter_table("zone_status_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_zone_status_changes_zone")
    op.drop_table("zone_status_changes")
    with op.batch_alter_table("assessment_results", schema=None) as batch_op:
        batch_op.drop_index("ix_assessment_results_run")
    op.drop_table("assessment_results")
    with op.batch_alter_table("assessment_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_assessment_runs_year")
    op.drop_table("assessment_runs")
    op.drop_table("zone_indicator_values")
    op.drop_table("zone_parks")
    op.drop_table("zones")
