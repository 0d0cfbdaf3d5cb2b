"""The grids of every page (components.grid): columns wide enough for their header and values,
headers wrapped with a tooltip, short grids as tall as their rows, CSV exports of raw values
(the Sessions grid: id and name as text, plain numbers at full precision, ISO 8601 times);
failed calls and tool errors as two numbers; one display name for a session on every page;
round ticks on a session's cost axes."""

from __future__ import annotations

import shutil
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from test_webapp_callbacks import by_id, state, use_db, walk
from webapp_seed import seed_small

from webapp import components as C
from webapp.pages import alerts, cron, models, session, sessions, tools
from webapp.pages.session import nice_axes, nice_cost_axes, nice_step
from webapp.queries.sessions import session_name


@pytest.fixture(scope="module")
def small_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seed_small(tmp_path_factory.mktemp("grid") / "small.sqlite")


@pytest.fixture
def app_ctx(small_db: Path) -> None:
    use_db(small_db)


def grids(tree: Any) -> list[Any]:
    return [n for n in walk(tree) if type(n).__name__ == "AgGrid"]


# --- components.grid -----------------------------------------------------------------------


def test_text_widths_follow_the_font() -> None:
    # Arial's advance widths at 14 px (Chromium's sans-serif), 5% to spare
    assert C.text_px("0") == pytest.approx(7.79 * 1.05)
    assert C.text_px("533,402") == pytest.approx((6 * 7.79 + 3.89) * 1.05)
    assert C.text_px("Wi") == pytest.approx((13.21 + 3.11) * 1.05)
    # a header wraps between words: the wider of its two best lines
    assert C.header_px("Cache savings") == pytest.approx(C.text_px("savings"))
    assert C.header_px("Cost incl. children") == pytest.approx(C.text_px("Cost incl."))
    assert C.header_px("Calls") == C.text_px("Calls")


def test_shown_text_is_what_the_formatters_show() -> None:
    money, integer = C.col("c", "Cost", "money"), C.col("n", "Tokens", "int")
    assert C.shown_text(money, 0.0066) == "$0.0066"
    assert C.shown_text(money, 1234.5) == "$1,234.50"
    assert C.shown_text(money, 0) == "$0.00"
    assert C.shown_text(integer, 533402) == "533,402"
    assert C.shown_text(C.col("p", "Share", "pct"), 0.221) == "22.1%"
    assert C.shown_text(C.col("d", "p50", "ms"), 4811.2) == "4,811 ms"
    assert C.shown_text(C.col("d", "p50", "ms"), None) == ""
    start = C.col("start", "Start", "datetime")
    assert C.shown_text(start, "2026-11-28T07:21:51+01:00") == "2026-11-28 07:21"
    link = C.col("session", "Session", "link")
    assert C.shown_text(link, "[Paper notes](/session/5c59?range=7d)") == "Paper notes"
    assert C.shown_text(C.col("t", "Tool"), "exec") == "exec"


def test_fit_columns_widths_tooltips_and_flex() -> None:
    cols = [
        C.col("session", "Session", "link", pinned="left", width=190, tooltipField="name"),
        C.col("name", "Session name", hide=True),
        C.col("model", "Model"),
        C.col("status", "Status", maxWidth=60),
        C.col("args", "Arguments"),
        C.col("cache_savings", "Cache savings", "money"),
        C.col("tokens", "Tokens", "int"),
    ]
    rows = [
        {
            "session": C.session_link("s-1", "x" * 80),
            "name": "x" * 80,
            "model": "anthropic/claude-sonnet-4-5",
            "status": "ok",
            "args": "a" * 200,
            "cache_savings": 0.0066,
            "tokens": 12_336_061,
        }
    ]
    fit = {c["field"]: c for c in C.fit_columns(cols, rows)}
    # every header is its own tooltip, hidden columns included
    assert {f: c["headerTooltip"] for f, c in fit.items()} == {
        "session": "Session", "name": "Session name", "model": "Model", "status": "Status",
        "args": "Arguments", "cache_savings": "Cache savings", "tokens": "Tokens"}  # fmt: skip
    assert "minWidth" not in fit["name"] and "flex" not in fit["name"]
    # a text is as wide as its widest value plus the cell's padding
    model = fit["model"]
    # 174.4 px in Chromium (measured), 5% to spare, 24 px of padding: ceil(207.1)
    assert model["minWidth"] == model["width"] == model["flex"] == 208
    assert "tooltipField" not in model
    # a long text stops at TEXT_MAX_PX and gets a tooltip; a link at the page's width
    assert fit["args"]["minWidth"] == C.TEXT_MAX_PX and fit["args"]["tooltipField"] == "args"
    assert fit["session"]["minWidth"] == fit["session"]["width"] == 190
    assert "flex" not in fit["session"]  # pinned: keeps its width
    assert fit["session"]["tooltipField"] == "name"
    # a number column: its header on two lines ("savings") or its value, whichever is wider
    assert fit["cache_savings"]["minWidth"] == 92  # "savings": ceil(47.5 * 1.05 + 42)
    assert fit["tokens"]["minWidth"] == 98  # "12,336,061": ceil(70.1 * 1.05 + 24)
    # the page's maxWidth still bounds a column
    assert fit["status"]["minWidth"] == 60


