"""Pure pieces of the webapp: number formats, URL state round trip, ranges and local buckets
(DST included), spike detection, bucketing."""

from __future__ import annotations

import shutil
import sys
import zlib
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from webapp_seed import NOW_MS, ms

from webapp import format as fmt
from webapp.queries.base import bucketize
from webapp.spikes import spikes
from webapp.state import ViewState, parse_query, to_query, with_changes
from webapp.timeranges import assign, auto_bucket, bucket_starts, resolve_range


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "$0.00"), (1.234, "$1.23"), (0.0042, "$0.0042"), (1234.5, "$1,234.50"), (2.5e6, "$2.50M")],
)
def test_money(value: float, text: str) -> None:
    assert fmt.money(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(950, "950"), (45_600, "45.6k"), (999_960, "1.00M"), (1_234_567, "1.23M"), (4.56e9, "4.56B")],
)
def test_count(value: float, text: str) -> None:
    assert fmt.count(value) == text


def test_pct_duration_change() -> None:
    assert fmt.pct(0.4294) == "42.9%"
    assert fmt.duration_ms(850) == "850 ms"
    assert fmt.duration_ms(1200) == "1.2 s"
    assert fmt.duration_ms(125_000) == "2m 05s"
    assert fmt.change(2.88, 2.0) == ("+44.0%", 1)
    assert fmt.change(1, 0) == ("new", 1)
    assert fmt.change(0, 0) == ("±0%", 0)
    assert fmt.change(1, None) == ("", 0)
    assert fmt.change_points(0.5, 0.25) == ("+25.0 pp", 1)


def test_state_round_trip() -> None:
    st = ViewState(
        range="custom",
        start="2025-03-01",
        end="2025-03-10",
        tz="America/New_York",
        agents=("main", "ops"),
        models=("gpt-4o",),
        refresh=30,
        bucket="week",
        cost_threshold=2.5,
    )
    q = to_query(st, "UTC")
    assert "agent=main&agent=ops" in q
    assert parse_query(q, "UTC") == st
    assert to_query(ViewState(tz="UTC"), "UTC") == ""


def test_state_invalid_values_fall_back() -> None:
    st = parse_query("?range=bogus&tz=Mars/Base&refresh=7&bucket=year&cost=-1&spike=x", "UTC")
    assert st == ViewState(tz="UTC")
    # a custom range without valid dates is not custom
    assert parse_query("?range=custom&start=2025-03-10&end=2025-03-01").range == "7d"


def test_with_changes_keeps_other_fields() -> None:
    q = with_changes("?range=30d&agent=ops", "UTC", bucket="hour")
    assert parse_query(q) == ViewState(range="30d", agents=("ops",), bucket="hour")


def test_presets_utc() -> None:
    r = resolve_range("7d", "UTC", NOW_MS)
    assert (r.since_ms, r.until_ms) == (ms("2025-03-09T00:00"), ms("2025-03-16T00:00"))
    prev = r.previous()
    assert prev is not None
    assert (prev.since_ms, prev.until_ms) == (ms("2025-03-02T00:00"), ms("2025-03-09T00:00"))
    r = resolve_range("24h", "UTC", NOW_MS)
    assert (r.since_ms, r.until_ms) == (ms("2025-03-14T13:00"), ms("2025-03-15T13:00"))
    r = resolve_range("month", "UTC", NOW_MS)
    assert (r.since_ms, r.until_ms) == (ms("2025-03-01T00:00"), ms("2025-04-01T00:00"))
    r = resolve_range("lastmonth", "UTC", NOW_MS)
    assert (r.since_ms, r.until_ms) == (ms("2025-02-01T00:00"), ms("2025-03-01T00:00"))
    assert resolve_range("all", "UTC", NOW_MS).since_ms is None
    r = resolve_range("custom", "UTC", NOW_MS, "2025-03-14", "2025-03-14")
    assert (r.since_ms, r.until_ms) == (ms("2025-03-14T00:00"), ms("2025-03-15T00:00"))


def test_presets_follow_zone_and_dst() -> None:
    # New York: 2025-03-09 starts in EST (UTC-5); the DST change makes that day 23 hours.
    r = resolve_range("7d", "America/New_York", NOW_MS)
    assert (r.since_ms, r.until_ms) == (ms("2025-03-09T05:00"), ms("2025-03-16T04:00"))
    days = bucket_starts(r.since_ms, r.until_ms, "day", "America/New_York")
    assert days[:3] == [ms("2025-03-09T05:00"), ms("2025-03-10T04:00"), ms("2025-03-11T04:00")]
    assert days[-1] == r.until_ms
    assert len(days) == 8
    # Kolkata (+05:30): not whole hours
    r = resolve_range("today", "Asia/Kolkata", NOW_MS)
    assert (r.since_ms, r.until_ms) == (ms("2025-03-14T18:30"), ms("2025-03-15T18:30"))


