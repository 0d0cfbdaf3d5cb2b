"""Turns for :mod:`ingestor.demo`: how one user request unfolds into transcript lines.

Owns: :func:`run_turn` (user prompt, thinking/text/tool-call blocks, failed calls with
fallbacks, tool results with their failure modes, final answer or abort), the channel
envelopes that frame a prompt (Telegram DM and group, plain prefixes) and :func:`sprinkle`,
the occasional non-call entries between turns (names, labels, bash runs, custom messages,
thinking changes, branch summaries, gateway-injected rows).
"""

from __future__ import annotations

from collections.abc import Callable

import orjson

from ingestor.demo_bank import (
    DOC_LINES,
    ERRORS,
    NAMES,
    SYNTH_REPAIR,
    TOOL_ERR,
    Model,
    Task,
    Tool,
)
from ingestor.demo_content import Session
from ingestor.demo_ctx import MSG, Rec
from ingestor.demo_format import elapsed, iso, jstr, local_stamp, ri

#: ``sessions_spawn`` handler: (parent, tool, call id) -> (result text, details JSON).
SpawnCb = Callable[[Session, Tool, str], tuple[str, str]]


def _blocks_think(s: Session, m: Model, thought: str) -> list[str]:
    c = s.c
    if s.thinking == "off" or c.rng.random() < 0.3:
        return []
    if m.style == "anthropic":
        return [
            f'{{"type":"thinking","thinking":"{c.reason(thought)}",'
            f'"thinkingSignature":"{c.slice(c.b64, ri(c.rng, 300, 1600))}"}}'
        ]
    if m.api.endswith("responses"):
        sig = (
            f'{{\\"id\\":\\"rs_{c.slice(c.hex, 16)}\\",\\"type\\":\\"reasoning\\",'
            f'\\"encrypted_content\\":\\"gAAAAAB{c.slice(c.b64, ri(c.rng, 600, 2800))}'
            f'\\",\\"summary\\":[]}}'
        )
        return [f'{{"type":"thinking","thinking":"","thinkingSignature":"{sig}"}}']
    if m.style == "completions":
        return [
            f'{{"type":"thinking","thinking":"{c.reason(thought)}",'
            f'"thinkingSignature":"reasoning"}}'
        ]
    return []


def _text_block(s: Session, m: Model, text: str, more: int = 0) -> str:
    body = jstr(text)
    if more:
        body = f'{body[:-1]}\\n\\n{s.c.prose(more)}"'
    if m.api.endswith("responses"):
        return f'{{"type":"text","text":{body},"textSignature":"msg_{s.c.slice(s.c.hex, 16)}"}}'
    return f'{{"type":"text","text":{body}}}'


def failing_call(s: Session, m: Model, fallback: Model | None) -> Model:
    """An error/timeout call (zero usage, empty content); returns the model to retry with."""
    kind, msg = ERRORS[ri(s.c.rng, len(ERRORS))]
    s.call(m, [], 0, kind, error=msg, zero=True)
    s.c.log(
        s.t,
        4,
        "agent/embedded",
        f"embedded run failover: provider={m.provider} "
        f"model={m.model} reason={kind} sessionId={s.sid}",
    )
    s.tick(400, 3000)
    return fallback if fallback is not None and s.c.rng.random() < 0.6 else m


