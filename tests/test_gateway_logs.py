"""Gateway logs (openclaw-format.md §9): tslog lines parsed table-driven, tailed incrementally
into gateway_events, rotation followed, malformed lines recorded, a deleted file's rows kept,
and never any usage."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest
from sqlalchemy import text

from ingestor.config import IngestSettings
from ingestor.daemon import build
from ingestor.discover import classify_name
from ingestor.gateway_logs import MESSAGE_CHARS, GatewayEvent, LogLineError, parse_log_line

DOC_LINE = (
    b'{"0":"{\\"subsystem\\":\\"agent/embedded\\"}","1":"embedded run agent end: runId=8c2f',
    b'a1","_meta":{"runtime":"Nodejs","runtimeVersion":"v22.12.0","hostname":"mini","name":',
    b'"{\\"subsystem\\":\\"agent/embedded\\"}","parentNames":["openclaw"],"date":',
    b'"2026-03-02T09:14:13.402Z","logLevelId":2,"logLevelName":"DEBUG","path":{"fileName":',
    b'"subsystem.js","fileLine":"201"}},"time":"2026-03-02T09:14:13.402Z"}',
)
DOC = b"".join(DOC_LINE)
T0 = 1772442853402  # 2026-03-02T09:14:13.402Z


def _line(**kw: object) -> bytes:
    obj: dict[str, object] = {
        "0": '{"subsystem":"gateway"}',
        "_meta": {
            "hostname": "mini",
            "name": '{"subsystem":"gateway"}',
            "date": "2026-03-02T09:14:13.402Z",
            "logLevelId": 3,
            "logLevelName": "INFO",
        },
        "time": "2026-03-02T09:14:13.402Z",
    }
    obj.update(kw)
    return orjson.dumps(obj)


MID_2026 = _line(
    **{
        "1": {"agentId": "ops"},
        "2": "model-fetch done",
        "message": "[model-fetch] provider=anthropic status=200 latency=812ms",
        "hostname": "box2",
        "agent_id": "research",
        "session_id": "s-123",
        "traceId": "abc",
    }
)

CASES: list[tuple[str, bytes, GatewayEvent | str]] = [
    (
        "format doc example",
        DOC,
        GatewayEvent(
            T0,
            "DEBUG",
            2,
            "agent/embedded",
            "embedded run agent end: runId=8c2fa1",
            None,
            None,
            "8c2fa1",
            "mini",
        ),
    ),
    (
        "mid-2026 top-level fields win",
        MID_2026,
        GatewayEvent(
            T0,
            "INFO",
            3,
            "gateway",
            "[model-fetch] provider=anthropic status=200 latency=812ms",
            "research",
            "s-123",
            None,
            "box2",
        ),
    ),
    (
        "ids from the text, subsystem from _meta.name",
        orjson.dumps(
            {
                "0": "embedded run start: runId=r1 sessionId=s9 sessionKey=agent:Main:dm:42",
                "_meta": {"name": '{"subsystem":"agent/embedded"}', "logLevelName": "WARN"},
                "time": "2026-03-02T09:14:13.402Z",
            }
        ),
        GatewayEvent(
            T0,
            "WARN",
            4,
            "agent/embedded",
            "embedded run start: runId=r1 sessionId=s9 sessionKey=agent:Main:dm:42",
            "main",
            "s9",
            "r1",
            None,
        ),
    ),
    (
        "no time: _meta.date",
        orjson.dumps({"0": "hello", "_meta": {"date": "2026-03-02T09:14:13.402Z"}}),
        GatewayEvent(T0, None, None, None, "hello"),
    ),
    (
        "only an object argument",
        orjson.dumps({"0": {"a": 1}, "time": "2026-03-02T09:14:13.402Z", "runId": "rr"}),
        GatewayEvent(T0, None, None, None, '{"a":1}', None, None, "rr"),
    ),
    (
        "a single object spread into the top level: its msg",
        orjson.dumps(
            {"msg": "plain object spread", "sessionId": "s7", "time": "2026-03-02T09:14:13.402Z"}
        ),
        GatewayEvent(T0, None, None, None, "plain object spread", None, "s7"),
    ),
    (
        "a single object spread into the top level: its fields",
        orjson.dumps(
            {"event": "restart", "code": 3, "_meta": {"logLevelName": "WARN"}, "time": "x"}
            | {"time": "2026-03-02T09:14:13.402Z"}
        ),
        GatewayEvent(T0, "WARN", 4, None, '{"event":"restart","code":3}'),
    ),
    ("invalid JSON", b'{"0":"x", "time":', "invalid JSON"),
    ("not an object", b"[1,2]", "not a JSON object"),
    ("blank", b"   ", "blank line"),
    ("no time at all", b'{"0":"x"}', "without a valid 'time'"),
]


@pytest.mark.parametrize(("data", "want"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_parse_table(data: bytes, want: GatewayEvent | str) -> None:
    got = parse_log_line(data)
    if isinstance(want, str):
        assert isinstance(got, LogLineError) and want in got.reason
    else:
        assert got == want


def test_message_is_truncated() -> None:
    got = parse_log_line(_line(message="x" * 5000))
    assert isinstance(got, GatewayEvent) and len(got.message) == MESSAGE_CHARS


@pytest.mark.parametrize(
    "name",
    [
        "openclaw-2026-03-02.log",
        "openclaw-2026-03-02.1.log",
        "openclaw-work-2026-03-02.log",
        "openclaw-work-2026-03-02.3.log",
        "clawdbot-2026-01-02.log",
        "moltbot-2026-01-02.log",
        "openclaw.log",
    ],
)
def test_log_names(name: str) -> None:
    assert classify_name(name).kind == "gateway_log"


# -- ingest ------------------------------------------------------------------------------------


def _ev(i: int, level: str = "INFO", sub: str = "gateway", extra: str = "") -> bytes:
    return _line(
        **{
            "0": orjson.dumps({"subsystem": sub}).decode(),
            "1": f"line {i}{extra}",
            "_meta": {"logLevelName": level, "hostname": "mini"},
            "time": f"2026-03-02T09:{i // 60:02d}:{i % 60:02d}.000Z",
        }
    )


def _count(engine, sql: str) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar() or 0)


def test_ingest_rotation_errors_and_deletion(db_url: str, tmp_path: Path) -> None:
    logs = tmp_path / "openclaw"
    logs.mkdir()
    live = logs / "openclaw-2026-03-02.log"
    # three good lines, one malformed, a usage-looking line (never usage), a partial last line
    usage_like = _line(
        **{
            "1": "model.usage",
            "usage": {"input": 100, "output": 50, "cost": {"total": 1.0}},
            "provider": "anthropic",
            "model": "claude",
        }
    )
    live.write_bytes(
        b"\n".join([_ev(0), _ev(1, "ERROR"), b"{not json", usage_like, _ev(2)])
        + b"\n"
        + _ev(3)[:20]
    )
    engine, pipe = build(IngestSettings(db_url=db_url, sources=(logs,), host_id="h"))
    s1 = pipe.run_pass([logs])
    assert s1.errors == 1 and s1.calls == 0
    assert _count(engine, "SELECT COUNT(*) FROM gateway_events") == 4
    assert _count(engine, "SELECT COUNT(*) FROM gateway_events WHERE level = 'ERROR'") == 1
    assert _count(engine, "SELECT COUNT(*) FROM ingest_errors WHERE severity = 'error'") == 1
    assert _count(engine, "SELECT errors FROM sources WHERE kind = 'gateway_log'") == 1
    # a log holds every agent's lines: its file belongs to no agent
    assert _count(engine, "SELECT COUNT(agent_id) FROM sources WHERE kind = 'gateway_log'") == 0

    # nothing new: nothing read, nothing doubled
    s2 = pipe.run_pass([logs])
    assert s2.files_unchanged == 1 and s2.lines == 0

    # the partial line completes, then size rotation: the live file becomes .1.log, a new
    # live file starts; the rotated file is followed (same inode), never read twice
    with open(live, "ab") as fh:
        fh.write(_ev(3)[20:] + b"\n" + _ev(4) + b"\n")
    os.rename(live, logs / "openclaw-2026-03-02.1.log")
    live.write_bytes(_ev(5) + b"\n" + _ev(6, "WARN", "agent/embedded", " runId=r7") + b"\n")
    s3 = pipe.run_pass([logs])
    assert s3.renames == 1 and s3.errors == 0
    assert _count(engine, "SELECT COUNT(*) FROM gateway_events") == 8
    assert _count(engine, "SELECT COUNT(*) FROM gateway_events WHERE run_id = 'r7'") == 1
    assert _count(engine, "SELECT COUNT(DISTINCT message) FROM gateway_events") == 8

    # retention deletes the files after 24 h: the rows stay, the sources are gone
    for p in list(logs.iterdir()):
        p.unlink()
    s4 = pipe.run_pass([logs])
    assert s4.gone == 2
    assert _count(engine, "SELECT COUNT(*) FROM gateway_events") == 8
    assert _count(engine, "SELECT COUNT(*) FROM sources WHERE state = 'gone'") == 2
    # logs never add usage
    assert _count(engine, "SELECT COUNT(*) FROM usage") == 0
    assert _count(engine, "SELECT COUNT(*) FROM messages") == 0


def test_rewrite_and_copy_insert_nothing(sqlite_url: str, tmp_path: Path) -> None:
    logs = tmp_path / "openclaw"
    logs.mkdir()
    live = logs / "openclaw-2026-03-02.log"
    live.write_bytes(_ev(0) + b"\n" + _ev(1) + b"\n")
    engine, pipe = build(IngestSettings(db_url=sqlite_url, sources=(logs,), host_id="h"))
    pipe.run_pass([logs])
    # a rewrite in place that keeps the head but changes the tail: read again from 0
    live.write_bytes(_ev(0) + b"\n" + _ev(1, extra="!") + b"\n" + _ev(2) + b"\n")
    pipe.run_pass([logs])
    # line 0 is the same line (time + content); the changed line 1 and line 2 are new
    assert _count(engine, "SELECT COUNT(*) FROM gateway_events") == 4
    # a copy under another name (copy-rotation, a second path) adds nothing
    (logs / "openclaw-2026-03-02.1.log").write_bytes(live.read_bytes())
    pipe.run_pass([logs])
    assert _count(engine, "SELECT COUNT(*) FROM gateway_events") == 4
