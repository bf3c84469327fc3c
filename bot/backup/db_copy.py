"""`congdoan db copy --to URL`: move the bot's data to another database (SQLite → PostgreSQL).

Both are brought to the code's migration level first (the target's tables are made by the
same migrations as always), the target must be empty, the bot must be stopped. Every table is
then copied in dependency order (parents before the rows that point at them), in chunks, in
one transaction on the target: a failure leaves it empty. A column pointing into its own
table (a unit's parent) is filled in after the table's rows are all there. PostgreSQL's id
sequences are moved past the copied ids, and the row counts are compared table by table.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Table,
    bindparam,
    create_engine,
    func,
    select,
    text,
    update,
)
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

import models  # noqa: F401 - every table on SQLModel.metadata
from bot.backup.errors import BackupError, RestoreRefused
from bot.backup.running import running_processes
from models import db as database

CHUNK = 1000


def _tables() -> list[Table]:
    return list(SQLModel.metadata.sorted_tables)


def _self_references(table: Table) -> list[Column[Any]]:
    return [fk.parent for fk in table.foreign_keys if fk.column.table is table]


def _count(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _copy_table(source: Connection, target: Connection, table: Table) -> int:
    later = _self_references(table)
    keys = list(table.primary_key.columns)
    pending: list[dict[str, Any]] = []  # self references to fill in once every row is there
    copied = 0
    result = source.execution_options(yield_per=CHUNK).execute(select(table).order_by(*keys))
    for chunk in result.partitions():
        rows = []
        for row in chunk:
            values = {column.key: row._mapping[column] for column in table.columns}
            if later and any(values[c.key] is not None for c in later):
                pending.append(
                    {
                        **{f"k_{k.key}": values[k.key] for k in keys},
                        **{f"v_{c.key}": values[c.key] for c in later},
                    }
                )
                values.update({c.key: None for c in later})
            rows.append(values)
        target.execute(table.insert(), rows)
        copied += len(rows)
    if pending:
        statement = (
            update(table)
            .where(*(k == bindparam(f"k_{k.key}") for k in keys))
            .values({c.key: bindparam(f"v_{c.key}") for c in later})
        )
        target.execute(statement, pending)
    return copied


def _reset_sequences(target: Connection, tables: list[Table]) -> None:
    for table in tables:
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or keys[0].type.python_type is not int:
            continue
        name = keys[0].name
        target.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence(:table, :column), "
                f'COALESCE(MAX("{name}"), 1), MAX("{name}") IS NOT NULL) FROM "{table.name}"'
            ),
            {"table": table.name, "column": name},
        )


def copy_sync(source_url: str, target_url: str, now: datetime) -> dict[str, int]:
    if make_url(source_url) == make_url(target_url):
        raise RestoreRefused("Cơ sở dữ liệu đích trùng với cơ sở dữ liệu đang dùng.")
    if running_processes(source_url, now):
        raise RestoreRefused(
            "Bot đang chạy trên cơ sở dữ liệu nguồn: dừng bot (và `congdoan worker`) rồi chạy lại."
        )
    try:
        database.upgrade(source_url)
        database.upgrade(target_url)
    except Exception as exc:
        raise BackupError(f"Nâng cấp cơ sở dữ liệu thất bại: {type(exc).__name__}: {exc}") from None
    tables = _tables()
    source_engine = create_engine(database.sync_url(source_url))
    target_engine = create_engine(database.sync_url(target_url))
    try:
        with source_engine.connect() as source, target_engine.connect() as target:
            counts: dict[str, int] = {}
            with source.begin(), target.begin():  # one snapshot read, one transaction written
                busy = [t.name for t in tables if _count(target, t)]
                if busy:
                    raise RestoreRefused(
                        "Cơ sở dữ liệu đích đã có dữ liệu (bảng " + ", ".join(busy[:5]) + "): "
                        "chỉ sao chép vào một cơ sở dữ liệu trống."
                    )
                for table in tables:
                    counts[table.name] = _copy_table(source, target, table)
                if target.dialect.name == "postgresql":
                    _reset_sequences(target, tables)
                wrong = [
                    f"{t.name} {counts[t.name]}→{_count(target, t)}"
                    for t in tables
                    if _count(target, t) != counts[t.name] or _count(source, t) != counts[t.name]
                ]
                if wrong:
                    raise BackupError("Số dòng không khớp: " + ", ".join(wrong))
            return counts
    finally:
        source_engine.dispose()
        target_engine.dispose()


async def copy_database(source_url: str, target_url: str) -> dict[str, int]:
    return await asyncio.to_thread(copy_sync, source_url, target_url, datetime.now(UTC))
