"""The Costs page and the "Cost: effective | list price" control against the hand-checked
database (tests/webapp_seed.py, ``COST_AUDIT``): exact numbers for every query, rollup answers
equal to raw answers, the override entry it proposes (valid for the ingestor's own parser),
and the page callback's texts."""

from __future__ import annotations

import shutil
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, text

sys.path.insert(0, str(Path(__file__).parent))

from test_webapp_callbacks import _run_sync, by_id, state, texts, use_db, walk
from webapp_seed import NOW_MS, ms, seed_empty, seed_small

from ingestor.db import make_readonly_engine
from ingestor.overrides import parse_overrides
from ingestor.pricing import Pricer
from webapp import queries as Q
from webapp import shell
from webapp.context import AppContext
from webapp.pages import PAGES, costs, models, overview, timeline
from webapp.pricehints import cli_command, override_entry, overrides_file, reprice_hint
from webapp.queries import costs as QC
from webapp.state import parse_query, to_query
from webapp.timeranges import bucket_starts, resolve_range


@pytest.fixture(scope="module")
def small_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seed_small(tmp_path_factory.mktemp("costs") / "small.sqlite")


@pytest.fixture(scope="module")
def conn(small_db: Path) -> Iterator[Connection]:
    engine = make_readonly_engine(f"sqlite:///{small_db}")
    with engine.connect() as c:
        yield c
    engine.dispose()


@pytest.fixture
def app_ctx(small_db: Path) -> AppContext:
    return use_db(small_db)


def filters(preset: str = "7d", tz: str = "UTC", **kw: tuple[str, ...]) -> Q.Filters:
    r = resolve_range(preset, tz, NOW_MS)
    return Q.Filters(r.since_ms, r.until_ms, tz, **kw)


def raw(f: Q.Filters) -> Q.Filters:
    """The same rows through the raw tables: a range off the hour by one ms."""
    out = replace(f, since_ms=f.since_ms - 1)  # type: ignore[operator]
    assert f.use_rollups and not out.use_rollups
    return out


def rounded(rows: list[dict], *keys: str) -> list[tuple]:
    return [tuple(round(r[k], 6) if isinstance(r[k], float) else r[k] for k in keys) for r in rows]


# --- queries ---------------------------------------------------------------------------------


def test_cost_totals(conn: Connection) -> None:
    t = QC.cost_totals(conn, filters())
    assert (t["calls"], t["cache_read"]) == (9, 7000)
    assert t["cost"] == pytest.approx(2.88)
    assert t["list_price"] == pytest.approx(2.628)  # c2 listed at 1.00, c7 at 0.008
    assert t["logged"] == pytest.approx(2.86)  # c6 logged 0
    assert t["savings"] == pytest.approx(0.31)
    month = QC.cost_totals(conn, filters("30d"))
    assert month["calls"] == 12
    assert (month["cost"], month["list_price"], month["logged"], month["savings"]) == (
        pytest.approx(4.88),
        pytest.approx(4.628),
        pytest.approx(4.86),
        pytest.approx(0.71),
    )
    for preset in ("7d", "30d", "today"):
        f = filters(preset)
        assert QC.cost_totals(conn, f) == pytest.approx(QC.cost_totals(conn, raw(f)))
    assert QC.cost_totals(conn, filters(agents=("nobody",))) == {
        "calls": 0, "cost": 0.0, "list_price": 0.0, "logged": 0.0, "savings": 0.0,
        "cache_read": 0}  # fmt: skip


