"""Questions about sessions: the grid of sessions active in a range (with their in-range
numbers), and one session's page: metadata, calls, per-model breakdown, tool calls, parent,
sub-agent / fork tree with own and inclusive cost, and the other runs of a cron job."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, case, distinct, func, select

from ingestor.schema import messages, session_hourly, sessions, tool_calls, tool_hourly, usage
from webapp.queries.base import Filters, clean_metrics, dim_conds, mappings, time_conds
from webapp.queries.base import usage_source as _usage_source

GRID_LIMIT = 1000
_SESSION_COLS = (
    sessions.c.session_id,
    sessions.c.agent_id,
    sessions.c.kind,
    sessions.c.key,
    sessions.c.label,
    sessions.c.title,
    sessions.c.channel,
    sessions.c.parent_session_id,
    sessions.c.cron_job_id,
    sessions.c.started_ms,
    sessions.c.ended_ms,
)


def _active_sessions(conn: Connection, f: Filters, limit: int) -> tuple[list[str], int]:
    """Ids of the sessions active in the range (most recently active first, at most
    ``limit``) and how many there are in all."""
    if f.by_model:
        t, tcol, _ = _usage_source(f)
        sid, last, where = t.c.session_id, func.max(tcol), [*time_conds(tcol, f), *dim_conds(t, f)]
    elif f.use_rollups:
        sh = session_hourly
        sid, last = sh.c.session_id, func.max(sh.c.hour_ms)
        where = [*time_conds(sh.c.hour_ms, f), *dim_conds(sh, f, model=False)]
    else:
        m = messages
        sid, last = m.c.session_id, func.max(m.c.ts_ms)
        where = [
            m.c.entry_type == "message",
            *time_conds(m.c.ts_ms, f),
            *dim_conds(m, f, model=False),
        ]
    total = conn.execute(select(func.count(distinct(sid))).where(*where)).scalar() or 0
    ids = (
        conn.execute(
            select(sid).where(*where).group_by(sid).order_by(last.desc(), sid).limit(limit)
        )
        .scalars()
        .all()
    )
    return list(ids), int(total)


def sessions_grid(
    conn: Connection, f: Filters, limit: int = GRID_LIMIT
) -> tuple[list[dict[str, Any]], int]:
    """Rows for the sessions grid (numbers count only calls in the range) and the number of
    sessions active in the range."""
    ids, total = _active_sessions(conn, f, limit)
    if not ids:
        return [], total
    t, tcol, m = _usage_source(f)
    where = [*time_conds(tcol, f), *dim_conds(t, f), t.c.session_id.in_(ids)]
    use_rows = mappings(
        conn,
        select(t.c.session_id, *(e.label(n) for n, e in m.items()))
        .where(*where)
        .group_by(t.c.session_id),
    )
    per = {r["session_id"]: clean_metrics(r) for r in use_rows}
    models: dict[str, set[str]] = defaultdict(set)
    for sid, model in conn.execute(select(t.c.session_id, t.c.model).where(*where).distinct()):
        if model:
            models[sid].add(model)
    if f.use_rollups and not f.by_model:
        th = tool_hourly
        tstmt = (
            select(th.c.session_id, func.sum(th.c.calls), func.sum(th.c.errors))
            .where(*time_conds(th.c.hour_ms, f), th.c.session_id.in_(ids))
            .group_by(th.c.session_id)
        )
    else:
        tcl = tool_calls
        tstmt = (
            select(
                tcl.c.session_id,
                func.count(),
                func.sum(case((tcl.c.status == "error", 1), else_=0)),
            )
            .where(*time_conds(tcl.c.ts_ms, f), tcl.c.session_id.in_(ids))
            .group_by(tcl.c.session_id)
        )
    tools = {sid: (int(c or 0), int(e or 0)) for sid, c, e in conn.execute(tstmt)}
    meta = {
        r["session_id"]: r
        for r in mappings(conn, select(*_SESSION_COLS).where(sessions.c.session_id.in_(ids)))
    }
    rows = []
    for sid in ids:
        s = meta.get(sid, {})
        u = per.get(sid) or clean_metrics({})
        tcalls, terrs = tools.get(sid, (0, 0))
        rows.append(
            {
                "session_id": sid,
                "agent": s.get("agent_id", ""),
                "kind": s.get("kind", "unknown"),
                "name": s.get("label") or s.get("title") or s.get("key") or sid,
                "key": s.get("key"),
                "channel": s.get("channel") or "",
                "models": ", ".join(sorted(models.get(sid, ()))),
                "started_ms": s.get("started_ms"),
                "ended_ms": s.get("ended_ms"),
                "calls": u["calls"],
                "failed": u["failed"],
                "tokens": u["input"] + u["output"] + u["cache_read"] + u["cache_write"],
                "cost": u["cost"],
                "tool_calls": tcalls,
                "errors": u["failed"] + terrs,
                "parent_session_id": s.get("parent_session_id"),
            }
        )
    return rows, total


def session_info(conn: Connection, session_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        select(*_SESSION_COLS, sessions.c.cwd, sessions.c.path).where(
            sessions.c.session_id == session_id
        )
    ).first()
    return dict(row._mapping) if row else None


def session_models(conn: Connection, session_id: str) -> list[dict[str, Any]]:
    """The whole session's calls, tokens by type and cost per provider and model."""
    t, _, m = _usage_source(Filters(), rollup=False)
    stmt = (
        select(t.c.provider, t.c.model, *(e.label(n) for n, e in m.items()))
        .where(t.c.session_id == session_id)
        .group_by(t.c.provider, t.c.model)
        .order_by(func.sum(t.c.cost).desc())
    )
    return [clean_metrics(r) for r in mappings(conn, stmt)]


