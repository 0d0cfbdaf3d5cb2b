"""Reading an OpenClaw agent store (``agents/<agentId>/agent/openclaw-agent.sqlite``, release
2026.7.2 and later; openclaw-format.md §11) without disturbing OpenClaw.

* Read-only and WAL-aware: ``sqlite3.connect("file:…?mode=ro", uri=True)`` on the live file,
  so OpenClaw's ``-wal``/``-shm`` beside it are used (a copy of the main file alone would miss
  every event not yet checkpointed). ``PRAGMA query_only`` on top.
* Short read transactions: autocommit, every statement is its own snapshot; transcripts are
  read in pages (``WHERE session_id=? AND seq>? ORDER BY seq LIMIT ?``), never one long scan.
* Busy: a small busy timeout, then retries with exponential backoff; when the store stays
  busy :class:`StoreBusy` is raised and the caller tries again on the next pass.
* Unknown schemas: tables and columns are inspected at run time (``PRAGMA table_info``);
  whatever is missing is skipped and listed in :attr:`StoreSchema.notes`, never an error.

No database of ours here: events come out as raw JSON bytes (the old JSONL line), for the
same parser as the files, and session metadata as :class:`~ingestor.normalize.IndexEntry`.
"""

from __future__ import annotations

import json
import sqlite3
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import zstandard

from ingestor.normalize import IndexEntry, index_entries
from ingestor.parse import LineError, load_json

