"""The Logs page against the hand-checked database (``LOGS`` in webapp_seed): its queries with
exact numbers (levels, subsystems, agent filter, escaped text search, local buckets, session
links), its callback, its empty states, and a database from before ``gateway_events``."""

from __future__ import annotations

import shutil
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection

sys.path.insert(0, str(Path(__file__).parent))

from test_webapp_callbacks import by_id, state, texts, use_db
from webapp_seed import NOW_MS, ms, seed_small

from ingestor.db import make_readonly_engine
from webapp.context import AppContext
from webapp.pages import logs, overview
from webapp.pricehints import cli_command
from webapp.queries import logs as LQ
from webapp.queries.base import Filters
from webapp.timeranges import bucket_starts, resolve_range


@pytest.fixture(scope="module")
def small_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seed_small(tmp_path_factory.mktemp("logs") / "small.sqlite")


@pytest.fixture
def conn(small_db: Path) -> Any:
    engine = make_readonly_engine(f"sqlite:///{small_db}")
    with engine.connect() as c:
        yield c
    engine.dispose()


@pytest.fixture
def app_ctx(small_db: Path) -> AppContext:
    return use_db(small_db)


def week(tz: str = "UTC", **kw: Any) -> Filters:
    r = resolve_range("7d", tz, NOW_MS)
    return Filters(r.since_ms, r.until_ms, tz, **kw)


def messages(rows: list[dict[str, Any]]) -> list[str]:
    return [r["message"] for r in rows]


# --- queries --------------------------------------------------------------------------------


def test_escape_like() -> None:
    assert LQ.escape_like("95% of a_b\\c") == "95\\% of a\\_b\\\\c"


def test_levels_default_to_warn_and_above(conn: Connection) -> None:
    rows = LQ.recent_logs(conn, week(), LQ.LogQuery())
    assert [(r["level"], r["time_ms"]) for r in rows] == [
        ("FATAL", ms("2025-03-15T10:00")),
        ("WARN", ms("2025-03-15T03:30")),
        ("WARN", ms("2025-03-15T03:00")),
        ("ERROR", ms("2025-03-15T00:15")),
        ("ERROR", ms("2025-03-14T23:45")),
        ("WARN", ms("2025-03-14T22:00")),
        ("WARN", ms("2025-03-12T15:00")),
    ]
    every = LQ.recent_logs(conn, week(), LQ.LogQuery(levels=()))
    assert len(every) == 9  # + INFO and DEBUG; the ERROR of 2025-03-05 is older
    errors = LQ.recent_logs(conn, week(), LQ.LogQuery(levels=("ERROR", "FATAL")))
    assert [r["level"] for r in errors] == ["FATAL", "ERROR", "ERROR"]
    assert len(LQ.recent_logs(conn, Filters(), LQ.LogQuery())) == 8  # all time
    assert len(LQ.recent_logs(conn, week(), LQ.LogQuery(), limit=2)) == 2


def test_session_known_only_for_existing_sessions(conn: Connection) -> None:
    rows = LQ.recent_logs(conn, week(), LQ.LogQuery(levels=("ERROR",)))
    assert [(r["session_id"], r["session_known"]) for r in rows] == [
        ("s-ghost", False), ("s-main", True)]  # fmt: skip


def test_subsystem_and_agent_filters(conn: Connection) -> None:
    q = LQ.LogQuery(subsystems=("channels/telegram",))
    assert messages(LQ.recent_logs(conn, week(), q)) == [
        "disk 95 percent full on /var-log", "disk 95% full on /var_log"]  # fmt: skip
    # the subsystem choices ignore the subsystem filter itself
    assert LQ.log_subsystems(conn, week(), q) == [
        ("agent/embedded", 3), ("channels/telegram", 2), ("gateway", 2)]  # fmt: skip
    assert LQ.log_subsystems(conn, week(), LQ.LogQuery(levels=("FATAL",))) == [("gateway", 1)]
    # the agent filter keeps that agent's lines and the lines that name no agent
    ops = LQ.recent_logs(conn, week(agents=("ops",)), LQ.LogQuery())
    assert [(r["agent_id"], r["level"]) for r in ops] == [
        (None, "FATAL"), ("ops", "WARN"), ("ops", "WARN"), (None, "WARN")]  # fmt: skip


