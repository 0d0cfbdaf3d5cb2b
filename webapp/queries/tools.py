"""Questions about tool calls: per-tool counts, error rates and duration percentiles, calls
over time, the recent calls of one tool, and ``exec`` grouped by command family.

Counts come from ``tool_name_hourly`` when the rollup rule allows and no provider/model filter
applies (tool calls carry no model: those filters join the calling LLM call in ``usage``).
Percentiles come from raw ``tool_calls``: only the duration column of at most
``DURATION_SAMPLE`` most recent calls in the range is fetched; without agent or kind filters
through the covering index ``(tool_name, ts_ms, duration_ms)``, starting at the hour the
rollup says holds the sample's oldest call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import Connection, case, func, select, text

from ingestor.schema import tool_calls as tc
from ingestor.schema import tool_name_hourly as th
from webapp.queries.base import (
    TOOLS_WITH_CALLS,
    Filters,
    bucketize,
    call_model_conds,
    dim_conds,
    mappings,
    raw_tuples,
    run_parallel,
    series_uses_rollups,
    slot_expr,
    time_conds,
)

DURATION_SAMPLE = 100_000


def _raw_where(f: Filters) -> list[Any]:
    return [*time_conds(tc.c.ts_ms, f), *dim_conds(tc, f, model=False), *call_model_conds(f)]


def _raw_select(*cols: Any, f: Filters) -> Any:
    stmt = select(*cols)
    if f.by_model:
        stmt = stmt.select_from(TOOLS_WITH_CALLS)
    return stmt.where(*_raw_where(f))


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (PostgreSQL's percentile_cont); None when empty."""
    if len(values) == 0:
        return None
    return float(np.percentile(np.asarray(values, dtype=float), q))


def tool_counts(conn: Connection, f: Filters) -> list[dict[str, Any]]:
    """Per tool: calls, errors, missing in the range (unordered)."""
    if f.use_rollups and not f.by_model:
        stmt = (
            select(
                th.c.tool_name,
                func.sum(th.c.calls).label("calls"),
                func.sum(th.c.errors).label("errors"),
                func.sum(th.c.missing).label("missing"),
            )
            .where(*time_conds(th.c.hour_ms, f), *dim_conds(th, f, model=False))
            .group_by(th.c.tool_name)
        )
    else:
        stmt = _raw_select(
            tc.c.tool_name,
            func.count().label("calls"),
            func.sum(case((tc.c.status == "error", 1), else_=0)).label("errors"),
            func.sum(case((tc.c.status == "missing", 1), else_=0)).label("missing"),
            f=f,
        ).group_by(tc.c.tool_name)
    return mappings(conn, stmt)


def _sample_start(conn: Connection, f: Filters, need: int) -> int | None:
    """The time of the ``need``-th most recent call in the range (None: there are fewer),
    from the primary key alone (it leads with ts_ms)."""
    stmt = (
        select(tc.c.ts_ms)
        .where(*time_conds(tc.c.ts_ms, f))
        .order_by(tc.c.ts_ms.desc())
        .offset(need - 1)
        .limit(1)
    )
    value = conn.execute(stmt).scalar()
    return None if value is None else int(value)


def _durations(
    conn: Connection, f: Filters, tools: list[str], n_calls: int, sample: int
) -> tuple[dict[str, list[int]], int]:
    """Durations of the ``sample`` most recent calls in the range that have one, per tool,
    and how many were fetched."""
    durations: dict[str, list[int]] = {}
    if not (f.use_rollups and not f.by_model and not f.agents and not f.kinds and tools):
        dstmt = (
            _raw_select(tc.c.tool_name, tc.c.duration_ms, f=f)
            .where(tc.c.duration_ms.is_not(None))
            .order_by(tc.c.ts_ms.desc())
            .limit(sample)
        )
        fetched = 0
        for name, dur in raw_tuples(conn, dstmt):
            durations.setdefault(name, []).append(dur)
            fetched += 1
        return durations, fetched
    # Covering index (tool_name, ts_ms, duration_ms): no table access. Start at the time of
    # the need-th most recent call (a little more than the sample: some calls have no
    # duration), then keep the sample's most recent.
    need = sample + sample // 20
    while True:
        start = _sample_start(conn, f, need) if n_calls > sample else None
        lo = f.since_ms if start is None else max(start, f.since_ms or start)
        stmt = select(tc.c.ts_ms, tc.c.tool_name, tc.c.duration_ms).where(
            tc.c.tool_name.in_(tools),
            *time_conds(tc.c.ts_ms, f.with_range(lo, f.until_ms)),
            tc.c.duration_ms.is_not(None),
        )
        rows = raw_tuples(conn, stmt)
        if start is None or len(rows) >= sample:
            break
        need += 2 * (sample - len(rows))
    if len(rows) > sample:
        ts = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        keep = np.argsort(-ts, kind="stable")[:sample]
        rows = [rows[i] for i in keep]
    for _ts, name, dur in rows:
        durations.setdefault(name, []).append(dur)
    return durations, len(rows)


