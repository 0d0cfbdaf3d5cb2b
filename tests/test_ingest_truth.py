"""The real ingestor on a generated state dir (forks that copy their parent's calls, reset and
deleted archives, ``.zst``, quirk lines, ``sessions.json``) gives the generator's ground truth
exactly, on SQLite and PostgreSQL, whatever the batch size and the reading order; and every
rollup equals a rebuild from the base tables afterwards.

Small batches make most commits mix new rows with copies of stored ones (the store's mixed
path); reading the forks before their parents makes rows move to their earlier owner."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, bindparam, text

from ingestor import rollups
from ingestor.config import IngestSettings
from ingestor.daemon import build
from ingestor.demo import DemoOptions, Expected, generate
from ingestor.discover import classify_name
from ingestor.reports import make_range, summary

OPTIONS = DemoOptions(seed=5, days=4)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Expected]:
    out = tmp_path_factory.mktemp("truth") / "state"
    return out, generate(out, OPTIONS)


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _rollups(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    with engine.connect() as conn:
        for table in rollups.ALL_ROLLUPS:
            rows = conn.execute(text(f"SELECT * FROM {table}")).all()
            out[table] = sorted(
                tuple(round(float(v), 9) if isinstance(v, float) else v for v in r) for r in rows
            )
    return out


def _check(engine: Engine, exp: Expected, errors: int) -> None:
    with engine.connect() as conn:
        s = summary(conn, make_range(None, None, "UTC"))
        by_model = {
            (p, m): n
            for p, m, n in conn.execute(
                text("SELECT provider, model, COUNT(*) FROM usage GROUP BY provider, model")
            )
        }
        missing = conn.execute(
            text("SELECT COUNT(*) FROM tool_calls WHERE status = 'missing'")
        ).scalar()
        days: dict[str, int] = {}
        for (ts,) in conn.execute(text("SELECT ts_ms FROM usage")):
            day = dt.datetime.fromtimestamp(ts / 1000, dt.UTC).strftime("%Y-%m-%d")
            days[day] = days.get(day, 0) + 1
        spans = conn.execute(
            text(
                "SELECT COUNT(*) FROM sessions s WHERE s.started_ms IS DISTINCT FROM "
                "(SELECT MIN(ts_ms) FROM messages m WHERE m.session_id = s.session_id) "
                "OR s.ended_ms IS DISTINCT FROM "
                "(SELECT MAX(ts_ms) FROM messages m WHERE m.session_id = s.session_id)"
            )
        ).scalar()
    got = {k: s[k] for k in ("sessions", "llm_calls", "failed_calls", "tool_calls", "tool_errors")}
    got |= {k: s[k] for k in ("input_tokens", "output_tokens", "cache_read_tokens")}
    got |= {"cache_write_tokens": s["cache_write_tokens"], "tool_missing": missing}
    want = {k: getattr(exp, k) for k in got}
    assert got == want
    assert s["logged_cost_usd"] == pytest.approx(exp.logged_cost_usd, rel=1e-9)
    assert by_model == exp.calls_by_model
    assert days == exp.calls_by_day_utc
    assert errors == exp.bad_lines
    assert spans == 0  # every session's start and end are its first and last rows

    before = _rollups(engine)
    with engine.begin() as conn:
        rollups.rebuild_all(conn)
    assert before == _rollups(engine)


@pytest.mark.parametrize("batch_lines", [7, 5_000])
def test_one_pass_equals_ground_truth(
    demo: tuple[Path, Expected], tmp_path: Path, db_url: str, batch_lines: int
) -> None:
    state = _copy(demo[0], tmp_path / "state")
    engine, pipe = build(
        IngestSettings(db_url=db_url, sources=(state,), host_id="h", batch_lines=batch_lines)
    )
    stats = pipe.run_pass([state])
    assert stats.calls == demo[1].llm_calls
    _check(engine, demo[1], stats.errors)
    again = pipe.run_pass([state])  # nothing new: nothing changes
    assert (again.lines, again.calls) == (0, 0)
    _check(engine, demo[1], stats.errors)


def test_forks_read_before_their_parents(
    demo: tuple[Path, Expected], tmp_path: Path, db_url: str
) -> None:
    """Pass 1 sees only the fork files (and everything that is not a transcript); pass 2 the
    parents and the rest: the copies already stored move to their parents."""
    state = _copy(demo[0], tmp_path / "state")
    hidden = tmp_path / "hidden"
    moved: list[tuple[Path, Path]] = []
    forks: set[str] = set()
    for p in sorted(state.rglob("*")):
        nc = classify_name(p.name)
        if p.is_file() and nc.kind == "transcript" and nc.fork and nc.session_id:
            forks.add(nc.session_id)
        elif p.is_file() and nc.kind == "transcript":
            dst = hidden / p.relative_to(state)
            dst.parent.mkdir(parents=True, exist_ok=True)
            p.rename(dst)
            moved.append((dst, p))
    assert moved and forks
    engine, pipe = build(
        IngestSettings(db_url=db_url, sources=(state,), host_id="h", batch_lines=11)
    )
    first = pipe.run_pass([state])
    owned_by_forks = text("SELECT COUNT(*) FROM usage WHERE session_id IN :f").bindparams(
        bindparam("f", expanding=True)
    )
    with engine.connect() as conn:
        before = conn.execute(owned_by_forks, {"f": sorted(forks)}).scalar()
    for dst, p in moved:
        dst.rename(p)
    second = pipe.run_pass([state])
    with engine.connect() as conn:
        after = conn.execute(owned_by_forks, {"f": sorted(forks)}).scalar()
    assert before is not None and after is not None
    assert before > after  # the parents took their calls back from the forks' copies
    _check(engine, demo[1], first.errors + second.errors)
