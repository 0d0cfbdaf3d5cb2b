"""Crash safety: an ingest process killed with SIGKILL again and again while transcripts grow.

A writer process appends lines to several transcripts (some lines written in two halves with
a flush and a pause between them, headers included) and keeps its own exact tally. Meanwhile
ingest processes are started and SIGKILLed at seeded pseudo-random moments: most are forks of
this process running the real CLI ``ingest --watch`` (cheap to start, so many kills fit in a
few seconds), two are the installed console script itself (one killed while it may still be
creating the schema). After the writer stops, a clean one-shot ``ingest`` runs, and the
database must match the writer's tally exactly: every call once, no partial line ever read,
rollups equal to their base rows.

Only *how interesting* the run is depends on timing; what is checked holds for any
interleaving: a kill waits for observable progress (or a short random delay), never for a
fixed schedule that the assertions rely on.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from ingestor import reports
from ingestor.db import make_engine

REPO = Path(__file__).resolve().parents[1]
CLI = REPO / ".venv" / "bin" / "agentbox-telemetry"
SEED = int(os.environ.get("CRASH_TEST_SEED", "20260302"))
KILLS = 15
HOST = "crash-test"

WRITER = r"""
import json, os, random, sys, time, uuid
from datetime import datetime, timezone

state, seed, stop_file, out_file = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
rng = random.Random(seed)
T0 = 1772442000000  # 2026-03-02T09:00:00Z
dirs = [os.path.join(state, "agents", a, "sessions") for a in ("main", "main", "ops", "main")]
for d in dirs:
    os.makedirs(d, exist_ok=True)

def iso(ms):
    day = datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.")
    return day + "%03dZ" % (ms % 1000)

tally = {"llm_calls": 0, "failed_calls": 0, "input_tokens": 0, "output_tokens": 0,
         "cache_read_tokens": 0, "cache_write_tokens": 0, "logged_cost": 0.0,
         "tool_calls": 0, "tool_errors": 0, "tool_missing": 0, "messages": 0,
         "sessions": 0, "lines": 0, "split_lines": 0}
counter = [0]

class Sess:
    def __init__(self, slot):
        self.sid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        self.path = os.path.join(dirs[slot], self.sid + ".jsonl")
        self.t = T0 + slot * 600000 + rng.randrange(0, 3600000)
        self.f = open(self.path, "ab", buffering=0)
        self.pending = []
        self.created = self.t
        self.write({"type": "session", "version": 3, "id": self.sid,
                    "timestamp": iso(self.t), "cwd": "/w"})
        tally["sessions"] += 1

    def eid(self):
        counter[0] += 1
        return "%08x" % (0x10000000 + counter[0])

    def write(self, obj):
        data = json.dumps(obj, separators=(",", ":")).encode() + b"\n"
        if rng.random() < 0.3:
            cut = rng.randrange(1, len(data) - 1)
            self.f.write(data[:cut])
            os.fsync(self.f.fileno()) if rng.random() < 0.1 else None
            time.sleep(rng.uniform(0, 0.012))
            self.f.write(data[cut:])
            tally["split_lines"] += 1
        else:
            self.f.write(data)
        tally["lines"] += 1

    def step(self):
        self.t += rng.randrange(1000, 900000)
        if self.pending and rng.random() < 0.8:
            tcid = self.pending.pop(0)
            err = rng.random() < 0.25
            tally["tool_errors"] += err
            tally["messages"] += 1
            self.write({"type": "message", "id": self.eid(), "parentId": None,
                        "timestamp": iso(self.t),
                        "message": {"role": "toolResult", "toolCallId": tcid, "toolName": "exec",
                                    "content": [{"type": "text", "text": "r"}],
                                    "details": {"durationMs": rng.randrange(0, 5000)},
                                    "isError": err, "timestamp": self.t - 3}})
            return
        if rng.random() < 0.3:
            tally["messages"] += 1
            self.write({"type": "message", "id": self.eid(), "parentId": None,
                        "timestamp": iso(self.t),
                        "message": {"role": "user", "content": "hi " * rng.randrange(1, 50),
                                    "timestamp": self.t - 2}})
            return
        if rng.random() < 0.1:
            self.write({"type": "custom", "customType": "openclaw.cache-ttl", "data": {},
                        "id": self.eid(), "parentId": None, "timestamp": iso(self.t)})
            return
        eid = self.eid()
        u = {"input": rng.randrange(0, 5000), "output": rng.randrange(0, 900),
             "cacheRead": rng.choice([0, rng.randrange(0, 90000)]),
             "cacheWrite": rng.choice([0, rng.randrange(0, 4000)])}
        cost = round(rng.uniform(0.0001, 0.05), 7)
        u["cost"] = {"total": cost}
        stop = rng.choice(["stop", "stop", "stop", "toolUse", "error", "aborted"])
        content = [{"type": "text", "text": "x" * rng.randrange(0, 400)}]
        for i in range(rng.choice([0, 0, 1, 2])):
            tcid = "call_%s_%d" % (eid, i)
            content.append({"type": "toolCall", "id": tcid, "name": rng.choice(["exec", "read"]),
                            "arguments": {"command": "ls"}})
            self.pending.append(tcid)
            tally["tool_calls"] += 1
        tally["llm_calls"] += 1
        tally["failed_calls"] += stop in ("error", "aborted")
        tally["input_tokens"] += u["input"]
        tally["output_tokens"] += u["output"]
        tally["cache_read_tokens"] += u["cacheRead"]
        tally["cache_write_tokens"] += u["cacheWrite"]
        tally["logged_cost"] += cost
        tally["messages"] += 1
        self.write({"type": "message", "id": eid, "parentId": None, "timestamp": iso(self.t),
                    "message": {"role": "assistant", "content": content,
                                "api": "anthropic-messages", "provider": "anthropic",
                                "model": rng.choice(["claude-sonnet-4-5", "claude-haiku-4-5"]),
                                "usage": u, "stopReason": stop, "timestamp": self.t - 900}})

