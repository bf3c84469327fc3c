"""The anchor for bench/intake.py: the bare python-telegram-bot echo bot, nothing else.

    python -m bench.echo_bot BASE_URL TOKEN [--concurrent N]

Long-polls BASE_URL and answers every text message with the same text. Without
`--concurrent` PTB handles one update at a time (its default); with it, up to N at once
(`ApplicationBuilder.concurrent_updates(N)`). Stops on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import logging

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters


async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is not None and message.text is not None:
        await message.reply_text(message.text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("base_url")
    parser.add_argument("token")
    parser.add_argument("--concurrent", type=int, default=0, help="concurrent_updates (0: off)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    app = (
        ApplicationBuilder()
        .token(args.token)
        .base_url(args.base_url)
        .concurrent_updates(args.concurrent or False)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.run_polling(poll_interval=0.0, timeout=30, allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
