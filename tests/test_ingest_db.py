"""The same ingest on SQLite and on PostgreSQL gives the same exact numbers: the sample file,
its fork (copies counted once, owned by the parent), a second pass with nothing new, and the
rollups equal to the base tables."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import text

from ingestor.config import IngestSettings
from ingestor.daemon import build
from ingestor.reports import make_range, summary

SID = "4f6b2c1e-8d3a-4b7e-9c21-5a0f3e7d9b10"
FORK = "9a1b2c3d-0000-4000-8000-000000000001"

SAMPLE_TOTALS = {
    "sessions": 1,
    "llm_calls": 8,
    "failed_calls": 2,
    "input_tokens": 3911,
    "output_tokens": 838,
    "cache_read_tokens": 123025,
    "cache_write_tokens": 5392,
    "total_tokens": 133166,
    "logged_cost_usd": 0.0737609,
    "tool_calls": 4,
    "tool_errors": 2,
}


def _state(tmp_path: Path, sample_lines: list[bytes], fork: bool) -> Path:
    d = tmp_path / "state" / "agents" / "main" / "sessions"
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{SID}.jsonl").write_bytes(b"\n".join(sample_lines) + b"\n")
    if fork:
        header = (
            b'{"type":"session","version":3,"id":"' + FORK.encode() + b'",'
            b'"timestamp":"2026-03-02T12:00:00.000Z","cwd":"/w","parentSession":"'
            + str(d / f"{SID}.jsonl").encode()
            + b'"}'
        )
        own = (
            b'{"type":"message","id":"aa00aa00","parentId":"6dfa0b1c",'
            b'"timestamp":"2026-03-02T12:00:05.000Z","message":{"role":"assistant",'
            b'"content":[],"api":"anthropic-messages","provider":"anthropic",'
            b'"model":"claude-sonnet-4-5","usage":{"input":10,"output":20,"cacheRead":0,'
            b'"cacheWrite":0,"totalTokens":30,"cost":{"total":0.5}},"stopReason":"stop",'
            b'"timestamp":1772452804000}}'
        )
        name = f"2026-03-02T12-00-00-000Z_{FORK}.jsonl"
        (d / name).write_bytes(b"\n".join([header, *sample_lines[1:], own]) + b"\n")
    return tmp_path / "state"


def _totals(engine) -> dict:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        s = summary(conn, make_range(None, None, "UTC"))
        roll = conn.execute(
            text("SELECT SUM(llm_calls), SUM(input_tokens), SUM(cost) FROM usage_hourly")
        ).one()
        base = conn.execute(text("SELECT COUNT(*), SUM(input_tokens), SUM(cost) FROM usage")).one()
        assert (int(roll[0]), int(roll[1])) == (int(base[0]), int(base[1]))
        assert abs(float(roll[2]) - float(base[2])) < 1e-9
        tools = conn.execute(text("SELECT SUM(calls), SUM(errors) FROM tool_hourly")).one()
        assert (int(tools[0]), int(tools[1])) == (s["tool_calls"], s["tool_errors"])
    return {k: v for k, v in s.items() if k in SAMPLE_TOTALS}


def test_sample_totals_on_both_databases(
    db_url: str, tmp_path: Path, sample_lines: list[bytes]
) -> None:
    state = _state(tmp_path, sample_lines, fork=False)
    engine, pipe = build(IngestSettings(db_url=db_url, sources=(state,), host_id="h"))
    stats = pipe.run_pass([state])
    assert stats.calls == 8 and stats.errors == 0
    got = _totals(engine)
    assert got.pop("logged_cost_usd") == SAMPLE_TOTALS["logged_cost_usd"]
    assert got == {k: v for k, v in SAMPLE_TOTALS.items() if k != "logged_cost_usd"}
    again = pipe.run_pass([state])
    assert again.files_unchanged == 1 and again.lines == 0
    assert _totals(engine) == {**got, "logged_cost_usd": 0.0737609}


def test_fork_counts_copies_once(db_url: str, tmp_path: Path, sample_lines: list[bytes]) -> None:
    state = _state(tmp_path, sample_lines, fork=True)
    engine, pipe = build(IngestSettings(db_url=db_url, sources=(state,), host_id="h"))
    pipe.run_pass([state])
    got = _totals(engine)
    assert got["llm_calls"] == 9
    assert got["input_tokens"] == 3911 + 10
    assert got["sessions"] == 2
    with engine.connect() as conn:
        per = dict(
            conn.execute(text("SELECT session_id, COUNT(*) FROM usage GROUP BY session_id")).all()
        )
        parent = conn.execute(
            text("SELECT parent_session_id FROM sessions WHERE session_id = :s"), {"s": FORK}
        ).scalar()
    assert per == {SID: 8, FORK: 1}
    assert parent == SID


def _rollup_snapshot(conn) -> list:  # type: ignore[no-untyped-def]
    rows = conn.execute(
        text(
            "SELECT hour_ms, agent_id, kind, provider, model, llm_calls, input_tokens "
            "FROM model_hourly ORDER BY 1, 2, 3, 4, 5"
        )
    ).all()
    tools = conn.execute(
        text(
            "SELECT hour_ms, agent_id, kind, tool_name, calls, errors FROM tool_name_hourly "
            "ORDER BY 1, 2, 3, 4"
        )
    ).all()
    return [tuple(r) for r in rows] + [tuple(r) for r in tools]


def test_kind_learnt_later_moves_the_session_less_rollups(
    db_url: str, tmp_path: Path, sample_lines: list[bytes]
) -> None:
    """sessions.json read after the transcript turns kind 'unknown' into 'subagent': the
    rollups grouped by kind follow, equal to a full rebuild."""
    from ingestor import rollups

    state = _state(tmp_path, sample_lines, fork=False)
    engine, pipe = build(IngestSettings(db_url=db_url, sources=(state,), host_id="h"))
    pipe.run_pass([state])
    with engine.connect() as conn:
        kinds = {r[0] for r in conn.execute(text("SELECT DISTINCT kind FROM model_hourly"))}
    assert kinds == {"unknown"}
    index = state / "agents" / "main" / "sessions" / "sessions.json"
    entry = {"sessionId": SID, "updatedAt": 1, "spawnedBy": "agent:main:main"}
    index.write_text(json.dumps({"agent:main:subagent:x": entry}))
    pipe.run_pass([state])
    with engine.begin() as conn:
        got = _rollup_snapshot(conn)
        rollups.rebuild_all(conn)
        assert got == _rollup_snapshot(conn)
        kinds = {r[0] for r in conn.execute(text("SELECT DISTINCT kind FROM model_hourly"))}
    assert kinds == {"subagent"}


def test_files_are_read_oldest_first(tmp_path: Path, sample_lines: list[bytes]) -> None:
    """A pass reads (and registers) files by modification time, oldest first, whatever their
    names: the rows of files written at about the same time land together."""
    import os

    d = tmp_path / "state" / "agents" / "main" / "sessions"
    d.mkdir(parents=True)
    ages = {"a": 2_000, "b": 3_000, "c": 1_000}  # seconds since the epoch: c, a, b
    for name, secs in ages.items():
        sid = f"{name * 8}-0000-4000-8000-000000000000"
        p = d / f"{sid}.jsonl"
        p.write_bytes(b"\n".join(sample_lines) + b"\n")
        os.utime(p, (secs, secs))
    engine, pipe = build(
        IngestSettings(f"sqlite:///{tmp_path / 'o.sqlite'}", (tmp_path,), host_id="h")
    )
    pipe.run_pass([tmp_path / "state"])
    with engine.connect() as conn:
        paths = conn.execute(
            text("SELECT path FROM sources WHERE kind = 'jsonl' ORDER BY id")
        ).scalars()
        assert [Path(p).name[0] for p in paths] == ["c", "a", "b"]
    engine.dispose()


def test_nul_characters_and_long_names_on_both_databases(db_url: str, tmp_path: Path) -> None:
    """PostgreSQL refused a NUL in any text and any id or name over its old VARCHAR limit,
    and with it the whole batch at every pass; SQLite took both. Both now count the same."""
    sid = "b" * 150  # a session id from a long file name
    d = tmp_path / "state" / "agents" / "main" / "sessions"
    d.mkdir(parents=True)
    lines = [
        {"type": "session", "version": 3, "id": sid, "timestamp": "2026-04-10T09:00:00.000Z"},
        {"type": "message", "id": "u1", "parentId": None, "timestamp": "2026-04-10T09:00:01.000Z",
         "message": {"role": "user", "content": [{"type": "text", "text": "bin\u0000ary"}]}},
        {"type": "message", "id": "e" * 80, "parentId": "u1",
         "timestamp": "2026-04-10T09:00:05.000Z",
         "message": {"role": "assistant", "provider": "p" * 150, "model": "m" * 300,
                     "api": "a" * 80, "stopReason": "content_filter_blocked_by_the_provider",
                     "content": [{"type": "toolCall", "id": "t" * 300, "name": "exec",
                                  "arguments": {"command": "printf \u0000"}}],
                     "usage": {"input": 10, "output": 5, "cost": {"total": 0.25}}}},
        {"type": "message", "id": "r1", "parentId": "e" * 80,
         "timestamp": "2026-04-10T09:00:06.000Z",
         "message": {"role": "toolResult", "toolCallId": "t" * 300, "toolName": "exec",
                     "content": [{"type": "text", "text": "\u0000ELF"}], "isError": True}},
    ]  # fmt: skip
    (d / f"{sid}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    state = tmp_path / "state"
    engine, pipe = build(IngestSettings(db_url=db_url, sources=(state,), host_id="h"))
    stats = pipe.run_pass([state])
    assert (stats.calls, stats.errors) == (1, 0)
    with engine.connect() as conn:
        s = summary(conn, make_range(None, None, "UTC"))
        assert (s["llm_calls"], s["input_tokens"], s["logged_cost_usd"]) == (1, 10, 0.25)
        assert (s["tool_calls"], s["tool_errors"]) == (1, 1)
        row = conn.execute(text("SELECT session_id, provider, model, entry_id FROM usage")).one()
        assert tuple(map(len, row)) == (150, 150, 300, 80)  # whole, on both databases
        preview = conn.execute(text("SELECT text_preview FROM messages WHERE entry_id = 'u1'"))
        nul = "\ufffd" if engine.dialect.name == "postgresql" else "\x00"
        assert preview.scalar() == f"bin{nul}ary"
