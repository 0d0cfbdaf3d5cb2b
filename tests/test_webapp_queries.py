"""Queries against the hand-checked database (tests/webapp_seed.py): exact numbers, time
zones (UTC, New York across DST, Kolkata's half hour through the raw tables), filters, and
rollup answers equal to raw answers."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Connection

sys.path.insert(0, str(Path(__file__).parent))

from webapp_seed import NOW_MS, ms, seed_small

from ingestor.db import make_readonly_engine
from webapp import queries as Q
from webapp.timeranges import bucket_starts, resolve_range


@pytest.fixture(scope="module")
def conn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Connection]:
    db = seed_small(tmp_path_factory.mktemp("q") / "small.sqlite")
    engine = make_readonly_engine(f"sqlite:///{db}")
    with engine.connect() as c:
        yield c
    engine.dispose()


def filters(preset: str = "7d", tz: str = "UTC", **kw: tuple[str, ...]) -> Q.Filters:
    r = resolve_range(preset, tz, NOW_MS)
    return Q.Filters(r.since_ms, r.until_ms, tz, **kw)


def test_overview_last_7_days(conn: Connection) -> None:
    o = Q.overview(conn, filters())
    assert o["calls"] == 9
    assert o["failed"] == 2
    assert o["cost"] == pytest.approx(2.88)
    assert (o["input"], o["output"], o["cache_read"], o["cache_write"]) == (8300, 2270, 7000, 1000)
    assert o["savings"] == pytest.approx(0.31)
    assert o["sessions"] == 6  # includes s-quiet: messages, no call
    assert o["tool_calls"] == 8
    assert o["hit_rate"] == pytest.approx(7000 / 16300)


def test_overview_previous_period_and_all_time(conn: Connection) -> None:
    r = resolve_range("7d", "UTC", NOW_MS).previous()
    assert r is not None
    prev = Q.overview(conn, Q.Filters(r.since_ms, r.until_ms))
    assert (prev["calls"], prev["failed"], prev["sessions"], prev["tool_calls"]) == (3, 1, 1, 1)
    assert prev["cost"] == pytest.approx(2.00)
    everything = Q.overview(conn, Q.Filters())
    assert everything["calls"] == 13  # c13 (no price, cost 0) is older than 7 days
    assert everything["sessions"] == 8
    assert everything["cost"] == pytest.approx(4.89)


def test_today_depends_on_the_zone(conn: Connection) -> None:
    utc = Q.overview(conn, filters("today"))
    assert (utc["calls"], utc["sessions"]) == (5, 5)
    assert utc["cost"] == pytest.approx(1.08)
    ny = Q.overview(conn, filters("today", "America/New_York"))
    assert (ny["calls"], ny["sessions"]) == (2, 2)
    assert ny["cost"] == pytest.approx(0.03)
    f = filters("today", "Asia/Kolkata")
    assert not f.use_rollups
    ist = Q.overview(conn, f)
    assert ist["calls"] == 7
    assert ist["cost"] == pytest.approx(2.83)
    assert ist["sessions"] == 5  # s-main, s-sub, s-cron, s-dm and s-quiet (08:30 IST)


def test_rollups_equal_raw(conn: Connection) -> None:
    for preset in ("7d", "30d", "today", "24h"):
        f = filters(preset)
        assert f.use_rollups
        # shift by 0 but force the raw path: a range off the hour by one ms at both ends that
        # holds the same rows
        raw = replace(f, since_ms=f.since_ms - 1 if f.since_ms else None)
        assert not raw.use_rollups
        a, b = Q.overview(conn, f), Q.overview(conn, raw)
        for key in ("calls", "failed", "input", "output", "cache_read", "cache_write", "sessions",
                    "tool_calls"):  # fmt: skip
            assert a[key] == b[key], (preset, key)
        assert a["cost"] == pytest.approx(b["cost"])


def test_filters(conn: Connection) -> None:
    ops = Q.overview(conn, filters(agents=("ops",)))
    assert (ops["calls"], ops["sessions"], ops["tool_calls"]) == (2, 2, 1)
    assert ops["cost"] == pytest.approx(0.03)
    openai = Q.overview(conn, filters(providers=("openai",)))
    assert (openai["calls"], openai["sessions"], openai["tool_calls"]) == (4, 2, 3)
    assert openai["cost"] == pytest.approx(0.33)
    cron = Q.overview(conn, filters(kinds=("cron",)))
    assert (cron["calls"], cron["sessions"], cron["tool_calls"]) == (2, 2, 1)
    opus = Q.overview(conn, filters(models=("claude-opus-4",)))
    assert (opus["calls"], opus["failed"], opus["sessions"]) == (1, 1, 1)


def test_daily_series_by_zone(conn: Connection) -> None:
    f = filters()
    starts = bucket_starts(f.since_ms, f.until_ms, "day", "UTC")  # type: ignore[arg-type]
    rows = Q.usage_series(conn, f, starts)
    assert len(rows) == 7  # empty days are filled
    cost = {r["bucket_ms"]: round(r["cost"], 4) for r in rows if r["cost"]}
    assert cost == {
        ms("2025-03-10T00:00"): 0.03,
        ms("2025-03-12T00:00"): 0.02,
        ms("2025-03-14T00:00"): 1.75,
        ms("2025-03-15T00:00"): 1.08,
    }
    ny = filters(tz="America/New_York")
    starts = bucket_starts(ny.since_ms, ny.until_ms, "day", ny.tz)  # type: ignore[arg-type]
    cost = {r["bucket_ms"]: round(r["cost"], 4) for r in Q.usage_series(conn, ny, starts)
            if r["cost"]}  # fmt: skip
    assert cost == {
        ms("2025-03-10T04:00"): 0.03,
        ms("2025-03-12T04:00"): 0.02,
        ms("2025-03-14T04:00"): 2.80,  # c1..c5: 23:30Z and 02:15Z are still the 14th in NY
        ms("2025-03-15T04:00"): 0.03,
    }


def test_half_hour_zone_buckets_use_raw_rows(conn: Connection) -> None:
    f = filters("7d", "Asia/Kolkata")
    starts = bucket_starts(f.since_ms, f.until_ms, "day", f.tz)  # type: ignore[arg-type]
    cost = {r["bucket_ms"]: round(r["cost"], 4) for r in Q.usage_series(conn, f, starts)
            if r["cost"]}  # fmt: skip
    assert cost[ms("2025-03-14T18:30")] == 2.83  # c1 (20:10Z on the 14th) .. c7
    assert ms("2025-03-13T18:30") not in cost  # 2025-03-14 IST had no call
    assert cost[ms("2025-03-11T18:30")] == 0.02  # c10: 15:00Z = 20:30 IST on the 12th


def test_models_table(conn: Connection) -> None:
    rows = Q.models_table(conn, filters())
    got = [(r["provider"], r["model"], r["calls"], r["sessions"], round(r["cost"], 4),
            round(r["share"], 4)) for r in rows]  # fmt: skip
    assert got == [
        ("anthropic", "claude-sonnet-4", 4, 3, 1.80, 0.625),
        ("anthropic", "claude-opus-4", 1, 1, 0.75, 0.2604),
        ("openai", "gpt-4o", 4, 2, 0.33, 0.1146),
    ]
    by_model = Q.usage_series(conn, filters(), [ms("2025-03-09T00:00"), ms("2025-03-16T00:00")],
                              by="model")  # fmt: skip
    assert {(r["model"], round(r["cost"], 4)) for r in by_model} == {
        ("claude-sonnet-4", 1.80), ("claude-opus-4", 0.75), ("gpt-4o", 0.33)}  # fmt: skip


def test_tools(conn: Connection) -> None:
    rows = {r["tool"]: r for r in Q.tools_summary(conn, filters())}
    assert list(rows) == ["exec", "read", "web_search"]
    ex = rows["exec"]
    assert (ex["calls"], ex["errors"], ex["error_rate"]) == (4, 1, 0.25)
    assert ex["p50_ms"] == 210.0
    assert ex["p95_ms"] == pytest.approx(4295.0)
    assert (rows["web_search"]["missing"], rows["web_search"]["p50_ms"]) == (1, 2000.0)
    assert rows["read"]["p50_ms"] == 12.5
    fams = Q.exec_families(conn, filters())
    assert [(f["family"], f["calls"], f["errors"]) for f in fams] == [
        ("git", 2, 1), ("ls", 1, 0), ("python", 1, 0)]  # fmt: skip
    recent = Q.recent_tool_calls(conn, filters(), "exec")
    assert [r["session_id"] for r in recent] == ["s-cron", "s-main", "s-main", "s-main"]
    assert recent[0]["duration_ms"] == 5000
    series = Q.tool_series(conn, filters(), [ms("2025-03-09T00:00"), ms("2025-03-16T00:00")])
    assert {(r["tool"], r["calls"], r["errors"]) for r in series} == {
        ("exec", 4, 1), ("read", 2, 1), ("web_search", 2, 0)}  # fmt: skip
    openai = {r["tool"]: r["calls"] for r in Q.tools_summary(conn, filters(providers=("openai",)))}
    assert openai == {"web_search": 2, "read": 1}


def test_sessions_grid(conn: Connection) -> None:
    rows, total = Q.sessions_grid(conn, filters())
    assert total == 6
    by = {r["session_id"]: r for r in rows}
    m = by["s-main"]
    # failed calls and tool errors are two numbers, never summed: c3 failed; one of the four
    # tool calls is an error
    assert (m["calls"], m["failed"], m["tokens"], m["tool_calls"], m["tool_errors"]) == (
        3, 1, 12200, 4, 1)  # fmt: skip
    assert m["cost"] == pytest.approx(2.50)
    assert m["models"] == "claude-opus-4, claude-sonnet-4"
    assert by["s-quiet"]["calls"] == 0
    assert by["s-cron"]["name"] == "nightly-report"
    assert rows[0]["session_id"] == "s-dm"  # most recently active first
    rows, total = Q.sessions_grid(conn, filters(), limit=2)
    assert (len(rows), total) == (2, 6)


def test_session_page_queries(conn: Connection) -> None:
    tree = Q.session_tree(conn, "s-main")
    assert [(n["session_id"], n["depth"], round(n["own_cost"], 4), round(n["total_cost"], 4))
            for n in tree] == [("s-main", 0, 2.5, 2.8), ("s-sub", 1, 0.3, 0.3)]  # fmt: skip
    assert len(Q.session_calls(conn, "s-main")) == 3
    assert [t["tool_name"] for t in Q.session_tool_calls(conn, "s-main")] == [
        "exec", "read", "exec", "exec"]  # fmt: skip
    models = {m["model"]: round(m["cost"], 4) for m in Q.session_models(conn, "s-main")}
    assert models == {"claude-sonnet-4": 1.75, "claude-opus-4": 0.75}
    runs = Q.cron_runs(conn, "job-1")
    assert [(r["session_id"], round(r["cost"], 4)) for r in runs] == [
        ("s-cron", 0.02), ("s-cron2", 0.03)]  # fmt: skip
    assert Q.session_info(conn, "nope") is None


def test_groups(conn: Connection) -> None:
    rows = Q.group_table(conn, filters())
    assert [(r["kind"], r["name"], r["runs"], r["calls"], round(r["cost"], 4)) for r in rows] == [
        ("subagent", "researcher", 1, 2, 0.30), ("cron", "nightly-report", 2, 2, 0.05)]  # fmt: skip
    series = Q.group_series(conn, filters(), [ms("2025-03-09T00:00"), ms("2025-03-16T00:00")])
    assert {(r["name"], round(r["cost"], 4)) for r in series} == {
        ("researcher", 0.30), ("nightly-report", 0.05)}  # fmt: skip


def test_alerts(conn: Connection) -> None:
    f = filters()
    alerts = Q.session_alerts(conn, f, 1.0, 100_000)
    assert [a["key"] for a in alerts] == ["session_cost:s-main"]
    month = Q.session_alerts(conn, filters("30d"), 1.0, 100_000)
    assert {a["key"] for a in month} == {
        "session_cost:s-main", "session_cost:s-old", "session_tokens:s-old"}  # fmt: skip
    spikes = Q.cost_spikes(conn, f, 2.0, f.since_ms, f.until_ms)  # type: ignore[arg-type]
    assert [s["key"] for s in spikes] == ["cost_spike:2025-03-14:UTC", "cost_spike:2025-03-15:UTC"]


def test_state_of_the_database(conn: Connection) -> None:
    assert Q.schema_missing(conn) == []
    assert not Q.is_empty(conn)
    assert Q.data_extent(conn) == (ms("2024-12-01T08:00"), ms("2025-03-15T11:00"))
    opts = Q.filter_options(conn)
    assert opts["agents"] == ["main", "ops", "research"]
    assert opts["models"] == ["claude-opus-4", "claude-sonnet-4", "gpt-4o", "llama3.3:70b"]


def test_seed_fills_the_session_less_rollups(conn: Connection) -> None:
    from sqlalchemy import text

    calls = conn.execute(text("SELECT SUM(llm_calls) FROM model_hourly")).scalar()
    tools = conn.execute(text("SELECT SUM(calls) FROM tool_name_hourly")).scalar()
    assert (calls, tools) == (13, 9)
    kinds = set(conn.execute(text("SELECT DISTINCT kind FROM model_hourly")).scalars())
    assert kinds == {"main", "dm", "cron", "subagent"}


def test_cells_follow_bucket_boundaries() -> None:
    from webapp.queries.base import DAY_MS, HOUR_MS, QUARTER_MS, WEEK_MS, cell_of

    assert cell_of([ms("2025-03-10T00:00"), ms("2025-03-17T00:00")]) == (
        WEEK_MS, ms("2025-03-10T00:00") % WEEK_MS)  # fmt: skip
    days = bucket_starts(ms("2025-03-01T00:00"), ms("2025-03-20T00:00"), "day", "Asia/Kolkata")
    assert cell_of(days) == (DAY_MS, 18 * HOUR_MS + 30 * 60_000)
    ny = bucket_starts(ms("2025-03-01T05:00"), ms("2025-03-20T04:00"), "day", "America/New_York")
    assert cell_of(ny) == (HOUR_MS, 0)  # the DST change moves midnight by an hour
    assert cell_of([ms("2025-03-10T00:15"), ms("2025-03-10T01:30")])[0] == QUARTER_MS


@pytest.mark.parametrize("tz", ["UTC", "America/New_York", "Asia/Kolkata"])
@pytest.mark.parametrize("unit", ["hour", "day", "week", "month"])
def test_series_and_groups_equal_raw(conn: Connection, tz: str, unit: str) -> None:
    f = filters("30d", tz)
    raw = replace(f, since_ms=f.since_ms - 1)  # type: ignore[operator]
    starts = bucket_starts(raw.since_ms, f.until_ms, unit, tz)  # type: ignore[arg-type]

    def rounded(rows: list[dict], keys: tuple[str, ...]) -> list[tuple]:
        return [tuple(round(r[k], 6) if isinstance(r[k], float) else r[k] for k in keys)
                for r in rows]  # fmt: skip

    metric_keys = ("bucket_ms", "calls", "failed", "input", "output", "cost", "savings")
    for by in (None, "model", "agent"):
        a = Q.usage_series(conn, f, starts, by=by)
        b = Q.usage_series(conn, raw, starts, by=by)
        keys = metric_keys + (("model",) if by == "model" else (("agent",) if by else ()))
        assert rounded(a, keys) == rounded(b, keys), by
    table, series = Q.models_and_series(conn, f, starts)
    table_raw, series_raw = Q.models_and_series(conn, raw, starts)
    keys = ("provider", "model", "calls", "sessions", "cost", "tokens")
    assert (
        rounded(table, keys) == rounded(table_raw, keys) == rounded(Q.models_table(conn, f), keys)
    )
    assert rounded(series, ("bucket_ms", "model", "cost")) == rounded(
        series_raw, ("bucket_ms", "model", "cost"))  # fmt: skip
    assert rounded(Q.total_series(series, starts), metric_keys) == rounded(
        Q.usage_series(conn, f, starts), metric_keys)  # fmt: skip
    assert Q.tool_series(conn, f, starts) == Q.tool_series(conn, raw, starts)
    assert Q.top_tool_series(conn, f, starts, 2) == Q.tool_series(
        conn, f, starts, ["exec", "read"])  # fmt: skip
    ga, sa = Q.groups(conn, f, starts)
    gb, sb = Q.groups(conn, raw, starts)
    gkeys = ("kind", "name", "runs", "calls", "tokens", "cost")
    assert rounded(ga, gkeys) == rounded(gb, gkeys)
    assert rounded(sa, ("bucket_ms", "kind", "name", "cost")) == rounded(
        sb, ("bucket_ms", "kind", "name", "cost"))  # fmt: skip


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"agents": ("ops",)},
        {"kinds": ("cron", "main")},
        {"providers": ("openai",)},
        {"kinds": ("unknown",)},
    ],
)
def test_filtered_answers_equal_raw(conn: Connection, kw: dict) -> None:
    f = filters("30d", **kw)
    raw = replace(f, since_ms=f.since_ms - 1)  # type: ignore[operator]
    a, b = Q.overview(conn, f), Q.overview(conn, raw)
    for key in ("calls", "failed", "input", "sessions", "tool_calls"):
        assert a[key] == b[key], key
    assert a["cost"] == pytest.approx(b["cost"])
    ta = [(r["tool"], r["calls"], r["errors"], r["missing"], r["p50_ms"], r["p95_ms"])
          for r in Q.tools_summary(conn, f)]  # fmt: skip
    tb = [(r["tool"], r["calls"], r["errors"], r["missing"], r["p50_ms"], r["p95_ms"])
          for r in Q.tools_summary(conn, raw)]  # fmt: skip
    assert ta == tb
    ga, na = Q.sessions_grid(conn, f)
    gb, nb = Q.sessions_grid(conn, raw)
    assert na == nb
    keys = ("session_id", "calls", "failed", "tool_calls", "tool_errors", "models")
    assert [tuple(r[k] for k in keys) for r in ga] == [tuple(r[k] for k in keys) for r in gb]


def test_duration_sample_keeps_the_most_recent(conn: Connection) -> None:
    f = filters("30d")
    full = {r["tool"]: r for r in Q.tools_summary(conn, f)}
    raw = replace(f, since_ms=f.since_ms - 1)  # type: ignore[operator]
    for sample in (1, 3, 5):
        a = [(r["tool"], r["p50_ms"], r["sampled"]) for r in Q.tools_summary(conn, f, sample)]
        b = [(r["tool"], r["p50_ms"], r["sampled"]) for r in Q.tools_summary(conn, raw, sample)]
        assert a == b, sample
    one = {r["tool"]: r for r in Q.tools_summary(conn, f, sample=1)}
    assert one["read"]["p50_ms"] == 10.0  # c7 (10:45 on the 15th) is the most recent
    assert one["exec"]["p50_ms"] is None and full["exec"]["p50_ms"] == 120.0


def test_sessions_grid_counts_the_tool_calls_of_the_matching_calls(conn: Connection) -> None:
    """With a model filter a session's tool calls are those of its matching calls, as on the
    Tools page and the Overview card: s-main's only opus call (c3, failed) made none."""
    rows, _ = Q.sessions_grid(conn, filters(models=("claude-opus-4",)))
    m = {r["session_id"]: r for r in rows}["s-main"]
    assert (m["calls"], m["failed"], m["tool_calls"], m["tool_errors"]) == (1, 1, 0, 0)
    rows, _ = Q.sessions_grid(conn, filters(providers=("openai",)))
    by = {r["session_id"]: r for r in rows}
    assert (by["s-sub"]["tool_calls"], by["s-dm"]["tool_calls"]) == (2, 1)
    assert (by["s-dm"]["failed"], by["s-dm"]["tool_errors"]) == (1, 1)
    assert "s-main" not in by
    tools_total = sum(t["calls"] for t in Q.tools_summary(conn, filters(providers=("openai",))))
    assert tools_total == sum(r["tool_calls"] for r in rows) == 3


