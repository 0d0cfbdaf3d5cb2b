"""The corpus writer of :mod:`ingestor.demo`: files on disk and the ground truth they carry.

Owns: :class:`Corpus`, the state shared by everything written into one corpus (options, the
:class:`~ingestor.demo_ctx.Ctx`, the :class:`~ingestor.demo.Expected` being accumulated, the
``sessions.json`` entries, live transcripts per session key, cron and sub-agent run records),
writing files (``write``/``emit``, with their byte and line counts), the accounting of each
message the first time a counted file carries it, reset archives (``retire``), new sessions
with their agent's models, multi-turn conversations (``turns``) and ``sessions_spawn``
children (``spawn``: kept, or deleted into a ``.deleted`` archive, some ``.zst``). Which
sessions a day holds is :mod:`ingestor.demo` and :mod:`ingestor.demo_sessions`; quirks are
:mod:`ingestor.demo_quirks`; index files and logs are :mod:`ingestor.demo_indexes`.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import zstandard

from ingestor.demo_bank import (
    FLAVORS,
    HOME,
    MODELS,
    PROFILES,
    SUB_TASKS,
    TASKS,
    TINY_PNG,
    Model,
    Task,
    Tool,
)
from ingestor.demo_content import Session
from ingestor.demo_ctx import BAD, OTHER, Ctx, Rec
from ingestor.demo_format import archive_ts, jstr, ri
from ingestor.demo_turns import Envelope, run_turn, sprinkle

if TYPE_CHECKING:
    from ingestor.demo import DemoOptions, Expected


class Corpus:
    """The corpus being written: its options, rng, ground truth so far and cross-file state."""

    def __init__(self, out: Path, o: DemoOptions, e: Expected) -> None:
        self.out, self.o = out, o
        self.c = Ctx(o.seed)
        self.e = e
        self.by_day: dict[int, int] = {}
        self.sids: set[str] = set()
        self.index: dict[str, dict[str, dict[str, Any]]] = {a: {} for a in o.agents}
        self.live: dict[tuple[str, str], Path] = {}
        self.key_end: dict[tuple[str, str], int] = {}
        self.cron_today: set[str] = set()
        self.runs: dict[str, dict[str, Any]] = {}
        self.cron_log: dict[str, list[bytes]] = {}
        self.deleted = 0
        self.spawns = 0
        self.day_max = 0
        self.day0 = (o.start - dt.date(1970, 1, 1)).days
        self.flavor = {
            a: {"main": "assistant", "ops": "ops", "research": "research"}.get(a, FLAVORS[i % 3])
            for i, a in enumerate(o.agents)
        }
        self.jobs: list[dict[str, Any]] = []
        for a in o.agents:
            for name, hh, mm, task_i in PROFILES[self.flavor[a]]["jobs"]:
                self.jobs.append(
                    {
                        "id": self.c.slice(self.c.hex, 6),
                        "agentId": a,
                        "name": name,
                        "hh": hh,
                        "mm": mm,
                        "task": task_i,
                    }
                )
        self.made_dirs: set[Path] = set()
        self.zstd = zstandard.ZstdCompressor(level=3)

    # ---------------------------------------------------------------- writing and accounting
    def write(self, path: Path, data: bytes, tlines: int = 0) -> Path:
        parent = path.parent
        if parent not in self.made_dirs:
            parent.mkdir(parents=True, exist_ok=True)
            self.made_dirs.add(parent)
        with open(path, "wb") as f:
            f.write(data)
        self.e.files_written += 1
        self.e.bytes_written += len(data)
        self.e.lines_written += tlines
        return path

    def sdir(self, agent: str) -> Path:
        return self.out / "agents" / agent / "sessions"

    def emit(
        self,
        s: Session,
        name: str | None = None,
        *,
        recs: list[Rec] | None = None,
        header: bool = True,
        counted: bool = True,
        zst: bool = False,
        sub: str = "",
    ) -> Path:
        recs = s.recs if recs is None else recs
        parts = ([s.header] if header else []) + [r.line for r in recs]
        data = b"".join(parts)
        if counted:
            self._account(s.sid, recs)
            self.day_max = max(self.day_max, s.t)
        if s.key:
            self.key_end[(s.agent, s.key)] = max(s.t, self.key_end.get((s.agent, s.key), 0))
        if zst:
            data = self.zstd.compress(data)
        d = self.sdir(s.agent) / sub if sub else self.sdir(s.agent)
        path = self.write(d / (name or f"{s.sid}.jsonl"), data, len(parts) if counted else 0)
        # like OpenClaw's files: last modified when the session last wrote (a rename keeps it)
        os.utime(path, ns=(s.t * 1_000_000, s.t * 1_000_000))
        return path

    def _account(self, sid: str, recs: list[Rec]) -> None:
        e, own = self.e, 0
        for r in recs:
            if r.kind == OTHER:
                continue
            if r.kind == BAD:
                e.bad_lines += 1
                continue
            if r.done:  # a copy of a message already counted (fork, duplicated line)
                continue
            r.done = True
            own += 1
            a = r.call
            if a is None:
                continue
            e.llm_calls += 1
            e.failed_calls += a.failed
            e.input_tokens += a.inp
            e.output_tokens += a.out
            e.cache_read_tokens += a.cr
            e.cache_write_tokens += a.cw
            if a.cost is not None and a.cost >= 0:
                e.logged_cost_usd += a.cost
            e.tool_calls += a.tools
            e.tool_errors += a.tool_err
            e.tool_missing += a.tool_miss
            k = (a.provider, a.model)
            e.calls_by_model[k] = e.calls_by_model.get(k, 0) + 1
            self.by_day[a.day] = self.by_day.get(a.day, 0) + 1
        if own:
            self.sids.add(sid)

    def retire(self, agent: str, key: str, at: int) -> None:
        """A new session for ``key``: the old transcript becomes a reset archive (or orphan)."""
        old = self.live.pop((agent, key), None)
        if old is not None and self.o.include_quirks:
            old.rename(old.with_name(f"{old.name}.reset.{archive_ts(at)}"))

    def free_at(self, agent: str, key: str, start: int, limit: int) -> int | None:
        """A start time at which ``key`` has no session running (None: not before ``limit``)."""
        end = self.key_end.get((agent, key), 0)
        if start >= end + 60_000:
            return start
        start = end + ri(self.c.rng, 60_000, 600_000)
        return start if start <= limit else None

    def index_session(self, s: Session, key: str, extra: dict[str, Any]) -> None:
        m, lc = s.last_model, s.last_call
        e: dict[str, Any] = {
            "sessionId": s.sid,
            "updatedAt": s.t + 40,
            "sessionStartedAt": s.start,
            "lastInteractionAt": s.last_user or s.start,
            **extra,
        }
        if m is not None:
            e |= {"modelProvider": m.provider, "model": m.model, "contextTokens": m.window}
        if lc is not None:
            e |= {
                "inputTokens": lc.inp,
                "outputTokens": lc.out,
                "totalTokens": lc.inp + lc.cr + lc.cw,
            }
        e |= {
            "thinkingLevel": s.thinking,
            "compactionCount": s.compactions,
            "systemSent": True,
            "abortedLastRun": False,
        }
        self.index[s.agent][key] = e

    # ---------------------------------------------------------------- sessions
    def new_session(
        self,
        agent: str,
        key: str | None,
        start: int,
        model: Model,
        parent_session: str | None = None,
        opening: bool = True,
    ) -> Session:
        cwd = f"{HOME}/workspace" if agent == "main" else f"{HOME}/workspace-{agent}"
        s = Session(self.c, agent, self.c.uuid(), key, start, cwd, parent_session)
        s.quirks = self.o.include_quirks
        s.last_model = model
        if opening:
            s.opening(model, self.c.rng.choice(("low", "low", "medium", "off", "high")))
        if self.c.rng.random() < 0.5:
            self.c.log(
                start + 5,
                2,
                "agent/embedded",
                f"embedded run start: runId={self.c.uuid()} sessionId={s.sid} "
                f"provider={model.provider} model={model.model} thinking={s.thinking}",
            )
        return s

    def pick(self, pairs: tuple[tuple[str, int], ...]) -> str:
        return self.c.rng.choices([p[0] for p in pairs], [p[1] for p in pairs])[0]

    def prof(self, agent: str) -> dict[str, Any]:
        return PROFILES[self.flavor[agent]]

    def turns(
        self,
        s: Session,
        n: int,
        envelope: Envelope,
        gap: tuple[int, int],
        tasks: list[Task] | None = None,
        first_image: str | None = None,
    ) -> None:
        """``n`` user turns on ``s``; ``envelope(s, text)`` frames the prompt for the channel."""
        rng, prof = self.c.rng, self.prof(s.agent)
        tasks = tasks or TASKS[self.flavor[s.agent]]
        model = s.last_model or MODELS[self.pick(prof["primary"])]
        for i in range(n):
            if i:
                s.tick(*gap)
            task = tasks[ri(rng, len(tasks))]
            img = (
                first_image
                if i == 0 and first_image
                else (TINY_PNG if rng.random() < 0.03 else None)
            )
            if i and rng.random() < 0.05:  # /model switch
                model = MODELS[self.pick(prof["primary"])]
                s.model_change(model)
            run_turn(
                s,
                task,
                envelope(s, task.prompt),
                model,
                fallback=MODELS[prof["fallback"]],
                spawn=self.spawn,
                image=img,
            )
            sprinkle(s, i, self.o.include_quirks)

    def spawn(self, parent: Session, tool: Tool, tid: str) -> tuple[str, str]:
        """A ``sessions_spawn`` call: run the child now; return the tool result text."""
        rng, prof = self.c.rng, self.prof(parent.agent)
        args = orjson.loads(tool.args)
        cleanup = args["cleanup"] if self.o.include_quirks else "keep"
        if cleanup == "keep" and self.o.include_quirks and self.spawns % 3 == 1:
            cleanup = "delete"
        self.spawns += 1
        ckey = f"agent:{parent.agent}:subagent:{self.c.uuid()}"
        run_id = self.c.uuid()
        start = parent.t + ri(rng, 150, 600)
        child = self.new_session(parent.agent, ckey, start, MODELS[prof["sub"]])
        prompt = (
            f"[Subagent Context] You are running as a subagent for {parent.key}. "
            f"Results auto-announce to your requester.\n\n[Subagent Task]: {args['task']}"
        )
        run_turn(child, SUB_TASKS[0], prompt, MODELS[prof["sub"]], spawn=None)
        rec: dict[str, Any] = {
            "runId": run_id,
            "childSessionKey": ckey,
            "requesterSessionKey": parent.key,
            "requesterDisplayKey": "main"
            if parent.key and parent.key.endswith(":main")
            else parent.key,
            "task": args["task"],
            "cleanup": cleanup,
            "label": args["label"],
            "createdAt": start - 80,
            "startedAt": start,
            "endedAt": child.t + 20,
            "outcome": {"status": "ok"},
            "cleanupHandled": True,
        }
        if cleanup == "delete":
            at = child.t + ri(rng, 2_000, 30_000)
            rec["cleanupCompletedAt"] = at
            name = f"{child.sid}.jsonl.deleted.{archive_ts(at)}"
            zst = self.deleted % 2 == 1
            self.deleted += 1
            self.emit(child, name + (".zst" if zst else ""), zst=zst)
        else:
            rec["archiveAtMs"] = child.t + 3_600_000
            self.emit(child)
            self.index_session(
                child,
                ckey,
                {
                    "spawnedBy": parent.key,
                    "label": args["label"],
                    "spawnDepth": 1,
                    "status": "done",
                },
            )
        self.runs[run_id] = rec
        result = {"status": "accepted", "childSessionKey": ckey, "runId": run_id}
        text = jstr(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())[1:-1]
        return text, orjson.dumps(result).decode()
