"""The index files and gateway logs of :mod:`ingestor.demo`, written once at the end.

Owns: ``agents/<id>/sessions/sessions.json``, ``cron/jobs.json`` and ``cron/runs/<job>.jsonl``,
``subagents/runs.json``, and ``logs/openclaw-YYYY-MM-DD.log`` (tslog JSON lines, split by the
gateway's local date, with a few daily connection/health lines added to the collected events).
"""

from __future__ import annotations

import orjson

from ingestor.demo_corpus import Corpus
from ingestor.demo_format import DAY_MS, iso, jstr, local_date, ri

LOG_LEVELS = ("SILLY", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")


def write_indexes(w: Corpus, days: int) -> None:
    """Write the index files and the gateway logs of a corpus of ``days`` days."""
    o, out = w.o, w.out
    for agent in o.agents:
        w.write(
            w.sdir(agent) / "sessions.json",
            orjson.dumps(w.index[agent], option=orjson.OPT_INDENT_2),
        )
    created = w.day0 * DAY_MS + 60_000
    jobs = []
    for j in w.jobs:
        last = j.get("last")
        state = (
            {"lastRunAtMs": last[0], "lastStatus": "ok", "lastDurationMs": last[1]} if last else {}
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
    w.write(
        out / "cron" / "jobs.json",
        orjson.dumps({"version": 1, "jobs": jobs}, option=orjson.OPT_INDENT_2),
    )
    for jid, lines in w.cron_log.items():
        w.write(out / "cron" / "runs" / f"{jid}.jsonl", b"".join(lines))
    w.write(
        out / "subagents" / "runs.json",
        orjson.dumps({"version": 2, "runs": w.runs}, option=orjson.OPT_INDENT_2),
    )
    rng = w.c.rng
    for d in range(days):
        base = (w.day0 + d) * DAY_MS
        w.c.log(
            base + 5 * 3_600_000 + ri(rng, 0, 600_000),
            3,
            "telegram",
            "telegram provider connected (polling)",
        )
        w.c.log(
            base + 13 * 3_600_000 + ri(rng, 0, 3_600_000),
            3,
            "gateway",
            "gateway health ok: channels=2 agents=" + str(len(o.agents)),
        )
    per_day: dict[str, list[tuple[int, bytes]]] = {}
    for ms, level, sub, text in w.c.log_events:
        per_day.setdefault(local_date(ms), []).append((ms, _log_line(ms, level, sub, text)))
    for date, items in sorted(per_day.items()):
        items.sort(key=lambda x: x[0])
        w.write(out / "logs" / f"openclaw-{date}.log", b"".join(x[1] for x in items))


def _log_line(ms: int, level: int, sub: str, text: str) -> bytes:
    """One gateway log line (tslog JSON) in the shape OpenClaw writes."""
    name = jstr(f'{{"subsystem":"{sub}"}}')
    t = iso(ms)
    return (
        f'{{"0":{name},"1":{jstr(text)},"_meta":{{"runtime":"Nodejs","runtimeVersion":'
        f'"v22.12.0","hostname":"mini","name":{name},"parentNames":["openclaw"],'
        f'"date":"{t}","logLevelId":{level},"logLevelName":"{LOG_LEVELS[level]}","path":'
        f'{{"fileName":"subsystem.js","fileLine":"201"}}}},"time":"{t}"}}\n'
    ).encode()
