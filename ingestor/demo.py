"""Deterministic generator of realistic OpenClaw state dirs, and their ground truth.

Owns: the public API (:class:`DemoOptions`, :func:`generate`, :class:`Expected`: the numbers
``accounting.md`` yields for what was written, computed from the generator's own knowledge while
writing, never by reading files back) and the schedule: which sessions and quirks each day holds,
and how many days a ``target_bytes`` corpus needs. The corpus layout (``agents/<id>/sessions/``
transcripts, archives and sidecars, ``sessions.json`` per agent, ``cron/jobs.json`` and
``cron/runs/``, ``subagents/runs.json``, ``logs/openclaw-YYYY-MM-DD.log``) is written by
:mod:`ingestor.demo_corpus` (files and accounting), :mod:`ingestor.demo_sessions` (everyday
sessions), :mod:`ingestor.demo_quirks` and :mod:`ingestor.demo_indexes`; transcript lines are
built by :mod:`ingestor.demo_content` and :mod:`ingestor.demo_turns` from the banks in
:mod:`ingestor.demo_bank`, with :mod:`ingestor.demo_ctx` (rng, ids, records) and
:mod:`ingestor.demo_format` (JavaScript-compatible text and time).

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
They recur every 14 days (all of them land in the first days of shorter corpora). Always
present: error/aborted/timeout/length calls, fallbacks to another provider without a
``model_change``, missing/``isError``/synthetic-repair tool results, compactions, branch
summaries, and sessions crossing UTC midnight (never on the last day: every timestamp stays
inside ``[start, start + days)``, where ``days`` grows in ``target_bytes`` mode).

Identity: entry ids come from a bijection of a corpus-wide counter, so (id, timestamp) is
unique except for the intended copies (fork prefixes, the duplicated line, ``.bak`` and
``.checkpoint`` twins). Each line is a :class:`~ingestor.demo_ctx.Rec` shared by its
copies, and :class:`Expected` counts a message the first time a counted file carries it
(parents are written before their forks, so copies belong to the earlier header).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingestor.demo_bank import PEERS
from ingestor.demo_corpus import Corpus
from ingestor.demo_format import DAY_MS, day_str, ri
from ingestor.demo_indexes import write_indexes
from ingestor.demo_quirks import write_quirk
from ingestor.demo_sessions import dm_session, main_session, scheduled_session


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
    """Write an OpenClaw state dir under ``out`` and return its ground truth.

    ``out`` must be missing or empty (stale files would make the ground truth wrong). Same
    options, same bytes: everything random comes from ``random.Random(options.seed)``.
    """
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"demo output directory is not empty: {out}")
    return _run(Corpus(out, options, Expected()))


# --------------------------------------------------------------------------- schedule


def _run(w: Corpus) -> Expected:
    """Write day after day until ``days`` (and ``target_bytes``) are reached, then the indexes."""
    o, d = w.o, 0
    while True:
        w.day_max = 0
        final = d >= o.days - 1 and (
            o.target_bytes is None
            or w.e.bytes_written + (w.e.bytes_written // d if d else 0) >= o.target_bytes
        )
        _day(w, d, final)
        spill = w.day_max >= (w.day0 + d + 1) * DAY_MS
        d += 1
        if (
            d >= o.days
            and not spill
            and (o.target_bytes is None or w.e.bytes_written >= o.target_bytes)
        ):
            break
    write_indexes(w, d)
    e = w.e
    e.sessions = len(w.sids)
    e.calls_by_day_utc = {day_str(k): v for k, v in sorted(w.by_day.items())}
    return e


def _day(w: Corpus, d: int, final: bool) -> None:
    """Day ``d``: per agent its main session and scheduled ones, then the quirks due today."""
    o, rng = w.o, w.c.rng
    base = (w.day0 + d) * DAY_MS
    last_start = base + (19 if final else 22) * 3_600_000
    period = min(14, max(1, o.days))
    quirks = [k for k in range(7) if k % period == d % period] if o.include_quirks else []
    w.cron_today.clear()
    for ai, agent in enumerate(o.agents):
        prof = w.prof(agent)
        n = int(o.sessions_per_day * rng.uniform(0.5, 1.5) + rng.random())
        if n <= 0:
            continue
        main_session(w, agent, base, final, big=o.big_line_bytes if d == 0 and ai == 0 else 0)
        slots = sorted(
            (base + ri(rng, 6 * 3_600_000, last_start - base), w.pick(prof["kinds"]))
            for _ in range(n - 1)
        )
        for start, kind in slots:
            if kind == "topic" and not o.include_quirks:
                kind = "dm"
            scheduled_session(w, agent, kind, start, base, last_start)
        if ai == 0 and d % 5 == 2 and not final:  # crosses UTC midnight
            peer = PEERS[0]
            dm_session(
                w,
                agent,
                base + DAY_MS - ri(rng, 4, 10) * 60_000,
                peer,
                turns=3,
                gap=(120_000, 300_000),
            )
    for k in quirks:
        write_quirk(w, o.agents[k % len(o.agents)], k, base, last_start)