def test_grid_options() -> None:
    cols = [
        C.col("session", "Session", "link"),
        C.col("session_id", "Session id", hide=True),
        C.col("cost", "Cost", "money"),
    ]
    rows = [{"session": C.session_link("s", "S"), "session_id": "s", "cost": 0.1}]
    g = C.grid("g", rows, cols, height=300, csv_name="x.csv")
    assert g.defaultColDef == {
        "sortable": True,
        "filter": True,
        "resizable": True,
        "wrapHeaderText": True,
        "autoHeaderHeight": True,
        "useValueFormatterForExport": False,
    }
    # the CSV: every column but the link, hidden ones included, in order
    assert g.csvExportParams == {"fileName": "x.csv", "columnKeys": ["session_id", "cost"]}
    assert getattr(g, "columnSize", None) is None  # flex columns fill the width
    # up to AUTO_HEIGHT_ROWS rows: as tall as the rows
    assert g.dashGridOptions["domLayout"] == "autoHeight"
    assert g.style == {"width": "100%"}
    many = C.grid("g", rows * (C.AUTO_HEIGHT_ROWS + 1), cols, height=300)
    assert "domLayout" not in many.dashGridOptions
    assert many.style == {"width": "100%", "height": "300px"}
    assert many.csvExportParams == {}
    # paginated: the rows of one page count
    paged = C.grid("g", rows * 40, cols, height=300, page_size=10)
    assert paged.dashGridOptions["domLayout"] == "autoHeight"


def test_every_grid_fits_and_shows_its_rows(app_ctx: None) -> None:
    """No grid on any page keeps the old fixed widths and heights: every shown column has a
    minWidth from fit_columns and its header as tooltip; grids of up to 15 rows (the Models
    grid's 11 rows on a busy day) are as tall as their rows."""
    outs = [
        models.render(state()),
        sessions.render(state(range="30d")),
        tools.render_summary(state()),
        tools.render_recent("exec", state()),
        tools.render_trends(state()),
        session.render("s-main", state()),
        session.render("s-cron", state()),
        alerts.render(state(), 0, False, 0),
        cron.render(state()),
    ]
    found = [g for out in outs for g in grids(out)]
    assert len(found) >= 10
    for g in found:
        for c in g.columnDefs:
            assert c["headerTooltip"].startswith(c["headerName"]), (g.id, c)  # or says more
            if not c.get("hide"):
                assert c["minWidth"] >= C.header_px(c["headerName"]) + 42 or c.get("maxWidth")
        assert g.dashGridOptions.get("domLayout") == "autoHeight", g.id
        assert "height" not in g.style


# --- the Sessions grid and its CSV ----------------------------------------------------------


