"""Ranges and buckets in the viewer's time zone, as epoch milliseconds UTC.

* ``resolve_range``: a preset (today, last 24 hours, 7/30/90 days, this/last month, all time)
  or a custom pair of local days -> half-open ``[since_ms, until_ms)``. Day presets are whole
  local days ending with today; "last 24 hours" ends at the end of the current UTC hour so
  that every preset in a whole-hour zone has whole-hour boundaries (and can use the rollups).
* ``bucket_starts``: local hour/day/week/month boundaries computed with zoneinfo (DST aware,
  never a fixed offset).
* ``assign``: maps timestamps to bucket indexes.

Pure: no Dash, no database.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


@dataclass(frozen=True)
class TimeRange:
    since_ms: int | None  # None: all time
    until_ms: int | None
    label: str

    @property
    def all_time(self) -> bool:
        return self.since_ms is None

    def previous(self) -> TimeRange | None:
        """The period of equal length just before this one (None for all time)."""
        if self.since_ms is None or self.until_ms is None:
            return None
        span = self.until_ms - self.since_ms
        return TimeRange(self.since_ms - span, self.since_ms, "previous period")


def _local_midnight_ms(day: date, tz: ZoneInfo) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=tz).timestamp() * 1000)


def _local_date(ms: int, tz: ZoneInfo) -> date:
    return datetime.fromtimestamp(ms / 1000, tz).date()


def _month_start(day: date, months_back: int = 0) -> date:
    y, m = day.year, day.month - months_back
    while m <= 0:
        y, m = y - 1, m + 12
    return date(y, m, 1)


def resolve_range(
    preset: str,
    tz_name: str,
    now_ms: int,
    start: str | None = None,
    end: str | None = None,
) -> TimeRange:
    """The half-open range a preset (or a custom pair of local days) stands for."""
    from webapp.state import PRESETS

    tz = ZoneInfo(tz_name)
    today = _local_date(now_ms, tz)
    tomorrow = today + timedelta(days=1)
    label = PRESETS.get(preset, preset)
    if preset == "all":
        return TimeRange(None, None, label)
    if preset == "24h":
        until = (now_ms // HOUR_MS + 1) * HOUR_MS
        return TimeRange(until - DAY_MS, until, label)
    if preset in ("7d", "30d", "90d"):
        days = int(preset[:-1])
        first = today - timedelta(days=days - 1)
        return TimeRange(_local_midnight_ms(first, tz), _local_midnight_ms(tomorrow, tz), label)
    if preset == "month":
        first = _month_start(today)
        nxt = _month_start(first + timedelta(days=32))
        return TimeRange(_local_midnight_ms(first, tz), _local_midnight_ms(nxt, tz), label)
    if preset == "lastmonth":
        first = _month_start(today, 1)
        nxt = _month_start(today)
        return TimeRange(_local_midnight_ms(first, tz), _local_midnight_ms(nxt, tz), label)
    if preset == "custom" and start and end:
        d0, d1 = date.fromisoformat(start), date.fromisoformat(end)
        return TimeRange(
            _local_midnight_ms(d0, tz),
            _local_midnight_ms(d1 + timedelta(days=1), tz),
            f"{start} – {end}",
        )
    # today (and the fallback)
    return TimeRange(_local_midnight_ms(today, tz), _local_midnight_ms(tomorrow, tz), "Today")


def auto_bucket(span_ms: int) -> str:
    """The bucket that follows the range: hours up to 2 days, days up to ~2 months, weeks up
    to a year, months beyond."""
    if span_ms <= 2 * DAY_MS:
        return "hour"
    if span_ms <= 62 * DAY_MS:
        return "day"
    if span_ms <= 366 * DAY_MS:
        return "week"
    return "month"


MAX_BUCKETS = 5000


def bucket_starts(since_ms: int, until_ms: int, unit: str, tz_name: str) -> list[int]:
    """Starts of the local buckets covering ``[since_ms, until_ms)``, followed by the end of
    the last bucket. Hour buckets follow local wall-clock hours (DST aware)."""
    tz = ZoneInfo(tz_name)
    out: list[int] = []
    if unit == "hour":
        local = datetime.fromtimestamp(since_ms / 1000, tz).replace(
            minute=0, second=0, microsecond=0
        )
        t = int(local.timestamp() * 1000)
        while True:
            out.append(t)
            if t >= until_ms or len(out) > MAX_BUCKETS:
                break
            t += HOUR_MS
        return out
    day = _local_date(since_ms, tz)
    if unit == "week":
        day -= timedelta(days=day.weekday())
    elif unit == "month":
        day = date(day.year, day.month, 1)
    while True:
        t = _local_midnight_ms(day, tz)
        out.append(t)
        if t >= until_ms or len(out) > MAX_BUCKETS:
            break
        if unit == "day":
            day += timedelta(days=1)
        elif unit == "week":
            day += timedelta(days=7)
        else:
            day = _month_start(day + timedelta(days=32))
    return out


def assign(ts_ms: int, starts: list[int]) -> int:
    """Index of the bucket holding ``ts_ms`` (-1 outside)."""
    i = bisect.bisect_right(starts, ts_ms) - 1
    return i if 0 <= i < len(starts) - 1 else -1


def whole_hours(*values: int | None) -> bool:
    return all(v is None or v % HOUR_MS == 0 for v in values)


def local_label(ms: int, unit: str, tz_name: str) -> str:
    """A bucket start as local text (for tables and hover)."""
    dt = datetime.fromtimestamp(ms / 1000, ZoneInfo(tz_name))
    if unit == "hour":
        return dt.strftime("%Y-%m-%d %H:%M")
    if unit == "month":
        return dt.strftime("%Y-%m")
    return dt.strftime("%Y-%m-%d")


def span_text(since_ms: int, until_ms: int, tz_name: str) -> str:
    """A range's first and last local day (``2026-11-15 → 2026-11-21``); a start that is not a
    local midnight (the last 24 hours) shows its hour."""
    start = datetime.fromtimestamp(since_ms / 1000, ZoneInfo(tz_name))
    unit = "day" if (start.hour, start.minute) == (0, 0) else "hour"
    return f"{local_label(since_ms, unit, tz_name)} → {local_label(until_ms - 1, 'day', tz_name)}"


def local_datetime(ms: int, tz_name: str) -> datetime:
    """A naive local datetime (what plotly draws on a time axis)."""
    return datetime.fromtimestamp(ms / 1000, ZoneInfo(tz_name)).replace(tzinfo=None)
