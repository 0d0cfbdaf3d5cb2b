"""Re-pricing stored calls (ingestor.reprice) on SQLite and, when configured, PostgreSQL."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, func, select

from ingestor import rollups
from ingestor.db import make_engine
from ingestor.overrides import Override
from ingestor.pricing import Pricer, decide_cost
from ingestor.reprice import reprice
from ingestor.schema import metadata, usage, usage_hourly

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
HOUR = 3_600_000
LOGGED_COLUMNS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


def _sqlite(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'telemetry.db'}")
    metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """SQLite, and PostgreSQL (marked ``postgres``) through conftest's ``db_url``: a fresh
    database per test session on TELEMETRY_TEST_PG_URL's server, emptied per test, skipped
    with the reason when the server is unreachable."""
    engine = make_engine(db_url)
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def call_row(
    n: int,
    ts: int,
    session: str,
    provider: str,
    model: str,
    tokens: tuple[int, int, int, int],
    logged: float | None,
    pricer: Pricer,
) -> dict[str, Any]:
    """A usage row with its cost columns as the ingestor writes them."""
    tin, out, cr, cw = tokens
    d = decide_cost(logged, pricer.quote(provider, model, ts, tin, out, cr, cw))
    return {
        "entry_id": f"{n:08x}",
        "ts_ms": ts,
        "session_id": session,
        "host_id": "h1",
        "agent_id": "main",
        "provider": provider,
        "model": model,
        "failed": False,
        "input_tokens": tin,
        "output_tokens": out,
        "cache_read_tokens": cr,
        "cache_write_tokens": cw,
        "total_tokens": tin + out + cr + cw,
        "logged_cost": logged,
        "priced_cost": d.priced_cost,
        "cost": d.cost,
        "cost_source": d.cost_source,
        "price_model": d.price_model,
        "price_fuzzy": d.price_fuzzy,
        "cache_savings": d.cache_savings,
        "zero_cost_with_price": d.zero_cost_with_price,
        "cost_mismatch": d.cost_mismatch,
        "warning": False,
    }


def sample_rows(pricer: Pricer) -> list[dict[str, Any]]:
    specs = [
        ("s1", "anthropic", "claude-sonnet-4-5", (1000, 500, 20000, 1000), 0.02025),
        ("s1", "anthropic", "claude-sonnet-4-5", (10, 5, 0, 0), None),
        ("s1", "ollama", "llama3.3:70b", (4000, 800, 0, 0), 0.0),
        ("s2", "ollama", "llama3.3:70b", (2000, 100, 0, 0), None),
        ("s2", "google", "gemini-2.5-pro", (2000, 500, 8000, 0), 0.0085),
        ("s2", "custom", "mystery-model", (100, 100, 0, 0), 0.07),
    ]
    rows = []
    for n in range(60):
        session, provider, model, tokens, logged = specs[n % len(specs)]
        ts = T0 + (n // 6) * HOUR + (n % 6) * 60_000
        rows.append(call_row(n, ts, session, provider, model, tokens, logged, pricer))
    return rows


def load(conn: Connection, rows: list[dict[str, Any]]) -> None:
    conn.execute(usage.insert(), rows)
    rollups.rebuild_all(conn)


def rollup_rows(conn: Connection) -> list[tuple[Any, ...]]:
    cols = usage_hourly.c
    order = (cols.hour_ms, cols.session_id, cols.provider, cols.model)
    return [tuple(r) for r in conn.execute(select(usage_hourly).order_by(*order))]


def assert_rollups_exact(conn: Connection) -> None:
    kept = rollup_rows(conn)
    rollups.rebuild_all(conn)
    fresh = rollup_rows(conn)
    assert len(kept) == len(fresh)
    for a, b in zip(kept, fresh, strict=True):
        for x, y in zip(a, b, strict=True):
            assert x == (pytest.approx(y, rel=1e-12, abs=1e-12) if isinstance(y, float) else y)


def test_reprice_without_changes_changes_nothing(engine: Engine) -> None:
    with engine.begin() as conn:
        load(conn, sample_rows(Pricer()))
        result = reprice(conn, Pricer())
    assert (result.calls, result.changed) == (60, 0)


def test_reprice_after_adding_an_override(engine: Engine) -> None:
    with engine.begin() as conn:
        load(conn, sample_rows(Pricer()))
        before = {r.entry_id: r for r in conn.execute(select(usage))}
        ollama_hour = conn.execute(
            select(func.sum(usage_hourly.c.cost)).where(usage_hourly.c.provider == "ollama")
        ).scalar_one()
        assert ollama_hour == 0

        pricer = Pricer([Override("ollama", "llama3.3:70b", 0.5, 1.5, 0.5, 0.5)])
        result = reprice(conn, pricer)
        assert (result.calls, result.changed) == (60, 20)

        after = {r.entry_id: r for r in conn.execute(select(usage))}
        for entry_id, row in after.items():
            old = before[entry_id]
            for col in (*LOGGED_COLUMNS, "logged_cost", "ts_ms", "session_id"):
                assert getattr(row, col) == getattr(old, col)
            if row.provider == "ollama":
                expected = (row.input_tokens * 0.5 + row.output_tokens * 1.5) / 1e6
                assert (row.cost_source, row.price_model, row.price_fuzzy) == (
                    "override",
                    "llama3.3:70b",
                    False,
                )
                assert row.cost == pytest.approx(expected, abs=1e-15)
                assert row.priced_cost == row.cost
                assert row.zero_cost_with_price is True
                assert old.cost_source == "unknown"
            else:
                assert tuple(row) == tuple(old)

        by_provider = dict(
            conn.execute(
                select(usage_hourly.c.provider, func.sum(usage_hourly.c.cost)).group_by(
                    usage_hourly.c.provider
                )
            ).all()
        )
        assert by_provider["ollama"] == pytest.approx(
            10 * (4000 * 0.5 + 800 * 1.5) / 1e6 + 10 * (2000 * 0.5 + 100 * 1.5) / 1e6
        )
        assert_rollups_exact(conn)

        # Removing the override again restores the original values.
        again = reprice(conn, Pricer())
        assert again.changed == 20
        restored = {r.entry_id: tuple(r) for r in conn.execute(select(usage))}
        assert restored == {k: tuple(v) for k, v in before.items()}
        assert_rollups_exact(conn)


def test_reprice_respects_the_half_open_range(engine: Engine) -> None:
    with engine.begin() as conn:
        load(conn, sample_rows(Pricer()))
        pricer = Pricer([Override("*", "*", 1.0, 1.0, 1.0, 1.0)])
        result = reprice(conn, pricer, since_ms=T0 + 2 * HOUR, until_ms=T0 + 5 * HOUR)
        assert (result.calls, result.changed) == (18, 18)
        rows = conn.execute(select(usage.c.ts_ms, usage.c.cost_source)).all()
        for ts, source in rows:
            inside = T0 + 2 * HOUR <= ts < T0 + 5 * HOUR
            assert (source == "override") is inside
        assert_rollups_exact(conn)


def test_paging_with_ties_reads_every_row_once(engine: Engine) -> None:
    pricer = Pricer()
    rows = []
    stamps = [T0] * 7 + [T0 + 1] * 2 + [T0 + 2] + [T0 + 3] * 5 + [T0 + HOUR] * 3
    for n, ts in enumerate(stamps):
        rows.append(
            call_row(n, ts, "s", "anthropic", "claude-haiku-4-5", (10, 10, 0, 0), 1.0, pricer)
        )
    with engine.begin() as conn:
        load(conn, rows)
        override = Pricer([Override("anthropic", "*", 1.0, 1.0, 1.0, 1.0)])
        for batch in (1, 2, 3, 4, 7, 50):
            result = reprice(conn, override if batch % 2 else pricer, batch=batch)
            assert result.calls == len(stamps)
            assert result.changed == len(stamps)
        assert_rollups_exact(conn)


@pytest.mark.slow
def test_reprice_throughput(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """1,000,000 calls in a SQLite file (TELEMETRY_BENCH_ROWS to change): rows per second."""
    total = int(os.environ.get("TELEMETRY_BENCH_ROWS", "1000000"))
    engine = next(_sqlite(tmp_path))
    rng = random.Random(3)
    models = [
        ("anthropic", "claude-sonnet-4-5"),
        ("anthropic", "claude-opus-4-6"),
        ("openai", "gpt-5.2"),
        ("google", "gemini-2.5-pro"),
        ("openrouter", "anthropic/claude-sonnet-4-5"),
        ("ollama", "llama3.3:70b"),
    ]
    base = Pricer()
    with engine.begin() as conn:
        chunk: list[dict[str, Any]] = []
        for n in range(total):
            session = n // 400  # sessions of 400 calls, one every 15 s
            provider, model = models[session % len(models)]
            ts = T0 + session * 1_800_000 + (n % 400) * 15_000
            tokens = (rng.randrange(5000), rng.randrange(2000), rng.randrange(80_000), 0)
            logged = None if n % 5 == 0 else rng.random() / 10
            chunk.append(call_row(n, ts, f"s{session}", provider, model, tokens, logged, base))
            if len(chunk) == 50_000:
                conn.execute(usage.insert(), chunk)
                chunk = []
        if chunk:
            conn.execute(usage.insert(), chunk)
        rollups.rebuild_all(conn)
    pricer = Pricer([Override("anthropic", "*", 2.0, 10.0, 0.2, 2.5)])
    with engine.begin() as conn:
        started, cpu = time.perf_counter(), time.process_time()
        result = reprice(conn, pricer)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert result.calls == total
    with engine.begin() as conn:
        started = time.perf_counter()
        unchanged = reprice(conn, pricer)
        elapsed_same = time.perf_counter() - started
    assert unchanged.changed == 0
    with capsys.disabled():
        print(
            f"\nreprice: {total:,} rows, {result.changed:,} changed in {elapsed:.1f}s "
            f"= {total / elapsed:,.0f} rows/s ({total / cpu:,.0f} per CPU second); "
            f"nothing changed: {total / elapsed_same:,.0f} rows/s"
        )
    engine.dispose()
