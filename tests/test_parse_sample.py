"""Every line of the format fixture ``openclaw-sample.jsonl`` through ``parse_line`` and
``normalize_entry``: the exact records each line must give (accounting.md §3-§6).

The expected values are written out by hand from the fixture (one row per line), so a change in
parsing or in the accounting rules shows up as a precise line-level diff.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from ingestor.normalize import EntryRecords, SessionCtx, normalize_entry
from ingestor.parse import Entry, Header, LineError, iso_to_ms, parse_line

_LOCAL = Path(__file__).parent / "data" / "openclaw-sample.jsonl"
SAMPLE = (
    _LOCAL
    if _LOCAL.exists()
    else Path(__file__).resolve().parents[2] / "shared" / "docs" / "openclaw-sample.jsonl"
)
SID = "4f6b2c1e-8d3a-4b7e-9c21-5a0f3e7d9b10"
CREATED = 1772442845112  # 2026-03-02T09:14:05.112Z
CTX = SessionCtx(SID, CREATED, "main")


def _lines() -> list[bytes]:
    data = SAMPLE.read_bytes()
    assert data.endswith(b"\n")
    lines = data[:-1].split(b"\n")
    assert len(lines) == 33
    return lines


LINES = _lines()


@dataclass(frozen=True)
class Call:
    input: int
    output: int
    cache_read: int
    cache_write: int
    cost: float | None
    provider: str
    model: str
    api: str | None
    stop: str
    failed: bool = False
    raw_input: float | None = None  # defaults to float(input)
    error_prefix: str | None = None
    tools: tuple[tuple[int, str, str], ...] = ()  # (block_index, name, id)


@dataclass(frozen=True)
class Tool:
    call_id: str
    name: str
    is_error: bool
    synthetic: bool
    duration_ms: int | None


@dataclass(frozen=True)
class Exp:
    """What one line must give. ``kind``: header | entry | error."""

    kind: str
    type: str | None = None
    id: str | None = None
    parent: str | None = None
    ts: str | None = None
    role: str | None = None
    synthetic: bool = False
    call: Call | None = None
    tool: Tool | None = None
    title: str | None = None


def M(id_: str, parent: str | None, ts: str, role: str, **kw: object) -> Exp:
    return Exp("entry", "message", id_, parent, ts, role, **kw)  # type: ignore[arg-type]


def E(type_: str, id_: str, parent: str | None, ts: str, **kw: object) -> Exp:
    return Exp("entry", type_, id_, parent, ts, **kw)  # type: ignore[arg-type]


ANTH = {"provider": "anthropic", "model": "claude-sonnet-4-5", "api": "anthropic-messages"}

EXPECTED: dict[int, Exp] = {
    1: Exp("header"),
    2: E("model_change", "a1b2c3d4", None, "2026-03-02T09:14:05.115Z"),
    3: E("thinking_level_change", "b2c3d4e5", "a1b2c3d4", "2026-03-02T09:14:05.115Z"),
    4: E("custom", "0c9d8e7f", "b2c3d4e5", "2026-03-02T09:14:05.117Z"),
    5: M("c3d4e5f6", "0c9d8e7f", "2026-03-02T09:14:05.302Z", "user"),
    6: M(
        "d4e5f6a7",
        "c3d4e5f6",
        "2026-03-02T09:14:09.551Z",
        "assistant",
        call=Call(
            3,
            142,
            18544,
            1210,
            0.0122397,
            stop="toolUse",
            tools=((2, "exec", "toolu_01Xk9QvR2mZb7LcT4sWfHn8p"),),
            **ANTH,
        ),
    ),
    7: M(
        "e5f6a7b8",
        "d4e5f6a7",
        "2026-03-02T09:14:11.454Z",
        "toolResult",
        tool=Tool("toolu_01Xk9QvR2mZb7LcT4sWfHn8p", "exec", False, False, 1843),
    ),
    8: M(
        "f6a7b8c9",
        "e5f6a7b8",
        "2026-03-02T09:14:14.845Z",
        "assistant",
        call=Call(3, 96, 19754, 412, 0.0089202, stop="stop", **ANTH),
    ),
    9: E("custom", "07b8c9d0", "f6a7b8c9", "2026-03-02T09:14:14.855Z"),
    10: M("18c9d0e1", "07b8c9d0", "2026-03-02T09:15:15.856Z", "assistant", synthetic=True),
    11: M("29d0e1f2", "18c9d0e1", "2026-03-02T09:45:15.858Z", "user"),
    12: M(
        "3ae1f2a3",
        "29d0e1f2",
        "2026-03-02T09:45:16.797Z",
        "assistant",
        call=Call(0, 0, 0, 0, 0.0, stop="error", failed=True, error_prefix="529 ", **ANTH),
    ),
    13: E("model_change", "4bf2a3b4", "3ae1f2a3", "2026-03-02T09:45:16.845Z"),
    14: M(
        "5ca3b4c5",
        "4bf2a3b4",
        "2026-03-02T09:45:21.985Z",
        "assistant",
        call=Call(
            2310,
            188,
            14080,
            0,
            0.0091385,
            provider="openai",
            model="gpt-5.2",
            api="openai-responses",
            stop="stop",
        ),
    ),
    15: E("thinking_level_change", "6db4c5d6", "5ca3b4c5", "2026-03-02T09:46:16.865Z"),
    16: M("7ec5d6e7", "6db4c5d6", "2026-03-02T09:46:21.867Z", "bashExecution"),
    17: E("custom_message", "8fd6e7f8", "7ec5d6e7", "2026-03-02T09:46:22.865Z"),
    18: M("90e7f8a9", "8fd6e7f8", "2026-03-02T10:16:22.866Z", "user"),
    19: M(
        "a1f8a9b0",
        "90e7f8a9",
        "2026-03-02T10:16:24.288Z",
        "assistant",
        # Google logs input with the cache reads included: 21450 - 19876 = 1574.
        call=Call(
            1574,
            6,
            19876,
            0,
            0.0079407,
            provider="google",
            model="gemini-2.5-flash",
            api="google-generative-ai",
            stop="stop",
            raw_input=21450.0,
        ),
    ),
    20: E("compaction", "b2a9b0c1", "a1f8a9b0", "2026-03-02T11:16:22.880Z"),
    21: M("c3b0c1d2", "b2a9b0c1", "2026-03-02T11:18:22.882Z", "user"),
    22: M(
        "d4c1d2e3",
        "c3b0c1d2",
        "2026-03-02T11:18:29.407Z",
        "assistant",
        call=Call(
            12,
            311,
            9120,
            2950,
            0.0184995,
            stop="toolUse",
            tools=(
                (1, "sessions_spawn", "toolu_01Pq7dWn3aXs8KuV2bYhRm5c"),
                (2, "web_search", "toolu_01Lm4eHs9cTq2WzN6jXvBp1f"),
                (3, "browser", "toolu_01Ry8kGv5nJd3QwE7tZaLc2x"),
            ),
            **ANTH,
        ),
    ),
    23: M(
        "e5d2e3f4",
        "d4c1d2e3",
        "2026-03-02T11:18:30.288Z",
        "toolResult",
        tool=Tool("toolu_01Pq7dWn3aXs8KuV2bYhRm5c", "sessions_spawn", False, False, None),
    ),
    24: M(
        "f6e3f4a5",
        "e5d2e3f4",
        "2026-03-02T11:18:30.700Z",
        "toolResult",
        tool=Tool("toolu_01Lm4eHs9cTq2WzN6jXvBp1f", "web_search", True, False, None),
    ),
    25: M(
        "07f4a5b6",
        "f6e3f4a5",
        "2026-03-02T11:18:30.730Z",
        "toolResult",
        tool=Tool("toolu_01Ry8kGv5nJd3QwE7tZaLc2x", "browser", True, True, None),
    ),
    26: M(
        "18a5b6c7",
        "07f4a5b6",
        "2026-03-02T11:18:33.553Z",
        "assistant",
        call=Call(
            5,
            37,
            20111,
            0,
            0.0066033,
            stop="aborted",
            failed=True,
            error_prefix="Request was aborted",
            **ANTH,
        ),
    ),
    27: E("label", "29b6c7d8", "18a5b6c7", "2026-03-02T11:19:30.749Z"),
    28: E(
        "session_info", "3ac7d8e9", "29b6c7d8", "2026-03-02T11:19:31.249Z", title="Morning errands"
    ),
    29: E("branch_summary", "4bd8e9fa", "f6a7b8c9", "2026-03-02T11:21:00.749Z"),
    30: M("5ce9fa0b", "4bd8e9fa", "2026-03-02T11:21:04.751Z", "user"),
    31: M(
        "6dfa0b1c",
        "5ce9fa0b",
        "2026-03-02T11:21:07.729Z",
        "assistant",
        call=Call(4, 58, 21540, 820, 0.010419, stop="stop", **ANTH),
    ),
    32: M("7e0b1c2d", "6dfa0b1c", "2026-03-02T11:24:27.730Z", "assistant", synthetic=True),
    33: M("8f1c2d3e", None, "2026-03-02T11:24:32.729Z", "assistant", synthetic=True),
}


def _normalize(lineno: int) -> tuple[Header | Entry | LineError, EntryRecords | None]:
    parsed = parse_line(LINES[lineno - 1])
    if isinstance(parsed, Entry):
        return parsed, normalize_entry(parsed, CTX)
    return parsed, None


def test_table_covers_every_line() -> None:
    assert sorted(EXPECTED) == list(range(1, 34))


def test_header() -> None:
    parsed = parse_line(LINES[0])
    assert isinstance(parsed, Header)
    assert parsed.session_id == SID
    assert parsed.ts_ms == CREATED
    assert parsed.cwd == "/home/ana/.openclaw/workspace"
    assert parsed.parent_session is None
    assert parsed.warnings == ()


@pytest.mark.parametrize("lineno", range(2, 34))
def test_line(lineno: int) -> None:
    exp = EXPECTED[lineno]
    parsed, rec = _normalize(lineno)
    assert exp.kind == "entry"
    assert isinstance(parsed, Entry), parsed
    assert rec is not None
    assert parsed.type == exp.type
    assert parsed.id == exp.id
    assert parsed.parent_id == exp.parent
    assert parsed.ts_ms == iso_to_ms(exp.ts)
    assert parsed.warnings == ()
    assert rec.warnings == ()

    m = rec.message
    assert (m.entry_id, m.ts_ms, m.session_id, m.session_created_ms, m.agent_id) == (
        exp.id,
        iso_to_ms(exp.ts),
        SID,
        CREATED,
        "main",
    )
    assert m.entry_type == exp.type
    assert m.parent_entry_id == exp.parent
    assert m.role == exp.role
    assert m.synthetic is exp.synthetic
    assert rec.title == exp.title
    assert rec.cron is None

    # LLM call or not, and its normalized numbers
    if exp.call is None:
        assert rec.call is None
        assert list(rec.tool_calls) == []
    else:
        c, ec = rec.call, exp.call
        assert c is not None
        assert (c.input_tokens, c.output_tokens, c.cache_read_tokens, c.cache_write_tokens) == (
            ec.input,
            ec.output,
            ec.cache_read,
            ec.cache_write,
        )
        assert c.total_tokens == ec.input + ec.output + ec.cache_read + ec.cache_write
        assert c.raw_input == (ec.raw_input if ec.raw_input is not None else float(ec.input))
        assert c.raw_output == float(ec.output)
        assert c.raw_cache_read == float(ec.cache_read)
        assert c.raw_cache_write == float(ec.cache_write)
        assert c.logged_cost == ec.cost
        assert (c.provider, c.model, c.api, c.stop_reason) == (
            ec.provider,
            ec.model,
            ec.api,
            ec.stop,
        )
        assert c.failed is ec.failed
        assert c.warning is False
        assert (c.entry_id, c.ts_ms, c.session_id) == (exp.id, iso_to_ms(exp.ts), SID)
        if ec.error_prefix is None:
            assert c.error_message is None
        else:
            assert c.error_message is not None
            assert c.error_message.startswith(ec.error_prefix)
        assert [(t.block_index, t.tool_name, t.tool_call_id) for t in rec.tool_calls] == list(
            ec.tools
        )
        for t in rec.tool_calls:
            assert t.status == "missing"  # paired later, with the result
            assert (t.entry_id, t.ts_ms, t.session_id) == (exp.id, iso_to_ms(exp.ts), SID)
        # provider/model of the message row match the call
        assert (m.provider, m.model, m.stop_reason) == (ec.provider, ec.model, ec.stop)
        assert m.synthetic is False

    # tool results
    if exp.tool is None:
        assert m.tool_call_id is None
        assert m.tool_is_error is None
    else:
        et = exp.tool
        assert m.tool_call_id == et.call_id
        assert m.tool_name == et.name
        assert m.tool_is_error is et.is_error
        assert m.tool_synthetic is et.synthetic
        assert m.tool_duration_ms == et.duration_ms


def test_message_timestamps_and_latency() -> None:
    """Inner ``message.timestamp`` (epoch ms) and the call latency (entry − message)."""
    _, rec = _normalize(6)
    assert rec is not None
    assert rec.call is not None
    assert rec.message.message_ts_ms == 1772442845340
    assert rec.call.latency_ms == 1772442849551 - 1772442845340
    _, rec = _normalize(7)
    assert rec is not None
    assert rec.message.message_ts_ms == 1772442851453


def test_exec_command_family() -> None:
    _, rec = _normalize(6)
    assert rec is not None
    [tc] = rec.tool_calls
    assert tc.command_family == "gog"
    assert "gog calendar list" in (tc.args_preview or "")


def test_sample_totals() -> None:
    """The whole file: 8 calls, 2 failed, tokens and logged cost as documented."""
    calls = []
    tools = []
    results = {}
    for n in range(2, 34):
        _, rec = _normalize(n)
        assert rec is not None
        if rec.call is not None:
            calls.append(rec.call)
        tools.extend(rec.tool_calls)
        if rec.message.role == "toolResult":
            results[rec.message.tool_call_id] = rec.message
    assert len(calls) == 8
    assert sum(c.failed for c in calls) == 2
    assert sum(c.input_tokens for c in calls) == 3911
    assert sum(c.output_tokens for c in calls) == 838
    assert sum(c.cache_read_tokens for c in calls) == 123025
    assert sum(c.cache_write_tokens for c in calls) == 5392
    assert sum(c.logged_cost or 0 for c in calls) == pytest.approx(0.0737609, abs=1e-12)
    assert len(tools) == 4
    errors = sum(1 for t in tools if results[t.tool_call_id].tool_is_error)
    assert errors == 2


def test_ctx_owns_rows() -> None:
    """The rows take owner, creation time and agent from the context, not from the line."""
    parsed = parse_line(LINES[5])
    assert isinstance(parsed, Entry)
    rec = normalize_entry(parsed, SessionCtx("other", None, "ops"))
    assert rec.call is not None
    assert (rec.message.session_id, rec.message.session_created_ms, rec.message.agent_id) == (
        "other",
        None,
        "ops",
    )
    assert (rec.call.session_id, rec.call.agent_id) == ("other", "ops")
    assert {(t.session_id, t.agent_id) for t in rec.tool_calls} == {("other", "ops")}


def test_a_line_after_a_hole_of_nul_bytes() -> None:
    """A copytruncate under a writer that does not append leaves NUL bytes where the file was:
    the line after them is read, with a warning; NULs alone are a blank line."""
    call = LINES[6]
    parsed = parse_line(b"\x00" * 300 + call)
    assert isinstance(parsed, Entry)
    plain = parse_line(call)
    assert isinstance(plain, Entry)
    assert (parsed.id, parsed.ts_ms, parsed.obj) == (plain.id, plain.ts_ms, plain.obj)
    assert parsed.warnings == ("300 NUL bytes before the line skipped",)
    blank = parse_line(b"\x00" * 10)
    assert isinstance(blank, LineError) and blank.reason == "blank line (NUL bytes only)"


@pytest.mark.parametrize("usage", ["lots", 5, [1, 2], True])
def test_usage_that_is_not_an_object_is_no_call_and_a_warning(usage: object) -> None:
    import orjson

    obj = orjson.loads(LINES[5])  # line 6: an LLM call
    obj["message"]["usage"] = usage
    parsed = parse_line(orjson.dumps(obj))
    assert isinstance(parsed, Entry)
    rec = normalize_entry(parsed, CTX)
    assert rec.call is None and not rec.message.synthetic
    assert rec.warnings == (
        f"usage is not an object ({type(usage).__name__}): not counted as an LLM call",
    )
    obj["message"]["usage"] = None  # absent or null: no warning (accounting.md §3)
    parsed = parse_line(orjson.dumps(obj))
    assert isinstance(parsed, Entry)
    assert normalize_entry(parsed, CTX).warnings == ()
