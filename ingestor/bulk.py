"""Bulk load: a first ingest into an empty SQLite database defers the secondary indexes of the
base tables, and this module owns that deferral and the step that ends it.

Why: a first ingest is a newcomer's first experience, often years of transcripts at once. Rows
arrive in time order, so the tables and their time-led primary keys grow at their ends, but
the indexes led by a session id or a model are written at random places: each batch rewrote
about one page per session in each of them, more than half of what a cold ingest wrote to the
WAL. Building them once at the end (a sorted build in SQLite) costs well under a second per
million rows. This is the classic bulk-load order: data first, then indexes (``pg_restore``
does the same).

While the indexes are absent, nothing the writer does may need them. The store, in bulk mode:

* still checks every row against the primary key (exactly once), moves fork copies to their
  earlier owner and keeps the per-session hourly rollups exact (their recomputation reads an
  hour's rows through the time-led primary key);
* leaves to :func:`finish` what would look rows up by session: pairing a tool call with a
  result read in another batch, a session's first and last row after a row moved away from it,
  and the session-less rollups after a session's kind changed.

:func:`finish` creates the indexes, pairs every stored call still ``missing`` with its
session's first matching result, recomputes every session's span and the rollup cells the
pairing changed, and the session-less rollups of sessions whose kind changed. Until its last
transaction commits an index is missing; a crash before that is seen by the next pass
(:func:`pending`), which finishes first. The dashboard reads a bulk load while it runs; per-session
lookups are slow until it ends (the rollups behind the charts stay current).

PostgreSQL never uses bulk mode: many hosts may feed one database, and another host's writer
needs the indexes at every moment. A migration run on a database whose bulk load was cut short
may find an index missing: run ``ingest`` first, which ends the load.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from sqlalchemy import Connection, Engine, Index, text

from ingestor import rollups
from ingestor.db import checkpoint
from ingestor.schema import metadata

#: The deferred indexes: every secondary index of the three base tables. The last one is
#: built in the transaction that ends the load, so it must be one that ending it never needs.
DEFERRED = (
    "ix_messages_session_ts",
    "ix_usage_session_ts",
    "ix_tool_calls_session",
    "ix_usage_model_ts",
    "ix_tool_calls_tool_ts",
)


def _indexes() -> list[Index]:
    found = {
        str(ix.name): ix
        for t in ("messages", "usage", "tool_calls")
        for ix in metadata.tables[t].indexes
    }
    return [found[name] for name in DEFERRED]


def _present(conn: Connection) -> set[str]:
    return {
        str(n)
        for (n,) in conn.execute(
            text(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN "
                "('messages', 'usage', 'tool_calls')"
            )
        )
    }


def pending(conn: Connection) -> bool:
    """True when a bulk load was started and not finished (a deferred index is missing)."""
    return conn.dialect.name == "sqlite" and not set(DEFERRED) <= _present(conn)


def is_empty(conn: Connection) -> bool:
    """True when no message is stored yet (the only state a bulk load may start from)."""
    return conn.execute(text("SELECT 1 FROM messages LIMIT 1")).first() is None


def start(conn: Connection) -> None:
    """Drop the deferred indexes (inside the caller's transaction)."""
    for name in DEFERRED:
        conn.execute(text(f"DROP INDEX IF EXISTS {name}"))


class Finisher(Protocol):
    """What :func:`finish` needs from the writer (:class:`ingestor.store.Store`)."""

    def pair_missing(self, conn: Connection) -> set[tuple[str, int]]:
        """Pair every stored call still ``missing``; the rollup cells that changed."""

    def recompute_spans(self, conn: Connection) -> None:
        """Every session's first and last row."""

    def apply_kind_changes(self, conn: Connection) -> None:
        """Recompute the session-less rollups of the sessions whose kind changed."""


@contextmanager
def _sorting_on_disk(conn: Connection) -> Iterator[None]:
    """Sort (index builds, the rollups' GROUP BY) through temporary files with a small page
    cache: the writer keeps temporary storage in memory, and sorting a million rows there
    would take the ingestor past its memory budget."""
    (temp_store,) = conn.execute(text("PRAGMA temp_store")).one()
    (cache_size,) = conn.execute(text("PRAGMA cache_size")).one()
    conn.execute(text("PRAGMA temp_store = FILE"))
    conn.execute(text("PRAGMA cache_size = -2048"))
    try:
        yield
    finally:
        conn.execute(text(f"PRAGMA temp_store = {int(temp_store)}"))
        conn.execute(text(f"PRAGMA cache_size = {int(cache_size)}"))


def finish(engine: Engine, store: Finisher, *, resumed: bool = False) -> None:
    """End a bulk load (idempotent). ``resumed``: the load was cut short, so which sessions
    changed kind is unknown and the session-less rollups are rebuilt whole.

    Each index but the last is built in its own transaction, followed by a truncating
    checkpoint, so the WAL never holds more than one index (the largest,
    ``ix_messages_session_ts``, is about 3% of the transcripts' size). The last index, the
    pairing, the spans and the kinds commit together: until then :func:`pending` is true."""
    with engine.connect() as conn:
        present = _present(conn)
    missing = [ix for ix in _indexes() if ix.name not in present]
    for ix in missing[:-1]:
        with engine.begin() as conn, _sorting_on_disk(conn):
            ix.create(conn)
        checkpoint(engine, truncate=True)
    with engine.begin() as conn, _sorting_on_disk(conn):
        if missing:
            missing[-1].create(conn)
        rollups.recompute(conn, store.pair_missing(conn))
        store.recompute_spans(conn)
        if resumed:
            rollups.rebuild_global(conn)
        else:
            store.apply_kind_changes(conn)
    checkpoint(engine, truncate=True)
