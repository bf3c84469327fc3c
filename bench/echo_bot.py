"""The anchors for bench/intake.py: the bare python-telegram-bot echo bot, nothing else, and
the same echo with one durable database write per update.

    python -m bench.echo_bot BASE_URL TOKEN [--concurrent N] [--sqlite FILE]

Long-polls BASE_URL and answers every text message with the same text. Without
`--concurrent` PTB handles one update at a time (its default); with it, up to N at once
(`ApplicationBuilder.concurrent_updates(N)`). With `--sqlite`, each update is first written
as one row through SQLModel (an AsyncSession on aiosqlite, WAL, synchronous=NORMAL, one
INSERT and one COMMIT): the least a bot that keeps what it is told can do with this project's
stack, and nothing of this project's own code. Stops on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters


class Received(SQLModel, table=True):
    __tablename__ = "received"
    id: int | None = Field(default=None, primary_key=True)
    update_id: int = Field(unique=True)
    chat_id: int
    text: str


async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is not None and message.text is not None:
        await message.reply_text(message.text)


def recording_echo(sessions: async_sessionmaker[AsyncSession]) -> Any:
    async def handler(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or message.text is None:
            return
        async with sessions() as session:
            session.add(
                Received(update_id=update.update_id, chat_id=message.chat_id, text=message.text)
            )
            await session.commit()
        await echo(update, context)

    return handler


def _pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("base_url")
    parser.add_argument("token")
    parser.add_argument("--concurrent", type=int, default=0, help="concurrent_updates (0: off)")
    parser.add_argument("--sqlite", metavar="FILE", help="write each update to this SQLite file")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    handler: Any = echo
    post_init = None
    if args.sqlite:
        engine = create_async_engine(f"sqlite+aiosqlite:///{args.sqlite}")
        event.listen(engine.sync_engine, "connect", _pragmas)
        handler = recording_echo(async_sessionmaker(engine, class_=AsyncSession))

        async def create_table(_app: Application) -> None:  # type: ignore[type-arg]
            async with engine.begin() as connection:
                await connection.run_sync(SQLModel.metadata.create_all)

        post_init = create_table
    builder = (
        ApplicationBuilder()
        .token(args.token)
        .base_url(args.base_url)
        .concurrent_updates(args.concurrent or False)
    )
    if post_init is not None:
        builder = builder.post_init(post_init)
    app = builder.build()
    app.add_handler(MessageHandler(filters.TEXT, handler))
    app.run_polling(poll_interval=0.0, timeout=30, allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
