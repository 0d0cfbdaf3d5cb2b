"""One gateway log line (tslog JSON, openclaw-format.md §9) to a :class:`GatewayEvent`.

Pure functions, no database and no file access. Log lines are operational events: they never
add usage (accounting.md §1), so nothing here looks at tokens or costs.

* time: top-level ``time`` (ISO UTC, added by OpenClaw), else ``_meta.date``;
* level: ``_meta.logLevelName`` / ``_meta.logLevelId`` (tslog: 0 SILLY … 6 FATAL), else a
  top-level ``level``;
* subsystem: a top-level ``subsystem``, else the ``"0"`` prefix argument
  ``{"subsystem":"<name>"}`` of subsystem loggers, else ``_meta.name`` (same JSON, or a name);
* message: the top-level ``message`` (mid-2026 builds), else the last string positional
  argument (``"1"``, ``"2"``, …), else the positional objects as JSON;
* identity: ``(time_ms, line_hash)`` per host, independent of the file's name and inode;
* ids: top-level ``agent_id`` / ``session_id`` / ``run_id`` (or camelCase, also inside a
  positional metadata object), else ``agentId=…``, ``sessionId=…``, ``runId=…`` in the text.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from ingestor.parse import iso_to_ms

#: Stored message text is cut here (a log line can carry a whole prompt or stack trace).
MESSAGE_CHARS = 2000
LEVELS = ("SILLY", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
_LEVEL_IDS = {name: i for i, name in enumerate(LEVELS)}
_LEVEL_IDS["WARNING"] = 4
_ID_PATTERNS = {
    "run_id": re.compile(r"\brunId[=:]\s*\"?([A-Za-z0-9_.:@+-]+)"),
    "session_id": re.compile(r"\bsessionId[=:]\s*\"?([A-Za-z0-9_.:@+-]+)"),
    "agent_id": re.compile(r"\bagentId[=:]\s*\"?([A-Za-z0-9_.@+-]+)"),
}
_KEY_AGENT = re.compile(r"\bsessionKey[=:]\s*\"?agent:([A-Za-z0-9_.@+-]+):")
_ID_FIELDS = {
    "agent_id": ("agent_id", "agentId"),
    "session_id": ("session_id", "sessionId"),
    "run_id": ("run_id", "runId"),
}


@dataclass(slots=True)
class GatewayEvent:
    time_ms: int
    level: str | None
    level_id: int | None
    subsystem: str | None
    message: str
    agent_id: str | None = None
    session_id: str | None = None
    run_id: str | None = None
    hostname: str | None = None
    #: identity of the raw line (set by :func:`parse_log_line`), with ``time_ms``
    line_hash: str = field(default="", compare=False)


@dataclass(slots=True)
class LogLineError:
    reason: str


def _str(v: Any, limit: int = 256) -> str | None:
    return v[:limit] if isinstance(v, str) and v else None


def _subsystem_of(value: Any) -> str | None:
    """``{"subsystem":"agent/embedded"}`` (a JSON string) → ``agent/embedded``."""
    if not isinstance(value, str) or not value.startswith("{"):
        return None
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    return _str(obj.get("subsystem"), 128) if isinstance(obj, dict) else None


def _positional(obj: dict[str, Any]) -> list[Any]:
    keys = sorted((int(k), k) for k in obj if k.isdigit())
    return [obj[k] for _, k in keys]


def _level(obj: dict[str, Any], meta: dict[str, Any]) -> tuple[str | None, int | None]:
    name = meta.get("logLevelName")
    lid = meta.get("logLevelId")
    if not isinstance(name, str):
        top = obj.get("level")
        name = top if isinstance(top, str) else None
    level = name.upper()[:8] if name else None
    level_id = lid if isinstance(lid, int) and not isinstance(lid, bool) else None
    if level_id is None and level is not None:
        level_id = _LEVEL_IDS.get(level)
    if level is None and level_id is not None and 0 <= level_id < len(LEVELS):
        level = LEVELS[level_id]
    return level, level_id


#: Top-level keys of the log envelope, not of a logged object spread into it.
_ENVELOPE = frozenset({"_meta", "time", "hostname", "level", "subsystem"})


def _spread_message(obj: dict[str, Any]) -> str:
    """The text of a line whose only argument was an object, spread into the top level
    (openclaw-format.md §9): its ``msg`` string, else the object as compact JSON, so the Logs
    page's search finds it."""
    msg = obj.get("msg")
    if isinstance(msg, str) and msg:
        return msg
    rest = {k: v for k, v in obj.items() if k not in _ENVELOPE and not k.isdigit()}
    if not rest:
        return ""
    try:
        return orjson.dumps(rest).decode()
    except (TypeError, orjson.JSONEncodeError):
        return ""


