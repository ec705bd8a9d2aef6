"""The concern log: concerns and their append-only chronology.

Revision ID: 0001_concern_log
Revises:
Create Date: 2026-11-23

Both tables are append-only: triggers refuse UPDATE and DELETE, so a concern's record
and history cannot be rewritten or removed, only added to (status is derived from the
events). The pager's ``0002_pages`` follows this revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_concern_log"
down_revision = None
branch_labels = None
depends_on = None

APPEND_ONLY_TABLES = ("concerns", "concern_events")

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION safeguard_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: add an event instead of changing or deleting rows',
        TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql
"""


def _create_append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(PG_FUNCTION)
        for table in APPEND_ONLY_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION safeguard_append_only()"
            )
    elif dialect == "sqlite":
        for table in APPEND_ONLY_TABLES:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: add an event "
                    "instead of changing or deleting rows'); END"
                )
    else:
        raise RuntimeError(
            f"the concern log supports SQLite and PostgreSQL only, not {dialect}: "
            "its append-only triggers exist for those two"
        )


def _drop_append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for table in APPEND_ONLY_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS safeguard_append_only()")
    elif dialect == "sqlite":
        for table in APPEND_ONLY_TABLES:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")


def upgrade() -> None:
    op.create_table(
        "concerns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("org", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("worker_id", sa.String(length=128), nullable=False),
        sa.Column("worker_name", sa.String(length=200), nullable=False),
        sa.Column("worker_contact", sa.String(length=200), nullable=False),
        sa.Column("disclosed_at", sa.DateTime(), nullable=True),
        sa.Column("sealed_record", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "urgency IN ('immediate', 'urgent', 'routine')", name="ck_concerns_urgency"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reference"),
    )
    op.create_index("ix_concerns_worker_id", "concerns", ["worker_id"])
    op.create_table(
        "concern_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("concern_id", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("happened_at", sa.DateTime(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("sealed_text", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('raised', 'update', 'closed', 'reopened')",
            name="ck_concern_events_kind",
        ),
        sa.ForeignKeyConstraint(["concern_id"], ["concerns.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_concern_events_concern_happened", "concern_events", ["concern_id", "happened_at"]
    )
    _create_append_only_triggers()


def downgrade() -> None:
    _drop_append_only_triggers()
    op.drop_index("ix_concern_events_concern_happened", table_name="concern_events")
    op.drop_table("concern_events")
    op.drop_index("ix_concerns_worker_id", table_name="concerns")
    op.drop_table("concerns")
