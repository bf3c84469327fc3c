"""several workers on one outbox: claims with a lease, a leader lease, a shared send pace, and
the bot each row goes through

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import models.types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One send slot for bot p_bot to chat p_chat, taken atomically for every process of every
# host. Returns the slot's time (>= p_now, seconds since the epoch) or, when the chat's own
# sliding window (p_count sends in p_window seconds) is full, minus the time it frees up: then
# nothing was taken and the caller asks again at that time. The bot's "*" row also keeps its
# last slots, each moved later once the send's answer showed it reached the server late (a
# process held up): the send p_global_count slots later waits for a full window after that.
# Locks the chat's row, then the bot's "*" row: always in that order, so two takers never
# deadlock.
PACE_TAKE = """
CREATE OR REPLACE FUNCTION congdoan_pace_take(
    p_bot text, p_chat text, p_now double precision, p_spacing double precision,
    p_count integer, p_window double precision,
    p_global_count integer, p_global_window double precision
) RETURNS double precision LANGUAGE plpgsql AS $$
DECLARE
    v_times double precision[];
    v_log double precision[];
    v_next double precision;
    v_pause double precision;
    v_slot double precision;
BEGIN
    INSERT INTO send_pace (bot, key, next_at, paused_until, times)
        VALUES (p_bot, p_chat, 0, 0, '{}') ON CONFLICT (bot, key) DO NOTHING;
    SELECT times INTO v_times FROM send_pace WHERE bot = p_bot AND key = p_chat FOR UPDATE;
    v_times := ARRAY(SELECT t FROM unnest(v_times) AS t WHERE t > p_now - p_window ORDER BY t);
    IF cardinality(v_times) >= p_count THEN
        RETURN -(v_times[cardinality(v_times) - p_count + 1] + p_window);
    END IF;
    SELECT next_at, paused_until, times INTO v_next, v_pause, v_log FROM send_pace
        WHERE bot = p_bot AND key = '*' FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no send_pace row for bot %', p_bot;
    END IF;
    v_slot := greatest(v_next, v_pause, p_now);
    -- the bot's last p_global_count slots in booking order, each moved to when its message
    -- had arrived at the latest once its answer came (bot/shared_pace.py): never a send
    -- within p_global_window of the one p_global_count before it
    IF cardinality(v_log) >= p_global_count THEN
        v_slot := greatest(
            v_slot, v_log[cardinality(v_log) - p_global_count + 1] + p_global_window
        );
    END IF;
    v_log := v_log || v_slot;
    IF cardinality(v_log) > p_global_count THEN
        v_log := v_log[cardinality(v_log) - p_global_count + 1:];
    END IF;
    UPDATE send_pace SET next_at = v_slot + p_spacing, times = v_log
        WHERE bot = p_bot AND key = '*';
    UPDATE send_pace SET times = v_times || v_slot, next_at = v_slot
        WHERE bot = p_bot AND key = p_chat;
    RETURN v_slot;
END
$$;
"""


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=96), nullable=True))
        batch_op.add_column(
            sa.Column("lease_until", models.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("bot", sa.String(length=40), nullable=False, server_default="")
        )
    op.execute("UPDATE outbox SET bot = platform")
    with op.batch_alter_table("delivery_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bot", sa.String(length=40), nullable=True))
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("holder", sa.String(length=96), nullable=False),
        sa.Column("until", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("since", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_leases"),
    )
    times = (
        sa.Column("times", postgresql.ARRAY(sa.Float()), nullable=False, server_default="{}")
        if dialect == "postgresql"
        else sa.Column("times", sa.JSON(), nullable=False, server_default="[]")
    )
    op.create_table(
        "send_pace",
        sa.Column("bot", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("next_at", sa.Float(), nullable=False, server_default="0"),
        sa.Column("paused_until", sa.Float(), nullable=False, server_default="0"),
        times,
        sa.PrimaryKeyConstraint("bot", "key", name="pk_send_pace"),
    )
    if dialect == "postgresql":
        op.execute(PACE_TAKE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "DROP FUNCTION IF EXISTS congdoan_pace_take(text, text, double precision, "
            "double precision, integer, double precision, integer, double precision)"
        )
    op.drop_table("send_pace")
    op.drop_table("leases")
    with op.batch_alter_table("delivery_jobs", schema=None) as batch_op:
        batch_op.drop_column("bot")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("bot")
        batch_op.drop_column("lease_until")
        batch_op.drop_column("claimed_by")
