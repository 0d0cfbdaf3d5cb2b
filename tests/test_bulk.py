"""Bulk loads (ingestor/bulk.py): a first ingest into an empty SQLite database that builds the
secondary indexes at its end gives exactly the database an ordinary ingest gives, row for row,
rollups and session spans included; it leaves every index in place; and a real ingest process
SIGKILLed in the middle of one is finished by the next run, still row for row.

The generated state dir has fork files that copy their parents' calls, archives, ``.zst``,
missing tool results and quirk lines; batches of 7 lines make most tool calls and their
results land in different commits (the pairing a bulk load defers to its end)."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, text

from ingestor import bulk, rollups
from ingestor.config import IngestSettings
from ingestor.daemon import build
from ingestor.demo import DemoOptions, Expected, generate
from ingestor.reports import make_range, summary
from ingestor.schema import metadata

REPO = Path(__file__).resolve().parents[1]
CLI = REPO / ".venv" / "bin" / "agentbox-telemetry"

#: A column that records when a row was written, not what it says.
VOLATILE = ("sessions", "updated_ms")
TABLES = ("sessions", "messages", "usage", "tool_calls", *rollups.ALL_ROLLUPS)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Expected]:
    out = tmp_path_factory.mktemp("bulk") / "state"
    return out, generate(out, DemoOptions(seed=5, days=4))


def _dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in TABLES:
            cols = [c.name for c in metadata.tables[table].columns if (table, c.name) != VOLATILE]
            rows = conn.execute(text(f"SELECT {', '.join(cols)} FROM {table}")).all()
            out[table] = sorted(
                (tuple(round(v, 9) if isinstance(v, float) else v for v in r) for r in rows),
                key=repr,
            )
    return out


def _ingest(state: Path, db: Path, bulk_min_bytes: int, batch_lines: int) -> Engine:
    engine, pipe = build(
        IngestSettings(
            db_url=f"sqlite:///{db}",
            sources=(state,),
            host_id="h",
            batch_lines=batch_lines,
            bulk_min_bytes=bulk_min_bytes,
        )
    )
    pipe.run_pass([state])
    return engine


def _indexes(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return {
            n for (n,) in conn.execute(text("SELECT name FROM sqlite_master WHERE type='index'"))
        }


def _no_schema_drift(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, metadata) == []


@pytest.mark.parametrize("batch_lines", [7, 5_000])
def test_bulk_load_equals_an_ordinary_ingest(
    demo: tuple[Path, Expected], tmp_path: Path, batch_lines: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "state"
    shutil.copytree(demo[0], state)
    ordinary = _ingest(state, tmp_path / "ordinary.sqlite", -1, batch_lines)

    started: list[bool] = []
    real_start = bulk.start
    monkeypatch.setattr(bulk, "start", lambda conn: (started.append(True), real_start(conn)))
    loaded = _ingest(state, tmp_path / "bulk.sqlite", 0, batch_lines)
    assert started == [True]

    want, got = _dump(ordinary), _dump(loaded)
    for table in TABLES:
        assert got[table] == want[table], table
    with loaded.connect() as conn:
        s = summary(conn, make_range(None, None, "UTC"))
        missing = conn.execute(
            text("SELECT COUNT(*) FROM tool_calls WHERE status = 'missing'")
        ).scalar()
    exp = demo[1]
    assert (s["llm_calls"], s["tool_calls"], s["tool_errors"], missing) == (
        exp.llm_calls,
        exp.tool_calls,
        exp.tool_errors,
        exp.tool_missing,
    )
    assert set(bulk.DEFERRED) <= _indexes(loaded)
    _no_schema_drift(loaded)
    with loaded.begin() as conn:
        assert not bulk.pending(conn)
        rollups.rebuild_all(conn)
    assert _dump(loaded) == got  # every rollup is the aggregate of its base rows


def test_small_first_pass_and_later_passes_are_not_bulk_loads(
    demo: tuple[Path, Expected], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under the size limit, and on a database that holds messages, a pass keeps its indexes."""
    started: list[bool] = []
    monkeypatch.setattr(bulk, "start", lambda conn: started.append(True))
    state = tmp_path / "state"
    shutil.copytree(demo[0], state)
    size = sum(p.stat().st_size for p in state.rglob("*") if p.is_file())
    _, pipe = build(
        IngestSettings(f"sqlite:///{tmp_path / 'a.sqlite'}", (state,), "h", bulk_min_bytes=size)
    )
    pipe.run_pass([state])  # under the limit (the limit counts transcript bytes only)
    assert started == []
    pipe.bulk_min_bytes = 0
    (state / "agents" / "main" / "sessions" / "late.jsonl").write_bytes(
        b'{"type":"session","version":3,"id":"late","timestamp":"2026-10-02T00:00:00.000Z"}\n'
    )
    pipe.run_pass([state])  # messages stored already
    assert started == []


