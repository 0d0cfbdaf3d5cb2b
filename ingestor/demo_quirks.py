"""The quirks of :mod:`ingestor.demo`: the odd files and lines an ingestor must survive.

Owns: one quirk per offset of the 14-day cycle (``write_quirk``): sub-agents deleted into
``.deleted`` archives, a fork ``<ts>_<uuid>.jsonl`` starting with a copy of its parent, a
``.jsonl.bak.<ts>`` beside a header-less live file, a messy transcript (string/negative usage,
a duplicated line, invalid UTF-8, a legacy injected row, bad lines), a ``.checkpoint.<uuid>``
twin around a compaction, trajectory/ACP sidecars with header-only and 0-byte transcripts, and
an ``active-memory/`` transcript.
"""

from __future__ import annotations

import json

from ingestor.demo_bank import HOME, MEMORY_TASK, MODELS, SPAWN_TASK, TASKS
from ingestor.demo_content import Session
from ingestor.demo_corpus import Corpus
from ingestor.demo_ctx import BAD, Rec
from ingestor.demo_format import archive_ts, fork_ts, iso, ri
from ingestor.demo_turns import plain_envelope, run_turn, tg_envelope

QUIRK_PEER = ("Eva S", "eva_s", 9901)
#: Quirk offsets inside each 14-day cycle.
Q_SPAWN, Q_FORK, Q_BAK, Q_MESSY, Q_CHECKPOINT, Q_SIDECARS, Q_MEMORY = range(7)


def write_quirk(w: Corpus, agent: str, q: int, base: int, limit: int) -> None:
    """Quirk ``q`` (a ``Q_*`` offset) for ``agent`` on the day starting at ``base``."""
    rng, prof = w.c.rng, w.prof(agent)
    start = base + ri(rng, 8, 16) * 3_600_000 + ri(rng, 0, 3_600_000)
    model = MODELS[w.pick(prof["primary"])]
    peer = QUIRK_PEER
    if q in (Q_SPAWN, Q_BAK, Q_MESSY, Q_CHECKPOINT, Q_FORK):
        key = (
            f"agent:{agent}:discord:channel:1122334455667788"
            if q == Q_FORK
            else f"agent:{agent}:telegram:dm:{peer[2]}"
        )
        t = w.free_at(agent, key, start, limit)
        if t is None:  # busy all day (tiny corpora): use a fresh peer
            peer = (peer[0], peer[1], peer[2] + 1 + q)
            key = key.rsplit(":", 1)[0] + f":{peer[2]}"
        start = t or start
    if q == Q_SPAWN:
        task = SPAWN_TASK
        w.retire(agent, f"agent:{agent}:telegram:dm:{peer[2]}", start - 30)
        s = w.new_session(agent, f"agent:{agent}:telegram:dm:{peer[2]}", start, model)
        run_turn(s, task, task.prompt, model, spawn=w.spawn, p_fail=0)
        w.emit(s)
    elif q == Q_FORK:
        w.retire(agent, key, start - 30)
        s = w.new_session(agent, key, start, model)
        env = plain_envelope("[Discord #general] sam: ")
        w.turns(s, 2, env, (60_000, 200_000))
        cut, leaf, t, ctx = len(s.recs), s.leaf, s.t, s.ctx_tok
        s.tick(240_000, 400_000)
        w.turns(s, 1, env, (0, 1))
        path = w.emit(s)
        w.live[(agent, key)] = path
        w.index_session(s, key, {"chatType": "channel", "lastChannel": "discord"})
        fk = f"{key}:thread:{ri(rng, 10**17, 10**18)}"
        ft = t + ri(rng, 1000, 5000)
        f = w.new_session(
            agent,
            fk,
            ft,
            model,
            opening=False,
            parent_session=f"{HOME}/agents/{agent}/sessions/{s.sid}.jsonl",
        )
        f.recs, f.leaf, f.ctx_tok, f.thinking = s.recs[:cut], leaf, ctx, s.thinking
        w.turns(f, 2, env, (30_000, 90_000))
        w.emit(f, f"{fork_ts(ft)}_{f.sid}.jsonl")
        w.index_session(
            f,
            fk,
            {
                "chatType": "channel",
                "lastChannel": "discord",
                "parentSessionKey": key,
                "forkedFromParent": True,
            },
        )
    elif q in (Q_BAK, Q_MESSY, Q_CHECKPOINT):
        key = f"agent:{agent}:telegram:dm:{peer[2]}"
        w.retire(agent, key, start - 30)
        s = w.new_session(agent, key, start, model)
        env = tg_envelope(*peer)
        tasks = TASKS[w.flavor[agent]]
        marks = []
        for i in range(4):
            if i:
                s.tick(60_000, 300_000)
            marks.append(len(s.recs))
            task = tasks[i % len(tasks)]
            bad: tuple[str, ...] = ()
            if q == Q_MESSY and i == 0:
                bad = ("string-input", "negative-cw")
            elif q == Q_MESSY and i == 1:
                bad = ("string-cost",)
            calls = run_turn(s, task, env(s, task.prompt), model, bad=bad, p_fail=0, spawn=w.spawn)
            if q == Q_MESSY and i == 1:  # the same line appended twice
                s.recs.append(calls[-1])
            elif q == Q_MESSY and i == 2:  # Latin-1 bytes inside a JSON string
                calls[-1].line = calls[-1].line.replace(
                    b'"text":"', b'"text":"Caf\xe9 M\xfcller \xff: ', 1
                )
                s.tick(500, 5000)
                s.legacy_injected("[webchat]\n\nNote pinned from the Control UI.")
                _bad_lines(w, s)
            elif q == Q_CHECKPOINT and i == 2:
                before = list(s.recs)
                s.tick(1000, 5000)
                s.compaction(s.recs[marks[1]].eid)
                w.emit(s, f"{s.sid}.checkpoint.{w.c.uuid()}.jsonl", recs=before, counted=False)
        if q == Q_BAK:  # sessions.compact with maxLines: .bak + header-less tail
            at = s.t + ri(rng, 60_000, 600_000)
            w.emit(s, f"{s.sid}.jsonl.bak.{archive_ts(at)}", counted=False)
            w.emit(s, recs=s.recs[marks[2] :], header=False)
        else:
            w.emit(s)
            w.live[(agent, key)] = w.sdir(agent) / f"{s.sid}.jsonl"
        w.index_session(
            s,
            key,
            {"chatType": "direct", "lastChannel": "telegram", "lastTo": f"telegram:{peer[2]}"},
        )
    elif q == Q_SIDECARS:
        s = w.new_session(agent, f"agent:{agent}:hook:{w.c.uuid()}", start, model)
        w.turns(s, 2, plain_envelope("[Webhook github] "), (30_000, 90_000))
        w.emit(s)
        _sidecars(w, s)
    elif q == Q_MEMORY:
        s = w.new_session(agent, None, start, MODELS["gemini-2.5-flash"])
        run_turn(
            s,
            MEMORY_TASK,
            "Recall memories relevant to the latest user message: "
            "'what did we decide about the trip?'",
            MODELS["gemini-2.5-flash"],
        )
        w.emit(s, sub="active-memory")


