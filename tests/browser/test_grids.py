"""The grids in a real browser, on the hand-checked database and on a demo the real ingestor
wrote: at 1440 x 900 no header or value cut short (but the long texts that carry a tooltip),
no grid scrolling sideways, every row of a short grid on screen; on a narrow screen the grid
scrolls sideways instead of cutting; a sorted column's header stays whole; the Sessions CSV
download holds raw values; a session's cost axes have round ticks clear of their title.
Screenshots: test-artifacts/screenshots/grid-*.png."""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from test_pages import SHOTS, _serve, browser, ingest_demo, page, server  # noqa: F401

pytestmark = pytest.mark.browser

# Per grid on the page: header texts and cell values wider than their box (cut with an
# ellipsis or clipped), whether the columns are wider than the grid, and the rows shown
# against the rows the grid displays (a short grid shows them all).
MEASURE = """() => [...document.querySelectorAll('div.ag-root-wrapper')].map(g => {
  const id = g.parentElement.closest('[id]').id;
  const over = e => e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1;
  const headers = [...g.querySelectorAll('.ag-header-cell-text')].filter(over)
    .map(t => t.textContent);
  // a value cut short is allowed only when its full text is the cell's tooltip
  const cells = [...g.querySelectorAll('.ag-cell')]
    .filter(c => over(c) || [...c.querySelectorAll('.ag-cell-value, .agGrid-Markdown')].some(over))
    .filter(c => !c.getAttribute('title'))
    .map(c => c.getAttribute('col-id'));
  const untitled = [...g.querySelectorAll('.ag-header-cell')]
    .filter(h => (h.querySelector('.ag-header-cell-text') || {}).textContent && !h.title)
    .map(h => h.getAttribute('col-id'));
  const vp = g.querySelector('.ag-center-cols-viewport');
  const body = g.querySelector('.ag-body-viewport');
  return {id, headers, cells: [...new Set(cells)], untitled,
          sideways: vp.scrollWidth - vp.clientWidth,
          rows: g.querySelectorAll('.ag-center-cols-container .ag-row').length,
          scrolls: body.scrollHeight - body.clientHeight,
          auto: g.classList.contains('ag-layout-auto-height')
             || !!g.querySelector('.ag-layout-auto-height')};
})"""


@pytest.mark.parametrize(
    ("path", "name", "selector", "grids"),
    [
        ("/sessions?range=30d", "sessions", "#sessions-grid .ag-row", {"sessions-grid"}),
        ("/models", "models", "#models-grid .ag-row", {"models-grid"}),
        ("/tools", "tools", "#tools-recent-grid .ag-row",
         {"tools-grid", "tools-recent-grid", "tools-families"}),
        ("/alerts", "alerts", "#alerts-grid .ag-row", {"alerts-grid"}),
        ("/costs?range=30d", "costs", "#costs-recent-grid .ag-row",
         {"costs-source-grid", "costs-unpriced-grid", "costs-flag-grid", "costs-recent-grid"}),
        ("/cron", "cron", "#cron-grid .ag-row", {"cron-grid"}),
        ("/session/s-main", "session", "#session-tools .ag-row",
         {"session-models", "session-tree", "session-tools"}),
        ("/session/s-cron", "session-cron", "#session-cron-runs .ag-row",
         {"session-models", "session-cron-runs", "session-tools"}),
    ],
)  # fmt: skip
def test_grids_fit_at_1440(page: Any, server: str, path: str, name: str, selector: str,  # noqa: F811
                           grids: set[str]) -> None:  # fmt: skip
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(server + path)
    page.wait_for_selector(selector)
    page.wait_for_timeout(300)  # the columns settle (flex) after the first rows render
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"grid-{name}.png"), full_page=True)
    measured = {m["id"]: m for m in page.evaluate(MEASURE)}
    assert set(measured) == grids
    for gid, m in measured.items():
        assert m["headers"] == [], f"{gid}: headers cut short: {m['headers']}"
        assert m["cells"] == [], f"{gid}: values cut short, no tooltip: {m['cells']}"
        assert m["untitled"] == [], f"{gid}: headers without a tooltip: {m['untitled']}"
        assert m["sideways"] <= 1, f"{gid}: columns wider than the grid by {m['sideways']} px"
        # every grid of the seeded database has at most 15 rows: all on screen
        assert m["auto"], gid
        assert m["scrolls"] <= 1, f"{gid}: {m['rows']} rows shown, the rest scroll"


def test_sorted_headers_stay_whole(page: Any, server: str) -> None:  # noqa: F811
    """A sorted column's arrow goes under its header's text instead of cutting it."""
    page.goto(server + "/sessions?range=30d")
    page.wait_for_selector("#sessions-grid .ag-row")
    for col in ("channel", "calls", "cost", "tool_errors", "start"):
        page.click(f"#sessions-grid .ag-header-cell[col-id={col}] .ag-header-cell-text")
        page.wait_for_selector(
            f"#sessions-grid .ag-header-cell[col-id={col}] .ag-sort-ascending-icon:not(.ag-hidden)"
        )
        m = {g["id"]: g for g in page.evaluate(MEASURE)}["sessions-grid"]
        assert m["headers"] == [], f"sorted by {col}: {m['headers']}"
    page.locator("#sessions-grid .ag-header").screenshot(
        path=str(SHOTS / "grid-sessions-sorted-header.png")
    )


