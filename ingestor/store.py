"""The one writer: commits a :class:`~ingestor.batch.Batch` in one transaction.

Rows and the read positions they advance to commit together, so a crash at any moment loses
nothing and doubles nothing. Inserts on natural keys ignore duplicates; a row seen again in a
session with an earlier header moves to it (accounting.md §3). Tool calls are paired with
results from earlier batches, and the hourly rollups are kept exact in the same transaction:
the batch's rows already stored are looked up first, so new rows grow the rollups by their
aggregates and only the stored ones (fork copies, archives, re-reads) can move, take a pairing
or have their (session, hour) cells recomputed. Bulk statements go through the driver's
``executemany`` (SQLAlchemy's ORM unit of work is far too slow for this volume).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine

from ingestor import rollups
from ingestor.batch import Batch, owner_rank
from ingestor.db import checkpoint
from ingestor.normalize import CallRow, MessageRow, ToolCallRow, apply_result
from ingestor.pricing import Pricer, decide_cost

MSG_COLS = (
    "entry_id ts_ms session_id session_created_ms host_id agent_id entry_type role "
    "parent_entry_id synthetic provider model stop_reason message_ts_ms tool_call_id tool_name "
    "tool_is_error tool_synthetic tool_duration_ms text_preview source_id source_offset"
).split()
USAGE_COLS = (
    "entry_id ts_ms session_id session_created_ms host_id agent_id provider model api "
    "stop_reason failed error_message input_tokens output_tokens cache_read_tokens "
    "cache_write_tokens total_tokens raw_input raw_output raw_cache_read raw_cache_write "
    "raw_total_tokens logged_cost priced_cost cost cost_source price_model price_fuzzy "
    "cache_savings zero_cost_with_price cost_mismatch latency_ms warning"
).split()
TOOL_COLS = (
    "entry_id ts_ms block_index tool_call_id session_id session_created_ms host_id agent_id "
    "tool_name command_family args_preview status synthetic result_entry_id result_ts_ms "
    "duration_ms error_preview"
).split()

SOURCE_COLS = (
    "host_id kind path agent_id device inode read_offset state archive_reason session_id lines "
    "errors first_seen_ms last_seen_ms"
).split()

GATEWAY_COLS = (
    "source_id host_id line_offset time_ms level level_id subsystem message agent_id "
    "session_id run_id hostname line_hash"
).split()


#: Rows per INSERT statement for the bulk inserts on SQLite (33 columns * 32 rows = 1,056
#: variables, far under SQLite's limit of 32,766).
MULTI_ROWS = 32

#: A session's first and last row, from its messages (for the sessions a WHERE picks).
_SPANS = (
    "UPDATE sessions SET started_ms = (SELECT MIN(ts_ms) FROM messages m WHERE "
    "m.session_id = sessions.session_id), ended_ms = (SELECT MAX(ts_ms) FROM messages m "
    "WHERE m.session_id = sessions.session_id)"
)

#: Key of the PostgreSQL advisory lock that serializes commits from many ingestors.
PG_WRITER_LOCK = 0x41474254  # "AGBT"

#: WAL size past which the writer forces a checkpoint (the file then starts again at zero).
WAL_LIMIT = 16 * 1024 * 1024
#: How long that checkpoint waits for readers to leave the log before the writer goes on (and
#: tries again after its next commit): a reader in a long transaction must not hold every
#: commit back by the whole busy timeout (appends would be seconds late)...
WAL_WAIT_MS = 100
#: ...until the log reaches this size: then the checkpoint waits as long as it takes.
WAL_HARD_LIMIT = 4 * WAL_LIMIT


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class CommitStats:
    messages: int = 0
    new_messages: int = 0
    calls: int = 0
    tool_calls: int = 0
    errors: int = 0
    moved: int = 0


class Store:
    """Writes batches; knows SQL, not files."""

    def __init__(self, engine: Engine, host_id: str, pricer: Pricer) -> None:
        self.engine = engine
        self.host_id = host_id
        self.pricer = pricer
        self.sqlite = engine.dialect.name == "sqlite"
        self.ph = "?" if self.sqlite else "%s"
        db = engine.url.database if self.sqlite else None
        self.wal_path = Path(db + "-wal") if db and db != ":memory:" else None
        #: A bulk load is running (ingestor/bulk.py): the lookups by session wait for its end,
        #: and so do the sessions whose kind changed (their rows are found by session).
        self.bulk = False
        self.kind_changed: set[str] = set()

    # -- SQL helpers ------------------------------------------------------------------------

    def _ins(self, table: str, cols: Sequence[str], conflict: str | None) -> str:
        sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join([self.ph] * len(cols))})"
        if conflict:
            sql += f" ON CONFLICT ({conflict}) DO NOTHING"
        return sql

    def _q(self, sql: str) -> str:
        """Write SQL with ``?`` placeholders; this turns them into the driver's."""
        return sql if self.sqlite else sql.replace("?", "%s")

    @staticmethod
    def _many(conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        if not rows:
            return 0
        cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cur.executemany(sql, rows)
            return int(cur.rowcount)
        finally:
            cur.close()

    def _insert(
        self,
        conn: Connection,
        table: str,
        cols: Sequence[str],
        conflict: str,
        rows: Sequence[Sequence[Any]],
    ) -> int:
        """Insert rows, ignoring duplicates on ``conflict``; the number inserted. On SQLite,
        statements of ``MULTI_ROWS`` rows: measured 12% less than a statement per row on a bare
        insert (fewer statement steps and resets), 3% of a cold ingest; ``rowcount`` still
        counts the rows inserted."""
        one = self._ins(table, cols, conflict)
        if not self.sqlite or len(rows) < 2 * MULTI_ROWS:
            return self._many(conn, one, rows)
        marks = "(" + ", ".join(["?"] * len(cols)) + ")"
        multi = one.replace("VALUES " + marks, "VALUES " + ", ".join([marks] * MULTI_ROWS), 1)
        full = len(rows) - len(rows) % MULTI_ROWS
        flat = [
            [v for row in rows[i : i + MULTI_ROWS] for v in row] for i in range(0, full, MULTI_ROWS)
        ]
        return self._many(conn, multi, flat) + self._many(conn, one, rows[full:])

    @staticmethod
    def _fetch(conn: Connection, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cur.execute(sql, params)
            return list(cur.fetchall())
        finally:
            cur.close()

    @staticmethod
    def _exec(conn: Connection, sql: str, params: Sequence[Any] = ()) -> int:
        cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cur.execute(sql, params)
            return int(cur.rowcount)
        finally:
            cur.close()

    def insert_source(self, conn: Connection, values: dict[str, Any]) -> int:
        """Register a file (``SOURCE_COLS`` from ``values``); its new id."""
        return self.insert_sources(conn, [values])[0]

    def insert_sources(self, conn: Connection, rows: Iterable[dict[str, Any]]) -> list[int]:
        """Register files (``SOURCE_COLS`` from each row); their new ids, in order. Through
        the driver, on one cursor: a first pass registers 25,000 files."""
        cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        sql = self._ins("sources", SOURCE_COLS, None)
        ids: list[int] = []
        try:
            for values in rows:
                params = tuple(values[c] for c in SOURCE_COLS)
                if self.sqlite:
                    cur.execute(sql, params)
                    ids.append(int(cur.lastrowid))
                else:
                    cur.execute(sql + " RETURNING id", params)
                    ids.append(int(cur.fetchone()[0]))
        finally:
            cur.close()
        return ids

    # -- commit -----------------------------------------------------------------------------

    def commit(self, batch: Batch) -> CommitStats:
        stats = CommitStats()
        with self.engine.begin() as conn:
            self._commit(conn, batch, stats)
        self._bound_wal()
        return stats

    def _bound_wal(self) -> None:
        """Keep the SQLite WAL bounded while readers poll: the automatic (passive) checkpoint
        cannot reset the log while a reader is on it, so past ``WAL_LIMIT`` bytes a TRUNCATE
        checkpoint waits up to ``WAL_WAIT_MS`` for the readers' short transactions to end,
        then empties the log; a reader still there is waited for at the next commit, or, past
        ``WAL_HARD_LIMIT``, as long as the busy timeout allows."""
        if self.wal_path is None:
            return
        try:
            size = self.wal_path.stat().st_size
        except OSError:
            return
        if size >= WAL_LIMIT:
            wait = None if size >= WAL_HARD_LIMIT else WAL_WAIT_MS
            checkpoint(self.engine, truncate=True, wait_ms=wait)

    def _commit(self, conn: Connection, b: Batch, st: CommitStats) -> None:
        if not self.sqlite:
            # Many hosts may feed one PostgreSQL database: their commits take turns, so the
            # rollup recomputations (delete + insert of a cell) never race. SQLite already
            # serializes writers with BEGIN IMMEDIATE.
            self._exec(conn, "SELECT pg_advisory_xact_lock(%s)", (PG_WRITER_LOCK,))
        now = now_ms()
        # Only sessions.json entries and a late cron prompt can change a session's kind.
        touched = {sid for sid, f in b.sessions.items() if f.cron_job_id}
        touched |= {e.session_id for e in b.index}
        before = self._kinds(conn, touched)
        self._sessions(conn, b, now)
        self._index(conn, b, now)
        after = self._kinds(conn, set(before))
        changed = [sid for sid, k in before.items() if after.get(sid) != k]
        if self.bulk:
            self.kind_changed.update(changed)
        else:
            self._kind_changes(changed, conn)
        h = self.host_id

        # Which rows of the batch are stored already (fork copies, archives, re-reads)? Under
        # the writer lock this is exact: the rest are new for certain and grow the rollups by
        # their own aggregates; only the stored ones can move, pair or need a recomputation.
        stored = self._stored(conn, b)
        new_keys = [k for k in b.messages if k not in stored]
        msg_rows = [self._msg_row(b, k) for k in new_keys]
        new = self._insert(conn, "messages", MSG_COLS, "entry_id, ts_ms", msg_rows)
        st.messages, st.new_messages = len(b.messages), new
        exact = new == len(msg_rows)

        moved = self._moves(b, stored)
        st.moved = len(moved)

        # Tool calls still missing a result: look for results of earlier batches (a bulk load
        # pairs them all at its end).
        if not self.bulk:
            for tc in b.pending.values():
                if tc.status == "missing" and tc.tool_call_id:
                    self._find_result(conn, tc)

        ins_usage = self._ins("usage", USAGE_COLS, "entry_id, ts_ms")
        ins_tools = self._ins("tool_calls", TOOL_COLS, "entry_id, ts_ms, block_index")
        usage_rows = [self._usage_row(c) for k, c in b.calls.items() if k not in stored]
        new_tools = [t for t in b.tool_calls.values() if (t.entry_id, t.ts_ms) not in stored]
        old_tools = [t for t in b.tool_calls.values() if (t.entry_id, t.ts_ms) in stored]
        st.calls = self._insert(conn, "usage", USAGE_COLS, "entry_id, ts_ms", usage_rows)
        exact = exact and st.calls == len(usage_rows)
        n_tools = self._insert(
            conn,
            "tool_calls",
            TOOL_COLS,
            "entry_id, ts_ms, block_index",
            [self._tool_row(t) for t in new_tools],
        )
        exact = exact and n_tools == len(new_tools)
        st.tool_calls = len(b.tool_calls)
        # A stored message normally brings its call and tool rows; if one is missing (a line
        # that changed between copies), it is inserted and the batch is recomputed in full.
        old_calls = [self._usage_row(c) for k, c in b.calls.items() if k in stored]
        late = self._many(conn, ins_usage, old_calls)
        late += self._many(conn, ins_tools, [self._tool_row(t) for t in old_tools])
        st.calls += late
        exact = exact and late == 0

        cells: set[tuple[str, int]] = set()
        for old_sid, ts, new_sid, created, agent, eid in moved:
            for sql in (
                "UPDATE messages SET session_id=?, session_created_ms=?, agent_id=? "
                "WHERE entry_id=? AND ts_ms=?",
                "UPDATE usage SET session_id=?, session_created_ms=?, agent_id=? "
                "WHERE entry_id=? AND ts_ms=?",
                "UPDATE tool_calls SET session_id=?, session_created_ms=?, agent_id=? "
                "WHERE entry_id=? AND ts_ms=?",
            ):
                self._exec(conn, self._q(sql), (new_sid, created, agent, eid, ts))
            cells.add((old_sid, rollups.hour_of(ts)))
            cells.add((new_sid, rollups.hour_of(ts)))

        # Stored calls still 'missing' whose copy in this batch brought the result (a re-read
        # archive or a fork copy): the stored row takes the pairing.
        for tc in old_tools:
            if tc.status != "missing":
                cells.update(self._store_pairing(conn, tc))
        # Results of this batch whose calls were committed earlier (a bulk load: at its end).
        if not self.bulk:
            for (sid, tcid), res in b.orphan_results.items():
                cells.update(self._attach_result(conn, sid, tcid, res))

        if exact:
            new_msgs = [b.messages[k] for k in new_keys]
            self._add_rollups(conn, usage_rows, new_msgs, new_tools)
            self._extend_sessions(conn, new_msgs)
            moved_sids = {m[0] for m in moved} | {m[2] for m in moved}
        else:
            for m in b.messages.values():
                cells.add((m.session_id, rollups.hour_of(m.ts_ms)))
            moved_sids = {s for s, _ in cells}
        if cells:
            rollups.recompute(conn, cells)
        if moved_sids and not self.bulk:
            self._recompute_sessions(conn, moved_sids)

        self._many(
            conn,
            self._ins(
                "ingest_errors",
                [
                    "source_id",
                    "host_id",
                    "path",
                    "line_offset",
                    "severity",
                    "reason",
                    "excerpt",
                    "created_ms",
                ],
                "source_id, line_offset, reason",
            ),
            [
                (e.source_id, h, e.path, e.offset, e.severity, e.reason, e.excerpt, now)
                for e in b.errors
            ],
        )
        st.errors = sum(1 for e in b.errors if e.severity == "error")
        # -- gateway logs and SQLite store cursors (pipeline_extra) --
        self._many(
            conn,
            self._ins("gateway_events", GATEWAY_COLS, "host_id, time_ms, line_hash"),
            [
                (
                    src,
                    h,
                    off,
                    g.time_ms,
                    g.level,
                    g.level_id,
                    g.subsystem,
                    g.message,
                    g.agent_id,
                    g.session_id,
                    g.run_id,
                    g.hostname,
                    g.line_hash,
                )
                for src, off, g in b.gateway_events
            ],
        )
        self._many(
            conn,
            self._q(
                "INSERT INTO source_cursors (source_id, stream, position, position_ref, host_id) "
                "VALUES (?,?,?,?,?) ON CONFLICT (source_id, stream) DO UPDATE SET "
                # a session read again from its start moves its cursor back (pipeline_extra)
                "position = excluded.position, position_ref = excluded.position_ref"
            ),
            [(src, stream, pos, ref, h) for (src, stream), (pos, ref) in sorted(b.cursors.items())],
        )
        # One statement per set of columns (a pass registers thousands of files alike).
        by_cols: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        for upd in b.sources.values():
            by_cols.setdefault(tuple(upd.values), []).append(
                (*upd.values.values(), upd.lines, upd.errors, now, upd.source_id)
            )
        for cols, params in by_cols.items():
            sets = "".join(f"{k} = ?, " for k in cols)
            sql = (
                f"UPDATE sources SET {sets}lines = lines + ?, errors = errors + ?, "
                "last_seen_ms = ? WHERE id = ?"
            )
            self._many(conn, self._q(sql), params)

    # -- pieces -----------------------------------------------------------------------------

    def _msg_row(self, b: Batch, key: tuple[str, int]) -> tuple[Any, ...]:
        m = b.messages[key]
        src, off = b.origin(key)
        return (
            m.entry_id,
            m.ts_ms,
            m.session_id,
            m.session_created_ms,
            self.host_id,
            m.agent_id,
            m.entry_type,
            m.role,
            m.parent_entry_id,
            m.synthetic,
            m.provider,
            m.model,
            m.stop_reason,
            m.message_ts_ms,
            m.tool_call_id,
            m.tool_name,
            m.tool_is_error,
            m.tool_synthetic,
            m.tool_duration_ms,
            m.text_preview,
            src,
            off,
        )

    def _usage_row(self, c: CallRow) -> tuple[Any, ...]:
        quote = self.pricer.quote(
            c.provider,
            c.model,
            c.ts_ms,
            c.input_tokens,
            c.output_tokens,
            c.cache_read_tokens,
            c.cache_write_tokens,
        )
        d = decide_cost(c.logged_cost, quote)
        return (
            c.entry_id,
            c.ts_ms,
            c.session_id,
            c.session_created_ms,
            self.host_id,
            c.agent_id,
            c.provider,
            c.model,
            c.api,
            c.stop_reason,
            c.failed,
            c.error_message,
            c.input_tokens,
            c.output_tokens,
            c.cache_read_tokens,
            c.cache_write_tokens,
            c.total_tokens,
            c.raw_input,
            c.raw_output,
            c.raw_cache_read,
            c.raw_cache_write,
            c.raw_total_tokens,
            c.logged_cost,
            d.priced_cost,
            d.cost,
            d.cost_source,
            d.price_model,
            d.price_fuzzy,
            d.cache_savings,
            d.zero_cost_with_price,
            d.cost_mismatch,
            c.latency_ms,
            c.warning,
        )

    def _tool_row(self, t: ToolCallRow) -> tuple[Any, ...]:
        return (
            t.entry_id,
            t.ts_ms,
            t.block_index,
            t.tool_call_id,
            t.session_id,
            t.session_created_ms,
            self.host_id,
            t.agent_id,
            t.tool_name,
            t.command_family,
            t.args_preview,
            t.status,
            t.synthetic,
            t.result_entry_id,
            t.result_ts_ms,
            t.duration_ms,
            t.error_preview,
        )

    def _sessions(self, conn: Connection, b: Batch, now: int) -> None:
        # Only facts with a parent or a cron job can fill the key columns (the others would
        # leave them as they are), so only their statement names them: SQLite rewrites the
        # index entries of every indexed column an UPDATE names, changed or not (a tenth of a
        # cold ingest's WAL pages went to ix_sessions_key and ix_sessions_parent).
        plain: list[tuple[Any, ...]] = []
        keyed: list[tuple[Any, ...]] = []
        for f in b.sessions.values():
            key = kind = label = None
            if f.cron_job_id:
                key, kind, label = f"agent:{f.agent_id}:cron:{f.cron_job_id}", "cron", f.cron_name
            has_keys = f.parent_session_id is not None or f.cron_job_id is not None
            (keyed if has_keys else plain).append(
                (
                    f.session_id,
                    self.host_id,
                    f.agent_id,
                    kind or "unknown",
                    f.created_ms,
                    f.cwd,
                    f.parent_session_id,
                    f.path,
                    f.title,
                    key,
                    label,
                    f.cron_job_id,
                    now,
                )
            )
        if not plain and not keyed:
            return
        sets = [
            "created_ms = CASE WHEN sessions.created_ms IS NULL OR (excluded.created_ms IS NOT "
            "NULL AND excluded.created_ms < sessions.created_ms) THEN excluded.created_ms "
            "ELSE sessions.created_ms END",
            "cwd = COALESCE(sessions.cwd, excluded.cwd)",
            "path = COALESCE(excluded.path, sessions.path)",
            "title = COALESCE(excluded.title, sessions.title)",
            "updated_ms = excluded.updated_ms",
        ]
        key_sets = [
            "parent_session_id = COALESCE(sessions.parent_session_id, excluded.parent_session_id)",
            "key = COALESCE(sessions.key, excluded.key)",
            "kind = CASE WHEN sessions.kind = 'unknown' THEN excluded.kind ELSE sessions.kind END",
            "label = COALESCE(sessions.label, excluded.label)",
            "cron_job_id = COALESCE(sessions.cron_job_id, excluded.cron_job_id)",
        ]
        insert = (
            "INSERT INTO sessions (session_id, host_id, agent_id, kind, created_ms, cwd, "
            "parent_session_id, path, title, key, label, cron_job_id, updated_ms) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (session_id) DO UPDATE SET "
        )
        self._many(conn, self._q(insert + ", ".join(sets)), plain)
        self._many(conn, self._q(insert + ", ".join(sets + key_sets)), keyed)

    def _index(self, conn: Connection, b: Batch, now: int) -> None:
        if not b.index:
            return
        # A key's current session comes first (sessions.json names one per key; a store lists
        # session_nodes before session_windows' older sessions of the same key).
        by_key: dict[str, str] = {}
        for e in b.index:
            by_key.setdefault(e.key, e.session_id)
        rows = []
        for e in b.index:
            parent_sid = None
            if e.parent_key:
                parent_sid = by_key.get(e.parent_key)
                if parent_sid is None:
                    found = self._fetch(
                        conn,
                        self._q(
                            "SELECT session_id FROM sessions WHERE key = ? "
                            "ORDER BY updated_ms DESC LIMIT 1"
                        ),
                        (e.parent_key,),
                    )
                    parent_sid = found[0][0] if found else None
            agent = e.agent_id or b.index_agent.get(e.session_id) or "main"
            rows.append(
                (
                    e.session_id,
                    self.host_id,
                    agent,
                    e.key,
                    e.kind,
                    e.label,
                    e.channel,
                    e.parent_key,
                    parent_sid,
                    e.cron_job_id,
                    now,
                )
            )
        sql = self._q(
            "INSERT INTO sessions (session_id, host_id, agent_id, key, kind, label, channel, "
            "parent_key, parent_session_id, cron_job_id, updated_ms) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (session_id) DO UPDATE SET "
            "key = excluded.key, kind = excluded.kind, "
            "label = COALESCE(excluded.label, sessions.label), "
            "channel = COALESCE(excluded.channel, sessions.channel), "
            "parent_key = COALESCE(excluded.parent_key, sessions.parent_key), "
            # A parent found for the same spawnedBy key stays: after a /reset that key names
            # another session, which did not exist when this one was spawned.
            "parent_session_id = CASE WHEN sessions.parent_session_id IS NOT NULL "
            "AND sessions.parent_key = excluded.parent_key THEN sessions.parent_session_id "
            "ELSE COALESCE(excluded.parent_session_id, sessions.parent_session_id) END, "
            "cron_job_id = COALESCE(excluded.cron_job_id, sessions.cron_job_id), "
            "updated_ms = excluded.updated_ms"
        )
        self._many(conn, sql, rows)

    def _stored(self, conn: Connection, b: Batch) -> dict[tuple[str, int], tuple[str, int | None]]:
        """Batch rows already in ``messages``: identity -> (stored session, its created_ms).
        Each identity is looked up on the key (ts_ms, entry_id) through a join with a list of
        the batch's keys, so rows that merely share a timestamp are never read."""
        keys = sorted((ts, eid) for eid, ts in b.messages)
        out: dict[tuple[str, int], tuple[str, int | None]] = {}
        for i in range(0, len(keys), 400):  # 800 variables: under SQLite's old limit of 999
            chunk = keys[i : i + 400]
            values = ",".join([f"({self.ph},{self.ph})"] * len(chunk))
            for eid, ts, sid, created in self._fetch(
                conn,
                "SELECT m.entry_id, m.ts_ms, m.session_id, m.session_created_ms "
                f"FROM (VALUES {values}) AS k JOIN messages m "
                "ON m.ts_ms = k.column1 AND m.entry_id = k.column2",
                [v for pair in chunk for v in pair],
            ):
                out[(eid, ts)] = (sid, created)
        return out

    @staticmethod
    def _moves(
        b: Batch, stored: dict[tuple[str, int], tuple[str, int | None]]
    ) -> list[tuple[str, int, str, int | None, str, str]]:
        """Stored rows whose batch copy belongs to an earlier-created session: they move to it
        (accounting.md §3). Returns (old_sid, ts, new_sid, created, agent, eid); otherwise the
        stored owner wins and the batch's copy is ignored."""
        out = []
        for (eid, ts), (sid, created) in stored.items():
            m = b.messages[(eid, ts)]
            if m.session_id != sid and owner_rank(m.session_created_ms, m.session_id) < owner_rank(
                created, sid
            ):
                out.append((sid, ts, m.session_id, m.session_created_ms, m.agent_id, eid))
        return out

    def _find_result(self, conn: Connection, tc: ToolCallRow) -> None:
        rows = self._fetch(
            conn,
            self._q(
                "SELECT entry_id, ts_ms, tool_is_error, tool_synthetic, tool_duration_ms, "
                "message_ts_ms, text_preview FROM messages WHERE session_id = ? AND "
                "tool_call_id = ? AND role = 'toolResult' ORDER BY ts_ms LIMIT 1"
            ),
            (tc.session_id, tc.tool_call_id),
        )
        if rows:
            eid, ts, err, syn, dur, mts, prev = rows[0]
            apply_result(
                tc,
                eid,
                ts,
                bool(err) if err is not None else None,
                bool(syn) if syn is not None else None,
                dur,
                mts,
                prev,
            )

    def _store_pairing(self, conn: Connection, tc: ToolCallRow) -> list[tuple[str, int]]:
        """Write a pairing onto the stored call if it is still 'missing'; the rollup cells it
        changed."""
        rows = self._fetch(
            conn,
            self._q(
                "UPDATE tool_calls SET status=?, synthetic=?, result_entry_id=?, "
                "result_ts_ms=?, duration_ms=?, error_preview=? WHERE entry_id=? AND ts_ms=? "
                "AND block_index=? AND status='missing' RETURNING session_id, ts_ms"
            ),
            (
                tc.status,
                tc.synthetic,
                tc.result_entry_id,
                tc.result_ts_ms,
                tc.duration_ms,
                tc.error_preview,
                tc.entry_id,
                tc.ts_ms,
                tc.block_index,
            ),
        )
        return [(sid, rollups.hour_of(ts)) for sid, ts in rows]

    def _attach_result(
        self, conn: Connection, sid: str, tcid: str, res: MessageRow
    ) -> Iterable[tuple[str, int]]:
        """A result of this batch whose call was committed earlier: pair the stored call."""
        rows = self._fetch(
            conn,
            self._q(
                "SELECT entry_id, ts_ms, block_index FROM tool_calls WHERE session_id = ? AND "
                "tool_call_id = ? AND status = 'missing'"
            ),
            (sid, tcid),
        )
        cells: list[tuple[str, int]] = []
        for eid, ts, idx in rows:
            tc = ToolCallRow(eid, ts, idx, tcid, sid, None, "", "", None, None)
            Batch.pair(tc, res)
            cells.extend(self._store_pairing(conn, tc))
        return cells

    def _add_rollups(
        self,
        conn: Connection,
        usage_rows: list[tuple[Any, ...]],
        messages: list[MessageRow],
        tool_calls: list[ToolCallRow],
    ) -> None:
        """Rows new for certain: the rollups grow by their aggregates."""
        h = self.host_id
        u: dict[tuple[int, str, str, str], list[Any]] = {}
        for row in usage_rows:
            # positions in USAGE_COLS: ts 1, session 2, agent 5, provider 6, model 7, failed 10,
            # tokens 12-15, logged 22, priced 23, cost 24, savings 28
            k = (rollups.hour_of(row[1]), row[2], row[6], row[7])
            a = u.get(k)
            if a is None:
                a = u[k] = [row[5], 0, 0, 0, 0, 0, 0, 0.0, 0.0, 0.0, 0.0]
            a[1] += 1
            a[2] += 1 if row[10] else 0
            a[3] += row[12]
            a[4] += row[13]
            a[5] += row[14]
            a[6] += row[15]
            a[7] += row[22] or 0.0
            a[8] += row[23] or 0.0
            a[9] += row[24]
            a[10] += row[28] or 0.0
        self._add(
            conn,
            "usage_hourly",
            ("hour_ms", "session_id", "provider", "model"),
            ("agent_id", "host_id"),
            rollups.USAGE_MEASURES,
            [(k[0], k[1], k[2], k[3], a[0], h, *a[1:]) for k, a in u.items()],
        )
        s: dict[tuple[int, str], list[Any]] = {}
        for m in messages:
            if m.entry_type != "message":
                continue
            k2 = (rollups.hour_of(m.ts_ms), m.session_id)
            a2 = s.get(k2)
            if a2 is None:
                s[k2] = [m.agent_id, 1]
            else:
                a2[1] += 1
        self._add(
            conn,
            "session_hourly",
            ("hour_ms", "session_id"),
            ("agent_id", "host_id"),
            ("messages",),
            [(k[0], k[1], a[0], h, a[1]) for k, a in s.items()],
        )
        t: dict[tuple[int, str, str], list[Any]] = {}
        for tc in tool_calls:
            k3 = (rollups.hour_of(tc.ts_ms), tc.session_id, tc.tool_name)
            a3 = t.get(k3)
            if a3 is None:
                a3 = t[k3] = [tc.agent_id, 0, 0, 0]
            a3[1] += 1
            a3[2] += tc.status == "error"
            a3[3] += tc.status == "missing"
        self._add(
            conn,
            "tool_hourly",
            ("hour_ms", "session_id", "tool_name"),
            ("agent_id", "host_id"),
            rollups.TOOL_MEASURES,
            [(k[0], k[1], k[2], a[0], h, a[1], a[2], a[3]) for k, a in t.items()],
        )
        kinds = self._kinds(conn, {k[1] for k in u} | {k[1] for k in t})
        g: dict[tuple[int, str, str, str, str], list[Any]] = {}
        for k, a in u.items():
            gk = (k[0], a[0], kinds.get(k[1], "unknown"), k[2], k[3])
            ga = g.get(gk)
            if ga is None:
                g[gk] = list(a[1:])
            else:
                for i in range(len(rollups.USAGE_MEASURES)):
                    ga[i] += a[i + 1]
        self._add(
            conn,
            "model_hourly",
            ("hour_ms", "agent_id", "kind", "provider", "model"),
            (),
            rollups.USAGE_MEASURES,
            [(*k, *a) for k, a in g.items()],
        )
        tg: dict[tuple[int, str, str, str], list[int]] = {}
        for k3, a3 in t.items():
            tk = (k3[0], a3[0], kinds.get(k3[1], "unknown"), k3[2])
            ta = tg.get(tk)
            if ta is None:
                tg[tk] = [a3[1], a3[2], a3[3]]
            else:
                ta[0] += a3[1]
                ta[1] += a3[2]
                ta[2] += a3[3]
        self._add(
            conn,
            "tool_name_hourly",
            ("hour_ms", "agent_id", "kind", "tool_name"),
            (),
            rollups.TOOL_MEASURES,
            [(*k, *a) for k, a in tg.items()],
        )

    def _add(
        self,
        conn: Connection,
        table: str,
        keys: Sequence[str],
        plain: Sequence[str],
        measures: Sequence[str],
        rows: Sequence[Sequence[Any]],
    ) -> None:
        """Upsert rollup rows (``keys``, ``plain``, ``measures`` in that order): a row whose
        key exists adds its measures to the stored ones."""
        sql = self._ins(table, (*keys, *plain, *measures), None) + (
            f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET "
            + ", ".join(f"{m} = {table}.{m} + excluded.{m}" for m in measures)
        )
        self._many(conn, sql, rows)

    def _kind_changes(self, changed: list[str], conn: Connection) -> None:
        """The session-less rollups group by kind: recompute the hours of sessions whose kind
        changed (sessions.json read after their transcript, or a cron prompt seen late)."""
        hours: set[int] = set()
        for i in range(0, len(changed), 500):
            chunk = changed[i : i + 500]
            marks = ",".join([self.ph] * len(chunk))
            for table in ("usage", "tool_calls"):  # both have an index led by session_id
                hours.update(
                    rollups.hour_of(int(ts))
                    for (ts,) in self._fetch(
                        conn, f"SELECT ts_ms FROM {table} WHERE session_id IN ({marks})", chunk
                    )
                )
        rollups.recompute_hours(conn, hours)

    def _kinds(self, conn: Connection, sids: set[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        ids = sorted(sids)
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join([self.ph] * len(chunk))
            for sid, kind in self._fetch(
                conn, f"SELECT session_id, kind FROM sessions WHERE session_id IN ({marks})", chunk
            ):
                out[sid] = kind
        return out

    def _extend_sessions(self, conn: Connection, messages: list[MessageRow]) -> None:
        span: dict[str, list[int]] = {}
        for m in messages:
            sp = span.get(m.session_id)
            if sp is None:
                span[m.session_id] = [m.ts_ms, m.ts_ms]
            else:
                if m.ts_ms < sp[0]:
                    sp[0] = m.ts_ms
                if m.ts_ms > sp[1]:
                    sp[1] = m.ts_ms
        self._many(
            conn,
            self._q(
                "UPDATE sessions SET "
                "started_ms = CASE WHEN started_ms IS NULL OR started_ms > ? THEN ? "
                "ELSE started_ms END, "
                "ended_ms = CASE WHEN ended_ms IS NULL OR ended_ms < ? THEN ? ELSE ended_ms END "
                "WHERE session_id = ?"
            ),
            [(lo, lo, hi, hi, sid) for sid, (lo, hi) in span.items()],
        )

    # -- the end of a bulk load (ingestor/bulk.py) -------------------------------------------

    def pair_missing(self, conn: Connection) -> set[tuple[str, int]]:
        """Pair every stored call still ``missing`` with its session's first result (what
        :meth:`_find_result` does batch by batch); the (session, hour) cells that changed."""
        cells: set[tuple[str, int]] = set()
        for eid, ts, idx, tcid, sid in self._fetch(
            conn,
            "SELECT entry_id, ts_ms, block_index, tool_call_id, session_id FROM tool_calls "
            "WHERE status = 'missing' AND tool_call_id IS NOT NULL",
        ):
            tc = ToolCallRow(eid, ts, idx, tcid, sid, None, "", "", None, None)
            self._find_result(conn, tc)
            if tc.status != "missing":
                cells.update(self._store_pairing(conn, tc))
        return cells

    def recompute_spans(self, conn: Connection) -> None:
        """Every session's first and last row (after rows moved between sessions)."""
        self._exec(conn, _SPANS)

    def apply_kind_changes(self, conn: Connection) -> None:
        """The session-less rollups of the sessions whose kind changed during a bulk load."""
        self._kind_changes(sorted(self.kind_changed), conn)
        self.kind_changed.clear()

    def _recompute_sessions(self, conn: Connection, sids: set[str]) -> None:
        self._many(conn, self._q(_SPANS + " WHERE session_id = ?"), [(s,) for s in sorted(sids)])
