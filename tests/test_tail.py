"""ingestor.tail: complete lines from an offset, zstd streams, string shrinking, fingerprints."""

from __future__ import annotations

import gc
import hashlib
import json
import time
import tracemalloc
from pathlib import Path
from typing import Any

import orjson
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestor import tail
from ingestor.tail import (
    LineReader,
    RawLine,
    bytes_fingerprint,
    head_fingerprint,
    shrink_long_strings,
)

MB = 1 << 20


def read_all(path: Path, start: int = 0, **kwargs: Any) -> tuple[list[RawLine], LineReader]:
    with LineReader(path, start, **kwargs) as reader:
        lines = list(reader)
    return lines, reader


def reference(
    data: bytes, start: int, max_line: int
) -> tuple[list[RawLine], int, list[tuple[int, int]]]:
    """What LineReader must do, computed the obvious way on the whole data."""
    lines: list[RawLine] = []
    oversized: list[tuple[int, int]] = []
    off = start
    end = start
    for piece in data[start:].split(b"\n")[:-1]:
        if len(piece) > max_line:
            oversized.append((off, len(piece)))
        else:
            lines.append(RawLine(off, piece[:-1] if piece.endswith(b"\r") else piece))
        off += len(piece) + 1
        end = off
    return lines, end, oversized


# -- plain files ---------------------------------------------------------------------------------


def test_lines_offsets_and_partial_last_line(tmp_path: Path) -> None:
    p = tmp_path / "s.jsonl"
    p.write_bytes(b'{"a":1}\n{"b":22}\n{"c":')
    lines, r = read_all(p)
    assert lines == [RawLine(0, b'{"a":1}'), RawLine(8, b'{"b":22}')]
    assert r.end_offset == 17
    assert r.pending_bytes == 5
    # the writer finishes the line and appends another: the next poll resumes exactly
    with p.open("ab") as f:
        f.write(b'3}\n{"d":4}\n')
    lines, r = read_all(p, 17)
    assert lines == [RawLine(17, b'{"c":3}'), RawLine(25, b'{"d":4}')]
    assert r.end_offset == 33 == p.stat().st_size
    assert r.pending_bytes == 0
    # nothing new: nothing yielded, offset unchanged
    lines, r = read_all(p, 33)
    assert (lines, r.end_offset) == ([], 33)


def test_start_from_a_middle_offset(tmp_path: Path) -> None:
    p = tmp_path / "s.jsonl"
    p.write_bytes(b"first\nsecond\nthird\n")
    lines, r = read_all(p, 6)
    assert lines == [RawLine(6, b"second"), RawLine(13, b"third")]
    assert r.end_offset == 19
    # an offset past the end (the file shrank): nothing, offset kept for the caller to judge
    lines, r = read_all(p, 100)
    assert (lines, r.end_offset, r.pending_bytes) == ([], 100, 0)


def test_crlf_and_blank_lines(tmp_path: Path) -> None:
    p = tmp_path / "s.jsonl"
    p.write_bytes(b"a\r\n\r\n\nb\r\nc\rd\n")
    lines, r = read_all(p)
    assert lines == [
        RawLine(0, b"a"),
        RawLine(3, b""),
        RawLine(5, b""),
        RawLine(6, b"b"),
        RawLine(9, b"c\rd"),  # only a trailing \r is removed
    ]
    assert r.end_offset == 13


def test_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.jsonl"
    p.write_bytes(b"")
    lines, r = read_all(p)
    assert (lines, r.end_offset, r.oversized, r.truncated_stream) == ([], 0, [], False)


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 4, 5, 7, 8, 13, 64])
def test_chunk_boundaries_everywhere(tmp_path: Path, chunk_size: int) -> None:
    data = b'{"x":1}\r\n\n\r\nlonger line here\nab\r\n\r\r\nz\n' * 3 + b"tail"
    p = tmp_path / "s.jsonl"
    p.write_bytes(data)
    for start in (0, 9, 10, 40):
        lines, r = read_all(p, start, chunk_size=chunk_size)
        expected, end, _ = reference(data, start, 1 << 30)
        assert lines == expected
        assert r.end_offset == end
        assert r.pending_bytes == 4


