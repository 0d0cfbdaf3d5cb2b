"""The Ingest page in a real browser (Debian's chromium, through Playwright): on the browser
tests' hand-checked database, which has one tracked file and no ingest error (the plain "no
errors" message, no empty grids), and on the Ingest tests' database with errors (numbers on
screen, the severity filter and the text search, a phone-sized layout). Any browser console
error fails the test. Screenshots go to test-artifacts/screenshots/ingest*.png."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from test_pages import (  # noqa: E402
    CHROMIUM,
    Console,
    _serve,
    browser,  # noqa: F401
    choose,
    page,  # noqa: F401
    server,  # noqa: F401
    shot,
)
from test_webapp_ingest import seed_ingest  # noqa: E402

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
]


@pytest.fixture(scope="module")
def ingest_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = seed_ingest(tmp_path_factory.mktemp("browser-ingest") / "ingest.sqlite")
    yield from _serve(db)


def test_ingest_page_without_errors(page: Any, server: str) -> None:  # noqa: F811
    page.goto(server + "/ingest")
    page.wait_for_selector("#ingest-card-files-value:has-text('1')")
    assert page.inner_text("#ingest-card-files-sub") == "1 active · 0 archived · 0 gone · 0 skipped"
    assert page.inner_text("#ingest-card-files-kinds") == "0 transcripts · 1 gateway log"
    assert page.inner_text("#ingest-card-files-cli") == "ingest counts 1 of them"
    assert page.inner_text("#ingest-card-errors-value") == "0"
    assert page.inner_text("#ingest-card-last-sub") == "just now"
    page.wait_for_selector("#ingest-no-errors:has-text('every line read was understood')")
    assert page.locator("#ingest-grid").count() == 0
    assert not page.is_visible("#ingest-q")  # no filters without anything to filter
    assert "active" in (page.get_attribute("#nav-ingest", "class") or "")
    assert page.inner_text("#nav-ingest") == "Ingest"
    shot(page, "ingest-no-errors")


def test_ingest_page_with_errors(page: Any, ingest_server: str) -> None:  # noqa: F811
    page.goto(ingest_server + "/ingest")
    page.wait_for_selector("#ingest-card-errors-value:has-text('7')")
    assert page.inner_text("#ingest-card-warnings-value") == "4"
    assert page.inner_text("#ingest-card-last-value") == "2025-03-15 12:10"
    assert page.inner_text("#ingest-card-files-value") == "11"
    assert page.inner_text("#ingest-card-files-kinds") == (
        "9 transcripts · 1 gateway log · 1 SQLite store"
    )
    assert page.inner_text("#ingest-card-files-cli") == "ingest counts 9 of them"
    page.wait_for_selector("#ingest-count:has-text('11 lines recorded in the range')")
    page.wait_for_selector("#ingest-problems .ag-cell:has-text('unexpected entry shape')")
    page.wait_for_selector("#ingest-grid .ag-cell:has-text('aaaaaaaa….jsonl')")
    page.wait_for_selector("#ingest-files .ag-cell:has-text('openclaw-agent.sqlite')")
    page.wait_for_selector("#ingest-skipped-table:has-text('x.jsonl')")
    shot(page, "ingest")
    with page.expect_download() as download:
        page.click("#ingest-csv")
    csv = Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert len(csv) == 12  # a header and the 11 lines, raw values: full path, ISO time
    assert csv[0] == '"Recorded","Severity","Path","Offset","Reason","Excerpt","Source id"'
    assert csv[1] == (
        '"2025-03-15T12:10:00+00:00","warning","/s/agents/research/agent/openclaw-agent.sqlite",'
        '"11","invalid UTF-8 replaced [session s-3]","line 11","16"'
    )
    choose(page, "ingest-severity", "Warnings only")
    page.wait_for_selector("#ingest-count:has-text('4 of 11 lines recorded in the range match')")
    page.fill("#ingest-q", "cost_50%")
    page.press("#ingest-q", "Enter")
    page.wait_for_selector("#ingest-count:has-text('0 of 11 lines')")
    page.wait_for_selector("#ingest-empty:has-text('No errors or warnings match these filters')")
    choose(page, "ingest-severity", "Errors and warnings")
    page.wait_for_selector("#ingest-count:has-text('1 of 11 lines recorded in the range match')")
    assert page.locator("#ingest-grid .ag-row").count() == 1


def test_ingest_phone_layout(browser: Any, ingest_server: str) -> None:  # noqa: F811
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    pg = ctx.new_page()
    console = Console(pg)
    pg.goto(ingest_server + "/ingest")
    pg.wait_for_selector("#ingest-card-errors-value:has-text('7')")
    pg.wait_for_selector("#ingest-grid .ag-cell")
    width = pg.evaluate("() => document.documentElement.scrollWidth")
    shot(pg, "ingest-phone")
    ctx.close()
    assert width <= 390
    assert console.errors == []
