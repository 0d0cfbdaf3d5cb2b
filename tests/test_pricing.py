"""Prices of calls (ingestor.pricing) and the overrides file (ingestor.overrides)."""

from __future__ import annotations

import random
import warnings
from datetime import UTC, datetime
from pathlib import Path

import pytest
from genai_prices import Usage, calc_price
from genai_prices.data import providers as table

from ingestor.overrides import Override, OverrideError, load_overrides, parse_overrides
from ingestor.pricing import Pricer, Quote, _segments, decide_cost


def ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp() * 1000)


JAN_2026 = ms(2026, 1, 1, 12)
TOL = 1e-12


def table_price(
    provider: str, model: str, ts_ms: int, tin: int, out: int, cr: int, cw: int
) -> float:
    """genai-prices' own answer, with its input counting cached tokens (accounting.md §5)."""
    usage = Usage(
        input_tokens=tin + cr + cw, output_tokens=out, cache_read_tokens=cr, cache_write_tokens=cw
    )
    when = datetime.fromtimestamp(ts_ms / 1000, UTC)
    return float(
        calc_price(usage, model, provider_id=provider, genai_request_timestamp=when).total_price
    )


def quote(pricer: Pricer, *args: object) -> Quote:
    q = pricer.quote(*args)  # type: ignore[arg-type]
    assert q is not None
    return q


# -- the price table ---------------------------------------------------------------------


def test_sonnet_4_5_list_prices_by_hand() -> None:
    q = quote(Pricer(), "anthropic", "claude-sonnet-4-5", JAN_2026, 1000, 500, 20000, 1000)
    by_hand = (1000 * 3 + 500 * 15 + 20000 * 0.30 + 1000 * 3.75) / 1e6
    assert by_hand == pytest.approx(0.02025, abs=TOL)
    assert abs(q.cost - by_hand) < TOL
    assert (
        abs(
            q.cost - table_price("anthropic", "claude-sonnet-4-5", JAN_2026, 1000, 500, 20000, 1000)
        )
        < TOL
    )
    assert (q.source, q.matched_model, q.fuzzy) == ("table", "claude-sonnet-4-5", False)
    assert (q.input_per_mtok, q.cache_read_per_mtok) == (3.0, 0.3)
    assert abs(q.cache_savings - 20000 * (3 - 0.3) / 1e6) < TOL
    assert q.total_tokens == 22500
    # Each component alone (100k tokens: below the 200k long-context tier).
    p = Pricer()
    k = 100_000
    for tokens, per_mtok in (
        ((k, 0, 0, 0), 3.0),
        ((0, k, 0, 0), 15.0),
        ((0, 0, k, 0), 0.30),
        ((0, 0, 0, k), 3.75),
    ):
        cost = quote(p, "anthropic", "claude-sonnet-4-5", JAN_2026, *tokens).cost
        assert abs(cost - per_mtok * k / 1e6) < TOL


def test_dated_model_id_is_the_same_model() -> None:
    q = quote(Pricer(), "anthropic", "claude-sonnet-4-5-20250929", JAN_2026, 1000, 500, 20000, 1000)
    assert (q.matched_model, q.fuzzy) == ("claude-sonnet-4-5", False)
    assert abs(q.cost - 0.02025) < TOL


def test_long_context_tier_applies_to_every_token() -> None:
    # Above 200k prompt tokens (input + cache) sonnet-4-5 costs 6 / 22.5 / 0.6 / 7.5.
    q = quote(Pricer(), "anthropic", "claude-sonnet-4-5", JAN_2026, 1000, 500, 200_000, 1000)
    by_hand = (1000 * 6 + 500 * 22.5 + 200_000 * 0.6 + 1000 * 7.5) / 1e6
    assert abs(q.cost - by_hand) < TOL
    assert (q.input_per_mtok, q.cache_read_per_mtok) == (6.0, 0.6)
    ref = table_price("anthropic", "claude-sonnet-4-5", JAN_2026, 1000, 500, 200_000, 1000)
    assert abs(q.cost - ref) < TOL


