"""Spike detection shared by the timeline (marks) and the alerts page: a bucket is a spike when
its value exceeds ``factor`` times the average of the ``window`` buckets before it (at least
``min_history`` of them) and beats that average by more than ``min_excess``. Buckets before
the first non-zero one are "no data yet", not a baseline of zero: history starts at the first
bucket with data. Pure."""

from __future__ import annotations

from collections.abc import Sequence


def trailing_average(
    values: Sequence[float], i: int, window: int, first: int = 0
) -> tuple[float, int]:
    prev = values[max(first, i - window) : i]
    return (sum(prev) / len(prev) if prev else 0.0), len(prev)


def spikes(
    values: Sequence[float],
    *,
    window: int = 7,
    factor: float = 2.0,
    min_history: int = 3,
    min_excess: float = 0.0,
) -> list[bool]:
    out = []
    first = next((i for i, v in enumerate(values) if v > 0), len(values))
    for i, v in enumerate(values):
        avg, n = trailing_average(values, i, window, first)
        out.append(n >= min_history and v > factor * avg and v - avg > min_excess)
    return out
