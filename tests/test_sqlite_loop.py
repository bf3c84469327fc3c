"""SQLite reads run on the event loop, writes on the connection's thread
(models/sqlite_loop.py): fast reads, and a write that waits for another process's lock never
blocks the loop."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from models.db import Database
from models.sqlite_loop import LoopReadsConnection


@pytest.fixture
async def connection(tmp_path: Path):
    path = tmp_path / "loop.db"
    conn = await LoopReadsConnection(lambda: sqlite3.connect(path, check_same_thread=False), 64)
    await conn.create_function("thread_id", 0, threading.get_ident)
    await conn.execute("CREATE TABLE seen (thread INTEGER)")
    await conn.commit()
    yield conn
    await conn.close()


async def test_a_select_runs_on_the_loop_and_a_write_on_the_connections_thread(connection):
    loop_thread = threading.get_ident()

    cursor = await connection.execute("SELECT thread_id()")
    assert (await cursor.fetchone())[0] == loop_thread

    await connection.execute("INSERT INTO seen VALUES (thread_id())")
    await connection.commit()
    cursor = await connection.execute("SELECT thread FROM seen")
    (writer_thread,) = await cursor.fetchone()
    assert writer_thread != loop_thread


async def rows_in_t(session) -> int:
    result = await (await session.connection()).execute(text("SELECT count(*) FROM t"))
    return int(result.scalar_one())


async def test_a_write_waiting_for_another_process_lock_leaves_the_loop_free(tmp_path: Path):
    db_path = tmp_path / "busy.db"
    db = Database(f"sqlite+aiosqlite:///{db_path}", lock_timeout_ms=20_000)
    try:
        async with db.session() as session:
            await (await session.connection()).execute(text("CREATE TABLE t (x INTEGER)"))
            await session.commit()
        # Another process holds SQLite's write lock.
        other = sqlite3.connect(db_path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")

        inserting = threading.Event()

        def traced(statement: str) -> None:  # SQLite calls it as the statement starts to run
            if statement.startswith("INSERT"):
                inserting.set()

        async def write() -> None:
            async with db.session() as session:
                raw = await (await session.connection()).get_raw_connection()
                await raw.driver_connection.set_trace_callback(traced)
                await (await session.connection()).execute(text("INSERT INTO t VALUES (1)"))
                await session.commit()

        writing = asyncio.create_task(write())
        assert await asyncio.to_thread(inserting.wait, 20)
        # The write now waits in SQLite's busy handler; the loop still runs, reads included.
        async with db.session() as session:
            assert (
                await (await session.connection()).execute(text("SELECT count(*) FROM t"))
            ).scalar_one() == 0
        assert not writing.done()

        other.execute("COMMIT")
        other.close()
        await asyncio.wait_for(writing, 20)
        async with db.session() as session:
            assert (
                await (await session.connection()).execute(text("SELECT count(*) FROM t"))
            ).scalar_one() == 1
    finally:
        await db.dispose()
