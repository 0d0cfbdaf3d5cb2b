"""text ids and names without a length limit

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 21:30:00.000000

Why: the ids and names the ingestor copies from OpenClaw's files (entry and session ids,
provider, model, api, stop reason, role, entry type, tool names and call ids, agent, channel,
cron job, the gateway log's level, subsystem and ids, host ids) were VARCHAR(n). SQLite never
enforces a length, but PostgreSQL refused a longer value, and with it the whole batch, at
every pass: one stop reason of 33 characters or a model name of 257 stopped a PostgreSQL
ingest for good while SQLite counted it. They are now VARCHAR without a limit on both, so both
databases store the same values. Lengths that only the ingestor writes (states, kinds,
statuses, fingerprints) keep theirs.

PostgreSQL: dropping a VARCHAR's limit changes no stored byte (no table rewrite, the indexes
stay). SQLite: nothing to do (a declared length is never checked), so no table is copied.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: table -> (column, length before)
COLUMNS: dict[str, list[tuple[str, int]]] = {
    "alert_acks": [("alert_key", 256)],
    "gateway_events": [
        ("host_id", 128),
        ("level", 8),
        ("subsystem", 128),
        ("agent_id", 128),
        ("session_id", 128),
        ("run_id", 128),
        ("hostname", 256),
    ],
    "ingest_errors": [("host_id", 128)],
    "messages": [
        ("entry_id", 64),
        ("session_id", 128),
        ("host_id", 128),
        ("agent_id", 128),
        ("entry_type", 32),
        ("role", 32),
        ("parent_entry_id", 64),
        ("provider", 128),
        ("model", 256),
        ("stop_reason", 32),
        ("tool_call_id", 256),
        ("tool_name", 256),
    ],
    "model_hourly": [("agent_id", 128), ("provider", 128), ("model", 256)],
    "session_hourly": [("session_id", 128), ("agent_id", 128), ("host_id", 128)],
    "sessions": [
        ("session_id", 128),
        ("host_id", 128),
        ("agent_id", 128),
        ("channel", 64),
        ("parent_session_id", 128),
        ("cron_job_id", 128),
    ],
    "source_cursors": [("stream", 256), ("host_id", 128)],
    "sources": [("host_id", 128), ("agent_id", 128), ("session_id", 128)],
    "tool_calls": [
        ("entry_id", 64),
        ("tool_call_id", 256),
        ("session_id", 128),
        ("host_id", 128),
        ("agent_id", 128),
        ("tool_name", 256),
        ("result_entry_id", 64),
    ],
    "tool_hourly": [("session_id", 128), ("tool_name", 256), ("agent_id", 128), ("host_id", 128)],
    "tool_name_hourly": [("agent_id", 128), ("tool_name", 256)],
    "usage": [
        ("entry_id", 64),
        ("session_id", 128),
        ("host_id", 128),
        ("agent_id", 128),
        ("provider", 128),
        ("model", 256),
        ("api", 64),
        ("stop_reason", 32),
        ("price_model", 256),
    ],
    "usage_hourly": [
        ("session_id", 128),
        ("provider", 128),
        ("model", 256),
        ("agent_id", 128),
        ("host_id", 128),
    ],
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, cols in COLUMNS.items():
        for name, length in cols:
            op.alter_column(table, name, type_=sa.String(), existing_type=sa.String(length))


def downgrade() -> None:
    """Back to the limits (PostgreSQL refuses if a longer value is stored by then)."""
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, cols in COLUMNS.items():
        for name, length in cols:
            op.alter_column(table, name, type_=sa.String(length), existing_type=sa.String())