sessions = [Sess(i) for i in range(len(dirs))]
while tally["lines"] < 400 or not os.path.exists(stop_file):
    s = rng.choice(sessions)
    s.step()
    if rng.random() < 0.01 and len(sessions) < 8:
        sessions.append(Sess(rng.randrange(len(dirs))))
    time.sleep(rng.uniform(0, 0.003))
for s in sessions:
    tally["tool_missing"] += len(s.pending)
    s.f.close()
with open(out_file, "w") as f:
    json.dump(tally, f)
"""


def _progress(db: Path) -> int:
    """Bytes committed as read, or -1 before the schema exists."""
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=2)
    except sqlite3.Error:
        return -1
    try:
        return int(conn.execute("SELECT COALESCE(SUM(read_offset), 0) FROM sources").fetchone()[0])
    except sqlite3.Error:
        return -1
    finally:
        conn.close()


def _ingest_argv(url: str, state: Path, watch: bool) -> list[str]:
    argv = ["ingest", "--db", url, "--source", str(state), "-q", "--host-id", HOST]
    if watch:
        argv += ["--watch", "--rescan", "0.2"]
    return argv


def _warm_up(tmp: Path) -> None:
    """Import and initialise in this process what an ingest run needs (CLI, migrations, price
    table, watchdog), so forked children start in milliseconds."""
    import watchdog.observers  # noqa: F401

    from ingestor import cli  # noqa: F401
    from ingestor.config import IngestSettings
    from ingestor.daemon import build

    tmp.mkdir()
    engine, pipeline = build(IngestSettings(f"sqlite:///{tmp / 'w.sqlite'}", (tmp,), HOST))
    pipeline.run_pass([tmp])
    engine.dispose()


def _fork_ingester(url: str, state: Path) -> int:
    """A child running the real CLI in watch mode, without paying for imports again."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            fd = os.open(os.devnull, os.O_RDWR)
            for target in (0, 1, 2):
                os.dup2(fd, target)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            sys.argv = ["agentbox-telemetry", *_ingest_argv(url, state, watch=True)]
            from ingestor import cli

            cli.main()
        except BaseException:
            pass
        finally:
            os._exit(0)
    return pid


def _same_rows(got: list[Any], want: list[Any]) -> bool:
    """Equal rows: integers and text exactly, floats (sums of costs) to 1e-9."""
    if len(got) != len(want):
        return False
    for a, b in zip(got, want, strict=True):
        if len(a) != len(b):
            return False
        for x, y in zip(a, b, strict=True):
            if isinstance(x, float) or isinstance(y, float):
                if abs(float(x) - float(y)) > 1e-9:
                    return False
            elif x != y:
                return False
    return True


