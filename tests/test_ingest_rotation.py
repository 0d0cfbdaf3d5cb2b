"""Transcripts on disk through every file rotation (openclaw-format.md §2, §7): exact totals
after each step, with real files in a state dir and the real pipeline.

Every call written here has a distinct ``input`` token count, so the totals say not only how
many calls counted but which ones. After every pass the hourly rollups are checked against the
base tables (they must be exact, whatever path the writer took).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import zstandard
from sqlalchemy import Engine, text

from ingestor import reports
from ingestor.config import IngestSettings
from ingestor.daemon import build
from ingestor.parse import iso_to_ms
from ingestor.pipeline import PassStats, Pipeline

T0 = iso_to_ms("2026-03-02T09:00:00.000Z")
assert T0 is not None
MIN = 60_000


def iso(ms: int) -> str:
    from datetime import UTC, datetime

    return (
        datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
    )


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


# -- line builders -------------------------------------------------------------------------------


@dataclass
class Call:
    eid: str
    ts: int
    input: int
    output: int
    cost: float
    tools: int = 0
    failed: bool = False


@dataclass
class Tx:
    """A transcript being written: lines (bytes, without newline) and the calls they hold."""

    sid: str
    created: int
    parent: str | None = None
    t: int = 0
    n: int = 0
    calls: list[Call] = field(default_factory=list)
    prefix: str = ""

    def __post_init__(self) -> None:
        self.t = self.created + 1000
        self.prefix = self.prefix or self.sid.replace("-", "")[:3]

    def _id(self) -> str:
        self.n += 1
        return f"{self.prefix}{self.n:05x}"

    def _ts(self, step: int = MIN) -> int:
        self.t += step
        return self.t

    def header(self, sid: str | None = None, ts: int | None = None) -> bytes:
        obj: dict[str, Any] = {
            "type": "session",
            "version": 3,
            "id": sid or self.sid,
            "timestamp": iso(self.created if ts is None else ts),
            "cwd": "/home/ana/.openclaw/workspace",
        }
        if self.parent:
            obj["parentSession"] = self.parent
        return dumps(obj)

    def user(self, textv: str = "hello") -> bytes:
        ts = self._ts()
        return dumps(
            {
                "type": "message",
                "id": self._id(),
                "parentId": None,
                "timestamp": iso(ts),
                "message": {
                    "role": "user",
                    "content": [{"type": "text", "text": textv}],
                    "timestamp": ts - 5,
                },
            }
        )

    def call(
        self,
        inp: int,
        out: int = 1,
        cost: float | None = None,
        tools: Iterable[str] = (),
        stop: str = "stop",
        usage: dict[str, Any] | None = None,
        textv: str = "ok",
    ) -> bytes:
        ts = self._ts()
        eid = self._id()
        cost = round(inp / 100_000, 9) if cost is None else cost
        content: list[dict[str, Any]] = [{"type": "text", "text": textv}]
        tool_names = list(tools)
        for i, name in enumerate(tool_names):
            content.append(
                {"type": "toolCall", "id": f"call_{eid}_{i}", "name": name, "arguments": {"q": i}}
            )
        u = usage or {
            "input": inp,
            "output": out,
            "cacheRead": 0,
            "cacheWrite": 0,
            "totalTokens": inp + out,
            "cost": {"total": cost},
        }
        self.calls.append(
            Call(eid, ts, inp, out, cost, len(tool_names), stop in ("error", "aborted"))
        )
        return dumps(
            {
                "type": "message",
                "id": eid,
                "parentId": None,
                "timestamp": iso(ts),
                "message": {
                    "role": "assistant",
                    "content": content,
                    "api": "anthropic-messages",
                    "provider": "anthropic",
                    "model": "claude-sonnet-4-5",
                    "usage": u,
                    "stopReason": stop,
                    "timestamp": ts - 900,
                },
            }
        )

    def result(self, call_index: int, tool_index: int = 0, is_error: bool = False) -> bytes:
        c = self.calls[call_index]
        ts = self._ts(1000)
        return dumps(
            {
                "type": "message",
                "id": self._id(),
                "parentId": c.eid,
                "timestamp": iso(ts),
                "message": {
                    "role": "toolResult",
                    "toolCallId": f"call_{c.eid}_{tool_index}",
                    "toolName": "exec",
                    "content": [{"type": "text", "text": "done"}],
                    "details": {"durationMs": 250},
                    "isError": is_error,
                    "timestamp": ts - 1,
                },
            }
        )


def new_sid(tag: str = "") -> str:
    u = uuid.uuid4()
    return str(u) if not tag else tag + str(u)[len(tag) :]


def body(lines: Iterable[bytes]) -> bytes:
    return b"".join(ln + b"\n" for ln in lines)


def expect(calls: Iterable[Call]) -> dict[str, Any]:
    cs = list(calls)
    assert len({(c.eid, c.ts) for c in cs}) == len(cs), "test bug: duplicate expected calls"
    return {
        "llm_calls": len(cs),
        "failed_calls": sum(c.failed for c in cs),
        "input_tokens": sum(c.input for c in cs),
        "output_tokens": sum(c.output for c in cs),
        "logged_cost_usd": round(sum(c.cost for c in cs), 9),
        "tool_calls": sum(c.tools for c in cs),
    }


# -- the environment -----------------------------------------------------------------------------

KEYS = (
    "llm_calls",
    "failed_calls",
    "input_tokens",
    "output_tokens",
    "logged_cost_usd",
    "tool_calls",
)


class Env:
    def __init__(self, root: Path, db_url: str, batch_lines: int = 20_000) -> None:
        self.root = root
        self.state = root / "state"
        self.sessions = self.state / "agents" / "main" / "sessions"
        self.sessions.mkdir(parents=True)
        self.db_url = db_url
        self.batch_lines = batch_lines
        self.engine: Engine
        self.pipeline: Pipeline
        self.engine, self.pipeline = self._build()

    def _build(self) -> tuple[Engine, Pipeline]:
        return build(
            IngestSettings(
                db_url=self.db_url,
                sources=(self.state,),
                host_id="test",
                batch_lines=self.batch_lines,
            )
        )

    def restart(self) -> None:
        """A new process: bookkeeping read back from the database."""
        self.engine.dispose()
        self.engine, self.pipeline = self._build()

    def run(self) -> PassStats:
        stats = self.pipeline.run_pass([self.state])
        self.check_rollups()
        return stats

    def path(self, name: str) -> Path:
        return self.sessions / name

    def write(self, name: str, data: bytes) -> Path:
        p = self.path(name)
        p.write_bytes(data)
        return p

    def append(self, name: str | Path, data: bytes) -> None:
        p = name if isinstance(name, Path) else self.path(name)
        with open(p, "ab") as f:
            f.write(data)

    # queries

    def q(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params).all())

    def summary(self) -> dict[str, Any]:
        with self.engine.connect() as conn:
            return reports.summary(conn, reports.make_range(None, None, "UTC"))

    def totals(self) -> dict[str, Any]:
        s = self.summary()
        return {k: s[k] for k in KEYS}

    def per_session(self) -> dict[str, tuple[int, int, int]]:
        rows = self.q(
            "SELECT session_id, COUNT(*), SUM(input_tokens), SUM(output_tokens) FROM usage "
            "GROUP BY session_id"
        )
        return {r[0]: (int(r[1]), int(r[2]), int(r[3])) for r in rows}

    def sources(self) -> dict[str, dict[str, Any]]:
        rows = self.q(
            "SELECT path, state, archive_reason, session_id, kind, read_offset, skip_reason, id "
            "FROM sources ORDER BY id"
        )
        out: dict[str, dict[str, Any]] = {}
        for r in rows:
            name = Path(r[0]).name
            out.setdefault(name, {})
            out[name] = dict(
                zip(
                    (
                        "path",
                        "state",
                        "archive_reason",
                        "session_id",
                        "kind",
                        "read_offset",
                        "skip_reason",
                        "id",
                    ),
                    r,
                    strict=True,
                )
            )
        return out

    def source_rows(self) -> list[dict[str, Any]]:
        rows = self.q("SELECT path, state, session_id FROM sources ORDER BY id")
        return [{"name": Path(r[0]).name, "state": r[1], "session_id": r[2]} for r in rows]

    def session(self, sid: str) -> dict[str, Any]:
        rows = self.q(
            "SELECT session_id, agent_id, key, kind, label, channel, parent_key, "
            "parent_session_id, cron_job_id, created_ms, started_ms, ended_ms, title "
            "FROM sessions WHERE session_id = :s",
            s=sid,
        )
        assert rows, f"no sessions row for {sid}"
        keys = (
            "session_id agent_id key kind label channel parent_key parent_session_id "
            "cron_job_id created_ms started_ms ended_ms title"
        ).split()
        return dict(zip(keys, rows[0], strict=True))

    def errors(self) -> list[tuple[str, int, str, str]]:
        rows = self.q(
            "SELECT path, line_offset, severity, reason FROM ingest_errors ORDER BY line_offset"
        )
        return [(Path(r[0]).name, int(r[1]), r[2], r[3]) for r in rows]

    def check_rollups(self) -> None:
        """Rollups are exact: every cell equals the aggregate of its base rows."""
        got = self.q(
            "SELECT hour_ms, session_id, provider, model, llm_calls, failed_calls, "
            "input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, logged_cost, "
            "cost FROM usage_hourly WHERE llm_calls > 0 ORDER BY 1, 2, 3, 4"
        )
        want = self.q(
            "SELECT (ts_ms / 3600000) * 3600000 AS h, session_id, provider, model, COUNT(*), "
            "SUM(CASE WHEN failed THEN 1 ELSE 0 END), SUM(input_tokens), SUM(output_tokens), "
            "SUM(cache_read_tokens), SUM(cache_write_tokens), COALESCE(SUM(logged_cost), 0), "
            "SUM(cost) FROM usage GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
        )
        assert _norm(got) == _norm(want), "usage_hourly differs from usage"
        got_t = self.q(
            "SELECT hour_ms, session_id, tool_name, calls, errors, missing FROM tool_hourly "
            "WHERE calls > 0 ORDER BY 1, 2, 3"
        )
        want_t = self.q(
            "SELECT (ts_ms / 3600000) * 3600000, session_id, tool_name, COUNT(*), "
            "SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN status = 'missing' THEN 1 ELSE 0 END) FROM tool_calls "
            "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
        )
        assert _norm(got_t) == _norm(want_t), "tool_hourly differs from tool_calls"
        got_s = self.q(
            "SELECT hour_ms, session_id, messages FROM session_hourly WHERE messages > 0 "
            "ORDER BY 1, 2"
        )
        want_s = self.q(
            "SELECT (ts_ms / 3600000) * 3600000, session_id, COUNT(*) FROM messages "
            "WHERE entry_type = 'message' GROUP BY 1, 2 ORDER BY 1, 2"
        )
        assert _norm(got_s) == _norm(want_s), "session_hourly differs from messages"


def _norm(rows: list[Any]) -> list[tuple[Any, ...]]:
    """Rows with float sums rounded to 1e-9 (scaled to integers, so no rounding boundary can
    split two sums that differ by float noise only: the costs here are multiples of 1e-9)."""
    return [tuple(round(float(v) * 1e9) if isinstance(v, float) else v for v in r) for r in rows]


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Iterator[Env]:
    e = Env(tmp_path, db_url)
    yield e
    e.engine.dispose()


# -- appends and partial lines -------------------------------------------------------------------


def test_first_ingest_then_appends(env: Env) -> None:
    tx = Tx(new_sid(), T0)
    name = f"{tx.sid}.jsonl"
    env.write(name, body([tx.header(), tx.user(), tx.call(101, tools=["exec"]), tx.result(0)]))
    s = env.run()
    assert (s.files, s.files_read, s.calls, s.errors) == (1, 1, 1, 0)
    assert env.totals() == expect(tx.calls)

    env.append(name, body([tx.user(), tx.call(202), tx.call(303, stop="error")]))
    s = env.run()
    assert s.calls == 2  # only the new lines were read
    assert s.lines == 3
    assert env.totals() == expect(tx.calls)

    s = env.run()  # nothing new
    assert (s.files_unchanged, s.lines, s.calls) == (1, 0, 0)
    env.restart()
    s = env.run()
    assert (s.files_unchanged, s.lines, s.calls) == (1, 0, 0)
    assert env.totals() == expect(tx.calls)
    assert env.summary()["sessions"] == 1
    assert env.summary()["tool_errors"] == 0
    [src] = env.sources().values()
    assert src["state"] == "active"
    assert src["read_offset"] == env.path(name).stat().st_size


@pytest.mark.parametrize("restart", [False, True])
def test_partial_last_line_waits_for_its_newline(env: Env, restart: bool) -> None:
    tx = Tx(new_sid(), T0)
    name = f"{tx.sid}.jsonl"
    first = body([tx.header(), tx.user(), tx.call(11)])
    env.write(name, first)
    env.run()
    line = tx.call(22)
    env.append(name, line)  # the whole line but no newline yet
    s = env.run()
    assert (s.calls, s.errors) == (0, 0)
    assert env.totals() == expect(tx.calls[:1])
    assert env.sources()[name]["read_offset"] == len(first)
    if restart:
        env.restart()
    env.append(name, b"\n")
    s = env.run()
    assert s.calls == 1
    assert env.totals() == expect(tx.calls)

    # a line written in two halves, a pass between them
    line = tx.call(33)
    env.append(name, line[:40])
    assert env.run().calls == 0
    if restart:
        env.restart()
    env.append(name, line[40:] + b"\n")
    assert env.run().calls == 1
    assert env.totals() == expect(tx.calls)
    assert env.errors() == []


def test_partial_header_only(env: Env) -> None:
    """A file caught while its very first line is being written."""
    tx = Tx(new_sid(), T0)
    name = f"{tx.sid}.jsonl"
    h = tx.header()
    env.write(name, h[:30])
    s = env.run()
    assert (s.calls, s.errors) == (0, 0)
    env.append(name, h[30:] + b"\n" + body([tx.user(), tx.call(5)]))
    env.run()
    assert env.totals() == expect(tx.calls)
    assert env.session(tx.sid)["created_ms"] == T0
    assert env.errors() == []


# -- renames to archives -------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["reset", "deleted"])
@pytest.mark.parametrize("restart", [False, True])
def test_rename_to_archive_is_followed_not_reread(env: Env, reason: str, restart: bool) -> None:
    tx = Tx(new_sid(), T0)
    name = f"{tx.sid}.jsonl"
    env.write(name, body([tx.header(), tx.user(), tx.call(7), tx.call(8)]))
    env.run()
    before = env.totals()
    archived = f"{name}.{reason}.2026-03-02T10-00-00.000Z"
    os.rename(env.path(name), env.path(archived))
    if restart:
        env.restart()
    s = env.run()
    assert s.renames == 1
    assert (s.lines, s.calls) == (0, 0)  # not read again
    assert env.totals() == before == expect(tx.calls)
    srcs = env.sources()
    assert list(srcs) == [archived]  # the same row, moved
    assert srcs[archived]["state"] == "archived"
    assert srcs[archived]["archive_reason"] == reason
    assert srcs[archived]["session_id"] == tx.sid
    s = env.run()
    assert (s.files_unchanged, s.lines, s.renames, s.gone) == (1, 0, 0, 0)


def test_lines_appended_just_before_the_rename_are_read(env: Env) -> None:
    tx = Tx(new_sid(), T0)
    name = f"{tx.sid}.jsonl"
    env.write(name, body([tx.header(), tx.call(1)]))
    env.run()
    env.append(name, body([tx.call(2)]))
    archived = f"{name}.reset.2026-03-02T10-00-00.000Z"
    os.rename(env.path(name), env.path(archived))
    s = env.run()
    assert (s.renames, s.calls, s.lines) == (1, 1, 1)
    assert env.totals() == expect(tx.calls)


@pytest.mark.parametrize("big", [False, True])
def test_archive_last_line_without_newline_is_read(env: Env, big: bool) -> None:
    """An archive is never appended again: its unterminated last line counts. A long one
    (a 3 MB inline image) is read back from the file with its huge string blanked."""
    tx = Tx(new_sid(), T0)
    name = f"{tx.sid}.jsonl.reset.2026-03-02T10-00-00.000Z"
    head = body([tx.header(), tx.call(1)])
    last = tx.call(7, textv="x" * 3_000_000 if big else "ok")
    env.write(name, head + last + b"\r")
    s = env.run()
    assert (s.calls, s.errors) == (2, 0)
    assert env.totals() == expect(tx.calls)
    preview = env.q("SELECT text_preview FROM messages WHERE entry_id = :e", e=tx.calls[-1].eid)
    assert preview == [("" if big else "ok",)]
    assert env.sources()[name]["read_offset"] == env.path(name).stat().st_size


def test_archive_last_line_finished_after_the_rename(env: Env) -> None:
    """OpenClaw renames a file (a /reset) while its last line is half written, then finishes
    the line through the descriptor it holds: the half line waits, the whole one counts."""
    tx = Tx(new_sid(), T0)
    live = env.write(f"{tx.sid}.jsonl", body([tx.header(), tx.user()]))
    line = tx.call(5)
    with open(live, "ab", buffering=0) as f:
        f.write(line[:40])
        archived = env.path(f"{tx.sid}.jsonl.reset.2026-03-02T10-00-00.000Z")
        os.rename(live, archived)
        s = env.run()
        assert (s.calls, s.errors) == (0, 0)
        f.write(line[40:] + b"\n")
    s = env.run()
    assert (s.calls, s.errors) == (1, 0)
    assert env.totals() == expect(tx.calls)
    assert env.errors() == []


def _zst(data: bytes) -> bytes:
    return zstandard.ZstdCompressor().compress(data)


def test_zst_archive_of_a_file_already_read(env: Env) -> None:
    tx = Tx(new_sid(), T0)
    name = f"{tx.sid}.jsonl"
    data = body([tx.header(), tx.user(), tx.call(10, tools=["exec"]), tx.result(0), tx.call(20)])
    env.write(name, data)
    env.run()
    before = env.totals()
    assert before == expect(tx.calls)
    zname = f"{name}.deleted.2026-03-02T10-00-00.000Z.zst"
    env.write(zname, _zst(data))
    env.path(name).unlink()
    s = env.run()
    assert s.errors == 0
    assert env.totals() == before
    srcs = env.sources()
    assert srcs[name]["state"] == "gone"
    assert srcs[zname]["state"] == "archived"
    assert srcs[zname]["kind"] == "jsonl_zst"
    assert srcs[zname]["archive_reason"] == "deleted"
    s = env.run()
    assert s.lines == 0
    assert env.totals() == before


def test_zst_archive_of_a_file_never_read(env: Env) -> None:
    tx = Tx(new_sid(), T0)
    zname = f"{tx.sid}.jsonl.deleted.2026-03-02T10-00-00.000Z.zst"
    env.write(zname, _zst(body([tx.header(), tx.user(), tx.call(10), tx.call(20, stop="aborted")])))
    s = env.run()
    assert s.calls == 2
    assert env.totals() == expect(tx.calls)
    assert env.session(tx.sid)["created_ms"] == T0


def test_zst_archive_holding_lines_never_read(env: Env) -> None:
    """Part of the file was read, then it grew and was archived before the next pass."""
    tx = Tx(new_sid(), T0)
    name = f"{tx.sid}.jsonl"
    part1 = body([tx.header(), tx.call(10)])
    env.write(name, part1)
    env.run()
    part2 = body([tx.call(20), tx.call(30)])
    zname = f"{name}.deleted.2026-03-02T10-00-00.000Z.zst"
    env.write(zname, _zst(part1 + part2))
    env.path(name).unlink()
    env.run()
    assert env.totals() == expect(tx.calls)


# -- truncation and rewrites ---------------------------------------------------------------------


@pytest.mark.parametrize("pass_while_empty", [False, True])
def test_copytruncate(env: Env, pass_while_empty: bool) -> None:
    """Truncated to 0 in place (same inode), then new header-less lines appended."""
    tx = Tx(new_sid(), T0)
    name = f"{tx.sid}.jsonl"
    env.write(name, body([tx.header(), tx.user(), tx.call(100), tx.call(200)]))
    env.run()
    ino = env.path(name).stat().st_ino
    os.truncate(env.path(name), 0)
    if pass_while_empty:
        s = env.run()
        assert s.calls == 0
        assert env.totals() == expect(tx.calls)
    env.append(name, body([tx.user(), tx.call(300)]))
    assert env.path(name).stat().st_ino == ino
    s = env.run()
    assert s.calls == 1
    assert env.totals() == expect(tx.calls)
    assert env.summary()["sessions"] == 1
    assert env.q("SELECT DISTINCT session_id FROM usage") == [(tx.sid,)]
    assert env.errors() == []


def test_rewrite_in_place_with_a_new_header(env: Env) -> None:
    """pi finds a corrupt file, truncates it and writes a fresh header with a new id."""
    tx = Tx(new_sid(), T0)
    name = f"{tx.sid}.jsonl"
    env.write(name, body([tx.header(), tx.user(), tx.call(100), tx.call(200)]))
    env.run()
    old_calls = list(tx.calls)
    tx2 = Tx(new_sid(), T0 + 60 * MIN)
    with open(env.path(name), "r+b") as f:  # same inode
        f.truncate(0)
        f.write(body([tx2.header(), tx2.user(), tx2.call(300), tx2.call(400)]))
    s = env.run()
    assert s.calls == 2
    assert env.totals() == expect(old_calls + tx2.calls)
    assert env.per_session() == {tx.sid: (2, 300, 2), tx2.sid: (2, 700, 2)}
    rows = env.source_rows()
    assert [(r["state"], r["session_id"]) for r in rows] == [
        ("replaced", tx.sid),
        ("active", tx2.sid),
    ]


def _long_user(tx: Tx) -> bytes:
    # longer than the 1 KiB head fingerprint, so a rewrite keeps the head intact
    return tx.user("x" * 1500)


def test_rewrite_same_header_reserialized_and_longer(env: Env) -> None:
    """Truncated to 0 and rewritten with the same header and first line, the old entries in a
    different serialization, plus new ones: only the tail fingerprint can tell; nothing may
    count twice and nothing may be lost."""
    tx = Tx(new_sid(), T0)
    name = f"{tx.sid}.jsonl"
    head = [tx.header(), _long_user(tx)]
    old = [tx.user(), tx.call(100), tx.call(200)]
    env.write(name, body(head + old))
    env.run()
    size0 = env.path(name).stat().st_size
    reser = [json.dumps(json.loads(x), indent=None).encode() for x in old]  # ", " and ": "
    new = [tx.call(300), tx.call(400, tools=["exec"]), tx.result(3)]
    with open(env.path(name), "r+b") as f:
        f.truncate(0)
        f.write(body(head + reser + new))
    assert env.path(name).stat().st_size > size0
    s = env.run()
    assert s.rewrites == 1
    assert s.errors == 0
    assert env.totals() == expect(tx.calls)
    assert env.errors() == []
    assert env.summary()["tool_errors"] == 0
    assert env.q("SELECT status FROM tool_calls") == [("ok",)]


def test_rewrite_same_header_other_entries(env: Env) -> None:
    """Same header and first line, the rest replaced by other entries (pi rolled the tail
    back and went on): old rows stay, new rows count."""
    tx = Tx(new_sid(), T0)
    name = f"{tx.sid}.jsonl"
    head = [tx.header(), _long_user(tx)]
    env.write(name, body([*head, tx.call(100), tx.call(200)]))
    env.run()
    with open(env.path(name), "r+b") as f:
        f.truncate(0)
        f.write(body([*head, tx.call(300), tx.call(400), tx.call(500)]))
    s = env.run()
    assert s.errors == 0
    assert env.totals() == expect(tx.calls)
    assert env.errors() == []


def test_rewrite_same_header_shorter_file(env: Env) -> None:
    tx = Tx(new_sid(), T0)
    name = f"{tx.sid}.jsonl"
    head = [tx.header(), _long_user(tx)]
    env.write(name, body([*head, tx.call(100), tx.call(200), tx.call(300)]))
    env.run()
    with open(env.path(name), "r+b") as f:
        f.truncate(0)
        f.write(body([*head, tx.call(400)]))
    s = env.run()
    assert s.rewrites == 1
    assert env.totals() == expect(tx.calls)
    env.append(name, body([tx.call(500)]))
    env.run()
    assert env.totals() == expect(tx.calls)


def test_atomic_rewrite_new_inode_same_content_plus_more(env: Env) -> None:
    """Later OpenClaw migrates a file with temp + rename: a new inode at the same path holding
    the same entries and more."""
    tx = Tx(new_sid(), T0)
    name = f"{tx.sid}.jsonl"
    lines = [tx.header(), tx.user(), tx.call(100), tx.call(200)]
    env.write(name, body(lines))
    env.run()
    tmp = env.path(name + ".tmp")
    tmp.write_bytes(body([*lines, tx.call(300)]))
    os.replace(tmp, env.path(name))
    env.run()
    assert env.totals() == expect(tx.calls)


# -- deletion and inode reuse --------------------------------------------------------------------


def test_a_file_renamed_while_a_pass_reads_others(env: Env) -> None:
    """OpenClaw renames a file after the pass listed it and before the pass opens it: the
    pass goes on (the rows read before it are kept), and the next pass reads the archive."""
    a, b = Tx(new_sid("a"), T0), Tx(new_sid("b"), T0 + MIN)
    env.write(f"{a.sid}.jsonl", body([a.header(), a.call(1), a.call(2)]))
    env.write(f"{b.sid}.jsonl", body([b.header(), b.call(30)]))
    os.utime(env.path(f"{a.sid}.jsonl"), ns=(T0 * 10**6, T0 * 10**6))  # read first: oldest
    archived = env.path(f"{b.sid}.jsonl.reset.2026-03-02T10-00-00.000Z")

    def rename_b(_done: int, _total: int) -> None:
        if env.path(f"{b.sid}.jsonl").exists():
            os.rename(env.path(f"{b.sid}.jsonl"), archived)

    s = env.pipeline.run_pass([env.state], progress=rename_b)
    assert (s.files_read, s.calls, s.errors) == (1, 2, 0)
    assert env.totals() == expect(a.calls)
    env.path(f"{a.sid}.jsonl").unlink()  # a's rows stay, whatever happens to its file
    s = env.run()
    assert (s.calls, s.gone) == (1, 1)
    assert env.totals() == expect(a.calls + b.calls)
    assert env.sources()[archived.name]["state"] == "archived"


def test_an_unreadable_file_is_recorded_and_the_pass_goes_on(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ingestor import pipeline

    a, b = Tx(new_sid("a"), T0), Tx(new_sid("b"), T0)
    env.write(f"{a.sid}.jsonl", body([a.header(), a.call(1)]))
    locked = env.write(f"{b.sid}.jsonl", body([b.header(), b.call(2)]))
    real = pipeline.LineReader

    def reader(path: Path, *args: Any, **kw: Any) -> Any:  # the tests run as root: chmod 0
        if path == locked:  # would not stop them, so the open fails as it would for a user
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, *args, **kw)

    monkeypatch.setattr(pipeline, "LineReader", reader)
    s = env.run()
    assert (s.calls, s.errors) == (1, 1)
    assert [e[3] for e in env.errors()] == ["cannot read the file: Permission denied"]


def test_a_stop_ends_a_long_file_at_a_batch(tmp_path: Path, db_url: str) -> None:
    """SIGTERM while one long file is read: the pass ends after the batch being read (docker
    stop waits 10 s, a 300 MB file takes longer), and the next pass reads the rest once."""
    import threading

    e = Env(tmp_path, db_url, batch_lines=10)
    try:
        tx = Tx(new_sid(), T0)
        e.write(f"{tx.sid}.jsonl", body([tx.header(), *(tx.call(i + 1) for i in range(45))]))
        stop = threading.Event()
        flush = e.pipeline._flush

        def flush_then_stop(*args: Any) -> None:
            flush(*args)
            stop.set()  # the signal arrives while the first batch commits

        e.pipeline._flush = flush_then_stop  # type: ignore[method-assign]
        s = e.pipeline.run_pass([e.state], stop=stop)
        assert s.calls == 9  # the header and 9 calls: one batch of 10 lines
        e.pipeline._flush = flush  # type: ignore[method-assign]
        s = e.run()
        assert s.calls == 36
        assert e.totals() == expect(tx.calls)
    finally:
        e.engine.dispose()


def test_deletion_keeps_rows(env: Env) -> None:
    tx = Tx(new_sid(), T0)
    name = f"{tx.sid}.jsonl"
    env.write(name, body([tx.header(), tx.call(10), tx.call(20)]))
    env.run()
    env.path(name).unlink()
    s = env.run()
    assert s.gone == 1
    assert env.totals() == expect(tx.calls)
    assert env.sources()[name]["state"] == "gone"
    env.restart()
    s = env.run()
    assert s.gone == 0
    assert env.totals() == expect(tx.calls)


def _create_on_inode(dirpath: Path, name: str, data: bytes, ino: int) -> bool:
    """Create ``name`` holding ``data``, trying to get inode ``ino`` again (freed just
    before): new files are created until one has it, then it is renamed into place."""
    made = []
    hit = None
    for i in range(300):
        p = dirpath / f"probe{i}.tmp"
        p.write_bytes(b"")
        made.append(p)
        if p.stat().st_ino == ino:
            hit = p
            break
    target = dirpath / name
    for p in made:
        if p is not hit:
            p.unlink()
    if hit is None:
        target.write_bytes(data)
        return False
    hit.write_bytes(data)
    os.rename(hit, target)
    return True


@pytest.mark.parametrize("same_path", [False, True])
def test_inode_reuse(env: Env, same_path: bool) -> None:
    tx = Tx(new_sid(), T0)
    name = f"{tx.sid}.jsonl"
    env.write(name, body([tx.header(), tx.user(), tx.call(10), tx.call(20)]))
    env.run()
    ino = env.path(name).stat().st_ino
    env.path(name).unlink()
    tx2 = Tx(new_sid(), T0 + 5 * MIN)
    name2 = name if same_path else f"{tx2.sid}.jsonl"
    reused = _create_on_inode(
        env.sessions, name2, body([tx2.header(), tx2.user(), tx2.call(30), tx2.call(40)]), ino
    )
    s = env.run()
    assert s.calls == 2
    assert env.totals() == expect(tx.calls + tx2.calls)
    assert env.per_session() == {tx.sid: (2, 30, 2), tx2.sid: (2, 70, 2)}
    assert reused, "inode was not reused: the test did not exercise what it meant to"


def test_inode_reuse_file_empty_at_first_sight(env: Env) -> None:
    """The reusing file is still empty when the pass sees it, then gets its content."""
    tx = Tx(new_sid(), T0)
    name = f"{tx.sid}.jsonl"
    env.write(name, body([tx.header(), tx.user(), tx.call(10), tx.call(20)]))
    env.run()
    ino = env.path(name).stat().st_ino
    env.path(name).unlink()
    tx2 = Tx(new_sid(), T0 + 5 * MIN)
    name2 = f"{tx2.sid}.jsonl"
    reused = _create_on_inode(env.sessions, name2, b"", ino)
    env.run()
    assert env.totals() == expect(tx.calls)
    env.append(name2, body([tx2.header(), tx2.user(), tx2.call(30), tx2.call(40)]))
    env.run()
    assert env.totals() == expect(tx.calls + tx2.calls)
    assert env.per_session() == {tx.sid: (2, 30, 2), tx2.sid: (2, 70, 2)}
    assert reused


# -- forks ---------------------------------------------------------------------------------------


def _fork_case(env: Env, parent_tag: str) -> tuple[Tx, Tx, list[bytes], list[bytes], str, str]:
    """A parent and a fork that copies the parent's first lines (same ids and timestamps)."""
    p = Tx(new_sid(parent_tag), T0)
    pname = f"{p.sid}.jsonl"
    shared = [p.user(), p.call(100, tools=["exec"]), p.result(0), p.call(200)]
    p_own = [p.user(), p.call(300)]
    f = Tx(new_sid("9f"), T0 + 30 * MIN, parent=str(env.path(pname)), prefix="f00")
    f.t = p.t + 10 * MIN
    f_own = [f.user(), f.call(4000, tools=["exec", "read"]), f.result(0), f.result(0, 1, True)]
    fname = f"2026-03-02T09-30-00-000Z_{f.sid}.jsonl"
    parent_lines = [p.header(), *shared, *p_own]
    fork_lines = [f.header(), *shared, *f_own]
    return p, f, parent_lines, fork_lines, pname, fname


