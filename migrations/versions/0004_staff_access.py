"""Staff linked to chat accounts, and access requests awaiting a lead. Filled in by bot.access.

Revision ID: 0004_staff_access
Revises: 0003_audit_trail
Create Date: 2026-11-24
"""

from __future__ import annotations

revision = "0004_staff_access"
down_revision = "0003_audit_trail"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
