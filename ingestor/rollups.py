"""The hourly rollups: how they are derived from the base tables, and how they are kept exact.

Per session: ``usage_hourly``, ``session_hourly``, ``tool_hourly`` (from the base tables).
Without the session: ``model_hourly``, ``tool_name_hourly`` (from the per-session ones, with
the session's kind), small enough for the dashboard's long ranges.

A rollup row is always the aggregate of its base rows; the writer keeps that true by
recomputing the (session, hour) cells a transaction touched (``recompute``), or adding the
aggregates of rows that are new for certain (the store's ``_add_rollups``). ``rebuild_all``
derives everything from scratch (used by tests, by ``reprice`` and as a repair tool).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, text

HOUR_MS = 3_600_000
ALL_ROLLUPS = (
    "usage_hourly",
    "session_hourly",
    "tool_hourly",
    "model_hourly",
    "tool_name_hourly",
)
#: The additive columns of ``usage_hourly`` and ``model_hourly``, and of ``tool_hourly`` and
#: ``tool_name_hourly``.
USAGE_MEASURES = (
    "llm_calls",
    "failed_calls",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "logged_cost",
    "priced_cost",
    "cost",
    "cache_savings",
)
TOOL_MEASURES = ("calls", "errors", "missing")

_USAGE_SELECT = """
SELECT (ts_ms / 3600000) * 3600000 AS hour_ms, session_id, provider, model,
       MIN(agent_id), MIN(host_id),
       COUNT(*), SUM(CASE WHEN failed THEN 1 ELSE 0 END),
       SUM(input_tokens), SUM(output_tokens), SUM(cache_read_tokens), SUM(cache_write_tokens),
       COALESCE(SUM(logged_cost), 0), COALESCE(SUM(priced_cost), 0), COALESCE(SUM(cost), 0),
       COALESCE(SUM(cache_savings), 0)
FROM usage
"""
_USAGE_INSERT = """
INSERT INTO usage_hourly (hour_ms, session_id, provider, model, agent_id, host_id, llm_calls,
    failed_calls, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
    logged_cost, priced_cost, cost, cache_savings)
"""
_USAGE_GROUP = " GROUP BY (ts_ms / 3600000) * 3600000, session_id, provider, model"

_SESSION_SELECT = """
SELECT (ts_ms / 3600000) * 3600000, session_id, MIN(agent_id), MIN(host_id), COUNT(*)
FROM messages WHERE entry_type = 'message'
"""
_SESSION_INSERT = "INSERT INTO session_hourly (hour_ms, session_id, agent_id, host_id, messages) "
_SESSION_GROUP = " GROUP BY (ts_ms / 3600000) * 3600000, session_id"

_TOOL_SELECT = """
SELECT (ts_ms / 3600000) * 3600000, session_id, tool_name, MIN(agent_id), MIN(host_id),
       COUNT(*), SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END),
       SUM(CASE WHEN status = 'missing' THEN 1 ELSE 0 END)
FROM tool_calls
"""
_TOOL_INSERT = (
    "INSERT INTO tool_hourly (hour_ms, session_id, tool_name, agent_id, host_id, calls, "
    "errors, missing) "
)
_TOOL_GROUP = " GROUP BY (ts_ms / 3600000) * 3600000, session_id, tool_name"


_MODEL_INSERT = """
INSERT INTO model_hourly (hour_ms, agent_id, kind, provider, model, llm_calls, failed_calls,
    input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, logged_cost,
    priced_cost, cost, cache_savings)
SELECT uh.hour_ms, uh.agent_id, COALESCE(s.kind, 'unknown'), uh.provider, uh.model,
       SUM(uh.llm_calls), SUM(uh.failed_calls), SUM(uh.input_tokens), SUM(uh.output_tokens),
       SUM(uh.cache_read_tokens), SUM(uh.cache_write_tokens), SUM(uh.logged_cost),
       SUM(uh.priced_cost), SUM(uh.cost), SUM(uh.cache_savings)
