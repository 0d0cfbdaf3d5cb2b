"""Shared fixtures: a SQLite file per test, and a throw-away PostgreSQL database per session.

PostgreSQL: ``TELEMETRY_TEST_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``)
names a server; a fresh database is created on it for the session and dropped after. When the
server is unreachable the PostgreSQL tests are skipped with the reason shown, unless
``TELEMETRY_REQUIRE_PG=1`` (set by CI), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


def _pg_base() -> str:
    return os.environ.get("TELEMETRY_TEST_PG_URL") or DEFAULT_PG


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database for this test session."""
    import psycopg

    base = _pg_base().replace("postgresql+psycopg://", "postgresql://")
    try:
        admin = psycopg.connect(base, autocommit=True, connect_timeout=3)
    except Exception as exc:  # pragma: no cover - depends on the machine
        if os.environ.get("TELEMETRY_REQUIRE_PG") == "1":
            pytest.fail(f"PostgreSQL required but unreachable at {base}: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {base} ({exc}); set TELEMETRY_TEST_PG_URL")
    name = f"agentbox_test_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    url = base.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def pg_url(pg_server_url: str) -> str:
    """The session's PostgreSQL database, emptied before each test."""
    import psycopg

    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    return pg_server_url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'telemetry.sqlite'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Both databases: every test using this runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'telemetry.sqlite'}"
    return str(request.getfixturevalue("pg_url"))


SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "docs" / "openclaw-sample.jsonl"


@pytest.fixture
def sample_lines() -> list[bytes]:
    """The 33 format-faithful lines (shared/docs, beside the repo); a copy is in tests/data."""
    local = Path(__file__).parent / "data" / "openclaw-sample.jsonl"
    path = local if local.exists() else SAMPLE
    return path.read_bytes().splitlines()


def pytest_sessionstart(session: pytest.Session) -> None:
    """CI requires the real browser: fail at once instead of skipping the browser tests."""
    if (
        os.environ.get("TELEMETRY_REQUIRE_BROWSER") == "1"
        and not Path("/usr/bin/chromium").exists()
    ):
        raise pytest.UsageError("TELEMETRY_REQUIRE_BROWSER=1 but /usr/bin/chromium is missing")