def _bad_lines(w: Corpus, s: Session) -> None:
    """Lines to reject: truncated JSON, ``null``, ``[1,2]``, ``message:null``, a blank line."""
    t = iso(s.t + 5)
    eid1, eid2 = w.c.eid(), w.c.eid()
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


def _sidecars(w: Corpus, s: Session) -> None:
    """Trajectory and ACP sidecars of ``s``, a header-only transcript and a 0-byte one."""
    sdir, c = w.sdir(s.agent), w.c
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
                    "workspaceDir": f"{HOME}/workspace",
                    "provider": m.provider,
                    "modelId": m.model,
                    "modelApi": m.api,
                    "data": {"step": seq},
                },
                separators=(",", ":"),
            )
        )
    w.write(sdir / f"{s.sid}.trajectory.jsonl", ("\n".join(lines) + "\n").encode())
    w.write(
        sdir / f"{s.sid}.trajectory-path.json",
        json.dumps(
            {
                "version": 1,
                "path": f"{HOME}/agents/{s.agent}/sessions/{s.sid}.trajectory.jsonl",
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
    w.write(sdir / f"{s.sid}.acp-stream.jsonl", ("\n".join(acp) + "\n").encode())
    # a gateway-created header-only transcript, and one not yet flushed at all
    hdr = Session(c, s.agent, c.uuid(), None, s.t + 1000, "/usr/lib/node_modules/openclaw")
    w.emit(hdr)
    w.write(sdir / f"{c.uuid()}.jsonl", b"")
