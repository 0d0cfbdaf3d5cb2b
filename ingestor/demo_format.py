"""Low-level formatting for :mod:`ingestor.demo`: JavaScript-compatible text, time and ids.

Owns: ``JSON.stringify``-style strings and ``Number.toString`` numbers, ``toISOString``
timestamps and the archive/fork file-name stamps derived from them, the gateway's local time
zone (Europe/Berlin rules, computed by hand), the chat-envelope elapsed-time marker, the
32-bit mixer behind unique ids, base62, and ``ri`` (the fast deterministic ``randrange``).
Pure functions with small memo caches; no randomness of its own.
"""

from __future__ import annotations

import datetime as dt
import random

import orjson

DAY_MS = 86_400_000
M32 = 0xFFFFFFFF


def ri(rng: random.Random, a: int, b: int | None = None) -> int:
    """``rng.randrange`` for the hot paths (about 3x faster, equally deterministic)."""
    if b is None:
        return int(rng.random() * a)
    return a + int(rng.random() * (b - a))


def jstr(s: str) -> str:
    """A JSON string literal, as ``JSON.stringify`` writes it (no ASCII escaping)."""
    return orjson.dumps(s).decode()


def js_num(x: float) -> str:
    """Format a double the way JavaScript's ``Number.prototype.toString`` does."""
    if x == 0:
        return "0"
    r = repr(x)
    if "e" in r:
        mant, e_str = r.split("e")
        e = int(e_str)
        if e < -6:
            return f"{mant}e{e}"
        neg = mant.startswith("-")
        digits = mant.lstrip("-").replace(".", "")
        return ("-" if neg else "") + "0." + "0" * (-e - 1) + digits
    return r[:-2] if r.endswith(".0") else r


_DAYS: dict[int, str] = {}


def day_str(day: int) -> str:
    """``YYYY-MM-DD`` of a day number (days since the epoch, UTC)."""
    s = _DAYS.get(day)
    if s is None:
        s = _DAYS[day] = (dt.date(1970, 1, 1) + dt.timedelta(days=day)).isoformat()
    return s


_ISO_MIN = [-1, ""]


def iso(ms: int) -> str:
    """``Date.toISOString()`` of epoch milliseconds."""
    minute, r = divmod(ms, 60_000)
    if minute != _ISO_MIN[0]:
        d, mr = divmod(minute, 1440)
        _ISO_MIN[0], _ISO_MIN[1] = minute, f"{day_str(d)}T{mr // 60:02d}:{mr % 60:02d}:"
    return f"{_ISO_MIN[1]}{r // 1000:02d}.{r % 1000:03d}Z"


def archive_ts(ms: int) -> str:
    """Archive suffix timestamp: ISO with ``:`` replaced by ``-``."""
    return iso(ms).replace(":", "-")


def fork_ts(ms: int) -> str:
    """Fork file-name timestamp: ISO with ``:`` and ``.`` replaced by ``-``."""
    return archive_ts(ms).replace(".", "-")


def _last_sunday_1utc(year: int, month: int) -> int:
    last = dt.date(year, month, 31)
    last -= dt.timedelta(days=(last.weekday() + 1) % 7)
    return int(dt.datetime(last.year, last.month, last.day, 1, tzinfo=dt.UTC).timestamp() * 1000)


_DST: dict[int, tuple[int, int]] = {}
_WD = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def local_offset(ms: int) -> tuple[int, str]:
    """Gateway zone (Europe/Berlin rules, computed by hand): offset in ms and abbreviation."""
    year = int(day_str(ms // DAY_MS)[:4])
    rng = _DST.get(year)
    if rng is None:
        rng = _DST[year] = (_last_sunday_1utc(year, 3), _last_sunday_1utc(year, 10))
    return (7_200_000, "CEST") if rng[0] <= ms < rng[1] else (3_600_000, "CET")


def local_stamp(ms: int) -> str:
    """``Mon 2026-03-02 10:14 CET`` in the gateway zone."""
    off, abbr = local_offset(ms)
    lm = ms + off
    d = lm // DAY_MS
    hm = iso(lm)[11:16]
    return f"{_WD[(d + 3) % 7]} {day_str(d)} {hm} {abbr}"


def local_date(ms: int) -> str:
    off, _ = local_offset(ms)
    return day_str((ms + off) // DAY_MS)


def elapsed(prev: int | None, now: int) -> str:
    if prev is None:
        return ""
    mins = max(1, (now - prev) // 60_000)
    if mins < 60:
        return f" +{mins}m"
    if mins < 1440:
        return f" +{mins // 60}h"
    return f" +{mins // 1440}d"


def fmix32(x: int) -> int:
    x ^= x >> 16
    x = (x * 0x85EBCA6B) & M32
    x ^= x >> 13
    x = (x * 0xC2B2AE35) & M32
    return x ^ (x >> 16)


_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def b62(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, r = divmod(n, 62)
        out.append(_B62[r])
    return "".join(out)
