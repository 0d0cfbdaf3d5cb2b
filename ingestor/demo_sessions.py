"""The everyday sessions of :mod:`ingestor.demo`: one agent's main chat, DMs, groups, hooks, cron.

Owns: the shape of each ordinary session kind: the ``:main`` session (Telegram/WebChat turns,
heartbeats, compactions, the optional big inline image), Telegram DMs, Telegram groups and
forum topics and Discord channels, Gmail/webhook hook sessions (some pruned from
``sessions.json``), and cron runs (their transcript, ``cron/runs/<job>.jsonl`` line and gateway
log). Their schedule over a day is :func:`ingestor.demo._day`.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson

from ingestor.demo_bank import HEARTBEAT, HEARTBEAT_PROMPT, MODELS, PEERS, TASKS
from ingestor.demo_content import Session
from ingestor.demo_corpus import Corpus
from ingestor.demo_format import elapsed, local_stamp, ri
from ingestor.demo_turns import group_envelope, plain_envelope, run_turn, tg_envelope


def main_session(w: Corpus, agent: str, base: int, final: bool, big: int) -> None:
    """The agent's ``:main`` session of the day (a reset archives yesterday's)."""
    rng, prof = w.c.rng, w.prof(agent)
    key = f"agent:{agent}:main"
    start = base + 7 * 3_600_000 + ri(rng, 0, 3_600_000)
    w.retire(agent, key, start - 40)
    s = w.new_session(agent, key, start, MODELS[w.pick(prof["primary"])])
    owner = prof["owner"]
    tg = tg_envelope(*owner)
    limit = base + (20 if final else 21) * 3_600_000
    i = 0
    while i < 12 and s.t < limit:
        if i:
            s.tick(1_800_000, 9_000_000)
        if rng.random() < 0.15:
            hb = MODELS[prof["heartbeat"]]
            run_turn(s, HEARTBEAT, HEARTBEAT_PROMPT, hb, as_string=True)
        else:
            image = None
            if big:  # the first user turn that is not a heartbeat carries it
                n = max(4, (big - 600) // 4 * 3)
                image = base64.b64encode(rng.randbytes(n)).decode()
                big = 0
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
            w.turns(s, 1, env, (0, 1), first_image=image)
        i += 1
        if s.last_model and s.ctx_tok > s.last_model.window * 0.6:
            s.tick(1000, 5000)
            s.compaction(s.recs[-4].eid or str(s.leaf))
    w.emit(s)
    w.live[(agent, key)] = w.sdir(agent) / f"{s.sid}.jsonl"
    w.index_session(
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


def dm_session(
    w: Corpus,
    agent: str,
    start: int,
    peer: tuple[str, str, int],
    turns: int,
    gap: tuple[int, int] = (60_000, 600_000),
) -> Session:
    """A Telegram DM with ``peer`` (archiving the previous one for that key)."""
    key = f"agent:{agent}:telegram:dm:{peer[2]}"
    w.retire(agent, key, start - 30)
    s = w.new_session(agent, key, start, MODELS[w.pick(w.prof(agent)["primary"])])
    w.turns(s, turns, tg_envelope(*peer), gap)
    w.emit(s)
    w.live[(agent, key)] = w.sdir(agent) / f"{s.sid}.jsonl"
    w.index_session(
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


def scheduled_session(w: Corpus, agent: str, kind: str, start: int, base: int, limit: int) -> None:
    """One session of ``kind``; a busy DM becomes a hook, a cron with no job left a DM."""
    rng, prof = w.c.rng, w.prof(agent)
    turns = ri(rng, 1, 6)
    if kind == "cron":
        todo = [j for j in w.jobs if j["agentId"] == agent and j["id"] not in w.cron_today]
        if todo:
            cron_run(w, agent, todo[ri(rng, len(todo))], base)
            return
        kind = "dm"
    if kind == "dm":
        peer = PEERS[ri(rng, 3)]
        t = w.free_at(agent, f"agent:{agent}:telegram:dm:{peer[2]}", start, limit)
        if t is not None:
            dm_session(w, agent, t, peer, turns)
            return
        kind = "hook"
    if kind in ("group", "topic", "discord"):
        title, gid = prof["group"]
        if kind == "discord":
            key = f"agent:{agent}:discord:channel:1122334455667788"
            env = plain_envelope(f"[Discord #alerts {local_stamp(start)}] sam: ")
        else:
            key = f"agent:{agent}:telegram:group:{gid}"
            env = group_envelope(title, gid, PEERS[ri(rng, 3)])
        topic = ri(rng, 2, 40) if kind == "topic" else 0
        if topic:
            key += f":topic:{topic}"
        t = w.free_at(agent, key, start, limit)
        if t is None:
            return
        start = t
        w.retire(agent, key, start - 30)
        s = w.new_session(agent, key, start, MODELS[w.pick(prof["primary"])])
        w.turns(s, turns, env, (30_000, 400_000))
        name = f"{s.sid}-topic-{topic}.jsonl" if topic else None
        path = w.emit(s, name)
        w.live[(agent, key)] = path
        w.index_session(
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
        hid = w.c.uuid()
        gmail = w.flavor[agent] == "assistant" and rng.random() < 0.5
        key = (
            f"agent:{agent}:hook:gmail:{w.c.slice(w.c.hex, 16)}"
            if gmail
            else f"agent:{agent}:hook:{hid}"
        )
        prefix = (
            "[Gmail] New message from billing@example.com: "
            if gmail
            else "[Webhook github] issue opened in acme/api: "
        )
        s = w.new_session(agent, key, start, MODELS[w.pick(prof["primary"])])
        w.turns(s, 1, plain_envelope(prefix), (0, 1))
        w.emit(s)
        if rng.random() < 0.8:  # the rest were pruned from sessions.json
            w.index_session(s, key, {"lastChannel": "webhook"})


def cron_run(w: Corpus, agent: str, job: dict[str, Any], base: int) -> None:
    """One isolated cron run of ``job``: transcript, ``cron/runs`` line, gateway log."""
    rng, prof = w.c.rng, w.prof(agent)
    w.cron_today.add(job["id"])
    start = base + job["hh"] * 3_600_000 + job["mm"] * 60_000 + ri(rng, 0, 20_000)
    key = f"agent:{agent}:cron:{job['id']}"
    model = MODELS[prof["heartbeat"] if job["task"] == 0 else w.pick(prof["primary"])]
    s = w.new_session(agent, key, start, model)
    tasks = TASKS[w.flavor[agent]]
    task = tasks[job["task"] % len(tasks)]
    run_turn(
        s,
        task,
        f"[cron:{job['id']} {job['name']}] {task.prompt}",
        model,
        fallback=MODELS[prof["fallback"]],
        spawn=w.spawn,
    )
    w.emit(s)  # older runs stay behind as orphans: only the prefix names them
    w.index_session(s, key, {"lastChannel": "telegram", "bootstrapContextRunKind": "cron"})
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
    w.cron_log.setdefault(job["id"], []).append(orjson.dumps(line) + b"\n")
    job["last"] = (start, s.t - start)
    w.c.log(
        s.t + 60,
        3,
        "cron",
        f"cron: job finished id={job['id']} status=ok durationMs={s.t - start}",
    )
