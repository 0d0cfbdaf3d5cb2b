"""Corpus-wide deterministic state and per-line accounting records for :mod:`ingestor.demo`.

Owns: :class:`Ctx` (the single ``random.Random`` everything draws from, the counters behind
unique entry and tool-call ids, the pools of random base64/hex/doc/prose text, and the gateway
log events collected while writing), :class:`Rec` (one written line and what the accounting
rules make of it, shared by its copies) and :class:`CallAcct` (what one LLM call contributes).
"""

from __future__ import annotations

import base64
import random

from ingestor.demo_bank import Model
from ingestor.demo_format import M32, b62, fmix32, jstr, ri

#: Rec kinds: a non-message entry, a message entry (any role), a line the ingestor must reject.
OTHER, MSG, BAD = 0, 1, 2


class CallAcct:
    """What one LLM call contributes to the accounting (tokens already normalized, §4)."""

    __slots__ = (
        "cost",
        "cr",
        "cw",
        "day",
        "failed",
        "inp",
        "model",
        "out",
        "provider",
        "tool_err",
        "tool_miss",
        "tools",
    )

    def __init__(
        self, m: Model, day: int, failed: bool, toks: tuple[int, int, int, int], cost: float | None
    ) -> None:
        self.provider, self.model, self.day, self.failed = m.provider, m.model, day, failed
        self.inp, self.out, self.cr, self.cw = toks
        self.cost = cost
        self.tools = self.tool_err = self.tool_miss = 0


class Rec:
    """One written line and its meaning; fork copies and duplicated lines share the object."""

    __slots__ = ("call", "done", "eid", "kind", "line")

    def __init__(
        self, line: bytes, kind: int = OTHER, call: CallAcct | None = None, eid: str = ""
    ) -> None:
        self.line, self.kind, self.call, self.done, self.eid = line, kind, call, False, eid


class Ctx:
    """Corpus-wide deterministic state: the rng, unique id counters and random text pools."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self._eid = 0
        self._tid = 0
        self._salt = (seed * 0x9E3779B1 + 0x7F4A7C15) & M32
        raw = base64.b64encode(self.rng.randbytes(196_608)).decode()
        self.b64 = raw
        self.alnum = raw.replace("+", "k").replace("/", "Z")
        self.hex = self.rng.randbytes(32_768).hex()
        self.docs = _doc_pool(self.rng)
        self.prose_pool = _prose_pool(self.rng)
        self.log_events: list[tuple[int, int, str, str]] = []

    def eid(self) -> str:
        """8 lower-case hex chars, unique across the corpus (a bijection of a counter)."""
        self._eid += 1
        return f"{fmix32((self._eid + self._salt) & M32):08x}"

    def uuid(self) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"

    def slice(self, pool: str, n: int) -> str:
        off = ri(self.rng, len(pool) - n)
        return pool[off : off + n]

    def tool_id(self, m: Model, name: str, ms: int) -> str:
        self._tid += 1
        u = b62(fmix32((self._tid + self._salt) & M32), 6)
        if m.style == "anthropic":
            return f"toolu_01{self.slice(self.alnum, 16)}{u}"
        if m.api.endswith("responses"):
            return f"call_{self.slice(self.alnum, 18)}{u}|fc_{self.slice(self.hex, 40)}"
        if m.style == "google":
            return f"{name}_{ms}_{self._tid}"
        return f"call_{self.slice(self.alnum, 18)}{u}"

    def doc(self, lines: int) -> str:
        """Pre-escaped multi-line text (no surrounding quotes)."""
        start = ri(self.rng, len(self.docs) - lines)
        return "\\n".join(self.docs[start : start + lines])

    def prose(self, n: int) -> str:
        """``n`` pre-escaped sentences of assistant prose."""
        start = ri(self.rng, len(self.prose_pool) - n)
        return " ".join(self.prose_pool[start : start + n])

    def reason(self, thought: str) -> str:
        """A pre-escaped thinking text: the task's thought and a few sentences of reasoning."""
        return f"{jstr(thought)[1:-1]} {self.prose(ri(self.rng, 2, 12))}"

    def log(self, ms: int, level: int, subsystem: str, text: str) -> None:
        self.log_events.append((ms, level, subsystem, text))


def _doc_pool(rng: random.Random) -> list[str]:
    words = (
        "deploy backup nginx config token budget invoice calendar flight hotel notes memory "
        "agent session cache model latency retry queue worker schema index report draft "
        "kubernetes volume snapshot metrics alert owner review summary paper dataset"
    ).split()
    shapes = (
        "- [ ] {a} the {b} before {c}",
        "## {A} {b}",
        "{d}T0{h}:1{m}:3{m}Z INFO {a}: {b} ok in {n}ms",
        "    if {a}_{b} is None:\n        return {c}",
        "def {a}_{b}(self, {c}: int) -> None:",
        "| {a} | {b} | {n} | {c} |",
        "The {a} {b} was moved to {c}; see notes/{a}-{b}.md for the {c} log.",
        "{d} {a}.{b}: {n} items, {m} failed",
        "const {a}{A} = await {b}({c}, {{ retries: {m} }});",
    )
    out = []
    for i in range(3000):
        a, b, c = rng.choice(words), rng.choice(words), rng.choice(words)
        s = shapes[i % len(shapes)].format(
            a=a,
            b=b,
            c=c,
            A=a.capitalize(),
            n=ri(rng, 2, 9000),
            m=ri(rng, 0, 9),
            h=ri(rng, 0, 9),
            d=f"2026-10-{ri(rng, 1, 29):02d}",
        )
        out.append(jstr(s)[1:-1])
    return out


def _prose_pool(rng: random.Random) -> list[str]:
    things = (
        "the calendar",
        "the inbox",
        "the backup log",
        "the nginx errors",
        "the api pods",
        "the shopping list",
        "the flight options",
        "the hotel shortlist",
        "the paper",
        "the benchmark",
        "the disk usage",
        "the cert expiry dates",
        "the meeting notes",
        "the memory file",
        "the cron output",
        "the deploy",
    )
    shapes = (
        "The user wants {a}; I should check {b} first.",
        "{A} returned {n} items, so {b} is probably fine.",
        "I need to compare {a} with {b} before answering.",
        "Nothing in {a} looks urgent, but {b} changed since yesterday.",
        "If {a} fails again I will fall back to {b}.",
        "{A} mentions {n} entries; summarizing the top three is enough.",
        "Keep the answer short: one line about {a} and one about {b}.",
        "{A} is stale by {n} minutes, which is acceptable here.",
    )
    out = []
    for i in range(4000):
        a, b = rng.choice(things), rng.choice(things)
        text = shapes[i % len(shapes)].format(
            a=a, b=b, A=a[0].upper() + a[1:], n=rng.randrange(2, 400)
        )
        out.append(jstr(text)[1:-1])
    return out