def parse_log_object(obj: dict[str, Any]) -> GatewayEvent | LogLineError:
    """Classify an already-decoded log object."""
    meta = obj.get("_meta")
    meta = meta if isinstance(meta, dict) else {}
    time_ms = iso_to_ms(obj.get("time"))
    if time_ms is None:
        time_ms = iso_to_ms(meta.get("date"))
    if time_ms is None:
        return LogLineError("log line without a valid 'time' or '_meta.date'")
    level, level_id = _level(obj, meta)

    args = _positional(obj)
    subsystem = _str(obj.get("subsystem"), 128)
    if args and _subsystem_of(args[0]) is not None:
        subsystem = subsystem or _subsystem_of(args[0])
        args = args[1:]
    if subsystem is None:
        name = meta.get("name")
        subsystem = _subsystem_of(name) or (
            _str(name, 128) if isinstance(name, str) and not name.startswith("{") else None
        )

    message = obj.get("message")
    if not isinstance(message, str):
        strings = [a for a in args if isinstance(a, str)]
        if strings:
            message = strings[-1]
        elif args:
            message = " ".join(orjson.dumps(a).decode() for a in args)
        else:
            message = _spread_message(obj)

    ids: dict[str, str | None] = {}
    holders = [obj, *(a for a in args if isinstance(a, dict))]
    for field_name, names in _ID_FIELDS.items():
        found = None
        for h in holders:
            for n in names:
                found = _str(h.get(n), 128)
                if found:
                    break
            if found:
                break
        if found is None:
            m = _ID_PATTERNS[field_name].search(message)
            found = m.group(1)[:128] if m else None
        ids[field_name] = found
    if ids["agent_id"] is None:
        m = _KEY_AGENT.search(message)
        ids["agent_id"] = m.group(1).lower()[:128] if m else None

    return GatewayEvent(
        time_ms=time_ms,
        level=level,
        level_id=level_id,
        subsystem=subsystem,
        message=message[:MESSAGE_CHARS].replace("\x00", ""),
        agent_id=ids["agent_id"],
        session_id=ids["session_id"],
        run_id=ids["run_id"],
        hostname=_str(obj.get("hostname")) or _str(meta.get("hostname")),
    )


def parse_log_line(data: bytes | bytearray | memoryview) -> GatewayEvent | LogLineError:
    """Parse one log line (without its newline)."""
    raw = bytes(data)
    if not raw.strip():
        return LogLineError("blank line")
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        try:
            obj = orjson.loads(raw.decode("utf-8", "replace"))
        except orjson.JSONDecodeError as exc:
            msg = str(exc)
            return LogLineError(f"invalid JSON: {msg[:117] + '...' if len(msg) > 120 else msg}")
    if not isinstance(obj, dict):
        return LogLineError(f"not a JSON object ({type(obj).__name__})")
    ev = parse_log_object(obj)
    if isinstance(ev, GatewayEvent):
        ev.line_hash = line_hash(raw)
    return ev


def line_hash(raw: bytes) -> str:
    """The identity of a log line (with its time): blake2b-128 of its bytes, trailing CR and
    spaces stripped."""
    return hashlib.blake2b(raw.rstrip(b"\r \t"), digest_size=16).hexdigest()
