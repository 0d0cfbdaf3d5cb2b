"""The pass's other sources: OpenClaw's SQLite agent stores and its gateway logs.

Called from :meth:`ingestor.pipeline.Pipeline.run_pass` with the same batch, so rows, read
positions and errors commit together exactly like the JSONL files'.

* ``sqlite_store`` (one ``sources`` row per store file): the session tables give keys, kinds,
  labels and parents (as ``sessions.json`` does); ``transcript_events`` is read per session from
  the high-water mark in ``source_cursors`` (stream = session id, position = last seq
  committed). Every event goes through the same parser and rules as a JSONL line, so a call
  seen in a JSONL file, in the import archive and in the store is one row (entry id, timestamp).
  Rows OpenClaw deletes from its store stay in ours: nothing here ever deletes. Errors and
  messages carry the seq as their offset. A store is read again only when its main file or
  its ``-wal`` changed (size + newest mtime, stored in ``sources.size``/``mtime_ns``), or
  when it changed less than 2 s before it was read.
* ``gateway_log``: planned and tailed like transcripts (inode identity, fingerprints, offsets
  at complete lines), one ``gateway_events`` row per line; a deleted file is ``gone`` and its
  rows stay. Log lines never add usage.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import text

from ingestor.batch import Batch, SourceUpdate
from ingestor.discover import Candidate
from ingestor.gateway_logs import LogLineError, parse_log_line
from ingestor.normalize import SessionCtx
from ingestor.parse import Header, LineError, parse_line
from ingestor.sqlite_source import PAGE_ROWS, AgentStore, StoreBusy
from ingestor.tail import LineReader

if TYPE_CHECKING:
    from ingestor.pipeline import PassStats, Pipeline, Source, Stat

log = logging.getLogger(__name__)

#: ``ingest_errors.line_offset`` of a store-level note (schema, unreadable file).
STORE_OFFSET = -1
#: A store changed this recently is read again on the next pass (see ``read_store``).
RACY_NS = 2_000_000_000


def read_extra(
    pipe: Pipeline,
    cands: Sequence[Candidate],
    batch: Batch,
    stats: PassStats,
    seen: set[int],
    stop: threading.Event | None = None,
) -> None:
    """Read the gateway logs, then the SQLite stores, among ``cands``."""
    read_gateway_logs(pipe, [c for c in cands if c.kind == "gateway_log"], batch, stats, seen, stop)
    for cand in cands:
        if cand.kind != "sqlite_store":
            continue
        if stop is not None and stop.is_set():
            break
        read_store(pipe, cand, batch, stats, seen, stop)


def _upd(batch: Batch, source_id: int) -> SourceUpdate:
    upd = batch.sources.get(source_id)
    if upd is None:
        upd = batch.sources[source_id] = SourceUpdate(source_id, {})
    return upd


# -- gateway logs ------------------------------------------------------------------------------


def read_gateway_logs(
    pipe: Pipeline,
    cands: Sequence[Candidate],
    batch: Batch,
    stats: PassStats,
    seen: set[int],
    stop: threading.Event | None = None,
) -> None:
    for cand, st, src, start in pipe._plan_all(cands, stats, seen):
        if stop is not None and stop.is_set():
            continue
        stats.files_read += 1
        _read_log(pipe, cand, st, src, start, batch, stats)


def _read_log(
    pipe: Pipeline,
    cand: Candidate,
    st: Stat,
    src: Source,
    start: int,
    batch: Batch,
    stats: PassStats,
) -> None:
    path = str(cand.path)
    upd = _upd(batch, src.id)
    end = start
    reader = LineReader(cand.path, start)
    try:
        head = reader.head_fingerprint() if start == 0 and st.st_size > 0 else None
        for raw in reader:
            upd.lines += 1
            batch.lines += 1
            stats.lines += 1
            ev = parse_log_line(raw.data)
            if isinstance(ev, LogLineError):
                batch.error(src.id, path, raw.offset, ev.reason, raw.data)
                stats.errors += 1
            else:
                batch.gateway_events.append((src.id, raw.offset, ev))
            end = reader.end_offset
            if batch.lines >= pipe.batch_lines:
                pipe._checkpoint(upd, st, src, end, head, pipe._tail(reader, end, False))
                pipe._flush(batch, stats)
                upd = _upd(batch, src.id)
        end = reader.end_offset
        tail = pipe._tail(reader, end, False)
    finally:
        reader.close()
    for off, length in reader.oversized:
        batch.error(src.id, path, off, f"line of {length} bytes is over the limit", None)
        stats.errors += 1
    pipe._checkpoint(upd, st, src, end, head, tail, final=True)
    stats.bytes += max(0, end - start)


# -- SQLite agent stores -----------------------------------------------------------------------


def _signature(path: str) -> tuple[os.stat_result, int, int] | None:
    """(stat of the main file, size of main + -wal, newest mtime of the two)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    size, mtime = st.st_size, st.st_mtime_ns
    try:
        wal = os.stat(path + "-wal")
        size, mtime = size + wal.st_size, max(mtime, wal.st_mtime_ns)
    except OSError:
        pass
    return st, size, mtime


