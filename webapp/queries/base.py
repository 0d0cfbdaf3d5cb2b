"""What every query shares: the ``Filters`` of a view, the choice between hourly rollups and
raw tables, the filter conditions, and bucketing of hour (or quarter-hour) rows into the
viewer's local buckets.

Rollup rule: a question whose range and bucket boundaries are whole UTC hours (every preset in
a zone whose offset is a whole number of hours) is answered from ``*_hourly``; anything else
from the raw tables, which gives the same numbers.

Which rollup: totals and charts read the session-less ``model_hourly`` / ``tool_name_hourly``
(the session kind is a column there, so every global filter applies without a join); questions
that need the session (distinct sessions, per-session totals, cron / sub-agent groups) read the
per-session ``usage_hourly`` / ``tool_hourly`` / ``session_hourly``.

Series are grouped in SQL by the coarsest cell (week, day, hour or quarter hour, with an
offset) that every bucket boundary is aligned to, so a bucket is always a whole number of
cells and Python only adds up a few rows per bucket.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Engine,
    Table,
    and_,
    case,
    func,
    or_,
    select,
)
from sqlalchemy.pool import SingletonThreadPool, StaticPool
from sqlalchemy.sql.elements import ColumnElement as _CE

from ingestor.rollups import HOUR_MS
from ingestor.schema import model_hourly, sessions, tool_calls, usage, usage_hourly
from webapp.timeranges import DAY_MS, assign, whole_hours

QUARTER_MS = 900_000
WEEK_MS = 7 * DAY_MS


@dataclass(frozen=True)
class Filters:
    """A view's question: half-open ``[since_ms, until_ms)`` (None = unbounded), the time
    zone for local buckets, and the dimension filters (empty = all)."""

    since_ms: int | None = None
    until_ms: int | None = None
    tz: str = "UTC"
    agents: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    cost_basis: str = "effective"  # "list": the ``cost`` metric sums the list price instead

    @property
    def use_rollups(self) -> bool:
        return whole_hours(self.since_ms, self.until_ms)

    @property
    def by_model(self) -> bool:
        """True when provider/model filters apply (tables without a model must join calls)."""
        return bool(self.providers or self.models)

    def with_range(self, since_ms: int | None, until_ms: int | None) -> Filters:
        return replace(self, since_ms=since_ms, until_ms=until_ms)


def min_max(col: Any) -> Any:
    """SELECT of (MIN(col), MAX(col)) as two scalar subqueries: each is one index probe,
    where both aggregates in one SELECT make SQLite scan the whole index."""
    return select(select(func.min(col)).scalar_subquery(), select(func.max(col)).scalar_subquery())


def time_conds(col: Any, f: Filters) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if f.since_ms is not None:
        out.append(col >= f.since_ms)
    if f.until_ms is not None:
        out.append(col < f.until_ms)
    return out


def kind_cond(session_col: Any, kinds: Sequence[str]) -> ColumnElement[bool]:
    """The session's kind is one of ``kinds``; a session without a ``sessions`` row counts as
    ``unknown`` (as in ``model_hourly`` / ``tool_name_hourly``)."""
    cond = session_col.in_(select(sessions.c.session_id).where(sessions.c.kind.in_(kinds)))
    if "unknown" in kinds:
        cond = or_(cond, session_col.not_in(select(sessions.c.session_id)))
    return cond


def call_cost(list_price: bool) -> Any:
    """A call's cost, or its list price (an unknown price counts as 0)."""
    return func.coalesce(usage.c.priced_cost, 0) if list_price else usage.c.cost


#: Tool calls beside the LLM call that made each: a tool call counts under its call's
#: provider and model (the Tools page, the sessions grid and the Overview card alike).
TOOLS_WITH_CALLS = tool_calls.join(
    usage, and_(usage.c.entry_id == tool_calls.c.entry_id, usage.c.ts_ms == tool_calls.c.ts_ms)
)


def call_model_conds(f: Filters) -> list[ColumnElement[bool]]:
    """The provider / model filters on the calls of :data:`TOOLS_WITH_CALLS`."""
    conds: list[ColumnElement[bool]] = []
    if f.providers:
        conds.append(usage.c.provider.in_(f.providers))
    if f.models:
        conds.append(usage.c.model.in_(f.models))
    return conds


def dim_conds(t: Table, f: Filters, *, model: bool = True) -> list[ColumnElement[bool]]:
    """Agent and kind filters for any table with agent_id and session_id or kind; provider and
    model filters when ``model`` (the table has those columns)."""
    out: list[ColumnElement[bool]] = []
    if f.agents:
        out.append(t.c.agent_id.in_(f.agents))
    if f.kinds:
        if "kind" in t.c:
            out.append(t.c.kind.in_(f.kinds))
        else:
            out.append(kind_cond(t.c.session_id, f.kinds))
    if model and f.providers:
        out.append(t.c.provider.in_(f.providers))
    if model and f.models:
        out.append(t.c.model.in_(f.models))
    return out


METRICS = ("calls", "failed", "input", "output", "cache_read", "cache_write", "cost", "savings")