def test_sessions_grid_rows_are_raw_values(app_ctx: None) -> None:
    g = by_id(sessions.render(state(range="30d")), "sessions-grid")
    rows = {r["session_id"]: r for r in g.rowData}
    assert rows["s-main"] == {
        "session_id": "s-main",
        "name": "agent:main:main",
        "session": "[agent:main:main](/session/s-main?range=30d)",
        "agent": "main",
        "kind": "main",
        "channel": "telegram",
        "models": "claude-opus-4, claude-sonnet-4",
        "start": "2025-03-14T20:05:00+00:00",
        "end": "2025-03-15T00:30:00+00:00",
        "calls": 3,
        "failed": 1,
        "tokens": 12200,
        "cost": 2.5,
        "tool_calls": 4,
        "tool_errors": 1,
    }
    # a sum of two logged costs with no floating-point noise (0.02 + 0.01)
    assert rows["s-dm"]["cost"] == 0.03
    assert (rows["s-dm"]["failed"], rows["s-dm"]["tool_errors"]) == (1, 1)
    # what the CSV holds: id and name as text, then every other column but the link
    assert g.csvExportParams == {
        "fileName": "sessions.csv",
        "columnKeys": ["session_id", "name", "agent", "kind", "channel", "models", "start",
                       "end", "calls", "failed", "tokens", "cost", "tool_calls",
                       "tool_errors"],
    }  # fmt: skip
    headers = {c["field"]: c["headerName"] for c in g.columnDefs}
    assert [headers[k] for k in g.csvExportParams["columnKeys"]] == [
        "Session id", "Session name", "Agent", "Kind", "Channel", "Models", "Start", "End",
        "Calls", "Failed calls", "Tokens", "Cost", "Tool calls", "Tool errors"]  # fmt: skip
    assert g.defaultColDef["useValueFormatterForExport"] is False
    hidden = [c["field"] for c in g.columnDefs if c.get("hide")]
    assert hidden == ["session_id", "name"]
    # the times: ISO 8601 in the view's zone, with its offset (New York: -04:00 after the DST)
    ny = by_id(sessions.render(state(range="30d", tz="America/New_York")), "sessions-grid")
    main = {r["session_id"]: r for r in ny.rowData}["s-main"]
    assert (main["start"], main["end"]) == (
        "2025-03-14T16:05:00-04:00",
        "2025-03-14T20:30:00-04:00",
    )


def test_sessions_grid_opens_sorted_by_end(app_ctx: None) -> None:
    """The grid's default order is the one it claims: End, newest first, with the column's
    sort marker (AG Grid's ``sort``), also where the most recently active session in the range
    is not the one that ended last: a range that ends before its sessions do."""
    g = by_id(sessions.render(state(range="custom", start="2025-03-05", end="2025-03-14")),
              "sessions-grid")  # fmt: skip
    # s-main was active last in the range (03-14 23:30) but s-dm ended later (03-15 10:45)
    assert [(r["session_id"], r["end"]) for r in g.rowData] == [
        ("s-dm", "2025-03-15T10:45:00+00:00"),
        ("s-main", "2025-03-15T00:30:00+00:00"),
        ("s-cron2", "2025-03-10T06:00:00+00:00"),
        ("s-old", "2025-03-05T14:00:00+00:00"),
    ]
    cols = {c["field"]: c for c in g.columnDefs}
    assert [f for f, c in cols.items() if c.get("sort")] == ["end"]
    assert cols["end"]["sort"] == "desc"
    # times sort as instants, not as text: "01:10-05:00" is after "01:30-04:00"
    assert "d3.isoParse" in cols["end"]["comparator"]["function"]
    assert cols["start"]["comparator"] == cols["end"]["comparator"]
    g = by_id(sessions.render(state(range="30d")), "sessions-grid")
    assert [r["session_id"] for r in g.rowData] == [
        "s-dm", "s-cron", "s-quiet", "s-sub", "s-main", "s-cron2", "s-old"]  # fmt: skip


def test_sessions_csv_costs_sum_to_the_overview(app_ctx: None) -> None:
    """The column the CSV gets adds up to the Overview's cost (no rounding to cents)."""
    from webapp import queries as Q
    from webapp.pagekit import make_view

    g = by_id(sessions.render(state(range="30d")), "sessions-grid")
    view = make_view(state(range="30d"))
    from webapp.context import get_context

    with get_context().engine().connect() as conn:
        total = Q.overview(conn, view.filters)["cost"]
    assert sum(r["cost"] for r in g.rowData) == pytest.approx(total, abs=1e-9)
    assert total == pytest.approx(4.88)


