"""Line builders and content banks for :mod:`ingestor.demo`.

Owns: the exact byte shapes of OpenClaw transcript lines (key order as in
``openclaw-sample.jsonl``, JavaScript number formatting), the model catalogue with per-API usage
semantics and pi-ai style cost arithmetic, the canned tasks/tools the demo agents work on, and
:class:`Session`, which appends entries to one transcript and records, per line, what the
accounting rules will make of it (:class:`Rec`, :class:`CallAcct`). It never touches the disk.
"""

from __future__ import annotations

import base64
import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass

import orjson

DAY_MS = 86_400_000
M32 = 0xFFFFFFFF

#: Rec kinds: a non-message entry, a message entry (any role), a line the ingestor must reject.
OTHER, MSG, BAD = 0, 1, 2


def ri(rng: random.Random, a: int, b: int | None = None) -> int:
    """``rng.randrange`` for the hot paths (about 3x faster, equally deterministic)."""
    if b is None:
        return int(rng.random() * a)
    return a + int(rng.random() * (b - a))


def jstr(s: str) -> str:
    """A JSON string literal, as ``JSON.stringify`` writes it (no ASCII escaping)."""
    return orjson.dumps(s).decode()


def js_num(x: float) -> str:
    """Format a double the way JavaScript's ``Number.prototype.toString`` does."""
    if x == 0:
        return "0"
    r = repr(x)
    if "e" in r:
        mant, e_str = r.split("e")
        e = int(e_str)
        if e < -6:
            return f"{mant}e{e}"
        neg = mant.startswith("-")
        digits = mant.lstrip("-").replace(".", "")
        return ("-" if neg else "") + "0." + "0" * (-e - 1) + digits
    return r[:-2] if r.endswith(".0") else r


_DAYS: dict[int, str] = {}


def day_str(day: int) -> str:
    """``YYYY-MM-DD`` of a day number (days since the epoch, UTC)."""
    s = _DAYS.get(day)
    if s is None:
        s = _DAYS[day] = (dt.date(1970, 1, 1) + dt.timedelta(days=day)).isoformat()
    return s


_ISO_MIN = [-1, ""]


def iso(ms: int) -> str:
    """``Date.toISOString()`` of epoch milliseconds."""
    minute, r = divmod(ms, 60_000)
    if minute != _ISO_MIN[0]:
        d, mr = divmod(minute, 1440)
        _ISO_MIN[0], _ISO_MIN[1] = minute, f"{day_str(d)}T{mr // 60:02d}:{mr % 60:02d}:"
    return f"{_ISO_MIN[1]}{r // 1000:02d}.{r % 1000:03d}Z"


def archive_ts(ms: int) -> str:
    """Archive suffix timestamp: ISO with ``:`` replaced by ``-``."""
    return iso(ms).replace(":", "-")


def fork_ts(ms: int) -> str:
    """Fork file-name timestamp: ISO with ``:`` and ``.`` replaced by ``-``."""
    return archive_ts(ms).replace(".", "-")


def _last_sunday_1utc(year: int, month: int) -> int:
    last = dt.date(year, month, 31)
    last -= dt.timedelta(days=(last.weekday() + 1) % 7)
    return int(dt.datetime(last.year, last.month, last.day, 1, tzinfo=dt.UTC).timestamp() * 1000)