def test_cost_by_source(conn: Connection) -> None:
    rows = QC.cost_by_source(conn, filters())
    assert rounded(rows, "source", "calls", "cost", "list_price", "call_share", "share") == [
        ("override", 1, 0.75, 0.75, round(1 / 9, 6), round(0.75 / 2.88, 6)),
        ("logged", 7, 2.11, 1.858, round(7 / 9, 6), round(2.11 / 2.88, 6)),
        ("priced", 1, 0.02, 0.02, round(1 / 9, 6), round(0.02 / 2.88, 6)),
        ("unknown", 0, 0.0, 0.0, 0.0, 0.0),
    ]
    month = QC.cost_by_source(conn, filters("30d"))
    assert rounded(month, "source", "calls", "cost") == [
        ("override", 1, 0.75),
        ("logged", 8, 4.11),
        ("priced", 2, 0.02),
        ("unknown", 1, 0.0),
    ]
    assert sum(r["calls"] for r in month) == QC.cost_totals(conn, filters("30d"))["calls"]
    openai = QC.cost_by_source(conn, filters(providers=("openai",)))
    assert rounded(openai, "source", "calls", "cost") == [
        ("override", 0, 0.0),
        ("logged", 4, 0.33),
        ("priced", 0, 0.0),
        ("unknown", 0, 0.0),
    ]
    cron = QC.cost_by_source(conn, filters(kinds=("cron",)))
    assert rounded(cron, "source", "calls", "cost") == [
        ("override", 0, 0.0),
        ("logged", 1, 0.03),
        ("priced", 1, 0.02),
        ("unknown", 0, 0.0),
    ]
    # per-call facts: always from the raw table, so a non-whole-hour range agrees exactly
    assert QC.cost_by_source(conn, raw(filters("30d"))) == month
    ny = QC.cost_by_source(conn, filters("today", "America/New_York"))
    assert rounded(ny, "source", "calls", "cost") == [
        ("override", 0, 0.0),
        ("logged", 1, 0.01),
        ("priced", 1, 0.02),
        ("unknown", 0, 0.0),
    ]


def test_unpriced_models(conn: Connection, small_db: Path, tmp_path: Path) -> None:
    assert QC.unpriced_models(conn, filters()) == []
    month = QC.unpriced_models(conn, filters("30d"))
    assert month == [
        {"provider": "ollama", "model": "llama3.3:70b", "calls": 1, "unknown_calls": 1,
         "tokens": 1500, "input": 1200, "output": 300, "cache_read": 0, "cache_write": 0,
         "logged": 0.0, "cost": 0.0, "last_ms": ms("2025-03-05T14:00")}
    ]  # fmt: skip
    assert QC.unpriced_models(conn, filters("30d", agents=("main",))) == []
    # a logged call the price table does not know (no list price, tokens > 0) counts too; a
    # call without tokens does not
    db = tmp_path / "unpriced.sqlite"
    shutil.copy(small_db, db)
    writer = create_engine(f"sqlite:///{db}")
    with writer.begin() as c:
        c.execute(text("UPDATE usage SET priced_cost = NULL, price_model = NULL "
                       "WHERE entry_id IN ('c12', 'c11')"))  # fmt: skip
    writer.dispose()
    engine = make_readonly_engine(f"sqlite:///{db}")
    with engine.connect() as c2:
        rows = QC.unpriced_models(c2, Q.Filters())
    engine.dispose()
    assert [(r["provider"], r["model"], r["calls"], r["unknown_calls"], r["tokens"],
             round(r["logged"], 4)) for r in rows] == [
        ("ollama", "llama3.3:70b", 1, 1, 1500, 0.0),
        ("anthropic", "claude-sonnet-4", 1, 0, 110, 0.01),
    ]  # fmt: skip


def test_disagreements(conn: Connection) -> None:
    counts = QC.disagreement_counts(conn, filters())
    assert rounded(counts, "provider", "model", "flagged", "mismatches", "zero_with_price",
                   "logged", "list_price", "difference") == [
        ("anthropic", "claude-sonnet-4", 2, 1, 1, 1.25, 1.02, 0.23),
        ("openai", "gpt-4o", 1, 1, 0, 0.01, 0.008, 0.002),
    ]  # fmt: skip
    recent = QC.recent_disagreements(conn, filters())
    assert [(r["ts_ms"], r["session_id"], r["model"], r["flag"], round(r["logged"], 4),
             round(r["list_price"], 4), round(r["diff_pct"], 4)) for r in recent] == [
        (ms("2025-03-15T10:45"), "s-dm", "gpt-4o", "mismatch", 0.01, 0.008, 0.25),
        (ms("2025-03-15T06:00"), "s-cron", "claude-sonnet-4", "zero", 0.0, 0.02, -1.0),
        (ms("2025-03-14T23:30"), "s-main", "claude-sonnet-4", "mismatch", 1.25, 1.0, 0.25),
    ]  # fmt: skip
    assert [r["session_id"] for r in QC.recent_disagreements(conn, filters(), limit=1)] == ["s-dm"]
    assert QC.disagreement_counts(conn, filters(models=("claude-opus-4",))) == []
    assert QC.recent_disagreements(conn, raw(filters("30d"))) == QC.recent_disagreements(
        conn, filters("30d"))  # fmt: skip


