"""Spike marks ignore the empty buckets before the data starts; the share donut folds the
small slices into "other" and keeps the caller's order (fixed colours per source)."""

from __future__ import annotations

from webapp.figures import share_donut
from webapp.spikes import spikes


def test_no_spikes_from_leading_empty_buckets() -> None:
    values = [0, 0, 0, 0, 6.0, 3.2, 3.2, 5.4, 5.1, 4.3]
    assert spikes(values, window=7, factor=2.0, min_history=3) == [False] * len(values)


def test_spike_after_history() -> None:
    values = [0, 0, 1.0, 1.0, 1.0, 1.0, 5.0, 1.0]
    assert spikes(values, window=7, factor=2.0, min_history=3) == [
        False, False, False, False, False, False, True, False,
    ]  # fmt: skip


def test_zero_history_still_counts_inside_the_data() -> None:
    values = [1.0, 0.0, 0.0, 0.0, 3.0]
    assert spikes(values, window=7, factor=2.0, min_history=3)[-1] is True


def test_donut_folds_small_slices_keeping_order() -> None:
    labels = [f"m{i}" for i in range(9)]
    values = [5.0, 1.0, 9.0, 0.5, 4.0, 3.0, 2.0, 0.25, 0.25]
    pie = share_donut(labels, values, "Cost share")["data"][0]
    assert list(pie["labels"]) == ["m0", "m1", "m2", "m4", "m5", "m6", "other"]
    assert list(pie["values"]) == [5.0, 1.0, 9.0, 4.0, 3.0, 2.0, 1.0]


def test_donut_keeps_few_slices_as_given() -> None:
    pie = share_donut(["Override", "Logged", "Priced"], [0.75, 4.11, 0.02], "s")["data"][0]
    assert list(pie["labels"]) == ["Override", "Logged", "Priced"]


def test_a_spike_does_not_depend_on_where_the_range_begins(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """$0.50 on Jan 1 (history begins) and $0.50 on Jan 20: the 7 days before Jan 20 are
    recorded history with no cost, so Jan 20 is a spike in every range that holds it (it was
    one for January, and none for Jan 15-25: the lookback's own first cost was taken as the
    history's start). Real files, a real ingest; Alerts and the Timeline marks agree."""
    import json

    from ingestor.config import IngestSettings
    from ingestor.daemon import build
    from webapp import queries as Q
    from webapp.context import AppContext
    from webapp.pagekit import make_view
    from webapp.timeranges import bucket_starts

    sid = "5a0f3e7d-8d3a-4b7e-9c21-4f6b2c1e9b10"
    d = tmp_path / "state" / "agents" / "main" / "sessions"
    d.mkdir(parents=True)

    def call(i: int, iso: str) -> dict[str, object]:
        return {"type": "message", "id": f"c{i}", "parentId": None, "timestamp": iso,
                "message": {"role": "assistant", "provider": "anthropic",
                            "model": "claude-sonnet-4-5", "content": [],
                            "usage": {"input": 10, "output": 1, "cost": {"total": 0.5}},
                            "stopReason": "stop"}}  # fmt: skip

    lines = [
        {"type": "session", "version": 3, "id": sid, "timestamp": "2026-01-01T09:00:00.000Z"},
        call(1, "2026-01-01T10:00:00.000Z"),
        call(2, "2026-01-20T10:00:00.000Z"),
    ]
    (d / f"{sid}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    engine, pipe = build(IngestSettings(db_url=url, sources=(tmp_path / "state",), host_id="h"))
    assert pipe.run_pass([tmp_path / "state"]).calls == 2
    engine.dispose()

    from ingestor.config import ServeSettings

    ctx = AppContext(ServeSettings(db_url=url), clock=lambda: 1769904000000)  # 2026-02-01
    jan20 = 1768867200000  # 2026-01-20T00:00Z
    for start, end in [("2026-01-01", "2026-01-31"), ("2026-01-15", "2026-01-25"),
                       ("2026-01-20", "2026-01-20")]:  # fmt: skip
        view = make_view({"range": "custom", "start": start, "end": end, "tz": "UTC"}, ctx)
        with ctx.engine().connect() as conn:
            since, until = view.range.since_ms, view.range.until_ms
            assert since is not None and until is not None
            got = Q.cost_spikes(conn, view.filters, 2.0, since, until)
            assert [s["key"] for s in got] == ["cost_spike:2026-01-20:UTC"], (start, end)
            assert got[0]["detail"] == "$0.50 vs $0.00 trailing 7-day average"
            starts = bucket_starts(since, until, "day", "UTC")
            costs = [0.5 if s == jan20 else 0.0 for s in starts[:-1]]
            marks = view.spike_marks(conn, "day", starts, costs)
            assert [s for s, m in zip(starts[:-1], marks, strict=True) if m] == [jan20]
    ctx.engine().dispose()
