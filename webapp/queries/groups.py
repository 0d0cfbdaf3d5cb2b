"""Cron jobs and sub-agents: cost per cron job and per sub-agent label over time, and a table
of each group's runs, calls, tokens and cost in the range."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, distinct, func, select

from ingestor.schema import sessions
from webapp.queries.base import (
    METRICS,
    Filters,
    bucketize,
    clean_metrics,
    dim_conds,
    mappings,
    series_uses_rollups,
    slot_expr,
    time_conds,
    usage_source,
)

GROUP_KINDS = ("cron", "subagent")


def _group_expr() -> Any:
    return func.coalesce(sessions.c.label, sessions.c.cron_job_id, sessions.c.key, "(unnamed)")


def _base(f: Filters, rollup: bool) -> tuple[Any, Any, dict, list[Any], Any]:
    t, tcol, m = usage_source(f, rollup=rollup)
    kinds = [k for k in GROUP_KINDS if not f.kinds or k in f.kinds]
    where = [
        *time_conds(tcol, f),
        *dim_conds(t, replace(f, kinds=())),
        sessions.c.kind.in_(kinds or ["-"]),
    ]
    src = t.join(sessions, sessions.c.session_id == t.c.session_id)
    return t, tcol, m, where, src


def group_table(conn: Connection, f: Filters) -> list[dict[str, Any]]:
    """Per cron job / sub-agent label: runs (sessions), calls, tokens, cost, last activity."""
    t, tcol, m, where, src = _base(f, f.use_rollups)
    g = _group_expr().label("name")
    stmt = (
        select(
            sessions.c.kind,
            g,
            func.count(distinct(t.c.session_id)).label("runs"),
            func.max(tcol).label("last_ms"),
            *(e.label(n) for n, e in m.items()),
        )
        .select_from(src)
        .where(*where)
        .group_by(sessions.c.kind, g)
    )
    rows = [clean_metrics(r) for r in mappings(conn, stmt)]
    for r in rows:
        r["tokens"] = r["input"] + r["output"] + r["cache_read"] + r["cache_write"]
    rows.sort(key=lambda r: (-r["cost"], r["kind"], r["name"]))
    return rows


def group_series(conn: Connection, f: Filters, starts: Sequence[int]) -> list[dict[str, Any]]:
    """Cost (and calls) per local bucket, kind and group name."""
    rollup = series_uses_rollups(f, starts)
    _t, tcol, m, where, src = _base(f, rollup)
    slot = slot_expr(tcol, rollup).label("slot")
    g = _group_expr().label("name")
    stmt = (
        select(slot, sessions.c.kind, g, *(e.label(n) for n, e in m.items()))
        .select_from(src)
        .where(*where)
        .group_by(slot, sessions.c.kind, g)
    )
    rows = mappings(conn, stmt)
    return [clean_metrics(r) for r in bucketize(rows, starts, ["kind", "name"], METRICS)]