def test_savings(conn: Connection) -> None:
    f = filters()
    starts = bucket_starts(f.since_ms, f.until_ms, "day", "UTC")  # type: ignore[arg-type]
    by_model, series = QC.savings(conn, f, starts)
    assert rounded(by_model, "provider", "model", "savings", "cache_read", "cost",
                   "list_price") == [
        ("anthropic", "claude-sonnet-4", 0.3, 6000, 1.8, 1.55),
        ("openai", "gpt-4o", 0.01, 1000, 0.33, 0.328),
    ]  # fmt: skip
    assert rounded(series, "bucket_ms", "name", "savings") == [
        (ms("2025-03-14T00:00"), "anthropic/claude-sonnet-4", 0.3),
        (ms("2025-03-15T00:00"), "openai/gpt-4o", 0.01),
    ]
    assert QC.savings(conn, f)[1] == []
    ny = filters(tz="America/New_York")
    starts_ny = bucket_starts(ny.since_ms, ny.until_ms, "day", ny.tz)  # type: ignore[arg-type]
    # c5 (02:15Z on the 15th) is still the 14th in New York
    assert rounded(QC.savings(conn, ny, starts_ny)[1], "bucket_ms", "name", "savings") == [
        (ms("2025-03-14T04:00"), "anthropic/claude-sonnet-4", 0.3),
        (ms("2025-03-14T04:00"), "openai/gpt-4o", 0.01),
    ]


@pytest.mark.parametrize("tz", ["UTC", "America/New_York", "Asia/Kolkata"])
@pytest.mark.parametrize("unit", ["hour", "day", "week"])
def test_savings_rollups_equal_raw(conn: Connection, tz: str, unit: str) -> None:
    f = filters("30d", tz)
    r = replace(f, since_ms=f.since_ms - 1)  # type: ignore[operator]
    starts = bucket_starts(r.since_ms, f.until_ms, unit, tz)  # type: ignore[arg-type]
    a_rows, a_series = QC.savings(conn, f, starts)
    b_rows, b_series = QC.savings(conn, r, starts)
    keys = ("provider", "model", "savings", "cache_read", "cost", "list_price")
    assert rounded(a_rows, *keys) == rounded(b_rows, *keys)
    assert rounded(a_series, "bucket_ms", "name", "savings") == rounded(
        b_series, "bucket_ms", "name", "savings")  # fmt: skip
    assert sum(s["savings"] for s in a_series) == pytest.approx(0.71)


def test_list_price_basis_on_every_cost_query(conn: Connection) -> None:
    f = replace(filters(), cost_basis="list")
    assert Q.overview(conn, f)["cost"] == pytest.approx(2.628)
    assert Q.overview(conn, raw(f))["cost"] == pytest.approx(2.628)
    assert Q.overview(conn, filters())["cost"] == pytest.approx(2.88)  # effective by default
    assert [(r["model"], round(r["cost"], 4)) for r in Q.models_table(conn, f)] == [
        ("claude-sonnet-4", 1.55), ("claude-opus-4", 0.75), ("gpt-4o", 0.328)]  # fmt: skip
    starts = bucket_starts(f.since_ms, f.until_ms, "day", "UTC")  # type: ignore[arg-type]
    a = {r["bucket_ms"]: round(r["cost"], 4) for r in Q.usage_series(conn, f, starts) if r["cost"]}
    b = {r["bucket_ms"]: round(r["cost"], 4) for r in Q.usage_series(conn, raw(f), starts)
         if r["cost"]}  # fmt: skip
    assert (
        a
        == b
        == {
            ms("2025-03-10T00:00"): 0.03,
            ms("2025-03-12T00:00"): 0.02,
            ms("2025-03-14T00:00"): 1.5,
            ms("2025-03-15T00:00"): 1.078,
        }
    )
    month = replace(filters("30d"), cost_basis="list")
    assert Q.overview(conn, month)["cost"] == pytest.approx(4.628)  # c13: no price, counts 0


