"""Every page in a real browser (Debian's chromium, headless, through Playwright) against the
hand-checked database: numbers on screen, a range preset and a filter changed through the
controls (and kept in the URL), a session page opened from the grid, an alert acknowledged,
a phone-sized layout, and the missing-database message. Any browser console error fails the
test. Screenshots go to test-artifacts/screenshots/<page>.png."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE.parent))

from webapp_seed import NOW_MS, seed_small  # noqa: E402

from ingestor.config import IngestSettings  # noqa: E402
from ingestor.daemon import build  # noqa: E402
from ingestor.demo import DemoOptions, generate  # noqa: E402

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "test-artifacts" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(db: Path) -> Iterator[str]:
    port = _free_port()
    log = db.with_suffix(".log")
    with log.open("wb") as out:  # never a pipe: a full pipe would stall the server
        proc = subprocess.Popen(
            [sys.executable, str(HERE / "serve_fixed.py"), str(db), str(port), str(NOW_MS)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url, timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    err = log.read_text(errors="replace")
                    raise RuntimeError(f"the dashboard did not start: {err[-2000:]}") from None
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = seed_small(tmp_path_factory.mktemp("browser") / "small.sqlite")
    yield from _serve(db)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


class Console:
    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))


@contextmanager
def new_page(browser: Any, width: int = 1440, height: int = 1000, **ctx: Any) -> Iterator[Any]:
    """A page in a fresh browser context; a console error fails the test at its end."""
    context = browser.new_context(viewport={"width": width, "height": height}, **ctx)
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    console = Console(pg)
    yield pg
    context.close()
    assert console.errors == [], f"browser console errors: {console.errors}"


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    with new_page(browser) as pg:
        yield pg


def ingest_demo(root: Path, days: int = 4, seed: int = 5) -> Path:
    """A demo state dir under ``root`` ingested into ``root/demo.sqlite`` (its path)."""
    generate(root / "state", DemoOptions(seed=seed, days=days))
    db = root / "demo.sqlite"
    settings = IngestSettings(db_url=f"sqlite:///{db}", sources=(root / "state",), host_id="t")
    engine, pipe = build(settings)
    pipe.run_pass([root / "state"])
    engine.dispose()
    return db


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(300)  # let plotly finish its transition
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def choose(page: Any, control: str, option: str, *, multi: bool = False) -> None:
    page.click(f"#{control}")
    page.click(f"[role=option]:has-text('{option}')")
    if multi:
        page.keyboard.press("Escape")


def test_overview_range_and_filter(page: Any, server: str) -> None:
    page.goto(server + "/")
    page.wait_for_selector("#card-cost-value:has-text('$2.88')")
    assert page.inner_text("#card-calls-value") == "9"
    assert page.inner_text("#card-hit-value") == "42.9%"
    assert "+44.0%" in page.inner_text("#card-cost-delta")
    page.wait_for_selector("#overview-cost .gtitle:has-text('Cost per day')")
    shot(page, "overview")
    choose(page, "ctl-range", "Last 30 days")
    page.wait_for_selector("#card-cost-value:has-text('$4.88')")
    assert "range=30d" in page.url
    choose(page, "ctl-agent", "ops", multi=True)
    page.wait_for_selector("#card-cost-value:has-text('$0.03')")
    assert "agent=ops" in page.url
    page.reload()  # the view survives a reload: state lives in the URL
    page.wait_for_selector("#card-cost-value:has-text('$0.03')")
    assert page.inner_text("#ctl-range").strip().startswith("Last 30 days")


@pytest.mark.parametrize(
    ("path", "name", "selector"),
    [
        ("/timeline", "timeline", "#timeline-cost .gtitle:has-text('Cost per day')"),
        ("/models", "models", "#models-grid .ag-cell:has-text('claude-sonnet-4')"),
        ("/tools", "tools", "#tools-grid .ag-cell:has-text('exec')"),
        ("/cron", "cron", "#cron-grid .ag-cell:has-text('nightly-report')"),
    ],
)
def test_pages_render(page: Any, server: str, path: str, name: str, selector: str) -> None:
    page.goto(server + path)
    page.wait_for_selector(selector)
    if name == "models":
        page.wait_for_selector("#models-grid .ag-cell:has-text('$1.80')")
    if name == "tools":
        page.wait_for_selector("#tools-recent-grid .ag-cell:has-text('5,000 ms')")
    if name == "timeline":
        page.wait_for_selector("#timeline-note:has-text('2 spikes marked')")
    shot(page, name)


def test_logs_page(page: Any, server: str) -> None:
    page.goto(server + "/logs")
    page.wait_for_selector("#logs-count:has-text('7 matching lines (FATAL 1 · ERROR 2 · WARN 4)')")
    page.wait_for_selector("#logs-grid .ag-cell:has-text('uncaught exception: EADDRINUSE')")
    # a known session is a link, named as on the Sessions page, its id the link's tooltip
    page.wait_for_selector("#logs-grid a:has-text('agent:main:main')")
    cell = page.locator("#logs-grid .ag-cell[col-id=session]:has(a:has-text('agent:main:main'))")
    assert cell.first.get_attribute("title") == "s-main"
    assert page.locator("#logs-grid a:has-text('s-main')").count() == 0
    page.wait_for_selector("#logs-levels .gtitle:has-text('Log lines per day by level')")
    assert "active" in (page.get_attribute("#nav-logs", "class") or "")
    shot(page, "logs")
    page.fill("#logs-q", "95%")
    page.press("#logs-q", "Enter")
    page.wait_for_selector("#logs-count:has-text('1 matching line')")
    page.wait_for_selector("#logs-grid .ag-cell:has-text('disk 95% full on /var_log')")


def test_empty_range_links_to_all_time(page: Any, server: str) -> None:
    page.goto(server + "/?range=custom&start=2025-01-01&end=2025-01-31")
    page.wait_for_selector("#range-hint:has-text('2024-12-01')")
    shot(page, "empty-range")
    page.click("#range-hint-all")
    page.wait_for_selector("#card-cost-value:has-text('$4.89')")
    assert "range=all" in page.url


def test_costs_page_and_cost_control(page: Any, server: str) -> None:
    page.goto(server + "/costs?range=30d")
    page.wait_for_selector("#costs-card-cost-value:has-text('$4.88')")
    assert page.inner_text("#costs-card-list-value") == "$4.63"
    assert page.inner_text("#costs-card-flagged-value") == "3"
    page.wait_for_selector("#costs-source-grid .ag-cell:has-text('$4.11')")
    page.wait_for_selector("#costs-unpriced-grid .ag-cell:has-text('llama3.3:70b')")
    assert 'model = "llama3.3:70b"' in page.inner_text("#costs-overrides")
    page.wait_for_selector("#costs-recent-grid a:has-text('Alice')")
    page.wait_for_selector("#costs-source-share .gtitle:has-text('Share of cost by source')")
    page.wait_for_selector("#costs-savings-time .gtitle")
    shot(page, "costs")
    # the global "Cost" control: list price, kept in the URL and honoured by the Overview
    page.click("#ctl-basis label:has-text('List price')")
    page.wait_for_selector("#costs-note:has-text('list price')")
    assert "basis=list" in page.url
    page.click("#nav-overview")
    page.wait_for_selector("#card-cost-value:has-text('$4.63')")
    assert "basis=list" in page.url
    page.wait_for_selector("#overview-cost .gtitle:has-text('list price')")


def test_sessions_grid_opens_a_session(page: Any, server: str) -> None:
    page.goto(server + "/sessions?range=30d")
    page.wait_for_selector("#sessions-note:has-text('7 sessions active')")
    page.wait_for_selector("#sessions-grid a:has-text('agent:main:main')")
    # opened sorted by End, newest first, and the header says so
    page.wait_for_selector(
        "#sessions-grid .ag-header-cell[col-id=end] .ag-sort-descending-icon:not(.ag-hidden)"
    )
    first = page.locator("#sessions-grid .ag-center-cols-container .ag-row[row-index='0']")
    assert first.locator(".ag-cell[col-id=end]").inner_text() == "2025-03-15 10:45"
    shot(page, "sessions")
    page.click("#sessions-grid a:has-text('agent:main:main')")
    page.wait_for_selector("#session-cost:has-text('$2.50')")
    assert page.inner_text("#session-total") == "$2.80"
    assert "/session/s-main" in page.url
    assert "range=30d" in page.url
    assert page.inner_text("#session-scope") == (
        "Whole session, all time · all 3 calls lie in the selected range (Last 30 days, "
        "2025-02-14 → 2025-03-15, UTC)"
    )
    page.wait_for_selector("#session-tree .ag-cell:has-text('researcher')")
    page.wait_for_selector("#session-calls-fig .gtitle")
    shot(page, "session")


def test_session_page_cut_by_the_range(page: Any, server: str) -> None:
    """A range that holds part of a session: the page shows the whole session, says how much
    of it the range holds, and shades the range on the calls chart."""
    page.goto(server + "/session/s-main?range=custom&start=2025-03-15&end=2025-03-15")
    page.wait_for_selector("#session-scope:has-text('1 of its 3 calls')")
    assert page.inner_text("#session-scope") == (
        "Whole session, all time · 1 of its 3 calls ($0.75 of $2.50) lies in the selected "
        "range (2025-03-15 → 2025-03-15, UTC)"
    )
    assert page.inner_text("#session-calls") == "3"
    assert page.inner_text("#session-cost") == "$2.50"
    page.wait_for_selector("#session-calls-fig .legendtext:has-text('Selected range')")
    shot(page, "session-range-cut")


def test_overview_without_earlier_history(page: Any, server: str) -> None:
    page.goto(server + "/?range=custom&start=2024-12-01&end=2024-12-09")
    page.wait_for_selector("#card-cost-value:has-text('$0.01')")
    assert page.inner_text("#previous-partial") == (
        "No change is shown: the recorded history starts 2024-12-01, and there is no history "
        "before it to compare with (the previous period runs from 2024-11-22 to 2024-11-30)."
    )
    assert page.inner_text("#card-cost-delta").strip() == ""
    assert page.locator(".metric-delta:has-text('new vs previous')").count() == 0
    shot(page, "overview-no-earlier-history")


def test_alerts_acknowledge(page: Any, server: str) -> None:
    page.goto(server + "/alerts")
    page.wait_for_selector("#alerts-summary:has-text('3 open alerts')")
    shot(page, "alerts")
    page.locator("#alerts-grid .ag-row").first.locator("input[type=checkbox]").check()
    page.click("#alert-ack")
    page.wait_for_selector("#alert-ack-result:has-text('Acknowledged 1 alert')")
    page.wait_for_selector("#alerts-summary:has-text('2 open alerts · 1 acknowledged')")


def test_phone_layout(browser: Any, server: str) -> None:
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    pg = ctx.new_page()
    console = Console(pg)
    pg.goto(server + "/")
    pg.wait_for_selector("#card-cost-value:has-text('$2.88')")
    width = pg.evaluate("() => document.documentElement.scrollWidth")
    shot(pg, "overview-phone")
    ctx.close()
    assert width <= 390
    assert console.errors == []


def test_missing_database(browser: Any, tmp_path: Path) -> None:
    for url in _serve(tmp_path / "missing.sqlite"):
        ctx = browser.new_context(viewport={"width": 1440, "height": 900})
        pg = ctx.new_page()
        console = Console(pg)
        pg.goto(url + "/")
        pg.wait_for_selector("#db-error:has-text('agentbox-telemetry ingest --db')")
        pg.wait_for_load_state("networkidle")
        assert pg.locator(".message-panel").count() == 1  # one message, not one per part
        shot(pg, "missing-database")
        ctx.close()
        assert console.errors == []