def _fork_expectations(env: Env, p: Tx, f: Tx) -> None:
    assert env.per_session() == {p.sid: (3, 600, 3), f.sid: (1, 4000, 1)}
    assert env.totals() == expect(p.calls + f.calls)
    fs = env.session(f.sid)
    assert fs["parent_session_id"] == p.sid
    assert fs["created_ms"] == T0 + 30 * MIN
    ps = env.session(p.sid)
    assert ps["created_ms"] == T0
    # start and end: entries owned by each session only
    assert ps["started_ms"] == p.calls[0].ts - MIN  # the first user line
    assert fs["started_ms"] > ps["ended_ms"] - 60 * MIN
    tools = env.q(
        "SELECT session_id, tool_name, status FROM tool_calls ORDER BY ts_ms, block_index"
    )
    assert tools == [(p.sid, "exec", "ok"), (f.sid, "exec", "ok"), (f.sid, "read", "error")]
    msgs = env.q("SELECT session_id, COUNT(*) FROM messages GROUP BY session_id ORDER BY 2 DESC")
    assert msgs == [(p.sid, 6), (f.sid, 4)]


ORDERS = ["fork-then-parent", "parent-then-fork", "same-pass-parent-first", "same-pass-fork-first"]


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("batch_lines", [20_000, 2])
def test_fork_counted_once_owned_by_parent(
    tmp_path: Path, db_url: str, order: str, batch_lines: int
) -> None:
    env = Env(tmp_path, db_url, batch_lines=batch_lines)
    try:
        # in one pass files are read by path: "0…" sorts before "2026-…", "f…" after
        tag = "0a" if order == "same-pass-parent-first" else "fa"
        p, f, plines, flines, pname, fname = _fork_case(env, tag)
        if order == "fork-then-parent":
            env.write(fname, body(flines))
            env.run()
            assert env.per_session()[f.sid] == (3, 4300, 3)
            env.write(pname, body(plines))
            env.run()
        elif order == "parent-then-fork":
            env.write(pname, body(plines))
            env.run()
            env.write(fname, body(flines))
            env.run()
        else:
            env.write(pname, body(plines))
            env.write(fname, body(flines))
            env.run()
        _fork_expectations(env, p, f)
        env.restart()
        env.run()
        _fork_expectations(env, p, f)
    finally:
        env.engine.dispose()