def test_sessions_csv_holds_raw_values(page: Any, server: str) -> None:  # noqa: F811
    page.goto(server + "/sessions?range=30d")
    page.wait_for_selector("#sessions-grid .ag-row")
    # shown formatted...
    page.wait_for_selector("#sessions-grid .ag-cell[col-id=tokens]:has-text('12,200')")
    page.wait_for_selector("#sessions-grid .ag-cell[col-id=start]:has-text('2025-03-14 20:05')")
    with page.expect_download() as download:
        page.click("#sessions-csv")
    assert download.value.suggested_filename == "sessions.csv"
    path = download.value.path()
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    # ...exported raw: id and name as text, plain numbers, ISO 8601 times
    assert rows[0] == [
        "Session id", "Session name", "Agent", "Kind", "Channel", "Models", "Start", "End",
        "Calls", "Failed calls", "Tokens", "Cost", "Tool calls", "Tool errors"]  # fmt: skip
    by_id = {r[0]: r for r in rows[1:]}
    assert len(by_id) == 7
    assert by_id["s-main"] == [
        "s-main", "agent:main:main", "main", "main", "telegram",
        "claude-opus-4, claude-sonnet-4", "2025-03-14T20:05:00+00:00",
        "2025-03-15T00:30:00+00:00", "3", "1", "12200", "2.5", "4", "1"]  # fmt: skip
    assert by_id["s-dm"][1] == "Alice" and by_id["s-dm"][11] == "0.03"
    assert not any("](" in cell for r in rows for cell in r)  # no markdown link
    # the costs add up to the Overview's cost of the range ($4.88), to the nano-dollar
    assert sum(float(r[11]) for r in rows[1:]) == pytest.approx(4.88, abs=1e-9)


def test_session_cost_axes(page: Any, server: str) -> None:  # noqa: F811
    page.goto(server + "/session/s-main")
    page.wait_for_selector("#session-calls-fig .y2tick text")
    left = page.eval_on_selector_all(
        "#session-calls-fig .ytick text", "els => els.map(e => e.textContent)"
    )
    right = page.eval_on_selector_all(
        "#session-calls-fig .y2tick text", "els => els.map(e => e.textContent)"
    )
    assert left == ["$0", "$0.5", "$1", "$1.5"]
    assert right == ["$0", "$1", "$2", "$3"]
    # the right axis's title clears its tick labels
    title = page.locator("#session-calls-fig .y2title").bounding_box()
    ticks = [
        page.locator("#session-calls-fig .y2tick text").nth(i).bounding_box() for i in range(4)
    ]
    assert title is not None and all(t is not None for t in ticks)
    assert title["x"] >= max(t["x"] + t["width"] for t in ticks if t)


# --- a demo database: real names, models, arguments and numbers ----------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(dashboard URL, the session with the most models and calls) on a 4-day demo."""
    db = ingest_demo(tmp_path_factory.mktemp("grid-demo"))
    with sqlite3.connect(db) as c:
        (busiest,) = c.execute(
            "SELECT session_id FROM usage GROUP BY session_id "
            "ORDER BY COUNT(DISTINCT model) DESC, COUNT(*) DESC, session_id LIMIT 1"
        ).fetchone()
    for url in _serve(db):
        yield url, busiest


DEMO_PAGES = [
    ("/sessions", "#sessions-grid .ag-row"),
    ("/models", "#models-grid .ag-row"),
    ("/tools", "#tools-recent-grid .ag-row"),
    ("/alerts", "#alerts-grid .ag-row"),
    ("/costs", "#costs-source-grid .ag-row"),
    ("/cron", "#cron-grid .ag-row"),
    ("/session/{busiest}", "#session-models .ag-row"),
]


@pytest.mark.parametrize(("path", "selector"), DEMO_PAGES)
@pytest.mark.parametrize("width", [1440, 1000])
def test_demo_grids_fit(page: Any, demo: tuple[str, str], path: str, selector: str,  # noqa: F811
                        width: int) -> None:  # fmt: skip
    """At 1440 px every column fits (no sideways scrolling); at 1000 px a wide grid scrolls
    sideways, its columns still at their full width: nothing is cut on either."""
    url, busiest = demo
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(url + path.format(busiest=busiest) + "?range=all")
    page.wait_for_selector(selector)
    page.wait_for_timeout(300)
    name = path.strip("/").split("/")[0]
    page.screenshot(path=str(SHOTS / f"grid-demo-{name}-{width}.png"), full_page=True)
    for m in page.evaluate(MEASURE):
        gid = m["id"]
        assert m["headers"] == [], f"{gid}: headers cut short: {m['headers']}"
        assert m["cells"] == [], f"{gid}: values cut short, no tooltip: {m['cells']}"
        assert m["untitled"] == [], f"{gid}: headers without a tooltip: {m['untitled']}"
        if width == 1440:
            assert m["sideways"] <= 1, f"{gid}: columns wider than the grid by {m['sideways']}"
        if m["auto"]:
            assert m["scrolls"] <= 1, f"{gid}: {m['rows']} rows shown, the rest scroll"
