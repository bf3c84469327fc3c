"""Column types and the constraint naming convention shared by the tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes stored as UTC.

    SQLite has no time zones, so we store naive UTC and hand back aware UTC values;
    PostgreSQL gets a real TIMESTAMP WITH TIME ZONE.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Every index and constraint gets a name derived from its table and columns, the same on SQLite
# and PostgreSQL, so a later migration can alter or drop it by name. Alembic names what the
# migrations create without a name by these patterns too (SQLModel.metadata is its target),
# so they are part of every database made since: never change them (tests/test_schema.py).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def fit_file_name(name: str, limit: int) -> str:
    """A file name cut to a column's length, keeping its extension. PostgreSQL refuses a value
    longer than a VARCHAR(n) column where SQLite stores it whole, and file names come from
    people (a document's name may be as long as its platform allows)."""
    if len(name) <= limit:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension) >= limit // 2:
        return name[:limit]
    return stem[: limit - len(extension) - 1] + "." + extension


def utcnow() -> datetime:
    return datetime.now(UTC)
