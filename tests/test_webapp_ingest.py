"""The Ingest page against a hand-checked database (``FILES`` and ``ERRORS`` below, on top of
``seed_small``): its queries with exact numbers (files by state, lines, last activity, skipped
files by reason, errors by severity, by problem, newest first, by file; the agent, severity
and escaped text filters), the problem rules on the ingestor's own reason texts, its callbacks
and their empty states, and the page on a database the real ingestor wrote, on SQLite and on
PostgreSQL (the same numbers as the ingest pass printed)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import plotly.utils
import pytest
from sqlalchemy import Connection, insert, update

sys.path.insert(0, str(Path(__file__).parent))

from test_webapp_callbacks import by_id, state, texts, use_db, walk
from webapp_seed import NOW_MS, ms, seed_empty, seed_small

from ingestor.config import IngestSettings, ServeSettings
from ingestor.daemon import build
from ingestor.db import make_engine, make_readonly_engine
from ingestor.demo import DemoOptions, generate
from ingestor.schema import ingest_errors, sources
from webapp.context import AppContext, set_context
from webapp.pages import PAGES, ingest, overview, resolve
from webapp.queries import ingest as IQ
from webapp.queries.base import Filters
from webapp.timeranges import resolve_range

HOST = "test-host"
ROOT = "/s/agents"
UUID_A = "aaaaaaaa-1111-2222-3333-444444444444"
# id, kind, agent, state, path, skip reason, lines, last seen (UTC). seed_small's gateway log
# is source 1 (no agent); the fixture gives it 10 lines and a last sighting at 11:00.
FILES: list[tuple[int, str, str, str, str, str | None, int, str]] = [
    (10, "jsonl", "main", "active", f"{ROOT}/main/sessions/{UUID_A}.jsonl", None, 100,
     "2025-03-15T12:00"),
    (11, "jsonl", "main", "archived",
     f"{ROOT}/main/sessions/bbbbbbbb.jsonl.reset.2025-03-10T08-00-00.000Z", None, 50,
     "2025-03-10T08:00"),
    (12, "jsonl", "ops", "gone", f"{ROOT}/ops/sessions/cccc.jsonl", None, 20, "2025-03-12T00:00"),
    (13, "jsonl", "ops", "skipped", f"{ROOT}/ops/sessions/notes.jsonl",
     "not a transcript: first line is not an entry", 1, "2025-03-14T09:00"),
    (14, "jsonl", "main", "skipped", f"{ROOT}/main/sessions/x.jsonl",
     "not a transcript: first line is not an entry", 1, "2025-03-14T10:00"),
    (15, "jsonl", "research", "skipped", f"{ROOT}/research/sessions/y.jsonl",
     "not a transcript: no string 'type' field", 1, "2025-03-13T00:00"),
    (16, "sqlite_store", "research", "active", f"{ROOT}/research/agent/openclaw-agent.sqlite",
     None, 40, "2025-03-15T12:10"),  # the newest sighting: 20 minutes before "now"
    (17, "jsonl", "main", "skipped", f"{ROOT}/main/sessions/z.jsonl",
     "not a transcript: first line is not an entry", 1, "2025-03-11T00:00"),
    (18, "jsonl", "main", "skipped", f"{ROOT}/main/sessions/w.jsonl",
     "not a transcript: first line is not an entry", 1, "2025-03-09T00:00"),
    (19, "jsonl", "main", "replaced", f"{ROOT}/main/sessions/v.jsonl", None, 5,
     "2025-03-08T00:00"),
]  # fmt: skip
GATEWAY_LOG = "/tmp/openclaw/openclaw-2025-03-15.log"
# (source, recorded at (UTC), severity, reason, offset); ids 1 … 12 in this order. The last
# 7 days (Mar 9 … 15) hold all but e10: 7 errors and 4 warnings. e7 and e8 tell an escaped
# LIKE from a wildcard one ("cost_50%" is literal in e7 only); e11 is a store's warning with
# the session appended.
ERRORS: list[tuple[int, str, str, str, int]] = [
    (10, "2025-03-15T12:00", "error",
     "invalid JSON: unexpected character: line 1 column 5 (char 4)", 100),  # e1
    (10, "2025-03-15T12:00", "error",
     "invalid JSON: unexpected end of data: line 1 column 148 (char 147)", 200),  # e2
    (10, "2025-03-15T12:00", "warning", "usage.input is not a number ('12'); counted as 0",
     300),  # e3
    (11, "2025-03-14T08:00", "warning", "usage.input is not a number ('x'); counted as 0",
     10),  # e4
    (11, "2025-03-14T08:00", "error", "blank line", 20),  # e5
    (12, "2025-03-13T00:00", "error", "not a JSON object (list)", 30),  # e6
    (16, "2025-03-15T12:10", "error",
     "unexpected entry shape: KeyError('cost_50%') [session s-1]", 7),  # e7
    (16, "2025-03-15T12:10", "error",
     "unexpected entry shape: KeyError('costX50 pct') [session s-2]", 8),  # e8
    (1, "2025-03-15T11:00", "error", "log line without a valid 'time' or '_meta.date'",
     4000),  # e9
    (10, "2025-03-01T00:00", "error", "blank line", 400),  # e10: older than 7 days
    (16, "2025-03-15T12:10", "warning", "invalid UTF-8 replaced [session s-3]", 11),  # e11
    (12, "2025-03-13T00:00", "warning", "usage.cacheWrite is -42; counted as 0", 40),  # e12
]  # fmt: skip


def seed_ingest(db: Path) -> Path:
    """``seed_small`` plus the files and errors above."""
    seed_small(db)
    path_of = {f[0]: f[4] for f in FILES} | {1: GATEWAY_LOG}
    engine = make_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(update(sources).values(lines=10, last_seen_ms=ms("2025-03-15T11:00")))
        conn.execute(
            insert(sources),
            [
                {
                    "id": sid,
                    "host_id": HOST,
                    "kind": kind,
                    "path": path,
                    "agent_id": agent,
                    "read_offset": 0,
                    "state": st,
                    "skip_reason": skip,
                    "lines": lines,
                    "first_seen_ms": ms("2025-03-01T00:00"),
                    "last_seen_ms": ms(last),
                }
                for sid, kind, agent, st, path, skip, lines, last in FILES
            ],
        )
        conn.execute(
            insert(ingest_errors),
            [
                {
                    "source_id": sid,
                    "host_id": HOST,
                    "path": path_of[sid],
                    "line_offset": offset,
                    "severity": severity,
                    "reason": reason,
                    "excerpt": f"line {i + 1}",
                    "created_ms": ms(at),
                }
                for i, (sid, at, severity, reason, offset) in enumerate(ERRORS)
            ],
        )
    engine.dispose()
    return db


@pytest.fixture(scope="module")
def ingest_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seed_ingest(tmp_path_factory.mktemp("ingest") / "ingest.sqlite")


@pytest.fixture
def conn(ingest_db: Path) -> Any:
    engine = make_readonly_engine(f"sqlite:///{ingest_db}")
    with engine.connect() as c:
        yield c
    engine.dispose()


@pytest.fixture
def app_ctx(ingest_db: Path) -> AppContext:
    return use_db(ingest_db)


def week(tz: str = "UTC", **kw: Any) -> Filters:
    r = resolve_range("7d", tz, NOW_MS)
    return Filters(r.since_ms, r.until_ms, tz, **kw)


def ids(rows: list[dict[str, Any]]) -> list[int]:
    return [r["id"] for r in rows]


# --- queries: files -------------------------------------------------------------------------


def test_file_summary(conn: Connection) -> None:
    assert IQ.file_summary(conn, week()) == {
        "states": {"active": 3, "archived": 1, "gone": 1, "skipped": 5, "replaced": 1},
        # by kind: 9 JSONL transcripts, the store, the gateway log; no sessions.json here
        "kinds": {"transcripts": 9, "gateway logs": 1, "SQLite stores": 1, "sessions.json": 0},
        "files": 11,
        # what `ingest` counts as files: all but the gone (12) and the replaced (19) one
        "cli_files": 9,
        "lines": 10 + 100 + 50 + 20 + 5 * 1 + 40 + 5,
        "last_seen_ms": ms("2025-03-15T12:10"),
    }
    # all time whatever the range; the agent filter keeps that agent's files and the gateway
    # log (no agent)
    assert IQ.file_summary(conn, Filters()) == IQ.file_summary(conn, week())
    assert IQ.file_summary(conn, week(agents=("ops",))) == {
        "states": {"active": 1, "archived": 0, "gone": 1, "skipped": 1},
        "kinds": {"transcripts": 2, "gateway logs": 1, "SQLite stores": 0, "sessions.json": 0},
        "files": 3,
        "cli_files": 2,
        "lines": 10 + 20 + 1,
        "last_seen_ms": ms("2025-03-15T11:00"),
    }


def test_skipped_reasons(conn: Connection) -> None:
    assert IQ.skipped_reasons(conn, week()) == [
        {
            "reason": "not a transcript: first line is not an entry",
            "files": 4,
            # the 3 most recently seen of the 4
            "examples": [f"{ROOT}/main/sessions/x.jsonl", f"{ROOT}/ops/sessions/notes.jsonl",
                         f"{ROOT}/main/sessions/z.jsonl"],
        },
        {
            "reason": "not a transcript: no string 'type' field",
            "files": 1,
            "examples": [f"{ROOT}/research/sessions/y.jsonl"],
        },
    ]  # fmt: skip
    assert IQ.skipped_reasons(conn, week(agents=("ops",))) == [
        {
            "reason": "not a transcript: first line is not an entry",
            "files": 1,
            "examples": [f"{ROOT}/ops/sessions/notes.jsonl"],
        }
    ]
    assert [r["files"] for r in IQ.skipped_reasons(conn, week(), examples=1, limit=1)] == [4]


# --- queries: errors ------------------------------------------------------------------------


def test_error_counts_and_extent(conn: Connection) -> None:
    assert IQ.error_counts(conn, week()) == {"error": 7, "warning": 4}
    assert IQ.error_counts(conn, Filters()) == {"error": 8, "warning": 4}  # + e10
    # ops: its gone file (e6, e12) and the gateway log, which has no agent (e9)
    assert IQ.error_counts(conn, week(agents=("ops",))) == {"error": 2, "warning": 1}
    assert IQ.error_counts(conn, week(agents=("main", "research"))) == {"error": 6, "warning": 3}
    assert IQ.error_counts(conn, week(), IQ.ErrorQuery(("warning",))) == {
        "error": 0, "warning": 4}  # fmt: skip
    assert IQ.errors_extent(conn) == (ms("2025-03-01T00:00"), ms("2025-03-15T12:10") + 1)
    assert IQ.has_errors(conn, week())
    assert not IQ.has_errors(conn, Filters(ms("2025-01-01T00:00"), ms("2025-02-01T00:00")))


def test_problems_fold_per_line_details(conn: Connection) -> None:
    rows = IQ.problems(conn, week())
    assert [(r["problem"], r["severity"], r["lines"], r["files"]) for r in rows] == [
        ("invalid JSON", "error", 2, 1),
        ("unexpected entry shape", "error", 2, 1),
        ("usage.input is not a number; counted as 0", "warning", 2, 2),
        ("blank line", "error", 1, 1),  # e10 is older than the range
        ("log line without a valid 'time' or '_meta.date'", "error", 1, 1),
        ("not a JSON object (list)", "error", 1, 1),
        ("invalid UTF-8 replaced", "warning", 1, 1),  # a store's "[session s-3]" left out
        ("usage.cacheWrite is negative, too large or not finite; counted as 0", "warning", 1, 1),
    ]
    first = rows[0]
    assert first["example"] == "invalid JSON: unexpected end of data: line 1 column 148 (char 147)"
    assert first["last_ms"] == ms("2025-03-15T12:00")
    ops = IQ.problems(conn, week(agents=("ops",)))
    assert [(r["problem"], r["lines"]) for r in ops] == [
        ("log line without a valid 'time' or '_meta.date'", 1),
        ("not a JSON object (list)", 1),
        ("usage.cacheWrite is negative, too large or not finite; counted as 0", 1),
    ]
    assert len(IQ.problems(conn, week(), limit=2)) == 2


def test_recent_errors_newest_first(conn: Connection) -> None:
    rows = IQ.recent_errors(conn, week())
    assert ids(rows) == [11, 8, 7, 3, 2, 1, 9, 5, 4, 12, 6]  # same time: the later id first
    assert rows[0] == {
        "id": 11,
        "created_ms": ms("2025-03-15T12:10"),
        "severity": "warning",
        "source_id": 16,
        "path": f"{ROOT}/research/agent/openclaw-agent.sqlite",
        "line_offset": 11,
        "reason": "invalid UTF-8 replaced [session s-3]",
        "excerpt": "line 11",
    }
    assert ids(IQ.recent_errors(conn, week(), limit=3)) == [11, 8, 7]
    assert ids(IQ.recent_errors(conn, Filters()))[-1] == 10
    assert ids(IQ.recent_errors(conn, week(), IQ.ErrorQuery(("warning",)))) == [11, 3, 4, 12]
    assert ids(IQ.recent_errors(conn, week(), IQ.ErrorQuery(("error",)))) == [8, 7, 2, 1, 9, 5, 6]
    assert ids(IQ.recent_errors(conn, week(agents=("ops",)))) == [9, 12, 6]


def test_text_search_is_escaped_and_case_insensitive(conn: Connection) -> None:
    def search(text: str, *severities: str) -> list[int]:
        return ids(IQ.recent_errors(conn, week(), IQ.ErrorQuery(severities, text)))

    assert search("cost_50%") == [7]  # not e8's "costX50 pct"
    assert search("%") == [7]
    assert search("_") == [7, 9]  # "cost_50%" and "'_meta.date'"
    assert search("COST") == [8, 7]
    assert search("openclaw-2025") == [9]  # the path
    assert search("cccc.jsonl") == [12, 6]
    assert search("cccc.jsonl", "warning") == [12]
    assert search("no such text") == []
    assert IQ.error_counts(conn, week(), IQ.ErrorQuery((), "usage.")) == {"error": 0, "warning": 3}


def test_window_of_the_most_recent(conn: Connection) -> None:
    # newest first: 12:10 (3 lines), 12:00 (3), 11:00, Mar 14 (2), Mar 13 (2)
    assert IQ.window_start(conn, week(), 11) is None  # the week holds exactly 11
    assert IQ.window_start(conn, week(), 10) == ms("2025-03-13T00:00")
    assert IQ.window_start(conn, week(), 5) == ms("2025-03-15T12:00")  # the 5th newest
    assert IQ.window_start(conn, Filters(), 11) == ms("2025-03-13T00:00")  # + e10 (Mar 1)
    assert IQ.window_start(conn, week()) is None  # the default: 100,000


def test_files_with_the_most_errors(conn: Connection) -> None:
    rows = IQ.error_files(conn, week())
    assert [(r["source_id"], r["errors"], r["warnings"]) for r in rows] == [
        (10, 2, 1), (16, 2, 1), (11, 1, 1), (12, 1, 1), (1, 1, 0)]  # fmt: skip
    assert rows[0] == {
        "source_id": 10,
        "path": f"{ROOT}/main/sessions/{UUID_A}.jsonl",
        "kind": "jsonl",
        "state": "active",
        "errors": 2,
        "warnings": 1,
        "lines": 100,
    }
    assert [r["source_id"] for r in IQ.error_files(conn, week(), limit=2)] == [10, 16]
    warn = IQ.error_files(conn, week(), IQ.ErrorQuery(("warning",)))
    assert [(r["source_id"], r["errors"], r["warnings"]) for r in warn] == [
        (10, 0, 1), (11, 0, 1), (12, 0, 1), (16, 0, 1)]  # fmt: skip
    ops = IQ.error_files(conn, week(agents=("ops",)))
    assert [(r["source_id"], r["state"], r["lines"]) for r in ops] == [
        (12, "gone", 20), (1, "active", 10)]  # fmt: skip


def test_problem_rules_know_the_ingestors_reasons(tmp_path: Path) -> None:
    """The rules mirror reason texts the webapp may not import: written here by the ingestor's
    own code, each folds to its problem (a store's session note too)."""
    from ingestor.normalize import _token
    from ingestor.parse import LineError, parse_line

    reasons: dict[str, str] = {}
    for line, problem in [
        (b"", "blank line"),
        (b'{"type": "message", "id": "a"', "invalid JSON"),
        (b"[1, 2]", "not a JSON object (list)"),
        (b"null", "not a JSON object (NoneType)"),
        (b'{"id": "x"}', "no string 'type' field"),
        (b'{"type": "session"}', "session header without a string 'id'"),
        (b'{"type": "custom", "id": "a"}', "entry without a valid 'timestamp'"),
        (
            b'{"type": "message", "id": "a", "timestamp": "2025-03-01", "message": null}',
            "message entry whose 'message' is not an object",
        ),
    ]:
        parsed = parse_line(line)
        assert isinstance(parsed, LineError), line
        reasons[parsed.reason] = problem
        reasons[parsed.reason + " [session s-9]"] = problem
    for usage, key, problem in [
        ({"input": "12"}, "input", "usage.input is not a number; counted as 0"),
        ({"output": True}, "output", "usage.output is not a number; counted as 0"),
        ({"cacheWrite": -42}, "cacheWrite",
         "usage.cacheWrite is negative, too large or not finite; counted as 0"),
        ({"cacheRead": float("nan")}, "cacheRead",
         "usage.cacheRead is negative, too large or not finite; counted as 0"),
    ]:  # fmt: skip
        warnings: list[str] = []
        _token(usage, key, warnings)
        reasons[warnings[0]] = problem
    reasons["line of 70000000 bytes is over the limit"] = "line over the size limit"
    reasons["something new"] = "something new"  # no rule: the reason is its own problem
    db = seed_empty(tmp_path / "rules.sqlite")
    engine = make_engine(f"sqlite:///{db}")
    with engine.begin() as c:
        c.execute(
            insert(sources).values(id=1, host_id=HOST, kind="jsonl", path="p", read_offset=0,
                                   state="active", first_seen_ms=1, last_seen_ms=1)
        )  # fmt: skip
        c.execute(
            insert(ingest_errors),
            [
                {"source_id": 1, "host_id": HOST, "path": "p", "line_offset": i,
                 "severity": "error", "reason": reason, "created_ms": 1}
                for i, reason in enumerate(reasons)
            ],
        )  # fmt: skip
    with engine.connect() as c:
        counts = {r["problem"]: r["lines"] for r in IQ.problems(c, Filters())}
    engine.dispose()
    assert set(counts) == set(reasons.values())
    assert sum(counts.values()) == len(reasons)
    assert counts["invalid JSON"] == 2  # with and without a store's session note
    assert counts["usage.input is not a number; counted as 0"] == 1


# --- the page -------------------------------------------------------------------------------


def render(st: dict[str, Any], severity: str | None = "both", q: str | None = None) -> Any:
    return ingest.render(st, severity, q)


def test_registered_last_in_the_nav() -> None:
    assert list(PAGES)[-1] == "ingest"
    assert PAGES["ingest"] == ("/ingest", "Ingest")
    assert resolve("/ingest")[0] is ingest
    assert resolve("/ingest/")[0] is ingest


def test_summary_cards_and_skipped_files(app_ctx: AppContext) -> None:
    out = ingest.render_summary(state())
    t = texts(out)
    assert t["ingest-card-files-value"] == "11"
    assert t["ingest-card-files-sub"] == "3 active · 1 archived · 1 gone · 1 replaced · 5 skipped"
    # what the card counts, by kind, and how many of them `ingest`'s "N files" counts
    assert t["ingest-card-files-kinds"] == "9 transcripts · 1 gateway log · 1 SQLite store"
    assert t["ingest-card-files-cli"] == "ingest counts 9 of them"
    hint = by_id(out, "ingest-card-files").children.children.title
    assert hint.startswith("Every file and SQLite store the ingestor tracks (all time), by state")
    assert "without the sessions.json indexes" in hint and "gone files" in hint
    assert t["ingest-card-lines-value"] == "230"
    assert t["ingest-card-errors-value"] == "7"
    assert t["ingest-card-warnings-value"] == "4"
    assert t["ingest-card-last-value"] == "2025-03-15 12:10"
    assert t["ingest-card-last-sub"] == "20 minutes ago"
    assert "by when the ingestor recorded them" in t["ingest-caption"]
    table = str(by_id(out, "ingest-skipped-table").to_plotly_json())
    assert "not a transcript: first line is not an entry" in table
    assert f"{ROOT}/main/sessions/x.jsonl" in table and "w.jsonl" not in table  # 3 examples
    # the zone moves the time; the agent filter the counts
    t = texts(ingest.render_summary(state(tz="America/New_York", agents=("ops",))))
    assert t["ingest-card-last-value"] == "2025-03-15 07:00"  # the gateway log's 11:00 UTC
    assert t["ingest-card-files-value"] == "3"
    assert (t["ingest-card-errors-value"], t["ingest-card-warnings-value"]) == ("2", "1")
    assert "the agent filter applies to files with an agent" in t["ingest-caption"]


def test_errors_part(app_ctx: AppContext) -> None:
    body, controls = render(state())
    assert controls == {}
    t = texts(body)
    assert t["ingest-count"] == "11 lines recorded in the range: 7 errors · 4 warnings"
    problems = by_id(body, "ingest-problems").rowData
    assert [(r["problem"], r["lines"]) for r in problems[:3]] == [
        ("invalid JSON", 2),
        ("unexpected entry shape", 2),
        ("usage.input is not a number; counted as 0", 2),
    ]
    assert problems[0]["last"] == "2025-03-15T12:00:00+00:00"
    grid = by_id(body, "ingest-grid")
    assert len(grid.rowData) == 11
    assert grid.rowData[5] == {
        "time": "2025-03-15T12:00:00+00:00",
        "severity": "error",
        "file": "aaaaaaaa….jsonl",  # the UUID cut; the path is the tooltip and in the CSV
        "line_offset": 100,
        "reason": "invalid JSON: unexpected character: line 1 column 5 (char 4)",
        "excerpt": "line 1",
        "path": f"{ROOT}/main/sessions/{UUID_A}.jsonl",
        "source_id": 10,
    }
    assert grid.csvExportParams == {
        "fileName": "ingest-errors.csv",
        "columnKeys": ["time", "severity", "path", "line_offset", "reason", "excerpt",
                       "source_id"],
    }  # fmt: skip
    assert ingest.export_csv(1) is True
    files = [
        (r["file"], r["folder"], r["errors"], r["warnings"], r["lines"])
        for r in by_id(body, "ingest-files").rowData
    ]
    assert files[:2] == [
        ("aaaaaaaa….jsonl", f"{ROOT}/main/sessions", 2, 1, 100),
        ("openclaw-agent.sqlite", f"{ROOT}/research/agent", 2, 1, 40),
    ]  # fmt: skip


def test_errors_part_filters(app_ctx: AppContext, monkeypatch: pytest.MonkeyPatch) -> None:
    body, _ = render(state(), "warning")
    assert texts(body)["ingest-count"] == (
        "4 of 11 lines recorded in the range match: 0 errors · 4 warnings"
    )
    assert {r["severity"] for r in by_id(body, "ingest-grid").rowData} == {"warning"}
    body, _ = render(state(), None, "  cost_50%  ")
    assert texts(body)["ingest-count"] == (
        "1 of 11 lines recorded in the range match: 1 error · 0 warnings"
    )
    assert [r["line_offset"] for r in by_id(body, "ingest-grid").rowData] == [7]
    body, _ = render(state(agents=("ops",), tz="America/New_York"))
    assert texts(body)["ingest-count"] == "3 lines recorded in the range: 2 errors · 1 warning"
    assert by_id(body, "ingest-grid").rowData[0]["time"] == "2025-03-15T07:00:00-04:00"
    monkeypatch.setattr(IQ, "RECENT_LIMIT", 3)
    body, _ = render(state())
    assert texts(body)["ingest-count"] == (
        "11 lines recorded in the range: 7 errors · 4 warnings · the table of lines shows the 3 "
        "most recent"
    )
    assert len(by_id(body, "ingest-grid").rowData) == 3


def test_errors_part_of_a_large_range(app_ctx: AppContext, monkeypatch: pytest.MonkeyPatch) -> None:
    """A range with more errors than the tables read: they cover the most recent (ties at the
    cut included), the cards count the whole range."""
    monkeypatch.setattr(IQ, "WINDOW", 5)
    body, _ = render(state())
    assert texts(body)["ingest-count"] == (
        "6 lines recorded since 2025-03-15 12:00: 4 errors · 2 warnings · the range holds more "
        "than 5 lines, so the tables below cover the most recent ones (the cards count them all)"
    )
    offsets = [r["line_offset"] for r in by_id(body, "ingest-grid").rowData]
    assert offsets == [11, 8, 7, 300, 200, 100]  # e11, e8, e7, e3, e2, e1
    assert sum(r["lines"] for r in by_id(body, "ingest-problems").rowData) == 6
    body, _ = render(state(), "warning")
    assert texts(body)["ingest-count"].startswith(
        "2 of 6 lines recorded since 2025-03-15 12:00 match: 0 errors · 2 warnings · "
    )
    t = texts(ingest.render_summary(state()))
    assert (t["ingest-card-errors-value"], t["ingest-card-warnings-value"]) == ("7", "4")


def _ids(tree: Any) -> set[str]:
    return {n.id for n in walk(tree) if isinstance(getattr(n, "id", None), str)}


def test_empty_states(app_ctx: AppContext, tmp_path: Path) -> None:
    # errors in the range, none matching the filters: say so, keep the filters
    body, controls = render(state(), "both", "no such text")
    assert controls == {}
    assert "No errors or warnings match these filters" in str(body.to_plotly_json())
    assert not {"ingest-grid", "ingest-problems", "ingest-files"} & _ids(body)
    # no error in the range, some elsewhere: the days that have them and a link to all time
    body, controls = render(state(range="custom", start="2025-01-01", end="2025-01-31"))
    assert controls == {"display": "none"}
    hint = str(by_id(body, "ingest-range-hint").to_plotly_json())
    assert "2025-03-01" in hint and "2025-03-15" in hint
    assert by_id(body, "ingest-range-hint-all").href == "?range=all"
    assert by_id(body, "ingest-empty").children[0].children == "No ingest errors in this range"
    # a database without any error: one plain sentence, no empty grids
    use_db(seed_small(tmp_path / "clean.sqlite"))
    body, controls = render(state(range="all"))
    assert controls == {"display": "none"}
    panel = by_id(body, "ingest-no-errors")
    assert panel.children[0].children == "No ingest errors: every line read was understood"
    assert not {"ingest-grid", "ingest-problems", "ingest-files"} & _ids(body)
    t = texts(ingest.render_summary(state()))
    assert (t["ingest-card-files-value"], t["ingest-card-errors-value"]) == ("1", "0")
    assert t["ingest-card-files-sub"] == "1 active · 0 archived · 0 gone · 0 skipped"
    assert t["ingest-card-last-sub"] == "just now"
    assert by_id(ingest.render_summary(state()), "ingest-skipped-none")


def test_empty_database_shows_one_message(tmp_path: Path) -> None:
    use_db(seed_empty(tmp_path / "empty.sqlite"))
    assert by_id(ingest.render_summary(state()), "db-empty")
    body, controls = render(state())
    assert body is None and controls == {"display": "none"}  # the summary says it once


def test_every_file_skipped_is_explained_here(tmp_path: Path) -> None:
    """A newcomer who pointed the ingestor at the wrong files has no usage at all: the other
    pages say "no usage recorded yet", this one says which files were skipped and why."""
    state_dir = tmp_path / "state"
    sessions_dir = state_dir / "agents" / "main" / "sessions"
    sessions_dir.mkdir(parents=True)
    (sessions_dir / "notes.jsonl").write_bytes(b'{"hello":"world"}\n')
    url = f"sqlite:///{tmp_path / 'skipped.sqlite'}"
    engine, pipe = build(IngestSettings(db_url=url, sources=(state_dir,), host_id="h"))
    pipe.run_pass([state_dir])
    engine.dispose()
    use_db(tmp_path / "skipped.sqlite")
    panel = overview.render_cards(state())
    assert by_id(panel, "db-empty")
    assert by_id(panel, "db-empty-ingest-link").href == "/ingest"  # the way to the reasons
    out = ingest.render_summary(state())
    t = texts(out)
    assert t["ingest-card-files-sub"] == "0 active · 0 archived · 0 gone · 1 skipped"
    assert "not a transcript" in str(out)


def test_ago() -> None:
    m = 60_000
    assert [ingest.ago(NOW_MS, NOW_MS - d) for d in (0, 59_999, m, 2 * m, 59 * m)] == [
        "just now", "just now", "1 minute ago", "2 minutes ago", "59 minutes ago"]  # fmt: skip
    assert ingest.ago(NOW_MS, NOW_MS - 60 * m) == "1 hour ago"
    assert ingest.ago(NOW_MS, NOW_MS - 47 * 60 * m) == "47 hours ago"
    assert ingest.ago(NOW_MS, NOW_MS - 48 * 60 * m) == "2 days ago"
    assert ingest.ago(NOW_MS, NOW_MS + m) == "just now"  # a clock a little behind


# --- a database the ingestor wrote, on both engines -----------------------------------------

DEMO_NOW_MS = 1_760_000_000_000 + 30 * 86_400_000
ERROR_MARKERS = ("cannot be read", "took too long", "Traceback")


def _page_on(url: str, demo: Path) -> tuple[dict[str, int], str, list[Any], str]:
    engine, pipe = build(IngestSettings(db_url=url, sources=(demo,), host_id="both"))
    stats = pipe.run_pass([demo])
    engine.dispose()
    settings = ServeSettings(db_url=url, query_timeout_ms=20_000)
    set_context(AppContext(settings=settings, default_tz="UTC", clock=lambda: DEMO_NOW_MS))
    st = state(range="all")
    summary = ingest.render_summary(st)
    body, _ = render(st)
    text = json.dumps([summary, body], cls=plotly.utils.PlotlyJSONEncoder)
    for marker in ERROR_MARKERS:
        assert marker not in text
    problems = [
        (r["problem"], r["severity"], r["lines"], r["files"])
        for r in by_id(body, "ingest-problems").rowData
    ]
    t = texts(summary)
    counts = {"error": stats.errors, "warning": stats.warnings}
    shown = {"error": int(t["ingest-card-errors-value"]), "warning": int(
        t["ingest-card-warnings-value"])}  # fmt: skip
    assert shown == counts  # the page's numbers are the ones `ingest` printed
    # ...and so is its count of files (the closing line's "N files")
    assert t["ingest-card-files-cli"] == f"ingest counts {stats.files:,} of them"
    # the user's puzzle: 110 tracked, `ingest` says "107 files"; the card says why
    assert stats.files == 107
    assert (t["ingest-card-files-value"], t["ingest-card-files-kinds"]) == (
        "110", "107 transcripts · 3 sessions.json")  # fmt: skip
    return counts, t["ingest-card-files-sub"], problems, texts(body)["ingest-count"]


def test_on_sqlite_and_postgres(tmp_path: Path, pg_url: str) -> None:
    demo = tmp_path / "state"
    generate(demo, DemoOptions(seed=5, days=4))
    on_sqlite = _page_on(f"sqlite:///{tmp_path / 'both.sqlite'}", demo)
    on_pg = _page_on(pg_url, demo)
    assert on_sqlite == on_pg
    counts, _, problems, count = on_sqlite
    assert counts == {"error": 5, "warning": 3}
    assert count == "8 lines recorded in the range: 5 errors · 3 warnings"
    assert sum(n for _, _, n, _ in problems) == 8
    assert ("invalid JSON", "error", 1, 1) in problems
    assert ("usage.input is not a number; counted as 0", "warning", 1, 1) in problems
