"""``agentbox-telemetry report``: the numbers of accounting.md, answered from the database.

Ranges are half-open ``[since, until)`` local dates in a named time zone; a call belongs to the
day that holds its own timestamp in that zone (DST included: day boundaries are computed with
``zoneinfo`` and joined as a small table, so any zone is exact, not only whole-hour ones).
The JSON shapes are a stable interface for scripts (README, "Reports").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, text

KINDS = ("summary", "daily", "models", "tools", "sessions")


class ReportError(ValueError):
    """A bad report argument (one line for the user)."""


@dataclass(frozen=True)
class Range:
    since: date | None
    until: date | None
    tz: str
    since_ms: int | None
    until_ms: int | None

    def where(self, col: str = "ts_ms") -> tuple[str, dict[str, int]]:
        parts, params = [], {}
        if self.since_ms is not None:
            parts.append(f"{col} >= :since_ms")
            params["since_ms"] = self.since_ms
        if self.until_ms is not None:
            parts.append(f"{col} < :until_ms")
            params["until_ms"] = self.until_ms
        return (" AND ".join(parts) or "1=1"), params


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ReportError(
            f"unknown time zone {name!r} (use an IANA name like Europe/Berlin)"
        ) from exc


def local_midnight_ms(d: date, tz: ZoneInfo) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=tz).timestamp() * 1000)


def parse_date(value: str | None, flag: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ReportError(f"{flag} must be a date like 2026-03-02, not {value!r}") from exc


def make_range(since: str | None, until: str | None, tz: str) -> Range:
    z = zone(tz)
    s, u = parse_date(since, "--since"), parse_date(until, "--until")
    if s and u and u <= s:
        raise ReportError("--until must be after --since (the range is [since, until))")
    return Range(
        s,
        u,
        tz,
        local_midnight_ms(s, z) if s else None,
        local_midnight_ms(u, z) if u else None,
    )


def _f(x: Any) -> float:
    return round(float(x or 0.0), 9)


def _i(x: Any) -> int:
    return int(x or 0)


#: The call measures every report sums, in this order (see ``_call_sums``).
CALL_SUMS = (
    "COUNT(*), SUM(CASE WHEN failed THEN 1 ELSE 0 END), SUM(input_tokens), SUM(output_tokens), "
    "SUM(cache_read_tokens), SUM(cache_write_tokens), SUM(logged_cost), SUM(cost)"
)


def _call_sums(v: Any) -> dict[str, Any]:
    """The eight values of ``CALL_SUMS`` as the reports' JSON fields."""
    return {
        "llm_calls": _i(v[0]),
        "failed_calls": _i(v[1]),
        "input_tokens": _i(v[2]),
        "output_tokens": _i(v[3]),
        "cache_read_tokens": _i(v[4]),
        "cache_write_tokens": _i(v[5]),
        "logged_cost_usd": _f(v[6]),
        "cost_usd": _f(v[7]),
    }


def iso_ms(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{ms % 1000:03d}Z"
    )


def summary(conn: Connection, r: Range) -> dict[str, Any]:
    w, p = r.where()
    sessions = conn.execute(
        text(
            f"SELECT COUNT(DISTINCT session_id) FROM messages WHERE entry_type = 'message' AND {w}"
        ),
        p,
    ).scalar()
    u = _call_sums(conn.execute(text(f"SELECT {CALL_SUMS} FROM usage WHERE {w}"), p).one())
    t = conn.execute(
        text(
            f"SELECT COUNT(*), SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END) "
            f"FROM tool_calls WHERE {w}"
        ),
        p,
    ).one()
    tokens = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
    return {
        "since": r.since.isoformat() if r.since else None,
        "until": r.until.isoformat() if r.until else None,
        "tz": r.tz,
        "sessions": _i(sessions),
        **{k: u[k] for k in ("llm_calls", "failed_calls", *tokens)},
        "total_tokens": sum(u[k] for k in tokens),
        "logged_cost_usd": u["logged_cost_usd"],
        "cost_usd": u["cost_usd"],
        "tool_calls": _i(t[0]),
        "tool_errors": _i(t[1]),
    }


def _days(conn: Connection, r: Range) -> list[tuple[str, int, int]]:
    z = zone(r.tz)
    lo, hi = r.since, r.until
    if lo is None or hi is None:
        w, p = r.where()
        mn, mx = conn.execute(text(f"SELECT MIN(ts_ms), MAX(ts_ms) FROM usage WHERE {w}"), p).one()
        if mn is None:
            return []
        lo = lo or datetime.fromtimestamp(mn / 1000, z).date()
        hi = hi or datetime.fromtimestamp(mx / 1000, z).date() + timedelta(days=1)
    out = []
    d = lo
    while d < hi:
        n = d + timedelta(days=1)
        out.append((d.isoformat(), local_midnight_ms(d, z), local_midnight_ms(n, z)))
        d = n
    return out