_DST: dict[int, tuple[int, int]] = {}
_WD = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def local_offset(ms: int) -> tuple[int, str]:
    """Gateway zone (Europe/Berlin rules, computed by hand): offset in ms and abbreviation."""
    year = int(day_str(ms // DAY_MS)[:4])
    rng = _DST.get(year)
    if rng is None:
        rng = _DST[year] = (_last_sunday_1utc(year, 3), _last_sunday_1utc(year, 10))
    return (7_200_000, "CEST") if rng[0] <= ms < rng[1] else (3_600_000, "CET")


def local_stamp(ms: int) -> str:
    """``Mon 2026-03-02 10:14 CET`` in the gateway zone."""
    off, abbr = local_offset(ms)
    lm = ms + off
    d = lm // DAY_MS
    hm = iso(lm)[11:16]
    return f"{_WD[(d + 3) % 7]} {day_str(d)} {hm} {abbr}"


def local_date(ms: int) -> str:
    off, _ = local_offset(ms)
    return day_str((ms + off) // DAY_MS)


def elapsed(prev: int | None, now: int) -> str:
    if prev is None:
        return ""
    mins = max(1, (now - prev) // 60_000)
    if mins < 60:
        return f" +{mins}m"
    if mins < 1440:
        return f" +{mins // 60}h"
    return f" +{mins // 1440}d"


def _fmix32(x: int) -> int:
    x ^= x >> 16
    x = (x * 0x85EBCA6B) & M32
    x ^= x >> 13
    x = (x * 0xC2B2AE35) & M32
    return x ^ (x >> 16)


_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def b62(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, r = divmod(n, 62)
        out.append(_B62[r])
    return "".join(out)


@dataclass(frozen=True)
class Model:
    """One model: where it is served, its API's usage semantics and its price per million."""

    provider: str
    model: str
    api: str
    style: str  # anthropic | openai | google | completions | local
    price: tuple[float, float, float, float]  # input, output, cacheRead, cacheWrite
    window: int


# fmt: off
MODELS: dict[str, Model] = {
    m.model if m.provider != "openrouter" else "or-" + m.model.split("/")[1]: m
    for m in (
        Model("anthropic", "claude-sonnet-4-5", "anthropic-messages", "anthropic",
              (3, 15, 0.3, 3.75), 200_000),
        Model("anthropic", "claude-haiku-4-5", "anthropic-messages", "anthropic",
              (1, 5, 0.1, 1.25), 200_000),
        Model("anthropic", "claude-opus-4-5", "anthropic-messages", "anthropic",
              (5, 25, 0.5, 6.25), 200_000),
        Model("openai", "gpt-5.2", "openai-responses", "openai", (1.75, 14, 0.175, 0), 400_000),
        Model("openai", "gpt-5-mini", "openai-responses", "openai", (0.25, 2, 0.025, 0), 400_000),
        Model("openai-codex", "gpt-5.2-codex", "openai-codex-responses", "openai",
              (1.75, 14, 0.175, 0), 400_000),
        Model("google", "gemini-2.5-flash", "google-generative-ai", "google",
              (0.3, 2.5, 0.075, 0), 1_000_000),
        Model("google", "gemini-2.5-pro", "google-generative-ai", "google",
              (1.25, 10, 0.125, 0), 1_000_000),
        Model("openrouter", "anthropic/claude-sonnet-4-5", "openai-completions", "completions",
              (3, 15, 0.3, 3.75), 200_000),
        Model("openrouter", "deepseek/deepseek-chat-v3.1", "openai-completions", "completions",
              (0.2, 0.8, 0.02, 0), 128_000),
        Model("ollama", "qwen3:32b", "openai-completions", "local", (0, 0, 0, 0), 40_000),
    )
}
# fmt: on


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
        return f"{_fmix32((self._eid + self._salt) & M32):08x}"

    def uuid(self) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"

    def slice(self, pool: str, n: int) -> str:
        off = ri(self.rng, len(pool) - n)
        return pool[off : off + n]

    def tool_id(self, m: Model, name: str, ms: int) -> str:
        self._tid += 1
        u = b62(_fmix32((self._tid + self._salt) & M32), 6)
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


# --------------------------------------------------------------------------- tasks and tools


@dataclass(frozen=True)
class Tool:
    """One tool call of a task: name, arguments (pre-serialized JSON) and its canned output."""

    name: str
    args: str
    result: str  # pre-escaped text, or "@doc"/"@spawn"/"@send"


@dataclass(frozen=True)
class Task:
    prompt: str
    thought: str
    rounds: tuple[tuple[Tool, ...], ...]
    answer: str


def _t(name: str, args: dict[str, object], result: str) -> Tool:
    return Tool(
        name, orjson.dumps(args).decode(), result if result.startswith("@") else jstr(result)[1:-1]
    )


def _task(prompt: str, thought: str, rounds: list[list[Tool]], answer: str) -> Task:
    return Task(prompt, thought, tuple(tuple(r) for r in rounds), answer)


# fmt: off
_SPAWN = _t("sessions_spawn", {"task": "Compare prices and reviews for the three shortlisted "
                               "options and return a ranked table", "label": "compare-options",
                               "cleanup": "keep"}, "@spawn")

TASKS: dict[str, list[Task]] = {
    "assistant": [
        _task("what's on my calendar today?", "The calendar CLI is available via exec.",
              [[_t("exec", {"command": "gog calendar list --today --json", "timeout": 30},
                   '[{"start":"11:00","title":"Dentist"},'
                   '{"start":"15:30","title":"1:1 with Leo"}]')]],
              "Two things today: Dentist at 11:00 and your 1:1 with Leo at 15:30."),
        _task("any important mail since this morning?", "Check the inbox with the gmail skill.",
              [[_t("exec", {"command": "gog gmail search 'is:unread newer_than:1d' --max 20"},
                   '[{"from":"bank@example.com","subject":"Statement ready"},'
                   '{"from":"leo@work.example","subject":"Re: Q4 plan"}]')],
               [_t("read", {"path": "memory/people.md"}, "@doc")]],
              "Two unread: your bank statement is ready, and Leo replied to the Q4 plan thread "
              "(he agrees with the timeline)."),
        _task("remind Leo that our 1:1 moves to 16:00", "Use the message tool to reach Leo.",
              [[_t("message", {"action": "send", "channel": "telegram", "to": "telegram:7713",
                               "message": "Heads-up: our 1:1 moves to 16:00 today."}, "@send")]],
              "Done, Leo has been told the 1:1 is at 16:00."),
        _task("find me a flight to Lisbon next friday and ask a helper to compare hotels",
              "Search flights, spawn a helper for hotels.",
              [[_SPAWN, _t("web_search", {"query": "flights Berlin to Lisbon Friday", "count": 5},
                           '{"results":[{"title":"BER-LIS from 89 EUR","url":"https://example'
                           '.com/f/1"},{"title":"TAP 07:05 direct","url":"https://example.com'
                           '/f/2"}]}')],
               [_t("browser", {"action": "open", "targetUrl": "https://www.google.com/travel"},
                   "Opened tab 3. Snapshot: 12 results, cheapest 89 EUR (easyJet 06:10), "
                   "TAP 07:05 direct 142 EUR.")]],
              "Cheapest is easyJet at 06:10 for 89 EUR; TAP has a 07:05 direct for 142 EUR. "
              "The hotel helper is on it."),
        _task("add milk, eggs and coffee beans to the shopping list",
              "Append to the shopping list file.",
              [[_t("read", {"path": "lists/shopping.md"}, "@doc")],
               [_t("edit", {"path": "lists/shopping.md", "oldText": "## Groceries",
                            "newText": "## Groceries\n- milk\n- eggs\n- coffee beans"},
                   "Successfully replaced text in lists/shopping.md.")]],
              "Added milk, eggs and coffee beans to your shopping list."),
        _task("what's the weather tomorrow in Berlin?", "Quick web search.",
              [[_t("web_fetch", {"url": "https://wttr.in/Berlin?format=j1", "extractMode": "text"},
                   "@doc")]],
              "Tomorrow in Berlin: 14°C, light rain until noon, then cloudy. Take an umbrella."),
        _task("book a table for 4 at Lucia on saturday 8pm", "Use the browser on the booking page.",
              [[_t("browser", {"action": "open", "targetUrl": "https://lucia.example/reserve"},
                   "Opened tab 4. Form: date, time, party size, name, phone.")],
               [_t("browser", {"action": "act", "kind": "fill", "ref": "e12", "text": "4"},
                   "Filled party size. Submitted. Confirmation code LUC-4471.")]],
              "Booked: Lucia, Saturday 20:00, 4 people. Confirmation LUC-4471."),
        _task("summarize the notes from yesterday's meeting", "Read the notes file.",
              [[_t("read", {"path": "notes/meeting.md"}, "@doc")]],
              "Key points: budget approved, launch moved two weeks, Leo owns the migration."),
    ],
    "ops": [
        _task("disk usage on the nas looks high, check it", "Run df over ssh.",
              [[_t("exec", {"command": "ssh nas df -h /volume1", "timeout": 60},
                   "Filesystem  Size  Used Avail Use% Mounted on\n"
                   "/dev/md2  7.3T  6.6T  712G  91% /volume1")],
               [_t("exec", {"command": "ssh nas du -sh /volume1/* | sort -h | tail -5"},
                   "310G\t/volume1/photos\n1.2T\t/volume1/backups\n4.8T\t/volume1/media")]],
              "The NAS is at 91%; 4.8T is media and 1.2T backups. Pruning backups older than 90 "
              "days would free about 400G."),
        _task("is the api healthy after the deploy?", "Check pods and recent errors.",
              [[_t("exec", {"command": "kubectl -n prod get pods -l app=api -o wide"},
                   "NAME READY STATUS RESTARTS AGE\napi-7d9f-x2 1/1 Running 0 12m\n"
                   "api-7d9f-k8 1/1 Running 0 12m"),
                _t("exec", {"command": "kubectl -n prod logs deploy/api --since=15m | grep -c E"},
                   "3")],
               [_t("read", {"path": "runbooks/api.md"}, "@doc")]],
              "Both api pods are Running with no restarts; 3 errors in 15 minutes, all timeouts "
              "to the payment sandbox. Healthy."),
        _task("restart the worker queue, it's stuck", "Restart via systemctl.",
              [[_t("exec", {"command": "sudo systemctl restart queue-worker && "
                                       "systemctl is-active queue-worker"}, "active")]],
              "queue-worker restarted and is active again."),
        _task("check tls cert expiry for all public hosts", "Loop over hosts with openssl.",
              [[_t("exec", {"command": "for h in www api status; do echo $h; echo | openssl "
                                       "s_client -connect $h.example.com:443 2>/dev/null | "
                                       "openssl x509 -noout -enddate; done"},
                   "www\nnotAfter=Dec 28 08:12:01 2026 GMT\napi\nnotAfter=Nov 19 10:40:55 "
                   "2026 GMT\nstatus\nnotAfter=Jan 30 00:00:00 2027 GMT")]],
              "api.example.com expires first (Nov 19); www Dec 28, status Jan 30. I'd renew api "
              "this week."),
        _task("grep the nginx logs for 5xx in the last hour", "Search access logs.",
              [[_t("exec", {"command": "sudo awk '$9 ~ /^5/' /var/log/nginx/access.log | tail"},
                   "@doc")]],
              "Found 41 5xx responses, mostly 502 from /api/v1/export between 10:02 and 10:09."),
        _task("did last night's backup succeed?", "Read the backup log.",
              [[_t("read", {"path": "/var/log/restic/last.log"}, "@doc")]],
              "Yes, restic finished at 03:41 with 0 errors; 2.1 GB added."),
        _task("open an incident summary for the export outage", "Write a markdown summary.",
              [[_t("write", {"path": "incidents/export-outage.md",
                             "content": "# Export outage\n\n- 10:02 502s\n- 10:09 recovered\n"},
                   "Successfully wrote 912 bytes to incidents/export-outage.md")]],
              "Incident summary written to incidents/export-outage.md."),
    ],
    "research": [
        _task("find recent papers on speculative decoding and summarize the top 3",
              "Search, then fetch abstracts.",
              [[_t("web_search", {"query": "speculative decoding 2026 arxiv", "count": 8},
                   '{"results":[{"title":"Medusa-3","url":"https://arxiv.org/abs/2609.01234"},'
                   '{"title":"EAGLE-4","url":"https://arxiv.org/abs/2608.04321"}]}')],
               [_t("web_fetch", {"url": "https://arxiv.org/abs/2609.01234", "extractMode": "md"},
                   "@doc"),
                _t("web_fetch", {"url": "https://arxiv.org/abs/2608.04321", "extractMode": "md"},
                   "@doc")]],
              "Top 3: Medusa-3 (tree drafts, 3.1x), EAGLE-4 (feature-level drafting, 3.6x) and "
              "a survey. Notes saved."),
        _task("compare duckdb and polars for our 50GB parquet workload", "Look up benchmarks.",
              [[_t("web_search", {"query": "duckdb vs polars parquet benchmark 2026", "count": 5},
                   '{"results":[{"title":"TPC-H SF50 results","url":"https://example.org/b"}]}')],
               [_t("web_fetch", {"url": "https://example.org/b", "extractMode": "markdown"},
                   "@doc")],
               [_t("write", {"path": "notes/duckdb-vs-polars.md", "content": "# Comparison\n..."},
                   "Successfully wrote 2381 bytes to notes/duckdb-vs-polars.md")]],
              "For 50GB parquet both work; DuckDB spills to disk more gracefully, Polars is "
              "faster in-memory. Details in notes/duckdb-vs-polars.md."),
        _task("what did we conclude about vector db choice last month?", "Search memory first.",
              [[_t("memory_search", {"query": "vector database decision"},
                   '{"results":[{"path":"memory/2026-09-12.md","snippet":"Decided on pgvector;'
                   ' revisit at 50M rows."}]}')],
               [_t("read", {"path": "memory/2026-09-12.md"}, "@doc")]],
              "We chose pgvector on 12 Sep, to revisit at 50M rows."),
        _task("draft a literature review outline on agent evaluation", "Outline from notes.",
              [[_t("read", {"path": "notes/agent-eval.md"}, "@doc")],
               [_t("write", {"path": "drafts/agent-eval-outline.md",
                             "content": "# Outline\n1. Benchmarks\n2. Harnesses\n"},
                   "Successfully wrote 1766 bytes to drafts/agent-eval-outline.md")]],
              "Outline drafted in drafts/agent-eval-outline.md: benchmarks, harnesses, cost, "
              "open problems."),
        _task("ask a helper to collect citation counts for these 12 papers",
              "Delegate to a subagent.", [[_SPAWN]],
              "A helper is collecting citation counts; I'll post the table when it reports back."),
        _task("explain the difference between kv-cache quantization methods",
              "Answer from knowledge.", [],
              "Per-channel key quantization keeps outlier channels accurate; per-token value "
              "quantization is cheaper. KIVI mixes both at 2 bits."),
    ],
}

SUB_TASKS: list[Task] = [
    _task("", "Work through the task.",
          [[_t("web_search", {"query": "compare options prices reviews", "count": 10},
               '{"results":[{"title":"Option A 79 EUR","url":"https://example.com/a"},'
               '{"title":"Option B 95 EUR","url":"https://example.com/b"}]}')],
           [_t("web_fetch", {"url": "https://example.com/a", "extractMode": "markdown"}, "@doc")]],
          "| rank | option | price | rating |\n|---|---|---|---|\n| 1 | A | 79 | 4.5 |\n"
          "| 2 | B | 95 | 4.3 |"),
]

HEARTBEAT_PROMPT = ("Read HEARTBEAT.md if it exists (workspace context). Follow it strictly. "
                    "If nothing needs attention, reply HEARTBEAT_OK.")
TINY_PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9"
            "awAAAABJRU5ErkJggg==")
SYNTH_REPAIR = ("[openclaw] missing tool result in session history; inserted synthetic error "
                "result for transcript repair.")
ERRORS = (
    ("error", '529 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'),
    ("error", "429 rate_limit_error: This request would exceed your rate limit."),
    ("error", "500 Internal server error"),
    ("timeout", "LLM request timed out."),
)
_DOC_LINES = {"web_fetch": (80, 800), "exec": (30, 300)}
_TOOL_ERR = {
    "exec": "Command exited with code 1\nssh: connect to host nas port 22: Connection timed out",
    "web_search": '{\n  "error": "missing_brave_api_key",\n  "message": "web_search needs a '
                  'Brave Search API key."\n}',
    "browser": "Error: tab not found (ref e12). Take a new snapshot.",
}
# fmt: on

# --------------------------------------------------------------------------- session writer


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
    def _pid(self) -> str:
        return "null" if self.leaf is None else f'"{self.leaf}"'

    def entry(self, typ: str, body: str, kind: int = OTHER, call: CallAcct | None = None) -> str:
        eid = self.c.eid()
        self.recs.append(
            Rec(
                f'{{"type":"{typ}","id":"{eid}","parentId":{self._pid()},"timestamp":"{iso(self.t)}",'
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
                f'"parentId":{self._pid()},"timestamp":"{iso(self.t)}"}}\n'.encode(),
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
            f'"summary":{jstr(_SUMMARY)},"firstKeptEntryId":"{kept}",'
            f'"tokensBefore":{self.ctx_tok},"details":{{"readFiles":["AGENTS.md",'
            f'"HEARTBEAT.md"],"modifiedFiles":["memory/notes.md"]}},"fromHook":true',
        )
        self.ctx_tok = ri(self.c.rng, 9_000, 14_000)
        self.cache_until = 0
        self.compactions += 1


_SUMMARY = (
    "## Goal\nHelp with daily errands and requests.\n\n## Progress\n- Answered calendar "
    "and mail questions.\n- Booked a table, updated the shopping list.\n\n## Next steps\n"
    "- None pending."
)


# --------------------------------------------------------------------------- turns

SpawnCb = Callable[[Session, Tool, str], str]


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
            text = tool.result
            if tool.result == "@doc":
                text = c.doc(ri(rng, *_DOC_LINES.get(tool.name, (40, 600))))
            elif tool.result == "@spawn":
                assert spawn is not None
                text = spawn(s, tool, tid)
            elif tool.result == "@send":
                text = jstr(f'{{"ok":true,"messageId":"{ri(rng, 1000, 99999)}"}}')[1:-1]
            if err:
                text = jstr(_TOOL_ERR.get(tool.name, "Error: operation failed"))[1:-1]
                acct.tool_err += 1
            dur = ri(rng, 40, 2500) if tool.name != "exec" else ri(rng, 200, 9000)
            details: str | None = None
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
