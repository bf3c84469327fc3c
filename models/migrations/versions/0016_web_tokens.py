"""the web side: one-time links and browser sessions, stored hashed; members' names as
sortable text (the member table pages in SQL, in Vietnamese order)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import models.types
from models.names import vi_sort_text

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "web_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("platform", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_web_tokens_token_hash")),
    )
    with op.batch_alter_table("web_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_tokens_expires_at"), ["expires_at"], unique=False)

    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "sort_key",
                sqlmodel.sql.sqltypes.AutoString(length=512),
                nullable=False,
                server_default="",
            )
        )
        batch_op.create_index(batch_op.f("ix_members_sort_key"), ["sort_key"], unique=False)
    members = sa.table(
        "members",
        sa.column("id", sa.Integer),
        sa.column("full_name", sa.String),
        sa.column("sort_key", sa.String),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(members.c.id, members.c.full_name)).all()
    for member_id, full_name in rows:
        bind.execute(
            members.update()
            .where(members.c.id == member_id)
            .values(sort_key=vi_sort_text(str(full_name or "")))
        )


def downgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_members_sort_key"))
        batch_op.drop_column("sort_key")
    with op.batch_alter_table("web_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_tokens_expires_at"))
    op.drop_table("web_tokens")