# -- names that are not transcripts, header-less and odd files -----------------------------------


def test_fork_parent_is_the_header_id_of_the_file_it_names(env: Env) -> None:
    """A header id may differ from its file's name (format spec §2): a fork's parent is the
    session of the file its parentSession names, by that file's header."""
    parent = Tx(new_sid("p"), T0)
    named = env.write(f"{new_sid('f')}.jsonl", body([parent.header(), parent.call(1)]))
    os.utime(named, ns=(T0 * 10**6, T0 * 10**6))  # read first: the oldest
    fork = Tx(new_sid("c"), T0 + MIN, parent=str(named))
    env.write(f"{fork.sid}.jsonl", body([fork.header(), fork.call(2)]))
    env.run()
    assert env.session(fork.sid)["parent_session_id"] == parent.sid


def test_headerless_file_takes_its_id_from_the_name(env: Env) -> None:
    sid = new_sid()
    tx = Tx(sid, T0)
    name = f"{sid}-topic-42.jsonl"
    env.write(name, body([tx.user(), tx.call(10), tx.call(20)]))
    env.run()
    assert env.totals() == expect(tx.calls)
    assert env.per_session() == {sid: (2, 30, 2)}
    s = env.session(sid)
    assert s["created_ms"] is None
    assert s["kind"] == "unknown"


