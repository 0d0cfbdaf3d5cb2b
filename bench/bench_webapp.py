"""Callback latency of every page at 1 million calls: p50 / p95 (ms) per callback for a
30-day range and for all time, measured server-side by calling the callbacks directly (what
a browser request costs minus the network and JSON).

    .venv/bin/python bench/bench_webapp.py [--calls 1000000] [--days 365] [--repeat 15]
    .venv/bin/python bench/bench_webapp.py --pg postgresql://postgres@127.0.0.1:5432/bench

The database is seeded once into bench-data/webapp-<calls>.sqlite and reused. With ``--pg``
the same rows are copied (``COPY``) into that PostgreSQL database once (it is created when
missing, migrated, then analyzed) and the callbacks run against it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from webapp_seed import LARGE_NOW_MS, create_schema, seed_large  # noqa: E402

from ingestor import rollups  # noqa: E402
from ingestor.config import ServeSettings  # noqa: E402
from webapp.context import AppContext, set_context  # noqa: E402
from webapp.pages import alerts, cron, models, overview, session, sessions, timeline, tools  # noqa: E402
from webapp.state import ViewState  # noqa: E402


def ensure_db(calls: int, days: int) -> Path:
    path = ROOT / "bench-data" / f"webapp-{calls}.sqlite"
    if path.exists():
        return path
    tmp = path.with_suffix(".tmp.sqlite")
    t0 = time.perf_counter()
    engine = create_schema(tmp)
    counts = seed_large(engine, calls=calls, days=days)
    with engine.begin() as conn:
        # planner statistics, as the ingestor's periodic PRAGMA optimize keeps them
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    tmp.rename(path)
    for ext in ("-wal", "-shm"):
        Path(str(tmp) + ext).unlink(missing_ok=True)
    print(f"seeded {path} in {time.perf_counter() - t0:.0f} s: {counts}", flush=True)
    return path


COPIED = ("sessions", "messages", "usage", "tool_calls", *rollups.ALL_ROLLUPS)


def ensure_pg(url: str, sqlite_db: Path) -> str:
    """The bench rows in PostgreSQL at ``url`` (created, migrated and filled when empty)."""
    import sqlite3

    import psycopg
    from sqlalchemy.engine import make_url

    from ingestor import migrate
    from ingestor.db import make_engine

    u = make_url(url)
    admin = u.set(database="postgres").render_as_string(hide_password=False)
    admin = admin.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (u.database,)
        ).fetchone():
            conn.execute(f'CREATE DATABASE "{u.database}"')
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    plain = u.render_as_string(hide_password=False).replace(
        "postgresql+psycopg://", "postgresql://"
    )
    with psycopg.connect(plain) as pg:
        if pg.execute("SELECT COUNT(*) FROM usage").fetchone()[0]:  # type: ignore[index]
            return url
        t0 = time.perf_counter()
        src = sqlite3.connect(f"file:{sqlite_db}?mode=ro", uri=True)
        for table in COPIED:
            cols = [r[1] for r in src.execute(f"PRAGMA table_info({table})")]
            with pg.cursor().copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as cp:
                for row in src.execute(f"SELECT {', '.join(cols)} FROM {table}"):
                    cp.write_row(row)
        pg.commit()
        pg.autocommit = True
        pg.execute("ANALYZE")
        print(f"copied into {u.database} in {time.perf_counter() - t0:.0f} s", flush=True)
    return url


def callbacks(session_id: str) -> dict[str, Callable[[dict[str, Any]], Any]]:
    return {
        "overview.cards": lambda s: overview.render_cards(s),
        "overview.charts": lambda s: overview.render_charts(s),
        "timeline": lambda s: timeline.render(s),
        "models": lambda s: models.render(s),
        "tools.summary": lambda s: tools.render_summary(s),
        "tools.trends": lambda s: tools.render_trends(s),
        "tools.recent": lambda s: tools.render_recent("exec", s),
        "sessions": lambda s: sessions.render(s),
        "session": lambda s: session.render(session_id, s),
        "cron": lambda s: cron.render(s),
        "alerts": lambda s: alerts.render(s, 0, False, 0),
    }


def measure(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    fn()  # warm-up (page cache, plans)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return statistics.median(times), p95


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--pg", help="run against this PostgreSQL database (filled once)")
    args = ap.parse_args()
    db = ensure_db(args.calls, args.days)
    url = ensure_pg(args.pg, db) if args.pg else f"sqlite:///{db}"
    settings = ServeSettings(db_url=url, query_timeout_ms=10_000)
    ctx = AppContext(settings=settings, default_tz="UTC", clock=lambda: LARGE_NOW_MS)
    set_context(ctx)
    with ctx.engine().connect() as c:
        from sqlalchemy import text

        # a busy session for the session page
        sid = c.execute(
            text(
                "SELECT session_id FROM usage_hourly GROUP BY session_id "
                "ORDER BY SUM(llm_calls) DESC LIMIT 1"
            )
        ).scalar()
    where = args.pg or f"{db} ({db.stat().st_size / 1e6:.0f} MB)"
    print(f"database: {where}, session page: {sid}")
    print(f"{'callback':18} {'30d p50':>9} {'30d p95':>9} {'all p50':>9} {'all p95':>9}")
    worst = {"30d": 0.0, "all": 0.0}
    for name, fn in callbacks(str(sid)).items():
        cells = []
        for rng in ("30d", "all"):
            st = ViewState(range=rng, tz="UTC").to_dict()
            p50, p95 = measure(lambda fn=fn, st=st: fn(st), args.repeat)
            worst[rng] = max(worst[rng], p95)
            cells += [p50, p95]
        print(f"{name:18} " + " ".join(f"{v:9.1f}" for v in cells), flush=True)
    print(
        f"worst p95: 30 days {worst['30d']:.1f} ms (budget 100), "
        f"all time {worst['all']:.1f} ms (budget 300)"
    )


if __name__ == "__main__":
    main()