def daily(conn: Connection, r: Range) -> dict[str, Any]:
    days = _days(conn, r)
    rows: dict[str, dict[str, Any]] = {}
    for i in range(0, len(days), 500):
        chunk = days[i : i + 500]
        values = ", ".join(f"(:d{j}, :s{j}, :e{j})" for j in range(len(chunk)))
        params: dict[str, Any] = {}
        for j, (d, s, e) in enumerate(chunk):
            params.update({f"d{j}": d, f"s{j}": s, f"e{j}": e})
        q = text(
            f"WITH days(day, s, e) AS (VALUES {values}) "
            f"SELECT days.day, {CALL_SUMS} "
            "FROM days JOIN usage ON usage.ts_ms >= days.s AND usage.ts_ms < days.e "
            "GROUP BY days.day"
        )
        for row in conn.execute(q, params):
            rows[row[0]] = {"date": row[0], **_call_sums(row[1:])}
    return {"rows": [rows[d] for d, _, _ in days if d in rows]}


def models(conn: Connection, r: Range) -> dict[str, Any]:
    w, p = r.where()
    q = text(f"SELECT provider, model, {CALL_SUMS} FROM usage WHERE {w} GROUP BY provider, model")
    rows = []
    for row in conn.execute(q, p):
        sums = _call_sums(row[2:])
        del sums["failed_calls"]  # not part of the models report's contract
        rows.append({"provider": row[0], "model": row[1], **sums})
    rows.sort(key=lambda x: (-x["cost_usd"], -x["llm_calls"], x["provider"], x["model"]))
    return {"rows": rows}


def percentile(sorted_values: list[int], q: float) -> float | None:
    """Linear interpolation between closest ranks (NumPy's default method)."""
    if not sorted_values:
        return None
    pos = (len(sorted_values) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def tools(conn: Connection, r: Range) -> dict[str, Any]:
    w, p = r.where()
    agg = conn.execute(
        text(
            "SELECT tool_name, COUNT(*), SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN status = 'missing' THEN 1 ELSE 0 END) FROM tool_calls "
            f"WHERE {w} GROUP BY tool_name"
        ),
        p,
    ).all()
    durations: dict[str, list[int]] = {}
    for name, d in conn.execute(
        text(
            f"SELECT tool_name, duration_ms FROM tool_calls WHERE {w} AND duration_ms IS NOT "
            "NULL ORDER BY tool_name, duration_ms"
        ),
        p,
    ):
        durations.setdefault(name, []).append(int(d))
    rows = []
    for name, calls, errors, missing in agg:
        ds = durations.get(name, [])
        p50, p95 = percentile(ds, 0.5), percentile(ds, 0.95)
        rows.append(
            {
                "tool": name,
                "calls": _i(calls),
                "errors": _i(errors),
                "missing": _i(missing),
                "p50_ms": round(p50, 3) if p50 is not None else None,
                "p95_ms": round(p95, 3) if p95 is not None else None,
            }
        )
    rows.sort(key=lambda x: (-x["calls"], x["tool"]))
    return {"rows": rows}


def sessions(conn: Connection, r: Range) -> dict[str, Any]:
    w, p = r.where("m.ts_ms")
    wu, _ = r.where("u.ts_ms")
    q = text(
        "SELECT s.session_id, s.agent_id, s.kind, s.key, s.parent_session_id, s.started_ms, "
        "s.ended_ms, (SELECT COUNT(*) FROM usage u WHERE u.session_id = s.session_id AND "
        f"{wu}), (SELECT SUM(cost) FROM usage u WHERE u.session_id = s.session_id AND {wu}) "
        "FROM sessions s WHERE s.session_id IN (SELECT DISTINCT m.session_id FROM messages m "
        f"WHERE m.entry_type = 'message' AND {w}) ORDER BY s.started_ms, s.session_id"
    )
    rows = [
        {
            "session_id": row[0],
            "agent_id": row[1],
            "kind": row[2],
            "key": row[3],
            "parent_session_id": row[4],
            "started_at": iso_ms(row[5]),
            "ended_at": iso_ms(row[6]),
            "llm_calls": _i(row[7]),
            "cost_usd": _f(row[8]),
        }
        for row in conn.execute(q, p)
    ]
    return {"rows": rows}


def run(conn: Connection, kind: str, r: Range) -> dict[str, Any]:
    fn = {
        "summary": summary,
        "daily": daily,
        "models": models,
        "tools": tools,
        "sessions": sessions,
    }.get(kind)
    if fn is None:
        raise ReportError(f"unknown report {kind!r}: use one of {', '.join(KINDS)}")
    return fn(conn, r)