FROM usage_hourly uh LEFT JOIN sessions s ON s.session_id = uh.session_id
"""
_MODEL_GROUP = (
    " GROUP BY uh.hour_ms, uh.agent_id, COALESCE(s.kind, 'unknown'), uh.provider, uh.model"
)
_TOOLNAME_INSERT = """
INSERT INTO tool_name_hourly (hour_ms, agent_id, kind, tool_name, calls, errors, missing)
SELECT th.hour_ms, th.agent_id, COALESCE(s.kind, 'unknown'), th.tool_name, SUM(th.calls),
       SUM(th.errors), SUM(th.missing)
FROM tool_hourly th LEFT JOIN sessions s ON s.session_id = th.session_id
"""
_TOOLNAME_GROUP = " GROUP BY th.hour_ms, th.agent_id, COALESCE(s.kind, 'unknown'), th.tool_name"


def hour_of(ts_ms: int) -> int:
    return (ts_ms // HOUR_MS) * HOUR_MS


def rebuild_all(conn: Connection) -> None:
    """Derive every rollup from the base tables (inside the caller's transaction)."""
    for table in ("usage_hourly", "session_hourly", "tool_hourly"):  # rebuild_global: the rest
        conn.execute(text(f"DELETE FROM {table}"))
    conn.execute(text(_USAGE_INSERT + _USAGE_SELECT + _USAGE_GROUP))
    conn.execute(text(_SESSION_INSERT + _SESSION_SELECT + _SESSION_GROUP))
    conn.execute(text(_TOOL_INSERT + _TOOL_SELECT + _TOOL_GROUP))
    rebuild_global(conn)


def rebuild_global(conn: Connection) -> None:
    """Derive the session-less rollups (``model_hourly``, ``tool_name_hourly``) of every hour
    from the per-session ones (after those are exact)."""
    conn.execute(text("DELETE FROM model_hourly"))
    conn.execute(text("DELETE FROM tool_name_hourly"))
    conn.execute(text(_MODEL_INSERT + _MODEL_GROUP))
    conn.execute(text(_TOOLNAME_INSERT + _TOOLNAME_GROUP))


def recompute_hours(conn: Connection, hours: Iterable[int]) -> None:
    """Recompute the session-less rollups (``model_hourly``, ``tool_name_hourly``) of whole
    UTC hours from the per-session ones (after those are exact)."""
    rows = [{"h": h} for h in sorted(set(hours))]
    if not rows:
        return
    conn.execute(text("DELETE FROM model_hourly WHERE hour_ms = :h"), rows)
    conn.execute(text("DELETE FROM tool_name_hourly WHERE hour_ms = :h"), rows)
    conn.execute(text(_MODEL_INSERT + " WHERE uh.hour_ms = :h" + _MODEL_GROUP), rows)
    conn.execute(text(_TOOLNAME_INSERT + " WHERE th.hour_ms = :h" + _TOOLNAME_GROUP), rows)


def recompute(conn: Connection, cells: Iterable[tuple[str, int]]) -> None:
    """Recompute the rollup rows of the given (session_id, hour_ms) cells from base rows."""
    rows = [{"s": s, "h": h, "e": h + HOUR_MS} for s, h in sorted(set(cells))]
    if not rows:
        return
    cond = " WHERE session_id = :s AND ts_ms >= :h AND ts_ms < :e"
    for table in ("usage_hourly", "session_hourly", "tool_hourly"):
        conn.execute(
            text(f"DELETE FROM {table} WHERE session_id = :s AND hour_ms = :h"),
            [{"s": r["s"], "h": r["h"]} for r in rows],
        )
    conn.execute(text(_USAGE_INSERT + _USAGE_SELECT + cond + _USAGE_GROUP), rows)
    conn.execute(
        text(_SESSION_INSERT + _SESSION_SELECT + cond.replace(" WHERE", " AND") + _SESSION_GROUP),
        rows,
    )
    conn.execute(text(_TOOL_INSERT + _TOOL_SELECT + cond + _TOOL_GROUP), rows)
    recompute_hours(conn, (int(str(r["h"])) for r in rows))