def usage_source(
    f: Filters, *, rollup: bool | None = None, per_session: bool = False
) -> tuple[Table, Column[Any], dict]:
    """(table, time column, metric expressions) for call questions: ``model_hourly`` or, when
    the question needs the session (``per_session``), ``usage_hourly``; raw ``usage`` when
    the rollup rule does not allow either. With ``f.cost_basis == "list"`` the ``cost``
    metric is the list price (``priced_cost``; unknown prices count as 0)."""
    use = f.use_rollups if rollup is None else rollup
    list_price = f.cost_basis == "list"
    if use:
        t = usage_hourly if per_session else model_hourly
        m: dict[str, _CE[Any]] = {
            "calls": func.sum(t.c.llm_calls),
            "failed": func.sum(t.c.failed_calls),
            "input": func.sum(t.c.input_tokens),
            "output": func.sum(t.c.output_tokens),
            "cache_read": func.sum(t.c.cache_read_tokens),
            "cache_write": func.sum(t.c.cache_write_tokens),
            "cost": func.sum(t.c.priced_cost if list_price else t.c.cost),
            "savings": func.sum(t.c.cache_savings),
        }
        return t, t.c.hour_ms, m
    t = usage
    m = {
        "calls": func.count(),
        "failed": func.sum(case((t.c.failed, 1), else_=0)),
        "input": func.sum(t.c.input_tokens),
        "output": func.sum(t.c.output_tokens),
        "cache_read": func.sum(t.c.cache_read_tokens),
        "cache_write": func.sum(t.c.cache_write_tokens),
        "cost": func.sum(call_cost(list_price)),
        "savings": func.sum(func.coalesce(t.c.cache_savings, 0)),
    }
    return t, t.c.ts_ms, m


def cell_of(starts: Sequence[int]) -> tuple[int, int]:
    """(unit, offset): the coarsest cell (week, day, hour, quarter hour) every boundary in
    ``starts`` is aligned to, i.e. ``start % unit == offset`` for all; ``(1, 0)`` if none."""
    for unit in (WEEK_MS, DAY_MS, HOUR_MS, QUARTER_MS):
        if not starts:
            return unit, 0
        off = starts[0] % unit
        if all(s % unit == off for s in starts):
            return unit, off
    return 1, 0


def slot_expr(time_col: Any, starts: Sequence[int]) -> Any:
    """The start of the cell (see ``cell_of``) holding each row: every bucket is a whole
    number of cells, so grouping by it first gives the same bucket sums."""
    unit, off = cell_of(starts)
    if unit == 1:
        return time_col
    if off:
        return ((time_col - off) // unit) * unit + off
    return (time_col // unit) * unit


def series_uses_rollups(f: Filters, starts: Sequence[int]) -> bool:
    return f.use_rollups and whole_hours(*starts)


def clean_metrics(row: dict[str, Any], names: Iterable[str] = METRICS) -> dict[str, Any]:
    """SUM over no rows is NULL: make every metric a number (ints stay ints)."""
    out = dict(row)
    for n in names:
        v = out.get(n)
        if v is None:
            out[n] = 0.0 if n in ("cost", "savings") else 0
        elif n in ("cost", "savings"):
            out[n] = float(v)
        else:
            out[n] = int(v)
    return out


def bucketize(
    rows: Iterable[dict[str, Any]],
    starts: Sequence[int],
    keys: Sequence[str],
    metrics: Sequence[str],
    *,
    fill: bool = False,
) -> list[dict[str, Any]]:
    """Sum slot rows ``{slot, *keys, *metrics}`` into local buckets. Returns rows
    ``{bucket_ms, *keys, *metrics}`` ordered by bucket then key; empty buckets are omitted
    unless ``fill`` (only without keys)."""
    acc: dict[tuple[Any, ...], dict[str, Any]] = {}
    starts_l = list(starts)
    if fill and not keys:
        for b in starts_l[:-1]:
            acc[(b,)] = {"bucket_ms": b, **dict.fromkeys(metrics, 0)}
    for r in rows:
        i = assign(int(r["slot"]), starts_l)
        if i < 0:
            continue
        k = (starts_l[i], *(r[key] for key in keys))
        cell = acc.get(k)
        if cell is None:
            cell = {"bucket_ms": starts_l[i], **{key: r[key] for key in keys}}
            for m in metrics:
                cell[m] = 0
            acc[k] = cell
        for m in metrics:
            cell[m] += r[m] or 0
    return [acc[k] for k in sorted(acc, key=lambda k: tuple("" if x is None else x for x in k))]


def mappings(conn: Any, stmt: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(stmt).mappings()]


_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="webapp-query")


def run_parallel(conn: Connection, *work: Callable[[Connection], Any]) -> list[Any]:
    """Run independent read-only questions at the same time: the first on ``conn``, the
    others each on a connection of its own (the database works while Python waits; SQLite
    releases the GIL). Results in order; the first error is raised. Sequential when the
    engine's pool cannot hand out more connections safely."""
    if isinstance(conn.engine.pool, SingletonThreadPool | StaticPool):
        # One connection per thread and at most pool_size threads (SQLAlchemy's pool for a
        # creator-made SQLite engine): more threads would close connections in use.
        return [w(conn) for w in work]
    futures = [_POOL.submit(_on_own_connection, conn.engine, w) for w in work[1:]]
    try:
        first = work[0](conn)
    finally:
        rest = [fut.result() for fut in futures]
    return [first, *rest]


def _on_own_connection(engine: Engine, work: Callable[[Connection], Any]) -> Any:
    with engine.connect() as c:
        return work(c)


def raw_tuples(conn: Any, stmt: Any) -> list[tuple[Any, ...]]:
    """All rows as the driver's tuples, skipping SQLAlchemy's row objects (for the few
    statements that fetch many rows of plain numbers and strings)."""
    result = conn.execute(stmt)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


__all__ = [
    "HOUR_MS",
    "METRICS",
    "QUARTER_MS",
    "WEEK_MS",
    "Filters",
    "bucketize",
    "cell_of",
    "clean_metrics",
    "dim_conds",
    "kind_cond",
    "mappings",
    "raw_tuples",
    "run_parallel",
    "series_uses_rollups",
    "slot_expr",
    "time_conds",
    "usage_source",
]