def test_list_price_answers(conn: Connection) -> None:
    lp = filters(cost_basis="list")
    assert {a["key"]: a["detail"] for a in Q.session_alerts(conn, lp, 1.0, 100_000)} == {
        "session_cost:s-main": "list price $2.25 > $1.00"}  # fmt: skip
    assert Q.session_alerts(conn, lp, 2.4, 100_000) == []
    assert [a["key"] for a in Q.session_alerts(conn, filters(), 2.4, 100_000)] == [
        "session_cost:s-main"]  # fmt: skip
    runs = Q.cron_runs(conn, "job-1", list_price=True)
    assert [(r["session_id"], round(r["cost"], 4)) for r in runs] == [
        ("s-cron", 0.02), ("s-cron2", 0.03)]  # fmt: skip
    assert [round(c["cost"], 2) for c in Q.session_calls(conn, "s-main", list_price=True)] == [
        0.5, 1.0, 0.75]  # fmt: skip


def test_group_last_activity_is_exact(conn: Connection) -> None:
    """The rollups know the hour only; the table shows the last call's own time."""
    raw = filters(tz="Asia/Kolkata")  # half-hour bounds: the raw table, exact already
    assert filters().use_rollups and not raw.use_rollups
    for f in (filters(), raw):
        last = {r["name"]: r["last_ms"] for r in Q.group_table(conn, f)}
        assert last == {
            "researcher": ms("2025-03-15T02:15"),
            "nightly-report": ms("2025-03-15T06:00"),
        }
        series_rows, _ = Q.groups(conn, f, [ms("2025-03-09T00:00"), ms("2025-03-16T00:00")])
        assert {r["name"]: r["last_ms"] for r in series_rows} == last