def _rollups_exact(conn: Any) -> None:
    def q(sql: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in conn.execute(text(sql)).all()]

    pairs = [
        (
            "SELECT hour_ms, session_id, provider, model, llm_calls, failed_calls, input_tokens, "
            "output_tokens, cache_read_tokens, cache_write_tokens, logged_cost, cost FROM "
            "usage_hourly WHERE llm_calls > 0 ORDER BY 1, 2, 3, 4",
            "SELECT (ts_ms / 3600000) * 3600000, session_id, provider, model, COUNT(*), "
            "SUM(CASE WHEN failed THEN 1 ELSE 0 END), SUM(input_tokens), SUM(output_tokens), "
            "SUM(cache_read_tokens), SUM(cache_write_tokens), COALESCE(SUM(logged_cost), 0), "
            "SUM(cost) FROM usage GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
        ),
        (
            "SELECT hour_ms, session_id, tool_name, calls, errors, missing FROM tool_hourly "
            "WHERE calls > 0 ORDER BY 1, 2, 3",
            "SELECT (ts_ms / 3600000) * 3600000, session_id, tool_name, COUNT(*), "
            "SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN status = 'missing' THEN 1 ELSE 0 END) FROM tool_calls "
            "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        ),
        (
            "SELECT hour_ms, session_id, messages FROM session_hourly WHERE messages > 0 "
            "ORDER BY 1, 2",
            "SELECT (ts_ms / 3600000) * 3600000, session_id, COUNT(*) FROM messages "
            "WHERE entry_type = 'message' GROUP BY 1, 2 ORDER BY 1, 2",
        ),
    ]
    for rollup, base in pairs:
        got, want = q(rollup), q(base)
        assert _same_rows(got, want), (rollup, set(got) ^ set(want))


@pytest.mark.timeout(180)
def test_sigkill_during_ingest_loses_and_doubles_nothing(tmp_path: Path) -> None:
    assert CLI.exists(), CLI
    state = tmp_path / "state"
    state.mkdir()
    db = tmp_path / "telemetry.sqlite"
    url = f"sqlite:///{db}"
    stop_file = tmp_path / "stop"
    tally_file = tmp_path / "tally.json"
    log = open(tmp_path / "ingest.log", "ab")  # noqa: SIM115
    rng = random.Random(SEED)

    _warm_up(tmp_path / "warm")
    global T_START
    T_START = time.monotonic()
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(state), str(SEED), str(stop_file), str(tally_file)]
    )
    kills: list[tuple[str, int, int]] = []  # (how, progress before, progress at kill)
    try:
        for k in range(KILLS):
            real = k in (0, 7)
            before = _progress(db)
            if real:
                proc = subprocess.Popen(
                    [str(CLI), *_ingest_argv(url, state, watch=True)], stdout=log, stderr=log
                )
                pid = proc.pid
            else:
                pid = _fork_ingester(url, state)
            if k == 0:
                # the very first process: killed soon after it creates the database file,
                # most likely while it is still creating the schema
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline and not db.exists():
                    time.sleep(0.002)
                time.sleep(rng.uniform(0.0, 0.1))
            elif rng.random() < 0.25:
                time.sleep(rng.uniform(0.0, 0.35))  # anywhere, startup included
            else:
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline and _progress(db) <= before:
                    time.sleep(0.005)
                time.sleep(rng.uniform(0.0, 0.06))  # somewhere inside a later pass
            os.kill(pid, signal.SIGKILL)
            if real:
                proc.wait(timeout=30)
            else:
                os.waitpid(pid, 0)
            kills.append(("cli" if real else "fork", before, _progress(db)))
            print(k, round(time.monotonic() - T_START, 2), kills[-1])
            assert writer.poll() is None, "the writer died"
    finally:
        stop_file.write_text("stop")
        writer.wait(timeout=60)
        log.close()
    assert writer.returncode == 0
    tally = json.loads(tally_file.read_text())
    assert tally["split_lines"] > 0

    # the final clean run, with the real console script
    done = subprocess.run(
        [str(CLI), *_ingest_argv(url, state, watch=False)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            s = reports.summary(conn, reports.make_range(None, None, "UTC"))
            for key in (
                "llm_calls",
                "failed_calls",
                "input_tokens",
                "output_tokens",
                "cache_read_tokens",
                "cache_write_tokens",
                "tool_calls",
                "tool_errors",
                "sessions",
            ):
                assert s[key] == tally[key], (key, s[key], tally[key], kills)
            assert s["logged_cost_usd"] == pytest.approx(tally["logged_cost"], abs=1e-6)
            n_msgs = conn.execute(
                text("SELECT COUNT(*) FROM messages WHERE entry_type = 'message'")
            ).scalar()
            assert n_msgs == tally["messages"]
            missing = conn.execute(
                text("SELECT COUNT(*) FROM tool_calls WHERE status = 'missing'")
            ).scalar()
            assert missing == tally["tool_missing"]
            for table in ("messages", "usage"):
                dups = conn.execute(
                    text(
                        f"SELECT entry_id, ts_ms, COUNT(*) FROM {table} "
                        "GROUP BY entry_id, ts_ms HAVING COUNT(*) > 1"
                    )
                ).all()
                assert dups == []
            # no partial line was ever parsed: not a single error row
            errors = conn.execute(text("SELECT path, line_offset, reason FROM ingest_errors")).all()
            assert errors == []
            # one live source per path
            paths = conn.execute(
                text(
                    "SELECT path, COUNT(*) FROM sources WHERE state NOT IN ('gone', 'replaced') "
                    "GROUP BY path HAVING COUNT(*) > 1"
                )
            ).all()
            assert paths == []
            sizes = {
                r[0]: r[1]
                for r in conn.execute(
                    text("SELECT path, read_offset FROM sources WHERE kind = 'jsonl'")
                )
            }
            for p in state.rglob("*.jsonl"):
                assert sizes.get(str(p)) == p.stat().st_size, p
            _rollups_exact(conn)
            totals = conn.execute(
                text("SELECT SUM(llm_calls), SUM(input_tokens) FROM usage_hourly")
            ).one()
            assert tuple(totals) == (tally["llm_calls"], tally["input_tokens"])
    finally:
        engine.dispose()
    # How interesting the run was depends on timing; it is reported, never asserted.
    print("kills (how, committed bytes before, at kill):", kills, "tally:", tally)