def _pg_percentiles(
    conn: Connection, f: Filters, sample: int
) -> tuple[dict[str, tuple[float | None, float | None]], int]:
    """PostgreSQL: p50 and p95 duration per tool over the ``sample`` most recent calls in the
    range that have one (``percentile_cont``, what :func:`percentile` computes), and how
    many calls that sample holds."""
    recent = (
        _raw_select(tc.c.tool_name, tc.c.duration_ms, f=f)
        .where(tc.c.duration_ms.is_not(None))
        .order_by(tc.c.ts_ms.desc())
        .limit(sample)
        .subquery("recent")
    )
    stmt = select(
        recent.c.tool_name,
        func.percentile_cont(0.5).within_group(recent.c.duration_ms),
        func.percentile_cont(0.95).within_group(recent.c.duration_ms),
        func.count(),
    ).group_by(recent.c.tool_name)
    out: dict[str, tuple[float | None, float | None]] = {}
    fetched = 0
    for name, p50, p95, n in raw_tuples(conn, stmt):
        out[str(name)] = (float(p50), float(p95))
        fetched += int(n)
    return out, fetched


_TOOL_NAMES = text(
    "WITH RECURSIVE t(n) AS (SELECT MIN(tool_name) FROM tool_calls UNION ALL "
    "SELECT (SELECT MIN(tool_name) FROM tool_calls WHERE tool_name > t.n) FROM t "
    "WHERE t.n IS NOT NULL) SELECT n FROM t WHERE n IS NOT NULL"
)


def tool_names(conn: Connection) -> list[str]:
    """Every tool name in ``tool_calls``: one index seek per name."""
    return [str(n) for n in conn.execute(_TOOL_NAMES).scalars()]


def tools_summary(
    conn: Connection, f: Filters, sample: int = DURATION_SAMPLE
) -> list[dict[str, Any]]:
    """Per tool: calls, errors, missing, error rate, p50/p95 duration; most used first. The
    counts and the durations are fetched at the same time."""
    pct: dict[str, tuple[float | None, float | None]] = {}
    durations: dict[str, list[int]] = {}
    if conn.dialect.name == "postgresql":
        # The server computes the percentiles of the sample: no 100,000 rows to ship.
        rows, (pct, fetched) = run_parallel(
            conn, lambda c: tool_counts(c, f), lambda c: _pg_percentiles(c, f, sample)
        )
    elif f.use_rollups and not f.by_model and not f.agents and not f.kinds:
        rows, (durations, fetched) = run_parallel(
            conn,
            lambda c: tool_counts(c, f),
            lambda c: _durations(c, f, tool_names(c), sample + 1, sample),
        )
    else:
        rows = tool_counts(conn, f)
        n_calls = sum(int(r["calls"] or 0) for r in rows)
        durations, fetched = _durations(conn, f, [r["tool_name"] for r in rows], n_calls, sample)
    out = []
    for r in rows:
        calls = int(r["calls"] or 0)
        errors = int(r["errors"] or 0)
        d = durations.get(r["tool_name"], [])
        p50, p95 = pct.get(r["tool_name"]) or (percentile(d, 50), percentile(d, 95))
        out.append(
            {
                "tool": r["tool_name"],
                "calls": calls,
                "errors": errors,
                "missing": int(r["missing"] or 0),
                "error_rate": errors / calls if calls else 0.0,
                "p50_ms": p50,
                "p95_ms": p95,
                "sampled": fetched >= sample,
            }
        )
    out.sort(key=lambda r: (-r["calls"], r["tool"]))
    return out