def test_cron_groups_are_jobs_not_names(tmp_path: Path) -> None:
    """A cron job's runs are one group whether a run is known by its key or only by its
    "[cron:<jobId> <name>]" prompt, and whatever name each run used; two jobs sharing a name
    stay two groups (then named with their ids). Real files, a real ingest."""
    import json

    from ingestor.config import IngestSettings
    from ingestor.daemon import build

    d = tmp_path / "state" / "agents" / "main" / "sessions"
    d.mkdir(parents=True)
    index: dict[str, object] = {}

    def run(n: int, job: str, prompt_name: str | None, cost: float, keyed: bool) -> None:
        sid = f"00000000-0000-4000-8000-{n:012d}"
        ts = f"2025-03-1{n % 5}T0{n % 9}:00:00.000Z"
        text = f"[cron:{job} {prompt_name}] go" if prompt_name else "go"
        lines = [
            {"type": "session", "version": 3, "id": sid, "timestamp": ts},
            {"type": "message", "id": f"u{n}", "parentId": None, "timestamp": ts,
             "message": {"role": "user", "content": [{"type": "text", "text": text}]}},
            {"type": "message", "id": f"a{n}", "parentId": f"u{n}", "timestamp": ts,
             "message": {"role": "assistant", "provider": "anthropic", "model": "m",
                         "content": [], "stopReason": "stop",
                         "usage": {"input": 1, "output": 1, "cost": {"total": cost}}}},
        ]  # fmt: skip
        (d / f"{sid}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
        if keyed:
            index[f"agent:main:cron:{job}:run:r{n}"] = {"sessionId": sid, "updatedAt": n}

    run(1, "j2", None, 0.01, keyed=True)  # known by key only
    run(2, "j2", None, 0.02, keyed=True)
    run(3, "j2", "cleanup", 0.04, keyed=False)  # known by its prompt only
    run(4, "jA", "digest", 0.10, keyed=False)  # two jobs, one name
    run(5, "jB", "digest", 0.20, keyed=False)
    run(6, "jC", "nightly", 0.30, keyed=False)  # one job, renamed
    run(7, "jC", "nightly-report", 0.40, keyed=False)
    (d / "sessions.json").write_text(json.dumps(index))
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    engine, pipe = build(IngestSettings(db_url=url, sources=(tmp_path / "state",), host_id="h"))
    pipe.run_pass([tmp_path / "state"])
    with engine.connect() as conn:
        rows = Q.group_table(conn, Q.Filters(None, None, "UTC"))
        series = Q.group_series(
            conn, Q.Filters(None, None, "UTC"), [ms("2025-03-01T00:00"), ms("2025-04-01T00:00")]
        )
    engine.dispose()
    got = {(r["name"], r["runs"], round(r["cost"], 2)) for r in rows}
    assert got == {
        ("cleanup", 3, 0.07),
        ("digest (jA)", 1, 0.10),
        ("digest (jB)", 1, 0.20),
        ("nightly-report", 2, 0.70),
    }
    assert {(r["name"], round(r["cost"], 2)) for r in series} == {(n, c) for n, _, c in got}
