"""Reports on a small hand-written corpus, with every number checked by hand.

The corpus (all calls carry a logged cost > 0, so ``cost`` = ``logged_cost``):

====  ========================  =======  ==========================  =====  ===  =====  ===  =====
call  entry timestamp (UTC)     session  provider/model              input  out  cRead  cWr  cost
====  ========================  =======  ==========================  =====  ===  =====  ===  =====
A1    2026-03-01T09:00:00.000Z  A main   anthropic/claude-sonnet-4-5   100   10   1000   50  0.010
A2    2026-03-01T23:30:00.000Z  A        openai/gpt-5.2 (error)        200   20      0    0  0.020
A3    2026-03-02T12:00:00.000Z  A        anthropic/claude-sonnet-4-5   300   30   2000    0  0.030
B1    2026-03-02T10:00:05.000Z  B ops    google/gemini-2.5-flash      1000*   5   4000    0  0.004
B2    2026-03-03T00:00:00.000Z  B        anthropic/claude-sonnet-4-5    50    5      0    0  0.005
====  ========================  =======  ==========================  =====  ===  =====  ===  =====

(*) logged input 5000 with the 4000 cache reads included (Google): 1000 counted.

Tools: A1 ``exec`` ok (durationMs 200), A2 ``read`` error (no durationMs: 1500 ms from the
result's message timestamp), A3 ``exec`` without a result (missing), B1 ``exec`` ok (800).
Session C (a fork of A) has one user message on 2026-03-04 and no call.

A2 at 23:30 UTC is on 03-02 in Europe/Berlin (UTC+1) and on 03-01 in America/New_York (UTC-5);
B2 at midnight UTC is on 03-03 in UTC and Berlin and on 03-02 in New York.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from ingestor import reports
from ingestor.config import IngestSettings
from ingestor.daemon import build
from ingestor.parse import iso_to_ms

REPO = Path(__file__).resolve().parents[1]
CLI = REPO / ".venv" / "bin" / "agentbox-telemetry"
SID_A = "aaaaaaaa-0000-4000-8000-000000000001"
SID_B = "bbbbbbbb-0000-4000-8000-000000000002"
SID_C = "cccccccc-0000-4000-8000-000000000003"


def _ms(iso: str) -> int:
    v = iso_to_ms(iso)
    assert v is not None
    return v


def _line(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"))


def _header(sid: str, ts: str, parent: str | None = None) -> str:
    obj = {"type": "session", "version": 3, "id": sid, "timestamp": ts, "cwd": "/w"}
    if parent:
        obj["parentSession"] = parent
    return _line(obj)


def _user(eid: str, ts: str, text: str = "hi") -> str:
    return _line(
        {
            "type": "message",
            "id": eid,
            "parentId": None,
            "timestamp": ts,
            "message": {"role": "user", "content": text, "timestamp": _ms(ts)},
        }
    )


def _call(
    eid: str,
    ts: str,
    provider: str,
    model: str,
    usage: tuple[int, int, int, int],
    cost: float,
    tools: list[tuple[str, str]] = (),  # type: ignore[assignment]
    api: str = "anthropic-messages",
    stop: str = "stop",
) -> str:
    content: list[dict[str, Any]] = [{"type": "text", "text": "ok"}]
    content += [
        {"type": "toolCall", "id": tcid, "name": name, "arguments": {}} for tcid, name in tools
    ]
    inp, out, cr, cw = usage
    return _line(
        {
            "type": "message",
            "id": eid,
            "parentId": None,
            "timestamp": ts,
            "message": {
                "role": "assistant",
                "content": content,
                "api": api,
                "provider": provider,
                "model": model,
                "usage": {
                    "input": inp,
                    "output": out,
                    "cacheRead": cr,
                    "cacheWrite": cw,
                    "totalTokens": inp + out + cr + cw,
                    "cost": {"total": cost},
                },
                "stopReason": stop,
                "timestamp": _ms(ts) - 1000,
            },
        }
    )


def _result(eid: str, ts: str, tcid: str, is_error: bool, duration: int | None) -> str:
    msg: dict[str, Any] = {
        "role": "toolResult",
        "toolCallId": tcid,
        "toolName": "x",
        "content": [{"type": "text", "text": "r"}],
        "isError": is_error,
        "timestamp": _ms(ts),
    }
    if duration is not None:
        msg["details"] = {"durationMs": duration}
    return _line({"type": "message", "id": eid, "parentId": None, "timestamp": ts, "message": msg})


ANTH = ("anthropic", "claude-sonnet-4-5")


def write_corpus(state: Path) -> None:
    main = state / "agents" / "main" / "sessions"
    ops = state / "agents" / "ops" / "sessions"
    main.mkdir(parents=True)
    ops.mkdir(parents=True)
    a = [
        _header(SID_A, "2026-03-01T08:00:00.000Z"),
        _user("a0000001", "2026-03-01T08:59:00.000Z"),
        _call(
            "a0000002",
            "2026-03-01T09:00:00.000Z",
            *ANTH,
            (100, 10, 1000, 50),
            0.01,
            [("t1", "exec")],
        ),
        _result("a0000003", "2026-03-01T09:00:00.500Z", "t1", False, 200),
        _call(
            "a0000004",
            "2026-03-01T23:30:00.000Z",
            "openai",
            "gpt-5.2",
            (200, 20, 0, 0),
            0.02,
            [("t2", "read")],
            api="openai-responses",
            stop="error",
        ),
        # no durationMs: 1500 ms from the call's entry timestamp to the result's message.timestamp
        _result("a0000005", "2026-03-01T23:30:01.500Z", "t2", True, None),
        _call(
            "a0000006",
            "2026-03-02T12:00:00.000Z",
            *ANTH,
            (300, 30, 2000, 0),
            0.03,
            [("t3", "exec")],
        ),
    ]
    b = [
        _header(SID_B, "2026-03-02T10:00:00.000Z"),
        _user("b0000001", "2026-03-02T10:00:01.000Z", "[cron:nightly Nightly report] go"),
        _call(
            "b0000002",
            "2026-03-02T10:00:05.000Z",
            "google",
            "gemini-2.5-flash",
            (5000, 5, 4000, 0),
            0.004,
            [("t4", "exec")],
            api="google-generative-ai",
        ),
        _result("b0000003", "2026-03-02T10:00:06.000Z", "t4", False, 800),
        _call("b0000004", "2026-03-03T00:00:00.000Z", *ANTH, (50, 5, 0, 0), 0.005),
    ]
    c = [
        _header(SID_C, "2026-03-04T04:59:00.000Z", parent=str(main / f"{SID_A}.jsonl")),
        _user("c0000001", "2026-03-04T05:00:00.000Z"),
    ]
    (main / f"{SID_A}.jsonl").write_text("\n".join(a) + "\n")
    (ops / f"{SID_B}.jsonl").write_text("\n".join(b) + "\n")
    (main / f"2026-03-04T04-59-00-000Z_{SID_C}.jsonl").write_text("\n".join(c) + "\n")
    (main / "sessions.json").write_text(
        json.dumps({"agent:main:main": {"sessionId": SID_A, "updatedAt": 1}})
    )


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, str]]:
    root = tmp_path_factory.mktemp("reports")
    state = root / "state"
    write_corpus(state)
    url = f"sqlite:///{root / 'telemetry.sqlite'}"
    engine, pipeline = build(IngestSettings(db_url=url, sources=(state,), host_id="test"))
    stats = pipeline.run_pass([state])
    assert (stats.calls, stats.errors, stats.warnings) == (5, 0, 0)
    yield engine, url
    engine.dispose()


def run(
    engine: Engine, kind: str, since: str | None = None, until: str | None = None, tz: str = "UTC"
) -> dict[str, Any]:
    with engine.connect() as conn:
        return reports.run(conn, kind, reports.make_range(since, until, tz))


def _money(d: dict[str, Any]) -> dict[str, Any]:
    """Costs rounded to 1e-9 (float sums), everything else as is."""
    return {k: round(v, 9) if isinstance(v, float) else v for k, v in d.items()}


# -- summary -------------------------------------------------------------------------------------


def test_summary_all_time(corpus: tuple[Engine, str]) -> None:
    s = run(corpus[0], "summary")
    assert _money(s) == {
        "since": None,
        "until": None,
        "tz": "UTC",
        "sessions": 3,
        "llm_calls": 5,
        "failed_calls": 1,
        "input_tokens": 1650,
        "output_tokens": 70,
        "cache_read_tokens": 7000,
        "cache_write_tokens": 50,
        "total_tokens": 8770,
        "logged_cost_usd": 0.069,
        "cost_usd": 0.069,
        "tool_calls": 4,
        "tool_errors": 1,
    }


@pytest.mark.parametrize(
    ("tz", "since", "until", "calls", "sessions", "inp", "cost", "tools", "tool_errors"),
    [
        # UTC, 03-02: A3, B1 (B2 at 03-03T00:00 is excluded: half-open)
        ("UTC", "2026-03-02", "2026-03-03", 2, 2, 1300, 0.034, 2, 0),
        ("UTC", "2026-03-03", "2026-03-04", 1, 1, 50, 0.005, 0, 0),
        ("UTC", "2026-03-01", "2026-03-02", 2, 1, 300, 0.03, 2, 1),
        # Berlin, 03-02: A2 (00:30), A3, B1; B2 is 01:00 on 03-03
        ("Europe/Berlin", "2026-03-02", "2026-03-03", 3, 2, 1500, 0.054, 3, 1),
        ("Europe/Berlin", "2026-03-01", "2026-03-02", 1, 1, 100, 0.01, 1, 0),
        # New York, 03-02: A3, B1, B2 (19:00 on 03-02); A2 is 18:30 on 03-01
        ("America/New_York", "2026-03-02", "2026-03-03", 3, 2, 1350, 0.039, 2, 0),
        ("America/New_York", "2026-03-01", "2026-03-02", 2, 1, 300, 0.03, 2, 1),
        # open-ended ranges
        ("UTC", "2026-03-02", None, 3, 3, 1350, 0.039, 2, 0),
        ("UTC", None, "2026-03-02", 2, 1, 300, 0.03, 2, 1),
        ("UTC", "2026-03-05", None, 0, 0, 0, 0.0, 0, 0),
    ],
)
def test_summary_ranges(
    corpus: tuple[Engine, str],
    tz: str,
    since: str | None,
    until: str | None,
    calls: int,
    sessions: int,
    inp: int,
    cost: float,
    tools: int,
    tool_errors: int,
) -> None:
    s = run(corpus[0], "summary", since, until, tz)
    assert (s["since"], s["until"], s["tz"]) == (since, until, tz)
    got = (s["llm_calls"], s["sessions"], s["input_tokens"], round(s["cost_usd"], 9))
    assert got == (calls, sessions, inp, cost)
    assert (s["tool_calls"], s["tool_errors"]) == (tools, tool_errors)


# -- daily ---------------------------------------------------------------------------------------


def _day(
    date: str, calls: int, failed: int, io: tuple[int, int, int, int], cost: float
) -> dict[str, Any]:
    return {
        "date": date,
        "llm_calls": calls,
        "failed_calls": failed,
        "input_tokens": io[0],
        "output_tokens": io[1],
        "cache_read_tokens": io[2],
        "cache_write_tokens": io[3],
        "logged_cost_usd": cost,
        "cost_usd": cost,
    }


@pytest.mark.parametrize(
    ("tz", "rows"),
    [
        (
            "UTC",
            [
                _day("2026-03-01", 2, 1, (300, 30, 1000, 50), 0.03),
                _day("2026-03-02", 2, 0, (1300, 35, 6000, 0), 0.034),
                _day("2026-03-03", 1, 0, (50, 5, 0, 0), 0.005),
            ],
        ),
        (
            "Europe/Berlin",
            [
                _day("2026-03-01", 1, 0, (100, 10, 1000, 50), 0.01),
                _day("2026-03-02", 3, 1, (1500, 55, 6000, 0), 0.054),
                _day("2026-03-03", 1, 0, (50, 5, 0, 0), 0.005),
            ],
        ),
        (
            "America/New_York",
            [
                _day("2026-03-01", 2, 1, (300, 30, 1000, 50), 0.03),
                _day("2026-03-02", 3, 0, (1350, 40, 6000, 0), 0.039),
            ],
        ),
    ],
)
def test_daily(corpus: tuple[Engine, str], tz: str, rows: list[dict[str, Any]]) -> None:
    got = run(corpus[0], "daily", tz=tz)["rows"]
    assert [_money(r) for r in got] == rows
    # a bounded range gives the same rows for the days it covers; empty days have no row
    got = run(corpus[0], "daily", "2026-02-27", "2026-03-06", tz)["rows"]
    assert [_money(r) for r in got] == rows
    got = run(corpus[0], "daily", "2026-03-02", "2026-03-03", tz)["rows"]
    assert [_money(r) for r in got] == [r for r in rows if r["date"] == "2026-03-02"]


def test_daily_across_dst(tmp_path: Path) -> None:
    """A day in a zone that changes its offset is 23 hours long: calls at 00:30 and 23:30
    local on 2026-03-29 (Berlin, clocks go forward at 02:00) are both on that day."""
    state = tmp_path / "state"
    d = state / "agents" / "main" / "sessions"
    d.mkdir(parents=True)
    sid = "dddddddd-0000-4000-8000-000000000004"
    lines = [
        _header(sid, "2026-03-28T00:00:00.000Z"),
        _call("d0000001", "2026-03-28T22:59:59.999Z", *ANTH, (1, 1, 0, 0), 0.001),  # 23:59 on 28
        _call("d0000002", "2026-03-28T23:30:00.000Z", *ANTH, (2, 1, 0, 0), 0.001),  # 00:30 CET
        _call("d0000003", "2026-03-29T21:30:00.000Z", *ANTH, (4, 1, 0, 0), 0.001),  # 23:30 CEST
        _call("d0000004", "2026-03-29T22:00:00.000Z", *ANTH, (8, 1, 0, 0), 0.001),  # 00:00 on 30
    ]
    (d / f"{sid}.jsonl").write_text("\n".join(lines) + "\n")
    engine, pipeline = build(
        IngestSettings(db_url=f"sqlite:///{tmp_path / 'db.sqlite'}", sources=(state,), host_id="t")
    )
    try:
        pipeline.run_pass([state])
        rows = run(engine, "daily", tz="Europe/Berlin")["rows"]
        assert [(r["date"], r["input_tokens"]) for r in rows] == [
            ("2026-03-28", 1),
            ("2026-03-29", 6),
            ("2026-03-30", 8),
        ]
    finally:
        engine.dispose()


# -- models and tools ----------------------------------------------------------------------------


def test_models(corpus: tuple[Engine, str]) -> None:
    got = [_money(r) for r in run(corpus[0], "models")["rows"]]
    assert got == [
        {
            "provider": "anthropic",
            "model": "claude-sonnet-4-5",
            "llm_calls": 3,
            "input_tokens": 450,
            "output_tokens": 45,
            "cache_read_tokens": 3000,
            "cache_write_tokens": 50,
            "logged_cost_usd": 0.045,
            "cost_usd": 0.045,
        },
        {
            "provider": "openai",
            "model": "gpt-5.2",
            "llm_calls": 1,
            "input_tokens": 200,
            "output_tokens": 20,
            "cache_read_tokens": 0,
            "cache_write_tokens": 0,
            "logged_cost_usd": 0.02,
            "cost_usd": 0.02,
        },
        {
            "provider": "google",
            "model": "gemini-2.5-flash",
            "llm_calls": 1,
            "input_tokens": 1000,
            "output_tokens": 5,
            "cache_read_tokens": 4000,
            "cache_write_tokens": 0,
            "logged_cost_usd": 0.004,
            "cost_usd": 0.004,
        },
    ]
    berlin = run(corpus[0], "models", "2026-03-02", "2026-03-03", "Europe/Berlin")["rows"]
    assert [(r["provider"], r["llm_calls"]) for r in berlin] == [
        ("anthropic", 1),
        ("openai", 1),
        ("google", 1),
    ]


def test_tools(corpus: tuple[Engine, str]) -> None:
    assert run(corpus[0], "tools")["rows"] == [
        # durations 200 and 800 (the missing call has none): p50 500, p95 200 + 600 * 0.95
        {"tool": "exec", "calls": 3, "errors": 0, "missing": 1, "p50_ms": 500.0, "p95_ms": 770.0},
        {"tool": "read", "calls": 1, "errors": 1, "missing": 0, "p50_ms": 1500.0, "p95_ms": 1500.0},
    ]
    ny = run(corpus[0], "tools", "2026-03-02", "2026-03-03", "America/New_York")["rows"]
    assert ny == [
        {"tool": "exec", "calls": 2, "errors": 0, "missing": 1, "p50_ms": 800.0, "p95_ms": 800.0}
    ]
    assert run(corpus[0], "tools", "2026-03-05", None, "UTC")["rows"] == []


# -- sessions ------------------------------------------------------------------------------------


def test_sessions(corpus: tuple[Engine, str]) -> None:
    rows = [_money(r) for r in run(corpus[0], "sessions")["rows"]]
    assert rows == [
        {
            "session_id": SID_A,
            "agent_id": "main",
            "kind": "main",
            "key": "agent:main:main",
            "parent_session_id": None,
            "started_at": "2026-03-01T08:59:00.000Z",
            "ended_at": "2026-03-02T12:00:00.000Z",
            "llm_calls": 3,
            "cost_usd": 0.06,
        },
        {
            "session_id": SID_B,
            "agent_id": "ops",
            "kind": "cron",
            "key": "agent:ops:cron:nightly",
            "parent_session_id": None,
            "started_at": "2026-03-02T10:00:01.000Z",
            "ended_at": "2026-03-03T00:00:00.000Z",
            "llm_calls": 2,
            "cost_usd": 0.009,
        },
        {
            "session_id": SID_C,
            "agent_id": "main",
            "kind": "unknown",
            "key": None,
            "parent_session_id": SID_A,
            "started_at": "2026-03-04T05:00:00.000Z",
            "ended_at": "2026-03-04T05:00:00.000Z",
            "llm_calls": 0,
            "cost_usd": 0.0,
        },
    ]
    berlin = run(corpus[0], "sessions", "2026-03-02", "2026-03-03", "Europe/Berlin")["rows"]
    assert [(r["session_id"], r["llm_calls"], round(r["cost_usd"], 9)) for r in berlin] == [
        (SID_A, 2, 0.05),
        (SID_B, 1, 0.004),
    ]
    ny = run(corpus[0], "sessions", "2026-03-02", "2026-03-03", "America/New_York")["rows"]
    assert [(r["session_id"], r["llm_calls"]) for r in ny] == [(SID_A, 1), (SID_B, 2)]
    assert run(corpus[0], "sessions", "2026-03-05", None, "UTC")["rows"] == []


# -- arguments -----------------------------------------------------------------------------------


def test_unknown_time_zone_is_a_clear_error() -> None:
    for bad in ("Mars/Olympus_Mons", "", "../etc/passwd"):
        with pytest.raises(reports.ReportError, match="unknown time zone"):
            reports.make_range(None, None, bad)


def test_bad_dates() -> None:
    with pytest.raises(reports.ReportError, match="--since"):
        reports.make_range("2026-13-01", None, "UTC")
    with pytest.raises(reports.ReportError, match="--until"):
        reports.make_range("2026-03-02", "2026-03-02", "UTC")
    with pytest.raises(reports.ReportError, match="--until"):
        reports.make_range("2026-03-03", "2026-03-02", "UTC")


def test_unknown_report_kind(corpus: tuple[Engine, str]) -> None:
    with pytest.raises(reports.ReportError, match="unknown report"):
        run(corpus[0], "weekly")


def test_cli_unknown_tz_one_line(
    corpus: tuple[Engine, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ingestor import cli

    monkeypatch.setattr(
        sys,
        "argv",
        ["agentbox-telemetry", "report", "summary", "--db", corpus[1], "--tz", "Nowhere/City"],
    )
    with pytest.raises(SystemExit) as exc:
        cli.main()
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: unknown time zone 'Nowhere/City'")
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


ARGS = ["--json", "--tz", "Europe/Berlin", "--since", "2026-03-01", "--until", "2026-03-04"]


def test_cli_json_equals_the_function(corpus: tuple[Engine, str]) -> None:
    """The installed console script, in its own process."""
    engine, url = corpus
    done = subprocess.run(
        [str(CLI), "report", "summary", "--db", url, *ARGS],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    want = run(engine, "summary", "2026-03-01", "2026-03-04", "Europe/Berlin")
    assert json.loads(done.stdout) == want
    assert want["llm_calls"] == 5


@pytest.mark.parametrize("kind", reports.KINDS)
def test_cli_json_every_kind_in_process(
    corpus: tuple[Engine, str],
    kind: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from ingestor import cli

    engine, url = corpus
    monkeypatch.setattr(sys, "argv", ["agentbox-telemetry", "report", kind, "--db", url, *ARGS])
    cli.main()
    out = capsys.readouterr().out
    assert json.loads(out) == run(engine, kind, "2026-03-01", "2026-03-04", "Europe/Berlin")


def _rendered(kind: str, data: dict[str, Any], *, width: int, terminal: bool) -> str:
    import io

    from rich.console import Console

    from ingestor.render import render_report

    buf = io.StringIO()
    render_report(kind, data, Console(file=buf, width=width, force_terminal=terminal))
    return buf.getvalue()


def test_tables_never_cut_a_cell(corpus: tuple[Engine, str]) -> None:
    """A report wider than the terminal: whole in a pipe, one block per row on a terminal."""
    engine, _ = corpus
    data = run(engine, "models", "2026-03-01", "2026-03-04", "Europe/Berlin")
    models = [r["model"] for r in data["rows"]]
    piped = _rendered("models", data, width=60, terminal=False)
    assert "…" not in piped and all(m in piped for m in models)
    assert "cache write tokens" in piped  # the header too
    term = _rendered("models", data, width=60, terminal=True)
    assert "…" not in term and term.count("-- models ") == len(models)
    first = data["rows"][0]
    assert f"model               {first['model']}" in term
    assert f"cost usd            ${first['cost_usd']:,.4f}" in term