def test_start_and_finish_are_idempotent(tmp_path: Path) -> None:
    engine, pipe = build(IngestSettings(f"sqlite:///{tmp_path / 'a.sqlite'}", (tmp_path,), "h"))
    with engine.begin() as conn:
        assert bulk.is_empty(conn) and not bulk.pending(conn)
        bulk.start(conn)
        bulk.start(conn)
        assert bulk.pending(conn)
    assert not set(bulk.DEFERRED) & _indexes(engine)
    with engine.begin() as conn:  # as if killed after the first of the index transactions
        bulk._indexes()[0].create(conn)
        assert bulk.pending(conn)
    bulk.finish(engine, pipe.store, resumed=True)
    bulk.finish(engine, pipe.store, resumed=True)
    with engine.connect() as conn:
        assert not bulk.pending(conn)
    _no_schema_drift(engine)


def _stored_messages(db: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=2)
    except sqlite3.Error:
        return 0
    try:
        return int(conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0])
    except sqlite3.Error:
        return 0
    finally:
        conn.close()


@pytest.mark.timeout(180)
def test_sigkill_during_a_bulk_load_then_restart(tmp_path: Path) -> None:
    """A real ingest process is killed once rows are committed and the indexes are still
    deferred; the next run finishes the load and reads the rest: the database equals an
    ordinary ingest's, row for row."""
    assert CLI.exists(), CLI
    state = tmp_path / "state"
    generate(state, DemoOptions(seed=9, target_bytes=40_000_000))
    db = tmp_path / "killed.sqlite"
    argv = [str(CLI), "ingest", "--db", f"sqlite:///{db}", "--source", str(state), "-q"]
    argv += ["--host-id", "h", "--bulk-min-mb", "1"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _stored_messages(db) == 0 and proc.poll() is None:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the ingest ended before it could be killed"
    killed_at = _stored_messages(db)
    engine, _ = build(IngestSettings(f"sqlite:///{db}", (state,), "h"))
    with engine.connect() as conn:
        assert bulk.pending(conn)  # killed inside the bulk load
    assert 0 < killed_at

    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with engine.connect() as conn:
        assert not bulk.pending(conn)
    _no_schema_drift(engine)
    ordinary = _ingest(state, tmp_path / "ordinary.sqlite", -1, 5_000)
    want, got = _dump(ordinary), _dump(engine)
    for table in TABLES:
        assert got[table] == want[table], table
    assert _stored_messages(db) > killed_at


CALL = (
    '{"type":"message","id":"a%d","parentId":null,"timestamp":"2026-10-01T0%d:00:01.000Z",'
    '"message":{"role":"assistant","provider":"anthropic","model":"claude-sonnet-4-5",'
    '"api":"anthropic-messages","stopReason":"stop","content":[{"type":"text","text":"ok"}],'
    '"usage":{"input":10,"output":5,"cacheRead":0,"cacheWrite":0,"totalTokens":15,'
    '"cost":{"total":0.001}}}}\n'
)


def test_a_kind_learnt_late_in_a_bulk_load(tmp_path: Path) -> None:
    """Calls committed before the session's cron prompt is read: the session-less rollups
    (grouped by kind) are corrected at the end of the load, as an ordinary ingest corrects
    them at once."""
    sessions = tmp_path / "state" / "agents" / "main" / "sessions"
    sessions.mkdir(parents=True)
    lines = [
        '{"type":"session","version":3,"id":"s1","timestamp":"2026-10-01T00:00:00.000Z"}\n',
        CALL % (1, 1),
        CALL % (2, 2),
        '{"type":"message","id":"u1","parentId":"a2","timestamp":"2026-10-01T03:00:00.000Z",'
        '"message":{"role":"user","content":"[cron:job1 nightly] run"}}\n',
    ]
    (sessions / "s1.jsonl").write_text("".join(lines))
    ordinary = _ingest(tmp_path / "state", tmp_path / "ordinary.sqlite", -1, 2)
    loaded = _ingest(tmp_path / "state", tmp_path / "bulk.sqlite", 0, 2)
    with loaded.connect() as conn:
        kinds = conn.execute(text("SELECT DISTINCT kind FROM model_hourly")).scalars().all()
    assert kinds == ["cron"]
    assert _dump(loaded) == _dump(ordinary)


def test_a_bulk_load_of_an_agent_store_and_its_archive(
    tmp_path: Path, sample_lines: list[bytes]
) -> None:
    """The SQLite-era store and an import-archive JSONL copy of the same session, in batches
    of 3 lines: the bulk load equals an ordinary ingest (calls once, every result paired)."""
    from test_sqlite_store import KEY, SID, Writer

    state = tmp_path / "state"
    w = Writer(state, zstd=True)
    try:
        w.node(KEY, SID, {"sessionId": SID, "label": "Alice", "channel": "telegram"})
        w.append(SID, sample_lines)
        arch = state / "agents" / "main" / "sessions" / "session-sqlite-import-archive"
        arch.mkdir(parents=True)
        (arch / f"{SID}.jsonl").write_bytes(b"\n".join(sample_lines[:25]) + b"\n")
        ordinary = _ingest(state, tmp_path / "ordinary.sqlite", -1, 3)
        loaded = _ingest(state, tmp_path / "bulk.sqlite", 0, 3)
    finally:
        w.close()
    with loaded.connect() as conn:
        s = summary(conn, make_range(None, None, "UTC"))
    assert (s["llm_calls"], s["tool_calls"], s["tool_errors"]) == (8, 4, 2)
    assert _dump(loaded) == _dump(ordinary)