# --- the override entry ------------------------------------------------------------------------


def test_override_entry_text() -> None:
    entry = override_entry("ollama", "llama3.3:70b", 1, 1500)
    assert entry == (
        "# ollama/llama3.3:70b: 1 call, 1,500 tokens with no known price.\n"
        "# Prices are USD per million tokens: replace the 0.0 placeholders.\n"
        "[[price]]\n"
        'provider = "ollama"\n'
        'model = "llama3.3:70b"\n'
        "input = 0.0          # non-cached input tokens\n"
        "output = 0.0         # output tokens\n"
        "# cache_read = 0.0   # optional, defaults to input\n"
        "# cache_write = 0.0  # optional, defaults to input\n"
        "# valid_from = 2026-01-01  # optional: only calls from this date (UTC) on\n"
    )
    assert reprice_hint() == f"{cli_command()} reprice --prices FILE"


@pytest.mark.parametrize(
    ("provider", "model"),
    [
        ("ollama", "llama3.3:70b"),
        ("openrouter", "anthropic/claude-sonnet-4.5"),
        ("my-proxy", 'we"ird\\mödel\tid'),
        ("", "gpt-4o"),
    ],
)
def test_override_entry_is_what_the_ingestor_reads(provider: str, model: str) -> None:
    doc = tomllib.loads(overrides_file([{"provider": provider, "model": model, "calls": 2,
                                         "tokens": 10}]))  # fmt: skip
    (ov,) = parse_overrides(doc)
    assert (ov.provider, ov.model) == (provider.lower() or "*", model.lower())
    assert (ov.input, ov.output, ov.cache_read, ov.cache_write, ov.valid_from_ms) == (
        0.0, 0.0, 0.0, 0.0, None)  # fmt: skip
    # the entry prices the calls it was written for: an override quote, at the placeholders
    quote = Pricer([ov]).quote(provider, model, NOW_MS, 1000, 100, 0, 0)
    assert quote is not None and (quote.source, quote.cost) == ("override", 0.0)


def test_override_entries_form_one_file() -> None:
    rows = [{"provider": "ollama", "model": "a", "calls": 1, "tokens": 5},
            {"provider": "vllm", "model": "b", "calls": 3, "tokens": 7}]  # fmt: skip
    entries = parse_overrides(tomllib.loads(overrides_file(rows)))
    assert [(o.provider, o.model, o.entry) for o in entries] == [
        ("ollama", "a", 1),
        ("vllm", "b", 2),
    ]
    # no model id: nothing can match exactly, the entry is only a comment
    assert tomllib.loads(override_entry("ollama", "")) == {}


# --- state and shell ---------------------------------------------------------------------------


def test_cost_basis_in_the_url() -> None:
    assert parse_query("").cost_basis == "effective"
    assert parse_query("?basis=list").cost_basis == "list"
    assert parse_query("?basis=bogus").cost_basis == "effective"
    assert to_query(parse_query("?range=30d&basis=list")) == "?range=30d&basis=list"
    assert to_query(parse_query("?basis=effective")) == ""  # the default is left out


def test_cost_basis_control_sync(app_ctx: AppContext) -> None:
    out = _run_sync("ctl-basis", "?range=30d", "30d", None, None, "UTC", [], [], [], [], 0, "list")
    assert out[0] == "?range=30d&basis=list"
    assert (out[1]["cost_basis"], out[-1]) == ("list", "list")
    out = _run_sync(None, "?basis=list", "7d", None, None, "UTC", [], [], [], [], 0, "effective")
    assert (out[1]["cost_basis"], out[-1]) == ("list", "list")  # URL -> control
    # another control changes: the basis stays
    out = _run_sync("ctl-range", "?basis=list", "30d", None, None, "UTC", [], [], [], [], 0, "list")
    assert out[0] == "?range=30d&basis=list"


