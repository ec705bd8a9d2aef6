"""The audit trail of who read or wrote a concern (hash-chained). Filled in by bot.audit.

Revision ID: 0003_audit_trail
Revises: 0002_pages
Create Date: 2026-11-24
"""

from __future__ import annotations

revision = "0003_audit_trail"
down_revision = "0002_pages"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
