"""the Ingest page's questions

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 22:10:00.000000

Why: the dashboard's Ingest page counts errors and warnings in a time range by severity and by
file, and filters them by agent through their file. ``ix_ingest_errors_created`` now holds
(created_ms, severity, source_id), so those questions read the index alone: the all-time
summary over 1,000,000 errors took 374 ms, now 255 ms (SQLite).

Gateway log files were registered in ``sources`` with the agent "main" (the default for a
file outside any agent folder), so the Agent filter hid their errors behind "main". A log
holds every agent's lines: its files now have no agent, as new ones get.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_ingest_errors_created", table_name="ingest_errors")
    op.create_index(
        "ix_ingest_errors_created", "ingest_errors", ["created_ms", "severity", "source_id"]
    )
    op.execute("UPDATE sources SET agent_id = NULL WHERE kind = 'gateway_log'")


def downgrade() -> None:
    op.drop_index("ix_ingest_errors_created", table_name="ingest_errors")
    op.create_index("ix_ingest_errors_created", "ingest_errors", ["created_ms"])
    op.execute("UPDATE sources SET agent_id = 'main' WHERE kind = 'gateway_log'")
