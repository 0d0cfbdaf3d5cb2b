"""Spike detection shared by the timeline (marks) and the alerts page: a bucket is a spike when
its value exceeds ``factor`` times the average of the ``window`` buckets before it (at least
``min_history`` of them) and beats that average by more than ``min_excess``. Buckets before
the recorded history began are "no data yet", not a baseline of zero: the average counts only
buckets from the one holding the first recorded activity on (callers pass its index, see
:func:`history_index`, so a bucket's mark never depends on where the range begins). Pure."""

from __future__ import annotations

from collections.abc import Sequence


def trailing_average(
    values: Sequence[float], i: int, window: int, first: int = 0
) -> tuple[float, int]:
    prev = values[max(first, i - window) : i]
    return (sum(prev) / len(prev) if prev else 0.0), len(prev)


def history_index(bounds: Sequence[int], history_ms: int | None) -> int:
    """Index of the bucket holding ``history_ms`` (the first recorded activity) among the
    buckets whose starts and end are ``bounds``: 0 when history began before them, their
    count when it began after them (or there is none)."""
    if history_ms is None:
        return max(len(bounds) - 1, 0)
    return sum(1 for end in bounds[1:] if end <= history_ms)


def spikes(
    values: Sequence[float],
    *,
    window: int = 7,
    factor: float = 2.0,
    min_history: int = 3,
    min_excess: float = 0.0,
    first: int | None = None,
) -> list[bool]:
    """``first``: the index where history begins (default: the first non-zero value)."""
    out = []
    if first is None:
        first = next((i for i, v in enumerate(values) if v > 0), len(values))
    for i, v in enumerate(values):
        avg, n = trailing_average(values, i, window, first)
        out.append(n >= min_history and v > factor * avg and v - avg > min_excess)
    return out
