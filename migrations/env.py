"""Alembic environment: runs on the connection handed over by ``ingestor.migrate`` (or builds
one from ``sqlalchemy.url`` / ``TELEMETRY_DB_URL`` when Alembic's own CLI is used)."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

from ingestor.db import make_engine
from ingestor.schema import metadata

config = context.config
target_metadata = metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("TELEMETRY_DB_URL")
    if not url:
        raise SystemExit("set TELEMETRY_DB_URL or sqlalchemy.url")
    engine = make_engine(url)
    with engine.connect() as conn:
        _run(conn)


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run them on a database")
run_migrations_online()
