"""The database contract: every table, column and index, shared by the ingestor, the webapp,
the migrations' tests and users' own SQL.

Conventions (documented in the README, checked by ``tests/test_schema_docs.py``):

* Times are integers, **epoch milliseconds UTC** (columns ending in ``_ms``). They are exact,
  portable between SQLite and PostgreSQL, and make every range filter a plain integer
  comparison. In SQLite, ``datetime(ts_ms / 1000, 'unixepoch')`` shows one.
* Costs are US dollars as floating point (``REAL`` / ``double precision``).
* Every row carries ``host_id``: the host whose ingestor first wrote it, so many hosts can feed
  one PostgreSQL database.
* Message identity is ``(entry_id, ts_ms)`` (accounting.md §3): a fork copy, an archive, a
  re-import or a duplicated line is the same row. ``session_created_ms`` is the header time of
  the owning session; a row moves to another session only when that session's header is
  earlier (ties broken by session id), so the result never depends on reading order.
* Tables whose name ends in ``_hourly`` are rollups the ingestor maintains in the same
  transaction as the rows they summarize; the dashboard answers long ranges from them.

Nothing here imports the rest of the ingestor: the webapp may import this module.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# Values of the enumerated text columns, kept here so code and docs share them.
SESSION_KINDS = (
    "main",
    "dm",
    "group",
    "thread",
    "subagent",
    "cron",
    "hook",
    "heartbeat",
    "acp",
    "other",
    "unknown",
)
COST_SOURCES = ("override", "logged", "priced", "unknown")
TOOL_STATUSES = ("ok", "error", "missing")
SOURCE_KINDS = ("jsonl", "jsonl_zst", "sessions_index", "sqlite_store", "gateway_log")
SOURCE_STATES = ("active", "archived", "gone", "replaced", "skipped")


def _host() -> Column[str]:
    return Column("host_id", String(), nullable=False, comment="Host whose ingestor wrote the row.")


def _usage_sums() -> list[Column[Any]]:
    """The measures of the usage rollups (``usage_hourly``, ``model_hourly``)."""
    return [
        Column("llm_calls", BigInteger, nullable=False, comment="Calls."),
        Column("failed_calls", BigInteger, nullable=False, comment="Failed calls."),
        Column("input_tokens", BigInteger, nullable=False, comment="Sum of input_tokens."),
        Column("output_tokens", BigInteger, nullable=False, comment="Sum of output_tokens."),
        Column(
            "cache_read_tokens", BigInteger, nullable=False, comment="Sum of cache_read_tokens."
        ),
        Column(
            "cache_write_tokens", BigInteger, nullable=False, comment="Sum of cache_write_tokens."
        ),
        Column("logged_cost", Float, nullable=False, comment="Sum of known logged_cost."),
        Column("priced_cost", Float, nullable=False, comment="Sum of known priced_cost."),
        Column("cost", Float, nullable=False, comment="Sum of cost."),
        Column("cache_savings", Float, nullable=False, comment="Sum of known cache_savings."),
    ]


sources = Table(
    "sources",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True, comment="Surrogate key."),
    _host(),
    Column(
        "kind",
        String(32),
        nullable=False,
        comment="jsonl | jsonl_zst | sessions_index | sqlite_store | gateway_log.",
    ),
    Column("path", Text, nullable=False, comment="Last path the file was seen at."),
    Column("agent_id", String(), comment="Agent folder the file lives under, if any."),
    Column("device", BigInteger, comment="st_dev of the file (identity with inode)."),
    Column("inode", BigInteger, comment="st_ino of the file (identity with device)."),
    Column(
        "head_fp",
        String(64),
        comment="sha256 of the file's first head_len bytes (detects rewrites and inode reuse).",
    ),
    Column("head_len", Integer, comment="How many leading bytes head_fp covers."),
    Column(
        "tail_fp",
        String(64),
        comment="sha256 of the 64 bytes before read_offset (detects an in-place rewrite that keeps "
        "the header).",
    ),
    Column(
        "read_offset",
        BigInteger,
        nullable=False,
        default=0,
        comment="Bytes consumed: always the end of a complete line (uncompressed bytes for .zst).",
    ),
    Column("size", BigInteger, comment="File size at the last read."),
    Column("mtime_ns", BigInteger, comment="File mtime (ns) at the last read."),
    Column(
        "state",
        String(16),
        nullable=False,
        comment="active | archived (renamed to an archive) | gone (deleted; rows kept) | "
        "replaced (a new file took its path) | skipped (not a transcript).",
    ),
    Column("archive_reason", String(16), comment="reset | deleted for archives, else NULL."),
    Column("session_id", String(), comment="Session id of the transcript (header or name)."),
    Column("skip_reason", Text, comment="Why a skipped file is not read."),
    Column("lines", BigInteger, nullable=False, default=0, comment="Lines read (all passes)."),
    Column("errors", BigInteger, nullable=False, default=0, comment="Lines that gave an error."),
    Column("first_seen_ms", BigInteger, nullable=False, comment="When the file was first seen."),
    Column("last_seen_ms", BigInteger, nullable=False, comment="When the file was last seen."),
    # The identity lookup on every pass: (device, inode) of each file found on disk.
    Index("ix_sources_device_inode", "host_id", "device", "inode"),
    # Finding the source last seen at a path (rename and replacement detection).
    Index("ix_sources_path", "host_id", "path"),
    comment="Every file or SQLite store the ingestor reads, with its read position.",
)

source_cursors = Table(
    "source_cursors",
    metadata,
    Column(
        "source_id",
        Integer,
        ForeignKey("sources.id", ondelete="CASCADE"),
        primary_key=True,
        comment="The store (a sources row).",
    ),
    Column("stream", String(), primary_key=True, comment="Stream within it: a session_id."),
    Column("position", BigInteger, nullable=False, comment="High-water mark: last seq read."),
    Column(
        "position_ref",
        String(),
        comment="Stamp of the row at that seq (CRC-32 and length of its payload): when the "
        "store's row there differs, the session is read again from its start.",
    ),
    _host(),
    comment="High-water marks per stream of a multi-stream source (SQLite transcript stores).",
)

ingest_errors = Table(
    "ingest_errors",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True, comment="Surrogate key."),
    Column(
        "source_id",
        Integer,
        ForeignKey("sources.id", ondelete="CASCADE"),
        nullable=False,
        comment="The file the line came from.",
    ),
    _host(),
    Column("path", Text, nullable=False, comment="Path of the file when the error was seen."),
    Column("line_offset", BigInteger, nullable=False, comment="Byte offset (or seq) of the line."),
    Column("severity", String(8), nullable=False, comment="error (line skipped) | warning."),
    Column("reason", Text, nullable=False, comment="What was wrong, in one line."),
    Column("excerpt", Text, comment="The first 200 characters of the line."),
    Column("created_ms", BigInteger, nullable=False, comment="When it was recorded."),
    # An error is recorded once even when a file is read again after a rewrite or a crash.
    UniqueConstraint("source_id", "line_offset", "reason"),
    # The Errors list, newest first.
    # time-range questions (counts by severity, files, the agent filter through source_id)
    # answered from the index alone
    Index("ix_ingest_errors_created", "created_ms", "severity", "source_id"),
    comment="Lines that could not be ingested, or were ingested with a warning.",
)

sessions = Table(
    "sessions",
    metadata,
    Column("session_id", String(), primary_key=True, comment="Header id (or id from name)."),
    _host(),
    Column("agent_id", String(), nullable=False, comment="Agent folder (main if unknown)."),
    Column(
        "key",
        Text,
        comment="Session key from sessions.json, else agent:<agentId>:cron:<jobId> from a "
        "cron prompt.",
    ),
    Column(
        "kind",
        String(16),
        nullable=False,
        default="unknown",
        comment="main | dm | group | thread | subagent | cron | hook | heartbeat | acp | other "
        "| unknown.",
    ),
    Column("label", Text, comment="sessions.json label/displayName, or the cron job name."),
    Column("title", Text, comment="Latest session_info name."),
    Column("channel", String(), comment="Channel (telegram, webchat, ...) from sessions.json."),
    Column("parent_key", Text, comment="spawnedBy: key of the session that spawned this one."),
    Column(
        "parent_session_id",
        String(),
        comment="Parent session: spawnedBy resolved to an id, else the header's parentSession.",
    ),
    Column("cron_job_id", String(), comment="Cron job id for cron sessions."),
    Column("cwd", Text, comment="Header cwd."),
    Column("created_ms", BigInteger, comment="Header timestamp (NULL when the header is missing)."),
    Column("started_ms", BigInteger, comment="Earliest entry timestamp owned by the session."),
    Column("ended_ms", BigInteger, comment="Latest entry timestamp owned by the session."),
    Column("path", Text, comment="Transcript path the session was last read from."),
    Column("updated_ms", BigInteger, nullable=False, comment="When the row last changed."),
    # Sessions grid sorted by recency and the empty-range check.
    Index("ix_sessions_ended", "ended_ms"),
    # Resolving spawnedBy keys to session ids; cron/sub-agent pages group by key.
    Index("ix_sessions_key", "key"),
    # The session page's child tree.
    Index("ix_sessions_parent", "parent_session_id"),
    comment="One row per OpenClaw session (transcript), with its metadata.",
)

messages = Table(
    "messages",
    metadata,
    Column("entry_id", String(), nullable=False, comment="Entry id (8 hex chars or a UUID)."),
    Column("ts_ms", BigInteger, nullable=False, comment="Entry timestamp, epoch ms UTC."),
    Column("session_id", String(), nullable=False, comment="Owning session."),
    Column(
        "session_created_ms",
        BigInteger,
        comment="Header time of the owning session (decides ownership of copies).",
    ),
    _host(),
    Column("agent_id", String(), nullable=False, comment="Agent of the owning session."),
    Column(
        "entry_type",
        String(),
        nullable=False,
        comment="message, model_change, compaction, custom, ... (every entry but the header).",
    ),
    Column("role", String(), comment="user | assistant | toolResult | bashExecution | ..."),
    Column("parent_entry_id", String(), comment="parentId."),
    Column(
        "synthetic",
        Boolean,
        nullable=False,
        default=False,
        comment="Assistant row that is not an LLM call (delivery-mirror, gateway-injected, "
        "injected).",
    ),
    Column("provider", String(), comment="Assistant: message.provider."),
    Column("model", String(), comment="Assistant: message.model."),
    Column("stop_reason", String(), comment="Assistant: stopReason."),
    Column("message_ts_ms", BigInteger, comment="Inner message.timestamp (epoch ms)."),
    Column("tool_call_id", String(), comment="toolResult: toolCallId."),
    Column("tool_name", String(), comment="toolResult: toolName."),
    Column("tool_is_error", Boolean, comment="toolResult: isError."),
    Column("tool_synthetic", Boolean, comment="toolResult: OpenClaw's synthetic repair result."),
    Column("tool_duration_ms", BigInteger, comment="toolResult: details.durationMs."),
    Column("text_preview", Text, comment="First 200 characters of the text content."),
    Column("source_id", Integer, comment="Source the row was first read from."),
    Column("source_offset", BigInteger, comment="Byte offset (or seq) in that source."),
    # The identity, time first: rows read together (one file, files of the same hours) sit
    # together, so a bulk ingest appends instead of touching a random page per row. It also
    # serves every time range (sessions active in a range when no rollup fits).
    PrimaryKeyConstraint("ts_ms", "entry_id"),
    # Session page (its entries in order), start/end recomputation, and pairing a tool call
    # with its result (same session, same toolCallId: a scan of the session's rows).
    Index("ix_messages_session_ts", "session_id", "ts_ms"),
    comment="Every transcript entry except the header, once per identity (entry_id, ts_ms).",
)

usage = Table(
    "usage",
    metadata,
    Column("entry_id", String(), nullable=False, comment="Entry id of the assistant message."),
    Column("ts_ms", BigInteger, nullable=False, comment="Entry timestamp, epoch ms UTC."),
    Column("session_id", String(), nullable=False, comment="Owning session."),
    Column("session_created_ms", BigInteger, comment="Header time of the owning session."),
    _host(),
    Column("agent_id", String(), nullable=False, comment="Agent of the owning session."),
    Column("provider", String(), nullable=False, comment="message.provider ('' if absent)."),
    Column("model", String(), nullable=False, comment="message.model ('' if absent)."),
    Column("api", String(), comment="message.api."),
    Column("stop_reason", String(), comment="stopReason."),
    Column(
        "failed",
        Boolean,
        nullable=False,
        comment="stopReason is error, aborted or timeout (a call that may still be billed).",
    ),
    Column("error_message", Text, comment="errorMessage, first 500 characters."),
    Column("input_tokens", BigInteger, nullable=False, comment="Non-cached input (normalized)."),
    Column("output_tokens", BigInteger, nullable=False, comment="usage.output."),
    Column("cache_read_tokens", BigInteger, nullable=False, comment="usage.cacheRead."),
    Column("cache_write_tokens", BigInteger, nullable=False, comment="usage.cacheWrite."),
    Column("total_tokens", BigInteger, nullable=False, comment="Sum of the four, recomputed."),
    Column("raw_input", Float, comment="usage.input as logged (Google: includes cache reads)."),
    Column("raw_output", Float, comment="usage.output as logged."),
    Column("raw_cache_read", Float, comment="usage.cacheRead as logged."),
    Column("raw_cache_write", Float, comment="usage.cacheWrite as logged."),
    Column("raw_total_tokens", Float, comment="usage.totalTokens as logged (not trusted)."),
    Column("logged_cost", Float, comment="usage.cost.total when finite and >= 0, else NULL."),
    Column("priced_cost", Float, comment="Cost from the price table or overrides, else NULL."),
    Column("cost", Float, nullable=False, comment="Effective cost: what every chart shows."),
    Column(
        "cost_source",
        String(16),
        nullable=False,
        comment="override | logged | priced | unknown: which rule gave cost.",
    ),
    Column("price_model", String(), comment="Model id the price table matched."),
    Column("price_fuzzy", Boolean, comment="The price table matched the model id loosely."),
    Column(
        "cache_savings",
        Float,
        comment="cache_read tokens at the input price minus at the cache-read price.",
    ),
    Column(
        "zero_cost_with_price",
        Boolean,
        nullable=False,
        default=False,
        comment="Logged cost is 0 (or missing) although the model has a known price.",
    ),
    Column(
        "cost_mismatch",
        Boolean,
        nullable=False,
        default=False,
        comment="Logged cost differs from the list price by more than 5 %.",
    ),
    Column("latency_ms", BigInteger, comment="Entry timestamp minus message.timestamp, >= 0."),
    Column(
        "warning",
        Boolean,
        nullable=False,
        default=False,
        comment="A usage field was negative, non-finite or not a number (counted as 0).",
    ),
    # Identity, time first as in messages; serves every range query over raw calls
    # (reports, non-whole-hour zones, recent calls).
    PrimaryKeyConstraint("ts_ms", "entry_id"),
    # Per-session totals (sessions grid, session page) and rollup recomputation.
    Index("ix_usage_session_ts", "session_id", "ts_ms"),
    # Models page drill-down and `reprice` per model and day.
    Index("ix_usage_model_ts", "provider", "model", "ts_ms"),
    comment="One row per LLM call (accounting.md §3): tokens and cost.",
)

tool_calls = Table(
    "tool_calls",
    metadata,
    Column("entry_id", String(), nullable=False, comment="Entry id of the calling message."),
    Column("ts_ms", BigInteger, nullable=False, comment="Entry timestamp of the call."),
    Column("block_index", Integer, nullable=False, comment="Position of the toolCall block."),
    Column("tool_call_id", String(), comment="toolCall.id (provider's call id)."),
    Column("session_id", String(), nullable=False, comment="Owning session (of the call)."),
    Column("session_created_ms", BigInteger, comment="Header time of the owning session."),
    _host(),
    Column("agent_id", String(), nullable=False, comment="Agent of the owning session."),
    Column("tool_name", String(), nullable=False, comment="toolCall.name."),
    Column("command_family", String(128), comment="exec: the command's first word."),
    Column("args_preview", Text, comment="First 200 characters of the arguments as JSON."),
    Column("status", String(8), nullable=False, comment="ok | error | missing."),
    Column(
        "synthetic",
        Boolean,
        nullable=False,
        default=False,
        comment="The result is OpenClaw's synthetic repair ('[openclaw] missing tool result').",
    ),
    Column("result_entry_id", String(), comment="Entry id of the toolResult."),
    Column("result_ts_ms", BigInteger, comment="Entry timestamp of the toolResult."),
    Column("duration_ms", BigInteger, comment="details.durationMs, else result - call, >= 0."),
    Column("error_preview", Text, comment="First 200 characters of an error result."),
    # Identity, time first as in messages; serves the tools page's calls in a range.
    PrimaryKeyConstraint("ts_ms", "entry_id", "block_index"),
    # Per tool in a range, with its p50/p95 durations and exec command families, without
    # touching the table.
    Index("ix_tool_calls_tool_ts", "tool_name", "ts_ms", "duration_ms", "command_family", "status"),
    # Session page; pairing a late result with its call.
    Index("ix_tool_calls_session", "session_id", "tool_call_id"),
    comment="One row per toolCall block of a counted LLM call, paired with its result.",
)

usage_hourly = Table(
    "usage_hourly",
    metadata,
    Column("hour_ms", BigInteger, primary_key=True, comment="Start of the UTC hour."),
    Column("session_id", String(), primary_key=True, comment="Owning session."),
    Column("provider", String(), primary_key=True, comment="Provider."),
    Column("model", String(), primary_key=True, comment="Model."),
    Column("agent_id", String(), nullable=False, comment="Agent."),
    _host(),
    *_usage_sums(),
    # Every dashboard range query over calls: hours in [since, until).
    Index("ix_usage_hourly_hour", "hour_ms"),
    comment="Rollup of usage per UTC hour, session and model.",
)

session_hourly = Table(
    "session_hourly",
    metadata,
    Column("hour_ms", BigInteger, primary_key=True, comment="Start of the UTC hour."),
    Column("session_id", String(), primary_key=True, comment="Session."),
    Column("agent_id", String(), nullable=False, comment="Agent."),
    _host(),
    Column("messages", BigInteger, nullable=False, comment="Message entries (any role)."),
    # Sessions active in a range: hours in [since, until) (the key's leading column).
    comment="Rollup: which sessions were active (had a message) in which UTC hour.",
)

tool_hourly = Table(
    "tool_hourly",
    metadata,
    Column("hour_ms", BigInteger, primary_key=True, comment="Start of the UTC hour."),
    Column("session_id", String(), primary_key=True, comment="Owning session."),
    Column("tool_name", String(), primary_key=True, comment="Tool."),
    Column("agent_id", String(), nullable=False, comment="Agent."),
    _host(),
    Column("calls", BigInteger, nullable=False, comment="Tool calls."),
    Column("errors", BigInteger, nullable=False, comment="Calls with status error."),
    Column("missing", BigInteger, nullable=False, comment="Calls with status missing."),
    comment="Rollup of tool_calls per UTC hour, session and tool.",
)

model_hourly = Table(
    "model_hourly",
    metadata,
    Column("hour_ms", BigInteger, primary_key=True, comment="Start of the UTC hour."),
    Column("agent_id", String(), primary_key=True, comment="Agent."),
    Column(
        "kind", String(16), primary_key=True, comment="Session kind (as the sessions row says)."
    ),
    Column("provider", String(), primary_key=True, comment="Provider."),
    Column("model", String(), primary_key=True, comment="Model."),
    *_usage_sums(),
    # The primary key starts with hour_ms: every range query is a key range scan.
    comment="Rollup of usage per UTC hour, agent, session kind and model (all hosts, no "
    "session column): the dashboard's totals and charts read it.",
)

tool_name_hourly = Table(
    "tool_name_hourly",
    metadata,
    Column("hour_ms", BigInteger, primary_key=True, comment="Start of the UTC hour."),
    Column("agent_id", String(), primary_key=True, comment="Agent."),
    Column("kind", String(16), primary_key=True, comment="Session kind."),
    Column("tool_name", String(), primary_key=True, comment="Tool."),
    Column("calls", BigInteger, nullable=False, comment="Tool calls."),
    Column("errors", BigInteger, nullable=False, comment="Calls with status error."),
    Column("missing", BigInteger, nullable=False, comment="Calls with status missing."),
    comment="Rollup of tool_calls per UTC hour, agent, session kind and tool (all hosts).",
)

alert_acks = Table(
    "alert_acks",
    metadata,
    Column("alert_key", String(), primary_key=True, comment="Stable id of the alert."),
    Column("acked_ms", BigInteger, nullable=False, comment="When a user acknowledged it."),
    Column("note", Text, comment="Optional note."),
    comment="Alerts a user acknowledged in the dashboard (the webapp's only write).",
)

gateway_events = Table(
    "gateway_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True, comment="Surrogate key."),
    Column(
        "source_id",
        Integer,
        ForeignKey("sources.id", ondelete="CASCADE"),
        nullable=False,
        comment="The log file the line came from (rows stay when the file is deleted).",
    ),
    _host(),
    Column(
        "line_offset", BigInteger, nullable=False, comment="Byte offset of the line in its file."
    ),
    Column("time_ms", BigInteger, nullable=False, comment="Line time (time, else _meta.date)."),
    Column("level", String(), comment="SILLY | TRACE | DEBUG | INFO | WARN | ERROR | FATAL."),
    Column("level_id", Integer, comment="tslog level id, 0 (SILLY) to 6 (FATAL)."),
    Column("subsystem", String(), comment="Logger subsystem (agent/embedded, gateway, ...)."),
    Column("message", Text, nullable=False, comment="Message text, first 2,000 characters."),
    Column("agent_id", String(), comment="Agent id, when the line names one."),
    Column("session_id", String(), comment="Session id, when the line names one."),
    Column("run_id", String(), comment="Run id, when the line names one."),
    Column("hostname", String(), comment="Host name the gateway logged."),
    Column("line_hash", String(32), nullable=False, comment="blake2b-128 of the raw line (hex)."),
    # Path-independent identity: a line is stored once even when its file is read again
    # (crash, rewrite, a copy under another name or inode); identical lines in the same
    # millisecond are one row.
    UniqueConstraint("host_id", "time_ms", "line_hash"),
    # The Logs page: newest lines of a time range.
    Index("ix_gateway_events_time", "time_ms"),
    # Errors and warnings of a time range (level_id >= 4) without scanning the debug noise.
    Index("ix_gateway_events_level_time", "level_id", "time_ms"),
    # A session's log lines next to its transcript.
    Index("ix_gateway_events_session_time", "session_id", "time_ms"),
    comment="Gateway log lines (openclaw-YYYY-MM-DD.log): operational events, never usage.",
)

ALL_TABLES = tuple(metadata.sorted_tables)
