"""Page callbacks called directly against the hand-checked database, with a fixed clock:
the numbers and texts each page puts on screen, the URL/state sync, the router, the alert
acknowledgement (the only write), and the panels for an empty, missing or slow database."""

from __future__ import annotations

import shutil
import sqlite3
import sys
from contextvars import copy_context
from pathlib import Path
from typing import Any

import pytest
from dash._callback_context import context_value
from dash._utils import AttributeDict
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

sys.path.insert(0, str(Path(__file__).parent))

from webapp_seed import NOW_MS, seed_empty, seed_small

from ingestor.config import ServeSettings
from webapp import pagekit, shell
from webapp.context import AppContext, set_context
from webapp.pages import (
    PAGES,
    alerts,
    cron,
    models,
    overview,
    session,
    sessions,
    timeline,
    tools,
)
from webapp.state import ViewState


def use_db(path: Path, tz: str = "UTC", timeout_ms: int = 5000) -> AppContext:
    ctx = AppContext(
        settings=ServeSettings(db_url=f"sqlite:///{path}", query_timeout_ms=timeout_ms),
        default_tz=tz,
        clock=lambda: NOW_MS,
    )
    set_context(ctx)
    return ctx


@pytest.fixture(scope="module")
def small_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seed_small(tmp_path_factory.mktemp("cb") / "small.sqlite")


@pytest.fixture
def app_ctx(small_db: Path) -> AppContext:
    return use_db(small_db)


def state(**kw: Any) -> dict[str, Any]:
    return ViewState(**kw).to_dict()


def walk(node: Any):
    if isinstance(node, list | tuple):
        for n in node:
            yield from walk(n)
    elif hasattr(node, "to_plotly_json"):
        yield node
        for attr in ("children",):
            yield from walk(getattr(node, attr, None))


def by_id(tree: Any, cid: str) -> Any:
    for n in walk(tree):
        if getattr(n, "id", None) == cid:
            return n
    raise AssertionError(f"no component {cid!r}")


def texts(tree: Any) -> dict[str, str]:
    return {n.id: n.children for n in walk(tree) if getattr(n, "id", None)
            and isinstance(getattr(n, "children", None), str)}  # fmt: skip


def test_overview_cards(app_ctx: AppContext) -> None:
    t = texts(overview.render_cards(state()))
    assert t["card-cost-value"] == "$2.88"
    assert t["card-cost-delta"] == "▲ +44.0% vs previous"
    assert t["card-sessions-value"] == "6"
    assert t["card-calls-value"] == "9"
    assert t["card-failed-value"] == "2"
    assert t["card-tools-value"] == "8"
    assert t["card-input-value"] == "8.3k"
    assert t["card-output-value"] == "2.3k"
    assert t["card-cache-read-value"] == "7.0k"
    assert t["card-cache-write-value"] == "1.0k"
    assert t["card-hit-value"] == "42.9%"
    assert t["card-savings-value"] == "$0.31"
    assert t["range-caption"] == "Last 7 days · 2025-03-09 → 2025-03-15 (UTC)"


def test_overview_follows_zone_and_filters(app_ctx: AppContext) -> None:
    t = texts(overview.render_cards(state(range="today", tz="America/New_York")))
    assert (t["card-cost-value"], t["card-calls-value"]) == ("$0.03", "2")
    t = texts(overview.render_cards(state(providers=("openai",))))
    assert (t["card-cost-value"], t["card-sessions-value"], t["card-tools-value"]) == (
        "$0.33", "2", "3")  # fmt: skip
    t = texts(overview.render_cards(state(range="all")))
    assert t["card-cost-value"] == "$4.89"
    assert t["card-cost-delta"] == "\u00a0"  # no previous period for all time


def test_overview_charts(app_ctx: AppContext) -> None:
    fig = by_id(overview.render_charts(state()), "overview-cost").figure
    assert [round(v, 2) for v in fig["data"][0]["y"]] == [0.0, 0.03, 0.0, 0.02, 0.0, 1.75, 1.08]
    assert fig["layout"]["title"]["text"] == "Cost per day"
    assert fig["layout"]["yaxis"]["title"]["text"] == "Cost (USD)"
    assert len(fig["data"]) == 2  # spikes marked on the 14th and 15th
    assert [round(v, 2) for v in fig["data"][1]["y"]] == [1.75, 1.08]