def test_stopping_early_keeps_a_resumable_offset(tmp_path: Path) -> None:
    p = tmp_path / "s.jsonl"
    p.write_bytes(b"".join(b"line %d\n" % i for i in range(10_000)))
    with LineReader(p, chunk_size=4096) as r:
        it = iter(r)
        taken = [next(it) for _ in range(1235)]
    line = taken[-1]
    assert line == RawLine(r.end_offset - len(b"line 1234\n"), b"line 1234")
    lines, _ = read_all(p, r.end_offset)
    assert lines[0].data == b"line 1235"
    assert len(lines) == 10_000 - 1235


def test_reader_is_single_use_and_closes(tmp_path: Path) -> None:
    p = tmp_path / "s.jsonl"
    p.write_bytes(b"a\nb\n")
    r = LineReader(p)
    it = iter(r)
    assert next(it) == RawLine(0, b"a")
    with pytest.raises(RuntimeError):
        iter(r)
    r.close()
    r.close()  # idempotent
    assert list(it) == []
    with pytest.raises(FileNotFoundError):
        LineReader(tmp_path / "missing.jsonl")


def test_oversized_lines_are_skipped_and_recorded(tmp_path: Path) -> None:
    long = b"x" * 1000
    data = b"ok1\n" + long + b"\nok2\n" + long + b"\r\n" + b"ok3\n" + long
    p = tmp_path / "s.jsonl"
    p.write_bytes(data)
    for chunk_size in (7, 64, 4096):
        lines, r = read_all(p, chunk_size=chunk_size, max_line_bytes=100)
        assert lines == [RawLine(0, b"ok1"), RawLine(1005, b"ok2"), RawLine(2011, b"ok3")]
        assert r.oversized == [(4, 1000), (1009, 1001)]
        # the unterminated oversized tail is neither yielded nor recorded yet
        assert r.end_offset == 2015
        assert r.pending_bytes == 1000


def test_fifty_megabyte_line_bounded_memory(tmp_path: Path) -> None:
    size = 50 * MB
    p = tmp_path / "big.jsonl"
    with p.open("wb") as f:
        f.write(b'{"a":1}\n')
        f.write(b'{"image":"' + b"A" * (size - 13) + b'"}\r\n')
        f.write(b'{"b":2}\n')
    gc.collect()
    tracemalloc.start()
    try:
        with LineReader(p) as r:
            seen = [(line.offset, len(line.data), line.data[-12:]) for line in r]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # read back from the file with its huge string blanked: never held whole
    assert seen == [(0, 7, b'{"a":1}'), (8, 12, b'{"image":""}'), (size + 9, 7, b'{"b":2}')]
    assert r.end_offset == size + 17
    assert peak < 4 * MB, f"peak {peak / MB:.0f} MB"


def test_read_line_at_never_holds_a_long_line(tmp_path: Path) -> None:
    """An archive's unterminated last line, read on its own: short ones as they are (without
    ``\\r``), a 50 MB one with its huge string blanked in a few MB."""
    p = tmp_path / "a.jsonl.reset.2026-01-01T00-00-00.000Z"
    with p.open("wb") as f:
        f.write(b'{"a":1}\n{"image":"' + b"A" * (50 * MB) + b'"}\r')
    size = p.stat().st_size
    assert tail.read_line_at(p, 0, 7) == b'{"a":1}'
    gc.collect()
    tracemalloc.start()
    try:
        data = tail.read_line_at(p, 8, size - 8)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert data == b'{"image":""}'
    assert peak < 4 * MB, f"peak {peak / MB:.0f} MB"


@pytest.mark.parametrize("chunk", [1000, 1 << 20])
def test_long_line_of_short_strings_is_read_back_intact(tmp_path: Path, chunk: int) -> None:
    body = b'{"rows":[' + b",".join(b'"r%06d"' % i for i in range(200_000)) + b"]}"
    assert len(body) > 1 << 20
    p = tmp_path / "long.jsonl"
    p.write_bytes(b'{"a":1}\n' + body + b"\r\n" + b'{"b":2}\n')
    lines, r = read_all(p, chunk_size=chunk)
    assert lines == [
        RawLine(0, b'{"a":1}'),
        RawLine(8, body),
        RawLine(8 + len(body) + 2, b'{"b":2}'),
    ]
    assert r.end_offset == p.stat().st_size


