"""Known reasons `congdoan` cannot start, as one plain line for the person who runs it.

A rejected token, an API server out of reach or a database that cannot be written are the
deployer's to fix, not bugs: they get a sentence in Vietnamese and English and exit code 2,
never a traceback (which could also carry a secret).
"""

from __future__ import annotations

from collections.abc import Iterator


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def explain(exc: BaseException) -> str | None:
    """The plain line for a known startup failure, or None for anything else."""
    from telegram.error import InvalidToken, NetworkError

    for cause in _chain(exc):
        name = type(cause).__name__
        text = str(cause).lower()
        if isinstance(cause, InvalidToken):
            return (
                "Telegram từ chối token của bot (token sai hoặc đã bị thu hồi): kiểm tra "
                "[telegram] token hoặc CONGDOAN_TELEGRAM_TOKEN. / Telegram rejected the bot "
                "token: check [telegram] token or CONGDOAN_TELEGRAM_TOKEN."
            )
        if isinstance(cause, NetworkError):
            return (
                "Không kết nối được tới máy chủ Telegram: kiểm tra mạng và [telegram] base_url. "
                "/ Could not reach the Telegram API server: check the network and "
                "[telegram] base_url."
            )
        if name == "ZaloStartupError":
            return str(cause)
        if "readonly database" in text or "read-only" in text:
            return _database("chỉ đọc, không ghi được", "is read-only")
        if "database or disk is full" in text or "no space left" in text:
            return _database("đầy ổ đĩa", "its disk is full")
        if "unable to open database" in text or "disk i/o error" in text:
            return _database("không mở được tệp", "cannot be opened")
        if isinstance(cause, PermissionError):
            return _database("không có quyền ghi thư mục dữ liệu", "its folder is not writable")
    return None


def _database(vi: str, en: str) -> str:
    return (
        f"Không khởi động được: cơ sở dữ liệu {vi}; kiểm tra [database] url, quyền ghi và "
        f"dung lượng ổ đĩa. / Cannot start: the database {en}; check [database] url, "
        "permissions and free disk space."
    )
