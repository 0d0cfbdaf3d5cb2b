"""Static banks for :mod:`ingestor.demo`: models, agent profiles, tasks and canned texts.

Owns: the model catalogue (where each model is served, its API's usage semantics, its price
per million tokens), the three agent flavours (models, people, channel mix, cron jobs), the
canned tasks and tool calls the demo agents work on, and the fixed texts (heartbeat prompt,
errors, tool failures, compaction summary, session names). Data only: nothing here draws
random numbers or builds lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from ingestor.demo_format import jstr


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
    ("error", '529 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'),
    ("error", "429 rate_limit_error: This request would exceed your rate limit."),
    ("error", "fetch failed: ECONNRESET"),
    ("timeout", "LLM request timed out."),
)
DOC_LINES = {"web_fetch": (80, 800), "exec": (30, 300)}
TOOL_ERR = {
    "exec": "Command exited with code 1\nssh: connect to host nas port 22: Connection timed out",
    "web_search": '{\n  "error": "missing_brave_api_key",\n  "message": "web_search needs a '
                  'Brave Search API key."\n}',
    "browser": "Error: tab not found (ref e12). Take a new snapshot.",
    "read": "ENOENT: no such file or directory",
}
# fmt: on

SUMMARY = (
    "## Goal\nHelp with daily errands and requests.\n\n## Progress\n- Answered calendar "
    "and mail questions.\n- Booked a table, updated the shopping list.\n\n## Next steps\n"
    "- None pending."
)

HEARTBEAT = Task(HEARTBEAT_PROMPT, "", (), "HEARTBEAT_OK")
HOME = "/home/ana/.openclaw"
_SPAWN_DEL = _t(
    "sessions_spawn",
    {
        "task": "Collect the numbers from the three dashboards and summarize anomalies",
        "label": "dash-sweep",
        "cleanup": "delete",
    },
    "@spawn",
)
#: Quirk tasks: two sub-agents cleaned up by deletion; an ``active-memory`` recall.
SPAWN_TASK = Task(
    "check the three dashboards via helpers",
    "Delegate.",
    ((_SPAWN_DEL, _SPAWN_DEL),),
    "Two helpers are on it.",
)
MEMORY_TASK = Task(
    "",
    "Search memory.",
    ((_t("memory_search", {"query": "recent plans"}, '{"results":[]}'),),),
    "NONE",
)

# --------------------------------------------------------------------------- agent profiles

FLAVORS = ("assistant", "ops", "research")
PROFILES: dict[str, dict[str, Any]] = {
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
PEERS = (("Leo B", "leo_b", 7713), ("Noor A", "noora", 8120), ("Jon T", "jont", 9034))

NAMES = (
    "Morning errands",
    "Trip planning",
    "Inbox zero",
    "Deploy check",
    "Reading list",
    "Weekly review",
    "Backups",
    "Paper notes",
)