def test_costs_page_is_routed_after_models(app_ctx: AppContext) -> None:
    keys = list(PAGES)
    assert keys[keys.index("models") + 1] == "costs"
    assert PAGES["costs"] == ("/costs", "Costs")
    assert by_id(shell.route("/costs", "?range=30d"), "costs-body") is not None
    links = shell.nav_links("?range=30d", "/costs")
    assert links[keys.index("costs")] == "/costs?range=30d"
    assert links[len(keys) + keys.index("costs")] is True


# --- callbacks ---------------------------------------------------------------------------------


def test_costs_page(app_ctx: AppContext) -> None:
    out = costs.render(state())
    t = texts(out)
    assert t["costs-card-cost-value"] == "$2.88"
    assert t["costs-card-list-value"] == "$2.63"
    assert t["costs-card-logged-value"] == "$2.86"
    assert t["costs-card-savings-value"] == "$0.31"
    assert t["costs-card-unpriced-value"] == "0"
    assert t["costs-card-flagged-value"] == "3"
    assert t["costs-note"] == "Amounts in USD · charts show the effective cost"
    grid = by_id(out, "costs-source-grid").rowData
    assert [(r["label"], r["calls"], round(r["cost"], 2)) for r in grid] == [
        ("Override", 1, 0.75), ("Logged", 7, 2.11), ("Priced (list)", 1, 0.02),
        ("Unknown", 0, 0.0)]  # fmt: skip
    share = by_id(out, "costs-source-share").figure
    assert share["layout"]["title"]["text"] == "Share of cost by source"
    assert share["data"][0]["labels"] == ["Override", "Logged", "Priced (list)"]
    assert share["data"][0]["marker"]["colors"] == ["#b279a2", "#4c78a8", "#54a24b"]
    assert "Every call in this range has a known price." in str(out.to_plotly_json())
    flags = by_id(out, "costs-flag-grid").rowData
    assert [(r["model"], r["mismatches"], r["zero_with_price"]) for r in flags] == [
        ("claude-sonnet-4", 1, 1), ("gpt-4o", 1, 0)]  # fmt: skip
    recent = by_id(out, "costs-recent-grid").rowData
    assert [(r["time"], r["session"], r["model"], r["logged"], r["list_price"],
             round(r["diff_pct"], 2), r["flag_text"]) for r in recent] == [
        ("2025-03-15 10:45:00", "[Alice](/session/s-dm)", "openai/gpt-4o", 0.01, 0.008, 0.25,
         "logged ≠ list"),
        ("2025-03-15 06:00:00", "[nightly-report](/session/s-cron)",
         "anthropic/claude-sonnet-4", 0.0, 0.02, -1.0, "logged 0"),
        ("2025-03-14 23:30:00", "[agent:main:main](/session/s-main)",
         "anthropic/claude-sonnet-4", 1.25, 1.0, 0.25, "logged ≠ list"),
    ]  # fmt: skip
    by_model = by_id(out, "costs-savings-model").figure
    assert by_model["data"][0]["y"] == ["openai/gpt-4o", "anthropic/claude-sonnet-4"]


def test_costs_page_names_each_difference_once(app_ctx: AppContext) -> None:
    """The word "Difference" meant dollars per model and percent per call: each has its own
    name, the same in the headers (what a CSV export would carry) and the subtitle."""
    out = costs.render(state())
    flag = by_id(out, "costs-flag-grid")
    recent = by_id(out, "costs-recent-grid")
    flag_headers = {c["field"]: c["headerName"] for c in flag.columnDefs}
    recent_headers = {c["field"]: c["headerName"] for c in recent.columnDefs}
    assert flag_headers["difference"] == "Logged − list ($)"
    assert recent_headers["diff_pct"] == "Logged − list (%)"
    headers = [*flag_headers.values(), *recent_headers.values()]
    assert not [h for h in headers if "Difference" in h]
    # the per-model one is in dollars (money), the per-call one a ratio (percent)
    flag_cols = {c["field"]: c for c in flag.columnDefs}
    recent_cols = {c["field"]: c for c in recent.columnDefs}
    assert "$" in flag_cols["difference"]["valueFormatter"]["function"]
    assert "%" in recent_cols["diff_pct"]["valueFormatter"]["function"]
    # claude-sonnet-4: logged 1.25 + 0.00 against list 1.00 + 0.02 -> +$0.23
    by_model = {r["model"]: r for r in flag.rowData}
    assert round(by_model["claude-sonnet-4"]["difference"], 9) == 0.23
    shown = [n.children for n in walk(out) if isinstance(getattr(n, "children", None), str)]
    assert (
        "Calls whose logged cost differs from the list price by more than 5 %, and calls logged "
        "at $0 although the model has a price. Logged − list ($): the flagged calls' logged "
        "cost minus their list price, in USD; Logged − list (%): a call's (logged − list) / "
        "list."
    ) in shown
    assert not [t for t in shown if "Difference" in t]
    over_time = by_id(out, "costs-savings-time").figure
    assert over_time["layout"]["title"]["text"] == "Cache savings per day by model"


