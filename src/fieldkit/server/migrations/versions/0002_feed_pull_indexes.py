"""Indexes that let a pull read what it returns, not the whole feed.

A pull used to walk ``changes`` in ``seq`` order and test every row against the caller's
visible cases: a worker who sees 1 % of a city's feed read ~46,000 rows per page, and a new
device that sees nothing read all of it. The pull now asks three narrower questions (the
caller's cases; the directory and library; revocations addressed to the caller), each served
by its own index in ``seq`` order.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_DIRECTORY = sa.text("record_type IN ('document', 'user')")


def upgrade() -> None:
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.drop_index("ix_changes_case_id")
        batch_op.drop_index("ix_changes_target")
        batch_op.create_index("ix_changes_case_seq", ["case_id", "seq"], unique=False)
        batch_op.create_index("ix_changes_target_seq", ["target_user_id", "seq"], unique=False)
        batch_op.create_index(
            "ix_changes_directory",
            ["seq"],
            unique=False,
            postgresql_where=_DIRECTORY,
            sqlite_where=_DIRECTORY,
        )


def downgrade() -> None:
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.drop_index("ix_changes_directory")
        batch_op.drop_index("ix_changes_target_seq")
        batch_op.drop_index("ix_changes_case_seq")
        batch_op.create_index("ix_changes_target", ["target_user_id"], unique=False)
        batch_op.create_index("ix_changes_case_id", ["case_id"], unique=False)
