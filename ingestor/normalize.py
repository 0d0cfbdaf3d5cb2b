"""The accounting rules (accounting.md) as pure functions: parsed entries to the rows of
``messages``, ``usage`` and ``tool_calls``, and session metadata to keys and kinds.

* LLM call: a ``message`` entry, role ``assistant``, provider not ``openclaw``, stopReason not
  ``injected``, with a ``usage`` object. Other assistant rows are synthetic messages.
* Tokens: missing fields are 0; negative, non-finite or non-numeric fields are 0 with a
  warning; Google APIs log ``input`` with cache reads included (normalized here);
  ``total_tokens`` is recomputed.
* Tool calls: one per ``toolCall`` block of a counted call, paired with the ``toolResult``
  whose ``toolCallId`` matches (``apply_result``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from ingestor.parse import MAX_MS, Entry, ms_value

PREVIEW_CHARS = 200
#: A token count above this is nonsense (and would not fit a 64-bit column): counted as 0.
MAX_TOKENS = 10**12
GOOGLE_APIS = frozenset({"google-generative-ai", "google-vertex"})
FAILED_STOP_REASONS = frozenset({"error", "aborted", "timeout"})
TOOL_BLOCK_TYPES = frozenset({"toolCall", "toolUse", "functionCall", "tool_use"})
SYNTHETIC_RESULT_PREFIX = "[openclaw] missing tool result"
_CRON_RE = re.compile(r"^\s*\[cron:([^\s\]]+)(?:\s+([^\]]*))?\]")


@dataclass(slots=True)
class SessionCtx:
    """Who owns the rows of the file being read."""

    session_id: str
    created_ms: int | None
    agent_id: str


@dataclass(slots=True)
class MessageRow:
    entry_id: str
    ts_ms: int
    session_id: str
    session_created_ms: int | None
    agent_id: str
    entry_type: str
    role: str | None = None
    parent_entry_id: str | None = None
    synthetic: bool = False
    provider: str | None = None
    model: str | None = None
    stop_reason: str | None = None
    message_ts_ms: int | None = None
    tool_call_id: str | None = None
    tool_name: str | None = None
    tool_is_error: bool | None = None
    tool_synthetic: bool | None = None
    tool_duration_ms: int | None = None
    text_preview: str | None = None


@dataclass(slots=True)
class CallRow:
    entry_id: str
    ts_ms: int
    session_id: str
    session_created_ms: int | None
    agent_id: str
    provider: str
    model: str
    api: str | None
    stop_reason: str | None
    failed: bool
    error_message: str | None
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    raw_input: float | None
    raw_output: float | None
    raw_cache_read: float | None
    raw_cache_write: float | None
    raw_total_tokens: float | None
    logged_cost: float | None
    latency_ms: int | None
    warning: bool

    @property
    def total_tokens(self) -> int:
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_read_tokens
            + self.cache_write_tokens
        )


@dataclass(slots=True)
class ToolCallRow:
    entry_id: str
    ts_ms: int
    block_index: int
    tool_call_id: str | None
    session_id: str
    session_created_ms: int | None
    agent_id: str
    tool_name: str
    command_family: str | None
    args_preview: str | None
    status: str = "missing"
    synthetic: bool = False
    result_entry_id: str | None = None
    result_ts_ms: int | None = None
    duration_ms: int | None = None
    error_preview: str | None = None


@dataclass(slots=True)
class EntryRecords:
    message: MessageRow
    call: CallRow | None = None
    tool_calls: Sequence[ToolCallRow] = ()
    title: str | None = None
    cron: tuple[str, str | None] | None = None
    warnings: Sequence[str] = ()


def _token(usage: dict[str, Any], key: str, warnings: list[str]) -> tuple[int, float | None]:
    """(counted value, raw value) of a usage field (accounting.md §4)."""
    v = usage.get(key)
    if type(v) is int and 0 <= v <= MAX_TOKENS:  # the common case first
        return v, float(v)
    if v is None:
        return 0, None
    if isinstance(v, bool) or not isinstance(v, int | float):
        warnings.append(f"usage.{key} is not a number ({str(v)[:20]!r}); counted as 0")
        return 0, None
    if not math.isfinite(v) or v < 0 or v > MAX_TOKENS:
        warnings.append(f"usage.{key} is {v}; counted as 0")
        return 0, None
    return int(v), float(v)


def _logged_cost(usage: dict[str, Any]) -> float | None:
    cost = usage.get("cost")
    if not isinstance(cost, dict):
        return None
    total = cost.get("total")
    if isinstance(total, bool) or not isinstance(total, int | float):
        return None
    if not math.isfinite(total) or total < 0:
        return None
    return float(total)


def text_of(content: Any) -> str | None:
    """The first text of a message's content (string or blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        for block in content:
            if isinstance(block, dict) and block.get("type") == "text":
                t = block.get("text")
                if isinstance(t, str):
                    return t
    return None