def test_sidecars_and_backups_never_count(env: Env) -> None:
    sid = new_sid()
    tx = Tx(sid, T0)
    lines = body([tx.header(), tx.user(), tx.call(10), tx.call(20)])
    env.write(f"{sid}.jsonl.bak.2026-03-02T10-00-00.000Z", lines)
    env.write(f"{sid}.checkpoint.{uuid.uuid4()}.jsonl", lines)
    env.write(f"{sid}.trajectory.jsonl", lines)
    env.write(f"{sid}.acp-stream.jsonl", lines)
    s = env.run()
    assert env.totals() == expect([])
    assert s.files == 0
    assert s.skipped_by_reason.get("bak") == 1
    assert s.skipped_by_reason.get("checkpoint") == 1
    assert s.skipped_by_reason.get("trajectory") == 1
    assert s.skipped_by_reason.get("acp-stream") == 1
    assert env.sources() == {}


def test_non_transcript_jsonl_is_skipped_and_counted(env: Env) -> None:
    tx = Tx(new_sid(), T0)
    name = "notes.jsonl"
    env.write(name, body([b'{"foo":1}', tx.call(10)]))
    s = env.run()
    assert s.skipped == 1
    assert s.skipped_by_reason.get("not-a-transcript") == 1
    assert s.files_read == 0
    assert env.totals() == expect([])
    src = env.sources()[name]
    assert src["state"] == "skipped"
    assert "not a transcript" in (src["skip_reason"] or "")
    s = env.run()
    assert s.lines == 0
    env.append(name, body([tx.call(20)]))
    env.run()
    assert env.totals() == expect([])