def test_long_line_in_zst_is_assembled(tmp_path: Path) -> None:
    big = b'{"image":"' + b"A" * (3 * MB) + b'"}'
    p = tmp_path / "s.jsonl.deleted.2026-01-01T00-00-00.000Z.zst"
    p.write_bytes(zstandard.ZstdCompressor().compress(b'{"a":1}\n' + big + b"\n"))
    lines, _ = read_all(p, compressed=True)
    assert [(ln.offset, bytes(ln.data)) for ln in lines] == [(0, b'{"a":1}'), (8, big)]


def test_oversized_line_is_never_held_whole(tmp_path: Path) -> None:
    p = tmp_path / "big.jsonl"
    with p.open("wb") as f:
        f.write(b"B" * (40 * MB) + b"\nafter\n")
    tracemalloc.start()
    try:
        lines, r = read_all(p, max_line_bytes=2 * MB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert lines == [RawLine(40 * MB + 1, b"after")]
    assert r.oversized == [(0, 40 * MB)]
    assert peak < 8 * MB, f"peak {peak / MB:.0f} MB"


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.binary(max_size=200).map(lambda b: bytes(b"ab\r\n"[x % 4] for x in b)),
    chunk_size=st.integers(1, 40),
    max_line=st.integers(1, 50),
    start=st.integers(0, 60),
    compressed=st.booleans(),
    spill=st.integers(1, 60),
)
def test_reader_matches_reference(
    tmp_path: Path,
    data: bytes,
    chunk_size: int,
    max_line: int,
    start: int,
    compressed: bool,
    spill: int,
) -> None:
    """Whatever the chunking, and whether long lines are held or read back from the file
    (``spill``: no quotes here, so reading back gives the same bytes), the lines are the
    reference's."""
    p = tmp_path / "prop.jsonl"
    if compressed:  # several frames, so frame ends fall anywhere in the lines
        cctx = zstandard.ZstdCompressor()
        p.write_bytes(b"".join(cctx.compress(data[i : i + 17]) for i in range(0, len(data), 17)))
    else:
        p.write_bytes(data)
    lines, r = read_all(
        p,
        start,
        compressed=compressed,
        chunk_size=chunk_size,
        max_line_bytes=max_line,
        spill_line_bytes=spill,
    )
    assert not r.truncated_stream
    expected, end, oversized = reference(data, start, max_line)
    assert lines == expected
    assert r.oversized == oversized
    assert r.end_offset == max(end, start)


# -- zstd archives ------------------------------------------------------------------------------


def jsonl(n: int) -> bytes:
    return b"".join(b'{"type":"message","id":"%08x","n":%d}\n' % (i, i) for i in range(n))


