"""Property tests: no line, however broken, makes parsing, normalizing or ingesting raise; and a
file mixing valid lines with garbage counts exactly the calls of its valid lines.

Lines come from the format fixture ``openclaw-sample.jsonl``: random bytes, the fixture's lines
with bytes flipped, cut, inserted or deleted, and its objects with values replaced by values of
the wrong type.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from ingestor.config import IngestSettings
from ingestor.daemon import build
from ingestor.normalize import EntryRecords, SessionCtx, normalize_entry
from ingestor.parse import Entry, Header, LineError, parse_line

_LOCAL = Path(__file__).parent / "data" / "openclaw-sample.jsonl"
SAMPLE = (
    _LOCAL
    if _LOCAL.exists()
    else Path(__file__).resolve().parents[2] / "shared" / "docs" / "openclaw-sample.jsonl"
)
LINES = SAMPLE.read_bytes().splitlines()
assert len(LINES) == 33
HEADER = LINES[0]
SID = "4f6b2c1e-8d3a-4b7e-9c21-5a0f3e7d9b10"
CTX = SessionCtx(SID, 1772442845112, "main")
INT64 = 2**63 - 1


def _check_line(data: bytes) -> tuple[Any, EntryRecords | None]:
    """parse + normalize must not raise and must give well-formed values."""
    parsed = parse_line(data)
    assert isinstance(parsed, Header | Entry | LineError)
    if isinstance(parsed, LineError):
        assert isinstance(parsed.reason, str)
        assert parsed.reason
        return parsed, None
    if isinstance(parsed, Header):
        assert isinstance(parsed.session_id, str)
        assert parsed.session_id
        return parsed, None
    assert isinstance(parsed.id, str)
    assert parsed.id
    assert isinstance(parsed.ts_ms, int)
    rec = normalize_entry(parsed, CTX)
    assert _int64_safe(rec), rec
    c = rec.call
    if c is not None:
        for v in (c.input_tokens, c.output_tokens, c.cache_read_tokens, c.cache_write_tokens):
            assert isinstance(v, int)
            assert v >= 0
        assert c.total_tokens >= 0
        assert c.logged_cost is None or (math.isfinite(c.logged_cost) and c.logged_cost >= 0)
        assert isinstance(c.provider, str)
        assert isinstance(c.model, str)
        assert isinstance(c.failed, bool)
        if c.warning:
            assert rec.warnings
    for t in rec.tool_calls:
        assert isinstance(t.tool_name, str)
        assert t.tool_name
    m = rec.message
    if m.tool_duration_ms is not None:
        assert m.tool_duration_ms >= 0
    assert m.text_preview is None or len(m.text_preview) <= 200
    return parsed, rec


# -- mutation strategies -------------------------------------------------------------------------


@st.composite
def mutated_line(draw: st.DrawFn) -> bytes:
    line = bytearray(draw(st.sampled_from(LINES)))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "delete", "dup"]))
        n = len(line)
        if n == 0:
            line += draw(st.binary(min_size=1, max_size=8))
            continue
        i = draw(st.integers(0, n - 1))
        if op == "flip":
            line[i] ^= draw(st.integers(1, 255))
        elif op == "cut":
            del line[i:]
        elif op == "insert":
            line[i:i] = draw(
                st.one_of(
                    st.binary(min_size=1, max_size=8),
                    st.sampled_from(
                        [b'"', b"\\", b"{", b"}", b"[", b"]", b",", b":", b"null", b"-", b"e9"]
                    ),
                )
            )
        elif op == "delete":
            j = draw(st.integers(i, min(n, i + 16)))
            del line[i:j]
        else:
            j = draw(st.integers(i, min(n, i + 64)))
            line[j:j] = line[i:j]
    return bytes(line)


def json_values(big: bool = True) -> st.SearchStrategy[Any]:
    ints = st.integers() if big else st.integers(-(2**53), 2**53)
    floats = st.floats(allow_nan=big, allow_infinity=big)
    if not big:
        floats = floats.filter(lambda f: abs(f) < 1e15)
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        ints,
        floats,
        st.text(max_size=20),
        st.sampled_from(["-5", "120", "", "NaN", "2026-03-02T09:14:05.112Z", "toolCall"]),
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=6,
    )


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.extend(_paths(v, (*prefix, i)))
    return out


def _set(obj: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    cur = obj
    for k in path[:-1]:
        cur = cur[k]
    cur[path[-1]] = value
    return obj


@st.composite
def wrong_typed_line(draw: st.DrawFn, big: bool = True) -> bytes:
    obj = json.loads(draw(st.sampled_from(LINES)))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(obj)
        path = draw(st.sampled_from(paths))
        obj = _set(obj, path, draw(json_values(big)))
    return json.dumps(obj, ensure_ascii=draw(st.booleans())).encode()


# -- never raise ---------------------------------------------------------------------------------

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.binary(max_size=3000))
@example(b"")
@example(b"null")
@example(b"[1]")
@example(b'{"type":"message","id":"x","timestamp":"2026-03-02T09:00:00.000Z","message":null}')
@example(b'{"type":"session"}')
@example(b'{"type":"message","id":"x","timestamp":"2026-03-02T09:00:00.000Z","message":{}}')
@example(b"\xff\xfe" * 10)
@example(b'{"type":"x","timestamp":"\xff"}')
def test_random_bytes_never_raise(data: bytes) -> None:
    _check_line(data)


@SETTINGS
@given(mutated_line())
def test_mutated_sample_lines_never_raise(data: bytes) -> None:
    _check_line(data)


@SETTINGS
@given(wrong_typed_line())
def test_wrong_types_never_raise(data: bytes) -> None:
    _check_line(data)


@pytest.mark.parametrize("bad", [[], {}, ["toolCall"]], ids=["list", "object", "list-of-str"])
def test_unhashable_block_type(tmp_path: Path, bad: Any) -> None:
    obj = json.loads(LINES[5])
    obj["message"]["content"][0]["type"] = bad
    parsed = parse_line(json.dumps(obj).encode())
    assert isinstance(parsed, Entry)
    rec = normalize_entry(parsed, CTX)  # regression: raised TypeError (unhashable)
    assert rec.call is not None
    assert rec.call.input_tokens == 3
    assert [t.tool_name for t in rec.tool_calls] == ["exec"]


def test_unhashable_block_type_does_not_abort_the_pass(tmp_path: Path, template_db: Path) -> None:
    obj = json.loads(LINES[5])
    obj["message"]["content"][0]["type"] = []
    _, got = _ingest(tmp_path / "case", template_db, [HEADER, json.dumps(obj).encode(), LINES[7]])
    assert got["usage"][0] == 2


@pytest.mark.parametrize("line", LINES, ids=[f"line{i}" for i in range(1, 34)])
def test_every_sample_line_with_every_field_nulled(line: bytes) -> None:
    """Each field of each sample line in turn set to null, [] and "x": never raises."""
    obj = json.loads(line)
    for path in _paths(obj)[1:]:
        for value in (None, [], "x", -1, {}):
            mutated = _set(json.loads(line), path, value)
            _check_line(json.dumps(mutated).encode())


def test_bad_usage_numbers_count_as_zero_with_a_warning() -> None:
    base = json.loads(LINES[5])  # an Anthropic call
    for bad in ("-5", "120", -5, None, True, [], {}, "NaN"):
        obj = json.loads(json.dumps(base))
        obj["message"]["usage"]["input"] = bad
        _, rec = _check_line(json.dumps(obj).encode())
        assert rec is not None
        assert rec.call is not None
        assert rec.call.input_tokens == 0
        if bad is not None:
            assert rec.call.warning, bad
    # Non-finite numbers orjson will not read (NaN and Infinity are written by other writers
    # than JSON.stringify; 1e400 is valid JSON past the double range): the call still counts.
    for bad in ("Infinity", "-Infinity", "NaN", "1e400", "-1e400"):
        raw = LINES[5].replace(b'"input":3,', f'"input":{bad},'.encode())
        assert raw != LINES[5]
        parsed, rec = _check_line(raw)
        assert not isinstance(parsed, LineError), bad
        assert rec is not None and rec.call is not None
        assert (rec.call.input_tokens, rec.call.raw_input, rec.call.warning) == (0, None, True)
        assert (rec.call.output_tokens, rec.call.cache_read_tokens) == (142, 18544)  # the rest
        assert [w for w in rec.warnings if "usage.input" in w], rec.warnings
    raw = LINES[5].replace(b'"total":', b'"total":NaN,"was":')  # a NaN cost: unknown, no loss
    parsed, rec = _check_line(raw)
    assert rec is not None and rec.call is not None and rec.call.logged_cost is None


def test_lenient_second_reading() -> None:
    """Lines orjson refuses get a second, lenient reading; nothing else changes."""
    call = LINES[5]
    # a text cut inside a surrogate pair (JSON.stringify writes the lone half escaped)
    cut = call.replace(b'"type":"text","text":"', b'"type":"text","text":"\\ud83d cut ', 1)
    assert cut != call
    parsed = parse_line(cut)
    assert isinstance(parsed, Entry), parsed
    assert parsed.warnings == ("unpaired UTF-16 surrogate replaced",)
    content = parsed.obj["message"]["content"]
    texts = [b["text"] for b in content if b.get("type") == "text"]
    assert texts and texts[0].startswith("\ufffd cut ")
    # a whole pair is fine for orjson itself: no warning
    pair = call.replace(b'"type":"text","text":"', b'"type":"text","text":"\\ud83d\\ude00 ', 1)
    parsed = parse_line(pair)
    assert isinstance(parsed, Entry) and parsed.warnings == ()
    # NaN beside an integer past 64 bits: read as orjson would read that integer (a double)
    big = call.replace(b'"output":142', b'"output":NaN,"x":123456789012345678901234567890')
    parsed = parse_line(big)
    assert isinstance(parsed, Entry)
    assert parsed.obj["message"]["usage"]["x"] == 1.2345678901234568e29
    # invalid UTF-8 and NaN on one line: both handled, the UTF-8 warning kept
    both = call.replace(b'"output":142', b'"output":NaN').replace(b"calendar", b"cal\xffndar")
    parsed = parse_line(both)
    assert isinstance(parsed, Entry) and parsed.warnings == ("invalid UTF-8 replaced",)
    # a byte order mark before a header (an editor's save)
    parsed = parse_line(b"\xef\xbb\xbf" + HEADER)
    assert isinstance(parsed, Header) and parsed.session_id == SID and parsed.warnings == ()
    # still invalid for both readers: one error, the orjson message
    for bad in (b'{"type":"message","id":NaN', b'{"a":NaN} x', b"[" * 5000 + b"NaN" + b"]" * 5000):
        parsed = parse_line(bad)
        assert isinstance(parsed, LineError) and parsed.syntax, bad[:30]
        assert parsed.reason.startswith("invalid JSON"), parsed.reason


# -- a file of valid lines and garbage -----------------------------------------------------------


def _int64_safe(rec: EntryRecords | None) -> bool:
    if rec is None:
        return True
    vals: list[int | None] = [rec.message.message_ts_ms, rec.message.tool_duration_ms]
    if rec.call is not None:
        c = rec.call
        vals += [c.input_tokens, c.output_tokens, c.cache_read_tokens, c.cache_write_tokens]
        vals += [c.total_tokens, c.latency_ms]
    return all(v is None or abs(v) <= INT64 for v in vals)


@st.composite
def garbage(draw: st.DrawFn) -> bytes:
    data = draw(
        st.one_of(
            st.binary(max_size=200),
            mutated_line(),
            wrong_typed_line(),
        )
    )
    data = data.replace(b"\n", b"").replace(b"\r", b"")
    parsed, _ = _check_line(data)
    assume(not isinstance(parsed, Header))  # a second header would change the owner
    return data


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated empty database, copied for each example (migrating is the slow part)."""
    root = tmp_path_factory.mktemp("template")
    db = root / "t.sqlite"
    engine, _ = build(IngestSettings(f"sqlite:///{db}", (root,), "test"))
    engine.dispose()
    return db


