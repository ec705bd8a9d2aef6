"""One incident per conversation: which concern a conversation's danger signals and record go to.

Revision ID: 0005_incidents
Revises: 0004_staff_access
Create Date: 2026-12-06

`incidents` links a conversation (a hash of the organisation and the chat's sender id, never
the id itself) to the one concern raised in it, so a later danger message or the finished
record is added to that concern's chronology instead of opening a second concern and a
second page chain. At most one open incident per conversation (a partial unique index).
`pages.update_note` says, on a page that was updated or re-opened, why ("danger reported
again at 21:52"): a fixed phrase and a time, never anything about the child. See
`bot.records.incidents` and `bot.paging.pager.update_page`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_incidents"
down_revision = "0004_staff_access"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation", sa.String(length=64), nullable=False),
        sa.Column("concern_id", sa.Integer(), nullable=False),
        sa.Column("concern_ref", sa.String(length=16), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("last_signal_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("ended_reason", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["concern_id"], ["concerns.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_incidents_conversation", "incidents", ["conversation"])
    op.create_index(
        "uq_incidents_one_open",
        "incidents",
        ["conversation"],
        unique=True,
        sqlite_where=sa.text("ended_at IS NULL"),
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    with op.batch_alter_table("pages") as batch:
        batch.add_column(sa.Column("update_note", sa.String(length=80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pages") as batch:
        batch.drop_column("update_note")
    op.drop_index("uq_incidents_one_open", table_name="incidents")
    op.drop_index("ix_incidents_conversation", table_name="incidents")
    op.drop_table("incidents")