def _preview(text: str | None) -> str | None:
    if text is None:
        return None
    return text[:PREVIEW_CHARS]


def cron_from_text(text: str | None) -> tuple[str, str | None] | None:
    """``[cron:<jobId> <name>] ...`` → (jobId, name)."""
    if not text:
        return None
    m = _CRON_RE.match(text)
    if not m:
        return None
    name = (m.group(2) or "").strip() or None
    return m.group(1), name


def command_family(command: Any) -> str | None:
    """The program an ``exec`` command runs: first word, without env assignments, ``sudo``
    or a directory (``FOO=1 sudo /usr/bin/git status`` → ``git``)."""
    if not isinstance(command, str):
        return None
    for word in command.strip().split():
        if "=" in word and not word.startswith(("/", ".")) and word.split("=", 1)[0].isidentifier():
            continue
        if word in ("sudo", "env", "nohup", "time", "exec", "command"):
            continue
        word = word.strip("'\"()")
        base = word.rsplit("/", 1)[-1]
        return base[:128] or None
    return None


def _args_preview(args: Any) -> str | None:
    if args is None:
        return None
    try:
        s = orjson.dumps(args).decode()
    except TypeError:
        s = str(args)
    return s[:PREVIEW_CHARS]


def normalize_entry(entry: Entry, ctx: SessionCtx) -> EntryRecords:
    """One parsed entry to its rows, owned by ``ctx``."""
    # Positional construction throughout this hot path (once per line): keyword arguments
    # to a dataclass cost a third more.
    row = MessageRow(
        entry.id, entry.ts_ms, ctx.session_id, ctx.created_ms, ctx.agent_id, entry.type
    )
    row.parent_entry_id = entry.parent_id
    out = EntryRecords(row, None, (), None, None, entry.warnings)
    obj = entry.obj
    if entry.type != "message":
        if entry.type == "session_info":
            name = obj.get("name")
            if isinstance(name, str) and name.strip():
                out.title = name.strip()[:500]
        return out
    msg: dict[str, Any] = obj["message"]
    role = msg.get("role")
    row.role = role if type(role) is str else None
    ts = msg.get("timestamp")
    row.message_ts_ms = ts if type(ts) is int and -MAX_MS < ts < MAX_MS else ms_value(ts)
    if role == "user":
        text = text_of(msg.get("content"))
        if text is not None:
            row.text_preview = text[:PREVIEW_CHARS]
            out.cron = cron_from_text(text)
    elif role == "assistant":
        _assistant(entry, msg, row, out)
    elif role == "toolResult":
        _tool_result(msg, row)
    return out


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def _assistant(entry: Entry, msg: dict[str, Any], row: MessageRow, out: EntryRecords) -> None:
    provider = msg.get("provider")
    if type(provider) is not str:
        provider = None
    model = msg.get("model")
    if type(model) is not str:
        model = None
    stop = msg.get("stopReason")
    if type(stop) is not str:
        stop = None
    row.provider, row.model, row.stop_reason = provider, model, stop
    content = msg.get("content")
    text = text_of(content)
    if text is not None:
        row.text_preview = text[:PREVIEW_CHARS]
    usage = msg.get("usage")
    # An LLM call (accounting.md §3): provider not openclaw, stopReason not injected, a usage
    # object (the role is "assistant" here).
    if provider == "openclaw" or stop == "injected" or not isinstance(usage, dict):
        row.synthetic = provider == "openclaw" or stop == "injected"
        if usage is not None and not row.synthetic and not isinstance(usage, dict):
            out.warnings = (
                *out.warnings,
                f"usage is not an object ({type(usage).__name__}): not counted as an LLM call",
            )
        return
    w: list[str] = []
    inp, raw_in = _token(usage, "input", w)
    outp, raw_out = _token(usage, "output", w)
    cr, raw_cr = _token(usage, "cacheRead", w)
    cw, raw_cw = _token(usage, "cacheWrite", w)
    raw_total = usage.get("totalTokens")
    api = msg.get("api")
    if type(api) is not str:
        api = None
    elif api in GOOGLE_APIS:
        inp = max(0, inp - cr)
    latency = None
    if row.message_ts_ms is not None:
        latency = max(0, entry.ts_ms - row.message_ts_ms)
    err = msg.get("errorMessage")
    out.call = CallRow(
        entry.id,
        entry.ts_ms,
        row.session_id,
        row.session_created_ms,
        row.agent_id,
        provider or "",
        model or "",
        api,
        stop,
        stop in FAILED_STOP_REASONS,
        err[:500] if type(err) is str and err else None,
        inp,
        outp,
        cr,
        cw,
        raw_in,
        raw_out,
        raw_cr,
        raw_cw,
        (
            float(raw_total)
            if isinstance(raw_total, int | float)
            and not isinstance(raw_total, bool)
            and math.isfinite(raw_total)
            else None
        ),
        _logged_cost(usage),
        latency,
        bool(w),
    )
    if w:
        out.warnings = (*out.warnings, *w)
    if isinstance(content, list):
        tool_calls: list[ToolCallRow] = []
        for i, block in enumerate(content):
            btype = block.get("type") if isinstance(block, dict) else None
            if not isinstance(btype, str) or btype not in TOOL_BLOCK_TYPES:
                continue
            name = _str(block.get("name")) or "unknown"
            args = block.get("arguments", block.get("input", block.get("args")))
            fam = None
            if name in ("exec", "bash", "Bash", "shell") and isinstance(args, dict):
                fam = command_family(args.get("command") or args.get("cmd"))
            tool_calls.append(
                ToolCallRow(
                    entry.id,
                    entry.ts_ms,
                    i,
                    _str(block.get("id")) or _str(block.get("toolUseId")),
                    row.session_id,
                    row.session_created_ms,
                    row.agent_id,
                    name[:256],
                    fam,
                    _args_preview(args),
                )
            )
        if tool_calls:
            out.tool_calls = tool_calls