def run_turn(
    s: Session,
    task: Task,
    prompt: str,
    m: Model,
    *,
    fallback: Model | None = None,
    spawn: SpawnCb | None = None,
    image: str | None = None,
    as_string: bool = False,
    p_fail: float = 0.03,
    bad: tuple[str, ...] = (),
) -> list[Rec]:
    """User prompt, tool rounds, final answer. Returns the call Recs (for quirk post-edits)."""
    c, rng = s.c, s.c.rng
    s.user(prompt, image=image, as_string=as_string, idem=image is not None)
    calls: list[Rec] = []
    bad_iter = list(bad)
    for rnd in task.rounds:
        if rng.random() < p_fail:
            m = failing_call(s, m, fallback)
        blocks = _blocks_think(s, m, task.thought)
        if rng.random() < 0.5:
            blocks.append(_text_block(s, m, "On it."))
        ids = []
        for tool in rnd:
            tid = c.tool_id(m, tool.name, s.t)
            ids.append(tid)
            blocks.append(
                f'{{"type":"toolCall","id":"{tid}","name":"{tool.name}","arguments":{tool.args}}}'
            )
        acct = s.call(
            m, blocks, ri(rng, 40, 420), "toolUse", bad=bad_iter.pop(0) if bad_iter else ""
        )
        calls.append(s.recs[-1])
        acct.tools = len(rnd)
        for tid, tool in zip(ids, rnd, strict=True):
            r = rng.random()
            if r < 0.015:  # never gets a result
                acct.tool_miss += 1
                continue
            if r < 0.025:
                acct.tool_err += 1
                s.tool_result(tid, tool.name, SYNTH_REPAIR, None, True, 30)
                continue
            err = r < 0.08
            text, details = tool.result, None
            if err:
                text = jstr(TOOL_ERR.get(tool.name, "Error: operation failed"))[1:-1]
                acct.tool_err += 1
            elif tool.result == "@doc":
                text = c.doc(ri(rng, *DOC_LINES.get(tool.name, (40, 600))))
            elif tool.result == "@spawn":
                assert spawn is not None
                text, details = spawn(s, tool, tid)
            elif tool.result == "@send":
                text = jstr(f'{{"ok":true,"messageId":"{ri(rng, 1000, 99999)}"}}')[1:-1]
            dur = ri(rng, 40, 2500) if tool.name != "exec" else ri(rng, 200, 9000)
            if tool.name == "exec":
                details = (
                    f'{{"status":"{"failed" if err else "completed"}","exitCode":'
                    f'{1 if err else 0},"durationMs":{dur - ri(rng, 1, 20)},'
                    f'"aggregated":"{text}","cwd":"/home/ana/.openclaw/workspace"}}'
                )
            elif tool.name in ("web_search", "web_fetch"):
                details = "{}" if err else f'{{"provider":"brave","tookMs":{dur - 5}}}'
            s.tool_result(tid, tool.name, text, details, err, dur)
            if tool.result == "@send" and s.quirks and not err:
                s.tick(5, 60)
                s.synthetic("delivery-mirror", orjson.loads(tool.args).get("message", ""))
        s.tick(10, 40)
    if rng.random() < p_fail:
        m = failing_call(s, m, fallback)
    r = rng.random()
    blocks = _blocks_think(s, m, task.thought) if not task.rounds else []
    if r < 0.015:  # aborted mid-stream: partial but billable
        blocks.append(_text_block(s, m, task.answer[: len(task.answer) // 3]))
        s.call(
            m,
            blocks,
            ri(rng, 5, 40),
            "aborted",
            error="Request was aborted",
            bad=bad_iter.pop(0) if bad_iter else "",
        )
    else:
        more = ri(rng, 2, 9) if rng.random() < 0.5 else 0
        blocks.append(_text_block(s, m, task.answer, more))
        s.call(
            m,
            blocks,
            ri(rng, 30, 600),
            "length" if r < 0.03 else "stop",
            bad=bad_iter.pop(0) if bad_iter else "",
        )
    calls.append(s.recs[-1])
    s.turn_ends.append(s.recs[-1].eid)
    if m.style == "anthropic" and rng.random() < 0.4:
        s.tick(5, 20)
        s.custom(
            "openclaw.cache-ttl",
            f'{{"timestamp":{s.t},"provider":"{m.provider}","modelId":"{m.model}"}}',
        )
    return calls


# --------------------------------------------------------------------------- envelopes

#: Frames a prompt for its channel: (session, text) -> the user message text.
Envelope = Callable[[Session, str], str]


def tg_envelope(name: str, user: str, uid: int) -> Envelope:
    def env(s: Session, text: str) -> str:
        tail = f"\n[message_id: {ri(s.c.rng, 1000, 99999)}]"
        return (
            f"[Telegram {name} (@{user}) id:{uid}{elapsed(s.last_user, s.t)} "
            f"{local_stamp(s.t)}] {text}{tail}"
        )

    return env


def group_envelope(title: str, gid: int, speaker: tuple[str, str, int]) -> Envelope:
    def env(s: Session, text: str) -> str:
        return (
            f"[Telegram {title} id:{gid}{elapsed(s.last_user, s.t)} {local_stamp(s.t)}]"
            f" {speaker[0]} (@{speaker[1]}): {text}\n[message_id: "
            f"{ri(s.c.rng, 1000, 99999)}]"
        )

    return env


def plain_envelope(prefix: str) -> Envelope:
    return lambda s, text: f"{prefix}{text}"


def sprinkle(s: Session, i: int, quirks: bool) -> None:
    """Now and then, a non-call entry after turn ``i`` (gateway rows only with ``quirks``)."""
    rng = s.c.rng
    r = rng.random()
    if i == 0 and r < 0.3:
        s.tick(100, 900)
        s.entry("session_info", f'"name":{jstr(rng.choice(NAMES))}')
    elif r < 0.05 and s.recs:
        s.tick(1000, 60_000)
        target = s.recs[-1].eid or s.leaf
        s.entry("label", f'"targetId":"{target}","label":"{rng.choice(NAMES).lower()}"')
    elif r < 0.07:
        s.tick(1000, 60_000)
        s.entry(
            "message",
            f'"message":{{"role":"bashExecution","command":"df -h /",'
            f'"output":"Filesystem  Size  Used Avail Use% Mounted on\\n/dev/sda1    98G'
            f'   61G   33G  65% /","exitCode":0,"cancelled":false,"truncated":false,'
            f'"timestamp":{s.t - 2}}}',
            kind=MSG,
        )
    elif r < 0.09:
        s.tick(1000, 60_000)
        eid = s.c.eid()
        s.recs.append(
            Rec(
                f'{{"type":"custom_message","customType":"ext.standup-notes","content":'
                f'"Standup notes were saved to notes/today.md","display":true,"details":'
                f'{{"file":"notes/today.md"}},"id":"{eid}","parentId":{s.pid()},'
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
    elif r < 0.155 and quirks:
        s.tick(60_000, 600_000)
        s.synthetic(
            "gateway-injected",
            "[Gateway]\n\nGateway restarted (update to 2026.10.2); session resumed.",
        )
