"""One ingest pass: discover → identify → tail → parse → normalize → store.

The pass keeps the ``sources`` bookkeeping in memory (loaded once, changed only after a commit
succeeds) so a pass with nothing new costs one ``stat`` per file. Decisions per file:

* same (device, inode), same size and mtime: nothing to read (a new path is a rename: an
  archive is followed, never read again);
* grown, head and tail fingerprints intact: read from the stored offset;
* smaller than the offset, or a fingerprint changed (truncated, rewritten in place, inode
  reused): read again from 0; message identity keeps it from counting twice;
* a new inode at a known path: the old source is ``replaced``; its rows stay;
* a known file no longer on disk: ``gone``; its rows stay.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Engine, text

from ingestor import bulk, pipeline_extra  # pipeline_extra: SQLite agent stores, gateway logs
from ingestor.batch import Batch, SourceUpdate
from ingestor.config import BULK_MIN_BYTES
from ingestor.discover import Candidate, NameClass, classify_name, discover
from ingestor.normalize import SessionCtx, index_entries, normalize_entry, session_id_from_ref
from ingestor.parse import (
    Entry,
    Header,
    LineError,
    is_content_id,
    load_json,
    looks_like_entry,
    parse_line,
    v1_content_id,
)
from ingestor.store import Store, now_ms
from ingestor.tail import LineReader, bytes_fingerprint, read_line_at

log = logging.getLogger("agentbox.ingest")

TAIL_FP_BYTES = 64
SOURCE_FIELDS = (
    "id kind path agent_id device inode head_fp head_len tail_fp read_offset size mtime_ns "
    "state archive_reason session_id"
).split()


class FileStat(NamedTuple):
    """What a pass keeps of a file's ``stat`` until it reads the file (``os.stat_result`` is
    about 600 bytes; a pass over 25,000 files holds one per file)."""

    st_size: int
    st_mtime_ns: int
    st_dev: int
    st_ino: int


Stat = FileStat | os.stat_result


@dataclass(slots=True)
class Source:
    id: int
    kind: str
    path: str
    agent_id: str | None
    device: int | None
    inode: int | None
    head_fp: str | None
    head_len: int | None
    tail_fp: str | None
    read_offset: int
    size: int | None
    mtime_ns: int | None
    state: str
    archive_reason: str | None
    session_id: str | None


def _file_agent(cand: Candidate) -> str | None:
    """The agent a file belongs to: its agent folder's; none for a gateway log, which holds
    every agent's lines (each line names its own)."""
    return None if cand.kind == "gateway_log" else cand.agent_id


#: A .zst archive whose stream ends early and that has not changed for this long is damaged,
#: not still being written (a warning then).
ZST_SETTLED_S = 60


@dataclass
class PassStats:
    files: int = 0
    files_read: int = 0
    files_unchanged: int = 0
    skipped: int = 0
    rewrites: int = 0
    renames: int = 0
    gone: int = 0
    lines: int = 0
    bytes: int = 0
    calls: int = 0
    new_messages: int = 0
    errors: int = 0
    warnings: int = 0
    seconds: float = 0.0
    skipped_by_reason: dict[str, int] = field(default_factory=dict)

    @property
    def mb_per_s(self) -> float:
        return self.bytes / 1e6 / self.seconds if self.seconds > 0 else 0.0


ProgressFn = Callable[[int], None]


@dataclass
class _FileState:
    """What reading one file has learnt so far."""

    cand: Candidate
    src: Source
    agent: str
    ctx: SessionCtx | None = None
    skipped: str | None = None
    #: read again from its start (rewritten or replaced at its path)
    reread: bool = False
    #: (content id, ts) of the session's v1 rows, when a reread file's session has some
    v1_rows: set[tuple[str, int]] | None = None

    @property
    def path(self) -> str:
        return str(self.cand.path)