def _ingest(tmp: Path, template: Path, lines: list[bytes]) -> tuple[Any, dict[str, Any]]:
    shutil.rmtree(tmp, ignore_errors=True)
    sessions = tmp / "state" / "agents" / "main" / "sessions"
    sessions.mkdir(parents=True)
    (sessions / f"{SID}.jsonl").write_bytes(b"".join(ln + b"\n" for ln in lines))
    db = tmp / "db.sqlite"
    shutil.copy(template, db)
    engine, pipeline = build(IngestSettings(f"sqlite:///{db}", (tmp / "state",), "test"))
    try:
        stats = pipeline.run_pass([tmp / "state"])
        with engine.connect() as conn:
            u = conn.execute(
                text(
                    "SELECT COUNT(*), COALESCE(SUM(input_tokens), 0), "
                    "COALESCE(SUM(output_tokens), 0), COALESCE(SUM(cache_read_tokens), 0), "
                    "COALESCE(SUM(cache_write_tokens), 0) FROM usage"
                )
            ).one()
            errors = conn.execute(
                text("SELECT COUNT(*) FROM ingest_errors WHERE severity = 'error'")
            ).scalar()
            ids = {(r[0], r[1]) for r in conn.execute(text("SELECT entry_id, ts_ms FROM usage"))}
    finally:
        engine.dispose()
    return stats, {"usage": tuple(u), "errors": errors, "ids": ids}


