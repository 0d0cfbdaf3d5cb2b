"""Questions about sessions: the grid of sessions active in a range (with their in-range
numbers), and one session's page: metadata, calls, per-model breakdown, tool calls, parent,
sub-agent / fork tree with own and inclusive cost, and the other runs of a cron job."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, case, distinct, func, literal, select

from ingestor.schema import messages, session_hourly, sessions, tool_calls, tool_hourly, usage
from webapp.queries.base import (
    TOOLS_WITH_CALLS,
    Filters,
    call_cost,
    call_model_conds,
    clean_metrics,
    dim_conds,
    mappings,
    raw_tuples,
    time_conds,
)
from webapp.queries.base import usage_source as _usage_source

GRID_LIMIT = 1000
_GRID_METRICS = ("calls", "failed", "input", "output", "cache_read", "cache_write", "cost")
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


def session_name(s: Mapping[str, Any]) -> str:
    """How a session is named on every page (the Sessions grid, a session's page, its tree,
    the Alerts): its label, else its title, else its key, else its id. ``s`` holds
    ``session_id`` and any of ``label``, ``title``, ``key``."""
    return str(s.get("label") or s.get("title") or s.get("key") or s["session_id"])


def session_names(conn: Connection, ids: Iterable[str]) -> dict[str, str]:
    """:func:`session_name` of each of ``ids`` (the few sessions a grid of calls shows; a
    session without a ``sessions`` row keeps its id), by primary key lookups."""
    wanted = sorted(set(ids))
    out = {sid: sid for sid in wanted}
    for i in range(0, len(wanted), 400):  # far below any bound-parameter limit
        stmt = select(
            sessions.c.session_id, sessions.c.label, sessions.c.title, sessions.c.key
        ).where(sessions.c.session_id.in_(wanted[i : i + 400]))
        for row in conn.execute(stmt).mappings():
            out[row["session_id"]] = session_name(dict(row))
    return out


def _active(f: Filters, limit: int) -> Any:
    """CTE: the sessions active in the range, most recently active first, at most ``limit``,
    each with ``last`` (latest activity), ``first`` (earliest activity in the range) and
    ``total`` (how many are active in all)."""
    if f.by_model:
        t, tcol, _ = _usage_source(f, per_session=True)
        sid, col, where = t.c.session_id, tcol, [*time_conds(tcol, f), *dim_conds(t, f)]
    elif f.use_rollups:
        sh = session_hourly
        sid, col = sh.c.session_id, sh.c.hour_ms
        where = [*time_conds(sh.c.hour_ms, f), *dim_conds(sh, f, model=False)]
    else:
        m = messages
        sid, col = m.c.session_id, m.c.ts_ms
        where = [
            m.c.entry_type == "message",
            *time_conds(m.c.ts_ms, f),
            *dim_conds(m, f, model=False),
        ]
    last = func.max(col)
    return (
        select(
            sid.label("session_id"),
            last.label("last"),
            func.min(col).label("first"),
            func.count().over().label("total"),
        )
        .where(*where)
        .group_by(sid)
        .order_by(last.desc(), sid)
        .limit(limit)
        .cte("active")
    )


def _distinct_models(conn: Connection, col: Any) -> Any:
    if conn.dialect.name == "postgresql":
        return func.string_agg(distinct(col), literal(","))
    return func.group_concat(distinct(col))


def sessions_grid(
    conn: Connection, f: Filters, limit: int = GRID_LIMIT
) -> tuple[list[dict[str, Any]], int]:
    """Rows for the sessions grid (numbers count only calls in the range) and the number of
    sessions active in the range: one statement (the active sessions, capped and sorted, with
    their in-range call and tool totals and metadata)."""
    act = _active(f, limit)
    ids = select(act.c.session_id)
    # The shown sessions' calls and tool calls are read from their earliest activity in the
    # range on (an index range over the recent rows, not the whole range): a call or tool
    # call is a message of its session (the ingestor writes and moves them together), so
    # none is older. With provider / model filters the activity is the matching calls, and
    # the tool calls are those of the matching calls (as on the Tools page and the Overview),
    # so the bound holds for both.
    first = select(func.min(act.c.first)).scalar_subquery()
    t, tcol, m = _usage_source(f, per_session=True)
    use = (
        select(
            t.c.session_id.label("sid"),
            *(m[n].label(n) for n in _GRID_METRICS),
            _distinct_models(conn, t.c.model).label("models"),
        )
        .where(*time_conds(tcol, f), tcol >= first, *dim_conds(t, f), t.c.session_id.in_(ids))
        .group_by(t.c.session_id)
        .subquery("u")
    )
    if f.use_rollups and not f.by_model:
        th = tool_hourly
        tools = (
            select(
                th.c.session_id.label("sid"),
                func.sum(th.c.calls).label("tcalls"),
                func.sum(th.c.errors).label("terrs"),
            )
            .where(*time_conds(th.c.hour_ms, f), th.c.hour_ms >= first, th.c.session_id.in_(ids))
            .group_by(th.c.session_id)
            .subquery("tl")
        )
    else:
        tcl = tool_calls
        tools = (
            select(
                tcl.c.session_id.label("sid"),
                func.count().label("tcalls"),
                func.sum(case((tcl.c.status == "error", 1), else_=0)).label("terrs"),
            )
            .select_from(TOOLS_WITH_CALLS if f.by_model else tcl)
            .where(
                *time_conds(tcl.c.ts_ms, f),
                tcl.c.ts_ms >= first,
                tcl.c.session_id.in_(ids),
                *call_model_conds(f),
            )
            .group_by(tcl.c.session_id)
            .subquery("tl")
        )
    stmt = (
        select(
            act.c.session_id,
            act.c.total,
            *(c.label("s_" + c.name) for c in _SESSION_COLS[1:]),
            *(use.c[n] for n in _GRID_METRICS),
            use.c.models,
            tools.c.tcalls,
            tools.c.terrs,
        )
        .select_from(
            act.outerjoin(sessions, sessions.c.session_id == act.c.session_id)
            .outerjoin(use, use.c.sid == act.c.session_id)
            .outerjoin(tools, tools.c.sid == act.c.session_id)
        )
        .order_by(act.c.last.desc(), act.c.session_id)
    )
    rows = []
    total = 0
    # Plain tuples (up to ``limit`` rows): the columns in the order selected above.
    for (
        sid, n_active, agent, kind, key, label, title, channel, parent, _cron, started, ended,
        calls, failed, inp, out, c_read, c_write, cost, models, tcalls, terrs,
    ) in raw_tuples(conn, stmt):  # fmt: skip
        total = int(n_active)
        rows.append(
            {
                "session_id": sid,
                "agent": agent if agent is not None else "",
                "kind": kind if kind is not None else "unknown",
                "name": session_name(
                    {"session_id": sid, "label": label, "title": title, "key": key}
                ),
                "key": key,
                "channel": channel or "",
                "models": ", ".join(sorted({x for x in (models or "").split(",") if x})),
                "started_ms": started,
                "ended_ms": ended,
                "calls": int(calls or 0),
                "failed": int(failed or 0),
                "tokens": int(inp or 0) + int(out or 0) + int(c_read or 0) + int(c_write or 0),
                "cost": float(cost or 0),
                "tool_calls": int(tcalls or 0),
                "tool_errors": int(terrs or 0),
                "parent_session_id": parent,
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


def session_models(
    conn: Connection, session_id: str, list_price: bool = False
) -> list[dict[str, Any]]:
    """The whole session's calls, tokens by type and cost (or list price) per provider and
    model."""
    t, _, m = _usage_source(Filters(cost_basis="list" if list_price else "effective"), rollup=False)
    stmt = (
        select(t.c.provider, t.c.model, *(e.label(n) for n, e in m.items()))
        .where(t.c.session_id == session_id)
        .group_by(t.c.provider, t.c.model)
        .order_by(m["cost"].desc(), t.c.provider, t.c.model)
    )
    return [clean_metrics(r) for r in mappings(conn, stmt)]


def session_calls(
    conn: Connection, session_id: str, limit: int = 5000, list_price: bool = False
) -> list[dict[str, Any]]:
    """The session's LLM calls in time order (at most ``limit``); ``cost`` is the list price
    with ``list_price``."""
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
            call_cost(list_price).label("cost"),
        )
        .where(u.c.session_id == session_id)
        .order_by(u.c.ts_ms, u.c.entry_id)
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
        .order_by(t.c.ts_ms, t.c.entry_id, t.c.block_index)
        .limit(limit)
    )
    return mappings(conn, stmt)


def session_calls_between(
    conn: Connection,
    session_id: str,
    since_ms: int | None,
    until_ms: int | None,
    list_price: bool = False,
) -> tuple[int, float]:
    """The session's LLM calls whose own timestamp lies in ``[since_ms, until_ms)`` (None: no
    bound) and their cost (or list price): how much of the whole session a range holds, the
    numbers its Sessions grid row shows without filters."""
    u = usage
    conds = [u.c.session_id == session_id]
    if since_ms is not None:
        conds.append(u.c.ts_ms >= since_ms)
    if until_ms is not None:
        conds.append(u.c.ts_ms < until_ms)
    n, cost = conn.execute(
        select(func.count(), func.sum(call_cost(list_price))).where(*conds)
    ).one()
    return int(n or 0), float(cost or 0)


def session_tool_counts(conn: Connection, session_id: str) -> tuple[int, int]:
    """The whole session's tool calls and, of them, those with status error (the Sessions
    grid's "Tool calls" and "Tool errors" over all time)."""
    t = tool_calls
    calls, errors = conn.execute(
        select(func.count(), func.sum(case((t.c.status == "error", 1), else_=0))).where(
            t.c.session_id == session_id
        )
    ).one()
    return int(calls or 0), int(errors or 0)