def read_store(
    pipe: Pipeline,
    cand: Candidate,
    batch: Batch,
    stats: PassStats,
    seen: set[int],
    stop: threading.Event | None = None,
) -> None:
    path = str(cand.path)
    sig = _signature(path)
    if sig is None:
        return
    st, size, mtime = sig
    stats.files += 1
    src = pipe.by_path.get(path)
    if src is None or src.kind != "sqlite_store":
        src = pipe._new_source(cand, st)
    seen.add(src.id)
    if src.size == size and src.mtime_ns == mtime:
        stats.files_unchanged += 1
        return
    stats.files_read += 1
    agent = src.agent_id or cand.agent_id
    done_vals: dict[str, int | None] = {"device": st.st_dev, "inode": st.st_ino}
    # A commit grows the -wal before it is published in the -shm, and mtimes are coarse: a
    # signature taken within RACY_NS of a change may describe rows we could not see yet.
    # Then it is not kept, and the next pass looks again (cheaply: cursors vs MAX(seq)).
    racy = time.time_ns() - mtime < RACY_NS
    done_vals.update(size=None if racy else size, mtime_ns=None if racy else mtime)
    try:
        with AgentStore(path) as store:
            if store.schema.notes:
                # One row per store (and schema): the reason is stable, the key dedupes it.
                batch.error(
                    src.id,
                    path,
                    STORE_OFFSET,
                    "store schema: " + "; ".join(store.schema.notes),
                    None,
                    "warning",
                )
                stats.warnings += 1
            entries = store.index_entries()
            for e in entries:
                batch.index_agent[e.session_id] = agent
            batch.index.extend(entries)
            heads = store.session_heads()
            if heads:
                cursors = _cursors(pipe, src.id)
                now = store.refs_at({s: c[0] for s, c in cursors.items() if s in heads})
                for sid in sorted(heads):
                    if stop is not None and stop.is_set():
                        return  # the signature is not stored: the next pass goes on
                    after, ref = cursors.get(sid, (-1, None))
                    if after >= 0 and now.get(sid) != ref:
                        if ref is None and sid in now:  # a cursor older than its stamps
                            batch.cursors[(src.id, sid)] = (after, now[sid])
                        else:
                            # The row the cursor stands on is gone or another one: rolled
                            # back and written again, or a new store file. The session is
                            # read again from its start; call identity counts each row once.
                            log.info("store session %s changed below its cursor: read again", sid)
                            after = -1
                    if heads[sid] > after:
                        _read_session(pipe, store, src, path, agent, sid, after, batch, stats)
    except StoreBusy as exc:
        # What was read is committed with its cursors; the rest waits for the next pass.
        log.info("agent store busy, retrying next pass: %s", exc)
        return
    except sqlite3.DatabaseError as exc:
        batch.error(src.id, path, STORE_OFFSET, f"store unreadable: {exc}"[:300], None)
        stats.errors += 1
    _upd(batch, src.id).values.update(done_vals)


def _cursors(pipe: Pipeline, source_id: int) -> dict[str, tuple[int, str | None]]:
    """(last seq read, that row's stamp) of each session of a store."""
    with pipe.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT stream, position, position_ref FROM source_cursors WHERE source_id = :s"),
            {"s": source_id},
        ).all()
    return {str(s): (int(p), r) for s, p, r in rows}


def _read_session(
    pipe: Pipeline,
    store: AgentStore,
    src: Source,
    path: str,
    agent: str,
    sid: str,
    after: int,
    batch: Batch,
    stats: PassStats,
) -> None:
    """Events of one session with ``seq > after``, a page per read transaction."""
    ctx: SessionCtx | None = None
    if after >= 0:
        ctx = SessionCtx(sid, pipe._created_of(sid), agent)
    while True:
        page = store.read_events(sid, after, PAGE_ROWS)
        upd = _upd(batch, src.id)
        for ev in page:
            upd.lines += 1
            batch.lines += 1
            stats.lines += 1
            if ev.data is None:
                _error(batch, src.id, path, sid, ev.seq, ev.error or "empty event", None)
                stats.errors += 1
                continue
            parsed = parse_line(ev.data)
            if isinstance(parsed, LineError):
                _error(batch, src.id, path, sid, ev.seq, parsed.reason, ev.data)
                stats.errors += 1
            elif isinstance(parsed, Header):
                ctx = pipe._header(parsed, agent, path, batch)
                for w in parsed.warnings:
                    _error(batch, src.id, path, sid, ev.seq, w, ev.data, "warning")
                    stats.warnings += 1
            else:
                if ctx is None:  # no header event at seq 0 (deleted, or never written)
                    f = batch.facts(sid, agent)
                    f.path = f.path or path
                    ctx = SessionCtx(sid, pipe._created_of(sid), agent)
                pipe._entry(parsed, ctx, src, ev.seq, ev.data, batch, stats, _note(sid))
        if page:  # the cursor stands on the page's last row (a flush comes only after a page)
            after = page[-1].seq
            batch.cursors[(src.id, sid)] = (after, page[-1].ref)
        if batch.lines >= pipe.batch_lines:
            pipe._flush(batch, stats)
        if len(page) < PAGE_ROWS:
            return


def _error(
    batch: Batch,
    source_id: int,
    path: str,
    sid: str,
    seq: int,
    reason: str,
    data: bytes | None,
    severity: str = "error",
) -> None:
    batch.error(source_id, path, seq, reason + _note(sid), data, severity)


def _note(sid: str) -> str:
    """Appended to the reason of a store event's error: the offset is the seq, shared by every
    session of the store, so the session id keeps (source_id, line_offset, reason) unique."""
    return f" [session {sid}]"
