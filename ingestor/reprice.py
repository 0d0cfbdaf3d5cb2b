"""Re-pricing stored calls: recompute every derived cost column of ``usage`` rows from their
tokens, their logged cost and the current :class:`~ingestor.pricing.Pricer` (new overrides, a
newer price table), then bring the ``usage_hourly`` rollup back in line.

This module owns that one operation. It never touches logged values (tokens, ``logged_cost``,
``raw_*``); it rewrites ``priced_cost``, ``cost``, ``cost_source``, ``price_model``,
``price_fuzzy``, ``cache_savings``, ``zero_cost_with_price`` and ``cost_mismatch`` exactly as
the ingestor would write them (:func:`ingestor.pricing.decide_cost`).

Rows are read in ``ts_ms`` order in pages of ``batch`` rows (keyset paging on the ``ts_ms``
index, so memory stays flat and each page is one indexed range scan), only rows whose derived
values differ are updated (executemany by primary key), and the rollup cells (session, hour)
of changed rows are recomputed after each page. Everything runs in the caller's transaction:
``with engine.begin() as conn: reprice(conn, pricer)``. Portable Core only (SQLite and
PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, bindparam, select, update

from ingestor import rollups
from ingestor.pricing import Pricer, decide_cost
from ingestor.schema import usage

HOUR_MS = rollups.HOUR_MS
_DERIVED = (
    "priced_cost",
    "cost",
    "cost_source",
    "price_model",
    "price_fuzzy",
    "cache_savings",
    "zero_cost_with_price",
    "cost_mismatch",
)
_KEYS = ("entry_id", "ts_ms", "session_id", "provider", "model", "input_tokens")
_INPUTS = ("output_tokens", "cache_read_tokens", "cache_write_tokens", "logged_cost")
_N_FIXED = len(_KEYS) + len(_INPUTS)


@dataclass(frozen=True)
class RepriceResult:
    calls: int  # usage rows examined
    changed: int  # rows whose derived cost columns changed


def reprice(
    conn: Connection,
    pricer: Pricer,
    since_ms: int | None = None,
    until_ms: int | None = None,
    batch: int = 50_000,
) -> RepriceResult:
    """Re-price the calls with ``since_ms <= ts_ms < until_ms`` (None = unbounded)."""
    if batch < 1:
        raise ValueError("batch must be >= 1")
    columns = [usage.c[name] for name in (*_KEYS, *_INPUTS, *_DERIVED)]
    base = select(*columns)
    if until_ms is not None:
        base = base.where(usage.c.ts_ms < until_ms)
    stmt = (
        update(usage)
        .where(usage.c.entry_id == bindparam("k_entry"), usage.c.ts_ms == bindparam("k_ts"))
        .values({name: bindparam(f"v_{name}") for name in _DERIVED})
    )
    # The Core statement compiled once for this dialect and run through the driver's
    # executemany: SQLAlchemy's per-row parameter processing would cost more than the update.
    compiled = stmt.compile(dialect=conn.dialect)
    sql = str(compiled)
    names = (*(f"v_{name}" for name in _DERIVED), "k_entry", "k_ts")
    order = tuple(compiled.positiontup or ()) if compiled.positional else None
    reorder = None if order == names else [names.index(k) for k in order or names]
    calls = changed = 0
    low = since_ms
    while True:
        page, low, more = _next_page(conn, base, low, batch)
        calls += len(page)
        updates, cells = _reprice_rows(page, pricer)
        if updates:
            if order is None:  # named parameters (psycopg)
                conn.exec_driver_sql(sql, [dict(zip(names, u, strict=True)) for u in updates])
            elif reorder is None:  # positional, already in order (sqlite)
                conn.exec_driver_sql(sql, updates)
            else:
                conn.exec_driver_sql(sql, [tuple(u[i] for i in reorder) for u in updates])
            rollups.recompute(conn, cells)
            changed += len(updates)
        if not more:
            return RepriceResult(calls=calls, changed=changed)


def _next_page(
    conn: Connection, base: Select[Any], low: int | None, batch: int
) -> tuple[Sequence[Any], int | None, bool]:
    """Rows from ``low`` on, in whole timestamps: (rows, next low, whether more may follow)."""
    ts = usage.c.ts_ms
    query = base if low is None else base.where(ts >= low)
    rows = _fetch(conn, query.order_by(ts).limit(batch))
    if len(rows) < batch:
        return rows, None, False
    last = rows[-1][1]
    if rows[0][1] == last:
        # One timestamp fills the page: take every row of it, continue after it.
        return _fetch(conn, base.where(ts == last)), last + 1, True
    cut = len(rows) - 1
    while rows[cut - 1][1] == last:
        cut -= 1
    # Rows at the last timestamp may continue past the page: read them with the next page.
    return rows[:cut], last, True


def _fetch(conn: Connection, query: Select[Any]) -> Sequence[Any]:
    """Run a Core select through the driver: plain rows without SQLAlchemy's per-value type
    processing (booleans stay 0/1 on SQLite, which compare equal to True/False)."""
    compiled = query.compile(dialect=conn.dialect)
    params = compiled.construct_params()
    if compiled.positional:
        args: Any = tuple(params[name] for name in compiled.positiontup or ())
    else:
        args = params
    return conn.exec_driver_sql(str(compiled), args).all()


def _reprice_rows(
    rows: Sequence[Any], pricer: Pricer
) -> tuple[list[tuple[Any, ...]], set[tuple[str, int]]]:
    """The changed rows as (*new derived values, entry_id, ts_ms), and their rollup cells."""
    quote = pricer.quote
    updates: list[tuple[Any, ...]] = []
    cells: set[tuple[str, int]] = set()
    for row in rows:
        entry_id, ts, session_id, provider, model, tok_in, tok_out, tok_cr, tok_cw, logged = row[
            :_N_FIXED
        ]
        d = decide_cost(logged, quote(provider, model, ts, tok_in, tok_out, tok_cr, tok_cw))
        new = (
            d.priced_cost,
            d.cost,
            d.cost_source,
            d.price_model,
            d.price_fuzzy,
            d.cache_savings,
            d.zero_cost_with_price,
            d.cost_mismatch,
        )
        if new != tuple(row[_N_FIXED:]):
            updates.append((*new, entry_id, ts))
            cells.add((session_id, ts - ts % HOUR_MS))
    return updates, cells
