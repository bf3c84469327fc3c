"""The `congdoan` command: run the bot, open the console chat, and admin tasks."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from datetime import date
from pathlib import Path

from bot import logs, textutil
from bot.config import ConfigError, Settings, load_settings


def _member_number(text: str) -> int:
    """A member's number (#id) on the command line, read like every number from outside."""
    try:
        return textutil.parse_number(text, low=1)
    except textutil.InvalidInput:
        raise argparse.ArgumentTypeError(f"không phải mã đoàn viên: {text!r}") from None


# Where the console chat's log lines go (relative to the directory it runs in, like its exports).
CONSOLE_LOG = Path("data/console.log")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="congdoan", description="Chat bot công đoàn cơ sở")
    parser.add_argument("--config", help="đường dẫn config.toml (mặc định: ./config.toml)")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="chạy bot (Telegram nếu có token, không thì chat console)")
    run.add_argument(
        "--no-delivery",
        action="store_true",
        help="chỉ nhận tin (không gửi hàng đợi): hàng đợi do `congdoan worker` gửi (PostgreSQL)",
    )
    sub.add_parser(
        "worker",
        help="chỉ gửi hàng đợi, lịch hẹn và tiến độ (không nhận tin); chạy nhiều tiến trình "
        "trên PostgreSQL",
    )
    console = sub.add_parser("console", help="chat với bot ngay trong terminal")
    console.add_argument("--user", default="1001", help="mã người dùng console (mặc định 1001)")
    console.add_argument("--name", default="Khách", help="tên hiển thị")
    sub.add_parser("check", help="kiểm tra cấu hình, cơ sở dữ liệu và token")
    db = sub.add_parser("db", help="cơ sở dữ liệu")
    db.add_argument("action", choices=["upgrade", "current", "copy"])
    db.add_argument(
        "--to", help="copy: cơ sở dữ liệu đích, ví dụ postgresql+asyncpg://user:pass@host/db"
    )
    sub.add_parser("backup", help="sao lưu cơ sở dữ liệu và tệp xuất (khi bot đang chạy cũng được)")
    rst = sub.add_parser("restore", help="khôi phục một bản sao lưu (bot phải dừng)")
    rst.add_argument("file", type=Path, help="tệp congdoan-….tar.gz")
    mem = sub.add_parser("members", help="danh sách đoàn viên")
    mem_sub = mem.add_subparsers(dest="action", required=True)
    imp = mem_sub.add_parser("import", help="nhập danh sách đoàn viên từ tệp .xlsx")
    imp.add_argument("file", type=Path)
    exp = mem_sub.add_parser("export", help="xuất danh sách đoàn viên ra .xlsx")
    exp.add_argument("--unit", help="mã đơn vị (mặc định: mọi CĐCS)")
    exp.add_argument("--out", type=Path, default=Path("doan-vien.xlsx"))
    role = sub.add_parser("roles", help="giao vai trò")
    role.add_argument("action", choices=["grant", "revoke", "list"])
    role.add_argument("--member", type=_member_number, help="mã đoàn viên (#id)")
    role.add_argument("--role", choices=["bch", "to_truong", "admin"])
    role.add_argument("--unit", help="mã đơn vị")
    unit = sub.add_parser("units", help="liệt kê hoặc thêm/sửa đơn vị")
    unit.add_argument("action", nargs="?", choices=["list", "add"], default="list")
    unit.add_argument("--code", help="mã đơn vị, ví dụ SCT-VP")
    unit.add_argument("--name", help="tên đơn vị")
    unit.add_argument("--kind", choices=["cdcs", "cdbp", "to"], default="to")
    unit.add_argument("--parent", default="", help="mã đơn vị cấp trên")
    sub.add_parser("routes", help="mọi lệnh, tiền tố nút bấm và hội thoại, với quyền truy cập")
    emu = sub.add_parser("thidua", help="phong trào thi đua")
    emu.add_argument("action", choices=["mo"], help="mo: mở phong trào từ một tệp .toml")
    emu.add_argument("--file", type=Path, required=True, help="tệp phong trào (xem README)")
    args = parser.parse_args(argv)

    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    # The console chat is the terminal itself: log lines go to a file, not among the messages.
    chat_in_terminal = args.command == "console" or (
        args.command == "run" and not (settings.telegram.enabled or settings.zalo.enabled)
    )
    redactor = logs.setup(
        [
            settings.telegram.token.get_secret_value(),
            settings.telegram.webhook_secret.get_secret_value(),
            settings.zalo.token.get_secret_value(),
            settings.zalo.webhook_secret.get_secret_value(),
            settings.web.link_secret.get_secret_value(),
            *(extra.token.get_secret_value() for extra in settings.telegram.bots),
        ],
        level=logging.INFO,
        file=_log_file(settings, chat_in_terminal),
        json_lines=settings.logging.format == "json",
        max_bytes=settings.logging.max_bytes,
        backup_count=settings.logging.backup_count,
    )
    if chat_in_terminal:
        from bot.i18n import Translator

        t = Translator(settings.bot.language, settings.tz)
        print(t("console.log_file", path=_log_file(settings, chat_in_terminal)))
    try:
        return asyncio.run(_dispatch(args, settings))
    except KeyboardInterrupt:
        return 0
    except Exception as exc:
        from bot.startup_errors import explain

        plain = explain(exc)
        if plain is None:
            raise  # a bug: the traceback is printed with secrets masked (logs.setup)
        print(redactor.redact(plain), file=sys.stderr)
        return 2