def test_timeline(app_ctx: AppContext) -> None:
    out = timeline.render(state(bucket="hour", range="today"))
    assert texts(out)["timeline-note"].startswith("Hour buckets in UTC")
    calls = by_id(out, "timeline-calls").figure
    assert sum(calls["data"][0]["y"]) + sum(calls["data"][1]["y"]) == 5
    assert sum(calls["data"][1]["y"]) == 2  # c3 and c7 failed
    tokens = by_id(out, "timeline-tokens").figure
    assert [d["name"] for d in tokens["data"]] == ["Input", "Output", "Cache read", "Cache write"]
    assert timeline.pick_bucket("week", "?range=30d") == "?range=30d&bucket=week"


def test_models(app_ctx: AppContext) -> None:
    grid = by_id(models.render(state()), "models-grid")
    assert [(r["model"], r["calls"], round(r["cost"], 2)) for r in grid.rowData] == [
        ("claude-sonnet-4", 4, 1.80), ("claude-opus-4", 1, 0.75), ("gpt-4o", 4, 0.33)]  # fmt: skip


def test_tools(app_ctx: AppContext) -> None:
    summary = tools.render_summary(state())
    rows = by_id(summary, "tools-grid").rowData
    assert [(r["tool"], r["calls"], r["errors"], r["p50_ms"]) for r in rows] == [
        ("exec", 4, 1, 210.0), ("read", 2, 1, 12.5), ("web_search", 2, 0, 2000.0)]  # fmt: skip
    assert by_id(summary, "tools-pick").value == "exec"
    recent = by_id(tools.render_recent("exec", state()), "tools-recent-grid").rowData
    assert recent[0]["session"] == "[nightly-report](/session/s-cron)"  # named as on Sessions
    assert recent[0]["time"] == "2025-03-15 06:00:00"
    fams = by_id(tools.render_trends(state()), "tools-families").rowData
    assert [(f["family"], f["calls"]) for f in fams] == [("git", 2), ("ls", 1), ("python", 1)]
    assert tools.pick_tool("read", "", state()) == "?tool=read"


def test_sessions(app_ctx: AppContext) -> None:
    out = sessions.render(state(range="30d"))
    assert texts(out)["sessions-note"].startswith("7 sessions active in the range")
    rows = {r["session_id"]: r for r in by_id(out, "sessions-grid").rowData}
    assert rows["s-main"]["session"] == "[agent:main:main](/session/s-main?range=30d)"
    assert (rows["s-main"]["calls"], rows["s-main"]["tokens"]) == (3, 12200)
    assert rows["s-old"]["cost"] == pytest.approx(2.0)
    assert sessions.export_csv(1) is True


def test_session_page(app_ctx: AppContext) -> None:
    out = session.render("s-main", state())
    t = texts(out)
    assert (t["session-cost"], t["session-total"], t["session-calls"]) == ("$2.50", "$2.80", "3")
    assert t["session-tokens"] == "12.2k"
    tree = by_id(out, "session-tree").rowData
    assert [(round(r["own_cost"], 2), round(r["total_cost"], 2)) for r in tree] == [
        (2.5, 2.8), (0.3, 0.3)]  # fmt: skip
    assert len(by_id(out, "session-tools").rowData) == 4
    sub = session.render("s-sub", state())
    assert by_id(sub, "session-parent").href == "/session/s-main"
    runs = by_id(session.render("s-cron", state()), "session-cron-runs").rowData
    assert len(runs) == 2
    assert by_id(session.render("nope", state()), "not-found")


def test_cron(app_ctx: AppContext) -> None:
    out = cron.render(state())
    rows = by_id(out, "cron-grid").rowData
    assert [(r["name"], r["runs"], round(r["cost"], 2)) for r in rows] == [
        ("researcher", 1, 0.3), ("nightly-report", 2, 0.05)]  # fmt: skip
    assert by_id(out, "cron-cost").figure["layout"]["title"]["text"] == "Cost per day by cron job"