def test_buckets_and_assign() -> None:
    starts = bucket_starts(ms("2025-01-15T00:00"), ms("2025-03-02T00:00"), "month", "UTC")
    assert starts == [ms("2025-01-01T00:00"), ms("2025-02-01T00:00"), ms("2025-03-01T00:00"),
                      ms("2025-04-01T00:00")]  # fmt: skip
    assert assign(ms("2025-02-10T00:00"), starts) == 1
    assert assign(ms("2024-12-31T00:00"), starts) == -1
    weeks = bucket_starts(ms("2025-03-12T00:00"), ms("2025-03-20T00:00"), "week", "UTC")
    assert weeks[0] == ms("2025-03-10T00:00")  # a Monday
    assert auto_bucket(86_400_000) == "hour"
    assert auto_bucket(30 * 86_400_000) == "day"
    assert auto_bucket(90 * 86_400_000) == "week"
    assert auto_bucket(400 * 86_400_000) == "month"


def test_bucketize_fills_and_sums() -> None:
    starts = [0, 10, 20, 30]
    rows = [{"slot": 0, "v": 1}, {"slot": 5, "v": 2}, {"slot": 25, "v": 4}, {"slot": 30, "v": 9}]
    assert bucketize(rows, starts, [], ["v"], fill=True) == [
        {"bucket_ms": 0, "v": 3},
        {"bucket_ms": 10, "v": 0},
        {"bucket_ms": 20, "v": 4},
    ]


def test_spikes() -> None:
    assert spikes([1, 1, 1, 5, 1]) == [False, False, False, True, False]
    assert spikes([0, 0, 0, 0.001], min_excess=0.01) == [False] * 4


def test_time_axis_with_one_bucket() -> None:
    """One bar (the cron page's sub-agent chart): the axis spans the bucket and one bucket
    either side, ticked per day, instead of Plotly's sub-second autorange around a 1 ms bar."""
    from webapp import figures as F

    rows = [{"bucket_ms": ms("2025-03-15T00:00"), "name": "researcher", "cost": 0.3}]
    fig = F.stacked_by_key(rows, "UTC", "name", "cost", "Cost per day", "Cost (USD)", unit="day")
    xaxis = fig["layout"]["xaxis"]
    assert xaxis["range"] == ["2025-03-14 00:00:00", "2025-03-16 00:00:00"]
    assert (xaxis["type"], xaxis["dtick"], xaxis["tick0"]) == ("date", 86_400_000,
                                                               "2025-03-15 00:00:00")  # fmt: skip
    assert xaxis["tickformat"] == "%b %-d<br>%Y"
    assert fig["data"][0]["width"] == 0.8 * 86_400_000
    # the unit is guessed when not given; local time of the viewer's zone
    fig = F.stacked_by_key(rows, "America/New_York", "name", "cost", "t", "y")
    assert fig["layout"]["xaxis"]["range"] == ["2025-03-14 19:00:00", "2025-03-14 21:00:00"]
    assert fig["layout"]["xaxis"]["dtick"] == 3_600_000  # 20:00 local is not a day start
    # hour buckets (timeline) and a week
    metrics = ("cost", "calls", "failed", "input", "output", "cache_read", "cache_write")
    hour = [{"bucket_ms": ms("2025-03-15T09:00"), **dict.fromkeys(metrics, 1)}]
    for fig in (F.cost_over_time(hour, "UTC", "hour"), F.calls_over_time(hour, "UTC", "hour")):
        assert fig["layout"]["xaxis"]["range"] == ["2025-03-15 08:00:00", "2025-03-15 10:00:00"]
        assert fig["layout"]["xaxis"]["tickformat"].startswith("%H:%M")
    week = F.tokens_over_time([{**hour[0], "bucket_ms": ms("2025-03-10T00:00")}], "UTC", "week")
    assert week["layout"]["xaxis"]["range"] == ["2025-03-03 00:00:00", "2025-03-17 00:00:00"]
    # many buckets: Plotly's own range and ticks, bars one bucket wide
    many = [{**rows[0], "bucket_ms": ms("2025-03-15T00:00") - d * 86_400_000} for d in range(7)]
    fig = F.stacked_by_key(many, "UTC", "name", "cost", "t", "y", unit="day")
    assert "range" not in fig["layout"]["xaxis"]
    assert fig["data"][0]["width"] == 0.8 * 86_400_000
    assert F.guess_unit([F.local_datetime(r["bucket_ms"], "UTC") for r in many]) == "day"