# -- sessions.json and cron ----------------------------------------------------------------------


def _index(env: Env, entries: dict[str, Any]) -> None:
    tmp = env.sessions / "sessions.json.123.tmp"
    tmp.write_text(json.dumps(entries, indent=2))
    os.replace(tmp, env.sessions / "sessions.json")


@pytest.mark.parametrize("index_first", [True, False])
def test_sessions_json_mapping(env: Env, index_first: bool) -> None:
    main, sub, grp, cron, dm = (Tx(new_sid(), T0 + i * MIN) for i in range(5))
    entries = {
        "agent:main:main": {
            "sessionId": main.sid,
            "updatedAt": 1,
            "deliveryContext": {"channel": "telegram", "to": "telegram:5512"},
        },
        "agent:main:subagent:2b7e4c1a-9f3d-4e8a-b6c2-7d1f0e9a8b3c": {
            "sessionId": sub.sid,
            "updatedAt": 2,
            "spawnedBy": "agent:main:main",
            "label": "lisbon-hotels",
        },
        "agent:main:telegram:group:-100123": {
            "sessionId": grp.sid,
            "updatedAt": 3,
            "channel": "telegram",
            "displayName": "Family",
        },
        "agent:main:cron:7d2f9a": {"sessionId": cron.sid, "updatedAt": 4, "lastChannel": "slack"},
        "agent:main:whatsapp:dm:+3161234": {"sessionId": dm.sid, "updatedAt": 5},
    }

    def transcripts() -> None:
        for tx in (main, sub, grp, cron, dm):
            env.write(f"{tx.sid}.jsonl", body([tx.header(), tx.user(), tx.call(10)]))

    if index_first:
        _index(env, entries)
        env.run()
        transcripts()
    else:
        transcripts()
        env.run()
        _index(env, entries)
    env.run()

    def check() -> None:
        m = env.session(main.sid)
        assert (m["key"], m["kind"], m["channel"]) == ("agent:main:main", "main", "telegram")
        s = env.session(sub.sid)
        assert (s["kind"], s["label"], s["parent_key"], s["parent_session_id"]) == (
            "subagent",
            "lisbon-hotels",
            "agent:main:main",
            main.sid,
        )
        g = env.session(grp.sid)
        assert (g["kind"], g["channel"], g["label"]) == ("group", "telegram", "Family")
        c = env.session(cron.sid)
        assert (c["kind"], c["cron_job_id"], c["channel"]) == ("cron", "7d2f9a", "slack")
        assert env.session(dm.sid)["kind"] == "dm"
        for tx in (main, sub, grp, cron, dm):
            assert env.session(tx.sid)["created_ms"] == tx.created

    check()
    # maintenance prunes the sub-agent and the cron entry; the last known mapping stays
    pruned = {k: v for k, v in entries.items() if "subagent" not in k and "cron" not in k}
    _index(env, pruned)
    s = env.run()
    assert s.errors == 0
    check()
    env.restart()
    env.run()
    check()
    assert env.totals() == expect(main.calls + sub.calls + grp.calls + cron.calls + dm.calls)


