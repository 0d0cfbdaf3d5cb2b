"""Questions about the ingestor's own health: the files it tracks (``sources``: by state, lines
read, the newest activity, skipped files by reason) and the lines it could not read or read
with a warning (``ingest_errors``: counts by severity, by problem, the most recent, and the
files with the most).

Errors belong to a range by ``ingest_errors.created_ms``, when the ingestor recorded them (not
the time inside the line). File figures (``sources``) are all time: a file has no time of its
own but when it was first and last seen.

Of the global filters only the range, the time zone and the agent apply. The agent filter
keeps the files (and their errors) whose ``sources.agent_id`` is one of the chosen agents, and
every file with no agent at all; the kind, provider and model filters do not apply.

Indexes (see each function):

* ``ingest_errors``: ``ix_ingest_errors_created (created_ms, severity, source_id)`` (revision
  0005) serves every range condition and the newest-first order (the implicit rowid is
  ``id``, the tie-break), so the most recent errors stop after the first ``limit`` matches;
  the counts by severity and by file, and the agent filter, read the index alone. Grouping
  by problem reads each error's ``reason`` from the table, so the page's tables read at most
  the :data:`WINDOW` most recent errors of the range (:func:`window_start`).
* The agent filter is a list of file ids (:func:`error_agent_cond`), built once per question
  from ``sources`` (no index on ``agent_id``).
* ``sources`` has no index on ``state``, ``agent_id`` or ``last_seen_ms``: its summaries read
  the table once (one row per file, never the errors); the files beside the top errors are
  looked up by primary key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    case,
    exists,
    func,
    literal,
    or_,
    select,
)

from ingestor.schema import ingest_errors as ie
from ingestor.schema import sources as src
from webapp.queries.base import Filters, mappings, min_max, time_conds
from webapp.queries.logs import escape_like

#: The severities the ingestor records, worst first.
SEVERITIES = ("error", "warning")
#: File states in the order the page lists them (``replaced`` only when there are such).
STATES = ("active", "archived", "gone", "replaced", "skipped")
#: How many of the most recent matching lines the grid shows.
RECENT_LIMIT = 500
#: How many files the "most errors" table lists.
TOP_FILES = 20
#: How many problems (and skip reasons) are listed at most.
GROUP_LIMIT = 100
#: Example paths per skip reason.
SKIP_EXAMPLES = 3
#: The most errors the page groups and lists: a range holding more is narrowed to its most
#: recent ``WINDOW`` (:func:`window_start`), so that no question reads more than that many
#: rows of ``ingest_errors`` (the cards still count the whole range).
WINDOW = 100_000
_ESCAPE = "\\"

_USAGE_KEYS = ("input", "output", "cacheRead", "cacheWrite")
_JSON_TYPES = ("NoneType", "list", "str", "int", "float", "bool")


def _problem_rules() -> list[tuple[str, str]]:
    """(LIKE pattern, problem) pairs, first match wins: the ingestor's reason texts with their
    per-line details (values, positions, sizes, a store's ``[session …]``) folded away, so
    that one kind of problem is one row. A reason no rule knows is its own problem."""
    rules: list[tuple[str, str]] = [("invalid JSON: %", "invalid JSON")]
    for t in _JSON_TYPES:
        rules.append((f"not a JSON object ({t})%", f"not a JSON object ({t})"))
    for fixed in (
        "blank line",
        "no string 'type' field",
        "session header without a string 'id'",
        "message entry whose 'message' is not an object",
        "invalid UTF-8 replaced",
        "unpaired UTF-16 surrogate replaced",
        "log line without a valid 'time' or '_meta.date'",
    ):
        rules.append((escape_like(fixed) + "%", fixed))
    rules.append(("% entry without a valid 'timestamp'%", "entry without a valid 'timestamp'"))
    for key in _USAGE_KEYS:
        rules.append(
            (f"usage.{key} is not a number %", f"usage.{key} is not a number; counted as 0")
        )
        rules.append(
            (
                f"usage.{key} is %; counted as 0%",
                f"usage.{key} is negative, too large or not finite; counted as 0",
            )
        )
    rules += [
        ("line of % bytes is over the limit%", "line over the size limit"),
        ("unexpected entry shape: %", "unexpected entry shape"),
        ("sessions.json unreadable: %", "sessions.json unreadable"),
        ("store unreadable: %", "store unreadable"),
    ]
    return rules


PROBLEM_RULES = _problem_rules()


def problem_expr() -> Any:
    """SQL: an error's problem (see :func:`_problem_rules`); the reason itself otherwise."""
    return case(
        *[(ie.c.reason.like(p, escape=_ESCAPE), literal(label)) for p, label in PROBLEM_RULES],
        else_=ie.c.reason,
    )


@dataclass(frozen=True)
class ErrorQuery:
    """The Ingest page's own filters: severities (empty: both) and a text that the reason or
    the path must contain (case-insensitive, taken literally)."""

    severities: tuple[str, ...] = ()
    text: str = ""


def agent_cond(f: Filters) -> list[ColumnElement[bool]]:
    """The agent filter on ``sources``: the chosen agents' files and files with no agent."""
    if not f.agents:
        return []
    return [or_(src.c.agent_id.is_(None), src.c.agent_id.in_(f.agents))]


def error_agent_cond(f: Filters, dialect: str) -> list[ColumnElement[bool]]:
    """The agent filter on ``ingest_errors``: keep an error unless its file names another
    agent (so errors of files with no agent, or of no known file, stay).

    SQLite: ``source_id NOT IN (the other agents' file ids)``, a list built once and probed
    per error while the range scan of ``ix_ingest_errors_created`` goes on (a join looked each
    file up per error: four times slower over a million errors). PostgreSQL: the same as
    ``NOT EXISTS``, which it runs as a hash anti-join."""
    if not f.agents:
        return []
    others = src.c.agent_id.not_in(f.agents)  # NULL agents are not "others"
    if dialect == "sqlite":
        return [ie.c.source_id.not_in(select(src.c.id).where(others))]
    return [~exists().where(src.c.id == ie.c.source_id, others)]


def conditions(
    f: Filters, q: ErrorQuery | None = None, dialect: str = "sqlite"
) -> list[ColumnElement[bool]]:
    """Range (on ``created_ms``), agent, severity and text conditions on ``ingest_errors``."""
    out = time_conds(ie.c.created_ms, f)
    out += error_agent_cond(f, dialect)
    if q is not None:
        if q.severities:
            out.append(ie.c.severity.in_(q.severities))
        if q.text:
            pattern = f"%{escape_like(q.text)}%"
            out.append(
                or_(
                    ie.c.reason.ilike(pattern, escape=_ESCAPE),
                    ie.c.path.ilike(pattern, escape=_ESCAPE),
                )
            )
    return out


# --- files ----------------------------------------------------------------------------------


#: How the page names each kind of tracked file (``sources.kind``), in the order it lists them.
KIND_NAMES = {
    "jsonl": "transcripts",
    "jsonl_zst": "transcripts",
    "gateway_log": "gateway logs",
    "sqlite_store": "SQLite stores",
    "sessions_index": "sessions.json",
}


def file_summary(conn: Connection, f: Filters) -> dict[str, Any]:
    """The tracked files, all time: ``{states: {state: files}, kinds: {name: files}, files,
    cli_files, lines, last_seen_ms}``. ``kinds`` counts by :data:`KIND_NAMES` (JSONL and zstd
    transcripts together), every name present. ``cli_files`` is what the closing line of
    ``agentbox-telemetry ingest`` counts as files: the transcripts, SQLite stores and gateway
    logs a pass finds, so the tracked ones still there (not gone, not replaced by a new file
    at their path), without the ``sessions.json`` indexes (read, but not counted).
    ``last_seen_ms``: the newest time a file was registered, read, renamed or found gone; None
    without files. One read of ``sources`` (no index on ``state``)."""
    stmt = (
        select(
            src.c.state,
            src.c.kind,
            func.count().label("files"),
            func.sum(src.c.lines).label("lines"),
            func.max(src.c.last_seen_ms).label("last"),
        )
        .where(*agent_cond(f))
        .group_by(src.c.state, src.c.kind)
    )
    states = {"active": 0, "archived": 0, "gone": 0, "skipped": 0}  # + "replaced" if any
    kinds = dict.fromkeys(KIND_NAMES.values(), 0)
    lines = 0
    cli = 0
    last: int | None = None
    for state, kind, files, n, newest in conn.execute(stmt):
        states[state] = states.get(state, 0) + int(files)
        name = KIND_NAMES.get(kind, kind)
        kinds[name] = kinds.get(name, 0) + int(files)
        if kind != "sessions_index" and state not in ("gone", "replaced"):
            cli += int(files)
        lines += int(n or 0)
        if newest is not None and (last is None or int(newest) > last):
            last = int(newest)
    return {
        "states": states,
        "kinds": kinds,
        "files": sum(states.values()),
        "cli_files": cli,
        "lines": lines,
        "last_seen_ms": last,
    }


def skipped_reasons(
    conn: Connection, f: Filters, examples: int = SKIP_EXAMPLES, limit: int = GROUP_LIMIT
) -> list[dict[str, Any]]:
    """Skipped files by reason, most files first: ``{reason, files, examples}`` with up to
    ``examples`` paths (the most recently seen first). One read of ``sources`` with window
    functions (no index on ``state``)."""
    reason = func.coalesce(src.c.skip_reason, "").label("reason")
    inner = (
        select(
            reason,
            src.c.path,
            func.row_number()
            .over(partition_by=reason, order_by=(src.c.last_seen_ms.desc(), src.c.id.desc()))
            .label("rn"),
            func.count().over(partition_by=reason).label("files"),
        )
        .where(src.c.state == "skipped", *agent_cond(f))
        .subquery()
    )
    stmt = (
        select(inner.c.reason, inner.c.files, inner.c.path)
        .where(inner.c.rn <= examples)
        .order_by(inner.c.files.desc(), inner.c.reason, inner.c.rn)
    )
    out: dict[str, dict[str, Any]] = {}
    for r in conn.execute(stmt):
        row = out.get(r.reason)
        if row is None:
            if len(out) >= limit:
                continue
            row = out[r.reason] = {"reason": r.reason, "files": int(r.files), "examples": []}
        row["examples"].append(r.path)
    return list(out.values())


# --- errors ---------------------------------------------------------------------------------


def errors_extent(conn: Connection) -> tuple[int, int] | None:
    """(first, last + 1 ms) of every recorded error, whatever the filters, else None: two
    probes of ``ix_ingest_errors_created``."""
    lo, hi = conn.execute(min_max(ie.c.created_ms)).one()
    if lo is None:
        return None
    return int(lo), int(hi) + 1


def has_errors(conn: Connection, f: Filters) -> bool:
    """Any error recorded in the range, whatever the other filters (one index probe)."""
    stmt = select(ie.c.id).where(*time_conds(ie.c.created_ms, f)).limit(1)
    return conn.execute(stmt).first() is not None


def window_start(conn: Connection, f: Filters, size: int | None = None) -> int | None:
    """When the range holds more than ``size`` (default :data:`WINDOW`) errors, whatever the
    other filters: the time of the ``size``-th most recent, from which on the page's tables
    read; else None. An index-only walk of ``ix_ingest_errors_created`` (``size`` entries)."""
    size = WINDOW if size is None else size
    stmt = (
        select(ie.c.created_ms)
        .where(*time_conds(ie.c.created_ms, f))
        .order_by(ie.c.created_ms.desc())
        .offset(size - 1)
        .limit(2)
    )
    rows = conn.execute(stmt).scalars().all()
    return int(rows[0]) if len(rows) == 2 else None


def error_counts(conn: Connection, f: Filters, q: ErrorQuery | None = None) -> dict[str, int]:
    """``{"error": n, "warning": m}`` recorded in the range (and matching ``q``): a range
    scan of ``ix_ingest_errors_created``."""
    stmt = (
        select(ie.c.severity, func.count().label("n"))
        .where(*conditions(f, q, conn.dialect.name))
        .group_by(ie.c.severity)
    )
    out = dict.fromkeys(SEVERITIES, 0)
    for severity, n in conn.execute(stmt):
        out[severity] = out.get(severity, 0) + int(n)
    return out


def problems(
    conn: Connection, f: Filters, q: ErrorQuery | None = None, limit: int = GROUP_LIMIT
) -> list[dict[str, Any]]:
    """Matching errors by problem and severity, most lines first: ``{problem, severity,
    lines, files, last_ms, example}`` (``example``: one reason as stored). A range scan of
    ``ix_ingest_errors_created``, grouped in SQL."""
    problem = problem_expr().label("problem")
    lines = func.count().label("lines")
    stmt = (
        select(
            problem,
            ie.c.severity,
            lines,
            func.count(func.distinct(ie.c.source_id)).label("files"),
            func.max(ie.c.created_ms).label("last_ms"),
            func.max(ie.c.reason).label("example"),
        )
        .where(*conditions(f, q, conn.dialect.name))
        .group_by(problem, ie.c.severity)
        .order_by(lines.desc(), ie.c.severity, problem)
        .limit(limit)
    )
    return [
        {**r, "lines": int(r["lines"]), "files": int(r["files"]), "last_ms": int(r["last_ms"])}
        for r in mappings(conn, stmt)
    ]


def recent_errors(
    conn: Connection, f: Filters, q: ErrorQuery | None = None, limit: int = RECENT_LIMIT
) -> list[dict[str, Any]]:
    """The ``limit`` most recent matching errors, newest first: ``{id, created_ms, severity,
    source_id, path, line_offset, reason, excerpt}``. Walks ``ix_ingest_errors_created``
    backwards and stops after ``limit`` matches."""
    stmt = (
        select(
            ie.c.id,
            ie.c.created_ms,
            ie.c.severity,
            ie.c.source_id,
            ie.c.path,
            ie.c.line_offset,
            ie.c.reason,
            ie.c.excerpt,
        )
        .where(*conditions(f, q, conn.dialect.name))
        .order_by(ie.c.created_ms.desc(), ie.c.id.desc())
        .limit(limit)
    )
    return mappings(conn, stmt)


def error_files(
    conn: Connection, f: Filters, q: ErrorQuery | None = None, limit: int = TOP_FILES
) -> list[dict[str, Any]]:
    """The files with the most matching errors (then warnings): ``{source_id, path, kind,
    state, errors, warnings, lines}`` (``lines``: read in all passes). The errors are a range
    scan of ``ix_ingest_errors_created`` grouped by file; the files are looked up by
    primary key."""
    n_err = func.sum(case((ie.c.severity == "error", 1), else_=0)).label("errors")
    n_warn = func.sum(case((ie.c.severity == "warning", 1), else_=0)).label("warnings")
    # Grouped by an expression, not the column: SQLite would otherwise walk the whole unique
    # index led by source_id (to group without sorting) instead of the range's part of
    # ix_ingest_errors_created.
    source_id = (ie.c.source_id + 0).label("source_id")
    per_file = (
        select(source_id, n_err, n_warn)
        .where(*conditions(f, q, conn.dialect.name))
        .group_by(source_id)
        .order_by(n_err.desc(), n_warn.desc(), source_id)
        .limit(limit)
        .subquery()
    )
    stmt = (
        select(
            per_file.c.source_id,
            src.c.path,
            src.c.kind,
            src.c.state,
            per_file.c.errors,
            per_file.c.warnings,
            src.c.lines,
        )
        .select_from(per_file.outerjoin(src, src.c.id == per_file.c.source_id))
        .order_by(per_file.c.errors.desc(), per_file.c.warnings.desc(), per_file.c.source_id)
    )
    return [
        {
            **r,
            "errors": int(r["errors"] or 0),
            "warnings": int(r["warnings"] or 0),
            "lines": int(r["lines"] or 0),
            "path": r["path"] or "",
            "kind": r["kind"] or "",
            "state": r["state"] or "",
        }
        for r in mappings(conn, stmt)
    ]


__all__ = [
    "GROUP_LIMIT",
    "KIND_NAMES",
    "PROBLEM_RULES",
    "RECENT_LIMIT",
    "SEVERITIES",
    "SKIP_EXAMPLES",
    "STATES",
    "TOP_FILES",
    "WINDOW",
    "ErrorQuery",
    "agent_cond",
    "conditions",
    "error_agent_cond",
    "error_counts",
    "error_files",
    "errors_extent",
    "file_summary",
    "has_errors",
    "problem_expr",
    "problems",
    "recent_errors",
    "skipped_reasons",
    "window_start",
]
