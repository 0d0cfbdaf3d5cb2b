"""Questions about how much the costs can be trusted (accounting.md §5): totals of the effective
cost, the list price and the logged cost, the share of cost by source, models with no known
price, calls whose logged cost and list price disagree, and cache savings.

Which table answers:

* totals and cache savings follow the rollup rule (``model_hourly`` has the sums of
  ``logged_cost``, ``priced_cost``, ``cost`` and ``cache_savings``; the raw ``usage`` table
  gives the same numbers for ranges that are not whole hours);
* the cost source, the unknown prices and the disagreements are per-call facts no rollup
  keeps: they are read from ``usage`` (range scan on the key, which leads with ``ts_ms``)
  whatever the range.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, case, func, or_, select

from ingestor.schema import COST_SOURCES, usage
from webapp.queries.base import (
    Filters,
    bucketize,
    dim_conds,
    mappings,
    series_uses_rollups,
    slot_expr,
    time_conds,
    usage_source,
)

RECENT_LIMIT = 50


def _money(v: Any) -> float:
    return float(v) if v is not None else 0.0


def _int(v: Any) -> int:
    return int(v) if v is not None else 0


def _sums(f: Filters, rollup: bool | None = None) -> tuple[Any, Any, dict[str, Any]]:
    """(table, time column, money sums) for totals and savings: effective cost, list price,
    logged cost, cache savings and calls (unknown amounts count as 0, as in the rollups)."""
    t, tcol, m = usage_source(f, rollup=rollup)
    if t is usage:
        sums = {
            "calls": m["calls"],
            "cost": func.sum(t.c.cost),
            "list_price": func.sum(func.coalesce(t.c.priced_cost, 0)),
            "logged": func.sum(func.coalesce(t.c.logged_cost, 0)),
            "savings": func.sum(func.coalesce(t.c.cache_savings, 0)),
            "cache_read": m["cache_read"],
        }
    else:
        sums = {
            "calls": m["calls"],
            "cost": func.sum(t.c.cost),
            "list_price": func.sum(t.c.priced_cost),
            "logged": func.sum(t.c.logged_cost),
            "savings": func.sum(t.c.cache_savings),
            "cache_read": m["cache_read"],
        }
    return t, tcol, sums


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for k in ("calls", "cache_read"):
        if k in out:
            out[k] = _int(out[k])
    for k in ("cost", "list_price", "logged", "savings"):
        if k in out:
            out[k] = _money(out[k])
    return out


def cost_totals(conn: Connection, f: Filters) -> dict[str, Any]:
    """Calls, effective cost, list price, logged cost and cache savings in the range."""
    t, tcol, sums = _sums(f)
    stmt = select(*(e.label(n) for n, e in sums.items())).where(
        *time_conds(tcol, f), *dim_conds(t, f)
    )
    return _clean(dict(conn.execute(stmt).mappings().one()))


def _raw_conds(f: Filters) -> list[Any]:
    return [*time_conds(usage.c.ts_ms, f), *dim_conds(usage, f)]


def cost_by_source(conn: Connection, f: Filters) -> list[dict[str, Any]]:
    """One row per cost source (override, logged, priced, unknown; all four, zeros included):
    calls, effective cost, list price, and the shares of calls and of cost."""
    u = usage
    stmt = (
        select(
            u.c.cost_source.label("source"),
            func.count().label("calls"),
            func.sum(u.c.cost).label("cost"),
            func.sum(func.coalesce(u.c.priced_cost, 0)).label("list_price"),
        )
        .where(*_raw_conds(f))
        .group_by(u.c.cost_source)
    )
    found = {r["source"]: _clean(r) for r in mappings(conn, stmt)}
    names = [*COST_SOURCES, *sorted(s for s in found if s not in COST_SOURCES)]
    rows = [
        found.get(s) or {"source": s, "calls": 0, "cost": 0.0, "list_price": 0.0} for s in names
    ]
    calls = sum(r["calls"] for r in rows)
    cost = sum(r["cost"] for r in rows)
    for r in rows:
        r["call_share"] = r["calls"] / calls if calls else 0.0
        r["share"] = r["cost"] / cost if cost else 0.0
    return rows


def unpriced_models(conn: Connection, f: Filters) -> list[dict[str, Any]]:
    """Models with calls that have no known price (cost source ``unknown``, or no list price
    although the call has tokens): per provider and model the calls, tokens by type, logged
    and effective cost of those calls, how many are ``unknown`` and the last one's time. Most
    tokens first."""
    u = usage
    stmt = (
        select(
            u.c.provider,
            u.c.model,
            func.count().label("calls"),
            func.sum(case((u.c.cost_source == "unknown", 1), else_=0)).label("unknown_calls"),
            func.sum(u.c.total_tokens).label("tokens"),
            func.sum(u.c.input_tokens).label("input"),
            func.sum(u.c.output_tokens).label("output"),
            func.sum(u.c.cache_read_tokens).label("cache_read"),
            func.sum(u.c.cache_write_tokens).label("cache_write"),
            func.sum(func.coalesce(u.c.logged_cost, 0)).label("logged"),
            func.sum(u.c.cost).label("cost"),
            func.max(u.c.ts_ms).label("last_ms"),
        )
        .where(
            *_raw_conds(f),
            or_(
                u.c.cost_source == "unknown",
                (u.c.priced_cost.is_(None)) & (u.c.total_tokens > 0),
            ),
        )
        .group_by(u.c.provider, u.c.model)
    )
    rows = []
    for r in mappings(conn, stmt):
        row = _clean(r)
        for k in ("unknown_calls", "tokens", "input", "output", "cache_read", "cache_write"):
            row[k] = _int(row[k])
        row["last_ms"] = _int(row["last_ms"])
        rows.append(row)
    rows.sort(key=lambda r: (-r["tokens"], -r["calls"], r["provider"], r["model"]))
    return rows


def disagreement_counts(conn: Connection, f: Filters) -> list[dict[str, Any]]:
    """Per provider and model with at least one flagged call: calls whose logged cost differs
    from the list price by more than 5 % (``mismatches``), calls logged at 0 although the
    model has a price (``zero_with_price``), and the logged cost and list price of the flagged
    calls. Most flagged calls first."""
    u = usage
    flagged = or_(u.c.cost_mismatch.is_(True), u.c.zero_cost_with_price.is_(True))
    stmt = (
        select(
            u.c.provider,
            u.c.model,
            func.count().label("flagged"),
            func.sum(case((u.c.cost_mismatch.is_(True), 1), else_=0)).label("mismatches"),
            func.sum(case((u.c.zero_cost_with_price.is_(True), 1), else_=0)).label(
                "zero_with_price"
            ),
            func.sum(func.coalesce(u.c.logged_cost, 0)).label("logged"),
            func.sum(func.coalesce(u.c.priced_cost, 0)).label("list_price"),
        )
        .where(*_raw_conds(f), flagged)
        .group_by(u.c.provider, u.c.model)
    )
    rows = []
    for r in mappings(conn, stmt):
        row = _clean(r)
        for k in ("flagged", "mismatches", "zero_with_price"):
            row[k] = _int(row[k])
        row["difference"] = row["logged"] - row["list_price"]
        rows.append(row)
    rows.sort(key=lambda r: (-r["flagged"], r["provider"], r["model"]))
    return rows


def recent_disagreements(
    conn: Connection, f: Filters, limit: int = RECENT_LIMIT
) -> list[dict[str, Any]]:
    """The most recent flagged calls (newest first): time, session, model, logged cost (a
    missing one as 0), list price, the difference relative to the list price and the flag
    (``mismatch`` or ``zero``)."""
    u = usage
    stmt = (
        select(
            u.c.ts_ms,
            u.c.session_id,
            u.c.provider,
            u.c.model,
            u.c.logged_cost,
            u.c.priced_cost,
            u.c.cost,
            u.c.cost_source,
            u.c.cost_mismatch,
            u.c.zero_cost_with_price,
        )
        .where(
            *_raw_conds(f),
            or_(u.c.cost_mismatch.is_(True), u.c.zero_cost_with_price.is_(True)),
        )
        .order_by(u.c.ts_ms.desc(), u.c.entry_id.desc())
        .limit(limit)
    )
    rows = []
    for r in mappings(conn, stmt):
        logged = _money(r["logged_cost"])
        listed = _money(r["priced_cost"])
        rows.append(
            {
                "ts_ms": int(r["ts_ms"]),
                "session_id": r["session_id"],
                "provider": r["provider"],
                "model": r["model"],
                "logged": logged,
                "list_price": listed,
                "cost": _money(r["cost"]),
                "cost_source": r["cost_source"],
                "diff_pct": (logged - listed) / listed if listed else None,
                "flag": "mismatch" if r["cost_mismatch"] else "zero",
            }
        )
    return rows


def savings(
    conn: Connection, f: Filters, starts: Sequence[int] = ()
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(by model, series): cache savings, cache-read tokens and cost per provider and model in
    the range (largest savings first, models without savings left out), and (with
    ``starts``) savings per local bucket and model. From ``model_hourly`` when the rollup rule
    allows, else from ``usage``: the same numbers."""
    # Buckets that are not whole hours need the raw table for the series; then the per-model
    # part reads it too (same numbers, one query).
    t, tcol, sums = _sums(f, series_uses_rollups(f, starts) if starts else None)
    keys = [t.c.provider, t.c.model]
    cols: list[Any] = list(keys)
    if starts:
        cols.append(slot_expr(tcol, starts).label("slot"))
    stmt = (
        select(*cols, *(e.label(n) for n, e in sums.items()))
        .where(*time_conds(tcol, f), *dim_conds(t, f))
        .group_by(*cols)
    )
    cells = [_clean(r) for r in mappings(conn, stmt)]
    per: dict[tuple[str, str], dict[str, Any]] = {}
    for c in cells:
        acc = per.setdefault(
            (c["provider"], c["model"]),
            {"provider": c["provider"], "model": c["model"], "savings": 0.0, "cache_read": 0,
             "cost": 0.0, "list_price": 0.0},
        )  # fmt: skip
        for k in ("savings", "cache_read", "cost", "list_price"):
            acc[k] += c[k]
    rows = [r for r in per.values() if r["savings"] or r["cache_read"]]
    rows.sort(key=lambda r: (-r["savings"], -r["cache_read"], r["provider"], r["model"]))
    series: list[dict[str, Any]] = []
    if starts:
        keep = [c for c in cells if c["savings"]]
        series = bucketize(keep, starts, ["provider", "model"], ["savings"])
        for s in series:
            s["savings"] = float(s["savings"])
            s["name"] = f"{s['provider']}/{s['model']}"
    return rows, series


__all__ = [
    "RECENT_LIMIT",
    "cost_by_source",
    "cost_totals",
    "disagreement_counts",
    "recent_disagreements",
    "savings",
    "unpriced_models",
]
