"""gateway events

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 10:00:00.000000

Why: OpenClaw's gateway logs (/tmp/openclaw/openclaw-YYYY-MM-DD.log) are deleted after 24
hours, and since the SQLite era (2026.7.2) they are the only record of errors, latency and
run lifecycle outside the agent stores. The ingestor now tails them like transcripts into
gateway_events (time, level, subsystem, message and the agent, session and run ids a line
names), so the dashboard can show them after OpenClaw has removed the files. Log lines never
add usage. The key (host_id, time_ms, line_hash) is path-independent, so a re-read, a rewrite
or a copy of a file inserts nothing; the indexes serve time-range queries (all lines, by
level, by session).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gateway_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False, comment="Surrogate key."),
        sa.Column(
            "source_id",
            sa.Integer(),
            nullable=False,
            comment="The log file the line came from (rows stay when the file is deleted).",
        ),
        sa.Column(
            "host_id",
            sa.String(length=128),
            nullable=False,
            comment="Host whose ingestor wrote the row.",
        ),
        sa.Column(
            "line_offset",
            sa.BigInteger(),
            nullable=False,
            comment="Byte offset of the line in its file.",
        ),
        sa.Column(
            "time_ms",
            sa.BigInteger(),
            nullable=False,
            comment="Line time (time, else _meta.date).",
        ),
        sa.Column(
            "level",
            sa.String(length=8),
            nullable=True,
            comment="SILLY | TRACE | DEBUG | INFO | WARN | ERROR | FATAL.",
        ),
        sa.Column(
            "level_id",
            sa.Integer(),
            nullable=True,
            comment="tslog level id, 0 (SILLY) to 6 (FATAL).",
        ),
        sa.Column(
            "subsystem",
            sa.String(length=128),
            nullable=True,
            comment="Logger subsystem (agent/embedded, gateway, ...).",
        ),
        sa.Column(
            "message",
            sa.Text(),
            nullable=False,
            comment="Message text, first 2,000 characters.",
        ),
        sa.Column(
            "agent_id",
            sa.String(length=128),
            nullable=True,
            comment="Agent id, when the line names one.",
        ),
        sa.Column(
            "session_id",
            sa.String(length=128),
            nullable=True,
            comment="Session id, when the line names one.",
        ),
        sa.Column(
            "run_id",
            sa.String(length=128),
            nullable=True,
            comment="Run id, when the line names one.",
        ),
        sa.Column(
            "hostname",
            sa.String(length=256),
            nullable=True,
            comment="Host name the gateway logged.",
        ),
        sa.Column(
            "line_hash",
            sa.String(length=32),
            nullable=False,
            comment="blake2b-128 of the raw line (hex).",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_gateway_events_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_events")),
        sa.UniqueConstraint(
            "host_id",
            "time_ms",
            "line_hash",
            name=op.f("uq_gateway_events_host_id_time_ms_line_hash"),
        ),
        comment="Gateway log lines (openclaw-YYYY-MM-DD.log): operational events, never usage.",
    )
    with op.batch_alter_table("gateway_events", schema=None) as batch_op:
        # The Logs page: newest lines of a time range.
        batch_op.create_index("ix_gateway_events_time", ["time_ms"], unique=False)
        # Errors and warnings of a time range without scanning the debug noise.
        batch_op.create_index("ix_gateway_events_level_time", ["level_id", "time_ms"], unique=False)
        # A session's log lines next to its transcript.
        batch_op.create_index(
            "ix_gateway_events_session_time", ["session_id", "time_ms"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("gateway_events", schema=None) as batch_op:
        batch_op.drop_index("ix_gateway_events_session_time")
        batch_op.drop_index("ix_gateway_events_level_time")
        batch_op.drop_index("ix_gateway_events_time")
    op.drop_table("gateway_events")