def _own_costs(
    conn: Connection, ids: list[str], list_price: bool = False
) -> dict[str, tuple[float, int]]:
    stmt = (
        select(usage.c.session_id, func.sum(call_cost(list_price)), func.count())
        .where(usage.c.session_id.in_(ids))
        .group_by(usage.c.session_id)
    )
    return {sid: (float(c or 0), int(n)) for sid, c, n in conn.execute(stmt)}


def session_tree(
    conn: Connection,
    session_id: str,
    max_nodes: int = 500,
    max_depth: int = 8,
    list_price: bool = False,
) -> list[dict[str, Any]]:
    """The session and its descendants (sub-agents, forks, runs it spawned) in depth-first
    order, each with depth, own cost and cost including children (list prices with
    ``list_price``)."""
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
    own = _own_costs(conn, list(nodes), list_price)
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


def cron_runs(
    conn: Connection, cron_job_id: str, limit: int = 50, list_price: bool = False
) -> list[dict[str, Any]]:
    """Recent runs (sessions) of one cron job with their cost (or list price)."""
    rows = mappings(
        conn,
        select(*_SESSION_COLS)
        .where(sessions.c.cron_job_id == cron_job_id)
        .order_by(sessions.c.started_ms.desc(), sessions.c.session_id)
        .limit(limit),
    )
    own = _own_costs(conn, [r["session_id"] for r in rows], list_price) if rows else {}
    for r in rows:
        r["cost"], r["calls"] = own.get(r["session_id"], (0.0, 0))
    return rows
