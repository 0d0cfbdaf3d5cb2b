"""a stamp beside each store cursor

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 23:55:00.000000

Why: a session of an OpenClaw agent store was read from its high-water mark (``seq``) only, so
rows written again at seqs already read were never seen: a rolled-back tail followed by new
turns, or a store file replaced by a rebuilt or restored one, lost their new calls.
``source_cursors.position_ref`` keeps a stamp of the row the cursor stands on (CRC-32 and
length of its payload); when the store's row at that seq has another stamp, or
is gone, the session is read again from its start, and call identity keeps every row once.
Cursors written before this revision get their stamp at the next pass that reads their store.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "source_cursors",
        sa.Column(
            "position_ref",
            sa.String(),
            nullable=True,
            comment="Stamp of the row at that seq (CRC-32 and length of its payload): when the "
            "store's row there differs, the session is read again from its start.",
        ),
    )


def downgrade() -> None:
    with op.batch_alter_table("source_cursors") as batch:
        batch.drop_column("position_ref")
