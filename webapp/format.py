"""How numbers read on screen: money ($1.23), token counts (45.6k), percentages, durations and
changes against the previous period. Pure functions, no Dash."""

from __future__ import annotations

import math


def money(value: float | None) -> str:
    """``$1,234.57``; sub-cent amounts keep four decimals (``$0.0042``)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    a = abs(value)
    if a == 0:
        return "$0.00"
    sign = "-" if value < 0 else ""
    if a < 0.01:
        return f"{sign}${a:.4f}"
    if a >= 1_000_000:
        return f"{sign}${a / 1_000_000:.2f}M"
    return f"{sign}${a:,.2f}"


def count(value: float | None) -> str:
    """Compact counts: ``950``, ``45.6k``, ``1.23M``, ``4.56B``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    a = abs(value)
    sign = "-" if value < 0 else ""
    if a < 1000:
        return f"{sign}{a:,.0f}"
    for limit, suffix, div in ((1e6, "k", 1e3), (1e9, "M", 1e6), (1e12, "B", 1e9)):
        if a < limit:
            scaled = a / div
            digits = 1 if scaled >= 10 or suffix == "k" else 2
            text = f"{scaled:.{digits}f}"
            if float(text) >= 1000:  # 999.95k rounds up into the next unit
                continue
            return f"{sign}{text}{suffix}"
    return f"{sign}{a / 1e12:.2f}T"


def integer(value: float | None) -> str:
    """Exact integer with thousands separators (grids, CSV-like views)."""
    if value is None:
        return "—"
    return f"{int(value):,}"


def pct(ratio: float | None, digits: int = 1) -> str:
    """A ratio as a percentage: ``0.456`` -> ``45.6%``."""
    if ratio is None or (isinstance(ratio, float) and math.isnan(ratio)):
        return "—"
    return f"{ratio * 100:.{digits}f}%"


def duration_ms(ms: float | None) -> str:
    """``850 ms``, ``1.2 s``, ``2m 05s``, ``1h 02m``."""
    if ms is None or (isinstance(ms, float) and math.isnan(ms)):
        return "—"
    if ms < 1000:
        return f"{ms:.0f} ms"
    s = ms / 1000
    if s < 60:
        return f"{s:.1f} s"
    m, sec = divmod(round(s), 60)
    if m < 60:
        return f"{m}m {sec:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h {m:02d}m"


def change(current: float | None, previous: float | None) -> tuple[str, int]:
    """Relative change against the previous period: (text, direction -1/0/1).

    ``previous`` None means there is no previous period (all time): empty text."""
    if previous is None or current is None:
        return "", 0
    if previous == 0:
        if current == 0:
            return "±0%", 0
        return "new", 1
    rel = (current - previous) / abs(previous)
    direction = 0 if abs(rel) < 0.0005 else (1 if rel > 0 else -1)
    return f"{rel * 100:+.1f}%", direction


def change_points(current: float | None, previous: float | None) -> tuple[str, int]:
    """Change of a ratio in percentage points: ``+2.5 pp``."""
    if previous is None or current is None:
        return "", 0
    d = (current - previous) * 100
    direction = 0 if abs(d) < 0.05 else (1 if d > 0 else -1)
    return f"{d:+.1f} pp", direction