def test_price_change_by_date_in_the_table() -> None:
    # claude-sonnet-4-6 dropped its long-context tier on 2026-03-13 (a StartDateConstraint).
    p = Pricer()
    tokens = (100_000, 1000, 150_000, 0)  # 250k prompt tokens: in the tier before the change
    before = quote(p, "anthropic", "claude-sonnet-4-6", ms(2026, 3, 12, 23, 59), *tokens)
    after = quote(p, "anthropic", "claude-sonnet-4-6", ms(2026, 3, 13, 0, 1), *tokens)
    assert abs(before.cost - (100_000 * 6 + 1000 * 22.5 + 150_000 * 0.6) / 1e6) < TOL
    assert abs(after.cost - (100_000 * 3 + 1000 * 15 + 150_000 * 0.3) / 1e6) < TOL
    for ts, q in ((ms(2026, 3, 12, 23, 59), before), (ms(2026, 3, 13, 0, 1), after)):
        assert abs(q.cost - table_price("anthropic", "claude-sonnet-4-6", ts, *tokens)) < TOL


def test_time_of_day_prices_follow_the_table() -> None:
    # deepseek-chat has an off-peak price by UTC time of day; every minute boundary counts.
    p = Pricer()
    day = ms(2026, 2, 2)
    for minute in (0, 29, 30, 31, 600, 989, 990, 991, 1439):
        ts = day + minute * 60_000 + 59_999
        q = quote(p, "deepseek", "deepseek-chat", ts, 5000, 700, 3000, 0)
        assert abs(q.cost - table_price("deepseek", "deepseek-chat", ts, 5000, 700, 3000, 0)) < TOL
    peak = quote(p, "deepseek", "deepseek-chat", day + 3_600_000, 10**6, 0, 0, 0)
    off = quote(p, "deepseek", "deepseek-chat", day + 17 * 3_600_000, 10**6, 0, 0, 0)
    assert peak.cost != off.cost


def test_google_call_priced_from_normalized_input() -> None:
    # Google logs input=10,000 including 8,000 cache reads; the caller normalized it to 2,000.
    q = quote(Pricer(), "google", "gemini-2.5-pro", JAN_2026, 2000, 500, 8000, 0)
    by_hand = (2000 * 1.25 + 500 * 10 + 8000 * 0.125) / 1e6
    assert abs(q.cost - by_hand) < TOL
    usage = Usage(input_tokens=10_000, output_tokens=500, cache_read_tokens=8000)
    when = datetime(2026, 1, 1, 12, tzinfo=UTC)
    ref = calc_price(usage, "gemini-2.5-pro", provider_id="google", genai_request_timestamp=when)
    assert abs(q.cost - float(ref.total_price)) < TOL
    assert abs(q.cache_savings - 8000 * (1.25 - 0.125) / 1e6) < TOL


def test_zero_token_call_costs_nothing_even_with_a_request_price() -> None:
    p = Pricer()
    assert quote(p, "perplexity", "sonar", JAN_2026, 0, 0, 0, 0).cost == 0
    q = quote(p, "perplexity", "sonar", JAN_2026, 1000, 1000, 0, 0)
    assert abs(q.cost - (2000 / 1e6 + 12 / 1000)) < TOL


def test_fast_path_equals_genai_prices_for_the_whole_table() -> None:
    """Our flattened per-mtok rates give genai-prices' answer for every model, date and tier."""
    rng = random.Random(7)
    sizes = [0, 1, 999, 150_000, 250_000, 1_200_000]
    checked = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for provider in table:
            for model in provider.models:
                when = datetime(rng.choice([2024, 2025, 2026]), rng.randint(1, 12), 3, tzinfo=UTC)
                tin, out, cr, cw = (rng.choice(sizes) for _ in range(4))
                if tin + out + cr + cw == 0:
                    out = 1
                usage = Usage(
                    input_tokens=tin + cr + cw,
                    output_tokens=out,
                    cache_read_tokens=cr,
                    cache_write_tokens=cw,
                )
                ref = float(
                    model.calc_price(usage, provider, genai_request_timestamp=when).total_price
                )
                segs = _segments(model.get_prices(when))
                seg = next(s for s in segs if tin + cr + cw > s[0])
                mine = (tin * seg[1] + out * seg[2] + cr * seg[3] + cw * seg[4]) / 1e6 + seg[5]
                assert mine == pytest.approx(ref, rel=1e-9, abs=1e-12), (provider.id, model.id)
                checked += 1
    assert checked > 2000