#: Rows per read transaction of one session.
PAGE_ROWS = 2000
#: Session tables, most authoritative first (session_nodes: the current session of each key;
#: session_windows: every session a key ever had, resets included).
SESSION_TABLES = ("session_nodes", "sessions", "session_entries", "session_windows")
_KEY_COLS = ("session_key", "key", "sessionKey")
_SID_COLS = ("current_session_id", "session_id", "sessionId")
_JSON_COLS = ("entry_json", "session_entry_json", "entry")
#: (SessionEntry field, store columns that may hold it)
_FIELD_COLS = (
    ("label", ("label",)),
    ("displayName", ("display_name", "displayName")),
    ("channel", ("channel", "last_channel")),
    ("spawnedBy", ("spawned_by", "spawnedBy", "parent_session_key")),
)
_BUSY_CODES = (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED (extended codes carry them in the low byte)

T = TypeVar("T")


class StoreBusy(Exception):
    """The store stayed locked through every retry: try again on the next pass."""


@dataclass(slots=True)
class StoreEvent:
    """One ``transcript_events`` row: ``data`` (the JSON line) or ``error``."""

    seq: int
    data: bytes | None
    error: str | None = None
    #: The row's :func:`stamp`, kept with the cursor (set on the last row of a page: the one a
    #: cursor can stand on).
    ref: str | None = None


@dataclass
class StoreSchema:
    user_version: int | None = None
    event_cols: frozenset[str] = frozenset()
    session_tables: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def can_read_events(self) -> bool:
        return {"session_id", "seq"} <= self.event_cols and bool(
            {"event_json", "event_zstd"} & self.event_cols
        )


def is_busy(exc: BaseException) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF in _BUSY_CODES:
        return True
    msg = str(exc).lower()
    return "locked" in msg or "busy" in msg


class AgentStore:
    """A read-only view of one agent store. Use as a context manager."""

    def __init__(
        self,
        path: Path | str,
        *,
        timeout: float = 0.2,
        retries: int = 6,
        backoff: float = 0.05,
        page_rows: int = PAGE_ROWS,
    ) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.page_rows = page_rows
        self.conn: sqlite3.Connection | None = None
        self.schema = StoreSchema()
        self._dctx = zstandard.ZstdDecompressor()

    # -- connection -------------------------------------------------------------------------

    def __enter__(self) -> AgentStore:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def open(self) -> None:
        uri = self.path.resolve().as_uri() + "?mode=ro"
        conn = sqlite3.connect(
            uri, uri=True, timeout=self.timeout, isolation_level=None, check_same_thread=False
        )
        conn.text_factory = bytes  # TEXT as bytes: invalid UTF-8 reaches the parser intact
        self.conn = conn
        try:
            self._retry(lambda: conn.execute("PRAGMA query_only = 1"))
            self.schema = self._retry(self._inspect)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _retry(self, fn: Callable[[], T]) -> T:
        delay = self.backoff
        for attempt in range(self.retries + 1):
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                if not is_busy(exc):
                    raise
                if attempt == self.retries:
                    raise StoreBusy(f"{self.path}: {exc}") from exc
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
        raise AssertionError("unreachable")  # pragma: no cover

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        conn = self.conn
        if conn is None:
            raise RuntimeError("store is not open")
        return self._retry(lambda: conn.execute(sql, params).fetchall())

    # -- schema -----------------------------------------------------------------------------

    def _columns(self, table: str) -> list[str]:
        assert self.conn is not None
        rows = self.conn.execute(f'PRAGMA table_info("{table}")').fetchall()
        return [_text(r[1]) for r in rows]

    def _inspect(self) -> StoreSchema:
        assert self.conn is not None
        sch = StoreSchema()
        v = self.conn.execute("PRAGMA user_version").fetchone()
        sch.user_version = int(v[0]) if v and isinstance(v[0], int) else None
        tables = {
            _text(r[0])
            for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        if "transcript_events" in tables:
            sch.event_cols = frozenset(self._columns("transcript_events"))
            if not {"session_id", "seq"} <= sch.event_cols:
                sch.notes.append("transcript_events has no session_id/seq: transcripts not read")
            elif not {"event_json", "event_zstd"} & sch.event_cols:
                sch.notes.append(
                    "transcript_events has neither event_json nor event_zstd: transcripts not read"
                )
        else:
            sch.notes.append("no transcript_events table: transcripts not read")
        for t in SESSION_TABLES:
            if t not in tables:
                continue
            cols = self._columns(t)
            # a session id in its own column, or in the SessionEntry JSON (sessionId)
            if _first(cols, _KEY_COLS) and (_first(cols, _SID_COLS) or _first(cols, _JSON_COLS)):
                sch.session_tables[t] = cols
        if not sch.session_tables:
            sch.notes.append(
                "no session table with a session key and a session id (a column or the entry "
                "JSON's sessionId): keys and kinds from "
                "transcripts only"
            )
        if sch.notes:
            sch.notes.insert(0, f"user_version {sch.user_version}")
        return sch

    # -- transcripts ------------------------------------------------------------------------

    def session_heads(self) -> dict[str, int]:
        """Highest ``seq`` of every session in the store."""
        if not self.schema.can_read_events:
            return {}
        rows = self._rows("SELECT session_id, MAX(seq) FROM transcript_events GROUP BY session_id")
        return {_text(sid): int(seq) for sid, seq in rows if sid is not None and seq is not None}

    def _payload_cols(self) -> list[str]:
        return [c for c in ("event_json", "event_zstd") if c in self.schema.event_cols]

    def refs_at(self, positions: dict[str, int]) -> dict[str, str]:
        """The stamp of the row at each session's ``seq`` (one query); a session whose row is
        gone is absent."""
        cols = self._payload_cols()
        if not positions or not self.schema.can_read_events:
            return {}
        rows = self._rows(
            f"SELECT t.session_id, {', '.join('t.' + c for c in cols)} FROM json_each(?) AS j "
            "CROSS JOIN transcript_events AS t ON t.session_id = json_extract(j.value, '$[0]') "
            "AND t.seq = json_extract(j.value, '$[1]')",
            (json.dumps([[sid, seq] for sid, seq in positions.items()]),),
        )
        return {_text(r[0]): stamp(r[1:]) for r in rows if r[0] is not None}

    def read_events(
        self, session_id: str, after_seq: int, limit: int | None = None
    ) -> list[StoreEvent]:
        """Up to ``limit`` events of a session with ``seq > after_seq``, in ``seq`` order; the
        last one carries its row's stamp."""
        payload = self._payload_cols()
        cols = ["seq", *payload]
        has_json = "event_json" in payload
        has_zstd = "event_zstd" in payload
        rows = self._rows(
            f"SELECT {', '.join(cols)} FROM transcript_events WHERE session_id = ? AND seq > ? "
            "ORDER BY seq LIMIT ?",
            (session_id, after_seq, limit or self.page_rows),
        )
        out: list[StoreEvent] = []
        for row in rows:
            seq = int(row[0])
            js = row[1] if has_json else None
            zs = row[-1] if has_zstd else None
            if js is not None:
                ev = StoreEvent(seq, js if isinstance(js, bytes) else str(js).encode())
            elif zs is not None:
                ev = self._unzstd(seq, zs)
            else:
                ev = StoreEvent(seq, None, "event row without event_json or event_zstd")
            out.append(ev)
        if out:
            out[-1].ref = stamp(rows[-1][1:])
        return out

    def _unzstd(self, seq: int, blob: Any) -> StoreEvent:
        if not isinstance(blob, bytes):
            return StoreEvent(seq, None, "event_zstd is not a blob")
        try:
            return StoreEvent(seq, self._dctx.decompressobj().decompress(blob))
        except zstandard.ZstdError as exc:
            return StoreEvent(seq, None, f"event_zstd not decodable: {exc}"[:300])

    # -- session metadata -------------------------------------------------------------------

    def index_entries(self) -> list[IndexEntry]:
        """Key ↔ session id mappings (and labels, channels, parents) from whatever session
        tables exist; the first table to name a session wins, later ones fill its gaps."""
        merged: dict[str, IndexEntry] = {}
        for table, cols in self.schema.session_tables.items():
            key_col = _first(cols, _KEY_COLS)
            sid_col = _first(cols, _SID_COLS)
            json_col = _first(cols, _JSON_COLS)
            fields = [(f, c) for f, names in _FIELD_COLS if (c := _first(cols, names))]
            sel = [
                _quote(key_col),
                _quote(sid_col) if sid_col else "NULL",
                _quote(json_col) if json_col else "NULL",
            ]
            sel += [_quote(c) for _, c in fields]
            rows = self._rows(f"SELECT {', '.join(sel)} FROM {_quote(table)}")
            for row in rows:
                key, sid = row[0], row[1]
                if key is None:
                    continue
                entry: dict[str, Any] = {}
                if row[2] is not None:
                    raw = row[2] if isinstance(row[2], bytes) else str(row[2]).encode()
                    loaded = load_json(raw)
                    if not isinstance(loaded, LineError) and isinstance(loaded[0], dict):
                        entry = loaded[0]
                if sid is not None:  # the column wins over the JSON
                    entry["sessionId"] = _text(sid)
                elif not isinstance(entry.get("sessionId"), str):
                    continue
                for (name, _), value in zip(fields, row[3:], strict=True):
                    if value is not None and not isinstance(entry.get(name), str):
                        entry[name] = _text(value)
                for e in index_entries({_text(key): entry}):
                    prev = merged.get(e.session_id)
                    if prev is None:
                        merged[e.session_id] = e
                    else:
                        prev.label = prev.label or e.label
                        prev.channel = prev.channel or e.channel
                        prev.parent_key = prev.parent_key or e.parent_key
        return list(merged.values())


def stamp(payload: Sequence[Any]) -> str:
    """A row's stamp: CRC-32 and length of its stored payload (``event_json``, else
    ``event_zstd``). A row deleted and written again at the same ``seq`` (a rolled-back tail, a
    restored or rebuilt store) has another stamp; an untouched row keeps its stamp."""
    for v in payload:
        if v is not None:
            data = v if isinstance(v, bytes) else str(v).encode()
            return f"{zlib.crc32(data):08x}:{len(data)}"
    return ""


def _first(cols: list[str], names: tuple[str, ...]) -> str | None:
    for n in names:
        if n in cols:
            return n
    return None


def _quote(name: str | None) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _text(v: Any) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