def _expected(lines: list[bytes]) -> dict[str, Any]:
    """What the file must give, line by line: the first line holding an identity wins."""
    seen: set[tuple[str, int]] = set()
    calls = []
    errors = 0
    for ln in lines[1:]:
        parsed, rec = _check_line(ln)
        if isinstance(parsed, LineError):
            errors += 1
            continue
        assert isinstance(parsed, Entry)
        assert rec is not None
        key = (parsed.id, parsed.ts_ms)
        if key in seen:
            continue
        seen.add(key)
        if rec.call is not None:
            calls.append(rec.call)
    return {
        "usage": (
            len(calls),
            sum(c.input_tokens for c in calls),
            sum(c.output_tokens for c in calls),
            sum(c.cache_read_tokens for c in calls),
            sum(c.cache_write_tokens for c in calls),
        ),
        "errors": errors,
        "ids": {(c.entry_id, c.ts_ms) for c in calls},
    }


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(
        st.one_of(st.sampled_from(LINES[1:]), garbage()),
        min_size=0,
        max_size=60,
    )
)
def test_file_of_valid_lines_and_garbage(
    tmp_path: Path, template_db: Path, body: list[bytes]
) -> None:
    lines = [HEADER, *body]
    stats, got = _ingest(tmp_path / "case", template_db, lines)
    want = _expected(lines)
    assert got == want
    assert stats.errors == want["errors"]
    assert stats.skipped == 0