def _log_file(settings: Settings, chat_in_terminal: bool) -> Path | None:
    """`[logging] file`; else stderr (journald, docker), or the console chat's own file."""
    if settings.logging.file:
        return Path(settings.logging.file)
    return CONSOLE_LOG if chat_in_terminal else None


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    from bot import admin_cli, runtime
    from bot.backup import commands as backup_commands

    if args.command == "routes":
        from bot.routes import print_routes

        return print_routes()
    if args.command == "run":
        if settings.telegram.enabled or settings.zalo.enabled:
            from bot.adapters.zalo import ZaloStartupError

            try:
                await runtime.run_bots(settings, delivery=not args.no_delivery)
            except ZaloStartupError as exc:
                print(exc, file=sys.stderr)
                return 2
        else:
            print("Chưa cấu hình token Telegram: mở chat console (xem README để chạy Telegram).")
            await runtime.run_console(settings, "1001", "Khách")
        return 0
    if args.command == "worker":
        if not (settings.telegram.enabled or settings.zalo.enabled):
            print("`congdoan worker` cần token Telegram hoặc Zalo trong cấu hình.", file=sys.stderr)
            return 2
        await runtime.run_worker(settings)
        return 0
    if args.command == "console":
        await runtime.run_console(settings, args.user, args.name)
        return 0
    if args.command == "check":
        return await admin_cli.check(settings)
    if args.command == "db" and args.action == "copy":
        return await backup_commands.copy(settings, args.to)
    if args.command == "db":
        return await admin_cli.db(settings, args.action)
    if args.command == "backup":
        return await backup_commands.backup(settings)
    if args.command == "restore":
        return await backup_commands.restore(settings, args.file)
    if args.command == "members" and args.action == "import":
        return await admin_cli.import_members(settings, args.file, date.today())
    if args.command == "members" and args.action == "export":
        return await admin_cli.export_members(settings, args.unit, args.out)
    if args.command == "roles":
        return await admin_cli.roles(settings, args.action, args.member, args.role, args.unit)
    if args.command == "units" and args.action == "add":
        return await admin_cli.add_unit(settings, args.code, args.name, args.kind, args.parent)
    if args.command == "units":
        return await admin_cli.list_units(settings)
    if args.command == "thidua":
        return await admin_cli.open_campaign_file(settings, args.file)
    return 1


if __name__ == "__main__":
    sys.exit(main())
