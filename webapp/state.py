"""The view state every page shares (range, time zone, filters, refresh, page options) and its
round trip through the URL query string, so any view can be bookmarked and shared.

Pure: no Dash, no database. Defaults are left out of the query string, unknown or invalid
values fall back to the default, and multi-valued filters repeat their key
(``?agent=main&agent=ops``).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields, replace
from typing import Any
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo

PRESETS: dict[str, str] = {
    "today": "Today",
    "24h": "Last 24 hours",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "month": "This month",
    "lastmonth": "Last month",
    "all": "All time",
    "custom": "Custom",
}
REFRESH_CHOICES = (0, 10, 30, 60)
BUCKETS = ("auto", "hour", "day", "week", "month")
# What the cost charts show: the effective cost (accounting.md §5) or the list price.
COST_BASES: dict[str, str] = {"effective": "Effective", "list": "List price"}
DEFAULT_RANGE = "7d"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class ViewState:
    """Everything a view depends on besides the page path."""

    range: str = DEFAULT_RANGE
    start: str | None = None  # custom range: first local day, YYYY-MM-DD
    end: str | None = None  # custom range: last local day (inclusive)
    tz: str = "UTC"
    agents: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    refresh: int = 0
    bucket: str = "auto"
    cost_threshold: float = 1.0
    token_threshold: int = 100_000
    spike_factor: float = 2.0
    tool: str | None = None
    cost_basis: str = "effective"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("agents", "kinds", "providers", "models"):
            d[key] = list(d[key])
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None, default_tz: str = "UTC") -> ViewState:
        if not data:
            return cls(tz=default_tz)
        known = {f.name for f in fields(cls)}
        clean = {k: v for k, v in data.items() if k in known}
        for key in ("agents", "kinds", "providers", "models"):
            clean[key] = tuple(clean.get(key) or ())
        return _validated(cls(**clean), default_tz)


_MULTI = {"agent": "agents", "kind": "kinds", "provider": "providers", "model": "models"}
_SCALAR = {
    "range": "range",
    "start": "start",
    "end": "end",
    "tz": "tz",
    "refresh": "refresh",
    "bucket": "bucket",
    "cost": "cost_threshold",
    "tokens": "token_threshold",
    "spike": "spike_factor",
    "tool": "tool",
    "basis": "cost_basis",
}


def valid_tz(name: str | None) -> bool:
    if not name:
        return False
    try:
        ZoneInfo(name)
    except (KeyError, ValueError, OSError):
        return False
    return True


def _num(value: Any, cast: type, default: Any, low: float) -> Any:
    try:
        out = cast(value)
    except (TypeError, ValueError):
        return default
    if out != out or out < low:  # NaN or out of range
        return default
    return out


def _validated(state: ViewState, default_tz: str) -> ViewState:
    d = ViewState(tz=default_tz)
    rng = state.range if state.range in PRESETS else d.range
    start, end = state.start, state.end
    if rng == "custom":
        if not (start and _DATE.match(start) and end and _DATE.match(end)) or end < start:
            rng, start, end = d.range, None, None
    else:
        start = end = None
    return replace(
        state,
        range=rng,
        start=start,
        end=end,
        tz=state.tz if valid_tz(state.tz) else default_tz,
        refresh=state.refresh if state.refresh in REFRESH_CHOICES else 0,
        bucket=state.bucket if state.bucket in BUCKETS else "auto",
        cost_threshold=float(_num(state.cost_threshold, float, d.cost_threshold, 0)),
        token_threshold=int(_num(state.token_threshold, int, d.token_threshold, 0)),
        spike_factor=float(_num(state.spike_factor, float, d.spike_factor, 1)),
        tool=state.tool or None,
        cost_basis=state.cost_basis if state.cost_basis in COST_BASES else "effective",
    )


def parse_query(search: str | None, default_tz: str = "UTC") -> ViewState:
    """``?range=30d&agent=main`` -> ViewState (invalid values fall back to defaults)."""
    qs = parse_qs((search or "").lstrip("?"), keep_blank_values=False)
    values: dict[str, Any] = {}
    for key, attr in _MULTI.items():
        if key in qs:
            values[attr] = tuple(dict.fromkeys(v for v in qs[key] if v))
    for key, attr in _SCALAR.items():
        if qs.get(key):
            values[attr] = qs[key][-1]
    if "refresh" in values:
        values["refresh"] = _num(values["refresh"], int, 0, 0)
    state = ViewState(tz=default_tz)
    state = replace(state, **values)
    return _validated(state, default_tz)


def to_query(state: ViewState, default_tz: str = "UTC") -> str:
    """ViewState -> ``?range=30d&agent=main`` (defaults omitted; ``""`` when all default)."""
    d = ViewState(tz=default_tz)
    pairs: list[tuple[str, str]] = []
    for key, attr in _SCALAR.items():
        value = getattr(state, attr)
        if value is None or value == getattr(d, attr):
            continue
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        pairs.append((key, str(value)))
    for key, attr in _MULTI.items():
        pairs.extend((key, v) for v in getattr(state, attr))
    return ("?" + urlencode(pairs)) if pairs else ""


def with_changes(search: str | None, default_tz: str, **changes: Any) -> str:
    """The query string with some fields changed (used by page-level controls)."""
    state = replace(parse_query(search, default_tz), **changes)
    return to_query(_validated(state, default_tz), default_tz)
