"""The schema contract: migrations reach head on both databases, round-trip, and agree with
the models; the engine factory sets the pragmas it promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

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


def _keys_and_indexes(engine: Any) -> dict[str, tuple[list[str], set[str]]]:
    insp = inspect(engine)
    return {
        t: (
            insp.get_pk_constraint(t)["constrained_columns"],
            {i["name"] for i in insp.get_indexes(t)},
        )
        for t in ("messages", "usage", "tool_calls")
    }


def test_time_first_keys_keep_every_row(db_url: str) -> None:
    """0003 re-keys messages, usage and tool_calls by time first, keeps every row, drops the
    indexes the new key makes redundant; its downgrade restores the 0002 shape."""
    engine = make_engine(db_url)
    migrate.upgrade(engine, "0002")
    rows = [(f"e{i}", 1_700_000_000_000 + (7 - i) * 1000) for i in range(8)]
    common = "session_id, host_id, agent_id"
    with engine.begin() as conn:
        for eid, ts in rows:
            p = {"e": eid, "t": ts}
            conn.execute(
                text(
                    f"INSERT INTO messages (entry_id, ts_ms, {common}, entry_type, synthetic) "
                    "VALUES (:e, :t, 's1', 'h', 'main', 'message', false)"
                ),
                p,
            )
            conn.execute(
                text(
                    f"INSERT INTO usage (entry_id, ts_ms, {common}, provider, model, failed, "
                    "input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, "
                    "total_tokens, cost, cost_source, price_fuzzy, zero_cost_with_price, "
                    "cost_mismatch, warning) VALUES (:e, :t, 's1', 'h', 'main', 'p', 'm', false, "
                    "1, 2, 0, 0, 3, 0.5, 'logged', false, false, false, false)"
                ),
                p,
            )
            conn.execute(
                text(
                    f"INSERT INTO tool_calls (entry_id, ts_ms, block_index, {common}, tool_name, "
                    "status, synthetic) VALUES (:e, :t, 0, 's1', 'h', 'main', 'exec', 'ok', false)"
                ),
                p,
            )

    def stored() -> dict[str, list[tuple[Any, ...]]]:
        with engine.connect() as conn:
            return {
                t: sorted(
                    tuple(r)
                    for r in conn.execute(text(f"SELECT entry_id, ts_ms, session_id FROM {t}"))
                )
                for t in ("messages", "usage", "tool_calls")
            }

    before = stored()
    assert len(before["messages"]) == 8
    migrate.upgrade(engine)
    assert stored() == before
    shape = _keys_and_indexes(engine)
    assert shape["messages"] == (["ts_ms", "entry_id"], {"ix_messages_session_ts"})
    assert shape["usage"] == (
        ["ts_ms", "entry_id"],
        {"ix_usage_session_ts", "ix_usage_model_ts"},
    )
    assert shape["tool_calls"] == (
        ["ts_ms", "entry_id", "block_index"],
        {"ix_tool_calls_session", "ix_tool_calls_tool_ts"},
    )
    # the key still refuses a second row with the same identity
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"), engine.begin() as conn:
        conn.execute(
            text(
                f"INSERT INTO messages (entry_id, ts_ms, {common}, entry_type, synthetic) "
                f"VALUES ('e1', {rows[1][1]}, 's2', 'h', 'main', 'message', false)"
            )
        )
    migrate.downgrade(engine, "0002")
    assert stored() == before
    shape = _keys_and_indexes(engine)
    assert shape["messages"][0] == ["entry_id", "ts_ms"]
    assert {"ix_messages_ts", "ix_messages_tool_call"} <= shape["messages"][1]
    assert "ix_usage_ts" in shape["usage"][1] and "ix_tool_calls_ts" in shape["tool_calls"][1]
    assert shape["tool_calls"][0] == ["entry_id", "ts_ms", "block_index"]


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


def test_a_checkpoint_that_may_not_wait_reports_a_reader(tmp_path: Path) -> None:
    """The writer's TRUNCATE checkpoint gives up at once (``wait_ms=0``) while a reader holds
    the log, so a long read never holds appends back; it completes once the reader left."""
    import sqlite3

    from ingestor.db import checkpoint, make_engine

    path = tmp_path / "w.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    assert reader.execute("SELECT COUNT(*) FROM t").fetchone() == (1,)  # a snapshot, held
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO t VALUES (2)")
    assert checkpoint(engine, truncate=True, wait_ms=0) is False
    reader.execute("COMMIT")
    assert checkpoint(engine, truncate=True, wait_ms=0) is True
    assert path.with_name("w.sqlite-wal").stat().st_size == 0
    reader.close()
    engine.dispose()