@pytest.mark.parametrize("restart", [False, True])
def test_a_session_file_outside_the_sessions_dir_is_followed(env: Env, restart: bool) -> None:
    """sessions.json may name an absolute sessionFile elsewhere (format spec §1): its new
    lines are read in every pass, not only when the index changes (and after a restart)."""
    tx = Tx(new_sid(), T0)
    elsewhere = env.root / "elsewhere"
    elsewhere.mkdir()
    path = elsewhere / f"{tx.sid}.jsonl"
    path.write_bytes(body([tx.header(), tx.call(10)]))
    entry = {"sessionId": tx.sid, "updatedAt": 1, "sessionFile": str(path)}
    _index(env, {"agent:main:main": entry})
    assert env.run().calls == 1
    if restart:
        env.restart()
    env.append(path, body([tx.call(20)]))
    s = env.run()
    assert (s.calls, s.lines) == (1, 1)
    assert env.totals() == expect(tx.calls)


def test_sessions_json_replaced_with_the_same_size_and_mtime(env: Env) -> None:
    """A new index (a rename over the old one) of the same size whose mtime the filesystem
    rounded to the old one's (1-2 s on network and bind mounts) is still read."""
    a, b = Tx(new_sid("a"), T0), Tx(new_sid("b"), T0 + MIN)
    for tx in (a, b):
        env.write(f"{tx.sid}.jsonl", body([tx.header(), tx.call(10)]))
    _index(env, {"agent:main:main": {"sessionId": a.sid, "updatedAt": 1}})
    env.run()
    index = env.sessions / "sessions.json"
    mtime = index.stat().st_mtime_ns
    _index(env, {"agent:main:main": {"sessionId": b.sid, "updatedAt": 2}})  # same length
    os.utime(index, ns=(mtime, mtime))
    env.run()
    assert env.session(b.sid)["key"] == "agent:main:main"
    assert env.session(a.sid)["key"] == "agent:main:main"  # the last known mapping stays


def test_subagent_parent_stays_after_the_parent_key_is_reset(env: Env) -> None:
    """spawnedBy names a key; after a /reset that key maps to a new session, which is not
    the parent of a sub-agent spawned before."""
    p1, p2, child = Tx(new_sid("1"), T0), Tx(new_sid("2"), T0 + 60 * MIN), Tx(new_sid("c"), T0)
    env.write(f"{p1.sid}.jsonl", body([p1.header(), p1.call(1)]))
    env.write(f"{child.sid}.jsonl", body([child.header(), child.call(2)]))
    sub = {"sessionId": child.sid, "updatedAt": 2, "spawnedBy": "agent:main:main"}
    _index(env, {"agent:main:main": {"sessionId": p1.sid}, "agent:main:subagent:x": sub})
    env.run()
    assert env.session(child.sid)["parent_session_id"] == p1.sid
    os.rename(env.path(f"{p1.sid}.jsonl"), env.path(f"{p1.sid}.jsonl.reset.2026-03-02T10-00-00Z"))
    env.write(f"{p2.sid}.jsonl", body([p2.header(), p2.call(3)]))
    _index(env, {"agent:main:main": {"sessionId": p2.sid}, "agent:main:subagent:x": sub})
    env.run()
    assert env.session(child.sid)["parent_session_id"] == p1.sid


def test_sessions_json_new_session_for_a_key(env: Env) -> None:
    """/new: the key now maps to another session id; the old session keeps its key."""
    a, b = Tx(new_sid(), T0), Tx(new_sid(), T0 + 60 * MIN)
    env.write(f"{a.sid}.jsonl", body([a.header(), a.user(), a.call(1)]))
    _index(env, {"agent:main:main": {"sessionId": a.sid, "updatedAt": 1}})
    env.run()
    os.rename(env.path(f"{a.sid}.jsonl"), env.path(f"{a.sid}.jsonl.reset.2026-03-02T10-00-00.000Z"))
    env.write(f"{b.sid}.jsonl", body([b.header(), b.user(), b.call(2)]))
    _index(env, {"agent:main:main": {"sessionId": b.sid, "updatedAt": 2}})
    env.run()
    assert env.session(a.sid)["kind"] == "main"
    assert env.session(b.sid)["kind"] == "main"
    assert env.session(b.sid)["key"] == "agent:main:main"


def test_unreadable_sessions_json_is_an_error_not_a_crash(env: Env) -> None:
    tx = Tx(new_sid(), T0)
    env.write(f"{tx.sid}.jsonl", body([tx.header(), tx.call(1)]))
    (env.sessions / "sessions.json").write_text('{"agent:main:main": {"sessionId": ')
    s = env.run()
    assert s.errors == 1
    assert env.totals() == expect(tx.calls)


def test_sessions_json_with_a_cut_label_is_still_read(env: Env) -> None:
    """JSON.stringify writes half a surrogate pair escaped (a label cut inside an emoji):
    orjson refuses it, and a refused index would lose every session's key and kind."""
    tx = Tx(new_sid(), T0)
    env.write(f"{tx.sid}.jsonl", body([tx.header(), tx.call(1)]))
    entry = '{"sessionId": "' + tx.sid + '", "updatedAt": 1, "label": "daily \\ud83d"}'
    (env.sessions / "sessions.json").write_text('{"agent:main:cron:job9": ' + entry + "}")
    s = env.run()
    assert (s.errors, s.warnings) == (0, 1)
    got = env.session(tx.sid)
    assert (got["kind"], got["key"], got["label"]) == (
        "cron",
        "agent:main:cron:job9",
        "daily \ufffd",
    )
    [(path, off, sev, why)] = env.errors()
    assert (path, off, sev) == ("sessions.json", 0, "warning") and "surrogate" in why
    assert env.totals() == expect(tx.calls)