def test_session_calls_axis_with_one_call() -> None:
    from webapp import figures as F

    call = {"ts_ms": ms("2025-03-15T09:00"), "cost": 0.1, "provider": "p", "model": "m",
            "total_tokens": 10, "failed": False}  # fmt: skip
    fig = F.session_calls([call], "UTC")
    assert fig["layout"]["xaxis"]["range"] == ["2025-03-15 08:50:00", "2025-03-15 09:10:00"]


def test_stacked_by_key_sums_the_rest_as_other() -> None:
    from webapp import figures as F

    day = ms("2025-03-15T00:00")
    rows = [{"bucket_ms": day, "tool": f"t{i}", "calls": 10 - i} for i in range(10)]
    fig = F.stacked_by_key(rows, "UTC", "tool", "calls", "t", "Calls", money=False, top=8)
    assert {d["name"]: sum(d["y"]) for d in fig["data"]} == {
        "t0": 10, "t1": 9, "t2": 8, "t3": 7, "t4": 6, "t5": 5, "t6": 4, "t7": 3, "other": 3,
    }  # fmt: skip
    assert sum(sum(d["y"]) for d in fig["data"]) == sum(r["calls"] for r in rows) == 55


def test_key_colours_follow_the_key_not_its_rank() -> None:
    """A model keeps its colour whatever the range ranks first (opus was blue for 7 days and
    sonnet blue for last month), in the donut as in the stacked chart."""
    from webapp import figures as F

    names = ["anthropic/claude-opus-4-5", "anthropic/claude-sonnet-4-5", "openai/gpt-5.2"]
    week = F.share_donut(names, [5.0, 3.0, 1.0], "s")["data"][0]
    month = F.share_donut(names[::-1], [9.0, 4.0, 2.0], "s")["data"][0]
    assert dict(zip(week["labels"], week["marker"]["colors"], strict=True)) == dict(
        zip(month["labels"], month["marker"]["colors"], strict=True)
    )
    colors = F.key_colors(names)
    assert colors == {
        "other": "#bab0ac",
        "anthropic/claude-opus-4-5": F.KEY_PALETTE[zlib.crc32(names[0].encode()) % 18],
        "anthropic/claude-sonnet-4-5": colors["anthropic/claude-sonnet-4-5"],
        "openai/gpt-5.2": colors["openai/gpt-5.2"],
    }
    # eighteen keys, eighteen colours; "other" is grey
    many = F.key_colors(f"model-{i}" for i in range(18))
    assert len({c for k, c in many.items() if k != "other"}) == 18
    rows = [{"bucket_ms": ms("2025-03-15T00:00"), "name": n, "cost": 1.0} for n in names]
    bars = F.stacked_by_key(rows, "UTC", "name", "cost", "t", "y")
    assert {d["name"]: d["marker"]["color"] for d in bars["data"]} == {n: colors[n] for n in names}


def test_donut_percentages_fit_their_slices() -> None:
    """Whole percentages ("26%", not "25.7%", which did not fit the largest slice and was
    hidden); the hover keeps a decimal."""
    from webapp import figures as F

    pie = F.share_donut(["a", "b"], [25.7, 74.3], "s")["data"][0]
    assert pie["texttemplate"] == "%{percent:.0%}"
    assert "textinfo" not in pie
    assert "%{percent:.1%}" in pie["hovertemplate"]


def test_session_running_total_is_a_step_line() -> None:
    """The running total rises at each call and stays flat between calls; the failed calls'
    red markers have a legend entry (the figure keeps its two traces, one per cost axis)."""
    from webapp import figures as F

    calls = [
        {"ts_ms": ms("2025-03-15T09:00"), "cost": 0.1, "provider": "p", "model": "m",
         "total_tokens": 10, "failed": False},
        {"ts_ms": ms("2025-03-15T10:00"), "cost": 0.0, "provider": "p", "model": "m",
         "total_tokens": 0, "failed": True},
    ]  # fmt: skip
    fig = F.session_calls(calls, "UTC")
    assert [d["name"] for d in fig["data"]] == ["Cost per call", "Running total"]
    assert fig["data"][1]["line"] == {"color": "#f58518", "shape": "hv"}
    assert fig["data"][0]["marker"]["color"] == ["#4c78a8", "#e45756"]
    (entry,) = fig["layout"]["shapes"]
    assert (entry["name"], entry["fillcolor"], entry["showlegend"]) == (
        "Failed call", "#e45756", True)  # fmt: skip
    assert "shapes" not in F.session_calls(calls[:1], "UTC")["layout"]  # no failed call