def test_text_search_is_escaped_and_case_insensitive(conn: Connection) -> None:
    def search(text: str) -> list[str]:
        return messages(LQ.recent_logs(conn, week(), LQ.LogQuery(text=text)))

    assert search("95%") == ["disk 95% full on /var_log"]  # not "95 percent"
    assert search("var_log") == ["disk 95% full on /var_log"]  # not "var-log"
    assert search("95") == ["disk 95 percent full on /var-log", "disk 95% full on /var_log"]
    assert search("RATE LIMIT") == [
        "embedded run failed: sessionId=s-main runId=r1 rate limit",
        "Rate limit hit, retrying",
    ]
    assert search("%") == ["disk 95% full on /var_log"]
    assert search("no such text") == []


@pytest.mark.parametrize(
    ("tz", "expected"),
    [
        (
            "UTC",
            [
                ("2025-03-12", "WARN", 1),
                ("2025-03-14", "ERROR", 1),
                ("2025-03-14", "WARN", 1),
                ("2025-03-15", "ERROR", 1),
                ("2025-03-15", "FATAL", 1),
                ("2025-03-15", "WARN", 2),
            ],
        ),
        (  # UTC-4: the lines of 00:15-03:30 UTC on the 15th are the evening of the 14th
            "America/New_York",
            [
                ("2025-03-12", "WARN", 1),
                ("2025-03-14", "ERROR", 2),
                ("2025-03-14", "WARN", 3),
                ("2025-03-15", "FATAL", 1),
            ],
        ),
    ],
)
def test_series_in_local_days(conn: Connection, tz: str, expected: list[tuple]) -> None:
    from webapp.timeranges import local_label

    f = week(tz)
    assert f.since_ms is not None and f.until_ms is not None
    starts = bucket_starts(f.since_ms, f.until_ms, "day", tz)
    rows = LQ.log_series(conn, f, LQ.LogQuery(), starts)
    assert [(local_label(r["bucket_ms"], "day", tz), r["level"], r["lines"]) for r in rows] == (
        expected
    )


def test_series_with_every_level_and_extent(conn: Connection) -> None:
    f = week()
    assert f.since_ms is not None and f.until_ms is not None
    starts = bucket_starts(f.since_ms, f.until_ms, "day", "UTC")
    rows = LQ.log_series(conn, f, LQ.LogQuery(levels=()), starts)
    per_level: dict[str, int] = {}
    for r in rows:
        per_level[r["level"]] = per_level.get(r["level"], 0) + r["lines"]
    assert per_level == {"DEBUG": 1, "INFO": 1, "WARN": 4, "ERROR": 2, "FATAL": 1}
    assert LQ.logs_extent(conn) == (ms("2025-03-05T12:00"), ms("2025-03-15T11:00") + 1)
    assert LQ.has_gateway_events(conn)
    assert LQ.has_lines(conn, f)
    assert not LQ.has_lines(conn, Filters(ms("2025-01-01T00:00"), ms("2025-02-01T00:00")))


# --- the page -------------------------------------------------------------------------------


def render(st: dict[str, Any], levels: Any = None, subsystems: Any = None, q: Any = None) -> Any:
    return logs.render(st, list(LQ.DEFAULT_LEVELS) if levels is None else levels, subsystems, q)


