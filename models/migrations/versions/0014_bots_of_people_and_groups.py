"""several bots per deployment: the bot each person and group talks to

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 00:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("identities", "chat_groups"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("bot", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True)
            )


def downgrade() -> None:
    for table in ("chat_groups", "identities"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("bot")
