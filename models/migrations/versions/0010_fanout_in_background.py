"""fan-out jobs expanded in the background

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 20:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import models.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("delivery_jobs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("audience_json", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
        batch_op.add_column(sa.Column("message_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("priority", sa.Integer(), nullable=False, server_default="5"))
        batch_op.add_column(sa.Column("expand_cursor", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("expanded_at", models.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_foreign_key(
            "fk_delivery_jobs_message_id_outbox_messages",
            "outbox_messages",
            ["message_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("delivery_jobs", schema=None) as batch_op:
        batch_op.drop_constraint("fk_delivery_jobs_message_id_outbox_messages", type_="foreignkey")
        batch_op.drop_column("expanded_at")
        batch_op.drop_column("expand_cursor")
        batch_op.drop_column("priority")
        batch_op.drop_column("message_id")
        batch_op.drop_column("audience_json")
