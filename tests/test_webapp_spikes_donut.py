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