def session_calls(conn: Connection, session_id: str, limit: int = 5000) -> list[dict[str, Any]]:
    """The session's LLM calls in time order (at most ``limit``)."""
    u = usage
    stmt = (
        select(
            u.c.ts_ms,
            u.c.provider,
            u.c.model,
            u.c.failed,
            u.c.stop_reason,
            u.c.input_tokens,
            u.c.output_tokens,
            u.c.cache_read_tokens,
            u.c.cache_write_tokens,
            u.c.total_tokens,
            u.c.cost,
        )
        .where(u.c.session_id == session_id)
        .order_by(u.c.ts_ms)
        .limit(limit)
    )
    return mappings(conn, stmt)


def session_tool_calls(conn: Connection, session_id: str, limit: int = 500) -> list[dict[str, Any]]:
    t = tool_calls
    stmt = (
        select(
            t.c.ts_ms,
            t.c.tool_name,
            t.c.status,
            t.c.duration_ms,
            t.c.command_family,
            t.c.args_preview,
            t.c.error_preview,
        )
        .where(t.c.session_id == session_id)
        .order_by(t.c.ts_ms, t.c.block_index)
        .limit(limit)
    )
    return mappings(conn, stmt)


def _own_costs(conn: Connection, ids: list[str]) -> dict[str, tuple[float, int]]:
    stmt = (
        select(usage.c.session_id, func.sum(usage.c.cost), func.count())
        .where(usage.c.session_id.in_(ids))
        .group_by(usage.c.session_id)
    )
    return {sid: (float(c or 0), int(n)) for sid, c, n in conn.execute(stmt)}


def session_tree(
    conn: Connection, session_id: str, max_nodes: int = 500, max_depth: int = 8
) -> list[dict[str, Any]]:
    """The session and its descendants (sub-agents, forks, runs it spawned) in depth-first
    order, each with depth, own cost and cost including children."""
    nodes: dict[str, dict[str, Any]] = {}
    children: dict[str, list[str]] = defaultdict(list)
    root = session_info(conn, session_id)
    if root is None:
        return []
    nodes[session_id] = root
    frontier, depth = [session_id], 0
    while frontier and depth < max_depth and len(nodes) < max_nodes:
        rows = mappings(
            conn,
            select(*_SESSION_COLS)
            .where(sessions.c.parent_session_id.in_(frontier))
            .order_by(sessions.c.started_ms, sessions.c.session_id),
        )
        frontier = []
        for r in rows:
            if r["session_id"] in nodes or len(nodes) >= max_nodes:
                continue
            nodes[r["session_id"]] = r
            children[r["parent_session_id"]].append(r["session_id"])
            frontier.append(r["session_id"])
        depth += 1
    own = _own_costs(conn, list(nodes))
    out: list[dict[str, Any]] = []

    def walk(sid: str, d: int) -> float:
        node = nodes[sid]
        cost, calls = own.get(sid, (0.0, 0))
        entry = {**node, "depth": d, "own_cost": cost, "calls": calls}
        out.append(entry)
        total = cost + sum(walk(c, d + 1) for c in children.get(sid, []))
        entry["total_cost"] = total
        return total

    walk(session_id, 0)
    return out


def cron_runs(conn: Connection, cron_job_id: str, limit: int = 50) -> list[dict[str, Any]]:
    """Recent runs (sessions) of one cron job with their cost."""
    rows = mappings(
        conn,
        select(*_SESSION_COLS)
        .where(sessions.c.cron_job_id == cron_job_id)
        .order_by(sessions.c.started_ms.desc())
        .limit(limit),
    )
    own = _own_costs(conn, [r["session_id"] for r in rows]) if rows else {}
    for r in rows:
        r["cost"], r["calls"] = own.get(r["session_id"], (0.0, 0))
    return rows
