"""The schema contract: migrations reach head on both databases, round-trip, and agree with
the models; the engine factory sets the pragmas it promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from ingestor import migrate
from ingestor.db import DatabaseError, make_engine, make_readonly_engine
from ingestor.schema import metadata

TABLES = {
    "sessions",
    "messages",
    "usage",
    "tool_calls",
    "sources",
    "source_cursors",
    "ingest_errors",
    "usage_hourly",
    "session_hourly",
    "tool_hourly",
    "alert_acks",
    "model_hourly",
    "tool_name_hourly",
    "gateway_events",
}


def test_upgrade_creates_every_table(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    names = set(inspect(engine).get_table_names())
    assert TABLES <= names
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert migrate.is_current(engine)


def test_models_and_migrations_agree(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), metadata
        )
    assert diff == []


def test_downgrade_and_upgrade_round_trip(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    migrate.downgrade(engine, "base")
    assert migrate.current_revision(engine) is None
    assert not (TABLES & set(inspect(engine).get_table_names()))
    migrate.upgrade(engine)
    assert TABLES <= set(inspect(engine).get_table_names())


def test_upgrade_is_idempotent(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    migrate.upgrade(engine)
    assert migrate.is_current(engine)


def test_sqlite_pragmas(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000


def test_readonly_engine_refuses_writes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.sqlite'}"
    migrate.upgrade(make_engine(url))
    ro = make_readonly_engine(url)
    with ro.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM usage")).scalar() == 0
        with pytest.raises(Exception, match=r"readonly|read-only|query_only"):
            conn.execute(text("INSERT INTO alert_acks (alert_key, acked_ms) VALUES ('a', 1)"))


def test_readonly_engine_time_limit(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.sqlite'}"
    migrate.upgrade(make_engine(url))
    ro = make_readonly_engine(url, statement_timeout_ms=50)
    slow = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) FROM c"
    with ro.connect() as conn, pytest.raises(Exception, match="interrupted"):
        conn.execute(text(slow)).scalar()


def test_readonly_engine_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="does not exist yet"):
        make_readonly_engine(f"sqlite:///{tmp_path / 'nope.sqlite'}")


@pytest.mark.postgres
def test_readonly_engine_postgres(pg_url: str) -> None:
    migrate.upgrade(make_engine(pg_url))
    ro = make_readonly_engine(pg_url)
    with ro.connect() as conn, pytest.raises(Exception, match="read-only"):
        conn.execute(text("INSERT INTO alert_acks (alert_key, acked_ms) VALUES ('a', 1)"))


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "agentbox-telemetry"
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120)


def test_cli_db_upgrade_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    r = _cli("db", "upgrade", "--db", url)
    assert r.returncode == 0, r.stderr
    assert "is at revision" in r.stdout
    assert TABLES <= set(inspect(make_engine(url)).get_table_names())


@pytest.mark.postgres
def test_cli_db_upgrade_postgres(pg_url: str) -> None:
    r = _cli("db", "upgrade", "--db", pg_url)
    assert r.returncode == 0, r.stderr
    assert TABLES <= set(inspect(make_engine(pg_url)).get_table_names())