def test_file_of_the_whole_sample_and_garbage_between_every_line(
    tmp_path: Path, template_db: Path
) -> None:
    junk = [b"", b"{", b"null", b"[1]", b"\xff\xfe", b'{"type":"message"}', b"  ", b"42"]
    lines = [HEADER]
    for i, ln in enumerate(LINES[1:]):
        lines += [junk[i % len(junk)], ln]
    _, got = _ingest(tmp_path / "case", template_db, lines)
    assert got["usage"] == (8, 3911, 838, 123025, 5392)
    assert got["errors"] == 32
    assert got == _expected(lines)


@pytest.mark.parametrize(
    ("where", "key", "value"),
    [
        ("usage", "input", 1e20),
        ("usage", "cacheRead", 9.3e18),
        ("usage", "output", 2**64),
        ("message", "timestamp", 1e25),
        ("message", "timestamp", -(2**70)),
    ],
    ids=["input-1e20", "cacheRead-9.3e18", "output-2**64", "msg-ts-1e25", "msg-ts-neg"],
)
def test_numbers_beyond_64_bits_do_not_abort_the_pass(
    tmp_path: Path, template_db: Path, where: str, key: str, value: float
) -> None:
    """Regression: such a number became a Python int no column can hold, and the
    OverflowError aborted the whole pass, every pass."""
    obj = json.loads(LINES[7])  # a plain Anthropic call: input 3, output 96, cacheRead 19754
    (obj["message"]["usage"] if where == "usage" else obj["message"])[key] = value
    bad = json.dumps(obj).encode()
    _, rec = _check_line(bad)
    assert rec is not None
    assert rec.call is not None
    if where == "usage":
        assert (
            getattr(
                rec.call,
                {"input": "input_tokens", "output": "output_tokens"}.get(key, "cache_read_tokens"),
            )
            == 0
        )
        assert rec.call.warning
    else:
        assert rec.message.message_ts_ms is None
    stats, got = _ingest(tmp_path / "case", template_db, [HEADER, bad, LINES[5]])
    assert got["usage"][0] == 2
    assert stats.calls == 2
    assert got == _expected([HEADER, bad, LINES[5]])
