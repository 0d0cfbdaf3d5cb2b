"""Databases for the webapp's tests and benchmark, written directly into the schema (the
ingestor is not needed).

* ``seed_small``: a hand-checked dataset whose every number the tests assert (see the table in
  ``CALLS``): 8 sessions over 3 agents and 5 kinds (two runs of a cron job, a sub-agent with a
  parent, a session with messages but no call), 13 calls over three providers and four models,
  failed calls, tool calls ok/error/missing with durations, calls either side of a UTC midnight
  and of the 2025-03-09 US DST change, and every cost source (``COST_AUDIT``: an override, a
  list price that disagrees with the logged cost, a zero logged cost with a known price, a
  local model with no known price).
* ``seed_large``: a deterministic synthetic load (default 1 million calls over 365 days).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert

from ingestor import rollups
from ingestor.db import make_engine
from ingestor.schema import (
    gateway_events,
    messages,
    metadata,
    sessions,
    sources,
    tool_calls,
    usage,
)

HOST = "test-host"


def ms(iso: str) -> int:
    """``2025-03-15T12:30`` (UTC) -> epoch ms."""
    return int(datetime.fromisoformat(iso).replace(tzinfo=UTC).timestamp() * 1000)


# "Now" for every test: Saturday 2025-03-15 12:30 UTC.
NOW_MS = ms("2025-03-15T12:30")

# session_id, agent, kind, key, label, channel, parent, cron_job_id
SESSIONS: list[tuple[str, str, str, str, str | None, str | None, str | None, str | None]] = [
    ("s-main", "main", "main", "agent:main:main", None, "telegram", None, None),
    ("s-dm", "ops", "dm", "agent:ops:telegram:dm:42", "Alice", "telegram", None, None),
    ("s-cron", "main", "cron", "agent:main:cron:job-1", "nightly-report", None, None, "job-1"),
    ("s-cron2", "main", "cron", "agent:main:cron:job-1", "nightly-report", None, None, "job-1"),
    ("s-sub", "main", "subagent", "agent:main:subagent:abc", "researcher", None, "s-main", None),
    ("s-quiet", "ops", "group", "agent:ops:telegram:group:7", "Team", "telegram", None, None),
    ("s-old", "research", "main", "agent:research:main", None, "webchat", None, None),
    ("s-ancient", "main", "main", "agent:main:old", None, None, None, None),
]

# entry_id, time (UTC), session, provider, model, input, output, cache_read, cache_write,
# cost, failed, cache_savings
CALLS: list[tuple[str, str, str, str, str, int, int, int, int, float, bool, float | None]] = [
    (
        "c1",
        "2025-03-14T20:10",
        "s-main",
        "anthropic",
        "claude-sonnet-4",
        1000,
        500,
        2000,
        0,
        0.50,
        False,
        0.10,
    ),
    (
        "c2",
        "2025-03-14T23:30",
        "s-main",
        "anthropic",
        "claude-sonnet-4",
        2000,
        1000,
        4000,
        1000,
        1.25,
        False,
        0.20,
    ),
    (
        "c3",
        "2025-03-15T00:30",
        "s-main",
        "anthropic",
        "claude-opus-4",
        500,
        200,
        0,
        0,
        0.75,
        True,
        None,
    ),
    ("c4", "2025-03-15T01:00", "s-sub", "openai", "gpt-4o", 3000, 300, 0, 0, 0.25, False, None),
    ("c5", "2025-03-15T02:15", "s-sub", "openai", "gpt-4o", 1000, 100, 1000, 0, 0.05, False, 0.01),
    (
        "c6",
        "2025-03-15T06:00",
        "s-cron",
        "anthropic",
        "claude-sonnet-4",
        100,
        50,
        0,
        0,
        0.02,
        False,
        None,
    ),
    ("c7", "2025-03-15T10:45", "s-dm", "openai", "gpt-4o", 400, 60, 0, 0, 0.01, True, None),
    (
        "c8",
        "2025-03-10T06:00",
        "s-cron2",
        "anthropic",
        "claude-sonnet-4",
        100,
        40,
        0,
        0,
        0.03,
        False,
        None,
    ),
    ("c10", "2025-03-12T15:00", "s-dm", "openai", "gpt-4o", 200, 20, 0, 0, 0.02, False, None),
    (
        "c9",
        "2025-03-05T12:00",
        "s-old",
        "anthropic",
        "claude-opus-4",
        10000,
        2000,
        90000,
        5000,
        2.00,
        False,
        0.40,
    ),
    ("c11", "2025-03-05T13:00", "s-old", "anthropic", "claude-opus-4", 0, 0, 0, 0, 0.0, True, None),
    (
        "c12",
        "2024-12-01T09:00",
        "s-ancient",
        "anthropic",
        "claude-sonnet-4",
        100,
        10,
        0,
        0,
        0.01,
        False,
        None,
    ),
    # A local model no price table knows: nothing logged, cost unknown (accounting.md §5).
    (
        "c13",
        "2025-03-05T14:00",
        "s-old",
        "ollama",
        "llama3.3:70b",
        1200,
        300,
        0,
        0,
        0.0,
        False,
        None,
    ),
]

# The cost columns of each call (its effective ``cost`` is the one in CALLS): entry_id ->
# (cost_source, logged_cost, priced_cost = list price, zero_cost_with_price, cost_mismatch).
# claude-opus-4 has a user override from 2025-03-10 on (c3); the others are priced from the
# table; ollama is never priced.
COST_AUDIT: dict[str, tuple[str, float | None, float | None, bool, bool]] = {
    "c1": ("logged", 0.50, 0.50, False, False),
    "c2": ("logged", 1.25, 1.00, False, True),  # logged 25 % above the list price
    "c3": ("override", 0.75, 0.75, False, False),
    "c4": ("logged", 0.25, 0.25, False, False),
    "c5": ("logged", 0.05, 0.05, False, False),
    "c6": ("priced", 0.0, 0.02, True, False),  # logged 0 although the model has a price
    "c7": ("logged", 0.01, 0.008, False, True),  # logged 25 % above the list price
    "c8": ("logged", 0.03, 0.03, False, False),
    "c10": ("logged", 0.02, 0.02, False, False),
    "c9": ("logged", 2.00, 2.00, False, False),
    "c11": ("priced", 0.0, 0.0, False, False),  # no tokens: free at any price
    "c12": ("logged", 0.01, 0.01, False, False),
    "c13": ("unknown", 0.0, None, False, False),
}

# calling entry, block, tool, command family, status, duration ms, args, error
TOOLS: list[tuple[str, int, str, str | None, str, int | None, str, str | None]] = [
    ("c1", 0, "exec", "git", "ok", 120, '{"command": "git status"}', None),
    ("c1", 1, "read", None, "ok", 15, '{"path": "README.md"}', None),
    ("c2", 0, "exec", "ls", "ok", 40, '{"command": "ls -la"}', None),
    ("c2", 1, "exec", "git", "error", 300, '{"command": "git push"}', "fatal: no remote"),
    ("c4", 0, "web_search", None, "ok", 2000, '{"query": "dash ag grid"}', None),
    ("c5", 0, "web_search", None, "missing", None, '{"query": "plotly"}', None),
    ("c6", 0, "exec", "python", "ok", 5000, '{"command": "python report.py"}', None),
    ("c7", 0, "read", None, "error", 10, '{"path": "/etc/shadow"}', "EACCES"),
    ("c9", 0, "exec", "git", "ok", 100, '{"command": "git log"}', None),
]

# Messages that are not calls: (entry_id, time, session, role, entry_type, synthetic)
OTHER_MESSAGES: list[tuple[str, str, str, str | None, str, bool]] = [
    ("q1", "2025-03-15T03:00", "s-quiet", "user", "message", False),
    ("m1", "2025-03-14T20:11", "s-main", "assistant", "message", True),  # delivery-mirror
    ("mc1", "2025-03-14T20:05", "s-main", None, "model_change", False),
]

# Gateway log lines (gateway_events; they never change a usage number):
# (time UTC, level, subsystem, message, agent, session). WARN and above in the last 7 days:
# 4 WARN, 2 ERROR, 1 FATAL; L4's "95%" and "var_log" are literals that L5 would match if
# LIKE's wildcards were not escaped; s-ghost has no sessions row; L9 is older than 7 days.
LOGS: list[tuple[str, str, str, str, str | None, str | None]] = [
    ("2025-03-14T22:00", "WARN", "gateway", "slow response from telegram: 4200 ms", None, None),
    ("2025-03-14T23:45", "ERROR", "agent/embedded",
     "embedded run failed: sessionId=s-main runId=r1 rate limit", "main", "s-main"),
    ("2025-03-15T00:15", "ERROR", "agent/embedded",
     "embedded run failed: sessionId=s-ghost runId=r2 timeout", "main", "s-ghost"),
    ("2025-03-15T03:00", "WARN", "channels/telegram", "disk 95% full on /var_log", "ops", None),
    ("2025-03-15T03:30", "WARN", "channels/telegram", "disk 95 percent full on /var-log", "ops",
     None),
    ("2025-03-15T09:00", "INFO", "gateway", "gateway listening on ws://127.0.0.1:18789", None,
     None),
    ("2025-03-15T10:00", "FATAL", "gateway", "uncaught exception: EADDRINUSE", None, None),
    ("2025-03-15T11:00", "DEBUG", "agent/embedded",
     "embedded run agent end: runId=r1 sessionId=s-main", "main", "s-main"),
    ("2025-03-05T12:00", "ERROR", "gateway", "config reload failed", None, None),
    ("2025-03-12T15:00", "WARN", "agent/embedded", "Rate limit hit, retrying", "research", None),
]  # fmt: skip
LOG_LEVELS = ("SILLY", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")


def create_schema(db_path: Path) -> Engine:
    """A fresh SQLite file with the schema; returns the writer engine."""
    if db_path.exists():
        db_path.unlink()
    engine = make_engine(f"sqlite:///{db_path}")
    metadata.create_all(engine)
    return engine


def _session_rows() -> list[dict[str, Any]]:
    times: dict[str, list[int]] = {}
    for c in CALLS:
        times.setdefault(c[2], []).append(ms(c[1]) - 60_000)  # the user message before it
        times[c[2]].append(ms(c[1]))
    for m in OTHER_MESSAGES:
        times.setdefault(m[2], []).append(ms(m[1]))
    rows = []
    for sid, agent, kind, key, label, channel, parent, cron in SESSIONS:
        t = times.get(sid, [NOW_MS])
        rows.append(
            {
                "session_id": sid,
                "host_id": HOST,
                "agent_id": agent,
                "key": key,
                "kind": kind,
                "label": label,
                "channel": channel,
                "parent_session_id": parent,
                "cron_job_id": cron,
                "created_ms": min(t),
                "started_ms": min(t),
                "ended_ms": max(t),
                "updated_ms": NOW_MS,
            }
        )
    return rows


def seed_small(db_path: Path) -> Path:
    """Write the hand-checked dataset to ``db_path`` (replaced) and build the rollups."""
    engine = create_schema(db_path)
    agent_of = {s[0]: s[1] for s in SESSIONS}
    created = {r["session_id"]: r["created_ms"] for r in _session_rows()}
    msg_rows: list[dict[str, Any]] = []
    use_rows: list[dict[str, Any]] = []
    tool_rows: list[dict[str, Any]] = []

    def msg(eid: str, ts: int, sid: str, role: str | None, etype: str = "message", **kw: Any):
        msg_rows.append(
            {
                "entry_id": eid,
                "ts_ms": ts,
                "session_id": sid,
                "session_created_ms": created[sid],
                "host_id": HOST,
                "agent_id": agent_of[sid],
                "entry_type": etype,
                "role": role,
                "synthetic": kw.pop("synthetic", False),
                **kw,
            }
        )

    for eid, iso, sid, prov, model, i, o, cr, cw, cost, failed, sav in CALLS:
        ts = ms(iso)
        source, logged, priced, zero, mismatch = COST_AUDIT[eid]
        msg("u" + eid, ts - 60_000, sid, "user")
        msg(eid, ts, sid, "assistant", provider=prov, model=model)
        use_rows.append(
            {
                "entry_id": eid,
                "ts_ms": ts,
                "session_id": sid,
                "session_created_ms": created[sid],
                "host_id": HOST,
                "agent_id": agent_of[sid],
                "provider": prov,
                "model": model,
                "failed": failed,
                "stop_reason": "error" if failed else "stop",
                "input_tokens": i,
                "output_tokens": o,
                "cache_read_tokens": cr,
                "cache_write_tokens": cw,
                "total_tokens": i + o + cr + cw,
                "logged_cost": logged,
                "priced_cost": priced,
                "cost": cost,
                "cost_source": source,
                "price_model": None if priced is None else model,
                "price_fuzzy": None if priced is None else False,
                "cache_savings": sav,
                "zero_cost_with_price": zero,
                "cost_mismatch": mismatch,
                "warning": False,
            }
        )
    for eid, iso, sid, role, etype, synthetic in OTHER_MESSAGES:
        msg(eid, ms(iso), sid, role, etype, synthetic=synthetic)
    call_at = {c[0]: (ms(c[1]), c[2]) for c in CALLS}
    for eid, block, tool, fam, status, dur, args, err in TOOLS:
        ts, sid = call_at[eid]
        tool_rows.append(
            {
                "entry_id": eid,
                "ts_ms": ts,
                "block_index": block,
                "tool_call_id": f"{eid}-t{block}",
                "session_id": sid,
                "session_created_ms": created[sid],
                "host_id": HOST,
                "agent_id": agent_of[sid],
                "tool_name": tool,
                "command_family": fam,
                "args_preview": args,
                "status": status,
                "synthetic": False,
                "duration_ms": dur,
                "error_preview": err,
            }
        )
    with engine.begin() as conn:
        conn.execute(insert(sessions), _session_rows())
        conn.execute(insert(messages), msg_rows)
        conn.execute(insert(usage), use_rows)
        conn.execute(insert(tool_calls), tool_rows)
        _seed_logs(conn)
        rollups.rebuild_all(conn)
    engine.dispose()
    return db_path


def _seed_logs(conn: Any) -> None:
    source_id = conn.execute(
        insert(sources).values(
            host_id=HOST,
            kind="gateway_log",
            path="/tmp/openclaw/openclaw-2025-03-15.log",
            read_offset=0,
            state="active",
            first_seen_ms=NOW_MS,
            last_seen_ms=NOW_MS,
        )
    ).inserted_primary_key[0]
    rows = [
        {
            "source_id": source_id,
            "host_id": HOST,
            "line_offset": i * 1000,
            "time_ms": ms(iso),
            "level": level,
            "level_id": LOG_LEVELS.index(level),
            "subsystem": subsystem,
            "message": message,
            "agent_id": agent,
            "session_id": session,
            "hostname": "mini",
            "line_hash": f"{i:032x}",
        }
        for i, (iso, level, subsystem, message, agent, session) in enumerate(LOGS)
    ]
    conn.execute(insert(gateway_events), rows)


def seed_empty(db_path: Path) -> Path:
    """The schema and nothing else."""
    create_schema(db_path).dispose()
    return db_path


# --- the benchmark's load ---------------------------------------------------------------

LARGE_NOW_MS = ms("2025-06-01T00:00")
_AGENTS = ("main",) * 6 + ("ops", "ops", "research", "support")
_KINDS = ("main",) * 2 + ("dm",) * 3 + ("group", "cron", "cron", "subagent", "subagent")
_MODELS = (
    ("anthropic", "claude-sonnet-4", 3e-6, 15e-6),
    ("anthropic", "claude-sonnet-4", 3e-6, 15e-6),
    ("anthropic", "claude-opus-4", 15e-6, 75e-6),
    ("anthropic", "claude-haiku-3.5", 0.8e-6, 4e-6),
    ("openai", "gpt-4o", 2.5e-6, 10e-6),
    ("openai", "gpt-4o-mini", 0.15e-6, 0.6e-6),
    ("google", "gemini-2.5-pro", 1.25e-6, 10e-6),
)
_TOOLS = (
    ("exec",) * 8
    + ("read",) * 4
    + ("write", "edit", "edit", "web_search", "web_search")
    + ("browser", "process")
)
_FAMILIES = ("git", "git", "ls", "python", "npm", "cat", "grep", "curl", "docker", "make")


def seed_large(
    engine: Engine, calls: int = 1_000_000, days: int = 365, seed: int = 7
) -> dict[str, int]:
    """Fill an empty schema (SQLite) with ``calls`` LLM calls over ``days`` days ending at
    ``LARGE_NOW_MS``: sessions of ~40 calls, 10 agents-ish, 7 models, ~0.5 tool call per call,
    then build the rollups. Returns row counts."""
    rng = random.Random(seed)
    span = days * 86_400_000
    t0 = LARGE_NOW_MS - span
    raw = engine.raw_connection()
    cur = raw.cursor()
    s_rows: list[tuple[Any, ...]] = []
    m_rows: list[tuple[Any, ...]] = []
    u_rows: list[tuple[Any, ...]] = []
    t_rows: list[tuple[Any, ...]] = []
    counts = {"sessions": 0, "calls": 0, "tool_calls": 0, "messages": 0}
    recent_main: list[str] = []

    def flush() -> None:
        cur.execute("BEGIN")
        cur.executemany(
            "INSERT INTO sessions (session_id, host_id, agent_id, key, kind, label, channel, "
            "parent_session_id, cron_job_id, created_ms, started_ms, ended_ms, updated_ms) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            s_rows,
        )
        cur.executemany(
            "INSERT INTO messages (entry_id, ts_ms, session_id, session_created_ms, host_id, "
            "agent_id, entry_type, role, synthetic, provider, model) "
            "VALUES (?,?,?,?,?,?,'message',?,0,?,?)",
            m_rows,
        )
        cur.executemany(
            "INSERT INTO usage (entry_id, ts_ms, session_id, session_created_ms, host_id, "
            "agent_id, provider, model, failed, stop_reason, input_tokens, output_tokens, "
            "cache_read_tokens, cache_write_tokens, total_tokens, cost, cost_source, "
            "cache_savings, zero_cost_with_price, cost_mismatch, warning) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,'priced',?,0,0,0)",
            u_rows,
        )
        cur.executemany(
            "INSERT INTO tool_calls (entry_id, ts_ms, block_index, tool_call_id, session_id, "
            "session_created_ms, host_id, agent_id, tool_name, command_family, args_preview, "
            "status, synthetic, duration_ms, error_preview) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,0,?,?)",
            t_rows,
        )
        cur.execute("COMMIT")
        for rows in (s_rows, m_rows, u_rows, t_rows):
            rows.clear()

    n_sessions = 0
    while counts["calls"] < calls:
        n_sessions += 1
        sid = f"sess-{n_sessions:07d}"
        agent = rng.choice(_AGENTS)
        kind = rng.choice(_KINDS)
        start = t0 + int(rng.random() * (span - 3 * 3_600_000))
        n = min(calls - counts["calls"], max(1, int(rng.expovariate(1 / 40))))
        prov, model, pin, pout = _MODELS[rng.randrange(len(_MODELS))]
        label = cron = parent = None
        key = f"agent:{agent}:{kind}:{n_sessions}"
        if kind == "cron":
            job = rng.randrange(12)
            cron, label, key = f"job-{job}", f"cron-job-{job}", f"agent:{agent}:cron:job-{job}"
        elif kind == "subagent":
            label = f"helper-{rng.randrange(15)}"
            parent = rng.choice(recent_main) if recent_main else None
        else:
            recent_main.append(sid)
            del recent_main[:-50]
        t = start
        for k in range(n):
            t += rng.randrange(5_000, 120_000)
            eid = f"{n_sessions:07d}{k:04d}"
            if rng.random() < 0.1:
                prov2, model2, pin2, pout2 = _MODELS[rng.randrange(len(_MODELS))]
            else:
                prov2, model2, pin2, pout2 = prov, model, pin, pout
            i = rng.randrange(50, 4000)
            o = rng.randrange(20, 1500)
            cr = rng.randrange(0, 30000) if rng.random() < 0.7 else 0
            cw = rng.randrange(0, 3000) if rng.random() < 0.2 else 0
            cost = i * pin2 + o * pout2 + cr * pin2 * 0.1 + cw * pin2 * 1.25
            failed = 1 if rng.random() < 0.02 else 0
            m_rows.append((f"u{eid}", t - 1000, sid, start, HOST, agent, "user", None, None))
            m_rows.append((eid, t, sid, start, HOST, agent, "assistant", prov2, model2))
            u_rows.append(
                (eid, t, sid, start, HOST, agent, prov2, model2, failed,
                 "error" if failed else "stop", i, o, cr, cw, i + o + cr + cw, cost,
                 cr * pin2 * 0.9)
            )  # fmt: skip
            if rng.random() < 0.45:
                for b in range(1 if rng.random() < 0.85 else 2):
                    tool = rng.choice(_TOOLS)
                    fam = rng.choice(_FAMILIES) if tool == "exec" else None
                    r = rng.random()
                    status = "ok" if r < 0.92 else ("error" if r < 0.98 else "missing")
                    dur = None if status == "missing" else int(rng.lognormvariate(5.5, 1.3))
                    t_rows.append(
                        (eid, t, b, f"tc{eid}{b}", sid, start, HOST, agent, tool, fam,
                         f'{{"command": "{fam} ..."}}' if fam else '{"path": "x"}', status,
                         dur, "failed" if status == "error" else None)
                    )  # fmt: skip
                    counts["tool_calls"] += 1
            counts["calls"] += 1
            counts["messages"] += 2
        s_rows.append(
            (sid, HOST, agent, key, kind, label, "telegram", parent, cron, start, start - 1000,
             t, LARGE_NOW_MS)
        )  # fmt: skip
        if len(u_rows) >= 50_000:
            flush()
    flush()
    counts["sessions"] = n_sessions
    raw.close()
    with engine.begin() as conn:
        rollups.rebuild_all(conn)
    return counts
