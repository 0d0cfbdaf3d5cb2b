"""SQLite-era transcripts (openclaw-format.md §11): a store in OpenClaw's layout, written by a
real concurrent writer in WAL mode while the ingestor reads it read-only. Exact totals after a
first ingest, new rows, rows the writer deletes (ours stay), import-archive copies of sessions
already read (counted once), zstd rows, stores without session tables, and a busy writer."""

from __future__ import annotations

import functools
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
import zstandard
from sqlalchemy import text

from ingestor import pipeline_extra
from ingestor.config import IngestSettings
from ingestor.daemon import build
from ingestor.reports import make_range, summary
from ingestor.sqlite_source import AgentStore

SID = "4f6b2c1e-8d3a-4b7e-9c21-5a0f3e7d9b10"  # the sample's session
KEY = "agent:main:telegram:dm:42"
SAMPLE_TOTALS = {  # tests/test_ingest_db.py: the sample file read as JSONL
    "sessions": 1,
    "llm_calls": 8,
    "failed_calls": 2,
    "input_tokens": 3911,
    "output_tokens": 838,
    "cache_read_tokens": 123025,
    "cache_write_tokens": 5392,
    "total_tokens": 133166,
    "tool_calls": 4,
    "tool_errors": 2,
}


class Writer:
    """OpenClaw's side: one connection that stays open (so -wal and -shm stay beside the
    file) with automatic checkpoints off, so new events live only in the WAL."""

    def __init__(self, state: Path, agent: str = "main", *, zstd: bool = False, nodes: bool = True):
        d = state / "agents" / agent / "agent"
        d.mkdir(parents=True, exist_ok=True)
        self.path = d / "openclaw-agent.sqlite"
        self.zstd = zstd
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA wal_autocheckpoint=0")
        self.conn.execute("PRAGMA user_version=4")
        cols = "session_id TEXT NOT NULL, seq INTEGER NOT NULL, event_json TEXT, "
        if zstd:
            cols += "event_zstd BLOB, event_utf8_bytes INTEGER, navigation_json TEXT, "
        self.conn.execute(
            f"CREATE TABLE transcript_events ({cols}created_at INTEGER NOT NULL, "
            "PRIMARY KEY(session_id, seq))"
        )
        if nodes:
            self.conn.execute(
                "CREATE TABLE session_nodes (session_key TEXT PRIMARY KEY, current_session_id "
                "TEXT, entry_json TEXT, parent_session_key TEXT, spawned_by TEXT, label TEXT, "
                "display_name TEXT, updated_at INTEGER)"
            )
            self.conn.execute(
                "CREATE TABLE session_windows (session_id TEXT PRIMARY KEY, session_key TEXT, "
                "previous_session_id TEXT, reason TEXT, channel TEXT, model_provider TEXT, "
                "model TEXT)"
            )

    def append(self, sid: str, lines: list[bytes], start: int = 0) -> None:
        cctx = zstandard.ZstdCompressor()
        self.conn.execute("BEGIN IMMEDIATE")
        for i, line in enumerate(lines, start):
            if self.zstd and i % 2 == 1:  # every other event compressed, as large ones are
                self.conn.execute(
                    "INSERT INTO transcript_events (session_id, seq, event_json, event_zstd, "
                    "event_utf8_bytes, created_at) VALUES (?,?,NULL,?,?,?)",
                    (sid, i, cctx.compress(line), len(line), 1),
                )
            else:
                self.conn.execute(
                    "INSERT INTO transcript_events (session_id, seq, event_json, created_at) "
                    "VALUES (?,?,?,?)",
                    (sid, i, line.decode(), 1),
                )
        self.conn.execute("COMMIT")

    def node(
        self, key: str, sid: str, entry: dict[str, Any], spawned_by: str | None = None
    ) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO session_nodes (session_key, current_session_id, entry_json, "
            "spawned_by, label) VALUES (?,?,?,?,?)",
            (key, sid, orjson.dumps(entry).decode(), spawned_by, entry.get("label")),
        )

    def close(self) -> None:
        self.conn.close()


