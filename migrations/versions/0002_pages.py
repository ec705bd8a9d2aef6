"""The pager's durable outbox: pages, their deliveries, and notices for the worker.

Revision ID: 0002_pages
Revises: 0001_concern_log
Create Date: 2026-11-23

`pages` holds one row per logged concern with its escalation chain frozen as JSON; it has
no column that could hold anything about the child. `page_deliveries` has one row per
(page, step, recipient, round), unique, so a recipient is never sent one step twice.
`page_notices` is what the worker is told at each step. See `bot.paging.pager`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_pages"
down_revision = "0001_concern_log"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("concern_ref", sa.String(length=40), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=120), nullable=False),
        sa.Column("worker_name", sa.String(length=200), nullable=False),
        sa.Column("worker_contact", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("chain", sa.Text(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("step_started_at", sa.DateTime(), nullable=True),
        sa.Column("step_deadline", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=120), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token", name="uq_pages_token"),
    )
    op.create_index("ix_pages_concern_ref", "pages", ["concern_ref"])
    op.create_index("ix_pages_status", "pages", ["status"])

    op.create_table(
        "page_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=120), nullable=False),
        sa.Column("recipient_id", sa.String(length=40), nullable=False),
        sa.Column("recipient_name", sa.String(length=200), nullable=False),
        sa.Column("channels", sa.Text(), nullable=False),
        sa.Column("channel_index", sa.Integer(), nullable=False),
        sa.Column("transport", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_try_at", sa.DateTime(), nullable=False),
        sa.Column("claim_id", sa.String(length=32), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=240), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["page_id"], ["pages.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "page_id", "step", "recipient_id", "round", name="uq_page_deliveries_once"
        ),
        sa.UniqueConstraint("dedupe_key", name="uq_page_deliveries_dedupe_key"),
    )
    op.create_index("ix_page_deliveries_page_id", "page_deliveries", ["page_id"])
    op.create_index("ix_page_deliveries_status", "page_deliveries", ["status"])

    op.create_table(
        "page_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("concern_ref", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("shown_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["page_id"], ["pages.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_page_notices_page_id", "page_notices", ["page_id"])
    op.create_index("ix_page_notices_concern_ref", "page_notices", ["concern_ref"])


def downgrade() -> None:
    op.drop_table("page_notices")
    op.drop_table("page_deliveries")
    op.drop_table("pages")