# -- provider mapping --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "model", "matched", "fuzzy"),
    [
        ("anthropic", "claude-opus-4-5", "claude-opus-4-5", False),
        ("ANTHROPIC", "Claude-Opus-4-5", "claude-opus-4-5", False),
        ("openai-codex", "gpt-5.2", "gpt-5.2", False),
        ("google-vertex", "gemini-2.5-flash", "gemini-2.5-flash", False),
        ("openrouter", "anthropic/claude-sonnet-4.5", "anthropic/claude-sonnet-4.5", False),
        (
            "openrouter",
            "anthropic/claude-sonnet-4-5",
            "claude-sonnet-4-5",
            True,
        ),  # vendor/ stripped
        ("my-gateway", "claude-opus-4-5", "claude-opus-4-5", True),  # provider guessed by model
        ("github-copilot", "claude-sonnet-4.5", "claude-sonnet-4-5", True),  # not in its table
        ("amazon-bedrock", "global.anthropic.claude-sonnet-4-5-20250929-v1:0", None, False),
        ("openai", "gpt-5.2-codex", "gpt-5.2", True),  # a variant matched by prefix
    ],
)
def test_provider_mapping(provider: str, model: str, matched: str | None, fuzzy: bool) -> None:
    found = Pricer().table_match(provider, model)
    assert found is not None
    if matched is not None:
        assert found == (matched, fuzzy)
    else:
        assert found[1] is fuzzy


@pytest.mark.parametrize(
    ("provider", "model"),
    [
        ("ollama", "llama3.3:70b"),
        ("ollama", "claude-sonnet-4-5"),
        ("custom", "my-finetune"),
        ("", ""),
    ],
)
def test_unknown_models_have_no_quote(provider: str, model: str) -> None:
    assert Pricer().quote(provider, model, JAN_2026, 100, 100, 0, 0) is None


# -- decide_cost -------------------------------------------------------------------------


def test_unknown_model_is_unknown_at_zero() -> None:
    d = decide_cost(None, Pricer().quote("custom", "my-finetune", JAN_2026, 100, 10, 0, 0))
    assert (d.cost, d.cost_source, d.priced_cost, d.price_model, d.cache_savings) == (
        0.0,
        "unknown",
        None,
        None,
        None,
    )
    assert not d.zero_cost_with_price
    assert not d.cost_mismatch
    assert decide_cost(0.0, None).cost_source == "unknown"
    logged_only = decide_cost(0.42, None)
    assert (logged_only.cost, logged_only.cost_source, logged_only.priced_cost) == (
        0.42,
        "logged",
        None,
    )


def test_logged_cost_wins_over_the_table() -> None:
    q = quote(Pricer(), "anthropic", "claude-sonnet-4-5", JAN_2026, 1000, 500, 20000, 1000)
    d = decide_cost(0.0203, q)
    assert (d.cost, d.cost_source, d.priced_cost, d.price_model, d.price_fuzzy) == (
        0.0203,
        "logged",
        q.cost,
        "claude-sonnet-4-5",
        False,
    )
    assert not d.cost_mismatch
    assert not d.zero_cost_with_price
    assert d.cache_savings == q.cache_savings


@pytest.mark.parametrize("logged", [0.0, None])
def test_zero_logged_cost_with_a_known_price_is_priced_and_flagged(logged: float | None) -> None:
    q = quote(Pricer(), "anthropic", "claude-sonnet-4-5", JAN_2026, 1000, 500, 20000, 1000)
    d = decide_cost(logged, q)
    assert (d.cost, d.cost_source, d.zero_cost_with_price, d.cost_mismatch) == (
        q.cost,
        "priced",
        True,
        False,
    )
    # A free model (price 0) logged at 0 is consistent: no flag.
    free = Pricer([Override("ollama", "*", 0, 0, 0, 0)])
    assert not decide_cost(
        logged, free.quote("ollama", "x", JAN_2026, 10, 10, 0, 0)
    ).zero_cost_with_price


def test_mismatch_flag_beyond_five_percent() -> None:
    q = quote(Pricer(), "anthropic", "claude-sonnet-4-5", JAN_2026, 1000, 500, 20000, 1000)
    assert q.cost == pytest.approx(0.02025)
    assert decide_cost(0.02025 * 1.06, q).cost_mismatch
    assert decide_cost(0.02025 * 0.94, q).cost_mismatch
    assert not decide_cost(0.02025 * 1.04, q).cost_mismatch
    assert not decide_cost(0.02025 * 0.96, q).cost_mismatch
    assert decide_cost(0.02025 * 1.06, q).cost_source == "logged"