def test_cron_prefix_fallback(env: Env) -> None:
    tx = Tx(new_sid(), T0)
    env.write(
        f"{tx.sid}.jsonl",
        body([tx.header(), tx.user("[cron:job42 Morning digest] summarize my inbox"), tx.call(9)]),
    )
    env.run()
    s = env.session(tx.sid)
    assert (s["kind"], s["cron_job_id"], s["label"], s["key"]) == (
        "cron",
        "job42",
        "Morning digest",
        "agent:main:cron:job42",
    )
    # sessions.json, when it knows the session, wins over the prefix
    _index(env, {"agent:main:telegram:dm:77": {"sessionId": tx.sid, "updatedAt": 1}})
    env.run()
    assert env.session(tx.sid)["kind"] == "dm"


def test_agent_from_folder(env: Env) -> None:
    ops = env.state / "agents" / "ops" / "sessions"
    ops.mkdir(parents=True)
    tx = Tx(new_sid(), T0)
    (ops / f"{tx.sid}.jsonl").write_bytes(body([tx.header(), tx.call(1)]))
    env.run()
    assert env.session(tx.sid)["agent_id"] == "ops"
    assert env.q("SELECT agent_id FROM usage") == [("ops",)]


@pytest.mark.parametrize(
    ("first", "reason"),
    [
        (b'{"type":"session","version":3,"id":null,"timestamp":"2026-03-02T09:00:00.000Z"}', "id"),
        (
            b'{"type":"message","id":"m0","timestamp":"2026-03-02T09:00:00.000Z","message":null}',
            "message",
        ),
        (b'{"type":"message","id":"m0","timestamp":"not a time","message":{}}', "timestamp"),
    ],
)
def test_a_broken_first_line_does_not_lose_the_file(env: Env, first: bytes, reason: str) -> None:
    """A file whose first line is a broken header or entry is a transcript with a bad line
    (format spec §12.7: per-line errors never abort the file); it is read header-less, with the
    session id from its name. Only a first object that is no transcript line at all makes the
    file "not a transcript" (test_non_transcript_jsonl_is_skipped_and_counted)."""
    tx = Tx(new_sid(), T0)
    name = f"{tx.sid}.jsonl"
    env.write(name, body([first, tx.call(10), tx.call(20)]))
    s = env.run()
    assert (s.skipped, s.files_read, s.errors) == (0, 1, 1)
    assert env.totals() == expect(tx.calls)
    assert env.q("SELECT DISTINCT session_id FROM usage") == [(tx.sid,)]
    [(path, off, sev, why)] = env.errors()
    assert (path, off, sev) == (name, 0, "error") and reason in why
    assert env.sources()[name]["state"] == "active"
    env.append(name, body([tx.call(30)]))
    env.run()
    assert env.totals() == expect(tx.calls)
    assert len(tx.calls) == 3


# -- bad lines -----------------------------------------------------------------------------------


def test_bad_lines_are_recorded_and_skipped(env: Env) -> None:
    tx = Tx(new_sid(), T0)
    name = f"{tx.sid}.jsonl"
    bad_utf8 = tx.call(30, textv="caf\u00e9 OK").replace("caf\u00e9".encode(), b"caf\xff\xfe")
    assert b"\xff" in bad_utf8
    parts: list[tuple[bytes, str | None, str | None]] = [
        (tx.header(), None, None),
        (tx.call(10), None, None),
        (b"", "error", "blank"),
        (b'{"type":"message","id":"zz", "timestamp":', "error", "invalid JSON"),
        (b"null", "error", "not a JSON object"),
        (b"[1]", "error", "not a JSON object"),
        (
            b'{"type":"message","id":"x","timestamp":"2026-03-02T09:30:00.000Z","message":null}',
            "error",
            "message",
        ),
        (b"   ", "error", "blank"),
        (b'{"type":"message","id":"y","timestamp":"yesterday","message":{}}', "error", "timestamp"),
        (bad_utf8, "warning", "UTF-8"),
        (
            tx.call(
                0,
                usage={
                    "input": "-5",
                    "output": 7,
                    "cacheRead": 0,
                    "cacheWrite": 0,
                    "cost": {"total": 0.5},
                },
            ),
            "warning",
            "usage.input",
        ),
        (
            tx.call(
                0,
                usage={
                    "input": 40,
                    "output": -5,
                    "cacheRead": 0,
                    "cacheWrite": 0,
                    "cost": {"total": 0.25},
                },
            ),
            "warning",
            "usage.output",
        ),
        (tx.call(50), None, None),
    ]
    data = b""
    want = []
    for line, severity, needle in parts:
        if severity is not None:
            want.append((len(data), severity, needle))
        data += line + b"\n"
    env.write(name, data)
    s = env.run()
    assert s.errors == 7
    assert s.warnings == 3
    got = env.errors()
    assert [(g[0], g[1], g[2]) for g in got] == [(name, off, sev) for off, sev, _ in want]
    for (_, off, _, reason), (woff, _, needle) in zip(got, want, strict=True):
        assert needle.lower() in reason.lower(), (off, reason, needle)
        assert woff == off
    # calls: 10, "caf\xff" (30), input "-5" → 0 with output 7, input 40 with output -5 → 0, 50
    u = env.q(
        "SELECT u.input_tokens, u.output_tokens, u.warning, u.logged_cost FROM usage u "
        "JOIN messages m ON m.entry_id = u.entry_id AND m.ts_ms = u.ts_ms ORDER BY m.source_offset"
    )
    assert [(r[0], r[1]) for r in u] == [(10, 1), (30, 1), (0, 7), (40, 0), (50, 1)]
    assert [bool(r[2]) for r in u][2:4] == [True, True]
    assert not u[0][2]
    totals = env.totals()
    assert totals["llm_calls"] == 5
    assert totals["input_tokens"] == 130
    assert totals["logged_cost_usd"] == pytest.approx(0.0001 + 0.0003 + 0.5 + 0.25 + 0.0005)
    src = env.sources()[name]
    assert src["read_offset"] == len(data)
    errs = env.q("SELECT errors, lines FROM sources")
    assert errs == [(7, len(parts))]
    # read again from scratch (new pipeline, file rewritten identically in a new inode):
    # errors are not recorded twice for the same source
    env.restart()
    assert env.run().lines == 0
    assert len(env.errors()) == 10


def test_bad_lines_across_passes_same_offsets(env: Env) -> None:
    """Bad lines arriving one by one get the same offsets as when read in one go."""
    tx = Tx(new_sid(), T0)
    name = f"{tx.sid}.jsonl"
    lines = [tx.header(), tx.call(1), b"{oops", tx.call(2), b"7", tx.call(3)]
    env.write(name, b"")
    offsets = []
    pos = 0
    for ln in lines:
        if not ln.startswith(b'{"') and ln != tx.header():
            offsets.append(pos)
        env.append(name, ln + b"\n")
        pos += len(ln) + 1
        env.run()
    assert [e[1] for e in env.errors()] == offsets
    assert env.totals() == expect(tx.calls)


def test_crlf_line_endings(env: Env) -> None:
    tx = Tx(new_sid(), T0)
    name = f"{tx.sid}.jsonl"
    env.write(name, b"".join(ln + b"\r\n" for ln in [tx.header(), tx.call(1), tx.call(2)]))
    env.run()
    assert env.totals() == expect(tx.calls)
    assert env.errors() == []


def test_duplicate_lines_in_one_file_count_once(env: Env) -> None:
    """pi < 0.55.2 could write duplicate headers and entries into a fork."""
    tx = Tx(new_sid(), T0)
    name = f"{tx.sid}.jsonl"
    c1, c2 = tx.call(1), tx.call(2)
    env.write(name, body([tx.header(), c1, c2, tx.header(), c1, c2]))
    env.run()
    assert env.totals() == expect(tx.calls)


