"""The audit trail of who read or wrote a concern (hash-chained). Filled in by bot.records.audit.

Revision ID: 0003_audit_trail
Revises: 0002_pages
Create Date: 2026-11-24

One append-only table, ``audit_entries``: triggers refuse UPDATE and DELETE on SQLite and
PostgreSQL, and ``position`` is unique so two appenders can never fork the chain.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_audit_trail"
down_revision = "0002_pages"
branch_labels = None
depends_on = None

TABLE = "audit_entries"
REFUSAL = "audit_entries is append-only: the audit trail is never changed or deleted"

PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION safeguard_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{REFUSAL}';
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("org", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.String(length=128), nullable=False),
        sa.Column("person_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("concern_ref", sa.String(length=16), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("position", name="uq_audit_entries_position"),
    )
    op.create_index("ix_audit_entries_concern_ref", TABLE, ["concern_ref"])
    op.create_index("ix_audit_entries_person_id", TABLE, ["person_id"])
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(
            f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION safeguard_audit_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
            "FOR EACH STATEMENT EXECUTE FUNCTION safeguard_audit_append_only()"
        )
    elif dialect == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {TABLE}_no_{action.lower()} BEFORE {action} ON {TABLE} "
                f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
            )
    else:
        raise RuntimeError(f"the audit trail supports SQLite and PostgreSQL only, not {dialect}")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_no_truncate ON {TABLE}")
        op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE}")
        op.execute("DROP FUNCTION IF EXISTS safeguard_audit_append_only()")
    elif dialect == "sqlite":
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_no_{action}")
    op.drop_index("ix_audit_entries_person_id", table_name=TABLE)
    op.drop_index("ix_audit_entries_concern_ref", table_name=TABLE)
    op.drop_table(TABLE)