def test_costs_page_unpriced_models(app_ctx: AppContext) -> None:
    out = costs.render(state(range="30d"))
    t = texts(out)
    assert (t["costs-card-unpriced-value"], t["costs-card-cost-value"]) == ("1", "$4.88")
    rows = by_id(out, "costs-unpriced-grid").rowData
    assert [(r["provider"], r["model"], r["calls"], r["tokens"], r["last"]) for r in rows] == [
        ("ollama", "llama3.3:70b", 1, 1500, "2025-03-05 14:00")]  # fmt: skip
    entries = t["costs-overrides"]
    assert entries == override_entry("ollama", "llama3.3:70b", 1, 1500)
    assert [o.model for o in parse_overrides(tomllib.loads(entries))] == ["llama3.3:70b"]
    assert t["costs-reprice-hint"] == f"{cli_command()} reprice --prices FILE"


def test_costs_page_list_price_and_empty(app_ctx: AppContext, tmp_path: Path) -> None:
    out = costs.render(state(cost_basis="list"))
    assert texts(out)["costs-note"].endswith("list price (Cost: list price)")
    share = by_id(out, "costs-source-share").figure
    assert share["layout"]["title"]["text"] == "List price by cost source"
    assert [round(v, 3) for v in share["data"][0]["values"]] == [0.75, 1.858, 0.02]
    assert "No LLM calls in this range" in str(
        costs.render(state(agents=("nobody",))).to_plotly_json()
    )
    use_db(seed_empty(tmp_path / "empty.sqlite"))
    assert by_id(costs.render(state()), "db-empty") is not None


def test_other_pages_follow_the_cost_control(app_ctx: AppContext) -> None:
    t = texts(overview.render_cards(state(cost_basis="list")))
    assert t["card-cost-value"] == "$2.63"
    assert t["card-cost-delta"] == "▲ +31.4% vs previous"  # previous week: c9 listed at $2.00
    assert t["card-calls-value"] == "9"
    charts = overview.render_charts(state(cost_basis="list"))
    fig = by_id(charts, "overview-cost").figure
    assert fig["layout"]["title"]["text"] == "Cost per day — list price"
    assert fig["layout"]["yaxis"]["title"]["text"] == "List price (USD)"
    assert [round(v, 3) for v in fig["data"][0]["y"]] == [0.0, 0.03, 0.0, 0.02, 0.0, 1.5, 1.078]
    # effective stays the default everywhere
    assert texts(overview.render_cards(state()))["card-cost-value"] == "$2.88"
    tl = by_id(timeline.render(state(cost_basis="list")), "timeline-cost").figure
    assert tl["layout"]["title"]["text"] == "Cost per day — list price"
    out = models.render(state(cost_basis="list"))
    grid = by_id(out, "models-grid")
    assert [(r["model"], round(r["cost"], 3)) for r in grid.rowData] == [
        ("claude-sonnet-4", 1.55), ("claude-opus-4", 0.75), ("gpt-4o", 0.328)]  # fmt: skip
    assert [c["headerName"] for c in grid.columnDefs if c["field"] == "cost"] == ["List price"]
    assert by_id(out, "models-share").figure["layout"]["title"]["text"] == (
        "Share of cost — list price")  # fmt: skip
