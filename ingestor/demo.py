"""Deterministic generator of realistic OpenClaw state dirs, and their ground truth.

Owns: the corpus layout (``agents/<id>/sessions/`` transcripts, archives and sidecars,
``sessions.json`` per agent, ``cron/jobs.json`` and ``cron/runs/``, ``subagents/runs.json``,
``logs/openclaw-YYYY-MM-DD.log``), the schedule of sessions over days, the quirks an ingestor
must survive, and :class:`Expected`: the numbers ``accounting.md`` yields for what was written,
computed from the generator's own knowledge while writing (never by reading files back). Line
shapes live in :mod:`ingestor.demo_content`.

Used by ``agentbox-telemetry demo --out DIR``, by the tests (ground truth) and by benchmarks
(``target_bytes`` for 1 GB+ corpora, ``big_line_bytes`` for a 50 MB line).

Quirks (``include_quirks``): daily ``.jsonl.reset.<ts>`` archives, sub-agent
``.jsonl.deleted.<ts>`` and ``.deleted.<ts>.zst`` archives (their sessions.json entries pruned,
only ``subagents/runs.json`` knows them), a ``.jsonl.bak.<ts>`` beside a header-less live file
(``sessions.compact`` truncation), ``.checkpoint.<uuid>.jsonl`` / ``.trajectory.jsonl`` /
``.acp-stream.jsonl`` sidecars, a fork ``<ts>_<uuid>.jsonl`` starting with a copy of its
parent, ``-topic-`` files, an ``active-memory/`` transcript, header-only and 0-byte files,
bad lines (truncated JSON, ``null``, ``[1,2]``, ``message:null``, a blank line: ``bad_lines``),
a line with invalid UTF-8 inside a string (still counts), a duplicated line, usage fields
that are strings or negative, synthetic rows (delivery-mirror, gateway-injected, legacy
injected), and old cron-run transcripts only identifiable by their ``[cron:<id> <name>]`` prefix.
These recur every 14 days. Error/aborted/timeout calls, fallbacks, missing tool results and
calls minutes around UTC midnight are always present.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zstandard

from ingestor.demo_content import (
    BAD,
    DAY_MS,
    HEARTBEAT_PROMPT,
    MODELS,
    OTHER,
    SUB_TASKS,
    TASKS,
    TINY_PNG,
    Ctx,
    Model,
    Rec,
    Session,
    Task,
    Tool,
    _t,
    archive_ts,
    day_str,
    elapsed,
    fork_ts,
    iso,
    jstr,
    local_date,
    local_stamp,
    ri,
    run_turn,
)


@dataclass(frozen=True)
class DemoOptions:
    seed: int = 7
    start: dt.date = dt.date(2026, 10, 1)
    days: int = 42
    agents: tuple[str, ...] = ("main", "ops", "research")
    sessions_per_day: float = 6.0  # average per agent
    target_bytes: int | None = None  # keep adding days until this many bytes are written
    big_line_bytes: int = 0  # > 0: one user line with an inline base64 image about this big
    include_quirks: bool = True


@dataclass
class Expected:
    """Ground truth per accounting.md for everything :func:`generate` wrote.

    ``bad_lines`` counts lines the ingestor must record as errors (invalid JSON, non-object
    JSON, ``message:null``, blank lines). ``files_written``/``bytes_written`` cover every file
    under ``out`` (``.zst`` at its compressed size); ``lines_written`` counts the lines of the
    files that accounting §1 says to read as transcripts (headers, bad and duplicated lines
    included, ``.zst`` decompressed), i.e. the lines an ingestor sees.
    """

    sessions: int = 0
    llm_calls: int = 0
    failed_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    logged_cost_usd: float = 0.0
    tool_calls: int = 0
    tool_errors: int = 0
    tool_missing: int = 0
    calls_by_model: dict[tuple[str, str], int] = field(default_factory=dict)
    calls_by_day_utc: dict[str, int] = field(default_factory=dict)
    bad_lines: int = 0
    files_written: int = 0
    bytes_written: int = 0
    lines_written: int = 0


def expected_to_json(e: Expected) -> dict[str, Any]:
    """A JSON-ready dict (model keys become a sorted list of objects)."""
    d = {k: getattr(e, k) for k in e.__dataclass_fields__}
    d["calls_by_model"] = [
        {"provider": p, "model": m, "calls": n} for (p, m), n in sorted(e.calls_by_model.items())
    ]
    d["calls_by_day_utc"] = dict(sorted(e.calls_by_day_utc.items()))
    return d


def generate(out: Path, options: DemoOptions = DemoOptions()) -> Expected:
    """Write an OpenClaw state dir under ``out`` and return its ground truth."""
    return _Corpus(Path(out), options).run()


# --------------------------------------------------------------------------- agent profiles

_FLAVORS = ("assistant", "ops", "research")
_PROFILE: dict[str, dict[str, Any]] = {
    "assistant": {
        "primary": (("claude-sonnet-4-5", 75), ("gpt-5.2", 15), ("claude-opus-4-5", 10)),
        "fallback": "gpt-5.2",
        "heartbeat": "gemini-2.5-flash",
        "sub": "claude-haiku-4-5",
        "owner": ("Ana K", "ana_k", 5512),
        "group": ("Family", -1002233445566),
        "kinds": (("dm", 35), ("group", 15), ("topic", 5), ("cron", 20), ("hook", 25)),
        "jobs": (("morning-brief", 5, 30, 1), ("inbox-sweep", 16, 0, 0)),
    },
    "ops": {
        "primary": (("or-claude-sonnet-4-5", 55), ("gpt-5.2-codex", 25), ("qwen3:32b", 20)),
        "fallback": "or-deepseek-chat-v3.1",
        "heartbeat": "qwen3:32b",
        "sub": "or-deepseek-chat-v3.1",
        "owner": ("Sam R", "samr", 6620),
        "group": ("Ops Crew", -1001122334455),
        "kinds": (("discord", 30), ("cron", 35), ("hook", 25), ("dm", 10)),
        "jobs": (("disk-check", 6, 15, 0), ("cert-watch", 12, 40, 3)),
    },
    "research": {
        "primary": (("gpt-5.2", 50), ("gemini-2.5-pro", 30), ("claude-opus-4-5", 20)),
        "fallback": "gemini-2.5-pro",
        "heartbeat": "gemini-2.5-flash",
        "sub": "gpt-5-mini",
        "owner": ("Mia L", "mia_l", 7301),
        "group": ("Reading Club", -1003344556677),
        "kinds": (("dm", 30), ("cron", 25), ("topic", 15), ("group", 10), ("hook", 20)),
        "jobs": (("nightly-arxiv", 0, 7, 0), ("weekly-digest", 9, 0, 1)),
    },
}
_PEERS = (("Leo B", "leo_b", 7713), ("Noor A", "noora", 8120), ("Jon T", "jont", 9034))
_QUIRK_PEER = ("Eva S", "eva_s", 9901)
_HEARTBEAT = Task(HEARTBEAT_PROMPT, "", (), "HEARTBEAT_OK")
_SPAWN_DEL = _t(
    "sessions_spawn",
    {
        "task": "Collect the numbers from the three dashboards and summarize anomalies",
        "label": "dash-sweep",
        "cleanup": "delete",
    },
    "@spawn",
)
_LOG_LEVELS = ("SILLY", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
_HOME = "/home/ana/.openclaw"
#: Quirk offsets inside each 14-day cycle.
_Q_SPAWN, _Q_FORK, _Q_BAK, _Q_MESSY, _Q_CHECKPOINT, _Q_SIDECARS, _Q_MEMORY = range(7)


class _Corpus:
    def __init__(self, out: Path, o: DemoOptions) -> None:
        self.out, self.o = out, o
        self.c = Ctx(o.seed)
        self.e = Expected()
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
            a: {"main": "assistant", "ops": "ops", "research": "research"}.get(a, _FLAVORS[i % 3])
            for i, a in enumerate(o.agents)
        }
        self.jobs: list[dict[str, Any]] = []
        for a in o.agents:
            for name, hh, mm, task_i in _PROFILE[self.flavor[a]]["jobs"]:
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
    def _write(self, path: Path, data: bytes, tlines: int = 0) -> Path:
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

    def _sdir(self, agent: str) -> Path:
        return self.out / "agents" / agent / "sessions"

    def _emit(
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
        d = self._sdir(s.agent) / sub if sub else self._sdir(s.agent)
        return self._write(d / (name or f"{s.sid}.jsonl"), data, len(parts) if counted else 0)

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

    def _retire(self, agent: str, key: str, at: int) -> None:
        """A new session for ``key``: the old transcript becomes a reset archive (or orphan)."""
        old = self.live.pop((agent, key), None)
        if old is not None and self.o.include_quirks:
            old.rename(old.with_name(f"{old.name}.reset.{archive_ts(at)}"))

    def _free(self, agent: str, key: str, start: int, limit: int) -> int | None:
        """A start time at which ``key`` has no session running (None: not before ``limit``)."""
        end = self.key_end.get((agent, key), 0)
        if start >= end + 60_000:
            return start
        start = end + ri(self.c.rng, 60_000, 600_000)
        return start if start <= limit else None

    def _index(self, s: Session, key: str, extra: dict[str, Any]) -> None:
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
    def _new(
        self,
        agent: str,
        key: str | None,
        start: int,
        model: Model,
        parent_session: str | None = None,
        opening: bool = True,
    ) -> Session:
        cwd = f"{_HOME}/workspace" if agent == "main" else f"{_HOME}/workspace-{agent}"
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

    def _pick(self, pairs: tuple[tuple[str, int], ...]) -> str:
        return self.c.rng.choices([p[0] for p in pairs], [p[1] for p in pairs])[0]

    def _prof(self, agent: str) -> dict[str, Any]:
        return _PROFILE[self.flavor[agent]]

    def _turns(
        self,
        s: Session,
        n: int,
        envelope: Any,
        gap: tuple[int, int],
        tasks: list[Task] | None = None,
        first_image: str | None = None,
    ) -> None:
        """``n`` user turns on ``s``; ``envelope(s, text)`` frames the prompt for the channel."""
        rng, prof = self.c.rng, self._prof(s.agent)
        tasks = tasks or TASKS[self.flavor[s.agent]]
        model = s.last_model or MODELS[self._pick(prof["primary"])]
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
                model = MODELS[self._pick(prof["primary"])]
                s.model_change(model)
            run_turn(
                s,
                task,
                envelope(s, task.prompt),
                model,
                fallback=MODELS[prof["fallback"]],
                spawn=self._spawn,
                image=img,
            )
            self._sprinkle(s, i)

    def _sprinkle(self, s: Session, i: int) -> None:
        rng = self.c.rng
        r = rng.random()
        if i == 0 and r < 0.3:
            s.tick(100, 900)
            s.entry("session_info", f'"name":{jstr(rng.choice(_NAMES))}')
        elif r < 0.05 and s.recs:
            s.tick(1000, 60_000)
            target = s.recs[-1].eid or s.leaf
            s.entry("label", f'"targetId":"{target}","label":"{rng.choice(_NAMES).lower()}"')
        elif r < 0.07:
            s.tick(1000, 60_000)
            s.entry(
                "message",
                f'"message":{{"role":"bashExecution","command":"df -h /",'
                f'"output":"Filesystem  Size  Used Avail Use% Mounted on\\n/dev/sda1    98G'
                f'   61G   33G  65% /","exitCode":0,"cancelled":false,"truncated":false,'
                f'"timestamp":{s.t - 2}}}',
                kind=1,
            )
        elif r < 0.09:
            s.tick(1000, 60_000)
            eid = self.c.eid()
            s.recs.append(
                Rec(
                    f'{{"type":"custom_message","customType":"ext.standup-notes","content":'
                    f'"Standup notes were saved to notes/today.md","display":true,"details":'
                    f'{{"file":"notes/today.md"}},"id":"{eid}","parentId":{s._pid()},'
                    f'"timestamp":"{iso(s.t)}"}}\n'.encode(),
                    eid=eid,
                )
            )
            s.leaf = eid
        elif r < 0.11:
            s.tick(1000, 60_000)
            s.thinking = rng.choice(("medium", "high", "minimal"))
            s.entry("thinking_level_change", f'"thinkingLevel":"{s.thinking}"')
        elif r < 0.125 and len(s.turn_ends) >= 2:  # rewind: a new branch from an earlier answer
            s.tick(5_000, 60_000)
            s.leaf = s.turn_ends[-2]
            s.entry(
                "branch_summary",
                f'"fromId":"{s.leaf}","summary":"Abandoned branch: the last request was '
                f'withdrawn by the user.","details":{{"readFiles":[],"modifiedFiles":[]}},'
                f'"fromHook":false',
            )
        elif r < 0.155 and self.o.include_quirks:
            s.tick(60_000, 600_000)
            s.synthetic(
                "gateway-injected",
                "[Gateway]\n\nGateway restarted (update to 2026.10.2); session resumed.",
            )

    def _spawn(self, parent: Session, tool: Tool, tid: str) -> str:
        """A ``sessions_spawn`` call: run the child now; return the tool result text."""
        rng, prof = self.c.rng, self._prof(parent.agent)
        args = json.loads(tool.args)
        cleanup = args["cleanup"] if self.o.include_quirks else "keep"
        if cleanup == "keep" and self.o.include_quirks and self.spawns % 3 == 1:
            cleanup = "delete"
        self.spawns += 1
        ckey = f"agent:{parent.agent}:subagent:{self.c.uuid()}"
        run_id = self.c.uuid()
        start = parent.t + ri(rng, 150, 600)
        child = self._new(parent.agent, ckey, start, MODELS[prof["sub"]])
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
            self._emit(child, name + (".zst" if zst else ""), zst=zst)
        else:
            rec["archiveAtMs"] = child.t + 3_600_000
            self._emit(child)
            self._index(
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
        body = json.dumps(
            {"status": "accepted", "childSessionKey": ckey, "runId": run_id}, indent=2
        )
        return jstr(body)[1:-1]

    # ---------------------------------------------------------------- envelopes
    @staticmethod
    def _tg(name: str, user: str, uid: int) -> Any:
        def env(s: Session, text: str) -> str:
            tail = f"\n[message_id: {ri(s.c.rng, 1000, 99999)}]"
            return (
                f"[Telegram {name} (@{user}) id:{uid}{elapsed(s.last_user, s.t)} "
                f"{local_stamp(s.t)}] {text}{tail}"
            )

        return env

    @staticmethod
    def _group(title: str, gid: int, speaker: tuple[str, str, int]) -> Any:
        def env(s: Session, text: str) -> str:
            return (
                f"[Telegram {title} id:{gid}{elapsed(s.last_user, s.t)} {local_stamp(s.t)}]"
                f" {speaker[0]} (@{speaker[1]}): {text}\n[message_id: "
                f"{ri(s.c.rng, 1000, 99999)}]"
            )

        return env

    @staticmethod
    def _plain(prefix: str) -> Any:
        return lambda s, text: f"{prefix}{text}"

    # ---------------------------------------------------------------- one day
    def run(self) -> Expected:
        o, d = self.o, 0
        while True:
            self.day_max = 0
            final = d >= o.days - 1 and (
                o.target_bytes is None
                or self.e.bytes_written + (self.e.bytes_written // d if d else 0) >= o.target_bytes
            )
            self._day(d, final)
            spill = self.day_max >= (self.day0 + d + 1) * DAY_MS
            d += 1
            if (
                d >= o.days
                and not spill
                and (o.target_bytes is None or self.e.bytes_written >= o.target_bytes)
            ):
                break
        self._finish(d)
        e = self.e
        e.sessions = len(self.sids)
        e.calls_by_day_utc = {day_str(k): v for k, v in sorted(self.by_day.items())}
        return e

    def _day(self, d: int, final: bool) -> None:
        o, rng = self.o, self.c.rng
        base = (self.day0 + d) * DAY_MS
        last_start = base + (19 if final else 22) * 3_600_000
        period = min(14, max(1, o.days))
        quirks = [k for k in range(7) if k % period == d % period] if o.include_quirks else []
        self.cron_today.clear()
        for ai, agent in enumerate(o.agents):
            prof = self._prof(agent)
            n = int(o.sessions_per_day * rng.uniform(0.5, 1.5) + rng.random())
            if n <= 0:
                continue
            self._main(agent, base, final, big=o.big_line_bytes if d == 0 and ai == 0 else 0)
            slots = sorted(
                (base + ri(rng, 6 * 3_600_000, last_start - base), self._pick(prof["kinds"]))
                for _ in range(n - 1)
            )
            for start, kind in slots:
                if kind == "topic" and not o.include_quirks:
                    kind = "dm"
                self._session(agent, kind, start, base, last_start)
            if ai == 0 and d % 5 == 2 and not final:  # crosses UTC midnight
                peer = _PEERS[0]
                self._dm(
                    agent,
                    base + DAY_MS - ri(rng, 4, 10) * 60_000,
                    peer,
                    turns=3,
                    gap=(120_000, 300_000),
                )
        for k in quirks:
            self._quirk(o.agents[k % len(o.agents)], k, base, last_start)

    def _main(self, agent: str, base: int, final: bool, big: int) -> None:
        rng, prof = self.c.rng, self._prof(agent)
        key = f"agent:{agent}:main"
        start = base + 7 * 3_600_000 + ri(rng, 0, 3_600_000)
        self._retire(agent, key, start - 40)
        s = self._new(agent, key, start, MODELS[self._pick(prof["primary"])])
        owner = prof["owner"]
        tg = self._tg(*owner)
        limit = base + (20 if final else 21) * 3_600_000
        i = 0
        while i < 12 and s.t < limit:
            if i:
                s.tick(1_800_000, 9_000_000)
            if rng.random() < 0.15:
                hb = MODELS[prof["heartbeat"]]
                run_turn(s, _HEARTBEAT, HEARTBEAT_PROMPT, hb, as_string=True)
            else:
                image = None
                if big and i == 0:
                    n = max(4, (big - 600) // 4 * 3)
                    image = base64.b64encode(rng.randbytes(n)).decode()
                env = (
                    tg
                    if rng.random() < 0.8
                    else (
                        lambda s_, t_: (
                            f"[WebChat control-ui{elapsed(s_.last_user, s_.t)} "
                            f"{local_stamp(s_.t)}] {t_}"
                        )
                    )
                )
                self._turns(s, 1, env, (0, 1), first_image=image)
            i += 1
            if s.last_model and s.ctx_tok > s.last_model.window * 0.6:
                s.tick(1000, 5000)
                s.compaction(s.recs[-4].eid or str(s.leaf))
        self._emit(s)
        self.live[(agent, key)] = self._sdir(agent) / f"{s.sid}.jsonl"
        self._index(
            s,
            key,
            {
                "chatType": "direct",
                "lastChannel": "telegram",
                "lastTo": f"telegram:{owner[2]}",
                "lastAccountId": "default",
                "deliveryContext": {
                    "channel": "telegram",
                    "to": f"telegram:{owner[2]}",
                    "accountId": "default",
                },
            },
        )

    def _dm(
        self,
        agent: str,
        start: int,
        peer: tuple[str, str, int],
        turns: int,
        gap: tuple[int, int] = (60_000, 600_000),
    ) -> Session:
        key = f"agent:{agent}:telegram:dm:{peer[2]}"
        self._retire(agent, key, start - 30)
        s = self._new(agent, key, start, MODELS[self._pick(self._prof(agent)["primary"])])
        self._turns(s, turns, self._tg(*peer), gap)
        self._emit(s)
        self.live[(agent, key)] = self._sdir(agent) / f"{s.sid}.jsonl"
        self._index(
            s,
            key,
            {
                "chatType": "direct",
                "lastChannel": "telegram",
                "lastTo": f"telegram:{peer[2]}",
                "origin": {
                    "label": peer[0],
                    "provider": "telegram",
                    "surface": "telegram",
                    "chatType": "direct",
                    "from": f"telegram:{peer[2]}",
                },
            },
        )
        return s

    def _session(self, agent: str, kind: str, start: int, base: int, limit: int) -> None:
        rng, prof = self.c.rng, self._prof(agent)
        turns = ri(rng, 1, 6)
        if kind == "cron":
            todo = [
                j for j in self.jobs if j["agentId"] == agent and j["id"] not in self.cron_today
            ]
            if todo:
                self._cron(agent, todo[ri(rng, len(todo))], base)
                return
            kind = "dm"
        if kind == "dm":
            peer = _PEERS[ri(rng, 3)]
            t = self._free(agent, f"agent:{agent}:telegram:dm:{peer[2]}", start, limit)
            if t is not None:
                self._dm(agent, t, peer, turns)
                return
            kind = "hook"
        if kind in ("group", "topic", "discord"):
            title, gid = prof["group"]
            if kind == "discord":
                key = f"agent:{agent}:discord:channel:1122334455667788"
                env = self._plain(f"[Discord #alerts {local_stamp(start)}] sam: ")
            else:
                key = f"agent:{agent}:telegram:group:{gid}"
                env = self._group(title, gid, _PEERS[ri(rng, 3)])
            topic = ri(rng, 2, 40) if kind == "topic" else 0
            if topic:
                key += f":topic:{topic}"
            t = self._free(agent, key, start, limit)
            if t is None:
                return
            start = t
            self._retire(agent, key, start - 30)
            s = self._new(agent, key, start, MODELS[self._pick(prof["primary"])])
            self._turns(s, turns, env, (30_000, 400_000))
            name = f"{s.sid}-topic-{topic}.jsonl" if topic else None
            path = self._emit(s, name)
            self.live[(agent, key)] = path
            self._index(
                s,
                key,
                {
                    "chatType": "channel" if kind == "discord" else "group",
                    "lastChannel": kind if kind == "discord" else "telegram",
                    "subject": title,
                    "groupId": str(gid),
                },
            )
        else:  # hook
            hid = self.c.uuid()
            gmail = self.flavor[agent] == "assistant" and rng.random() < 0.5
            key = (
                f"agent:{agent}:hook:gmail:{self.c.slice(self.c.hex, 16)}"
                if gmail
                else f"agent:{agent}:hook:{hid}"
            )
            prefix = (
                "[Gmail] New message from billing@example.com: "
                if gmail
                else "[Webhook github] issue opened in acme/api: "
            )
            s = self._new(agent, key, start, MODELS[self._pick(prof["primary"])])
            self._turns(s, 1, self._plain(prefix), (0, 1))
            self._emit(s)
            if rng.random() < 0.8:  # the rest were pruned from sessions.json
                self._index(s, key, {"lastChannel": "webhook"})

    def _cron(self, agent: str, job: dict[str, Any], base: int) -> None:
        rng, prof = self.c.rng, self._prof(agent)
        self.cron_today.add(job["id"])
        start = base + job["hh"] * 3_600_000 + job["mm"] * 60_000 + ri(rng, 0, 20_000)
        key = f"agent:{agent}:cron:{job['id']}"
        model = MODELS[prof["heartbeat"] if job["task"] == 0 else self._pick(prof["primary"])]
        s = self._new(agent, key, start, model)
        tasks = TASKS[self.flavor[agent]]
        task = tasks[job["task"] % len(tasks)]
        run_turn(
            s,
            task,
            f"[cron:{job['id']} {job['name']}] {task.prompt}",
            model,
            fallback=MODELS[prof["fallback"]],
            spawn=self._spawn,
        )
        self._emit(s)  # older runs stay behind as orphans: only the prefix names them
        self._index(s, key, {"lastChannel": "telegram", "bootstrapContextRunKind": "cron"})
        lc = s.last_call
        usage = (
            {
                "input_tokens": lc.inp,
                "output_tokens": lc.out,
                "total_tokens": lc.inp + lc.out + lc.cr + lc.cw,
            }
            if lc
            else {}
        )
        line = {
            "ts": s.t + 50,
            "jobId": job["id"],
            "action": "finished",
            "status": "ok",
            "summary": f"{job['name']} done.",
            "runAtMs": start,
            "durationMs": s.t - start,
            "sessionId": s.sid,
            "sessionKey": key,
            "model": model.model,
            "provider": model.provider,
            "usage": usage,
        }
        self.cron_log.setdefault(job["id"], []).append(
            json.dumps(line, separators=(",", ":")).encode() + b"\n"
        )
        job["last"] = (start, s.t - start)
        self.c.log(
            s.t + 60,
            3,
            "cron",
            f"cron: job finished id={job['id']} status=ok durationMs={s.t - start}",
        )

    # ---------------------------------------------------------------- quirks
    def _quirk(self, agent: str, q: int, base: int, limit: int) -> None:
        rng, prof = self.c.rng, self._prof(agent)
        start = base + ri(rng, 8, 16) * 3_600_000 + ri(rng, 0, 3_600_000)
        model = MODELS[self._pick(prof["primary"])]
        peer = _QUIRK_PEER
        if q in (_Q_SPAWN, _Q_BAK, _Q_MESSY, _Q_CHECKPOINT, _Q_FORK):
            key = (
                f"agent:{agent}:discord:channel:1122334455667788"
                if q == _Q_FORK
                else f"agent:{agent}:telegram:dm:{peer[2]}"
            )
            t = self._free(agent, key, start, limit)
            if t is None:  # busy all day (tiny corpora): use a fresh peer
                peer = (peer[0], peer[1], peer[2] + 1 + q)
                key = key.rsplit(":", 1)[0] + f":{peer[2]}"
            start = t or start
        if q == _Q_SPAWN:
            task = Task(
                "check the three dashboards via helpers",
                "Delegate.",
                ((_SPAWN_DEL, _SPAWN_DEL),),
                "Two helpers are on it.",
            )
            self._retire(agent, f"agent:{agent}:telegram:dm:{peer[2]}", start - 30)
            s = self._new(agent, f"agent:{agent}:telegram:dm:{peer[2]}", start, model)
            run_turn(s, task, task.prompt, model, spawn=self._spawn, p_fail=0)
            self._emit(s)
        elif q == _Q_FORK:
            self._retire(agent, key, start - 30)
            s = self._new(agent, key, start, model)
            env = self._plain("[Discord #general] sam: ")
            self._turns(s, 2, env, (60_000, 200_000))
            cut, leaf, t, ctx = len(s.recs), s.leaf, s.t, s.ctx_tok
            s.tick(240_000, 400_000)
            self._turns(s, 1, env, (0, 1))
            path = self._emit(s)
            self.live[(agent, key)] = path
            self._index(s, key, {"chatType": "channel", "lastChannel": "discord"})
            fk = f"{key}:thread:{ri(rng, 10**17, 10**18)}"
            ft = t + ri(rng, 1000, 5000)
            f = self._new(
                agent,
                fk,
                ft,
                model,
                opening=False,
                parent_session=f"{_HOME}/agents/{agent}/sessions/{s.sid}.jsonl",
            )
            f.recs, f.leaf, f.ctx_tok, f.thinking = s.recs[:cut], leaf, ctx, s.thinking
            self._turns(f, 2, env, (30_000, 90_000))
            self._emit(f, f"{fork_ts(ft)}_{f.sid}.jsonl")
            self._index(
                f,
                fk,
                {
                    "chatType": "channel",
                    "lastChannel": "discord",
                    "parentSessionKey": key,
                    "forkedFromParent": True,
                },
            )
        elif q in (_Q_BAK, _Q_MESSY, _Q_CHECKPOINT):
            key = f"agent:{agent}:telegram:dm:{peer[2]}"
            self._retire(agent, key, start - 30)
            s = self._new(agent, key, start, model)
            env = self._tg(*peer)
            tasks = TASKS[self.flavor[agent]]
            marks = []
            for i in range(4):
                if i:
                    s.tick(60_000, 300_000)
                marks.append(len(s.recs))
                task = tasks[i % len(tasks)]
                bad: tuple[str, ...] = ()
                if q == _Q_MESSY and i == 0:
                    bad = ("string-input", "negative-cw")
                elif q == _Q_MESSY and i == 1:
                    bad = ("string-cost",)
                calls = run_turn(
                    s, task, env(s, task.prompt), model, bad=bad, p_fail=0, spawn=self._spawn
                )
                if q == _Q_MESSY and i == 1:  # the same line appended twice
                    s.recs.append(calls[-1])
                elif q == _Q_MESSY and i == 2:  # Latin-1 bytes inside a JSON string
                    calls[-1].line = calls[-1].line.replace(
                        b'"text":"', b'"text":"Caf\xe9 M\xfcller \xff: ', 1
                    )
                    s.tick(500, 5000)
                    s.legacy_injected("[webchat]\n\nNote pinned from the Control UI.")
                    self._bad_lines(s)
                elif q == _Q_CHECKPOINT and i == 2:
                    before = list(s.recs)
                    s.tick(1000, 5000)
                    s.compaction(s.recs[marks[1]].eid)
                    self._emit(
                        s, f"{s.sid}.checkpoint.{self.c.uuid()}.jsonl", recs=before, counted=False
                    )
            if q == _Q_BAK:  # sessions.compact with maxLines: .bak + header-less tail
                at = s.t + ri(rng, 60_000, 600_000)
                self._emit(s, f"{s.sid}.jsonl.bak.{archive_ts(at)}", counted=False)
                self._emit(s, recs=s.recs[marks[2] :], header=False)
            else:
                self._emit(s)
                self.live[(agent, key)] = self._sdir(agent) / f"{s.sid}.jsonl"
            self._index(
                s,
                key,
                {"chatType": "direct", "lastChannel": "telegram", "lastTo": f"telegram:{peer[2]}"},
            )
        elif q == _Q_SIDECARS:
            s = self._new(agent, f"agent:{agent}:hook:{self.c.uuid()}", start, model)
            self._turns(s, 2, self._plain("[Webhook github] "), (30_000, 90_000))
            self._emit(s)
            self._sidecars(s)
        elif q == _Q_MEMORY:
            s = self._new(agent, None, start, MODELS["gemini-2.5-flash"])
            mem = Task(
                "",
                "Search memory.",
                ((_t("memory_search", {"query": "recent plans"}, '{"results":[]}'),),),
                "NONE",
            )
            run_turn(
                s,
                mem,
                "Recall memories relevant to the latest user message: "
                "'what did we decide about the trip?'",
                MODELS["gemini-2.5-flash"],
            )
            self._emit(s, sub="active-memory")

    def _bad_lines(self, s: Session) -> None:
        t = iso(s.t + 5)
        eid1, eid2 = self.c.eid(), self.c.eid()
        for line in (
            f'{{"type":"message","id":"{eid1}","parentId":"{s.leaf}","timestamp":"{t}",'
            f'"message":{{"role":"assistant","content":[{{"type":"te\n',
            "null\n",
            "[1,2]\n",
            f'{{"type":"message","id":"{eid2}","parentId":"{s.leaf}","timestamp":"{t}",'
            f'"message":null}}\n',
            "\n",
        ):
            s.recs.append(Rec(line.encode(), BAD))
        s.tick(10, 50)

    def _sidecars(self, s: Session) -> None:
        sdir, c = self._sdir(s.agent), self.c
        trace, run = c.uuid(), c.uuid()
        m = s.last_model or MODELS["claude-sonnet-4-5"]
        lines = []
        for seq, typ in enumerate(
            (
                "session.started",
                "trace.metadata",
                "context.compiled",
                "prompt.submitted",
                "model.completed",
                "session.ended",
            ),
            1,
        ):
            lines.append(
                json.dumps(
                    {
                        "traceSchema": "openclaw-trajectory",
                        "schemaVersion": 1,
                        "traceId": trace,
                        "source": "runtime",
                        "type": typ,
                        "ts": iso(s.start + seq * 700),
                        "seq": seq,
                        "sourceSeq": seq,
                        "sessionId": s.sid,
                        "sessionKey": s.key,
                        "runId": run,
                        "workspaceDir": f"{_HOME}/workspace",
                        "provider": m.provider,
                        "modelId": m.model,
                        "modelApi": m.api,
                        "data": {"step": seq},
                    },
                    separators=(",", ":"),
                )
            )
        self._write(sdir / f"{s.sid}.trajectory.jsonl", ("\n".join(lines) + "\n").encode())
        self._write(
            sdir / f"{s.sid}.trajectory-path.json",
            json.dumps(
                {
                    "version": 1,
                    "path": f"{_HOME}/agents/{s.agent}/sessions/{s.sid}.trajectory.jsonl",
                }
            ).encode(),
        )
        acp = [
            json.dumps(
                {"ts": s.start + i * 900, "sessionId": s.sid, "kind": k, "payload": {"seq": i}},
                separators=(",", ":"),
            )
            for i, k in enumerate(
                ("session/new", "session/prompt", "session/update", "session/update", "session/end")
            )
        ]
        self._write(sdir / f"{s.sid}.acp-stream.jsonl", ("\n".join(acp) + "\n").encode())
        # a gateway-created header-only transcript, and one not yet flushed at all
        hdr = Session(c, s.agent, c.uuid(), None, s.t + 1000, "/usr/lib/node_modules/openclaw")
        self._emit(hdr)
        self._write(sdir / f"{c.uuid()}.jsonl", b"")

    # ---------------------------------------------------------------- indexes and logs
    def _finish(self, days: int) -> None:
        o, out = self.o, self.out
        for agent in o.agents:
            self._write(
                self._sdir(agent) / "sessions.json",
                json.dumps(self.index[agent], indent=2, ensure_ascii=False).encode(),
            )
        created = self.day0 * DAY_MS + 60_000
        jobs = []
        for j in self.jobs:
            last = j.get("last")
            state = (
                {"lastRunAtMs": last[0], "lastStatus": "ok", "lastDurationMs": last[1]}
                if last
                else {}
            )
            jobs.append(
                {
                    "id": j["id"],
                    "agentId": j["agentId"],
                    "name": j["name"],
                    "enabled": True,
                    "createdAtMs": created,
                    "updatedAtMs": created,
                    "schedule": {"kind": "cron", "expr": f"{j['mm']} {j['hh']} * * *", "tz": "UTC"},
                    "sessionTarget": "isolated",
                    "wakeMode": "now",
                    "payload": {"kind": "agentTurn", "message": f"Run the {j['name']} routine."},
                    "state": state,
                }
            )
        self._write(
            out / "cron" / "jobs.json", json.dumps({"version": 1, "jobs": jobs}, indent=2).encode()
        )
        for jid, lines in self.cron_log.items():
            self._write(out / "cron" / "runs" / f"{jid}.jsonl", b"".join(lines))
        self._write(
            out / "subagents" / "runs.json",
            json.dumps({"version": 2, "runs": self.runs}, indent=2).encode(),
        )
        rng = self.c.rng
        for d in range(days):
            base = (self.day0 + d) * DAY_MS
            self.c.log(
                base + 5 * 3_600_000 + ri(rng, 0, 600_000),
                3,
                "telegram",
                "telegram provider connected (polling)",
            )
            self.c.log(
                base + 13 * 3_600_000 + ri(rng, 0, 3_600_000),
                3,
                "gateway",
                "gateway health ok: channels=2 agents=" + str(len(o.agents)),
            )
        per_day: dict[str, list[tuple[int, bytes]]] = {}
        for ms, level, sub, text in self.c.log_events:
            per_day.setdefault(local_date(ms), []).append((ms, _log_line(ms, level, sub, text)))
        for date, items in sorted(per_day.items()):
            items.sort(key=lambda x: x[0])
            self._write(out / "logs" / f"openclaw-{date}.log", b"".join(x[1] for x in items))


def _log_line(ms: int, level: int, sub: str, text: str) -> bytes:
    name = jstr(f'{{"subsystem":"{sub}"}}')
    t = iso(ms)
    return (
        f'{{"0":{name},"1":{jstr(text)},"_meta":{{"runtime":"Nodejs","runtimeVersion":'
        f'"v22.12.0","hostname":"mini","name":{name},"parentNames":["openclaw"],'
        f'"date":"{t}","logLevelId":{level},"logLevelName":"{_LOG_LEVELS[level]}","path":'
        f'{{"fileName":"subsystem.js","fileLine":"201"}}}},"time":"{t}"}}\n'
    ).encode()


_NAMES = (
    "Morning errands",
    "Trip planning",
    "Inbox zero",
    "Deploy check",
    "Reading list",
    "Weekly review",
    "Backups",
    "Paper notes",
)
