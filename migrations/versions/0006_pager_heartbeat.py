"""The pager's heartbeat: when each host's pager last finished a pass.

Revision ID: 0006_pager_heartbeat
Revises: 0005_incidents
Create Date: 2026-12-08

`pager_heartbeats` has one row per host running a pager, written at most every few seconds
by the delivery loop (`bot.paging.pager.Pager.beat`), read by `safeguard health` to say
whether a pager is alive. It holds a host name, a process id and two times: nothing about
any concern or child.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_pager_heartbeat"
down_revision = "0005_incidents"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pager_heartbeats",
        sa.Column("host", sa.String(length=120), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("beat_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("host"),
    )


def downgrade() -> None:
    op.drop_table("pager_heartbeats")
