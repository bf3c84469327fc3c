"""outbox ids are 64-bit on PostgreSQL

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 22:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # SQLite's INTEGER PRIMARY KEY is already 64-bit; PostgreSQL's SERIAL is not.
    if op.get_bind().dialect.name != "postgresql":
        return
    op.alter_column("outbox", "id", type_=sa.BigInteger(), existing_type=sa.Integer())
    op.execute("ALTER SEQUENCE IF EXISTS outbox_id_seq AS BIGINT")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER SEQUENCE IF EXISTS outbox_id_seq AS INTEGER")
    op.alter_column("outbox", "id", type_=sa.Integer(), existing_type=sa.BigInteger())
