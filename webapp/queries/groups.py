"""Cron jobs and sub-agents: cost per cron job and per sub-agent label over time, and a table
of each group's runs, calls, tokens and cost in the range."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, String, case, func, literal_column, select

from ingestor.schema import sessions, usage, usage_hourly
from webapp.queries.base import (
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
#: What a group row and a series cell carry (tokens: the four token types together).
GROUP_METRICS = ("calls", "failed", "tokens", "cost")


def _group_expr() -> Any:
    """A session's group: a cron run's job id (its name may change, and two jobs may share
    one), else its label (a sub-agent's), else its key. Shown by :func:`_display_names`."""
    # The constant is inlined, not a bound parameter: the same expression in SELECT and
    # GROUP BY is then one expression for PostgreSQL too.
    unnamed = literal_column("'(unnamed)'", String)
    by_label = func.coalesce(sessions.c.label, sessions.c.cron_job_id, sessions.c.key, unnamed)
    return case(
        (
            (sessions.c.kind == "cron") & sessions.c.cron_job_id.is_not(None),
            sessions.c.cron_job_id,
        ),
        else_=by_label,
    )


def _display_names(
    conn: Connection, rows: list[dict[str, Any]], series: list[dict[str, Any]]
) -> None:
    """Cron groups are keyed by job id: show each by its name, from the job's most recently
    updated run that has one (the id when none has); when two jobs (or a job and a label)
    would show the same name, as "<name> (<job id>)"."""
    jobs = sorted({r["name"] for r in rows if r["kind"] == "cron"})
    if not jobs:
        return
    names: dict[str, str] = {}
    stmt = (
        select(sessions.c.cron_job_id, sessions.c.label)
        .where(
            sessions.c.kind == "cron",
            sessions.c.cron_job_id.in_(jobs),
            sessions.c.label.is_not(None),
        )
        .order_by(sessions.c.updated_ms, sessions.c.session_id)
    )
    for job, label in conn.execute(stmt):
        names[str(job)] = str(label)  # the latest wins
    shown = {j: names.get(j, j) for j in jobs}
    taken = Counter(shown.values())
    taken.update(r["name"] for r in rows if r["kind"] != "cron")
    shown = {j: f"{n} ({j})" if taken[n] > 1 and n != j else n for j, n in shown.items()}
    for r in (*rows, *series):
        if r.get("kind") == "cron" and r["name"] in shown:
            r["name"] = shown[r["name"]]


def groups(
    conn: Connection, f: Filters, starts: Sequence[int] | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(table, series): per cron job / sub-agent label the runs (sessions), calls, failed
    calls, tokens, cost and last activity in the range, and (with ``starts``) the same
    numbers per local bucket, kind and group name.

    One statement: the calls are summed per session (and cell) first, the few thousand
    sessions then joined to their job / label and summed per group (and cell) in SQL, so
    Python only adds up a few hundred group cells into buckets."""
    # When the buckets are not whole hours (a half-hour zone) the series needs the raw
    # table; the table part then reads it too (same numbers, one statement).
    rollup = f.use_rollups if not starts else series_uses_rollups(f, starts)
    kinds = [k for k in GROUP_KINDS if not f.kinds or k in f.kinds]
    if not kinds:
        return [], []
    t, tcol, m = usage_source(f, rollup=rollup, per_session=True)
    tokens = t.c.input_tokens + t.c.output_tokens + t.c.cache_read_tokens + t.c.cache_write_tokens
    per_keys: list[Any] = [t.c.session_id.label("sid")]
    if starts:
        per_keys.append(slot_expr(tcol, starts).label("slot"))
    per = (
        select(
            *per_keys,
            func.max(tcol).label("last_ms"),
            m["calls"].label("calls"),
            m["failed"].label("failed"),
            func.sum(tokens).label("tokens"),
            m["cost"].label("cost"),
        )
        .where(
            *time_conds(tcol, f),
            *dim_conds(t, replace(f, kinds=())),
            t.c.session_id.in_(select(sessions.c.session_id).where(sessions.c.kind.in_(kinds))),
        )
        .group_by(*per_keys)
        .cte("per")
    )
    kind, name = sessions.c.kind, _group_expr()
    if not starts:
        # One row per session in ``per``: runs are its rows.
        stmt: Any = (
            select(
                kind.label("kind"),
                name.label("name"),
                func.count().label("runs"),
                func.max(per.c.last_ms).label("last_ms"),
                *(func.sum(per.c[n]).label(n) for n in GROUP_METRICS),
            )
            .select_from(per.join(sessions, sessions.c.session_id == per.c.sid))
            .group_by(kind, name)
        )
        rows = [_table_row(r, int(r["runs"])) for r in mappings(conn, stmt)]
        if rollup:
            _exact_last(conn, f, kinds, rows)
        _display_names(conn, rows, [])
        return _sorted(rows), []
    # Per group and cell the sums, and ``firsts``: the sessions whose first cell this is, so
    # a group's runs (its distinct sessions over all cells) are the sum of its cells'
    # ``firsts``. One pass over the per-session cells (a second pass with COUNT(DISTINCT)
    # cost as much again).
    first = (func.row_number().over(partition_by=per.c.sid, order_by=per.c.slot) == 1).label(
        "first"
    )
    flagged = select(*per.c, first).subquery("flagged")
    cells_q = (
        select(
            kind.label("kind"),
            name.label("name"),
            flagged.c.slot,
            func.max(flagged.c.last_ms).label("last_ms"),
            *(func.sum(flagged.c[n]).label(n) for n in GROUP_METRICS),
            func.sum(case((flagged.c.first, 1), else_=0)).label("firsts"),
        )
        .select_from(flagged.join(sessions, sessions.c.session_id == flagged.c.sid))
        .group_by(kind, name, flagged.c.slot)
    )
    cells = mappings(conn, cells_q)
    table: dict[tuple[str, str], dict[str, Any]] = {}  # per group: its cells added up
    for c in cells:
        key = (c["kind"], c["name"])
        acc = table.get(key)
        if acc is None:
            table[key] = dict(c)
            continue
        acc["last_ms"] = max(acc["last_ms"], c["last_ms"])
        for n in (*GROUP_METRICS, "firsts"):
            acc[n] = (acc[n] or 0) + (c[n] or 0)
    rows = [_table_row(acc, int(acc["firsts"] or 0)) for acc in table.values()]
    if rollup:
        _exact_last(conn, f, kinds, rows)
    series = [
        clean_metrics(r, GROUP_METRICS)
        for r in bucketize(cells, starts, ["kind", "name"], GROUP_METRICS)
    ]
    _display_names(conn, rows, series)
    return _sorted(rows), series


def _exact_last(conn: Connection, f: Filters, kinds: list[str], rows: list[dict[str, Any]]) -> None:
    """The hourly rollups know a group's last activity only to the hour: read the exact time
    from the calls of the sessions active in those hours (the rollup's hour-led key finds
    them, the calls' session-led index their calls). A group has no call after its own last
    hour, and its last call's session is among them, so the latest call of the group among
    those sessions is its last one."""
    hours = sorted({r["last_ms"] for r in rows})
    if not hours:
        return
    u, uh, kind, name = usage, usage_hourly, sessions.c.kind, _group_expr()
    dims = replace(f, kinds=())
    active = select(uh.c.session_id).where(uh.c.hour_ms.in_(hours), *dim_conds(uh, dims))
    stmt = (
        select(kind.label("kind"), name.label("name"), func.max(u.c.ts_ms).label("last_ms"))
        .select_from(u.join(sessions, sessions.c.session_id == u.c.session_id))
        .where(
            u.c.session_id.in_(active),
            *time_conds(u.c.ts_ms, f),
            *dim_conds(u, dims),
            kind.in_(kinds),
        )
        .group_by(kind, name)
    )
    exact = {(r["kind"], r["name"]): int(r["last_ms"]) for r in mappings(conn, stmt)}
    for r in rows:
        r["last_ms"] = exact.get((r["kind"], r["name"]), r["last_ms"])


def _table_row(r: Any, runs: int) -> dict[str, Any]:
    row = {"kind": r["kind"], "name": r["name"], "last_ms": int(r["last_ms"]), "runs": runs}
    return clean_metrics(row | {n: r[n] for n in GROUP_METRICS}, GROUP_METRICS)


def _sorted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows.sort(key=lambda r: (-r["cost"], r["kind"], r["name"]))
    return rows


def group_table(conn: Connection, f: Filters) -> list[dict[str, Any]]:
    """Per cron job / sub-agent label: runs (sessions), calls, tokens, cost, last activity."""
    return groups(conn, f)[0]


def group_series(conn: Connection, f: Filters, starts: Sequence[int]) -> list[dict[str, Any]]:
    """Cost (and calls, tokens) per local bucket, kind and group name."""
    return groups(conn, f, starts)[1] if starts else []
