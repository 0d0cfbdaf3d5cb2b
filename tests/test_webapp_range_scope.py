"""What a page says about the range it does not (fully) use, on the hand-checked database:

* a session's page shows the whole session whatever the range, and says so where a range
  caption would be, with how many of its calls (and how much of its cost) the range holds;
  the range is shaded on its calls chart and kept in its links;
* the Overview shows no change against a previous period that lies wholly before the recorded
  history (not "▲ new" on every card), and says there is no history before its first day; a
  previous period only partly covered keeps its own note."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from test_webapp_callbacks import by_id, state, texts, use_db
from webapp_seed import seed_small

from webapp.pages import overview, session

DAY_15 = {"range": "custom", "start": "2025-03-15", "end": "2025-03-15"}


@pytest.fixture(scope="module")
def small_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seed_small(tmp_path_factory.mktemp("scope") / "small.sqlite")


@pytest.fixture
def app_ctx(small_db: Path) -> None:
    use_db(small_db)


def scope(session_id: str, **kw: Any) -> str:
    return str(texts(session.render(session_id, state(**kw)))["session-scope"])


def test_session_page_says_it_shows_the_whole_session(app_ctx: None) -> None:
    # s-main: c1 (03-14 20:10, $0.50), c2 (03-14 23:30, $1.25), c3 (03-15 00:30, $0.75); the
    # Sessions grid's row for 2025-03-15 says 1 call, $0.75
    out = session.render("s-main", state(**DAY_15))
    t = texts(out)
    assert t["session-scope"] == (
        "Whole session, all time · 1 of its 3 calls ($0.75 of $2.50) lies in the selected "
        "range (2025-03-15 → 2025-03-15, UTC)"
    )
    # ...and the numbers are the whole session's, as it says
    assert (t["session-calls"], t["session-cost"], t["session-tool-calls"]) == ("3", "$2.50", "4")
    # links from here keep the range
    tree = by_id(out, "session-tree").rowData
    assert tree[1]["session"] == (
        "[\u2003└ researcher](/session/s-sub?range=custom&start=2025-03-15&end=2025-03-15)"
    )


def test_session_scope_texts(app_ctx: None) -> None:
    assert scope("s-main", range="all") == "Whole session, all time"
    assert scope("s-main", range="7d") == (
        "Whole session, all time · all 3 calls lie in the selected range (Last 7 days, "
        "2025-03-09 → 2025-03-15, UTC)"
    )
    assert scope("s-main", range="custom", start="2025-03-01", end="2025-03-02") == (
        "Whole session, all time · none of its 3 calls lies in the selected range "
        "(2025-03-01 → 2025-03-02, UTC)"
    )
    assert scope("s-cron", range="7d") == (
        "Whole session, all time · its 1 call lies in the selected range (Last 7 days, "
        "2025-03-09 → 2025-03-15, UTC)"
    )
    assert scope("s-quiet", range="7d") == "Whole session, all time · it has no LLM call"
    # the cost basis: list prices $0.50 + $1.00 + $0.75
    assert scope("s-main", **DAY_15, cost_basis="list") == (
        "Whole session, all time · 1 of its 3 calls ($0.75 of $2.25) lies in the selected "
        "range (2025-03-15 → 2025-03-15, UTC)"
    )
    # filters do not apply to a session's page either: it says so when some are set
    assert scope("s-main", **DAY_15, agents=("ops",)) == (
        "Whole session, all time · 1 of its 3 calls ($0.75 of $2.50) lies in the selected "
        "range (2025-03-15 → 2025-03-15, UTC) · the Agent, Kind, Provider and Model filters "
        "do not apply here"
    )
    # the range in the viewer's zone (the last 24 hours start on the hour)
    assert scope("s-main", range="24h", tz="America/New_York") == (
        "Whole session, all time · all 3 calls lie in the selected range (Last 24 hours, "
        "2025-03-14 09:00 → 2025-03-15, America/New_York)"
    )


def _bands(session_id: str, **kw: Any) -> list[dict[str, Any]]:
    fig = by_id(session.render(session_id, state(**kw)), "session-calls-fig").figure
    return [s for s in fig["layout"].get("shapes") or [] if s.get("name") == "Selected range"]


def test_session_chart_shades_the_range_where_it_cuts_the_session(app_ctx: None) -> None:
    # from the range's start to the session's last call (not to the range's end: the time
    # axis keeps to the session)
    [band] = _bands("s-main", **DAY_15)
    assert (band["x0"], band["x1"], band["xref"], band["yref"]) == (
        "2025-03-15T00:00:00", "2025-03-15T00:30:00", "x", "paper")  # fmt: skip
    assert band["showlegend"] is True
    assert _bands("s-main", range="7d") == []  # the range holds the whole session
    assert _bands("s-main", range="all") == []
    assert _bands("s-main", range="custom", start="2025-03-01", end="2025-03-02") == []


def test_overview_without_earlier_history_shows_no_change(app_ctx: None) -> None:
    # the history starts 2024-12-01 (c12): the 9 days before a range from that day hold
    # nothing, so there is nothing to compare with
    out = overview.render_cards(state(range="custom", start="2024-12-01", end="2024-12-09"))
    t = texts(out)
    assert by_id(out, "card-cost-delta").title == "No change shown: nothing to compare with"
    assert t["previous-partial"] == (
        "No change is shown: the recorded history starts 2024-12-01, and there is no history "
        "before it to compare with (the previous period runs from 2024-11-22 to 2024-11-30)."
    )
    assert (t["card-cost-value"], t["card-calls-value"]) == ("$0.01", "1")
    deltas = {k: v for k, v in t.items() if k.endswith("-delta")}
    assert len(deltas) == 11
    assert set(deltas.values()) == {"\u00a0"}  # no "▲ new vs previous"


def test_overview_partly_covered_previous_period_keeps_its_note(app_ctx: None) -> None:
    out = overview.render_cards(state(range="custom", start="2024-12-05", end="2024-12-10"))
    t = texts(out)
    assert t["previous-partial"] == (
        "Changes compare with the previous period, from 2024-11-29, but the recorded history "
        "starts 2024-12-01: that period is only partly covered."
    )
    assert "text-warning" in by_id(out, "previous-partial").className
    assert t["card-cost-delta"] == "▼ -100.0% vs previous"  # c12 lies in the previous period
    # a previous period history covers: no note
    assert "previous-partial" not in texts(overview.render_cards(state(range="30d")))