class Pipeline:
    """Runs passes for one host against one store."""

    def __init__(
        self,
        engine: Engine,
        store: Store,
        batch_lines: int = 5_000,
        bulk_min_bytes: int = BULK_MIN_BYTES,
    ) -> None:
        self.engine = engine
        self.store = store
        self.batch_lines = batch_lines
        self.bulk_min_bytes = bulk_min_bytes
        self.host_id = store.host_id
        self.by_inode: dict[tuple[int, int], Source] = {}
        self.by_path: dict[str, Source] = {}
        #: paths of this pass read again from their start (rewritten, or replaced at the path)
        self._reread: set[str] = set()
        self.by_id: dict[int, Source] = {}
        self.created: dict[str, int | None] = {}
        self._stop: threading.Event | None = None  # the running pass's stop event
        # sessions.json source id -> the transcripts it names (read once per process)
        self.index_files: dict[int, list[tuple[Path, str]]] = {}
        self.index_version = 0  # grows whenever index_files changes
        #: folders an openclaw.json moved session stores or logs to (the daemon watches them)
        self.config_dirs: list[str] = []
        self._load()

    # -- bookkeeping ------------------------------------------------------------------------

    def reload(self) -> None:
        """Forget the in-memory bookkeeping (after a failed commit) and read it again."""
        self.created.clear()
        self.index_files.clear()
        self.index_version += 1
        self._load()

    def _load(self) -> None:
        self.by_inode.clear()
        self.by_path.clear()
        self.by_id.clear()
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(f"SELECT {', '.join(SOURCE_FIELDS)} FROM sources WHERE host_id = :h"),
                {"h": self.host_id},
            ).all()
        for r in rows:
            s = Source(*r)
            if s.state in ("gone", "replaced"):
                continue
            if s.device is not None and s.inode is not None:
                self.by_inode[(s.device, s.inode)] = s
            self.by_path[s.path] = s
            self.by_id[s.id] = s

    def _new_sources(self, items: Sequence[tuple[Candidate, Stat]]) -> dict[str, Source]:
        """Register new files in one transaction (one per file is far too slow)."""
        out: dict[str, Source] = {}
        if not items:
            return out
        now = now_ms()
        with self.engine.begin() as conn:
            ids = self.store.insert_sources(
                conn, (self._source_values(cand, st, now) for cand, st in items)
            )
        for (cand, st), sid in zip(items, ids, strict=True):
            out[str(cand.path)] = self._registered(sid, cand, st)
        return out

    def _source_values(self, cand: Candidate, st: Stat, now: int) -> dict[str, Any]:
        return {
            "host_id": self.host_id,
            "kind": cand.kind,
            "path": str(cand.path),
            "agent_id": _file_agent(cand),
            "device": st.st_dev,
            "inode": st.st_ino,
            "read_offset": 0,
            "state": "archived" if cand.name.archive_reason else "active",
            "archive_reason": cand.name.archive_reason,
            "session_id": cand.name.session_id,
            "lines": 0,
            "errors": 0,
            "first_seen_ms": now,
            "last_seen_ms": now,
        }

    def _new_source(self, cand: Candidate, st: Stat) -> Source:
        with self.engine.begin() as conn:
            sid = self.store.insert_source(conn, self._source_values(cand, st, now_ms()))
        return self._registered(sid, cand, st)

    def _registered(self, sid: int, cand: Candidate, st: Stat) -> Source:
        """The in-memory bookkeeping of a file just registered."""
        src = Source(
            id=int(sid),
            kind=cand.kind,
            path=str(cand.path),
            agent_id=_file_agent(cand),
            device=st.st_dev,
            inode=st.st_ino,
            head_fp=None,
            head_len=None,
            tail_fp=None,
            read_offset=0,
            size=None,
            mtime_ns=None,
            state="archived" if cand.name.archive_reason else "active",
            archive_reason=cand.name.archive_reason,
            session_id=cand.name.session_id,
        )
        self.by_inode[(st.st_dev, st.st_ino)] = src
        self.by_path[src.path] = src
        self.by_id[src.id] = src
        return src

    def _set_state(self, src: Source, state: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                text("UPDATE sources SET state = :s, last_seen_ms = :t WHERE id = :i"),
                {"s": state, "t": now_ms(), "i": src.id},
            )
        src.state = state
        if state in ("gone", "replaced"):
            ino = (src.device, src.inode)
            if src.device is not None and self.by_inode.get(ino) is src:  # type: ignore[arg-type]
                del self.by_inode[ino]  # type: ignore[arg-type]
            if self.by_path.get(src.path) is src:
                del self.by_path[src.path]

    def _created_of(self, session_id: str) -> int | None:
        if session_id not in self.created:
            with self.engine.connect() as conn:
                v = conn.execute(
                    text("SELECT created_ms FROM sessions WHERE session_id = :s"),
                    {"s": session_id},
                ).scalar()
            self.created[session_id] = int(v) if v is not None else None
        return self.created[session_id]

    # -- a pass -----------------------------------------------------------------------------

    def run_pass(
        self,
        sources: Sequence[Path],
        progress: Callable[[int, int], None] | None = None,
        stop: threading.Event | None = None,
    ) -> PassStats:
        """Read everything new under ``sources``. ``progress(done_bytes, total_bytes)``;
        ``stop`` ends the pass between files or batches (what was read is committed).

        The cyclic garbage collector is paused during the pass: a pass allocates millions of
        short-lived, acyclic objects, and the collector's repeated scans of the long-lived ones
        cost about 8% of a cold ingest. Reference counting still frees everything at once; a
        cycle made during the pass is collected after it."""
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            self._stop = stop
            return self._run_pass(sources, progress, stop)
        finally:
            if was_enabled:
                gc.enable()

    def _run_pass(
        self,
        sources: Sequence[Path],
        progress: Callable[[int, int], None] | None,
        stop: threading.Event | None,
    ) -> PassStats:
        t0 = time.perf_counter()
        stats = PassStats()
        if self.store.sqlite:
            with self.engine.connect() as conn:
                cut_short = bulk.pending(conn)
            if cut_short:  # a bulk load was cut short (crash, kill): end it first
                log.info("a bulk load was cut short: building its indexes first")
                bulk.finish(self.engine, self.store, resumed=True)
        found = discover(sources)
        self.config_dirs = found.config_dirs
        self._reread.clear()
        stats.skipped_by_reason = dict(found.ignored)
        stats.skipped = sum(found.ignored.values())
        cands = sorted(found.candidates, key=lambda c: (c.kind != "sessions_index", str(c.path)))
        batch = Batch()
        extra: list[tuple[Path, str]] = []
        seen: set[int] = set()
        for cand in cands:
            if cand.kind == "sessions_index":
                extra.extend(self._index(cand, batch, stats, seen))
        known = {str(c.path) for c in cands}
        for p, agent in extra:
            if str(p) not in known and p.is_file():
                nc = classify_name(p.name)
                if nc.kind == "transcript":
                    kind = "jsonl_zst" if nc.compressed else "jsonl"
                    cands.append(Candidate(p, kind, agent, nc))
                    known.add(str(p))
        others = [c for c in cands if c.kind in ("sqlite_store", "gateway_log")]
        planned = self._plan_all(
            [c for c in cands if c.kind in ("jsonl", "jsonl_zst")], stats, seen
        )
        del found, cands, known  # a pass over many files keeps only what it will read
        # What is left to read, compact (a Path costs ~400 bytes; 25,000 files add up), and
        # each item dropped once read.
        work: list[tuple[str, str, str, NameClass, Stat, Source, int] | None] = [
            (str(cand.path), cand.kind, cand.agent_id, cand.name, st, src, start)
            for cand, st, src, start in planned
        ]
        del planned
        total = sum(max(0, item[4].st_size - item[6]) for item in work if item)
        if self._bulk_start(total):
            try:
                self._read_all(work, total, others, batch, stats, seen, progress, stop)
            finally:
                self.store.bulk = False
            t1 = time.perf_counter()
            bulk.finish(self.engine, self.store)
            log.info("bulk load ended: indexes built in %.1f s", time.perf_counter() - t1)
        else:
            self._read_all(work, total, others, batch, stats, seen, progress, stop)
        self._mark_gone(seen, stats)
        stats.seconds = time.perf_counter() - t0
        return stats

    def _bulk_start(self, total: int) -> bool:
        """Start a bulk load (ingestor/bulk.py) when this pass has at least ``bulk_min_bytes``
        to read into an empty SQLite database (a negative limit turns bulk loads off)."""
        if not self.store.sqlite or self.bulk_min_bytes < 0 or total < self.bulk_min_bytes:
            return False
        with self.engine.begin() as conn:
            if not bulk.is_empty(conn):
                return False
            bulk.start(conn)
        log.info(
            "first ingest, %.0f MB into an empty database: a bulk load (indexes built at its end)",
            total / 1e6,
        )
        self.store.bulk = True
        self.store.kind_changed.clear()
        return True

    def _read_all(
        self,
        work: list[tuple[str, str, str, NameClass, Stat, Source, int] | None],
        total: int,
        others: list[Candidate],
        batch: Batch,
        stats: PassStats,
        seen: set[int],
        progress: Callable[[int, int], None] | None,
        stop: threading.Event | None,
    ) -> None:
        done = 0
        for i, item in enumerate(work):
            if (stop is not None and stop.is_set()) or item is None:
                break
            work[i] = None
            path, kind, agent, name, st, src, start = item
            stats.files_read += 1
            try:
                done += self._read(
                    Candidate(Path(path), kind, agent, name), st, src, start, batch, stats
                )
            except FileNotFoundError:
                # Renamed (a /reset or delete archive) or removed since the pass listed it:
                # the next pass follows the rename by inode; what was read stays.
                stats.files_read -= 1
            except OSError as exc:  # unreadable (permissions, I/O): recorded, the pass goes on
                batch.error(src.id, path, 0, f"cannot read the file: {exc.strerror or exc}", None)
                stats.errors += 1
            if progress:
                progress(done, total)
        # >>> SQLite agent stores and gateway logs: see ingestor/pipeline_extra.py
        if stop is None or not stop.is_set():
            pipeline_extra.read_extra(self, others, batch, stats, seen, stop)
        # <<<
        self._flush(batch, stats)

    def _plan_all(
        self, cands: Sequence[Candidate], stats: PassStats, seen: set[int]
    ) -> list[tuple[Candidate, Stat, Source, int]]:
        """What to read of each file (see :meth:`_plan`), new files registered in one
        transaction; every file planned is marked ``seen``."""
        planned = []
        for cand in cands:
            stats.files += 1
            try:
                plan = self._plan(cand, stats, seen)
            except OSError:  # gone between its stat and its fingerprint: the next pass sees it
                continue
            if plan is not None:
                planned.append((cand, *plan))
        # Oldest first: a file's rows then land next to the rows of the files written at about
        # the same time, so the time-led indexes and rollups grow at their ends instead of
        # everywhere at once (a cold ingest writes a third less to the WAL), and new sources
        # get ids in reading order. Any order gives the same rows (accounting.md §3).
        planned.sort(key=lambda p: p[1].st_mtime_ns)
        fresh = self._new_sources([(c, st) for c, st, src, _ in planned if src is None])
        out: list[tuple[Candidate, Stat, Source, int]] = []
        for cand, st, maybe, start in planned:
            src = maybe if maybe is not None else fresh[str(cand.path)]
            seen.add(src.id)
            out.append((cand, st, src, start))
        return out

    def _plan(
        self, cand: Candidate, stats: PassStats, seen: set[int]
    ) -> tuple[FileStat, Source | None, int] | None:
        """What to read of a file: (stat, its source or None for a new one, start offset),
        or None when nothing changed."""
        try:
            full = os.stat(cand.path)
        except OSError:
            return None
        st = FileStat(full.st_size, full.st_mtime_ns, full.st_dev, full.st_ino)
        src = self.by_inode.get((st.st_dev, st.st_ino))
        path = str(cand.path)
        if (
            src is not None
            and src.head_fp is not None
            and st.st_size > 0
            and not self._head_ok(cand.path, src)
        ):
            src = None  # inode reused by another file, or rewritten with a new head
        if src is None:
            old = self.by_path.get(path)
            if old is not None:
                self._set_state(old, "replaced")
                self._reread.add(path)
            return st, None, 0
        seen.add(src.id)
        if src.path != path:
            stats.renames += 1
            self._rename(src, cand)
        if src.state == "skipped" and st.st_size == src.size and st.st_mtime_ns == src.mtime_ns:
            return None
        if st.st_size == src.size and st.st_mtime_ns == src.mtime_ns:
            stats.files_unchanged += 1
            return None
        if cand.kind == "jsonl_zst":
            return st, src, 0
        start = src.read_offset
        if st.st_size < start or (start > 0 and not self._tail_ok(cand.path, src)):
            stats.rewrites += 1
            self._reread.add(path)
            start = 0
        return st, src, start

    def _head_ok(self, path: Path, src: Source) -> bool:
        if not src.head_len:
            return True
        fp = bytes_fingerprint(path, 0, src.head_len)
        return fp == src.head_fp

    def _tail_ok(self, path: Path, src: Source) -> bool:
        if src.tail_fp is None or src.read_offset == 0:
            return True
        n = min(TAIL_FP_BYTES, src.read_offset)
        return bytes_fingerprint(path, src.read_offset - n, n) == src.tail_fp

    def _rename(self, src: Source, cand: Candidate) -> None:
        if self.by_path.get(src.path) is src:
            del self.by_path[src.path]
        src.path = str(cand.path)
        src.archive_reason = cand.name.archive_reason or src.archive_reason
        if src.state != "skipped":
            src.state = "archived" if cand.name.archive_reason else "active"
        self.by_path[src.path] = src
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE sources SET path = :p, archive_reason = :a, state = :s, "
                    "last_seen_ms = :t WHERE id = :i"
                ),
                {
                    "p": src.path,
                    "a": src.archive_reason,
                    "s": src.state,
                    "t": now_ms(),
                    "i": src.id,
                },
            )

    def _mark_gone(self, seen: set[int], stats: PassStats) -> None:
        for src in list(self.by_path.values()):
            # gateway_log, sqlite_store: ingestor/pipeline_extra.py
            if src.id in seen or src.kind not in (
                "jsonl",
                "jsonl_zst",
                "gateway_log",
                "sqlite_store",
            ):
                continue
            if not os.path.exists(src.path):
                stats.gone += 1
                self._set_state(src, "gone")

    # -- reading ----------------------------------------------------------------------------

    def _read(
        self,
        cand: Candidate,
        st: Stat,
        src: Source,
        start: int,
        batch: Batch,
        stats: PassStats,
    ) -> int:
        """Read one transcript from ``start``; returns bytes consumed."""
        upd = SourceUpdate(src.id, {})
        batch.sources[src.id] = upd
        fs = _FileState(cand, src, src.agent_id or cand.agent_id)
        fs.reread = str(cand.path) in self._reread
        if start > 0 and src.session_id:
            fs.ctx = SessionCtx(src.session_id, self._created_of(src.session_id), fs.agent)
        end = start
        compressed = cand.kind == "jsonl_zst"
        reader = LineReader(cand.path, start, compressed=compressed)
        head: tuple[str, int] | None = None
        try:
            if start == 0 and st.st_size > 0:
                head = reader.head_fingerprint()
            for raw in reader:
                upd.lines += 1
                if self._line(fs, raw.offset, raw.data, batch, stats):
                    break
                end = reader.end_offset
                if batch.lines >= self.batch_lines:
                    self._checkpoint(upd, st, src, end, head, self._tail(reader, end, compressed))
                    self._flush(batch, stats)
                    upd = SourceUpdate(src.id, {})
                    batch.sources[src.id] = upd
                    if self._stop is not None and self._stop.is_set():
                        # Stopping (SIGTERM: docker stop waits 10 s): the lines read so far
                        # are committed with their offset; the next pass reads the rest.
                        consumed = max(0, end - start) if not compressed else 0
                        stats.bytes += consumed
                        return consumed
            else:
                end = reader.end_offset
                # An archive is not appended by name again, so its last line needs no
                # newline; but OpenClaw may still finish a line through the descriptor it
                # held when it renamed the file. A tail that is no complete JSON value yet
                # waits, as a live file's does.
                pending = getattr(reader, "pending_bytes", 0)
                if src.archive_reason and not compressed and 0 < pending <= 64 << 20:
                    data = read_line_at(cand.path, end, pending)
                    parsed = parse_line(data)
                    if not (isinstance(parsed, LineError) and parsed.syntax):
                        upd.lines += 1
                        if not self._line(fs, end, data, batch, stats):
                            end += pending
            tail = self._tail(reader, end, compressed)
        finally:
            reader.close()
        for off, length in getattr(reader, "oversized", []):
            batch.error(src.id, fs.path, off, f"line of {length} bytes is over the limit", None)
            stats.errors += 1
        if fs.skipped is not None:
            upd.values.update(
                state="skipped", skip_reason=fs.skipped, size=st.st_size, mtime_ns=st.st_mtime_ns
            )
            src.state, src.size, src.mtime_ns = "skipped", st.st_size, st.st_mtime_ns
            stats.files_read -= 1
            stats.skipped += 1
            stats.skipped_by_reason["not-a-transcript"] = (
                stats.skipped_by_reason.get("not-a-transcript", 0) + 1
            )
            return 0
        if compressed and getattr(reader, "truncated_stream", False):
            # An archive still being written, or a damaged one: read again when it changes.
            # Untouched for a minute, it is no longer being written: that is said.
            upd.values.update(read_offset=end)
            if time.time() - st.st_mtime_ns / 1e9 >= ZST_SETTLED_S:
                batch.error(
                    src.id,
                    fs.path,
                    end,
                    "zstd archive is damaged (its lines up to here are read; it is read "
                    "again when it changes)",
                    None,
                    "warning",
                )
                stats.warnings += 1
            return 0
        self._checkpoint(upd, st, src, end, head, tail, final=True)
        consumed = max(0, (st.st_size if compressed else end) - start)
        stats.bytes += consumed
        return consumed

    def _line(
        self, fs: _FileState, offset: int, data: bytes, batch: Batch, stats: PassStats
    ) -> bool:
        """Handle one line; True when the file turns out not to be a transcript."""
        batch.lines += 1
        stats.lines += 1
        src = fs.src
        parsed = parse_line(data)
        if isinstance(parsed, LineError):
            if fs.ctx is None and not parsed.syntax:
                if not parsed.transcript:
                    fs.skipped = f"not a transcript: {parsed.reason}"
                    return True
                # a broken header or entry: a transcript all the same, read as header-less
                self._headerless(fs, batch)
            batch.error(src.id, fs.path, offset, parsed.reason, data)
            stats.errors += 1
        elif isinstance(parsed, Header):
            fs.ctx = self._header(parsed, fs.agent, fs.path, batch)
            src.session_id = fs.ctx.session_id
            if fs.reread:
                fs.v1_rows = self._v1_rows(fs.ctx.session_id, batch)
            for w in parsed.warnings:
                batch.error(src.id, fs.path, offset, w, data, "warning")
                stats.warnings += 1
        else:
            if fs.ctx is None:
                if not looks_like_entry(parsed.obj):
                    fs.skipped = "not a transcript: first line is not an entry"
                    return True
                self._headerless(fs, batch)
                assert fs.ctx is not None
            if fs.v1_rows and not is_content_id(parsed.id):
                # a v1 file migrated in place: its old entries keep the ids they were read with
                old_id = v1_content_id(parsed.obj)
                if (old_id, parsed.ts_ms) in fs.v1_rows:
                    parsed.id = old_id
            self._entry(parsed, fs.ctx, src, offset, data, batch, stats)
        return False

    def _v1_rows(self, session_id: str, batch: Batch) -> set[tuple[str, int]]:
        """(id, ts) of the session's rows read from a v1 file (content ids), stored or in
        this batch."""
        rows = {
            k
            for k, m in batch.messages.items()
            if m.session_id == session_id and is_content_id(k[0])
        }
        with self.engine.connect() as conn:
            found = conn.execute(
                text(
                    "SELECT entry_id, ts_ms FROM messages WHERE session_id = :s "
                    "AND entry_id >= 'h' AND entry_id < 'i'"
                ),
                {"s": session_id},
            ).all()
        rows |= {(str(e), int(t)) for e, t in found if is_content_id(str(e))}
        return rows

    @staticmethod
    def _tail(reader: LineReader, end: int, compressed: bool) -> str | None:
        """Fingerprint of the bytes before ``end`` (none for a ``.zst`` archive)."""
        if compressed or end <= 0:
            return None
        n = min(TAIL_FP_BYTES, end)
        return reader.fingerprint(end - n, n)

    def _checkpoint(
        self,
        upd: SourceUpdate,
        st: Stat,
        src: Source,
        end: int,
        head: tuple[str, int] | None,
        tail: str | None,
        final: bool = False,
    ) -> None:
        vals: dict[str, Any] = {
            "read_offset": end,
            "session_id": src.session_id,
            "device": st.st_dev,
            "inode": st.st_ino,
        }
        if head is not None:
            vals["head_fp"], vals["head_len"] = head
        if tail is not None:
            vals["tail_fp"] = tail
        if final:
            vals["size"], vals["mtime_ns"] = st.st_size, st.st_mtime_ns
            vals["state"] = "archived" if src.archive_reason else "active"
            vals["skip_reason"] = None
        else:
            vals["size"], vals["mtime_ns"] = None, None
        upd.values.update(vals)

    def _header(self, h: Header, agent: str, path: str, batch: Batch) -> SessionCtx:
        prev = self.created.get(h.session_id, h.ts_ms)
        created = h.ts_ms if prev is None or (h.ts_ms is not None and h.ts_ms < prev) else prev
        self.created[h.session_id] = created
        f = batch.facts(h.session_id, agent)
        f.created_ms = created
        f.cwd = f.cwd or h.cwd
        f.parent_session_id = f.parent_session_id or self._parent_id(h.parent_session)
        f.path = path
        return SessionCtx(h.session_id, created, agent)

    def _parent_id(self, ref: str | None) -> str | None:
        """The session a header's ``parentSession`` names: the header id of that transcript
        when it was read (a file's name and its header id may differ), else the id in the
        reference itself."""
        known = self.by_path.get(ref) if ref and not ref.startswith("agent-db:") else None
        return (known.session_id if known else None) or session_id_from_ref(ref)

    def _headerless(self, fs: _FileState, batch: Batch) -> None:
        """Read the file as header-less from here: its session id from its name."""
        sid = fs.cand.name.session_id or fs.cand.path.name.split(".", 1)[0]
        f = batch.facts(sid, fs.agent)
        f.path = f.path or fs.path
        fs.ctx = SessionCtx(sid, self._created_of(sid), fs.agent)
        fs.src.session_id = sid
        if fs.reread:
            fs.v1_rows = self._v1_rows(sid, batch)

    def _entry(
        self,
        e: Entry,
        ctx: SessionCtx,
        src: Source,
        offset: int,
        data: bytes,
        batch: Batch,
        stats: PassStats,
        note: str = "",
    ) -> None:
        """Normalize one entry into the batch; problems are recorded (``note`` is appended to
        their reasons: the SQLite store names the session there)."""
        try:
            rec = normalize_entry(e, ctx)
        except Exception as exc:  # a rule we did not foresee must not stop the file
            reason = f"unexpected entry shape: {exc!r}"[:300] + note
            batch.error(src.id, src.path, offset, reason, data)
            stats.errors += 1
            return
        for w in rec.warnings:
            batch.error(src.id, src.path, offset, w + note, data, "warning")
            stats.warnings += 1
        batch.add(rec, src.id, offset)

    def _flush(self, batch: Batch, stats: PassStats) -> None:
        if not batch.sources and not batch.messages and not batch.index and not batch.sessions:
            return
        cs = self.store.commit(batch)
        stats.new_messages += cs.new_messages
        stats.calls += cs.calls  # new calls only: copies and re-reads are not counted
        for upd in batch.sources.values():
            src = self.by_id.get(upd.source_id)
            if src is None:
                continue
            for k, v in upd.values.items():
                if hasattr(src, k):
                    setattr(src, k, v)
        batch.__init__()  # type: ignore[misc]

    # -- sessions.json ----------------------------------------------------------------------

    def _index(
        self, cand: Candidate, batch: Batch, stats: PassStats, seen: set[int]
    ) -> list[tuple[Path, str]]:
        """Read a changed ``sessions.json``; returns the ``sessionFile`` paths it names, with
        their agent (from the session key, else the index's own agent folder)."""
        try:
            st = os.stat(cand.path)
        except OSError:
            return []
        path = str(cand.path)
        src = self.by_path.get(path)
        if src is None:
            src = self._new_source(cand, st)
        seen.add(src.id)
        # OpenClaw replaces the index by a rename: a new inode of the same size within the
        # filesystem's timestamp resolution (1-2 s on network and bind mounts) is new too.
        same_file = (src.device, src.inode) == (st.st_dev, st.st_ino) or src.inode is None
        named = self.index_files.get(src.id)
        if (
            named is not None  # read once by this process: the files it names are known
            and same_file
            and src.size == st.st_size
            and src.mtime_ns == st.st_mtime_ns
        ):
            return named
        # read or not, this version of the index is done with
        stamp = {
            "size": st.st_size,
            "mtime_ns": st.st_mtime_ns,
            "device": st.st_dev,
            "inode": st.st_ino,
        }
        batch.sources[src.id] = SourceUpdate(src.id, stamp)
        try:
            loaded = load_json(cand.path.read_bytes())
        except OSError as exc:
            loaded = LineError(str(exc))
        if isinstance(loaded, LineError):
            batch.error(src.id, path, 0, f"sessions.json unreadable: {loaded.reason}"[:300], None)
            stats.errors += 1
            return named or []
        obj, warnings = loaded
        for w in warnings:  # e.g. a label cut inside a surrogate pair: the index is still read
            batch.error(src.id, path, 0, f"sessions.json: {w}", None, "warning")
            stats.warnings += 1
        entries = index_entries(obj)
        for e in entries:
            batch.index_agent[e.session_id] = cand.agent_id
        batch.index.extend(entries)
        # Every pass reads the files an index names (a sessionFile may lie outside the
        # sessions dir), not only the passes where the index itself changed.
        named = [
            (Path(e.session_file), e.agent_id or cand.agent_id) for e in entries if e.session_file
        ]
        self.index_files[src.id] = named
        self.index_version += 1
        return named