def _tool_result(msg: dict[str, Any], row: MessageRow) -> None:
    row.tool_call_id = _str(msg.get("toolCallId")) or _str(msg.get("toolUseId"))
    row.tool_name = _str(msg.get("toolName"))
    text = text_of(msg.get("content"))
    row.text_preview = _preview(text)
    synthetic = bool(text and text.startswith(SYNTHETIC_RESULT_PREFIX))
    row.tool_synthetic = synthetic
    row.tool_is_error = msg.get("isError") is True or synthetic
    details = msg.get("details")
    if isinstance(details, dict):
        d = details.get("durationMs")
        if (
            isinstance(d, int | float)
            and not isinstance(d, bool)
            and math.isfinite(d)
            and abs(d) < MAX_MS
        ):
            row.tool_duration_ms = max(0, int(d))


def apply_result(
    call: ToolCallRow,
    result_entry_id: str,
    result_ts_ms: int,
    is_error: bool | None,
    synthetic: bool | None,
    duration_ms: int | None,
    message_ts_ms: int | None,
    text_preview: str | None,
) -> None:
    """Pair a tool call with its result (accounting.md §6)."""
    call.result_entry_id = result_entry_id
    call.result_ts_ms = result_ts_ms
    call.synthetic = bool(synthetic)
    call.status = "error" if (is_error or synthetic) else "ok"
    if duration_ms is not None:
        call.duration_ms = max(0, duration_ms)
    elif message_ts_ms is not None:
        call.duration_ms = max(0, message_ts_ms - call.ts_ms)
    else:
        call.duration_ms = None
    call.error_preview = text_preview if call.status == "error" else None