# -- overrides ---------------------------------------------------------------------------


def test_override_wins_over_logged_cost() -> None:
    p = Pricer([Override("anthropic", "claude-sonnet-4-5", 1.0, 5.0, 0.1, 1.25)])
    q = quote(p, "anthropic", "claude-sonnet-4-5", JAN_2026, 1000, 500, 20000, 1000)
    assert q.source == "override"
    by_hand = (1000 * 1.0 + 500 * 5.0 + 20000 * 0.1 + 1000 * 1.25) / 1e6
    assert abs(q.cost - by_hand) < TOL
    d = decide_cost(0.5, q)
    assert (d.cost, d.cost_source, d.priced_cost, d.price_model, d.price_fuzzy) == (
        q.cost,
        "override",
        q.cost,
        "claude-sonnet-4-5",
        False,
    )
    assert d.cost_mismatch  # 0.5 logged vs ~0.00675 list price
    assert abs(d.cache_savings - 20000 * 0.9 / 1e6) < TOL  # type: ignore[operator]


def test_override_price_change_over_time(tmp_path: Path) -> None:
    path = tmp_path / "prices.toml"
    path.write_text(
        """
[[price]]
provider = "Ollama"
model = "llama3.3:70b"
input = 0.5
output = 1.0

[[price]]
provider = "ollama"
model = "llama3.3:70b"
input = 1.0
output = 2.0
cache_read = 0.25
valid_from = 2026-02-01

[[price]]
provider = "ollama"
model = "LLAMA3.3:70b"
input = 2.0
output = 4.0
valid_from = 2026-03-01T12:00:00+02:00
""",
        encoding="utf-8",
    )
    p = Pricer(load_overrides(path))
    tokens = (10**6, 10**6, 10**6, 0)
    assert quote(p, "ollama", "llama3.3:70b", ms(2026, 1, 31, 23, 59), *tokens).cost == 2.0
    assert quote(p, "ollama", "llama3.3:70b", ms(2026, 2, 1), *tokens).cost == 3.25
    assert quote(p, "OLLAMA", "llama3.3:70b", ms(2026, 3, 1, 9, 59), *tokens).cost == 3.25
    assert quote(p, "ollama", "llama3.3:70b", ms(2026, 3, 1, 10), *tokens).cost == 8.0


def test_override_specificity_and_fallback_to_table() -> None:
    p = Pricer(
        [
            Override("*", "*", 100.0, 100.0, 100.0, 100.0, entry=1),
            Override("anthropic", "*", 50.0, 50.0, 50.0, 50.0, entry=2),
            Override("*", "claude-opus-4-5", 10.0, 10.0, 10.0, 10.0, entry=3),
            # A newer exact price that only starts in 2027: until then the table applies.
            Override("openai", "gpt-5.2", 1.0, 1.0, 1.0, 1.0, ms(2027, 1, 1), entry=4),
        ]
    )
    one = (10**6, 0, 0, 0)
    assert quote(p, "anthropic", "claude-opus-4-5", JAN_2026, *one).cost == 10.0
    assert quote(p, "anthropic", "claude-haiku-4-5", JAN_2026, *one).cost == 50.0
    wildcard = quote(p, "custom", "whatever", JAN_2026, *one)
    assert (wildcard.cost, wildcard.matched_model) == (100.0, "whatever")
    table_only = Pricer([Override("openai", "gpt-5.2", 1.0, 1.0, 1.0, 1.0, ms(2027, 1, 1))])
    q = quote(table_only, "openai", "gpt-5.2", JAN_2026, *one)
    assert (q.source, q.cost) == ("table", 1.75)
    assert quote(table_only, "openai", "gpt-5.2", ms(2027, 1, 2), *one).source == "override"