def test_zst_full_multi_frame(tmp_path: Path) -> None:
    data = jsonl(20_000)
    half = data.index(b"\n", len(data) // 2) + 1
    cctx = zstandard.ZstdCompressor()
    p = tmp_path / "a.jsonl.deleted.2026-03-02T09-14-05.112Z.zst"
    p.write_bytes(cctx.compress(data[:half]) + cctx.compress(data[half:]))
    lines, r = read_all(p, compressed=True, chunk_size=4096)
    expected, end, _ = reference(data, 0, 1 << 30)
    assert lines == expected
    assert (r.end_offset, r.truncated_stream) == (end, False)
    # start_offset counts uncompressed bytes
    start = expected[12_345].offset
    lines, r = read_all(p, start, compressed=True)
    assert lines == expected[12_345:]
    assert r.end_offset == len(data)


def test_zst_truncated_mid_frame(tmp_path: Path) -> None:
    data = jsonl(50_000)
    compressed = zstandard.ZstdCompressor().compress(data)
    p = tmp_path / "a.jsonl.deleted.x.zst"
    p.write_bytes(compressed[: len(compressed) // 2])
    lines, r = read_all(p, compressed=True)
    expected, _, _ = reference(data, 0, 1 << 30)
    assert r.truncated_stream
    assert 0 < len(lines) < len(expected)
    assert lines == expected[: len(lines)]
    assert r.end_offset == lines[-1].offset + len(lines[-1].data) + 1


def test_zst_archive_still_being_written(tmp_path: Path) -> None:
    """Blocks flushed, frame not finished: every complete line so far, then the flag."""
    p = tmp_path / "a.jsonl.deleted.x.zst"
    with p.open("wb") as f:
        writer = zstandard.ZstdCompressor().stream_writer(f, closefd=False)
        writer.write(b"one\ntwo\nthr")
        writer.flush(zstandard.FLUSH_BLOCK)
        f.flush()
        lines, r = read_all(p, compressed=True)
        assert lines == [RawLine(0, b"one"), RawLine(4, b"two")]
        assert (r.end_offset, r.truncated_stream) == (8, True)
        writer.write(b"ee\n")
        writer.flush(zstandard.FLUSH_FRAME)
    lines, r = read_all(p, 8, compressed=True)
    assert lines == [RawLine(8, b"three")]
    assert (r.end_offset, r.truncated_stream) == (14, False)


def test_zst_corrupt_and_empty(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl.deleted.x.zst"
    p.write_bytes(zstandard.ZstdCompressor().compress(b"ok\n") + b"not zstd at all")
    lines, r = read_all(p, compressed=True)
    assert lines == [RawLine(0, b"ok")]
    assert r.truncated_stream
    p.write_bytes(b"")
    lines, r = read_all(p, compressed=True)
    assert (lines, r.truncated_stream) == ([], False)


# -- shrink_long_strings ------------------------------------------------------------------------


def blank_long(value: Any, limit: int, encode: Any) -> Any:
    """The expected result: value strings whose encoded form exceeds limit become ""."""
    if isinstance(value, str):
        return "" if len(encode(value)) - 2 > limit else value
    if isinstance(value, list):
        return [blank_long(v, limit, encode) for v in value]
    if isinstance(value, dict):
        return {k: blank_long(v, limit, encode) for k, v in value.items()}
    return value


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b'{"a":"' + b"x" * 20 + b'","b":"short"}', b'{"a":"","b":"short"}'),
        (b'{"a":"' + b"x" * 10 + b'"}', b'{"a":"' + b"x" * 10 + b'"}'),  # == limit: kept
        (b'{"a":"' + b"x" * 11 + b'"}', b'{"a":""}'),
        # escaped quotes and backslashes inside the long string
        (b'{"a":"say \\"hi\\" \\\\ \\\\\\" done","b":1}', b'{"a":"","b":1}'),
        # a long string ending in an escaped backslash
        (b'{"a":"xxxxxxxxxxxx\\\\","b":"\\\\"}', b'{"a":"","b":"\\\\"}'),
        # keys are never touched, even long ones; whitespace before the colon
        (b'{"' + b"k" * 20 + b'" : "' + b"v" * 20 + b'"}', b'{"' + b"k" * 20 + b'" : ""}'),
        (b'["' + b"y" * 30 + b'", "ab", ["' + b"z" * 12 + b'"]]', b'["", "ab", [""]]'),
        (b'{"n":[1,2,3],"t":true}', b'{"n":[1,2,3],"t":true}'),
        # unterminated string: left alone from there on
        (b'{"a":"' + b"x" * 20 + b'","b":"yyyyyyyyyyyyyyyy', b'{"a":"","b":"yyyyyyyyyyyyyyyy'),
        (b"", b""),
    ],
)
def test_shrink_examples(line: bytes, expected: bytes) -> None:
    assert shrink_long_strings(line, limit=10) == expected


def test_shrink_returns_input_when_unchanged() -> None:
    line = b'{"a":"short","b":[1,2]}'
    assert shrink_long_strings(line) is line


def test_shrink_real_message_line() -> None:
    obj = {
        "type": "message",
        "id": "a1b2c3d4",
        "message": {
            "role": "toolResult",
            "content": [
                {"type": "image", "data": "iVBORw0KGgo" * 20_000, "mimeType": "image/png"},
                {"type": "text", "text": 'out: {"k": "v\\n"}\n' * 5000},
            ],
            "details": {"note": "kept"},
        },
    }
    for encode in (orjson.dumps, lambda o: json.dumps(o).encode()):
        line = encode(obj)
        shrunk = shrink_long_strings(line)
        assert len(shrunk) < 300
        assert orjson.loads(shrunk) == blank_long(obj, 65536, encode)


@pytest.mark.parametrize("window", [2, 3, 5, 16, 1 << 18])
def test_shrink_window_boundaries(monkeypatch: pytest.MonkeyPatch, window: int) -> None:
    monkeypatch.setattr(tail, "_WINDOW", window)
    obj = {"a": 'q"\\' * 9, "b": ["\\\\\\", '"' * 7, "x" * 4], "c": {"d": "\\" * 13 + '"'}}
    line = json.dumps(obj).encode()
    assert orjson.loads(shrink_long_strings(line, limit=6)) == blank_long(
        obj, 6, lambda s: json.dumps(s).encode()
    )


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.text(alphabet=st.sampled_from('ab"\\\n\t/é€😀 '), max_size=30),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.text(alphabet='kq"\\', max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)


@settings(max_examples=200)
@given(
    obj=st.dictionaries(st.text(max_size=5), json_values, max_size=6),
    limit=st.integers(0, 24),
    ascii_escapes=st.booleans(),
    window=st.sampled_from([2, 3, 7, 64, 1 << 18]),
)
def test_shrink_property(obj: dict[str, Any], limit: int, ascii_escapes: bool, window: int) -> None:
    def encode(value: Any) -> bytes:
        if ascii_escapes:
            return json.dumps(value, ensure_ascii=True).encode()
        return orjson.dumps(value)

    line = encode(obj)
    old = tail._WINDOW
    tail._WINDOW = window
    try:
        shrunk = shrink_long_strings(line, limit=limit)
    finally:
        tail._WINDOW = old
    assert orjson.loads(shrunk) == blank_long(obj, limit, encode)


def best_of_three(line: bytes) -> tuple[float, bytes]:
    times = []
    for _ in range(3):
        start = time.perf_counter()
        shrunk = shrink_long_strings(line)
        times.append(time.perf_counter() - start)
    return min(times), shrunk


@pytest.mark.parametrize(
    ("case", "budget"),
    [
        # the case that matters: one huge base64 image (measured ~5 ms)
        ("base64", 0.25),
        # pathological: ~13 million escapes inside one string (~0.1-0.3 s)
        ("escapes", 0.8),
        # pathological: ten million short strings (~0.07 s)
        ("short", 0.8),
    ],
)
def test_shrink_is_fast_on_fifty_megabytes(case: str, budget: float) -> None:
    line = {
        "base64": lambda: b'{"type":"message","data":"' + b"QUJD" * (50 * MB // 4) + b'","n":1}',
        "escapes": lambda: b'{"text":"' + b'{\\"k\\":\\"v\\"} \\\\ ' * (50 * MB // 18) + b'"}',
        "short": lambda: b"[" + b'"ab",' * (10 * MB) + b'"ab"]',
    }[case]()
    elapsed, shrunk = best_of_three(line)
    assert elapsed < budget, f"{elapsed:.2f}s"
    assert len(shrunk) < 64 or shrunk is line
    orjson.loads(shrunk)


# -- fingerprints ---------------------------------------------------------------------------------


def test_fingerprints(tmp_path: Path) -> None:
    data = bytes(range(256)) * 10
    p = tmp_path / "f.jsonl"
    p.write_bytes(data)
    assert head_fingerprint(p) == (hashlib.sha256(data[:1024]).hexdigest(), 1024)
    assert head_fingerprint(p, 5000) == (hashlib.sha256(data).hexdigest(), 2560)
    assert bytes_fingerprint(p, 100, 50) == hashlib.sha256(data[100:150]).hexdigest()
    assert bytes_fingerprint(p, 2500, 60) == hashlib.sha256(data[2500:]).hexdigest()
    assert bytes_fingerprint(p, 2500, 61) is None
    assert bytes_fingerprint(p, 9999, 1) is None
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert head_fingerprint(empty) == (hashlib.sha256(b"").hexdigest(), 0)