def test_page_default_view(app_ctx: AppContext) -> None:
    body, options = render(state())
    t = texts(body)
    assert t["logs-count"] == "7 matching lines (FATAL 1 · ERROR 2 · WARN 4)"
    grid = by_id(body, "logs-grid").rowData
    assert [r["time"] for r in grid[:2]] == ["2025-03-15 10:00:00", "2025-03-15 03:30:00"]
    assert grid[0]["level"] == "FATAL"
    sessions = {r["message"]: r["session"] for r in grid}
    link = sessions["embedded run failed: sessionId=s-main runId=r1 rate limit"]
    # named as on the Sessions page (s-main has no label or title: its key), not by its id
    assert link == "[agent:main:main](/session/s-main)"
    assert sessions["embedded run failed: sessionId=s-ghost runId=r2 timeout"] == "s-ghost"
    assert [o["label"] for o in options] == [
        "agent/embedded (3)", "channels/telegram (2)", "gateway (2)"]  # fmt: skip
    fig = by_id(body, "logs-levels").figure
    assert fig["layout"]["title"]["text"] == "Log lines per day by level"
    assert {d["name"]: sum(d["y"]) for d in fig["data"]} == {"WARN": 4, "ERROR": 2, "FATAL": 1}


def test_page_names_sessions_as_the_sessions_page(app_ctx: AppContext) -> None:
    """A line's session shows its name (label, else title, else key, else id) with the id as
    the link's tooltip, and the id and name as hidden plain columns (what a CSV would hold);
    a session the database does not hold stays its id, as text."""
    grid = by_id(render(state())[0], "logs-grid")
    rows = {r["message"]: r for r in grid.rowData}
    main = rows["embedded run failed: sessionId=s-main runId=r1 rate limit"]
    assert (main["session"], main["session_id"], main["session_name"]) == (
        "[agent:main:main](/session/s-main)", "s-main", "agent:main:main")  # fmt: skip
    ghost = rows["embedded run failed: sessionId=s-ghost runId=r2 timeout"]
    assert (ghost["session"], ghost["session_id"], ghost["session_name"]) == (
        "s-ghost", "s-ghost", "s-ghost")  # fmt: skip
    gateway = rows["uncaught exception: EADDRINUSE"]
    assert (gateway["session"], gateway["session_id"], gateway["session_name"]) == ("", "", "")
    cols = {c["field"]: c for c in grid.columnDefs}
    assert cols["session"]["tooltipField"] == "session_id"
    assert [f for f, c in cols.items() if c.get("hide")] == ["session_id", "session_name"]
    assert (cols["session_id"]["headerName"], cols["session_name"]["headerName"]) == (
        "Session id", "Session name")  # fmt: skip


def test_page_filters(app_ctx: AppContext) -> None:
    body, _ = render(state(), ["ERROR"])
    assert texts(body)["logs-count"] == "2 matching lines"
    body, options = render(state(), None, ["channels/telegram"], "  95%  ")
    assert texts(body)["logs-count"] == "1 matching line"
    assert by_id(body, "logs-grid").rowData[0]["message"] == "disk 95% full on /var_log"
    assert [o["value"] for o in options] == ["channels/telegram"]  # the only one with "95%"
    body, _ = render(state(), [], None, None)  # no level chosen: every level
    assert texts(body)["logs-count"].startswith("9 matching lines (FATAL 1 · ERROR 2 · WARN 4 ·")
    # the time zone moves lines between days and the table's times
    body, _ = render(state(tz="America/New_York"))
    fig = by_id(body, "logs-levels").figure
    warn = next(d for d in fig["data"] if d["name"] == "WARN")
    assert warn["y"] == [0, 0, 0, 1, 0, 3, 0]  # New York days Mar 9 … Mar 15
    assert by_id(body, "logs-grid").rowData[0]["time"] == "2025-03-15 06:00:00"
    # the agent filter
    body, _ = render(state(agents=("ops",)))
    assert texts(body)["logs-count"] == "4 matching lines (FATAL 1 · WARN 3)"