# --- failed calls and tool errors -----------------------------------------------------------


def test_failed_calls_and_tool_errors_are_two_columns(app_ctx: None) -> None:
    g = by_id(sessions.render(state()), "sessions-grid")
    names = [c["headerName"] for c in g.columnDefs]
    assert "Errors" not in names
    assert names[-4:] == ["Tokens", "Cost", "Tool calls", "Tool errors"]
    assert "Failed calls" in names
    # the session page says the same two numbers (over the whole session)
    out = session.render("s-main", state())
    ids = ("session-failed", "session-tool-calls", "session-tool-errors")
    assert [by_id(out, i).children for i in ids] == ["1", "4", "1"]
    assert [c["headerName"] for c in by_id(out, "session-models").columnDefs][2] == "Failed calls"


# --- one display name -----------------------------------------------------------------------


def test_session_name_order() -> None:
    assert session_name({"session_id": "id", "label": "L", "title": "T", "key": "K"}) == "L"
    assert session_name({"session_id": "id", "label": None, "title": "T", "key": "K"}) == "T"
    assert session_name({"session_id": "id", "label": "", "title": None, "key": "K"}) == "K"
    assert session_name({"session_id": "id"}) == "id"


def test_alerts_name_sessions_as_the_sessions_grid(small_db: Path, tmp_path: Path) -> None:
    """A session with a title and no label: the Sessions grid, its page and the Alerts all
    call it by its title, and the alert links to its page."""
    db = tmp_path / "titled.sqlite"
    shutil.copy(small_db, db)
    with sqlite3.connect(db) as c:
        c.execute("UPDATE sessions SET title = 'Paper notes' WHERE session_id = 's-main'")
    use_db(db)
    rows = by_id(alerts.render(state(), 0, False, 0), "alerts-grid").rowData
    main = [r for r in rows if r["session_id"] == "s-main"]
    assert [(r["key"], r["name"], r["subject"]) for r in main] == [
        ("session_cost:s-main", "Paper notes", "[Paper notes](/session/s-main)")]  # fmt: skip
    grid = by_id(sessions.render(state()), "sessions-grid").rowData
    assert {r["session_id"]: r["name"] for r in grid}["s-main"] == "Paper notes"
    page = session.render("s-main", state())
    assert by_id(page, "session-title").children == "Paper notes"
    # a spike is a day, not a link
    spike = next(r for r in rows if r["session_id"] is None)
    assert spike["subject"] == spike["name"] == "2025-03-14"


# --- the calls figure's axes ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "step"),
    [(0.0123, 0.02), (0.02, 0.02), (0.021, 0.025), (0.26, 0.5), (2.5, 2.5), (7, 10.0)],
)
def test_nice_step(raw: float, step: float) -> None:
    assert nice_step(raw) == step


def test_nice_axes_share_their_gridlines() -> None:
    # the review's session: calls up to $0.0581 per call, $0.68 in all
    assert nice_axes([0.0581, 0.68]) == [(0.02, 4), (0.2, 4)]
    assert nice_axes([1.25, 2.5]) == [(0.5, 3), (1.0, 3)]
    assert nice_axes([0.0, 0.0]) == [(0.01, 1), (0.01, 1)]  # free calls: $0 to $0.01


def test_session_calls_figure_has_round_aligned_ticks(app_ctx: None) -> None:
    fig = by_id(session.render("s-main", state()), "session-calls-fig").figure
    y, y2 = fig["layout"]["yaxis"], fig["layout"]["yaxis2"]
    # calls of $0.50, $1.25 and $0.75; $2.50 in all: three steps on each axis
    assert (y["range"], y["tick0"], y["dtick"], y["tickmode"]) == ([0, 1.5], 0, 0.5, "linear")
    assert (y2["range"], y2["tick0"], y2["dtick"], y2["tickmode"]) == ([0, 3.0], 0, 1.0, "linear")
    assert y2["automargin"] is True and y2["title"]["standoff"] == 12
    assert y2["title"]["text"] == "Running total (USD)" and y2["side"] == "right"
    empty = {"data": [], "layout": {"title": {"text": "none"}}}
    assert nice_cost_axes(empty) == {"data": [], "layout": {"title": {"text": "none"}}}
