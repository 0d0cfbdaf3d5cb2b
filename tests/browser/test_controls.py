"""The global controls in a real browser: a range picked with two clicks in the calendar."""

from __future__ import annotations

from typing import Any

import pytest
from test_pages import browser, page, server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


def _day(pg: Any, n: int) -> Any:
    """Day ``n`` of the calendar's first month."""
    return pg.locator(
        "td.dash-datepicker-calendar-date-inside", has=pg.locator(f"text='{n}'")
    ).first


def test_calendar_range_takes_two_clicks(page: Any, server: str) -> None:  # noqa: F811
    page.goto(server + "/")
    page.wait_for_selector("#card-cost-value:has-text('$2.88')")
    page.click("#ctl-dates")
    _day(page, 3).click()  # the start: the picker then waits for the end
    _day(page, 6).click()
    page.wait_for_url("**start=2025-03-03**")
    assert "end=2025-03-06" in page.url and "range=custom" in page.url
    assert page.input_value("#ctl-dates") == "2025-03-03"
