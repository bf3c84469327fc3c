"""Telegram forum topics (a group link's, an outbox row's, a poll's origin) and join requests

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

from models.types import UTCDateTime

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A forum topic's message_thread_id: a group link's, an outbox row's, a poll's origin.
TOPICS = (("chat_groups", "thread_id"), ("outbox", "thread_id"), ("polls", "origin_thread_id"))


def upgrade() -> None:
    for table, column in TOPICS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column(column, sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
            )
    op.create_table(
        "join_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("chat_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("private_chat_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("bot", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("requested_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform", "chat_id", "user_id"),
    )
    with op.batch_alter_table("join_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_join_requests_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_join_requests_unit_id"), ["unit_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("join_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_join_requests_unit_id"))
        batch_op.drop_index(batch_op.f("ix_join_requests_state"))
    op.drop_table("join_requests")
    for table, column in reversed(TOPICS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column(column)