def test_zst_archive_still_being_written(env: Env) -> None:
    """A truncated zstd stream (archive being written): what it holds so far may count, the
    rest counts when it is complete, nothing twice, no error for the cut line."""
    tx = Tx(new_sid(), T0)
    data = body([tx.header(), *(tx.call(i + 1, textv="y" * 300) for i in range(40))])
    z = _zst(data)
    zname = f"{tx.sid}.jsonl.deleted.2026-03-02T10-00-00.000Z.zst"
    env.write(zname, z[: len(z) // 2])
    s = env.run()
    assert env.totals()["llm_calls"] <= 40
    assert s.warnings == 0  # just written: still being written, most likely
    env.write(zname, z)
    env.run()
    assert env.totals() == expect(tx.calls)
    assert env.errors() == []


_CUT = _zst(b"\n".join(str(i * 7919).encode() for i in range(5000)))


@pytest.mark.parametrize("data", [b"not zstd at all\n", _CUT[: len(_CUT) // 2]])
def test_a_damaged_zst_archive_is_a_warning(env: Env, data: bytes) -> None:
    """Untouched for a minute and still cut short: damaged, and said (not silent)."""
    p = env.write("x.jsonl.deleted.2026-03-02T10-00-00.000Z.zst", data)
    old = (time.time() - 120) * 1e9
    os.utime(p, ns=(int(old), int(old)))
    s = env.run()
    assert (s.calls, s.warnings) == (0, 1)
    assert [(e[2], e[3].split(" (")[0]) for e in env.errors()] == [
        ("warning", "zstd archive is damaged")
    ]


def test_header_only_file_is_not_a_session_with_messages(env: Env) -> None:
    tx = Tx(new_sid(), T0)
    name = f"{tx.sid}.jsonl"
    env.write(name, body([tx.header()]))
    env.run()
    assert env.summary()["sessions"] == 0
    env.append(name, body([tx.user(), tx.call(3)]))
    env.run()
    assert env.summary()["sessions"] == 1
    assert env.totals() == expect(tx.calls)


# -- tool results arriving later -----------------------------------------------------------------


def test_tool_result_in_a_later_pass(env: Env) -> None:
    tx = Tx(new_sid(), T0)
    name = f"{tx.sid}.jsonl"
    env.write(name, body([tx.header(), tx.user(), tx.call(10, tools=["exec", "read"])]))
    env.run()
    assert env.q("SELECT status FROM tool_calls ORDER BY block_index") == [
        ("missing",),
        ("missing",),
    ]
    env.append(name, body([tx.result(0, 0)]))
    env.run()
    env.append(name, body([tx.result(0, 1, is_error=True)]))
    env.run()
    rows = env.q("SELECT status, duration_ms FROM tool_calls ORDER BY block_index")
    assert rows == [("ok", 250), ("error", 250)]
    assert env.summary()["tool_errors"] == 1


@pytest.mark.parametrize("order", ["fork-then-parent", "same-pass-fork-first"])
def test_fork_copy_without_the_result(env: Env, order: str) -> None:
    """The fork copied the parent's branch up to a tool call, not its result; the parent has
    both. The call belongs to the parent and is paired with the parent's result.

    Regression: the call stored as 'missing' from the fork was re-read with its result in one
    batch, and the pairing was dropped by the insert's ON CONFLICT DO NOTHING."""
    p = Tx(new_sid("fa"), T0)
    pname = f"{p.sid}.jsonl"
    user, call = p.user(), p.call(100, tools=["exec"])
    res = p.result(0)
    f = Tx(new_sid("9f"), T0 + 30 * MIN, parent=str(env.path(pname)), prefix="f00")
    f.t = p.t + 10 * MIN
    fname = f"2026-03-02T09-30-00-000Z_{f.sid}.jsonl"
    env.write(fname, body([f.header(), user, call, f.user(), f.call(7)]))
    if order == "fork-then-parent":
        env.run()
    env.write(pname, body([p.header(), user, call, res]))
    env.run()
    rows = env.q("SELECT session_id, status, result_entry_id FROM tool_calls")
    assert rows == [(p.sid, "ok", json.loads(res)["id"])]
    assert env.summary()["tool_errors"] == 0


def test_fork_copy_then_result_in_parent_later(env: Env) -> None:
    """Parent read up to a tool call; a fork copying that call is read; then the parent's
    result arrives."""
    p = Tx(new_sid("0a"), T0)
    pname = f"{p.sid}.jsonl"
    user, call = p.user(), p.call(100, tools=["exec"])
    env.write(pname, body([p.header(), user, call]))
    env.run()
    f = Tx(new_sid("9f"), T0 + 30 * MIN, parent=str(env.path(pname)), prefix="f00")
    f.t = p.t + 10 * MIN
    fname = f"2026-03-02T09-30-00-000Z_{f.sid}.jsonl"
    env.write(fname, body([f.header(), user, call, f.user(), f.call(7)]))
    env.run()
    env.append(pname, body([p.result(0)]))
    env.run()
    assert env.q("SELECT session_id, status FROM tool_calls") == [(p.sid, "ok")]


def test_zst_archive_adds_the_result_of_a_call_read_before(env: Env) -> None:
    """Read up to a tool call; the file then got its result and was archived as .zst before
    the next pass: the archive is read from 0 (call and result together)."""
    tx = Tx(new_sid(), T0)
    name = f"{tx.sid}.jsonl"
    part1 = body([tx.header(), tx.user(), tx.call(10, tools=["exec"])])
    env.write(name, part1)
    env.run()
    zname = f"{name}.deleted.2026-03-02T10-00-00.000Z.zst"
    env.write(zname, _zst(part1 + body([tx.result(0), tx.call(20)])))
    env.path(name).unlink()
    env.run()
    assert env.totals() == expect(tx.calls)
    assert env.q("SELECT status FROM tool_calls") == [("ok",)]


def _as_v1(lines: list[bytes]) -> list[bytes]:
    """The same transcript in format v1: no header version, no entry ids or parent ids."""
    out = []
    for ln in lines:
        obj = json.loads(ln)
        if obj["type"] == "session":
            del obj["version"]
        else:
            obj.pop("id", None)
            obj.pop("parentId", None)
        out.append(dumps(obj))
    return out


@pytest.mark.parametrize("how", ["in place", "atomic rename"])
def test_v1_file_migrated_to_v3_counts_each_call_once(env: Env, how: str) -> None:
    """OpenClaw migrates a v1 transcript by rewriting it whole with ids and parent ids added
    (openclaw-format.md §7.3): in place (same inode, new first line) or through a temp file
    and a rename (new inode). Calls read with content ids keep them; calls written after the
    migration count once more."""
    tx = Tx(new_sid(), T0)
    name = f"{tx.sid}.jsonl"
    v3 = [tx.header(), tx.user(), tx.call(101, tools=["exec"]), tx.result(0), tx.call(202)]
    env.write(name, body(_as_v1(v3)))
    s = env.run()
    assert (s.calls, s.errors) == (2, 0)
    assert env.totals() == expect(tx.calls)

    migrated = body([*v3, tx.user(), tx.call(404)])
    if how == "in place":
        with open(env.path(name), "r+b") as f:
            f.truncate(0)
            f.write(migrated)
    else:
        tmp = env.path(name + ".tmp-migrate")
        tmp.write_bytes(migrated)
        os.replace(tmp, env.path(name))
    s = env.run()
    assert (s.calls, s.errors) == (1, 0)
    assert env.totals() == expect(tx.calls)
    assert env.per_session() == {tx.sid: (3, 101 + 202 + 404, 3)}
    # the tool call read from the v1 file stays paired with its result
    assert env.q("SELECT status, COUNT(*) FROM tool_calls GROUP BY status") == [("ok", 1)]