def test_chart_heights_for_phones() -> None:
    """(wide, phone) px: a phone gets a row per legend entry; horizontal bars get a row each
    (labels beside them: 24 px, above them on a phone: 44 px)."""
    from webapp import figures as F

    day = ms("2025-03-15T00:00")
    rows = [{"bucket_ms": day, "name": f"m{i}", "cost": 1.0} for i in range(10)]
    assert F.chart_heights(F.stacked_by_key(rows, "UTC", "name", "cost", "t", "y"), 340) == (
        340, 340 + 10 * 21)  # fmt: skip
    one = F.stacked_by_key(rows[:1], "UTC", "name", "cost", "t", "y")
    assert F.chart_heights(one, 340) == (340, 361)  # one entry, shown
    assert F.chart_heights(F.cost_over_time(rows[:1], "UTC", "day"), 340) == (340, 340)
    names = [f"provider/model-{i}" for i in range(11)]
    calls = F.hbar(names, list(range(11)), "Calls per model", "Calls")
    assert F.chart_heights(calls, 340) == (130 + 11 * 24, 130 + 11 * 44)
    tokens = F.token_breakdown(
        [{"provider": "p", "model": f"m{i}", "input": 1, "output": 1, "cache_read": 1,
          "cache_write": 1} for i in range(11)]
    )  # fmt: skip
    assert F.chart_heights(tokens, 340) == (130 + 11 * 24 + 22, 130 + 11 * 44 + 4 * 21)
    pie = F.share_donut(["a", "b", "c"], [1.0, 2.0, 3.0], "s")
    assert F.chart_heights(pie, 340) == (340, 340 + 3 * 21)


def test_horizontal_bars_put_their_labels_above_on_a_phone() -> None:
    from webapp import figures as F

    fig = F.hbar(["exec", "read"], [5, 2], "Calls per tool", "Calls")
    meta = fig["layout"]["meta"]
    assert meta["narrow"]["yaxis.showticklabels"] is False
    assert [a["text"] for a in meta["narrow"]["annotations"]] == ["read", "exec"]
    assert [a["y"] for a in meta["narrow"]["annotations"]] == ["read", "exec"]
    assert meta["narrow"]["margin.l"] == 12
    # what a wider screen puts back
    assert meta["wide"] == {"yaxis.showticklabels": None, "annotations": [], "bargap": None,
                            "margin.l": 60}  # fmt: skip
    assert "meta" not in F.hbar([], [], "t", "x")["layout"]  # the empty figure


def test_cli_command(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command the dashboard's hints show: the bare name when PATH finds it, else the
    script beside the running interpreter (a venv that is not activated); computed once."""
    from webapp import pricehints

    found: list[str | None] = [None]
    monkeypatch.setattr(shutil, "which", lambda name: found[0])
    monkeypatch.setattr(sys, "executable", "/opt/my tools/.venv/bin/python3")
    pricehints.cli_command.cache_clear()
    try:
        assert pricehints.cli_command() == "'/opt/my tools/.venv/bin/agentbox-telemetry'"
        assert pricehints.reprice_hint() == (
            "'/opt/my tools/.venv/bin/agentbox-telemetry' reprice --prices FILE")  # fmt: skip
        found[0] = "/usr/local/bin/agentbox-telemetry"
        assert pricehints.cli_command().startswith("'/opt/")  # computed once
        pricehints.cli_command.cache_clear()
        assert pricehints.cli_command() == "agentbox-telemetry"
        assert pricehints.reprice_hint() == "agentbox-telemetry reprice --prices FILE"
        monkeypatch.setattr(sys, "executable", "/srv/venv/bin/python")
        found[0] = None
        pricehints.cli_command.cache_clear()
        assert pricehints.cli_command() == "/srv/venv/bin/agentbox-telemetry"
    finally:
        pricehints.cli_command.cache_clear()