def tool_series(
    conn: Connection, f: Filters, starts: Sequence[int], tools: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """Tool calls and errors per local bucket and tool (optionally only ``tools``)."""
    return bucketize(_tool_cells(conn, f, starts, tools), starts, ["tool"], ["calls", "errors"])


def _tool_cells(
    conn: Connection, f: Filters, starts: Sequence[int], tools: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    rollup = series_uses_rollups(f, starts) and not f.by_model
    if rollup:
        slot = slot_expr(th.c.hour_ms, starts).label("slot")
        stmt = select(
            slot,
            th.c.tool_name.label("tool"),
            func.sum(th.c.calls).label("calls"),
            func.sum(th.c.errors).label("errors"),
        ).where(*time_conds(th.c.hour_ms, f), *dim_conds(th, f, model=False))
        if tools:
            stmt = stmt.where(th.c.tool_name.in_(tools))
        stmt = stmt.group_by(slot, th.c.tool_name)
    else:
        slot = slot_expr(tc.c.ts_ms, starts).label("slot")
        stmt = _raw_select(
            slot,
            tc.c.tool_name.label("tool"),
            func.count().label("calls"),
            func.sum(case((tc.c.status == "error", 1), else_=0)).label("errors"),
            f=f,
        )
        if tools:
            stmt = stmt.where(tc.c.tool_name.in_(tools))
        stmt = stmt.group_by(slot, tc.c.tool_name)
    return mappings(conn, stmt)


def top_tool_series(
    conn: Connection, f: Filters, starts: Sequence[int], top: int = 8
) -> list[dict[str, Any]]:
    """``tool_series`` of the ``top`` most used tools in the range (most calls, then name),
    from one query over every tool."""
    cells = _tool_cells(conn, f, starts)
    totals: dict[str, int] = {}
    for r in cells:
        totals[r["tool"]] = totals.get(r["tool"], 0) + int(r["calls"] or 0)
    keep = set(sorted(totals, key=lambda k: (-totals[k], k))[:top])
    cells = [r for r in cells if r["tool"] in keep]
    return bucketize(cells, starts, ["tool"], ["calls", "errors"])


def recent_tool_calls(
    conn: Connection, f: Filters, tool: str, limit: int = 50
) -> list[dict[str, Any]]:
    """The newest calls of one tool in the range: time, session, status, duration, args."""
    stmt = (
        _raw_select(
            tc.c.ts_ms,
            tc.c.session_id,
            tc.c.agent_id,
            tc.c.status,
            tc.c.duration_ms,
            tc.c.command_family,
            tc.c.args_preview,
            tc.c.error_preview,
            f=f,
        )
        .where(tc.c.tool_name == tool)
        .order_by(tc.c.ts_ms.desc(), tc.c.block_index)
        .limit(limit)
    )
    return mappings(conn, stmt)


def exec_families(conn: Connection, f: Filters, limit: int = 30) -> list[dict[str, Any]]:
    """``exec`` calls grouped by command family (the command's first word)."""
    fam = func.coalesce(tc.c.command_family, "(unknown)").label("family")
    stmt = (
        _raw_select(
            fam,
            func.count().label("calls"),
            func.sum(case((tc.c.status == "error", 1), else_=0)).label("errors"),
            func.avg(tc.c.duration_ms).label("avg_ms"),
            f=f,
        )
        .where(tc.c.tool_name == "exec")
        .group_by(fam)
        .order_by(func.count().desc(), fam)
        .limit(limit)
    )
    rows = mappings(conn, stmt)
    for r in rows:
        r["errors"] = int(r["errors"] or 0)
        r["error_rate"] = r["errors"] / r["calls"] if r["calls"] else 0.0
        r["avg_ms"] = float(r["avg_ms"]) if r["avg_ms"] is not None else None
    return rows
