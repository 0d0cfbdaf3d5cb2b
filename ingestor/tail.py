"""Complete lines from a byte offset: the tail stage of the pipeline.

This module owns reading transcript and log files as *bytes*: it yields every complete
(newline-terminated) line from a starting offset, in bounded chunks, for plain files and for
zstd archives (``*.jsonl.deleted.<ts>.zst``). It knows nothing about JSON beyond
:func:`shrink_long_strings`, which blanks huge string literals so a many-megabyte line can be
parsed cheaply, and nothing about the database.

Rules (openclaw-format.md §12, items 4-6):

* Only lines ending in ``\\n`` are yielded; a partial last line is left for the next poll and
  :attr:`LineReader.end_offset` stops before it. A trailing ``\\r`` is removed.
* Blank lines are yielded (the parser records them).
* Memory is bounded: files are read in chunks and never whole. In a plain file, a line over
  ``spill_line_bytes`` (1 MiB) is not held either: once its newline is found it is read back
  from the file in windows with its long string literals blanked (:func:`shrink_long_strings`;
  a 50 MB line with an inline image costs a few hundred KB). In a ``.zst`` stream a long line
  is assembled from its chunks. A line over ``max_line_bytes`` is skipped without ever being
  held whole, recorded in :attr:`LineReader.oversized`, and passed over.
* Offsets in a ``.zst`` file are offsets in the *uncompressed* stream. A stream that ends
  early or is corrupt (an archive still being written) stops the reader cleanly with
  :attr:`LineReader.truncated_stream` set.

:func:`head_fingerprint` and :func:`bytes_fingerprint` hash file prefixes and ranges for the
identity stage (was this file rewritten?).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import zstandard

__all__ = [
    "LineReader",
    "RawLine",
    "bytes_fingerprint",
    "head_fingerprint",
    "read_line_at",
    "shrink_long_strings",
]

# Compressed bytes fed to the zstd decompressor per call. Small, so that one call's output
# stays bounded even for highly compressible data (JSON compresses ~10-100x).
_ZSTD_FEED = 16 << 10

#: Lines of a plain file longer than this are read back from the file, shrunk, not held whole.
SPILL_LINE_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class RawLine:
    """One complete line: where it starts and its bytes without ``\\n`` / ``\\r\\n``."""

    offset: int
    data: bytes  # a bytearray for lines over 1 MiB (every consumer takes bytes-like data)


# The hot loop builds RawLine through its slot descriptors: a frozen dataclass's generated
# ``__init__`` costs ~1 µs per line (object.__setattr__ twice), half the budget at 1 KB lines.
_new_object = object.__new__
_set_offset = RawLine.__dict__["offset"].__set__
_set_data = RawLine.__dict__["data"].__set__


class LineReader:
    """Iterate complete lines of a file from ``start_offset``.

    A partial last line (no newline) is NOT yielded and :attr:`end_offset` stops before it.

    Attributes, valid during and after iteration:

    * ``end_offset``: offset just after the newline of the last line yielded (or skipped as
      oversized); always the end of a complete line, or ``start_offset``. Safe to store as the
      resume point even when the consumer stops early.
    * ``oversized``: ``(offset, length)`` of each line longer than ``max_line_bytes`` that was
      skipped; ``length`` counts the line's bytes without its ``\\n``.
    * ``truncated_stream``: ``.zst`` only: the compressed stream ended early or was corrupt.
    * ``pending_bytes``: after a full iteration, bytes past ``end_offset`` that form an
      unterminated last line (0 when the data ended with a newline).

    The reader is single-use; it is also a context manager (``close`` on exit).
    """

    def __init__(
        self,
        path: Path,
        start_offset: int = 0,
        *,
        compressed: bool = False,
        chunk_size: int = 1 << 20,
        max_line_bytes: int = 64 << 20,
        spill_line_bytes: int = SPILL_LINE_BYTES,
    ) -> None:
        if start_offset < 0:
            raise ValueError(f"start_offset must be >= 0, got {start_offset}")
        if chunk_size <= 0 or max_line_bytes <= 0:
            raise ValueError("chunk_size and max_line_bytes must be positive")
        self.path = path
        self.start_offset = start_offset
        self.compressed = compressed
        self.end_offset = start_offset
        self.oversized: list[tuple[int, int]] = []
        self.truncated_stream = False
        self.pending_bytes = 0
        self._chunk_size = chunk_size
        self._max_line_bytes = max_line_bytes
        # a plain file can be read again, so a long line is never held whole (see the module)
        self._spill = spill_line_bytes if not compressed else max_line_bytes + 1
        self._file: BinaryIO | None = open(path, "rb", buffering=0)  # noqa: SIM115
        self._gen: Iterator[RawLine] | None = None
        self._started = False

    # -- iteration -------------------------------------------------------------------------

    def __iter__(self) -> Iterator[RawLine]:
        if self._started:
            raise RuntimeError("LineReader is single-use; create a new one to read again")
        self._started = True
        if self._file is None:
            raise ValueError("LineReader is closed")
        chunks = (
            self._zstd_chunks(self._file) if self.compressed else self._plain_chunks(self._file)
        )
        self._gen = self._lines(chunks)
        return self._gen

    def _plain_chunks(self, f: BinaryIO) -> Iterator[bytes]:
        if self.start_offset:
            f.seek(self.start_offset)
        size = self._chunk_size
        while chunk := f.read(size):
            yield chunk

    def _zstd_chunks(self, f: BinaryIO) -> Iterator[bytes]:
        """Decompressed data after ``start_offset`` uncompressed bytes, in ~chunk_size pieces."""
        skip = self.start_offset
        target = self._chunk_size
        buf: list[bytes] = []
        buffered = 0
        for piece in self._zstd_pieces(f):
            if skip:
                if len(piece) <= skip:
                    skip -= len(piece)
                    continue
                piece = piece[skip:]
                skip = 0
            buf.append(piece)
            buffered += len(piece)
            if buffered >= target:
                yield buf[0] if len(buf) == 1 else b"".join(buf)
                buf.clear()
                buffered = 0
        if buf:
            yield b"".join(buf)

    def _zstd_pieces(self, f: BinaryIO) -> Iterator[bytes]:
        """Raw decompressor output, frame after frame; sets ``truncated_stream`` on a bad end."""
        dctx = zstandard.ZstdDecompressor()
        dobj = dctx.decompressobj()
        in_frame = False
        while True:
            data = f.read(_ZSTD_FEED)
            if not data:
                break
            while data:
                try:
                    out = dobj.decompress(data)
                except zstandard.ZstdError:
                    self.truncated_stream = True
                    return
                in_frame = True
                if out:
                    yield out
                if dobj.eof:
                    data = dobj.unused_data
                    dobj = dctx.decompressobj()
                    in_frame = False
                else:
                    data = b""
        if in_frame:
            self.truncated_stream = True

    def _lines(self, chunks: Iterator[bytes]) -> Iterator[RawLine]:
        max_len = self._max_line_bytes
        oversized = self.oversized
        pos = self.start_offset  # absolute offset of the current chunk's first byte
        line_start = pos  # absolute offset of the pending (partial) line
        spill = self._spill
        parts = bytearray()  # the pending line so far (empty while skipping); grown in place
        part_len = 0  # bytes of the pending line seen so far
        skipping = False  # pending line is oversized: its bytes are being discarded
        spilled = False  # pending line is long: read back from the file at its end
        for chunk in chunks:
            n = len(chunk)
            first = chunk.find(b"\n")
            if first < 0:
                part_len += n
                if not skipping and not spilled:
                    parts += chunk
                    if part_len > max_len:
                        parts.clear()
                        skipping = True
                    elif part_len > spill:
                        parts.clear()
                        spilled = True
                pos += n
                continue

            # 1. The line that started in an earlier chunk (or at this chunk's start).
            total = part_len + first
            self.end_offset = pos + first + 1
            if skipping or total > max_len:
                oversized.append((line_start, total))
                parts.clear()
                skipping = spilled = False
            elif spilled or total > spill:
                parts.clear()
                spilled = False
                yield RawLine(line_start, self._read_back(line_start, total))
            else:
                joined = _join_line(parts, chunk[:first])
                if joined is parts:
                    parts = bytearray()
                yield RawLine(line_start, joined)

            # 2. Every line wholly inside this chunk.
            last = chunk.rfind(b"\n")
            if last > first:
                body = chunk[first + 1 : last]
                strip_cr = b"\r" in body
                off = pos + first + 1
                new, set_offset, set_data = _new_object, _set_offset, _set_data
                if not strip_cr and len(body) <= max_len:  # the common case, kept lean
                    for ln in body.split(b"\n"):
                        nxt = off + len(ln) + 1
                        self.end_offset = nxt
                        line = new(RawLine)
                        set_offset(line, off)
                        set_data(line, ln)
                        yield line
                        off = nxt
                else:
                    yield from self._body_lines(body, off, strip_cr)

            # 3. The start of the next line.
            line_start = pos + last + 1
            part_len = n - last - 1
            if part_len:
                if part_len > max_len:
                    skipping = True
                elif part_len > spill:
                    spilled = True
                else:
                    parts += memoryview(chunk)[last + 1 :]
            pos += n
        self.pending_bytes = part_len

    def _read_back(self, start: int, length: int) -> bytes:
        """A long line of a plain file, read again from the file with its long strings
        blanked, without ``\\r``."""
        assert self._file is not None
        return _shrunk_at(self._file.fileno(), start, length)

    def _body_lines(self, body: bytes, off: int, strip_cr: bool) -> Iterator[RawLine]:
        """The general loop over a chunk's whole lines: ``\\r`` removal, oversized lines."""
        max_len = self._max_line_bytes
        for ln in body.split(b"\n"):
            m = len(ln)
            nxt = off + m + 1
            self.end_offset = nxt
            if m > max_len:
                self.oversized.append((off, m))
            elif m > self._spill:
                yield RawLine(off, self._read_back(off, m))
            else:
                yield RawLine(off, ln[:-1] if strip_cr and ln[-1:] == b"\r" else ln)
            off = nxt

    def head_fingerprint(self, length: int = 1024) -> tuple[str, int]:
        """:func:`head_fingerprint` through the reader's open descriptor."""
        if self._file is None:
            raise ValueError("LineReader is closed")
        return _head(_pread_fd(self._file.fileno(), 0, length))

    def fingerprint(self, start: int, length: int) -> str | None:
        """:func:`bytes_fingerprint` of the file's own bytes (compressed ones for ``.zst``)
        through the reader's open descriptor: no second open of the file."""
        if self._file is None:
            raise ValueError("LineReader is closed")
        return _fingerprint(_pread_fd(self._file.fileno(), start, length), length)

    # -- resources -------------------------------------------------------------------------

    def close(self) -> None:
        if self._gen is not None:
            gen, self._gen = self._gen, None
            close = getattr(gen, "close", None)
            if close is not None:
                close()
        if self._file is not None:
            f, self._file = self._file, None
            f.close()

    def __enter__(self) -> LineReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def read_line_at(path: Path, start: int, length: int) -> bytes:
    """The ``length`` bytes of a line at ``start`` (an archive's unterminated last line),
    without ``\\r``; a line over ``SPILL_LINE_BYTES`` comes back with its long strings
    blanked, never held whole (as :class:`LineReader` does)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        if length > SPILL_LINE_BYTES:
            return _shrunk_at(fd, start, length)
        data = _pread_fd(fd, start, length)
    finally:
        os.close(fd)
    return data[:-1] if data[-1:] == b"\r" else data


def _shrunk_at(fd: int, start: int, length: int) -> bytes:
    """The line at ``start`` of an open file with its long strings blanked, without ``\\r``:
    read in windows, never held whole."""
    data = shrink_long_strings(_FileBytes(fd, start, length))
    return data[:-1] if data[-1:] == b"\r" else data


class _FileBytes:
    """A read-only bytes-like view of ``length`` bytes of an open file from ``start``: what
    :func:`shrink_long_strings` needs (``len`` and slices), read with ``pread``."""

    def __init__(self, fd: int, start: int, length: int) -> None:
        self.fd, self.start, self.length = fd, start, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, key: slice) -> bytes:
        a, b, _ = key.indices(self.length)
        # short if the file shrank under us: the parser reports what is left
        return _pread_fd(self.fd, self.start + a, b - a) if b > a else b""


def _join_line(parts: bytearray, tail: bytes) -> bytes:
    """Assemble a line from its earlier bytes and its last piece, without ``\\r``.

    The earlier bytes were grown in place (a large bytearray is resized with ``mremap``, not
    copied), so a 50 MB line costs about 50 MB, not twice that. A line over 1 MiB is returned
    as the bytearray itself (every consumer takes any bytes-like object); ``parts`` is then a
    new empty buffer.
    """
    if not parts:
        return tail[:-1] if tail[-1:] == b"\r" else tail
    parts += tail
    if parts[-1:] == b"\r":
        del parts[-1:]
    if len(parts) > 1 << 20:
        data = parts  # handed over whole; the caller starts a new buffer
        return data  # type: ignore[return-value]
    out = bytes(parts)
    parts.clear()
    return out


# -- JSON string shrinking -------------------------------------------------------------------

# Bytes examined per step by shrink_long_strings; windows holding a backslash are copied.
_WINDOW = 1 << 18


def shrink_long_strings(data: bytes | _FileBytes, limit: int = 65536) -> bytes:
    """Return the JSON line with every string literal longer than `limit` bytes replaced by an
    empty string ``""`` (keys and short values untouched).

    Length is measured on the encoded literal, between its quotes. A 50 MB line with one huge
    base64 image then parses in little memory. All scanning is C-speed ``bytes`` methods over
    bounded windows (see :func:`_long_string_spans`); valid JSON in gives valid JSON out.
    Returns ``data`` itself when nothing changes.
    """
    spans = _long_string_spans(data, limit)
    if not spans:
        return data[:] if isinstance(data, _FileBytes) else data
    out: list[bytes] = []
    copied = 0  # data[:copied] is already in out
    for opening, closing in spans:
        out.append(data[copied : opening + 1])
        copied = closing  # keep the closing quote
    out.append(data[copied:])
    return b"".join(out)


def _long_string_spans(data: bytes | _FileBytes, limit: int) -> list[tuple[int, int]]:
    """``(opening, closing)`` quote indexes of the value strings longer than ``limit``.

    The line is read in windows. In a window holding a backslash, escape pairs are first
    neutralized with two ``bytes.replace`` calls (``\\\\`` then ``\\"`` become two
    neutral bytes, so positions are kept): JSON escapes pair from the left exactly as
    ``replace`` scans, and a window never ends inside an escape pair. After that every quote
    is a string delimiter. Outside a string, the scan jumps ``limit`` bytes at a time: if the
    last quote within ``limit + 1`` bytes of an opening quote is at an even count from it,
    every string in between is short, and the state after it is known from that parity. So
    the cost is a few passes over the bytes, not a step per byte, escape or short string.
    An unterminated last string is left alone.
    """
    spans: list[tuple[int, int]] = []
    n = len(data)
    inside = False  # inside a string that opened at data[opened]
    opened = -1
    a = 0
    while a < n:
        b = min(n, a + _WINDOW)
        seg = data[a:b]
        if seg.find(b"\\") < 0:
            view = seg
        else:
            if b < n and (len(seg) - len(seg.rstrip(b"\\"))) % 2:
                b -= 1  # do not split an escape pair: leave its backslash to the next window
                seg = seg[:-1]
            view = seg.replace(b"\\\\", b"__").replace(b'\\"', b"__")
        lo, hi, base = 0, len(view), a
        pos = lo
        while (q := view.find(b'"', pos, hi)) >= 0:
            pos = q + 1
            if inside:
                closing = base + q
                if closing - opened - 1 > limit and not _is_key(data, closing):
                    spans.append((opened, closing))
                inside = False
                continue
            r = view.rfind(b'"', q + 1, min(hi, q + limit + 2))
            if r < 0:  # the string opened at q is long or runs past this window
                inside, opened = True, base + q
            elif view.count(b'"', q, r + 1) % 2:  # r opens a string; all before it are short
                inside, opened, pos = True, base + r, r + 1
            else:  # r closes a string; every string from q to r is short
                pos = r + 1
        a = b
    return spans


def _is_key(data: bytes | _FileBytes, closing: int) -> bool:
    """Whether the string literal closing at ``closing`` is an object key (``:`` follows)."""
    nxt = data[closing + 1 : closing + 2]
    if nxt == b":":
        return True
    if nxt not in (b" ", b"\t", b"\r", b"\n"):
        return False
    return data[closing + 1 : closing + 65].lstrip(b" \t\r\n")[:1] == b":"


# -- fingerprints ------------------------------------------------------------------------------


def head_fingerprint(path: Path, length: int = 1024) -> tuple[str, int]:
    """SHA-256 hex of the first ``min(size, length)`` bytes of the file, and that length."""
    if length < 0:
        raise ValueError(f"length must be >= 0, got {length}")
    return _head(_pread(path, 0, length))


def _head(data: bytes) -> tuple[str, int]:
    return hashlib.sha256(data).hexdigest(), len(data)


def _pread(path: Path | str, start: int, length: int) -> bytes:
    """Up to ``length`` bytes at ``start`` of a file (``pread``: no buffered file object, which
    costs more than the read for the few bytes a fingerprint needs, 25,000 files a pass)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return _pread_fd(fd, start, length)
    finally:
        os.close(fd)


def _pread_fd(fd: int, start: int, length: int) -> bytes:
    """Up to ``length`` bytes at ``start`` of an open file: fewer only at its end."""
    data = os.pread(fd, length, start)
    while 0 < len(data) < length:  # a short read before the end of the file
        more = os.pread(fd, length - len(data), start + len(data))
        if not more:
            break
        data += more
    return data


def bytes_fingerprint(path: Path, start: int, length: int) -> str | None:
    """SHA-256 hex of the bytes ``[start, start + length)``; ``None`` if the file is shorter."""
    if start < 0 or length < 0:
        raise ValueError(f"start and length must be >= 0, got {start}, {length}")
    return _fingerprint(_pread(path, start, length), length)


def _fingerprint(data: bytes, length: int) -> str | None:
    return None if len(data) < length else hashlib.sha256(data).hexdigest()