def test_alerts_and_acknowledge(small_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "ack.sqlite"
    shutil.copy(small_db, db)
    use_db(db)
    out = alerts.render(state(), 0, False, 0)
    rows = by_id(out, "alerts-grid").rowData
    assert [r["key"] for r in rows] == [
        "session_cost:s-main",
        "cost_spike:2025-03-14:UTC",
        "cost_spike:2025-03-15:UTC",
    ]
    assert texts(out)["alerts-summary"] == "3 open alerts"
    _msg, version = alerts.acknowledge(1, [rows[0]], 0)
    assert version == 1
    with create_engine(f"sqlite:///{db}").connect() as c:
        assert c.execute(text("SELECT alert_key, acked_ms FROM alert_acks")).all() == [
            ("session_cost:s-main", NOW_MS)]  # fmt: skip
    out = alerts.render(state(), 0, False, 1)
    assert texts(out)["alerts-summary"] == "2 open alerts · 1 acknowledged"
    shown = alerts.render(state(), 0, True, 1)
    assert by_id(shown, "alerts-grid").rowData[0]["status"].startswith("acknowledged")
    # thresholds come from the URL
    high = alerts.render(state(cost_threshold=5.0, spike_factor=10.0), 0, False, 1)
    assert texts(high)["alerts-summary"] == "1 open alert"
    assert by_id(high, "alerts-grid").rowData[0]["key"] == "cost_spike:2025-03-14:UTC"
    assert alerts.thresholds(2, 50000, 3, "?range=30d") == "?range=30d&cost=2&tokens=50000&spike=3"


def _run_sync(trigger: str | None, *args: Any) -> tuple[Any, ...]:
    def run() -> tuple[Any, ...]:
        triggered = [{"prop_id": f"{trigger}.value"}] if trigger else []
        context_value.set(AttributeDict(triggered_inputs=triggered))
        return shell.sync_state(*args)

    return copy_context().run(run)


def test_url_state_sync(app_ctx: AppContext) -> None:
    out = _run_sync(None, "?range=30d&agent=ops", "7d", None, None, "UTC", [], [], [], [], 0)
    assert out[1]["range"] == "30d"
    assert out[1]["agents"] == ["ops"]
    assert out[2:5] == ("30d", "2025-02-14", "2025-03-15")
    assert out[6] == ["ops"]
    assert out[13] == ["main", "ops", "research"]  # filter choices arrive with the values
    # a control changes: the URL follows
    out = _run_sync("ctl-range", "?range=30d", "today", None, None, "UTC", ["main"], [], [], [], 10)
    assert out[0] == "?range=today&refresh=10&agent=main"
    assert out[11:13] == (False, 10_000)


def test_router_and_nav(app_ctx: AppContext) -> None:
    assert by_id(shell.route("/session/s-main", "?range=30d"), "session-id").data == "s-main"
    assert by_id(shell.route("/nope", ""), "not-found")
    links = shell.nav_links("?range=30d", "/session/x")
    assert links[0] == "/?range=30d"
    active = dict(zip(PAGES, links[len(PAGES) :], strict=True))
    assert active["sessions"] is True  # Sessions is active on a session page
    assert [k for k, on in active.items() if on] == ["sessions"]


def test_empty_database(tmp_path: Path) -> None:
    use_db(seed_empty(tmp_path / "empty.sqlite"))
    out = overview.render_cards(state())
    panel = by_id(out, "db-empty")
    text_ = str(panel.to_plotly_json())
    assert "~/.openclaw" in text_
    # the commands fill the database on screen, and the demo is generated, then ingested
    db = f"--db sqlite:///{tmp_path / 'empty.sqlite'}"
    assert f"agentbox-telemetry ingest {db} --source ~/.openclaw" in text_
    assert "agentbox-telemetry demo --out ./openclaw-demo" in text_
    assert f"ingest {db} --source ./openclaw-demo --source ./openclaw-demo/logs" in text_
    # one message a page: the charts below the cards say nothing more
    assert overview.render_charts(state()) is None


def test_missing_database(tmp_path: Path) -> None:
    use_db(tmp_path / "nowhere.sqlite")
    for render in (overview.render_cards, models.render, sessions.render):
        panel = by_id(render(state()), "db-error")
        text_ = str(panel.to_plotly_json())
        assert f"agentbox-telemetry ingest --db sqlite:///{tmp_path / 'nowhere.sqlite'}" in text_
        assert "--db-url" not in text_ and "with --db or TELEMETRY_DB_URL" in text_
    assert overview.render_charts(state()) is None
    # no schema at all
    sqlite3.connect(tmp_path / "bare.sqlite").execute("CREATE TABLE x (a)").connection.commit()
    use_db(tmp_path / "bare.sqlite")
    assert "no telemetry tables" in str(
        by_id(overview.render_cards(state()), "db-error").to_plotly_json()
    )


def test_slow_query_gives_a_clear_message(app_ctx: AppContext) -> None:
    def slow(_conn: Any, _view: Any) -> Any:
        raise OperationalError("SELECT ...", {}, sqlite3.OperationalError("interrupted"))

    panel = by_id(pagekit.guarded(state(), slow), "db-timeout")
    assert "5 s limit" in str(panel.to_plotly_json())


def test_real_time_limit_interrupts(small_db: Path) -> None:
    ctx = use_db(small_db, timeout_ms=1)
    with ctx.engine().connect() as c, pytest.raises(OperationalError, match="interrupted"):
        c.execute(text("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n "
                       "WHERE i < 50000000) SELECT count(*) FROM n")).all()  # fmt: skip


def test_empty_range_hint(app_ctx: AppContext) -> None:
    """A range without any data (the data is elsewhere): the pages say so, give the data's
    first and last day, and link to all time (the link keeps the page and the filters)."""
    january = state(range="custom", start="2025-01-01", end="2025-01-31", agents=("main",))
    out = overview.render_cards(january)
    assert texts(out)["card-calls-value"] == "0"
    hint = by_id(out, "range-hint")
    text_ = str(hint.to_plotly_json())
    assert "Nothing was recorded in this range (2025-01-01 – 2025-01-31)" in text_
    assert "2024-12-01" in text_ and "2025-03-15" in text_
    assert by_id(out, "range-hint-all").href == "?range=all&agent=main"
    for render in (cron.render, models.render, sessions.render, timeline.render):
        assert by_id(render(january), "range-hint-all").href == "?range=all&agent=main"
    assert by_id(tools.render_summary(january), "range-hint")
    # a range with data, or all time: no hint
    for st in (state(), state(range="all"), state(range="today", agents=("research",))):
        with pytest.raises(AssertionError):
            by_id(overview.render_cards(st), "range-hint")


def test_list_price_on_every_page(app_ctx: AppContext) -> None:
    """The global "Cost" control reaches the sessions list, a session's page, cron and
    sub-agents and the alerts, not only the charts (s-main: c2 is logged at $1.25 but listed
    at $1.00, so its list price is $2.25 against a cost of $2.50)."""
    lp = state(cost_basis="list")
    grid = by_id(sessions.render(lp), "sessions-grid")
    assert {r["session_id"]: round(r["cost"], 2) for r in grid.rowData}["s-main"] == 2.25
    assert [c["headerName"] for c in grid.columnDefs if c["field"] == "cost"] == ["List price"]
    out = session.render("s-main", lp)
    t = texts(out)
    assert (t["session-cost"], t["session-total"]) == ("$2.25", "$2.55")
    tree = by_id(out, "session-tree")
    assert [(round(r["own_cost"], 2), round(r["total_cost"], 2)) for r in tree.rowData] == [
        (2.25, 2.55), (0.3, 0.3)]  # fmt: skip
    assert [c["headerName"] for c in tree.columnDefs if "cost" in c["field"]] == [
        "Own list price", "List price incl. children"]  # fmt: skip
    models_grid = by_id(out, "session-models").rowData
    assert {r["model"]: round(r["cost"], 2) for r in models_grid} == {
        "claude-sonnet-4": 1.5, "claude-opus-4": 0.75}  # fmt: skip
    fig = by_id(out, "session-calls-fig").figure
    assert [round(y, 2) for y in fig["data"][0]["y"]] == [0.5, 1.0, 0.75]
    assert fig["layout"]["title"]["text"].endswith("— list price")
    cron_out = cron.render(lp)
    assert by_id(cron_out, "cron-cost").figure["layout"]["title"]["text"] == (
        "List price per day by cron job"
    )
    # the effective view is unchanged
    assert texts(session.render("s-main", state()))["session-cost"] == "$2.50"
    cols = by_id(sessions.render(state()), "sessions-grid").columnDefs
    assert [c["headerName"] for c in cols if c["field"] == "cost"] == ["Cost"]


def test_timeline_spikes_look_back_before_the_range(app_ctx: AppContext) -> None:
    """A range that starts on a spike marks it as the 7-day view and the Alerts page do: the
    trailing average reaches back before the range (it had no history there, so no mark)."""
    custom = state(range="custom", start="2025-03-14", end="2025-03-20")
    out = timeline.render(custom)
    assert texts(out)["timeline-note"].startswith("Day buckets in UTC · 2 spikes marked")
    fig = by_id(out, "timeline-cost").figure
    assert [round(v, 2) for v in fig["data"][1]["y"]] == [1.75, 1.08]
    charts = overview.render_charts(custom)
    assert [round(v, 2) for v in by_id(charts, "overview-cost").figure["data"][1]["y"]] == [
        1.75, 1.08]  # fmt: skip


def test_overview_says_when_the_previous_period_predates_history(app_ctx: AppContext) -> None:
    # history starts 2024-12-01 (c12): the 9 days before a range from that day hold nothing
    out = overview.render_cards(state(range="custom", start="2024-12-01", end="2024-12-09"))
    note = by_id(out, "previous-partial").children
    assert "from 2024-11-22" in note and "history starts 2024-12-01" in note
    # the last 30 days compare with 30 days that history covers: no note
    assert "previous-partial" not in texts(overview.render_cards(state(range="30d")))


# --- a 4-day demo: ten tools and eleven models, more than the charts show one by one ---------


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ingestor.config import IngestSettings
    from ingestor.daemon import build
    from ingestor.demo import DemoOptions, generate

    root = tmp_path_factory.mktemp("cb-demo")
    generate(root / "state", DemoOptions(seed=5, days=4))
    db = root / "demo.sqlite"
    engine, pipe = build(
        IngestSettings(db_url=f"sqlite:///{db}", sources=(root / "state",), host_id="t")
    )
    pipe.run_pass([root / "state"])
    engine.dispose()
    return db


def test_tools_chart_adds_up_to_the_table(demo_db: Path) -> None:
    """The tool calls per day: the 8 most used tools and "other", together the table's total
    (it showed the 8 alone, 470 of 498)."""
    use_db(demo_db)
    rows = by_id(tools.render_summary(state(range="all")), "tools-grid").rowData
    assert sum(r["calls"] for r in rows) == 498
    fig = by_id(tools.render_trends(state(range="all")), "tools-time").figure
    assert {d["name"]: sum(d["y"]) for d in fig["data"]} == {
        "exec": 120, "read": 82, "web_fetch": 80, "web_search": 68, "write": 46, "browser": 34,
        "memory_search": 20, "sessions_spawn": 20, "other": 28,  # message 18 + edit 10
    }  # fmt: skip


def test_models_charts_add_up_and_agree_on_colours(demo_db: Path) -> None:
    use_db(demo_db)
    out = models.render(state(range="all"))
    rows = by_id(out, "models-grid").rowData
    cost = by_id(out, "models-cost-time").figure
    assert len(cost["data"]) == 10  # the 9 largest and "other" for the other 2 of 11
    total = sum(sum(d["y"]) for d in cost["data"])
    assert round(total, 6) == round(sum(r["cost"] for r in rows), 6)
    share = by_id(out, "models-share").figure["data"][0]
    bars = {d["name"]: d["marker"]["color"] for d in cost["data"]}
    slices = dict(zip(share["labels"], share["marker"]["colors"], strict=True))
    assert {k: bars[k] for k in slices} == slices  # a model has one colour on the page
    assert len(set(bars.values())) == len(bars)
    assert bars["other"] == slices["other"] == "#bab0ac"


def test_stacked_charts_name_even_one_series(app_ctx: AppContext) -> None:
    """The sub-agent chart of the hand-checked data has one label: its legend still says
    which (Plotly hides the legend of one trace unless told)."""
    fig = by_id(cron.render(state()), "subagent-cost").figure
    assert [d["name"] for d in fig["data"]] == ["researcher"]
    assert fig["layout"]["showlegend"] is True


def test_nav_menu_closes_when_a_page_is_chosen() -> None:
    assert shell.nav_open_after("nav-toggle", False) is True
    assert shell.nav_open_after("nav-toggle", True) is False
    assert shell.nav_open_after("url", True) is False  # a new page
    assert shell.nav_open_after("nav-models", True) is False  # a link, even to this page
    assert shell.nav_open_after("nav-models", False) is False


def test_panels_name_the_command_that_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the program on PATH (scripts/run.sh never activates its venv) the empty
    database panel shows the script beside the interpreter; with it, the bare name."""
    from webapp import pricehints

    script = Path(sys.executable).parent / "agentbox-telemetry"
    use_db(seed_empty(tmp_path / "empty.sqlite"))
    monkeypatch.setattr(shutil, "which", lambda name: None)
    pricehints.cli_command.cache_clear()
    try:
        text_ = str(by_id(overview.render_cards(state()), "db-empty").to_plotly_json())
        assert f"{script} ingest --db sqlite:///{tmp_path / 'empty.sqlite'} --source" in text_
        assert f"{script} demo --out ./openclaw-demo" in text_
        monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
        pricehints.cli_command.cache_clear()
        text_ = str(by_id(overview.render_cards(state()), "db-empty").to_plotly_json())
        assert "'agentbox-telemetry demo --out ./openclaw-demo" in text_.replace("\\n", "'")
        assert str(script) not in text_
    finally:
        pricehints.cli_command.cache_clear()