def test_page_table_cap(app_ctx: AppContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(LQ, "RECENT_LIMIT", 3)
    body, _ = render(state())
    assert texts(body)["logs-count"] == (
        "7 matching lines (FATAL 1 · ERROR 2 · WARN 4) · the table shows the 3 most recent"
    )
    assert len(by_id(body, "logs-grid").rowData) == 3


def test_page_empty_states(app_ctx: AppContext) -> None:
    # nothing in the range at all: the data's days and a link to all time
    body, _ = render(state(range="custom", start="2025-01-01", end="2025-01-31"))
    text_ = str(body.to_plotly_json())
    assert "/tmp/openclaw" in text_ and "OPENCLAW_LOG_DIR" in text_ and "24 hours" in text_
    hint = by_id(body, "logs-range-hint")
    assert "2025-03-05" in str(hint.to_plotly_json()) and "2025-03-15" in str(hint.to_plotly_json())
    assert by_id(body, "logs-range-hint-all").href == "?range=all"
    # lines in the range, none matching: no range hint
    body, _ = render(state(), None, None, "no such text")
    assert by_id(body, "logs-empty")
    with pytest.raises(AssertionError):
        by_id(body, "logs-range-hint")


def test_database_without_gateway_events(small_db: Path, tmp_path: Path) -> None:
    old = tmp_path / "old.sqlite"
    shutil.copy(small_db, old)
    with sqlite3.connect(old) as c:
        c.execute("DROP TABLE gateway_events")
    use_db(old)
    body, options = render(state())
    assert f"{cli_command()} db upgrade" in str(by_id(body, "logs-upgrade").to_plotly_json())
    assert options == []
    # the other pages do not need the table
    assert texts(overview.render_cards(state()))["card-cost-value"] == "$2.88"


def test_all_time_follows_lines_that_arrive_while_serving(small_db: Path, tmp_path: Path) -> None:
    """The all-time view's days come from the lines' extent, read on every render: lines
    ingested while the dashboard runs show at once, in the count and the chart alike."""
    db = tmp_path / "late.sqlite"
    shutil.copy(small_db, db)
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE kept AS SELECT * FROM gateway_events")
        c.execute("DELETE FROM gateway_events")
    use_db(db)
    body, _ = render(state(range="all"))
    assert texts(body)["logs-count"] == "0 matching lines"
    assert by_id(body, "logs-empty")
    with sqlite3.connect(db) as c:  # the ingestor writes while the same context serves
        c.execute("INSERT INTO gateway_events SELECT * FROM kept")
    body, _ = render(state(range="all"))
    assert texts(body)["logs-count"] == "8 matching lines (FATAL 1 · ERROR 3 · WARN 4)"
    fig = by_id(body, "logs-levels").figure
    assert {d["name"]: sum(d["y"]) for d in fig["data"]} == {"WARN": 4, "ERROR": 3, "FATAL": 1}


def test_a_line_naming_only_a_session_has_its_sessions_agent(
    small_db: Path, tmp_path: Path
) -> None:
    db = tmp_path / "copy.sqlite"
    shutil.copy(small_db, db)
    with sqlite3.connect(db) as c:  # most real lines name a session, not an agent
        c.execute(
            "INSERT INTO gateway_events (source_id, host_id, line_offset, time_ms, level, "
            "level_id, subsystem, message, agent_id, session_id, line_hash) VALUES "
            "((SELECT source_id FROM gateway_events LIMIT 1), 'h', 0, ?, 'WARN', 4, "
            "'agent/embedded', 'slow dm run', NULL, 's-dm', 'x')",
            (ms("2025-03-15T04:00"),),
        )
    engine = make_readonly_engine(f"sqlite:///{db}")
    with engine.connect() as c:
        ops = LQ.recent_logs(c, week(agents=("ops",)), LQ.LogQuery())
        assert [(r["message"], r["agent_id"]) for r in ops] == [
            ("uncaught exception: EADDRINUSE", None),
            ("slow dm run", "ops"),  # s-dm is an ops session
            ("disk 95 percent full on /var-log", "ops"),
            ("disk 95% full on /var_log", "ops"),
            ("slow response from telegram: 4200 ms", None),
        ]
        main = LQ.recent_logs(c, week(agents=("main",)), LQ.LogQuery())
        assert "slow dm run" not in messages(main)
        assert sum(r["lines"] for r in LQ.log_series(
            c, week(agents=("ops",)), LQ.LogQuery(), [ms("2025-03-08T00:00"), NOW_MS]
        )) == 5  # fmt: skip
        assert LQ.log_subsystems(c, week(agents=("main",)), LQ.LogQuery()) == [
            ("agent/embedded", 2), ("gateway", 2)]  # fmt: skip
    engine.dispose()
