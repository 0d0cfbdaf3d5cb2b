"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-29 09:37:57.779664

Why: the first contract between the ingestor, the dashboard and users' own SQL: the
normalized tables sessions, messages, usage and tool_calls (accounting.md), the bookkeeping
that makes ingest exactly-once and resumable (sources, source_cursors, ingest_errors), the
hourly rollups the dashboard reads for long ranges, and alert_acks, the webapp's only write.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "model_hourly",
        sa.Column("hour_ms", sa.BigInteger(), nullable=False, comment="Start of the UTC hour."),
        sa.Column("agent_id", sa.String(length=128), nullable=False, comment="Agent."),
        sa.Column(
            "kind",
            sa.String(length=16),
            nullable=False,
            comment="Session kind (as the sessions row says).",
        ),
        sa.Column("provider", sa.String(length=128), nullable=False, comment="Provider."),
        sa.Column("model", sa.String(length=256), nullable=False, comment="Model."),
        sa.Column("llm_calls", sa.BigInteger(), nullable=False, comment="Calls."),
        sa.Column("failed_calls", sa.BigInteger(), nullable=False, comment="Failed calls."),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False, comment="Sum of input_tokens."),
        sa.Column(
            "output_tokens", sa.BigInteger(), nullable=False, comment="Sum of output_tokens."
        ),
        sa.Column(
            "cache_read_tokens",
            sa.BigInteger(),
            nullable=False,
            comment="Sum of cache_read_tokens.",
        ),
        sa.Column(
            "cache_write_tokens",
            sa.BigInteger(),
            nullable=False,
            comment="Sum of cache_write_tokens.",
        ),
        sa.Column("logged_cost", sa.Float(), nullable=False, comment="Sum of known logged_cost."),
        sa.Column("priced_cost", sa.Float(), nullable=False, comment="Sum of known priced_cost."),
        sa.Column("cost", sa.Float(), nullable=False, comment="Sum of cost."),
        sa.Column(
            "cache_savings", sa.Float(), nullable=False, comment="Sum of known cache_savings."
        ),
        sa.PrimaryKeyConstraint(
            "hour_ms", "agent_id", "kind", "provider", "model", name=op.f("pk_model_hourly")
        ),
        comment="Rollup of usage per UTC hour, agent, session kind and model (all hosts, no session column): the dashboard's totals and charts read it.",
    )
    op.create_table(
        "tool_name_hourly",
        sa.Column("hour_ms", sa.BigInteger(), nullable=False, comment="Start of the UTC hour."),
        sa.Column("agent_id", sa.String(length=128), nullable=False, comment="Agent."),
        sa.Column("kind", sa.String(length=16), nullable=False, comment="Session kind."),
        sa.Column("tool_name", sa.String(length=256), nullable=False, comment="Tool."),
        sa.Column("calls", sa.BigInteger(), nullable=False, comment="Tool calls."),
        sa.Column("errors", sa.BigInteger(), nullable=False, comment="Calls with status error."),
        sa.Column("missing", sa.BigInteger(), nullable=False, comment="Calls with status missing."),
        sa.PrimaryKeyConstraint(
            "hour_ms", "agent_id", "kind", "tool_name", name=op.f("pk_tool_name_hourly")
        ),
        comment="Rollup of tool_calls per UTC hour, agent, session kind and tool (all hosts).",
    )
    op.create_table(
        "alert_acks",
        sa.Column(
            "alert_key", sa.String(length=256), nullable=False, comment="Stable id of the alert."
        ),
        sa.Column(
            "acked_ms", sa.BigInteger(), nullable=False, comment="When a user acknowledged it."
        ),
        sa.Column("note", sa.Text(), nullable=True, comment="Optional note."),
        sa.PrimaryKeyConstraint("alert_key", name=op.f("pk_alert_acks")),
        comment="Alerts a user acknowledged in the dashboard (the webapp's only write).",
    )
    op.create_table(
        "messages",
        sa.Column(
            "entry_id",
            sa.String(length=64),
            nullable=False,
            comment="Entry id (8 hex chars or a UUID).",
        ),
        sa.Column(
            "ts_ms", sa.BigInteger(), nullable=False, comment="Entry timestamp, epoch ms UTC."
        ),
        sa.Column("session_id", sa.String(length=128), nullable=False, comment="Owning session."),
        sa.Column(
            "session_created_ms",
            sa.BigInteger(),
            nullable=True,
            comment="Header time of the owning session (decides ownership of copies).",
        ),
        sa.Column(
            "host_id",
            sa.String(length=128),
            nullable=False,
            comment="Host whose ingestor wrote the row.",
        ),
        sa.Column(
            "agent_id",
            sa.String(length=128),
            nullable=False,
            comment="Agent of the owning session.",
        ),
        sa.Column(
            "entry_type",
            sa.String(length=32),
            nullable=False,
            comment="message, model_change, compaction, custom, ... (every entry but the header).",
        ),
        sa.Column(
            "role",
            sa.String(length=32),
            nullable=True,
            comment="user | assistant | toolResult | bashExecution | ...",
        ),
        sa.Column("parent_entry_id", sa.String(length=64), nullable=True, comment="parentId."),
        sa.Column(
            "synthetic",
            sa.Boolean(),
            nullable=False,
            comment="Assistant row that is not an LLM call (delivery-mirror, gateway-injected, injected).",
        ),
        sa.Column(
            "provider", sa.String(length=128), nullable=True, comment="Assistant: message.provider."
        ),
        sa.Column(
            "model", sa.String(length=256), nullable=True, comment="Assistant: message.model."
        ),
        sa.Column(
            "stop_reason", sa.String(length=32), nullable=True, comment="Assistant: stopReason."
        ),
        sa.Column(
            "message_ts_ms",
            sa.BigInteger(),
            nullable=True,
            comment="Inner message.timestamp (epoch ms).",
        ),
        sa.Column(
            "tool_call_id", sa.String(length=256), nullable=True, comment="toolResult: toolCallId."
        ),
        sa.Column(
            "tool_name", sa.String(length=256), nullable=True, comment="toolResult: toolName."
        ),
        sa.Column("tool_is_error", sa.Boolean(), nullable=True, comment="toolResult: isError."),
        sa.Column(
            "tool_synthetic",
            sa.Boolean(),
            nullable=True,
            comment="toolResult: OpenClaw's synthetic repair result.",
        ),
        sa.Column(
            "tool_duration_ms",
            sa.BigInteger(),
            nullable=True,
            comment="toolResult: details.durationMs.",
        ),
        sa.Column(
            "text_preview",
            sa.Text(),
            nullable=True,
            comment="First 200 characters of the text content.",
        ),
        sa.Column(
            "source_id", sa.Integer(), nullable=True, comment="Source the row was first read from."
        ),
        sa.Column(
            "source_offset",
            sa.BigInteger(),
            nullable=True,
            comment="Byte offset (or seq) in that source.",
        ),
        sa.PrimaryKeyConstraint("entry_id", "ts_ms", name=op.f("pk_messages")),
        comment="Every transcript entry except the header, once per identity (entry_id, ts_ms).",
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_session_ts", ["session_id", "ts_ms"], unique=False)
        batch_op.create_index(
            "ix_messages_tool_call",
            ["session_id", "tool_call_id"],
            unique=False,
            sqlite_where=sa.text("tool_call_id IS NOT NULL"),
            postgresql_where=sa.text("tool_call_id IS NOT NULL"),
        )
        batch_op.create_index("ix_messages_ts", ["ts_ms"], unique=False)

    op.create_table(
        "session_hourly",
        sa.Column("hour_ms", sa.BigInteger(), nullable=False, comment="Start of the UTC hour."),
        sa.Column("session_id", sa.String(length=128), nullable=False, comment="Session."),
        sa.Column("agent_id", sa.String(length=128), nullable=False, comment="Agent."),
        sa.Column(
            "host_id",
            sa.String(length=128),
            nullable=False,
            comment="Host whose ingestor wrote the row.",
        ),
        sa.Column(
            "messages", sa.BigInteger(), nullable=False, comment="Message entries (any role)."
        ),
        sa.PrimaryKeyConstraint("hour_ms", "session_id", name=op.f("pk_session_hourly")),
        comment="Rollup: which sessions were active (had a message) in which UTC hour.",
    )
    op.create_table(
        "sessions",
        sa.Column(
            "session_id",
            sa.String(length=128),
            nullable=False,
            comment="Header id (or id from name).",
        ),
        sa.Column(
            "host_id",
            sa.String(length=128),
            nullable=False,
            comment="Host whose ingestor wrote the row.",
        ),
        sa.Column(
            "agent_id",
            sa.String(length=128),
            nullable=False,
            comment="Agent folder (main if unknown).",
        ),
        sa.Column(
            "key",
            sa.Text(),
            nullable=True,
            comment="Session key from sessions.json, else agent:<agentId>:cron:<jobId> from a cron prompt.",
        ),
        sa.Column(
            "kind",
            sa.String(length=16),
            nullable=False,
            comment="main | dm | group | thread | subagent | cron | hook | heartbeat | acp | other | unknown.",
        ),
        sa.Column(
            "label",
            sa.Text(),
            nullable=True,
            comment="sessions.json label/displayName, or the cron job name.",
        ),
        sa.Column("title", sa.Text(), nullable=True, comment="Latest session_info name."),
        sa.Column(
            "channel",
            sa.String(length=64),
            nullable=True,
            comment="Channel (telegram, webchat, ...) from sessions.json.",
        ),
        sa.Column(
            "parent_key",
            sa.Text(),
            nullable=True,
            comment="spawnedBy: key of the session that spawned this one.",
        ),
        sa.Column(
            "parent_session_id",
            sa.String(length=128),
            nullable=True,
            comment="Parent session: spawnedBy resolved to an id, else the header's parentSession.",
        ),
        sa.Column(
            "cron_job_id",
            sa.String(length=128),
            nullable=True,
            comment="Cron job id for cron sessions.",
        ),
        sa.Column("cwd", sa.Text(), nullable=True, comment="Header cwd."),
        sa.Column(
            "created_ms",
            sa.BigInteger(),
            nullable=True,
            comment="Header timestamp (NULL when the header is missing).",
        ),
        sa.Column(
            "started_ms",
            sa.BigInteger(),
            nullable=True,
            comment="Earliest entry timestamp owned by the session.",
        ),
        sa.Column(
            "ended_ms",
            sa.BigInteger(),
            nullable=True,
            comment="Latest entry timestamp owned by the session.",
        ),
        sa.Column(
            "path",
            sa.Text(),
            nullable=True,
            comment="Transcript path the session was last read from.",
        ),
        sa.Column(
            "updated_ms", sa.BigInteger(), nullable=False, comment="When the row last changed."
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_sessions")),
        comment="One row per OpenClaw session (transcript), with its metadata.",
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index("ix_sessions_ended", ["ended_ms"], unique=False)
        batch_op.create_index("ix_sessions_key", ["key"], unique=False)
        batch_op.create_index("ix_sessions_parent", ["parent_session_id"], unique=False)

    op.create_table(
        "sources",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False, comment="Surrogate key."),
        sa.Column(
            "host_id",
            sa.String(length=128),
            nullable=False,
            comment="Host whose ingestor wrote the row.",
        ),
        sa.Column(
            "kind",
            sa.String(length=32),
            nullable=False,
            comment="jsonl | jsonl_zst | sessions_index | sqlite_store | gateway_log.",
        ),
        sa.Column("path", sa.Text(), nullable=False, comment="Last path the file was seen at."),
        sa.Column(
            "agent_id",
            sa.String(length=128),
            nullable=True,
            comment="Agent folder the file lives under, if any.",
        ),
        sa.Column(
            "device",
            sa.BigInteger(),
            nullable=True,
            comment="st_dev of the file (identity with inode).",
        ),
        sa.Column(
            "inode",
            sa.BigInteger(),
            nullable=True,
            comment="st_ino of the file (identity with device).",
        ),
        sa.Column(
            "head_fp",
            sa.String(length=64),
            nullable=True,
            comment="sha256 of the file's first head_len bytes (detects rewrites and inode reuse).",
        ),
        sa.Column(
            "head_len",
            sa.Integer(),
            nullable=True,
            comment="How many leading bytes head_fp covers.",
        ),
        sa.Column(
            "tail_fp",
            sa.String(length=64),
            nullable=True,
            comment="sha256 of the 64 bytes before read_offset (detects an in-place rewrite that keeps the header).",
        ),
        sa.Column(
            "read_offset",
            sa.BigInteger(),
            nullable=False,
            comment="Bytes consumed: always the end of a complete line (uncompressed bytes for .zst).",
        ),
        sa.Column("size", sa.BigInteger(), nullable=True, comment="File size at the last read."),
        sa.Column(
            "mtime_ns", sa.BigInteger(), nullable=True, comment="File mtime (ns) at the last read."
        ),
        sa.Column(
            "state",
            sa.String(length=16),
            nullable=False,
            comment="active | archived (renamed to an archive) | gone (deleted; rows kept) | replaced (a new file took its path) | skipped (not a transcript).",
        ),
        sa.Column(
            "archive_reason",
            sa.String(length=16),
            nullable=True,
            comment="reset | deleted for archives, else NULL.",
        ),
        sa.Column(
            "session_id",
            sa.String(length=128),
            nullable=True,
            comment="Session id of the transcript (header or name).",
        ),
        sa.Column(
            "skip_reason", sa.Text(), nullable=True, comment="Why a skipped file is not read."
        ),
        sa.Column("lines", sa.BigInteger(), nullable=False, comment="Lines read (all passes)."),
        sa.Column("errors", sa.BigInteger(), nullable=False, comment="Lines that gave an error."),
        sa.Column(
            "first_seen_ms",
            sa.BigInteger(),
            nullable=False,
            comment="When the file was first seen.",
        ),
        sa.Column(
            "last_seen_ms", sa.BigInteger(), nullable=False, comment="When the file was last seen."
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sources")),
        comment="Every file or SQLite store the ingestor reads, with its read position.",
    )
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sources_device_inode", ["host_id", "device", "inode"], unique=False
        )
        batch_op.create_index("ix_sources_path", ["host_id", "path"], unique=False)

    op.create_table(
        "tool_calls",
        sa.Column(
            "entry_id",
            sa.String(length=64),
            nullable=False,
            comment="Entry id of the calling message.",
        ),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False, comment="Entry timestamp of the call."),
        sa.Column(
            "block_index", sa.Integer(), nullable=False, comment="Position of the toolCall block."
        ),
        sa.Column(
            "tool_call_id",
            sa.String(length=256),
            nullable=True,
            comment="toolCall.id (provider's call id).",
        ),
        sa.Column(
            "session_id",
            sa.String(length=128),
            nullable=False,
            comment="Owning session (of the call).",
        ),
        sa.Column(
            "session_created_ms",
            sa.BigInteger(),
            nullable=True,
            comment="Header time of the owning session.",
        ),
        sa.Column(
            "host_id",
            sa.String(length=128),
            nullable=False,
            comment="Host whose ingestor wrote the row.",
        ),
        sa.Column(
            "agent_id",
            sa.String(length=128),
            nullable=False,
            comment="Agent of the owning session.",
        ),
        sa.Column("tool_name", sa.String(length=256), nullable=False, comment="toolCall.name."),
        sa.Column(
            "command_family",
            sa.String(length=128),
            nullable=True,
            comment="exec: the command's first word.",
        ),
        sa.Column(
            "args_preview",
            sa.Text(),
            nullable=True,
            comment="First 200 characters of the arguments as JSON.",
        ),
        sa.Column("status", sa.String(length=8), nullable=False, comment="ok | error | missing."),
        sa.Column(
            "synthetic",
            sa.Boolean(),
            nullable=False,
            comment="The result is OpenClaw's synthetic repair ('[openclaw] missing tool result').",
        ),
        sa.Column(
            "result_entry_id",
            sa.String(length=64),
            nullable=True,
            comment="Entry id of the toolResult.",
        ),
        sa.Column(
            "result_ts_ms",
            sa.BigInteger(),
            nullable=True,
            comment="Entry timestamp of the toolResult.",
        ),
        sa.Column(
            "duration_ms",
            sa.BigInteger(),
            nullable=True,
            comment="details.durationMs, else result - call, >= 0.",
        ),
        sa.Column(
            "error_preview",
            sa.Text(),
            nullable=True,
            comment="First 200 characters of an error result.",
        ),
        sa.PrimaryKeyConstraint("entry_id", "ts_ms", "block_index", name=op.f("pk_tool_calls")),
        comment="One row per toolCall block of a counted LLM call, paired with its result.",
    )
    with op.batch_alter_table("tool_calls", schema=None) as batch_op:
        batch_op.create_index("ix_tool_calls_session", ["session_id", "tool_call_id"], unique=False)
        batch_op.create_index(
            "ix_tool_calls_tool_ts",
            ["tool_name", "ts_ms", "duration_ms", "command_family", "status"],
            unique=False,
        )
        batch_op.create_index("ix_tool_calls_ts", ["ts_ms"], unique=False)

    op.create_table(
        "tool_hourly",
        sa.Column("hour_ms", sa.BigInteger(), nullable=False, comment="Start of the UTC hour."),
        sa.Column("session_id", sa.String(length=128), nullable=False, comment="Owning session."),
        sa.Column("tool_name", sa.String(length=256), nullable=False, comment="Tool."),
        sa.Column("agent_id", sa.String(length=128), nullable=False, comment="Agent."),
        sa.Column(
            "host_id",
            sa.String(length=128),
            nullable=False,
            comment="Host whose ingestor wrote the row.",
        ),
        sa.Column("calls", sa.BigInteger(), nullable=False, comment="Tool calls."),
        sa.Column("errors", sa.BigInteger(), nullable=False, comment="Calls with status error."),
        sa.Column("missing", sa.BigInteger(), nullable=False, comment="Calls with status missing."),
        sa.PrimaryKeyConstraint("hour_ms", "session_id", "tool_name", name=op.f("pk_tool_hourly")),
        comment="Rollup of tool_calls per UTC hour, session and tool.",
    )
    op.create_table(
        "usage",
        sa.Column(
            "entry_id",
            sa.String(length=64),
            nullable=False,
            comment="Entry id of the assistant message.",
        ),
        sa.Column(
            "ts_ms", sa.BigInteger(), nullable=False, comment="Entry timestamp, epoch ms UTC."
        ),
        sa.Column("session_id", sa.String(length=128), nullable=False, comment="Owning session."),
        sa.Column(
            "session_created_ms",
            sa.BigInteger(),
            nullable=True,
            comment="Header time of the owning session.",
        ),
        sa.Column(
            "host_id",
            sa.String(length=128),
            nullable=False,
            comment="Host whose ingestor wrote the row.",
        ),
        sa.Column(
            "agent_id",
            sa.String(length=128),
            nullable=False,
            comment="Agent of the owning session.",
        ),
        sa.Column(
            "provider",
            sa.String(length=128),
            nullable=False,
            comment="message.provider ('' if absent).",
        ),
        sa.Column(
            "model", sa.String(length=256), nullable=False, comment="message.model ('' if absent)."
        ),
        sa.Column("api", sa.String(length=64), nullable=True, comment="message.api."),
        sa.Column("stop_reason", sa.String(length=32), nullable=True, comment="stopReason."),
        sa.Column(
            "failed",
            sa.Boolean(),
            nullable=False,
            comment="stopReason is error, aborted or timeout (a call that may still be billed).",
        ),
        sa.Column(
            "error_message", sa.Text(), nullable=True, comment="errorMessage, first 500 characters."
        ),
        sa.Column(
            "input_tokens",
            sa.BigInteger(),
            nullable=False,
            comment="Non-cached input (normalized).",
        ),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False, comment="usage.output."),
        sa.Column("cache_read_tokens", sa.BigInteger(), nullable=False, comment="usage.cacheRead."),
        sa.Column(
            "cache_write_tokens", sa.BigInteger(), nullable=False, comment="usage.cacheWrite."
        ),
        sa.Column(
            "total_tokens", sa.BigInteger(), nullable=False, comment="Sum of the four, recomputed."
        ),
        sa.Column(
            "raw_input",
            sa.Float(),
            nullable=True,
            comment="usage.input as logged (Google: includes cache reads).",
        ),
        sa.Column("raw_output", sa.Float(), nullable=True, comment="usage.output as logged."),
        sa.Column(
            "raw_cache_read", sa.Float(), nullable=True, comment="usage.cacheRead as logged."
        ),
        sa.Column(
            "raw_cache_write", sa.Float(), nullable=True, comment="usage.cacheWrite as logged."
        ),
        sa.Column(
            "raw_total_tokens",
            sa.Float(),
            nullable=True,
            comment="usage.totalTokens as logged (not trusted).",
        ),
        sa.Column(
            "logged_cost",
            sa.Float(),
            nullable=True,
            comment="usage.cost.total when finite and >= 0, else NULL.",
        ),
        sa.Column(
            "priced_cost",
            sa.Float(),
            nullable=True,
            comment="Cost from the price table or overrides, else NULL.",
        ),
        sa.Column(
            "cost", sa.Float(), nullable=False, comment="Effective cost: what every chart shows."
        ),
        sa.Column(
            "cost_source",
            sa.String(length=16),
            nullable=False,
            comment="override | logged | priced | unknown: which rule gave cost.",
        ),
        sa.Column(
            "price_model",
            sa.String(length=256),
            nullable=True,
            comment="Model id the price table matched.",
        ),
        sa.Column(
            "price_fuzzy",
            sa.Boolean(),
            nullable=True,
            comment="The price table matched the model id loosely.",
        ),
        sa.Column(
            "cache_savings",
            sa.Float(),
            nullable=True,
            comment="cache_read tokens at the input price minus at the cache-read price.",
        ),
        sa.Column(
            "zero_cost_with_price",
            sa.Boolean(),
            nullable=False,
            comment="Logged cost is 0 (or missing) although the model has a known price.",
        ),
        sa.Column(
            "cost_mismatch",
            sa.Boolean(),
            nullable=False,
            comment="Logged cost differs from the list price by more than 5 %.",
        ),
        sa.Column(
            "latency_ms",
            sa.BigInteger(),
            nullable=True,
            comment="Entry timestamp minus message.timestamp, >= 0.",
        ),
        sa.Column(
            "warning",
            sa.Boolean(),
            nullable=False,
            comment="A usage field was negative, non-finite or not a number (counted as 0).",
        ),
        sa.PrimaryKeyConstraint("entry_id", "ts_ms", name=op.f("pk_usage")),
        comment="One row per LLM call (accounting.md §3): tokens and cost.",
    )
    with op.batch_alter_table("usage", schema=None) as batch_op:
        batch_op.create_index("ix_usage_model_ts", ["provider", "model", "ts_ms"], unique=False)
        batch_op.create_index("ix_usage_session_ts", ["session_id", "ts_ms"], unique=False)
        batch_op.create_index("ix_usage_ts", ["ts_ms"], unique=False)

    op.create_table(
        "usage_hourly",
        sa.Column("hour_ms", sa.BigInteger(), nullable=False, comment="Start of the UTC hour."),
        sa.Column("session_id", sa.String(length=128), nullable=False, comment="Owning session."),
        sa.Column("provider", sa.String(length=128), nullable=False, comment="Provider."),
        sa.Column("model", sa.String(length=256), nullable=False, comment="Model."),
        sa.Column("agent_id", sa.String(length=128), nullable=False, comment="Agent."),
        sa.Column(
            "host_id",
            sa.String(length=128),
            nullable=False,
            comment="Host whose ingestor wrote the row.",
        ),
        sa.Column("llm_calls", sa.BigInteger(), nullable=False, comment="Calls."),
        sa.Column("failed_calls", sa.BigInteger(), nullable=False, comment="Failed calls."),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False, comment="Sum of input_tokens."),
        sa.Column(
            "output_tokens", sa.BigInteger(), nullable=False, comment="Sum of output_tokens."
        ),
        sa.Column(
            "cache_read_tokens",
            sa.BigInteger(),
            nullable=False,
            comment="Sum of cache_read_tokens.",
        ),
        sa.Column(
            "cache_write_tokens",
            sa.BigInteger(),
            nullable=False,
            comment="Sum of cache_write_tokens.",
        ),
        sa.Column("logged_cost", sa.Float(), nullable=False, comment="Sum of known logged_cost."),
        sa.Column("priced_cost", sa.Float(), nullable=False, comment="Sum of known priced_cost."),
        sa.Column("cost", sa.Float(), nullable=False, comment="Sum of cost."),
        sa.Column(
            "cache_savings", sa.Float(), nullable=False, comment="Sum of known cache_savings."
        ),
        sa.PrimaryKeyConstraint(
            "hour_ms", "session_id", "provider", "model", name=op.f("pk_usage_hourly")
        ),
        comment="Rollup of usage per UTC hour, session and model.",
    )
    with op.batch_alter_table("usage_hourly", schema=None) as batch_op:
        batch_op.create_index("ix_usage_hourly_hour", ["hour_ms"], unique=False)

    op.create_table(
        "ingest_errors",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False, comment="Surrogate key."),
        sa.Column(
            "source_id", sa.Integer(), nullable=False, comment="The file the line came from."
        ),
        sa.Column(
            "host_id",
            sa.String(length=128),
            nullable=False,
            comment="Host whose ingestor wrote the row.",
        ),
        sa.Column(
            "path", sa.Text(), nullable=False, comment="Path of the file when the error was seen."
        ),
        sa.Column(
            "line_offset",
            sa.BigInteger(),
            nullable=False,
            comment="Byte offset (or seq) of the line.",
        ),
        sa.Column(
            "severity",
            sa.String(length=8),
            nullable=False,
            comment="error (line skipped) | warning.",
        ),
        sa.Column("reason", sa.Text(), nullable=False, comment="What was wrong, in one line."),
        sa.Column(
            "excerpt", sa.Text(), nullable=True, comment="The first 200 characters of the line."
        ),
        sa.Column("created_ms", sa.BigInteger(), nullable=False, comment="When it was recorded."),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_ingest_errors_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_errors")),
        sa.UniqueConstraint(
            "source_id",
            "line_offset",
            "reason",
            name=op.f("uq_ingest_errors_source_id_line_offset_reason"),
        ),
        comment="Lines that could not be ingested, or were ingested with a warning.",
    )
    with op.batch_alter_table("ingest_errors", schema=None) as batch_op:
        batch_op.create_index("ix_ingest_errors_created", ["created_ms"], unique=False)

    op.create_table(
        "source_cursors",
        sa.Column("source_id", sa.Integer(), nullable=False, comment="The store (a sources row)."),
        sa.Column(
            "stream",
            sa.String(length=256),
            nullable=False,
            comment="Stream within it: a session_id.",
        ),
        sa.Column(
            "position", sa.BigInteger(), nullable=False, comment="High-water mark: last seq read."
        ),
        sa.Column(
            "host_id",
            sa.String(length=128),
            nullable=False,
            comment="Host whose ingestor wrote the row.",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_source_cursors_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("source_id", "stream", name=op.f("pk_source_cursors")),
        comment="High-water marks per stream of a multi-stream source (SQLite transcript stores).",
    )


def downgrade() -> None:
    op.drop_table("tool_name_hourly")
    op.drop_table("model_hourly")
    op.drop_table("source_cursors")
    with op.batch_alter_table("ingest_errors", schema=None) as batch_op:
        batch_op.drop_index("ix_ingest_errors_created")

    op.drop_table("ingest_errors")
    with op.batch_alter_table("usage_hourly", schema=None) as batch_op:
        batch_op.drop_index("ix_usage_hourly_hour")

    op.drop_table("usage_hourly")
    with op.batch_alter_table("usage", schema=None) as batch_op:
        batch_op.drop_index("ix_usage_ts")
        batch_op.drop_index("ix_usage_session_ts")
        batch_op.drop_index("ix_usage_model_ts")

    op.drop_table("usage")
    op.drop_table("tool_hourly")
    with op.batch_alter_table("tool_calls", schema=None) as batch_op:
        batch_op.drop_index("ix_tool_calls_ts")
        batch_op.drop_index("ix_tool_calls_tool_ts")
        batch_op.drop_index("ix_tool_calls_session")

    op.drop_table("tool_calls")
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.drop_index("ix_sources_path")
        batch_op.drop_index("ix_sources_device_inode")

    op.drop_table("sources")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_sessions_parent")
        batch_op.drop_index("ix_sessions_key")
        batch_op.drop_index("ix_sessions_ended")

    op.drop_table("sessions")
    op.drop_table("session_hourly")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_ts")
        batch_op.drop_index("ix_messages_tool_call")
        batch_op.drop_index("ix_messages_session_ts")

    op.drop_table("messages")
    op.drop_table("alert_acks")
