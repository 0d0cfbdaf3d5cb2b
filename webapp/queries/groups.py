"""Cron jobs and sub-agents: cost per cron job and per sub-agent label over time, and a table
of each group's runs, calls, tokens and cost in the range."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, func, select

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


def groups(
    conn: Connection, f: Filters, starts: Sequence[int] | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(table, series): per cron job / sub-agent label the runs (sessions), calls, tokens,
    cost and last activity in the range, and (with ``starts``) cost and calls per local
    bucket, kind and group name. One query over the calls per session (and cell), grouped
    into jobs / labels here: the groups' sessions are few next to the calls."""
    # When the buckets are not whole hours (a half-hour zone) the series needs the raw
    # table; the table part then reads it too (same numbers, one query).
    rollup = f.use_rollups if not starts else series_uses_rollups(f, starts)
    kinds = [k for k in GROUP_KINDS if not f.kinds or k in f.kinds]
    if not kinds:
        return [], []
    meta = {
        sid: (kind, name)
        for sid, kind, name in conn.execute(
            select(sessions.c.session_id, sessions.c.kind, _group_expr()).where(
                sessions.c.kind.in_(kinds)
            )
        )
    }
    t, tcol, m = usage_source(f, rollup=rollup, per_session=True)
    cols: list[Any] = [t.c.session_id]
    if starts:
        cols.append(slot_expr(tcol, starts).label("slot"))
    stmt = (
        select(*cols, func.max(tcol).label("last_ms"), *(e.label(n) for n, e in m.items()))
        .where(
            *time_conds(tcol, f),
            *dim_conds(t, replace(f, kinds=())),
            t.c.session_id.in_(select(sessions.c.session_id).where(sessions.c.kind.in_(kinds))),
        )
        .group_by(*cols)
    )
    table: dict[tuple[str, str], dict[str, Any]] = {}
    runs: dict[tuple[str, str], set[str]] = {}
    cells: list[dict[str, Any]] = []
    for r in mappings(conn, stmt):
        kind, name = meta.get(r["session_id"], ("unknown", "(unnamed)"))
        acc = table.get((kind, name))
        if acc is None:
            acc = table[(kind, name)] = {"kind": kind, "name": name, "last_ms": r["last_ms"]}
            acc.update(dict.fromkeys(METRICS, 0))
            runs[(kind, name)] = set()
        runs[(kind, name)].add(r["session_id"])
        acc["last_ms"] = max(acc["last_ms"], r["last_ms"])
        for n in METRICS:
            acc[n] += r[n] or 0
        if starts:
            r["kind"], r["name"] = kind, name
            cells.append(r)
    rows = []
    for key, acc in table.items():
        acc["runs"] = len(runs[key])
        row = clean_metrics(acc)
        row["tokens"] = row["input"] + row["output"] + row["cache_read"] + row["cache_write"]
        rows.append(row)
    rows.sort(key=lambda r: (-r["cost"], r["kind"], r["name"]))
    series = (
        [clean_metrics(r) for r in bucketize(cells, starts, ["kind", "name"], METRICS)]
        if starts
        else []
    )
    return rows, series


def group_table(conn: Connection, f: Filters) -> list[dict[str, Any]]:
    """Per cron job / sub-agent label: runs (sessions), calls, tokens, cost, last activity."""
    return groups(conn, f)[0]


def group_series(conn: Connection, f: Filters, starts: Sequence[int]) -> list[dict[str, Any]]:
    """Cost (and calls) per local bucket, kind and group name."""
    return groups(conn, f, starts)[1] if starts else []
