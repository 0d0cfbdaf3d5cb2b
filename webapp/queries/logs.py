"""Questions about gateway log lines (``gateway_events``): lines per local bucket and level,
the subsystems present, the most recent matching lines, and the extent of the logs.

Every question is a time-range query on ``ix_gateway_events_time`` or, with a level filter
(the default: WARN and above), on ``ix_gateway_events_level_time``; nothing loads the table.
Of the global filters only the range, the time zone and the agent apply. A line's agent is
the one it names, else the agent of the session it names (most lines name only a session);
the agent filter keeps the lines of the chosen agents and every line with no agent at all
(gateway-wide lines).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, inspect, or_, select

from ingestor.schema import gateway_events as ge
from ingestor.schema import sessions
from webapp.queries.base import Filters, bucketize, mappings, min_max, slot_expr, time_conds

#: tslog level names by level id (0 … 6), as the ingestor stores them.
LEVELS = ("SILLY", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
#: The Logs page's default: warnings and worse.
DEFAULT_LEVELS = ("WARN", "ERROR", "FATAL")
#: Lines without a (known) level, when every level is shown.
OTHER_LEVEL = "OTHER"
#: How many of the most recent lines the table shows.
RECENT_LIMIT = 500
_ESCAPE = "\\"


@dataclass(frozen=True)
class LogQuery:
    """The Logs page's own filters; empty tuples mean "all"."""

    levels: tuple[str, ...] = DEFAULT_LEVELS
    subsystems: tuple[str, ...] = ()
    text: str = ""


def has_gateway_events(conn: Connection) -> bool:
    """The database has the ``gateway_events`` table (schema revision 0002 or later)."""
    return bool(inspect(conn).has_table(ge.name))


def escape_like(text: str) -> str:
    """``text`` as a literal inside a LIKE pattern (escape character ``\\``)."""
    for ch in (_ESCAPE, "%", "_"):  # the escape character first
        text = text.replace(ch, _ESCAPE + ch)
    return text


def _level_ids(levels: Sequence[str]) -> list[int]:
    return [LEVELS.index(lv) for lv in levels if lv in LEVELS]


#: A line's agent: the one it names, else its session's (through ``_lines``' outer join).
LINE_AGENT = func.coalesce(ge.c.agent_id, sessions.c.agent_id)


def _lines(f: Filters, *, agents: bool = False) -> Any:
    """The lines, joined to their sessions when the agent is asked for or filtered on."""
    if agents or f.agents:
        return ge.outerjoin(sessions, sessions.c.session_id == ge.c.session_id)
    return ge


def conditions(f: Filters, q: LogQuery, *, subsystems: bool = True) -> list[ColumnElement[bool]]:
    """Range, agent, level, subsystem (unless ``subsystems`` is False) and text conditions
    (the agent one on ``_lines(f)``)."""
    out = time_conds(ge.c.time_ms, f)
    if f.agents:
        out.append(or_(LINE_AGENT.is_(None), LINE_AGENT.in_(f.agents)))
    if q.levels:
        out.append(ge.c.level_id.in_(_level_ids(q.levels)))
    if subsystems and q.subsystems:
        out.append(ge.c.subsystem.in_(q.subsystems))
    if q.text:
        out.append(ge.c.message.ilike(f"%{escape_like(q.text)}%", escape=_ESCAPE))
    return out


def level_name(level_id: int | None) -> str:
    return LEVELS[level_id] if level_id is not None and 0 <= level_id < len(LEVELS) else OTHER_LEVEL


def logs_extent(conn: Connection) -> tuple[int, int] | None:
    """(first line time, last line time + 1 ms) over all log lines, else None."""
    lo, hi = conn.execute(min_max(ge.c.time_ms)).one()
    if lo is None:
        return None
    return int(lo), int(hi) + 1


def has_lines(conn: Connection, f: Filters) -> bool:
    """Any log line in the range, whatever the other filters (one index probe)."""
    stmt = select(ge.c.id).where(*time_conds(ge.c.time_ms, f)).limit(1)
    return conn.execute(stmt).first() is not None


def log_series(
    conn: Connection, f: Filters, q: LogQuery, starts: Sequence[int]
) -> list[dict[str, Any]]:
    """Matching lines per local bucket (``starts``: bucket starts + final end) and level.
    Rows ``{bucket_ms, level, lines}`` ordered by bucket then level name; empty cells are
    left out."""
    if len(starts) < 2:
        return []
    slot = slot_expr(ge.c.time_ms, starts).label("slot")
    stmt = (
        select(slot, ge.c.level_id, func.count().label("lines"))
        .select_from(_lines(f))
        .where(*conditions(f, q))
        .group_by(slot, ge.c.level_id)
    )
    rows = [
        {"slot": r["slot"], "level": level_name(r["level_id"]), "lines": int(r["lines"])}
        for r in mappings(conn, stmt)
    ]
    return bucketize(rows, starts, ["level"], ["lines"])


def log_subsystems(conn: Connection, f: Filters, q: LogQuery) -> list[tuple[str, int]]:
    """(subsystem, matching lines) in the range under every filter but the subsystem one,
    most lines first."""
    n = func.count().label("n")
    stmt = (
        select(ge.c.subsystem, n)
        .select_from(_lines(f))
        .where(*conditions(f, q, subsystems=False), ge.c.subsystem.is_not(None))
        .group_by(ge.c.subsystem)
        .order_by(n.desc(), ge.c.subsystem)
    )
    return [(s, int(c)) for s, c in conn.execute(stmt)]


def recent_logs(
    conn: Connection, f: Filters, q: LogQuery, limit: int = RECENT_LIMIT
) -> list[dict[str, Any]]:
    """The ``limit`` most recent matching lines, newest first; ``session_known`` tells whether
    the line's session has a ``sessions`` row (so a link to it leads somewhere)."""
    stmt = (
        select(
            ge.c.id,
            ge.c.time_ms,
            ge.c.level,
            ge.c.level_id,
            ge.c.subsystem,
            ge.c.message,
            LINE_AGENT.label("agent_id"),
            ge.c.session_id,
            ge.c.run_id,
        )
        .select_from(_lines(f, agents=True))
        .where(*conditions(f, q))
        .order_by(ge.c.time_ms.desc(), ge.c.id.desc())
        .limit(limit)
    )
    rows = mappings(conn, stmt)
    ids = sorted({r["session_id"] for r in rows if r["session_id"]})
    known: set[str] = set()
    for i in range(0, len(ids), 400):  # stay far below any bound-parameter limit
        chunk = ids[i : i + 400]
        known.update(
            conn.execute(select(sessions.c.session_id).where(sessions.c.session_id.in_(chunk)))
            .scalars()
            .all()
        )
    for r in rows:
        r["session_known"] = r["session_id"] in known
    return rows


__all__ = [
    "DEFAULT_LEVELS",
    "LEVELS",
    "OTHER_LEVEL",
    "RECENT_LIMIT",
    "LogQuery",
    "conditions",
    "escape_like",
    "has_gateway_events",
    "has_lines",
    "level_name",
    "log_series",
    "log_subsystems",
    "logs_extent",
    "recent_logs",
]