# --- session keys -----------------------------------------------------------------------------


def kind_of_key(key: str | None) -> str:
    """Session kind from a session key (accounting.md §2, format §6.1)."""
    if not key:
        return "unknown"
    parts = key.split(":")
    rest = parts[2:] if len(parts) >= 3 and parts[0] == "agent" else parts
    if not rest:
        return "other"
    r = ":".join(rest)
    if rest[-1] == "heartbeat" and len(rest) > 1:
        return "heartbeat"
    head = rest[0]
    if head == "subagent":
        return "subagent"
    if head == "cron":
        return "cron"
    if head == "hook":
        return "hook"
    if head == "acp":
        return "acp"
    if r == "main":
        return "main"
    if "thread" in rest or "topic" in rest:
        return "thread"
    if "group" in rest or "channel" in rest or "room" in rest:
        return "group"
    if head == "dm" or "dm" in rest:
        return "dm"
    return "other"


def agent_of_key(key: str | None) -> str | None:
    if key and key.startswith("agent:"):
        parts = key.split(":")
        if len(parts) >= 3 and parts[1]:
            return parts[1].lower()
    return None


_UUIDISH = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)


def session_id_from_ref(ref: str | None) -> str | None:
    """The session id a header's ``parentSession`` points at: a transcript path (plain, fork,
    topic or archive name) or ``agent-db:<agent>:transcript_events:<sessionId>``."""
    if not ref:
        return None
    if ref.startswith("agent-db:"):
        return ref.rsplit(":", 1)[-1] or None
    base = ref.replace("\\", "/").rsplit("/", 1)[-1]
    stem = base.split(".jsonl", 1)[0]
    if "_" in stem and _UUIDISH.fullmatch(stem.rsplit("_", 1)[-1]):
        stem = stem.rsplit("_", 1)[-1]
    if "-topic-" in stem:
        stem = stem.split("-topic-", 1)[0]
    return stem or None


@dataclass(slots=True)
class IndexEntry:
    """What a ``sessions.json`` entry says about a session."""

    session_id: str
    key: str
    kind: str
    agent_id: str | None
    label: str | None
    channel: str | None
    parent_key: str | None
    cron_job_id: str | None
    session_file: str | None


def index_entries(obj: Any) -> list[IndexEntry]:
    """``sessions.json`` (already decoded) to entries; malformed entries are skipped."""
    out: list[IndexEntry] = []
    if not isinstance(obj, dict):
        return out
    for key, e in obj.items():
        if not isinstance(key, str) or not isinstance(e, dict):
            continue
        sid = e.get("sessionId")
        if not isinstance(sid, str) or not sid:
            continue
        channel = _str(e.get("channel")) or _str(e.get("lastChannel"))
        if channel is None:
            for holder in ("deliveryContext", "origin"):
                d = e.get(holder)
                if isinstance(d, dict):
                    channel = _str(d.get("channel")) or _str(d.get("provider"))
                    if channel:
                        break
        label = _str(e.get("label")) or _str(e.get("displayName")) or _str(e.get("subject"))
        kind = kind_of_key(key)
        cron_id = None
        if kind == "cron":
            rest = key.split(":")
            i = rest.index("cron") if "cron" in rest else -1
            cron_id = rest[i + 1] if 0 <= i < len(rest) - 1 else None
        out.append(
            IndexEntry(
                session_id=sid,
                key=key,
                kind=kind,
                agent_id=agent_of_key(key),
                label=label,
                channel=channel,
                parent_key=_str(e.get("spawnedBy")),
                cron_job_id=cron_id,
                session_file=_str(e.get("sessionFile")),
            )
        )
    return out
