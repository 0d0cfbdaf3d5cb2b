"""Alerts: sessions over a cost or token threshold in the range, days whose cost spikes
against the trailing average, and acknowledgements (``alert_acks``: the webapp's only write,
done on a separate writer engine)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, or_, select

from ingestor.schema import alert_acks, sessions
from webapp.queries.base import Filters, dim_conds, mappings, time_conds
from webapp.queries.base import usage_source as _usage_source
from webapp.queries.sessions import session_name
from webapp.queries.usage import data_extent, usage_series
from webapp.spikes import history_index, spikes, trailing_average
from webapp.timeranges import DAY_MS, bucket_starts, local_label

SPIKE_WINDOW = 7
MAX_SESSION_ALERTS = 500


def session_alerts(
    conn: Connection, f: Filters, cost_threshold: float, token_threshold: int
) -> list[dict[str, Any]]:
    """Sessions whose in-range cost exceeds ``cost_threshold`` or tokens ``token_threshold``:
    one alert per (rule, session), named as on the Sessions grid (:func:`session_name`)."""
    t, tcol, m = _usage_source(f, per_session=True)
    # One sum of the four token columns (not four sums): less to carry through the grouping.
    tokens = func.sum(
        t.c.input_tokens + t.c.output_tokens + t.c.cache_read_tokens + t.c.cache_write_tokens
    )
    stmt = (
        select(t.c.session_id, m["cost"].label("cost"), tokens.label("tokens"))
        .where(*time_conds(tcol, f), *dim_conds(t, f))
        .group_by(t.c.session_id)
        .having(or_(m["cost"] > cost_threshold, tokens > token_threshold))
        # ties (sessions of equal cost, often 0) in a fixed order, so the list and its limit
        # never depend on how the database happens to store the rows
        .order_by(m["cost"].desc(), tokens.desc(), t.c.session_id)
        .limit(MAX_SESSION_ALERTS)
    )
    rows = mappings(conn, stmt)
    ids = [r["session_id"] for r in rows]
    meta = {}
    if ids:
        meta = {
            r["session_id"]: r
            for r in mappings(
                conn,
                select(
                    sessions.c.session_id,
                    sessions.c.agent_id,
                    sessions.c.kind,
                    sessions.c.label,
                    sessions.c.title,
                    sessions.c.key,
                ).where(sessions.c.session_id.in_(ids)),
            )
        }
    word = "list price" if f.cost_basis == "list" else "cost"
    out = []
    for r in rows:
        s = meta.get(r["session_id"], {})
        name = session_name({**s, "session_id": r["session_id"]})
        cost, tok = float(r["cost"] or 0), int(r["tokens"] or 0)
        base = {"session_id": r["session_id"], "name": name, "agent": s.get("agent_id", "")}
        if cost > cost_threshold:
            out.append(
                {
                    **base,
                    "key": f"session_cost:{r['session_id']}",
                    "rule": "High session cost",
                    "value": cost,
                    "detail": f"{word} ${cost:,.2f} > ${cost_threshold:,.2f}",
                }
            )
        if tok > token_threshold:
            out.append(
                {
                    **base,
                    "key": f"session_tokens:{r['session_id']}",
                    "rule": "High token usage",
                    "value": tok,
                    "detail": f"{tok:,} tokens > {token_threshold:,}",
                }
            )
    return out


def cost_spikes(
    conn: Connection, f: Filters, factor: float, since_ms: int, until_ms: int
) -> list[dict[str, Any]]:
    """Local days in ``[since_ms, until_ms)`` whose cost exceeds ``factor`` times the average
    of the 7 days before (history before the range counts; days before the first recorded
    activity do not, see webapp/spikes.py)."""
    starts = bucket_starts(since_ms - SPIKE_WINDOW * DAY_MS, until_ms, "day", f.tz)
    fw = f.with_range(starts[0], until_ms)
    by_bucket = {
        r["bucket_ms"]: r["cost"] for r in usage_series(conn, fw, starts, metrics=["cost"])
    }
    days = starts[:-1]
    values = [by_bucket.get(d, 0.0) for d in days]
    extent = data_extent(conn)
    first = history_index(starts, extent[0] if extent else None)
    marks = spikes(values, window=SPIKE_WINDOW, factor=factor, min_excess=0.01, first=first)
    out = []
    for i, (d, v, hit) in enumerate(zip(days, values, marks, strict=True)):
        if not hit or d < since_ms - DAY_MS // 2:
            continue
        avg, _ = trailing_average(values, i, SPIKE_WINDOW, first)
        day = local_label(d, "day", f.tz)
        out.append(
            {
                "key": f"cost_spike:{day}:{f.tz}",
                "rule": "Cost spike",
                "session_id": None,
                "name": day,
                "agent": "",
                "value": v,
                "detail": f"${v:,.2f} vs ${avg:,.2f} trailing {SPIKE_WINDOW}-day average"
                + (" (list price)" if f.cost_basis == "list" else ""),
            }
        )
    return out


def acked(conn: Connection, keys: Sequence[str]) -> dict[str, int]:
    """alert_key -> acked_ms for the given keys."""
    if not keys:
        return {}
    stmt = select(alert_acks.c.alert_key, alert_acks.c.acked_ms).where(
        alert_acks.c.alert_key.in_(list(keys))
    )
    return {k: int(ms) for k, ms in conn.execute(stmt)}


def acknowledge(writer: Engine, keys: Sequence[str], now_ms: int, note: str | None = None) -> int:
    """Record acknowledgements (keys already acknowledged are left alone); returns how many
    rows were written."""
    keys = list(dict.fromkeys(keys))
    if not keys:
        return 0
    with writer.begin() as conn:
        have = set(
            conn.execute(
                select(alert_acks.c.alert_key).where(alert_acks.c.alert_key.in_(keys))
            ).scalars()
        )
        new = [{"alert_key": k, "acked_ms": now_ms, "note": note} for k in keys if k not in have]
        if new:
            conn.execute(insert(alert_acks), new)
    return len(new)


def ack_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(alert_acks)).scalar() or 0)