def test_override_defaults_cache_prices_to_input() -> None:
    [ov] = parse_overrides({"price": [{"provider": "x", "model": "y", "input": 2, "output": 3}]})
    assert (ov.cache_read, ov.cache_write, ov.valid_from_ms) == (2.0, 2.0, None)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('[[price]]\nprovider = "a"\nmodel = "b"\noutput = 1\n', "price entry 1: missing 'input'"),
        (
            '[[price]]\nprovider="a"\nmodel="b"\ninput=1\noutput=1\n'
            '[[price]]\nprovider="a"\nmodel="b"\ninput=-1\noutput=1\n',
            "price entry 2: 'input' must be a finite number >= 0",
        ),
        ('[[price]]\nprovider="a"\nmodel="b"\ninput="1"\noutput=1\n', "'input' must be a number"),
        ('[[price]]\nprovider="a"\nmodel="b"\ninput=1\noutput=nan\n', "'output' must be a finite"),
        ('[[price]]\nprovider="a"\nmodel="b"\ninput=true\noutput=1\n', "'input' must be a number"),
        ('[[price]]\nmodel="b"\ninput=1\noutput=1\n', "price entry 1: missing 'provider'"),
        (
            '[[price]]\nprovider=""\nmodel="b"\ninput=1\noutput=1\n',
            "'provider' must be a non-empty",
        ),
        ('[[price]]\nprovider="a"\nmodel="b"\ninput=1\nouput=1\n', "unknown key 'ouput'"),
        (
            '[[price]]\nprovider="a"\nmodel="b"\ninput=1\noutput=1\nvalid_from="2026-01-01"\n',
            "'valid_from' must be a TOML date",
        ),
        (
            '[[price]]\nprovider="a"\nmodel="b"\ninput=1\noutput=1\nvalid_from=12:00:00\n',
            "'valid_from' needs a date",
        ),
        (
            '[[price]]\nprovider="a"\nmodel="b"\ninput=1\noutput=1\nvalid_from=2026-01-01\n'
            '[[price]]\nprovider="A"\nmodel="B"\ninput=2\noutput=2\nvalid_from=2026-01-01\n',
            "price entry 2: same provider, model and valid_from as entry 1",
        ),
        ('[[prices]]\nprovider="a"\n', "unknown top-level key 'prices'"),
        ("price = 3\n", "'price' must be an array of tables"),
        ('[[price]]\nprovider = "a\n', "not valid TOML"),
    ],
)
def test_overrides_file_errors_are_one_clear_line(tmp_path: Path, body: str, expected: str) -> None:
    path = tmp_path / "prices.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(OverrideError) as info:
        load_overrides(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert expected in message


def test_missing_overrides_file(tmp_path: Path) -> None:
    with pytest.raises(OverrideError, match="cannot read the overrides file"):
        load_overrides(tmp_path / "nope.toml")


def test_empty_overrides_file(tmp_path: Path) -> None:
    path = tmp_path / "prices.toml"
    path.write_text("# nothing yet\n", encoding="utf-8")
    assert load_overrides(path) == []


@pytest.mark.slow
def test_quote_throughput(capsys: pytest.CaptureFixture[str]) -> None:
    """1e5 quotes over a few models and 90 days, with the per-(provider, model, day) cache warm."""
    import time

    rng = random.Random(0)
    models = [
        ("anthropic", "claude-sonnet-4-5"),
        ("anthropic", "claude-opus-4-6"),
        ("openai-codex", "gpt-5.2"),
        ("google", "gemini-2.5-pro"),
        ("openrouter", "anthropic/claude-sonnet-4-5"),
        ("deepseek", "deepseek-chat"),
        ("ollama", "llama3.3:70b"),
        ("custom", "mystery"),
    ]
    calls = [
        (
            *rng.choice(models),
            JAN_2026 + rng.randrange(90 * 86_400_000),
            rng.randrange(5000),
            rng.randrange(2000),
            rng.randrange(100_000),
            rng.randrange(5000),
        )
        for _ in range(100_000)
    ]
    pricer = Pricer([Override("ollama", "*", 0.1, 0.2, 0.1, 0.1)])
    started = time.perf_counter()
    for call in calls:
        pricer.quote(*call)
    cold = time.perf_counter() - started
    started = time.perf_counter()
    for call in calls:
        pricer.quote(*call)
    warm = time.perf_counter() - started
    with capsys.disabled():
        print(
            f"\nquotes: {len(calls) / warm:,.0f}/s cached, "
            f"{len(calls) / cold:,.0f}/s including the first lookups"
        )
    assert len(calls) / warm > 50_000
