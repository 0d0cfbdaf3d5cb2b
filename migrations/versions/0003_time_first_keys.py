"""time-first keys for messages, usage and tool_calls

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 15:00:00.000000

Why: the identity of a row stays (entry_id, ts_ms) (and block_index for tool calls), but its
primary key now leads with ts_ms. Entry ids are random, so a key led by them put every new row
on a random page of the key's B-tree: a cold ingest of 1 GB of transcripts wrote 4.7 GB to
the SQLite WAL, most of it the same index pages again and again. Led by time, the rows read
together (one file, files of the same hours) sit together and the key grows at its ends.

A key led by ts_ms also answers every time range, so the separate ts_ms indexes
(ix_messages_ts, ix_usage_ts, ix_tool_calls_ts) go. ix_messages_tool_call goes too: pairing
a tool call with a result stored earlier is rare (a call and its result are nearly always read
in the same batch) and ix_messages_session_ts finds it by scanning the session's rows; the
index cost a random page per tool result. Queries that name both key columns are unchanged.

SQLite cannot change a primary key in place: each table is copied into its new shape (4 s for
a database of 1 GB of transcripts; the file keeps the old pages as free space, reused by later
inserts). PostgreSQL swaps the constraint.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: table -> (key before, key after, indexes dropped as (name, columns, where))
_CHANGES: dict[str, tuple[str, str, list[tuple[str, str, str | None]]]] = {
    "messages": (
        "entry_id, ts_ms",
        "ts_ms, entry_id",
        [
            ("ix_messages_ts", "ts_ms", None),
            ("ix_messages_tool_call", "session_id, tool_call_id", "tool_call_id IS NOT NULL"),
        ],
    ),
    "usage": ("entry_id, ts_ms", "ts_ms, entry_id", [("ix_usage_ts", "ts_ms", None)]),
    "tool_calls": (
        "entry_id, ts_ms, block_index",
        "ts_ms, entry_id, block_index",
        [("ix_tool_calls_ts", "ts_ms", None)],
    ),
}


def _index_sql(table: str, name: str, cols: str, where: str | None) -> str:
    return f"CREATE INDEX {name} ON {table} ({cols})" + (f" WHERE {where}" if where else "")


def _rekey(table: str, old_key: str, new_key: str, drop: list[str], create: list[str]) -> None:
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        conn.exec_driver_sql(f"ALTER TABLE {table} DROP CONSTRAINT pk_{table}")
        conn.exec_driver_sql(
            f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY ({new_key})"
        )
        for name in drop:
            conn.exec_driver_sql(f"DROP INDEX {name}")
        for sql in create:
            conn.exec_driver_sql(sql)
        return
    ddl = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).scalar_one()
    old_clause = f"CONSTRAINT pk_{table} PRIMARY KEY ({old_key})"
    if old_clause not in ddl:
        raise RuntimeError(f"{table}: unexpected primary key in {ddl!r}")
    kept = [
        sql
        for name, sql in conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
            "AND sql IS NOT NULL",
            (table,),
        )
        if name not in drop
    ]
    conn.exec_driver_sql(f"ALTER TABLE {table} RENAME TO _old_{table}")
    for (name,) in conn.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
        (f"_old_{table}",),
    ).all():
        conn.exec_driver_sql(f"DROP INDEX {name}")
    conn.exec_driver_sql(
        ddl.replace(old_clause, f"CONSTRAINT pk_{table} PRIMARY KEY ({new_key})", 1)
    )
    # the new table has the same columns in the same order
    conn.exec_driver_sql(f"INSERT INTO {table} SELECT * FROM _old_{table}")
    conn.exec_driver_sql(f"DROP TABLE _old_{table}")
    for sql in kept + create:
        conn.exec_driver_sql(sql)


def upgrade() -> None:
    for table, (old_key, new_key, dropped) in _CHANGES.items():
        _rekey(table, old_key, new_key, [name for name, _, _ in dropped], [])


def downgrade() -> None:
    for table, (old_key, new_key, dropped) in _CHANGES.items():
        _rekey(table, new_key, old_key, [], [_index_sql(table, *ix) for ix in dropped])
