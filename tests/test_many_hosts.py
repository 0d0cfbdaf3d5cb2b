"""Many hosts, one PostgreSQL database: two ingestors with different host ids read at the same
time (each its own state dir, sharing copies of some sessions) and the totals are exactly
those of one ingestor reading both, with exact rollups."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from ingestor.config import IngestSettings
from ingestor.daemon import build
from ingestor.demo import DemoOptions, generate
from ingestor.reports import make_range, summary


def _totals(url: str) -> tuple[dict, tuple]:  # type: ignore[type-arg]
    from ingestor.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        s = summary(conn, make_range(None, None, "UTC"))
        roll = conn.execute(
            text(
                "SELECT SUM(llm_calls), SUM(input_tokens), SUM(cache_read_tokens) FROM model_hourly"
            )
        ).one()
        base = conn.execute(
            text("SELECT COUNT(*), SUM(input_tokens), SUM(cache_read_tokens) FROM usage")
        ).one()
    engine.dispose()
    assert tuple(int(x) for x in roll) == tuple(int(x) for x in base)
    s.pop("logged_cost_usd")
    s.pop("cost_usd")
    return s, tuple(int(x) for x in base)


@pytest.mark.postgres
def test_two_hosts_at_once_equal_one_reader(tmp_path: Path, pg_url: str, sqlite_url: str) -> None:
    a, b = tmp_path / "host-a", tmp_path / "host-b"
    generate(a, DemoOptions(seed=21, days=3))
    generate(b, DemoOptions(seed=22, days=3, agents=("main", "ops")))
    # host b also has copies of a's main-agent transcripts (a synced folder): counted once
    shared = b / "agents" / "shared" / "sessions"
    shutil.copytree(a / "agents" / "main" / "sessions", shared)

    errors: list[BaseException] = []

    def run(src: Path, host: str) -> None:
        try:
            engine, pipe = build(
                IngestSettings(db_url=pg_url, sources=(src,), host_id=host, batch_lines=300)
            )
            pipe.run_pass([src])
            engine.dispose()
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=(a, "a")),
        threading.Thread(target=run, args=(b, "b")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []

    for src in (a, b):  # one reader, one database: the reference
        engine, pipe = build(IngestSettings(db_url=sqlite_url, sources=(src,), host_id="one"))
        pipe.run_pass([src])
        engine.dispose()
    many, many_base = _totals(pg_url)
    one, one_base = _totals(sqlite_url)
    assert many == one
    assert many_base == one_base
