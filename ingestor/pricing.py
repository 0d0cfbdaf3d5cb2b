"""Prices for LLM calls (accounting.md §5): which price applies to a call, what the call's
tokens cost at that price, and which cost the product shows. Pure: no database, no network.

This module owns

* the mapping of OpenClaw's ``message.provider`` / ``message.model`` to the price table bundled
  with ``genai-prices`` (never fetched: the bundled snapshot only),
* :class:`Pricer`, which quotes one call from the user's overrides or the table, at the call's
  own time (prices that change by date or by time of day are honoured),
* :func:`decide_cost`, the rule that picks ``cost`` / ``cost_source`` and the audit flags.

Provider mapping and fuzzy matches. The table lookup tries, in order:

1. the call's provider, mapped to a table provider: an alias (``openai-codex`` → ``openai``,
   ``google-vertex`` / ``google-gemini-cli`` → ``google``, ``amazon-bedrock`` → ``aws``,
   ``xai`` → ``x-ai``, ...), the table's own id, else the table's provider guess from the name
   (``my-openai-proxy`` → ``openai``, flagged fuzzy);
2. the model without its vendor prefix, at that vendor (OpenRouter's
   ``anthropic/claude-sonnet-4-5`` → ``anthropic`` / ``claude-sonnet-4-5``; Bedrock's
   ``us.anthropic.claude-...`` likewise), flagged fuzzy;
3. the model id alone, at the first table provider whose model pattern matches it, flagged fuzzy.

A match is also fuzzy when the table matched a variant of the id (a prefix rule) rather than
the same model (ids are compared ignoring case, ``.`` vs ``-`` and date/``-latest``/version
suffixes). Local providers (``ollama``, ``lmstudio``, ``llama.cpp``, ``vllm``, ...) are never
priced from the table: their calls are free unless an override says otherwise.

Speed: the lookup is cached per (provider, model, UTC day) (and per time-of-day segment for
the few models with off-peak prices), so a quote is a dict lookup and a few multiplications.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from genai_prices import types as gp
from genai_prices.data import providers as _TABLE
from genai_prices.data_snapshot import find_provider_by_id

from ingestor.overrides import Override

DAY_MS = 86_400_000
MISMATCH_TOLERANCE = 0.05
_MAX_CACHE = 500_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

PROVIDER_ALIASES: dict[str, str] = {
    "openai-codex": "openai",
    "openai-responses": "openai",
    "azure-openai": "azure",
    "azure-openai-responses": "azure",
    "google-vertex": "google",
    "google-gemini-cli": "google",
    "google-antigravity": "google",
    "gemini": "google",
    "vertex": "google",
    "amazon-bedrock": "aws",
    "bedrock": "aws",
    "xai": "x-ai",
    "moonshot": "moonshotai",
    "kimi-coding": "moonshotai",
    "mistralai": "mistral",
    "together-ai": "together",
    "togetherai": "together",
    "z-ai": "zai",
}
LOCAL_PROVIDERS = frozenset(
    {"ollama", "lmstudio", "lm-studio", "llamacpp", "llama-cpp", "llama.cpp", "vllm", "sglang"}
    | {"local", "localai", "openclaw"}
)
_BEDROCK_PREFIX = re.compile(
    r"^(?:(?:us|eu|apac|ap|global|jp|au|ca|us-gov)\.)?"
    r"(anthropic|amazon|meta|mistral|cohere|ai21|deepseek|openai|qwen|moonshotai|zai|writer)\.(.+)$"
)
_VARIANT_SUFFIX = re.compile(r"(?:[-@]\d{8}|-\d{4}-\d{2}-\d{2}|-latest|-v\d+(?::\d+)?|:\d+)+$")
_REGION_PREFIX = re.compile(r"^(?:us|eu|apac|ap|global|regional|jp|au|ca|us-gov)\.")
_BY_ID = {p.id: p for p in _TABLE}


@dataclass(frozen=True, slots=True)
class Quote:
    """The list price of one call (from an override or the table)."""

    cost: float  # USD for this call's tokens
    source: str  # "override" | "table"
    matched_model: str  # model id the table matched (or the override's model)
    fuzzy: bool  # the table matched loosely (variant, vendor prefix stripped, provider guessed)
    input_per_mtok: float  # USD per million non-cached input tokens (tier applied)
    cache_read_per_mtok: float  # USD per million cache-read tokens (tier applied)
    cache_savings: float = 0.0  # cache_read_tokens * (input - cache read price) / 1e6
    total_tokens: int = 0  # input + output + cache_read + cache_write


@dataclass(frozen=True, slots=True)
class CostDecision:
    """Every cost column of a usage row, derived from its logged cost and its quote."""

    cost: float
    cost_source: str  # "override" | "logged" | "priced" | "unknown"
    priced_cost: float | None  # the list price (override or table), None if unknown
    price_model: str | None
    price_fuzzy: bool | None
    cache_savings: float | None  # None if no price
    zero_cost_with_price: bool  # logged cost 0 or missing although the list price is > 0
    cost_mismatch: bool  # logged and list price both > 0 and differ by more than 5 %


def decide_cost(logged_cost: float | None, quote: Quote | None) -> CostDecision:
    """Apply accounting.md §5: override, else logged cost > 0, else table price, else 0."""
    logged = logged_cost if logged_cost is not None and logged_cost > 0 else None
    if quote is None:
        if logged is not None:
            return CostDecision(logged, "logged", None, None, None, None, False, False)
        return CostDecision(0.0, "unknown", None, None, None, None, False, False)
    priced = quote.cost
    if quote.source == "override":
        cost, source = priced, "override"
    elif logged is not None:
        cost, source = logged, "logged"
    else:
        cost, source = priced, "priced"
    return CostDecision(
        cost,
        source,
        priced,
        quote.matched_model,
        quote.fuzzy,
        quote.cache_savings,
        logged is None and priced > 0 and quote.total_tokens > 0,
        logged is not None and priced > 0 and abs(logged - priced) > MISMATCH_TOLERANCE * priced,
    )


# One tier segment: (exclusive lower bound on total input tokens, input, output, cache read,
# cache write USD per million tokens, USD per request). Segments are sorted by bound, highest
# first; the last one has bound -1 and always applies.
_Segment = tuple[int, float, float, float, float, float]


@dataclass(slots=True)
class _Match:
    info: gp.ModelInfo
    fuzzy: bool
    day_bounds: tuple[int, ...]  # ms after UTC midnight where a time-of-day price may change


@dataclass(slots=True)
class _Entry:
    overrides: tuple[Override, ...]  # candidates, best first
    match: _Match | None
    model_id: str  # table model id ("" without a match)
    fuzzy: bool
    segments: tuple[_Segment, ...] | None  # None: no table price, or priced per time of day
    intraday: dict[int, tuple[_Segment, ...]]


class Pricer:
    """Quotes calls from the overrides, then the bundled genai-prices table."""

    def __init__(self, overrides: Sequence[Override] = ()) -> None:
        self._overrides = tuple(overrides)
        self._cache: dict[tuple[str, str, int], _Entry] = {}
        self._matches: dict[tuple[str, str], _Match | None] = {}

    def quote(
        self,
        provider: str,
        model: str,
        ts_ms: int,
        input_tokens: int,
        output_tokens: int,
        cache_read_tokens: int,
        cache_write_tokens: int,
    ) -> Quote | None:
        """The list price of a call, or None when no override or table entry knows the model.

        ``input_tokens`` is the normalized non-cached input (accounting.md §4).
        """
        day = ts_ms // DAY_MS
        entry = self._cache.get((provider, model, day))
        if entry is None:
            entry = self._entry(provider, model, day)
        total = input_tokens + output_tokens + cache_read_tokens + cache_write_tokens
        if entry.overrides:
            for ov in entry.overrides:
                if ov.valid_from_ms is None or ov.valid_from_ms <= ts_ms:
                    return Quote(
                        (
                            input_tokens * ov.input
                            + output_tokens * ov.output
                            + cache_read_tokens * ov.cache_read
                            + cache_write_tokens * ov.cache_write
                        )
                        / 1e6,
                        "override",
                        model if ov.model == "*" else ov.model,
                        False,
                        ov.input,
                        ov.cache_read,
                        cache_read_tokens * (ov.input - ov.cache_read) / 1e6,
                        total,
                    )
        segments = entry.segments
        match = entry.match
        if segments is None:
            if match is None:
                return None
            segments = self._intraday(entry, match, day, ts_ms)
        prompt = input_tokens + cache_read_tokens + cache_write_tokens
        for seg in segments:
            if prompt > seg[0]:
                break
        _, p_in, p_out, p_cr, p_cw, p_req = seg
        cost = (
            input_tokens * p_in
            + output_tokens * p_out
            + cache_read_tokens * p_cr
            + cache_write_tokens * p_cw
        ) / 1e6
        if p_req and total:
            cost += p_req
        return Quote(
            cost,
            "table",
            entry.model_id,
            entry.fuzzy,
            p_in,
            p_cr,
            cache_read_tokens * (p_in - p_cr) / 1e6,
            total,
        )

    def table_match(self, provider: str, model: str) -> tuple[str, bool] | None:
        """(matched table model id, fuzzy) for a provider/model, or None if the table lacks it."""
        match = self._match(provider, model)
        return None if match is None else (match.info.id, match.fuzzy)

    # -- cache building -------------------------------------------------------------------

    def _entry(self, provider: str, model: str, day: int) -> _Entry:
        if len(self._cache) >= _MAX_CACHE:
            self._cache.clear()
        match = self._match(provider, model)
        segments = None
        if match is not None and not match.day_bounds:
            segments = _segments(match.info.get_prices(_EPOCH + timedelta(days=day)))
        cands = [ov for ov in self._overrides if ov.matches(provider, model)]
        cands.sort(key=_override_rank)
        model_id, fuzzy = (match.info.id, match.fuzzy) if match is not None else ("", False)
        entry = _Entry(tuple(cands), match, model_id, fuzzy, segments, {})
        self._cache[(provider, model, day)] = entry
        return entry

    def _intraday(self, entry: _Entry, match: _Match, day: int, ts_ms: int) -> tuple[_Segment, ...]:
        index = bisect_right(match.day_bounds, ts_ms - day * DAY_MS)
        segments = entry.intraday.get(index)
        if segments is None:
            start = day * DAY_MS + (match.day_bounds[index - 1] if index else 0)
            when = _EPOCH + timedelta(milliseconds=start)
            segments = entry.intraday[index] = _segments(match.info.get_prices(when))
        return segments

    def _match(self, provider: str, model: str) -> _Match | None:
        key = (provider, model)
        if key not in self._matches:
            self._matches[key] = _resolve(provider, model)
        return self._matches[key]


def _override_rank(ov: Override) -> tuple[int, int]:
    """Best first: most specific, then newest ``valid_from`` (none = oldest)."""
    return (-ov.specificity, -(ov.valid_from_ms if ov.valid_from_ms is not None else -(2**62)))


def _resolve(provider: str, model: str) -> _Match | None:
    pid = provider.strip().lower()
    ref = model.strip().lower()
    if not ref or pid in LOCAL_PROVIDERS:
        return None
    tries: list[tuple[gp.Provider, str, bool]] = []
    table_provider, guessed = _table_provider(pid)
    if table_provider is not None:
        tries.append((table_provider, ref, guessed))
    bare = ref
    split = _split_vendor(ref)
    if split is not None:
        vendor, bare = split
        vendor_provider, _ = _table_provider(vendor)
        if vendor_provider is not None:
            tries.append((vendor_provider, bare, True))
    for candidate in dict.fromkeys((ref, bare)):
        for p in _TABLE:
            if p.model_match is not None and p.model_match.is_match(candidate):
                tries.append((p, candidate, True))
                break
    for table_p, table_ref, fuzzy in tries:
        info = table_p.find_model(table_ref, all_providers=_TABLE)
        if info is not None:
            loose = fuzzy or _canonical(table_ref) != _canonical(info.id)
            return _Match(info, loose, _day_bounds(info))
    return None


def _table_provider(pid: str) -> tuple[gp.Provider | None, bool]:
    """The table provider for an OpenClaw provider id, and whether it was only guessed."""
    exact = _BY_ID.get(PROVIDER_ALIASES.get(pid, pid))
    if exact is not None:
        return exact, False
    return find_provider_by_id(_TABLE, pid), True


def _split_vendor(ref: str) -> tuple[str, str] | None:
    if "/" in ref:
        vendor, _, rest = ref.partition("/")
        return (vendor, rest) if vendor and rest else None
    found = _BEDROCK_PREFIX.match(ref)
    return (found.group(1), found.group(2)) if found else None


def _canonical(model_id: str) -> str:
    bare = _REGION_PREFIX.sub("", model_id.lower())
    return _VARIANT_SUFFIX.sub("", bare.replace(".", "-"))


def _day_bounds(info: gp.ModelInfo) -> tuple[int, ...]:
    if isinstance(info.prices, gp.ModelPrice):
        return ()
    bounds: set[int] = set()
    for conditional in info.prices:
        constraint = conditional.constraint
        if isinstance(constraint, gp.TimeOfDateConstraint):
            for moment in (constraint.start_time, constraint.end_time):
                utc = (
                    datetime.combine(date(1970, 1, 1), moment).astimezone(UTC).timetz()
                    if moment.tzinfo is not None
                    else moment
                )
                ms = ((utc.hour * 60 + utc.minute) * 60 + utc.second) * 1000
                bounds.add(ms + utc.microsecond // 1000)
    return tuple(sorted(bounds - {0}))


def _segments(prices: gp.ModelPrice) -> tuple[_Segment, ...]:
    """Flatten a genai-prices ModelPrice into per-tier rates for our four token kinds.

    Mirrors genai-prices' leaf rule: an unpriced cache read or cache write is charged at the
    input price (it is counted inside input). Other units (audio, images, searches) have no
    usage in a transcript and cost nothing; a per-request price applies to calls with tokens.
    """
    raw = prices.__dict__
    keys = ("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok", "requests_kcount")
    values = [raw.get(k) for k in keys]
    starts = {t.start for v in values if isinstance(v, gp.TieredPrices) for t in v.tiers}
    segments: list[_Segment] = []
    for bound in sorted(starts | {-1}, reverse=True):
        prompt = bound + 1  # a prompt size inside this segment
        p_in, p_out, p_cr, p_cw, p_req = (_at(v, prompt) for v in values)
        segments.append(
            (
                bound,
                float(p_in or 0),
                float(p_out or 0),
                float(p_cr if p_cr is not None else p_in or 0),
                float(p_cw if p_cw is not None else p_in or 0),
                float(p_req / 1000) if p_req is not None else 0.0,
            )
        )
    return tuple(segments)


def _at(price: object, prompt_tokens: int) -> Decimal | None:
    """The rate of one price at a prompt size (genai-prices' cliff tiers)."""
    if isinstance(price, gp.TieredPrices):
        for tier in reversed(price.tiers):
            if prompt_tokens > tier.start:
                return tier.price
        return price.base
    return price if isinstance(price, Decimal) else None
