"""User price overrides: a TOML file of per-model prices that win over every other cost
(accounting.md §5). This module owns the file format, its validation and the ``Override``
value; choosing the override for a call is :class:`ingestor.pricing.Pricer`'s job.

File format (all prices in US dollars per million tokens)::

    # One [[price]] table per model and price period.
    [[price]]
    provider = "ollama"        # message.provider, case-insensitive; "*" = any provider
    model = "llama3.3:70b"     # message.model, exact but case-insensitive; "*" = any model
    input = 0.0                # non-cached input tokens
    output = 0.0               # output tokens
    cache_read = 0.0           # optional, defaults to `input`
    cache_write = 0.0          # optional, defaults to `input`
    valid_from = 2026-01-01    # optional TOML date or date-time (no offset = UTC);
                               # omitted = valid since forever

    [[price]]
    provider = "anthropic"
    model = "claude-sonnet-4-5"
    input = 2.5
    output = 12.0
    valid_from = 2026-03-01T00:00:00Z

Choosing an override for a call (provider P, model M, time T):

* Candidates are the entries whose provider and model match the call. An exact model beats
  ``model = "*"``; at the same level an exact provider beats ``provider = "*"``.
* At the most specific level that has an entry valid at T, the entry with the newest
  ``valid_from <= T`` wins (an entry without ``valid_from`` is the oldest).
* When no entry is valid at T (every candidate starts later), the call is priced as if there
  were no override (logged cost, then the price table).
* Models are matched literally: an OpenRouter call is ``model = "anthropic/claude-sonnet-4-5"``.

Two entries with the same provider, model and ``valid_from`` are an error, as are unknown keys,
negative or non-numeric prices, and any top-level key other than ``price``.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

WILDCARD = "*"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_KEYS = frozenset(
    {"provider", "model", "input", "output", "cache_read", "cache_write", "valid_from"}
)


class OverrideError(Exception):
    """An overrides file that cannot be used (message is one line: file, entry, problem)."""


@dataclass(frozen=True)
class Override:
    """One ``[[price]]`` entry. Prices are USD per million tokens."""

    provider: str  # lower-cased, or "*"
    model: str  # lower-cased, or "*"
    input: float
    output: float
    cache_read: float
    cache_write: float
    valid_from_ms: int | None = None  # epoch ms UTC; None = since forever
    entry: int = 0  # 1-based position in the file, for messages

    def matches(self, provider: str, model: str) -> bool:
        """Whether the entry applies to a call of ``provider``/``model`` (any case)."""
        return (self.provider == WILDCARD or self.provider == provider.lower()) and (
            self.model == WILDCARD or self.model == model.lower()
        )

    @property
    def specificity(self) -> int:
        """Higher wins: exact model (2) counts more than exact provider (1)."""
        return (2 if self.model != WILDCARD else 0) + (1 if self.provider != WILDCARD else 0)


def load_overrides(path: Path) -> list[Override]:
    """Read and validate an overrides file, raising :class:`OverrideError` on any problem."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise OverrideError(f"{path}: cannot read the overrides file: {exc.strerror}") from exc
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise OverrideError(f"{path}: not UTF-8 text") from exc
    except tomllib.TOMLDecodeError as exc:
        raise OverrideError(f"{path}: not valid TOML: {exc}") from exc
    return parse_overrides(doc, str(path))


def parse_overrides(doc: dict[str, Any], where: str = "<overrides>") -> list[Override]:
    """Validate an already-parsed TOML document (``where`` names it in messages)."""
    extra = sorted(set(doc) - {"price"})
    if extra:
        raise OverrideError(
            f"{where}: unknown top-level key {extra[0]!r} (expected [[price]] tables)"
        )
    entries = doc.get("price", [])
    if not isinstance(entries, list):
        raise OverrideError(f"{where}: 'price' must be an array of tables: write [[price]]")
    result: list[Override] = []
    seen: dict[tuple[str, str, int | None], int] = {}
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise OverrideError(f"{where}: price entry {number}: not a table")
        ov = _parse_entry(entry, f"{where}: price entry {number}", number)
        key = (ov.provider, ov.model, ov.valid_from_ms)
        if key in seen:
            raise OverrideError(
                f"{where}: price entry {number}: same provider, model and valid_from as "
                f"entry {seen[key]}"
            )
        seen[key] = number
        result.append(ov)
    return result


def _parse_entry(entry: dict[str, Any], where: str, number: int) -> Override:
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise OverrideError(
            f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(_KEYS))})"
        )
    provider = _name(entry, "provider", where)
    model = _name(entry, "model", where)
    price_in = _price(entry, "input", where, None)
    output = _price(entry, "output", where, None)
    return Override(
        provider=provider,
        model=model,
        input=price_in,
        output=output,
        cache_read=_price(entry, "cache_read", where, price_in),
        cache_write=_price(entry, "cache_write", where, price_in),
        valid_from_ms=_valid_from(entry.get("valid_from"), where),
        entry=number,
    )


def _name(entry: dict[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if value is None:
        raise OverrideError(f"{where}: missing {key!r}")
    if not isinstance(value, str) or not value.strip():
        raise OverrideError(f"{where}: {key!r} must be a non-empty string, got {value!r}")
    return value.strip().lower()


def _price(entry: dict[str, Any], key: str, where: str, default: float | None) -> float:
    value = entry.get(key)
    if value is None:
        if default is None:
            raise OverrideError(f"{where}: missing {key!r} (USD per million tokens)")
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise OverrideError(
            f"{where}: {key!r} must be a number (USD per million tokens), got {value!r}"
        )
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise OverrideError(f"{where}: {key!r} must be a finite number >= 0, got {value!r}")
    return number


def _valid_from(value: object, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day, tzinfo=UTC)
    elif isinstance(value, time):
        raise OverrideError(f"{where}: 'valid_from' needs a date, not only a time of day")
    else:
        raise OverrideError(
            f"{where}: 'valid_from' must be a TOML date (2026-01-01) or date-time "
            f"(2026-01-01T00:00:00Z), got {value!r}"
        )
    return (moment - _EPOCH) // timedelta(milliseconds=1)
