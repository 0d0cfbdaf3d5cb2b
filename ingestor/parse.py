"""One transcript line (bytes) to a typed value: a header, an entry, or an error value.

Pure functions, no database and no file access. Nothing raised here escapes: bad input becomes
:class:`LineError` (the line is skipped and recorded) or a warning attached to the value (the
line still counts). The accounting rules live in :mod:`ingestor.normalize`; this module only
checks shapes and converts timestamps.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

#: Lines longer than this have their long string values blanked before parsing, so a 50 MB
#: line with an inline image parses in little memory (the values are never needed).
BIG_LINE_BYTES = 1 << 20

#: Entry types of the format spec; others are still entries (skipped by usage, kept as rows).
KNOWN_ENTRY_TYPES = frozenset(
    {
        "message",
        "model_change",
        "thinking_level_change",
        "compaction",
        "branch_summary",
        "custom",
        "custom_message",
        "label",
        "session_info",
    }
)


@dataclass(slots=True)
class LineError:
    """A line that cannot be ingested. ``syntax`` is True when the line is not a JSON object
    at all (blank, invalid JSON, an array...), False when it is an object of the wrong shape.
    ``transcript`` is True when the object is still recognisably a transcript line (a
    ``session`` header, or an entry of a known type) though broken: a file that starts with it
    is a transcript with a bad line, not some other file (format spec §12.7: a per-line error
    never aborts the file)."""

    reason: str
    syntax: bool = False
    transcript: bool = False


@dataclass(slots=True)
class Header:
    """The ``session`` line."""

    session_id: str
    ts_ms: int | None
    cwd: str | None
    parent_session: str | None
    warnings: tuple[str, ...] = ()


@dataclass(slots=True)
class Entry:
    """Any other line: ``type``, ``id``, ``parentId``, ``timestamp`` and the raw object."""

    type: str
    id: str
    parent_id: str | None
    ts_ms: int
    obj: dict[str, Any]
    warnings: tuple[str, ...] = ()


Parsed = Header | Entry | LineError

_DAY_CACHE: dict[str, int] = {}


def _day_ms(date_part: str) -> int:
    """Epoch ms of 00:00 UTC of ``YYYY-MM-DD`` (cached: a corpus has few distinct days)."""
    v = _DAY_CACHE.get(date_part)
    if v is None:
        y, m, d = int(date_part[0:4]), int(date_part[5:7]), int(date_part[8:10])
        # days from civil (Howard Hinnant), exact for the proleptic Gregorian calendar
        y -= m <= 2
        era = y // 400
        yoe = y - era * 400
        doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
        doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
        v = (era * 146097 + doe - 719468) * 86_400_000
        if len(_DAY_CACHE) < 100_000:
            _DAY_CACHE[date_part] = v
    return v


_MINUTE_CACHE: dict[str, int] = {}


def _minute_ms(prefix: str) -> int:
    """Epoch ms of ``YYYY-MM-DDTHH:MM`` UTC (cached: a session's lines share their minutes)."""
    v = _MINUTE_CACHE.get(prefix)
    if v is None:
        v = _day_ms(prefix[:10]) + int(prefix[11:13]) * 3_600_000 + int(prefix[14:16]) * 60_000
        if len(_MINUTE_CACHE) >= 4096:  # a few hundred KB
            _MINUTE_CACHE.clear()
        _MINUTE_CACHE[prefix] = v
    return v


def iso_to_ms(value: Any) -> int | None:
    """ISO-8601 timestamp to epoch ms UTC, or None. Fast path for OpenClaw's own
    ``YYYY-MM-DDTHH:MM:SS.mmmZ``; anything else through ``datetime.fromisoformat`` (a naive
    time is taken as UTC)."""
    if not isinstance(value, str):
        return None
    if (
        len(value) == 24
        and value[23] == "Z"
        and value[10] == "T"
        and value[19] == "."
        and value[4] == "-"
        and value[13] == ":"
        and value[16] == ":"
    ):
        try:
            # "SS" + "mmm" read as one number is SS * 1000 + mmm
            return _minute_ms(value[:16]) + int(value[17:19] + value[20:23])
        except ValueError:
            return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return round(dt.timestamp() * 1000)


#: Epoch-ms values beyond this (about year 5138) are not times: treated as absent.
MAX_MS = 10**14


def ms_value(value: Any) -> int | None:
    """An epoch-ms number (``message.timestamp``) or None; ISO strings are accepted too."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if abs(value) < MAX_MS else None
    if isinstance(value, float) and math.isfinite(value) and abs(value) < MAX_MS:
        return int(value)
    if isinstance(value, str):
        return iso_to_ms(value)
    return None


def load_json(data: bytes | bytearray | memoryview) -> tuple[Any, tuple[str, ...]] | LineError:
    """Any JSON value of OpenClaw's (a line, ``sessions.json``, a session row's JSON) and the
    warnings of its reading, or the error: orjson first, then invalid UTF-8 replaced, then the
    lenient reading of :func:`_lenient_loads`. Strings over 64 KB in a value over
    ``BIG_LINE_BYTES`` are blanked first (never needed)."""
    if len(data) > BIG_LINE_BYTES:
        from ingestor.tail import shrink_long_strings

        data = shrink_long_strings(data)  # type: ignore[arg-type]
    try:
        return orjson.loads(data), ()
    except orjson.JSONDecodeError as exc:
        first = exc
    warnings: tuple[str, ...] = ()
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        # accounting.md §4: invalid UTF-8 is decoded with replacement; the line still counts
        text = bytes(data).decode("utf-8", "replace")
        warnings = ("invalid UTF-8 replaced",)
        try:
            return orjson.loads(text), warnings
        except orjson.JSONDecodeError as exc:
            first = exc
    lenient = _lenient_loads(text)
    if lenient is None:
        return LineError(f"invalid JSON: {_short(first)}", syntax=True)
    obj, fixed = lenient
    return obj, warnings + (("unpaired UTF-16 surrogate replaced",) if fixed else ())


def _big_int(digits: str) -> int | float:
    """An integer literal as orjson reads it: past 64 bits, a double."""
    v = int(digits)
    return v if -(1 << 63) <= v < (1 << 64) else float(digits)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _lenient_loads(text: str) -> tuple[Any, bool] | None:
    """A second, lenient reading of a line orjson refused (rare lines only), or None.

    Some lines are fine but for what orjson will not read: ``NaN``/``Infinity`` (written by
    writers other than JavaScript's ``JSON.stringify``), a number past the double range such
    as ``1e400`` (valid JSON), a byte order mark before the line, and a string cut inside a
    surrogate pair (``JSON.stringify`` writes the lone half as ``\\udXXX``). Python's
    ``json`` reads all of them: the non-finite numbers then meet the token and cost rules
    (counted as 0 with a warning, or an unknown logged cost, accounting.md §4-5), and a lone
    surrogate becomes U+FFFD, as invalid UTF-8 does (``True`` in the result). Anything else
    it refuses too stays an invalid line."""
    try:
        # a byte order mark before the line (an editor's save) is not part of the JSON
        obj = json.loads(text.lstrip("\ufeff"), parse_int=_big_int)
    except (ValueError, RecursionError):
        return None
    try:
        orjson.dumps(obj)
        return obj, False
    except (orjson.JSONEncodeError, RecursionError):
        pass
    # Replace every lone surrogate, in keys too (pairs were joined by the decoder).
    root = [obj]
    todo: list[tuple[Any, Any]] = [(root, 0)]
    while todo:
        box, key = todo.pop()
        v = box[key]
        if type(v) is str:
            box[key] = _SURROGATE.sub("\ufffd", v)
        elif type(v) is list:
            todo.extend((v, i) for i in range(len(v)))
        elif type(v) is dict:
            box[key] = d = {_SURROGATE.sub("\ufffd", k): x for k, x in v.items()}
            todo.extend((d, k) for k in d)
    try:
        orjson.dumps(root[0])
    except (orjson.JSONEncodeError, RecursionError):
        return None
    return root[0], True


def _short(exc: Exception) -> str:
    msg = str(exc)
    return msg if len(msg) <= 120 else msg[:117] + "..."


def parse_line(data: bytes | bytearray | memoryview) -> Parsed:
    """Parse one transcript line (without its newline)."""
    # a line that starts with "{" is not blank: no copy of it to strip
    if not data or (data[0] != 0x7B and len(data) < 4096 and not bytes(data).strip()):
        return LineError("blank line", syntax=True)
    if data[0] == 0:
        return _after_nul_hole(data)
    if len(data) <= BIG_LINE_BYTES:  # the common case, without the slow path's tuple
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # invalid UTF-8 is replaced below; anything else is an error there too
        else:
            if type(obj) is dict:
                return parse_object(obj)
            return LineError(f"not a JSON object ({type(obj).__name__})", syntax=True)
    loaded = load_json(data)
    if isinstance(loaded, LineError):
        return loaded
    obj, warnings = loaded
    if not isinstance(obj, dict):
        return LineError(f"not a JSON object ({type(obj).__name__})", syntax=True)
    return parse_object(obj, warnings)


def _after_nul_hole(data: bytes | bytearray | memoryview) -> Parsed:
    """A line after a run of NUL bytes: the hole a copytruncate leaves when the writer does not
    append (it writes at its old offset into the emptied file). The bytes after the hole are
    the line, with a warning."""
    rest = bytes(data).lstrip(b"\x00")
    if not rest.strip():
        return LineError("blank line (NUL bytes only)", syntax=True)
    parsed = parse_line(rest)
    if isinstance(parsed, LineError):
        return parsed
    note = f"{len(data) - len(rest)} NUL bytes before the line skipped"
    parsed.warnings = (*parsed.warnings, note)
    return parsed


def parse_object(obj: dict[str, Any], warnings: tuple[str, ...] = ()) -> Parsed:
    """Classify an already-decoded object (JSONL line or SQLite ``event_json``)."""
    typ = obj.get("type")
    if not isinstance(typ, str):
        return LineError("no string 'type' field")
    if typ == "session":
        sid = obj.get("id")
        if not isinstance(sid, str) or not sid:
            return LineError("session header without a string 'id'", transcript=True)
        cwd = obj.get("cwd")
        parent = obj.get("parentSession")
        if not isinstance(parent, str):
            scope = obj.get("parentTranscriptScope")
            parent = (
                f"agent-db:{scope.get('agentId')}:transcript_events:{scope.get('sessionId')}"
                if isinstance(scope, dict) and isinstance(scope.get("sessionId"), str)
                else None
            )
        return Header(
            session_id=sid,
            ts_ms=iso_to_ms(obj.get("timestamp")),
            cwd=cwd if isinstance(cwd, str) else None,
            parent_session=parent,
            warnings=warnings,
        )
    ts_ms = iso_to_ms(obj.get("timestamp"))
    if ts_ms is None:
        return LineError(
            f"{typ} entry without a valid 'timestamp'", transcript=typ in KNOWN_ENTRY_TYPES
        )
    eid = obj.get("id")
    if not isinstance(eid, str) or not eid:
        # v1 files have no entry ids: a stable id from the content keeps duplicates together.
        eid = content_id(obj)
    parent_id = obj.get("parentId")
    if typ == "message" and not isinstance(obj.get("message"), dict):
        return LineError("message entry whose 'message' is not an object", transcript=True)
    return Entry(typ, eid, parent_id if type(parent_id) is str else None, ts_ms, obj, warnings)


def content_id(obj: dict[str, Any]) -> str:
    """The id of an entry that has none (format v1): ``h`` + 15 hex digits of a hash of its
    content (never an OpenClaw id: those are hex or UUIDs, without ``h``)."""
    return "h" + hashlib.sha1(orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)).hexdigest()[:15]


def is_content_id(eid: str) -> bool:
    return len(eid) == 16 and eid[0] == "h"


def v1_content_id(obj: dict[str, Any]) -> str:
    """The id this entry had before OpenClaw migrated its file from format v1 (which added
    ``id`` and ``parentId`` to every entry and nothing else to a message)."""
    return content_id({k: v for k, v in obj.items() if k != "id" and k != "parentId"})


def looks_like_entry(obj: Any) -> bool:
    """True when an object is a transcript entry (for header-less transcripts)."""
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("type"), str)
        and isinstance(obj.get("timestamp"), str)
        and "traceSchema" not in obj
    )
