"""Transcript line builders for :mod:`ingestor.demo`.

Owns: :class:`Session`, which appends the entries of one transcript in memory with the exact
byte shapes of OpenClaw lines (key order as in ``openclaw-sample.jsonl``, JavaScript number
formatting), per-API usage semantics and pi-ai style cost arithmetic, and records per line what
the accounting rules will make of it (:class:`~ingestor.demo_ctx.Rec`,
:class:`~ingestor.demo_ctx.CallAcct`). How a user turn unfolds into calls and tool results is
in :mod:`ingestor.demo_turns`. It never touches the disk.
"""

from __future__ import annotations

from ingestor.demo_bank import SUMMARY, Model
from ingestor.demo_ctx import MSG, OTHER, CallAcct, Ctx, Rec
from ingestor.demo_format import DAY_MS, iso, js_num, jstr, ri


class Session:
    """Appends the entries of one transcript in memory; the corpus decides where they go."""

    def __init__(
        self,
        c: Ctx,
        agent: str,
        sid: str,
        key: str | None,
        start: int,
        cwd: str,
        parent_session: str | None = None,
    ) -> None:
        self.c, self.agent, self.sid, self.key = c, agent, sid, key
        self.start = start
        extra = f',"parentSession":{jstr(parent_session)}' if parent_session else ""
        self.header = (
            f'{{"type":"session","version":3,"id":"{sid}","timestamp":"{iso(start)}",'
            f'"cwd":{jstr(cwd)}{extra}}}\n'
        ).encode()
        self.recs: list[Rec] = []
        self.t = start + 3
        self.leaf: str | None = None
        self.ctx_tok = ri(c.rng, 9_000, 18_000)
        self.pending = 0
        self.cache_until = 0
        self.cache_model: Model | None = None
        self.last_user: int | None = None
        self.last_call: CallAcct | None = None
        self.last_model: Model | None = None
        self.compactions = 0
        self.turn_ends: list[str] = []
        self.thinking = "low"
        self.quirks = True

    # ---- raw entries
    def pid(self) -> str:
        """The ``parentId`` value: ``null`` or the quoted current leaf."""
        return "null" if self.leaf is None else f'"{self.leaf}"'

    def entry(self, typ: str, body: str, kind: int = OTHER, call: CallAcct | None = None) -> str:
        eid = self.c.eid()
        self.recs.append(
            Rec(
                f'{{"type":"{typ}","id":"{eid}","parentId":{self.pid()},"timestamp":"{iso(self.t)}",'
                f"{body}}}\n".encode(),
                kind,
                call,
                eid,
            )
        )
        self.leaf = eid
        return eid

    def message(self, msg: str, call: CallAcct | None = None) -> str:
        return self.entry("message", f'"message":{msg}', MSG, call)

    def custom(self, ctype: str, data: str) -> str:
        eid = self.c.eid()
        self.recs.append(
            Rec(
                f'{{"type":"custom","customType":"{ctype}","data":{data},"id":"{eid}",'
                f'"parentId":{self.pid()},"timestamp":"{iso(self.t)}"}}\n'.encode(),
                eid=eid,
            )
        )
        self.leaf = eid
        return eid

    def tick(self, lo: int, hi: int) -> None:
        self.t += ri(self.c.rng, lo, hi)

    # ---- typed entries
    def opening(self, m: Model, thinking: str) -> None:
        self.thinking = thinking
        self.entry("model_change", f'"provider":"{m.provider}","modelId":"{m.model}"')
        self.entry("thinking_level_change", f'"thinkingLevel":"{thinking}"')
        if m.style == "google":
            self.tick(1, 4)
            self.custom(
                "model-snapshot",
                f'{{"timestamp":{self.t},"provider":"{m.provider}",'
                f'"modelApi":"{m.api}","modelId":"{m.model}"}}',
            )
        self.last_model = m

    def model_change(self, m: Model) -> None:
        self.tick(20, 80)
        self.entry("model_change", f'"provider":"{m.provider}","modelId":"{m.model}"')

    def user(
        self, text: str, image: str | None = None, as_string: bool = False, idem: bool = False
    ) -> None:
        self.t += 2
        if as_string:
            content = jstr(text)
        else:
            img = f',{{"type":"image","data":"{image}","mimeType":"image/png"}}' if image else ""
            content = f'[{{"type":"text","text":{jstr(text)}}}{img}]'
        key = f',"idempotencyKey":"run-{self.c.slice(self.c.hex, 6)}:user"' if idem else ""
        self.message(f'{{"role":"user","content":{content},"timestamp":{self.t - 2}{key}}}')
        self.pending += len(text) // 4 + 40 + (1600 if image else 0)
        self.last_user = self.t

    def call(
        self,
        m: Model,
        blocks: list[str],
        out_tok: int,
        stop: str,
        error: str | None = None,
        zero: bool = False,
        bad: str = "",
    ) -> CallAcct:
        """One assistant message = one model call; usage follows the API's semantics (§5.6)."""
        rng = self.c.rng
        start = self.t + ri(rng, 8, 40)
        prompt = self.ctx_tok + self.pending
        warm = self.cache_model is m and self.cache_until >= start
        cached = self.ctx_tok if warm else 0
        if zero:
            inp = out = cr = cw = 0
        elif m.style == "anthropic":
            inp = ri(rng, 1, 24)
            cr, cw = cached, max(0, prompt - cached - inp)
            out = out_tok
        elif m.style in ("openai", "completions"):
            cr = (cached // 128) * 128 if m.style == "openai" or rng.random() < 0.7 else 0
            inp, cw, out = prompt - cr, 0, out_tok
        elif m.style == "google":
            cr = (cached * 9 // 10) if rng.random() < 0.6 else 0
            inp, cw, out = prompt, 0, out_tok  # promptTokenCount includes the cached part
        else:
            inp, cr, cw, out = prompt, 0, 0, out_tok
        total = inp + out if m.style == "google" else inp + out + cr + cw
        p = m.price
        ci, co = (p[0] / 1000000) * inp, (p[1] / 1000000) * out
        ccr, ccw = (p[2] / 1000000) * cr, (p[3] / 1000000) * cw
        ct = ci + co + ccr + ccw
        s_inp, s_cw, s_ct = str(inp), str(cw), js_num(ct)
        n_inp, n_cw = inp, cw
        cost: float | None = ct
        if bad == "string-input":  # counts as 0 (accounting §4), call still counts
            s_inp, n_inp = f'"{inp}"', 0
        elif bad == "negative-cw":
            s_cw, n_cw = "-42", 0
        elif bad == "string-cost":  # logged cost unknown
            s_ct, cost = f'"{js_num(ct)}"', None
        usage = (
            f'{{"input":{s_inp},"output":{out},"cacheRead":{cr},"cacheWrite":{s_cw},'
            f'"totalTokens":{total},"cost":{{"input":{js_num(ci)},"output":{js_num(co)},'
            f'"cacheRead":{js_num(ccr)},"cacheWrite":{js_num(ccw)},"total":{s_ct}}}}}'
        )
        lat = ri(rng, 900, 4000) + out * ri(rng, 8, 25)
        self.t = start + lat
        err = f',"errorMessage":{jstr(error)}' if error else ""
        msg = (
            f'{{"role":"assistant","content":[{",".join(blocks)}],"api":"{m.api}",'
            f'"provider":"{m.provider}","model":"{m.model}","usage":{usage},'
            f'"stopReason":"{stop}","timestamp":{start}{err}}}'
        )
        n_norm = max(0, n_inp - cr) if m.style == "google" else n_inp
        acct = CallAcct(
            m,
            self.t // DAY_MS,
            stop in ("error", "aborted", "timeout"),
            (n_norm, out, cr, n_cw),
            cost,
        )
        self.message(msg, acct)
        if not zero:
            self.ctx_tok, self.pending = prompt + out, 0
            self.cache_until, self.cache_model = self.t + 300_000, m
            self.last_call = acct
        self.last_model = m
        return acct

    def tool_result(
        self, call_id: str, name: str, text: str, details: str | None, is_error: bool, dur: int
    ) -> None:
        self.t += dur
        det = f',"details":{details}' if details is not None else ""
        self.message(
            f'{{"role":"toolResult","toolCallId":"{call_id}","toolName":"{name}",'
            f'"content":[{{"type":"text","text":"{text}"}}]{det},'
            f'"isError":{"true" if is_error else "false"},"timestamp":{self.t - 1}}}'
        )
        self.pending += len(text) // 4 + 10

    def synthetic(self, model: str, text: str) -> None:
        """``delivery-mirror`` / ``gateway-injected`` row: a message, not an LLM call."""
        z = '"input":0,"output":0,"cacheRead":0,"cacheWrite":0'
        self.message(
            f'{{"role":"assistant","content":[{{"type":"text","text":{jstr(text)}}}],'
            f'"api":"openai-responses","provider":"openclaw","model":"{model}",'
            f'"usage":{{{z},"totalTokens":0,"cost":{{{z},"total":0}}}},'
            f'"stopReason":"stop","timestamp":{self.t - 1}}}'
        )

    def legacy_injected(self, text: str) -> None:
        """2026.1.x gateway row: no parentId, no provider/model/api; pi's leaf is unchanged."""
        eid = self.c.eid()
        self.recs.append(
            Rec(
                f'{{"type":"message","id":"{eid}","timestamp":"{iso(self.t)}","message":{{"role":'
                f'"assistant","content":[{{"type":"text","text":{jstr(text)}}}],"timestamp":'
                f'{self.t - 1},"stopReason":"injected","usage":{{"input":0,"output":0,'
                f'"totalTokens":0}}}}}}\n'.encode(),
                MSG,
                eid=eid,
            )
        )

    def compaction(self, kept: str) -> None:
        self.entry(
            "compaction",
            f'"summary":{jstr(SUMMARY)},"firstKeptEntryId":"{kept}",'
            f'"tokensBefore":{self.ctx_tok},"details":{{"readFiles":["AGENTS.md",'
            f'"HEARTBEAT.md"],"modifiedFiles":["memory/notes.md"]}},"fromHook":true',
        )
        self.ctx_tok = ri(self.c.rng, 9_000, 14_000)
        self.cache_until = 0
        self.compactions += 1
