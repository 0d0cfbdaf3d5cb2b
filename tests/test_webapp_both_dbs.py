"""Every dashboard callback on a database the real ingestor wrote, on SQLite and on
PostgreSQL: no error panel, no exception (dialect differences such as PostgreSQL's NUMERIC
sums), and the same overview numbers on both."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import plotly.utils
import pytest

from ingestor.config import IngestSettings, ServeSettings
from ingestor.daemon import build
from ingestor.demo import DemoOptions, generate
from webapp.context import AppContext, set_context
from webapp.pages import (
    alerts,
    costs,
    cron,
    logs,
    models,
    overview,
    session,
    sessions,
    timeline,
    tools,
)
from webapp.state import ViewState

NOW_MS = 1_760_000_000_000 + 30 * 86_400_000  # a fixed clock after the demo's last day
DEMO = DemoOptions(seed=5, days=4)

CALLBACKS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "overview.cards": lambda s: overview.render_cards(s),
    "overview.charts": lambda s: overview.render_charts(s),
    "timeline": lambda s: timeline.render(s),
    "models": lambda s: models.render(s),
    "costs": lambda s: costs.render(s),
    "tools.summary": lambda s: tools.render_summary(s),
    "tools.trends": lambda s: tools.render_trends(s),
    "tools.recent": lambda s: tools.render_recent("exec", s),
    "sessions": lambda s: sessions.render(s),
    "cron": lambda s: cron.render(s),
    "alerts": lambda s: alerts.render(s, 0, False, 0),
    "logs": lambda s: logs.render(s, ["WARN", "ERROR", "FATAL"], [], ""),
}
ERROR_MARKERS = ("cannot be read", "took too long", "Traceback")


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "state"
    generate(out, DEMO)
    return out


def _ingest(url: str, src: Path) -> None:
    engine, pipe = build(IngestSettings(db_url=url, sources=(src,), host_id="both"))
    pipe.run_pass([src])
    engine.dispose()


def _dump(out: Any) -> str:
    return json.dumps(out, cls=plotly.utils.PlotlyJSONEncoder, sort_keys=True)


def _render_all(url: str) -> dict[str, str]:
    settings = ServeSettings(db_url=url, query_timeout_ms=20_000)
    set_context(AppContext(settings=settings, default_tz="UTC", clock=lambda: NOW_MS))
    got: dict[str, str] = {}
    for tz in ("UTC", "Asia/Kolkata"):  # rollup path and raw path
        state = ViewState(range="all", tz=tz).to_dict()
        for name, fn in CALLBACKS.items():
            text = _dump(fn(state))
            for marker in ERROR_MARKERS:
                assert marker not in text, f"{name} ({tz}) shows an error: {text[:300]}"
            got[f"{name}@{tz}"] = text
    return got


def test_every_callback_on_sqlite_and_postgres(tmp_path: Path, demo_dir: Path, pg_url: str) -> None:
    sqlite_url = f"sqlite:///{tmp_path / 'both.sqlite'}"
    results = {}
    for url in (sqlite_url, pg_url):
        _ingest(url, demo_dir)
        results[url] = _render_all(url)
    a, b = results[sqlite_url], results[pg_url]
    compared = (
        "overview.cards@UTC",
        "overview.cards@Asia/Kolkata",
        "sessions@UTC",
        "sessions@Asia/Kolkata",
        "models@UTC",
        "cron@UTC",
        "cron@Asia/Kolkata",
        "alerts@UTC",
        "tools.summary@UTC",  # SQLite: percentiles in Python; PostgreSQL: percentile_cont
        "tools.summary@Asia/Kolkata",
    )
    for key in compared:
        # sums of floats may differ in the last bits between the two engines
        assert _rounded(json.loads(a[key])) == _rounded(json.loads(b[key])), key
    # the session page of a busy session renders on both
    for url in (sqlite_url, pg_url):
        set_context(AppContext(settings=ServeSettings(db_url=url), clock=lambda: NOW_MS))
        state = ViewState(range="all").to_dict()
        text = _dump(session.render(_busiest(url), state))
        assert not any(m in text for m in ERROR_MARKERS)


def _rounded(x: Any) -> Any:
    if isinstance(x, float):
        return round(x, 9)
    if isinstance(x, list):
        return [_rounded(v) for v in x]
    if isinstance(x, dict):
        return {k: _rounded(v) for k, v in x.items()}
    return x


def _busiest(url: str) -> str:
    from sqlalchemy import text

    from ingestor.db import make_engine

    with make_engine(url).connect() as conn:
        return str(
            conn.execute(
                text("SELECT session_id FROM usage GROUP BY session_id ORDER BY COUNT(*) DESC")
            ).first()[0]  # type: ignore[index]
        )