def _totals(engine) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        s = summary(conn, make_range(None, None, "UTC"))
        roll = conn.execute(
            text("SELECT SUM(llm_calls), SUM(input_tokens) FROM usage_hourly")
        ).one()
        base = conn.execute(text("SELECT COUNT(*), SUM(input_tokens) FROM usage")).one()
        assert tuple(int(v or 0) for v in roll) == tuple(int(v or 0) for v in base)
    return {k: v for k, v in s.items() if k in SAMPLE_TOTALS}


def _reference(tmp_path: Path, lines: list[bytes]) -> dict[str, Any]:
    """The same lines read as a JSONL file into a fresh database: the oracle."""
    state = tmp_path / "ref" / "agents" / "main" / "sessions"
    state.mkdir(parents=True)
    (state / f"{SID}.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    url = f"sqlite:///{tmp_path / 'ref.sqlite'}"
    engine, pipe = build(IngestSettings(db_url=url, sources=(tmp_path / "ref",), host_id="h"))
    pipe.run_pass([tmp_path / "ref"])
    out = _totals(engine)
    engine.dispose()
    return out


def _one(engine, sql: str) -> Any:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar()


@pytest.mark.parametrize("zstd", [False, True], ids=["json", "zstd"])
def test_store_first_new_deleted_and_archive(
    db_url: str, tmp_path: Path, sample_lines: list[bytes], zstd: bool
) -> None:
    state = tmp_path / "state"
    w = Writer(state, zstd=zstd)
    try:
        w.node(KEY, SID, {"sessionId": SID, "label": "Alice", "channel": "telegram"})
        w.append(SID, sample_lines[:20])
        assert Path(str(w.path) + "-wal").stat().st_size > 0  # the events are in the WAL
        engine, pipe = build(IngestSettings(db_url=db_url, sources=(state,), host_id="h"))

        # first ingest: exactly what the same 20 lines give as a JSONL file
        s1 = pipe.run_pass([state])
        assert s1.errors == 0
        first = _reference(tmp_path, sample_lines[:20])
        assert 0 < first["llm_calls"] < 8
        assert _totals(engine) == first
        assert s1.calls == first["llm_calls"]
        assert _one(engine, f"SELECT key FROM sessions WHERE session_id = '{SID}'") == KEY
        assert _one(engine, f"SELECT kind FROM sessions WHERE session_id = '{SID}'") == "dm"
        assert _one(engine, f"SELECT label FROM sessions WHERE session_id = '{SID}'") == "Alice"
        assert _one(engine, "SELECT COUNT(*) FROM sources WHERE kind = 'sqlite_store'") == 1
        assert _one(engine, "SELECT position FROM source_cursors") == 19

        # nothing new: nothing read; a store changed < 2 s ago is looked at again (its -wal
        # may grow before the commit is visible), an older one is skipped on its signature
        s2 = pipe.run_pass([state])
        assert s2.lines == 0 and s2.files_read == 1
        for p in (w.path, Path(str(w.path) + "-wal")):
            old = p.stat().st_mtime - 10
            os.utime(p, (old, old))
        assert pipe.run_pass([state]).lines == 0
        assert pipe.run_pass([state]).files_unchanged == 1

        # new rows: read from the high-water mark only
        w.append(SID, sample_lines[20:], start=20)
        s3 = pipe.run_pass([state])
        assert s3.lines == len(sample_lines) - 20 and s3.errors == 0
        assert _totals(engine) == SAMPLE_TOTALS
        assert _one(engine, "SELECT position FROM source_cursors") == len(sample_lines) - 1

        # OpenClaw deletes the session from its store: our rows stay
        w.conn.execute("DELETE FROM transcript_events WHERE session_id = ?", (SID,))
        w.conn.execute("DELETE FROM session_nodes")
        s4 = pipe.run_pass([state])
        assert s4.errors == 0
        assert _totals(engine) == SAMPLE_TOTALS

        # an import-archive JSONL copy of the same session: the same calls, counted once
        arch = state / "agents" / "main" / "sessions" / "session-sqlite-import-archive"
        arch.mkdir(parents=True)
        (arch / f"{SID}.jsonl").write_bytes(b"\n".join(sample_lines) + b"\n")
        s5 = pipe.run_pass([state])
        assert s5.calls == 0 and s5.errors == 0
        assert _totals(engine) == SAMPLE_TOTALS
        # no schema warning for a store with session tables
        assert _one(engine, "SELECT COUNT(*) FROM ingest_errors") == 0
    finally:
        w.close()


def test_jsonl_first_then_store_and_archive(
    db_url: str, tmp_path: Path, sample_lines: list[bytes]
) -> None:
    """The upgrade path: a JSONL transcript read before 2026.7.2, then imported into the store
    and renamed into the import archive (plus a copy): every call once."""
    state = tmp_path / "state"
    sessions = state / "agents" / "main" / "sessions"
    sessions.mkdir(parents=True)
    live = sessions / f"{SID}.jsonl"
    live.write_bytes(b"\n".join(sample_lines[:25]) + b"\n")
    engine, pipe = build(IngestSettings(db_url=db_url, sources=(state,), host_id="h"))
    pipe.run_pass([state])
    before = _totals(engine)

    w = Writer(state, zstd=True)
    try:
        w.append(SID, sample_lines)  # the import, then new events
        arch = sessions / "session-sqlite-import-archive"
        arch.mkdir()
        live.rename(arch / live.name)
        (arch / f"{SID}.copy.jsonl").write_bytes(b"\n".join(sample_lines) + b"\n")
        s = pipe.run_pass([state])
        assert s.errors == 0
        assert s.calls == SAMPLE_TOTALS["llm_calls"] - before["llm_calls"]
        assert _totals(engine) == SAMPLE_TOTALS
        assert _one(engine, "SELECT COUNT(*) FROM messages WHERE entry_type = 'session'") == 0
    finally:
        w.close()


def _call(i: int, tag: str) -> bytes:
    ts = 1772452800000 + i * 1000
    iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts // 1000)) + f".{ts % 1000:03d}Z"
    return orjson.dumps(
        {
            "type": "message",
            "id": f"{tag}{i:07d}",
            "parentId": None,
            "timestamp": iso,
            "message": {
                "role": "assistant",
                "content": [{"type": "text", "text": "ok"}],
                "api": "anthropic-messages",
                "provider": "anthropic",
                "model": "claude-sonnet-4-5",
                "usage": {"input": 1, "output": 2, "cacheRead": 0, "cacheWrite": 0},
                "stopReason": "stop",
                "timestamp": ts,
            },
        }
    )


def _header(sid: str) -> bytes:
    return orjson.dumps(
        {"type": "session", "version": 3, "id": sid, "timestamp": "2026-03-02T12:00:00.000Z"}
    )


def test_no_session_tables_warns_once(db_url: str, tmp_path: Path) -> None:
    state = tmp_path / "state"
    w = Writer(state, agent="ops", nodes=False)
    try:
        w.append("s-ops", [_header("s-ops"), *(_call(i, "o") for i in range(5))])
        w.conn.execute(
            "INSERT INTO transcript_events (session_id, seq, event_json, created_at) "
            "VALUES ('s-ops', 6, '{not json', 1)"
        )
        engine, pipe = build(IngestSettings(db_url=db_url, sources=(state,), host_id="h"))
        s1 = pipe.run_pass([state])
        assert s1.calls == 5 and s1.errors == 1 and s1.warnings == 1
        w.append("s-ops", [_call(i, "o") for i in range(7, 9)], start=7)
        s2 = pipe.run_pass([state])
        assert s2.calls == 2
        assert _one(engine, "SELECT COUNT(*) FROM usage") == 7
        assert _one(engine, "SELECT agent_id FROM sessions") == "ops"
        assert _one(engine, "SELECT kind FROM sessions") == "unknown"
        warns = _one(engine, "SELECT COUNT(*) FROM ingest_errors WHERE severity = 'warning'")
        assert warns == 1  # one per store, not one per pass
        assert _one(engine, "SELECT line_offset FROM ingest_errors WHERE severity = 'error'") == 6
    finally:
        w.close()


def test_unknown_schema_never_fails(sqlite_url: str, tmp_path: Path) -> None:
    state = tmp_path / "state"
    d = state / "agents" / "main" / "agent"
    d.mkdir(parents=True)
    conn = sqlite3.connect(d / "openclaw-agent.sqlite")
    conn.execute("CREATE TABLE transcript_events (session_id TEXT, seq INTEGER, blob_v9 BLOB)")
    conn.execute("CREATE TABLE session_nodes (k TEXT, v TEXT)")
    conn.commit()
    conn.close()
    (state / "agents" / "x" / "agent").mkdir(parents=True)
    (state / "agents" / "x" / "agent" / "openclaw-agent.sqlite").write_bytes(b"not a db" * 100)
    engine, pipe = build(IngestSettings(db_url=sqlite_url, sources=(state,), host_id="h"))
    s = pipe.run_pass([state])
    assert s.warnings == 1 and s.errors == 1
    reasons = _one(engine, "SELECT group_concat(reason, ' | ') FROM ingest_errors")
    assert "neither event_json nor event_zstd" in reasons and "store unreadable" in reasons


def test_busy_writer(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state"
    w = Writer(state)
    try:
        w.append("s1", [_header("s1"), *(_call(i, "a") for i in range(3))])
        engine, pipe = build(IngestSettings(db_url=sqlite_url, sources=(state,), host_id="h"))

        # a write transaction held open while we read: we see the committed rows
        w.conn.execute("BEGIN IMMEDIATE")
        w.conn.execute(
            "INSERT INTO transcript_events (session_id, seq, event_json, created_at) "
            "VALUES ('s1', 4, ?, 1)",
            (_call(3, "a").decode(),),
        )
        s1 = pipe.run_pass([state])
        assert s1.calls == 3 and s1.errors == 0
        w.conn.execute("COMMIT")
        assert pipe.run_pass([state]).calls == 1

        # an exclusive lock (no readers at all) for longer than our retries: the pass backs
        # off and ends without failing; the next pass reads what was written meanwhile
        monkeypatch.setattr(
            pipeline_extra, "AgentStore", functools.partial(AgentStore, retries=2, backoff=0.02)
        )
        w.conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        w.append("s1", [_call(i, "a") for i in range(4, 6)], start=5)
        t0 = time.monotonic()
        s2 = pipe.run_pass([state])
        assert time.monotonic() - t0 < 3 and s2.errors == 0 and s2.calls == 0
        w.conn.execute("PRAGMA locking_mode=NORMAL")
        w.conn.execute("SELECT COUNT(*) FROM transcript_events").fetchall()  # releases the lock

        # a lock released while we back off: the same pass succeeds
        monkeypatch.setattr(pipeline_extra, "AgentStore", AgentStore)
        w.conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        w.append("s1", [_call(6, "a")], start=7)

        def release() -> None:
            time.sleep(0.3)
            w.conn.execute("PRAGMA locking_mode=NORMAL")
            w.conn.execute("SELECT 1 FROM transcript_events LIMIT 1").fetchall()

        th = threading.Thread(target=release)
        th.start()
        s3 = pipe.run_pass([state])
        th.join()
        assert s3.calls == 3 and s3.errors == 0
        assert _one(engine, "SELECT COUNT(*) FROM usage") == 7
    finally:
        w.close()


def test_concurrent_writer_is_not_blocked(db_url: str, tmp_path: Path) -> None:
    """A writer appending with a 100 ms busy timeout while passes run: it never fails and
    never waits long; after it stops, one more pass gives the exact totals."""
    state = tmp_path / "state"
    w = Writer(state)
    w.conn.execute("PRAGMA busy_timeout=100")
    w.append("big", [_header("big"), *(_call(i, "b") for i in range(5000))])
    w.node("agent:main:main", "big", {"sessionId": "big"})
    engine, pipe = build(IngestSettings(db_url=db_url, sources=(state,), host_id="h"))
    stop = threading.Event()
    waits: list[float] = []
    failures: list[BaseException] = []
    written = [0]

    def write() -> None:
        i = 0
        try:
            while not stop.is_set():
                t0 = time.monotonic()
                w.append("live", [_header("live")] if i == 0 else [_call(i, "l")], start=i)
                waits.append(time.monotonic() - t0)
                i += 1
                written[0] = i
                time.sleep(0.002)
        except BaseException as exc:  # reported below
            failures.append(exc)

    th = threading.Thread(target=write)
    th.start()
    try:
        for _ in range(3):
            pipe.run_pass([state])
    finally:
        stop.set()
        th.join()
    try:
        assert not failures
        assert max(waits) < 0.5
        pipe.run_pass([state])
        assert _one(engine, "SELECT COUNT(*) FROM usage") == 5000 + written[0] - 1
        assert _one(engine, "SELECT kind FROM sessions WHERE session_id = 'big'") == "main"
    finally:
        w.close()


def test_session_ids_from_the_entry_json(sqlite_url: str, tmp_path: Path) -> None:
    """A session table may hold the key and the SessionEntry JSON only (format spec §11): its
    sessionId maps the key."""
    state = tmp_path / "state"
    w = Writer(state, agent="ops", nodes=False)
    try:
        w.conn.execute("CREATE TABLE session_nodes (session_key TEXT PRIMARY KEY, entry_json TEXT)")
        entry = {"sessionId": "s-q1", "spawnedBy": "agent:ops:main", "label": "helper"}
        w.conn.execute(
            "INSERT INTO session_nodes VALUES (?, ?)",
            ("agent:ops:subagent:q1", orjson.dumps(entry).decode()),
        )
        w.append("s-q1", [_header("s-q1"), _call(1, "q")])
        engine, pipe = build(IngestSettings(db_url=sqlite_url, sources=(state,), host_id="h"))
        s = pipe.run_pass([state])
        assert (s.calls, s.warnings) == (1, 0)
        with engine.connect() as conn:
            row = conn.execute(text("SELECT key, kind, label, parent_key FROM sessions")).one()
        assert tuple(row) == ("agent:ops:subagent:q1", "subagent", "helper", "agent:ops:main")
    finally:
        w.close()


def _calls_by_id(engine) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return {
            str(e): int(i)
            for e, i in conn.execute(text("SELECT entry_id, input_tokens FROM usage"))
        }


def _call_in(i: int, tag: str, inp: int) -> bytes:
    return _call(i, tag).replace(b'"input":1,', f'"input":{inp},'.encode())


def test_rows_written_again_below_the_cursor_are_read(sqlite_url: str, tmp_path: Path) -> None:
    """A rolled-back tail written again at seqs already read (same head, or a longer one), and
    a store file replaced by another whose rows reuse the seqs: every new call is read, every
    call read before stays, none counts twice."""
    state = tmp_path / "state"
    w = Writer(state)
    try:
        w.append("s-rb", [_header("s-rb"), *(_call_in(i, "a", 10) for i in range(1, 6))])
        engine, pipe = build(IngestSettings(db_url=sqlite_url, sources=(state,), host_id="h"))
        assert pipe.run_pass([state]).calls == 5
        before = _calls_by_id(engine)

        # the last row rolled back and written again: same head (5), another call
        w.conn.execute("DELETE FROM transcript_events WHERE session_id = 's-rb' AND seq = 5")
        w.append("s-rb", [_call_in(5, "b", 200)], start=5)
        assert pipe.run_pass([state]).calls == 1
        assert _calls_by_id(engine) == {**before, "b0000005": 200}

        # two rows rolled back, three written: seqs 4..6, a longer head
        w.conn.execute("DELETE FROM transcript_events WHERE session_id = 's-rb' AND seq >= 4")
        w.append("s-rb", [_call_in(i, "c", 3000) for i in (4, 5, 6)], start=4)
        assert pipe.run_pass([state]).calls == 3
        got = _calls_by_id(engine)
        assert len(got) == 9 and sum(got.values()) == 5 * 10 + 200 + 3 * 3000
        assert _one(engine, "SELECT position FROM source_cursors") == 6

        # nothing changed: nothing read again
        assert pipe.run_pass([state]).lines == 0

        # the store replaced by another file whose session reuses seqs 0..2 with new calls
        live = w.path
        w.close()
        other = tmp_path / "other"
        w = Writer(other)
        w.append("s-rb", [_header("s-rb"), _call_in(1, "d", 40000), _call_in(2, "d", 40000)])
        w.close()
        os.replace(w.path, live)
        w = Writer.__new__(Writer)  # nothing left open for the finally
        w.conn = sqlite3.connect(":memory:")
        s = pipe.run_pass([state])
        assert s.calls == 2 and s.errors == 0
        got = _calls_by_id(engine)
        assert len(got) == 11 and sum(got.values()) == 5 * 10 + 200 + 3 * 3000 + 2 * 40000
        assert _one(engine, "SELECT position FROM source_cursors") == 2
        with engine.connect() as conn:
            roll = conn.execute(text("SELECT SUM(input_tokens) FROM usage_hourly")).scalar()
        assert roll == sum(got.values())
    finally:
        w.close()


def test_a_sub_agent_parent_is_its_keys_current_session(sqlite_url: str, tmp_path: Path) -> None:
    """session_windows keeps a key's older (reset) sessions; spawnedBy names the key, whose
    session is the current one in session_nodes."""
    state = tmp_path / "state"
    w = Writer(state)
    try:
        for sid in ("s-old", "s-cur", "s-sub"):
            w.append(sid, [_header(sid), _call(1, sid[2:])])
        w.node("agent:main:main", "s-cur", {"sessionId": "s-cur"})
        w.node("agent:main:subagent:x", "s-sub", {"sessionId": "s-sub"}, "agent:main:main")
        w.conn.execute(
            "INSERT INTO session_windows (session_id, session_key, reason) VALUES "
            "('s-old', 'agent:main:main', 'reset'), ('s-cur', 'agent:main:main', NULL)"
        )
        engine, pipe = build(IngestSettings(db_url=sqlite_url, sources=(state,), host_id="h"))
        assert pipe.run_pass([state]).calls == 3
        assert (
            _one(engine, "SELECT parent_session_id FROM sessions WHERE session_id = 's-sub'")
            == "s-cur"
        )
        assert _one(engine, "SELECT key FROM sessions WHERE session_id = 's-old'") == (
            "agent:main:main"
        )
    finally:
        w.close()


def test_a_cursor_from_before_its_stamps_gets_one_without_a_reread(
    sqlite_url: str, tmp_path: Path
) -> None:
    """Cursors written before revision 0006 have no stamp: the next pass stamps them from the
    store as it is (nothing read again) and later rewrites below them are seen."""
    state = tmp_path / "state"
    w = Writer(state)
    try:
        w.append("s-old", [_header("s-old"), *(_call_in(i, "a", 10) for i in range(1, 4))])
        engine, pipe = build(IngestSettings(db_url=sqlite_url, sources=(state,), host_id="h"))
        assert pipe.run_pass([state]).calls == 3
        with engine.begin() as conn:
            conn.execute(text("UPDATE source_cursors SET position_ref = NULL"))
            conn.execute(text("UPDATE sources SET size = NULL"))  # the store looks changed
        pipe.reload()  # and the pipeline sees both
        s = pipe.run_pass([state])
        assert (s.lines, s.calls) == (0, 0)
        assert _one(engine, "SELECT position_ref FROM source_cursors") is not None
        w.conn.execute("DELETE FROM transcript_events WHERE seq = 3")
        w.append("s-old", [_call_in(3, "b", 500)], start=3)
        assert pipe.run_pass([state]).calls == 1
        assert sum(_calls_by_id(engine).values()) == 3 * 10 + 500
    finally:
        w.close()
