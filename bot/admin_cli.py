"""The admin subcommands of `congdoan`: check, db, members import/export, roles, units."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Literal

import httpx

from bot.config import ConfigError, Settings
from bot.i18n import Translator
from bot.runtime import build_app
from models import audit, members, units
from models import db as database
from models import roles as role_model
from models.types import utcnow


async def check(settings: Settings) -> int:
    """Print what works and what to fix; exit code 1 if anything is wrong."""
    problems = 0
    print(
        f"✔ Cấu hình hợp lệ ({len(settings.units)} đơn vị khai báo, "
        f"ngôn ngữ {settings.bot.language}, múi giờ {settings.bot.timezone})"
    )
    try:
        await asyncio.to_thread(database.upgrade, settings.database.url)
        current = await asyncio.to_thread(database.current_revision, settings.database.url)
        head = database.head_revision(settings.database.url)
        print(f"✔ Cơ sở dữ liệu: phiên bản {current} (mới nhất {head})")
    except Exception as exc:
        print(f"✖ Cơ sở dữ liệu: {type(exc).__name__}: {exc}")
        problems += 1
    if not settings.bot.admins:
        print("! Chưa có quản trị viên: thêm bot.admins trong config.toml (xem /toi trong bot)")
    if settings.telegram.enabled:
        token = settings.telegram.token.get_secret_value()
        url = f"{settings.telegram.base_url}{token}/getMe"
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                data = (await client.get(url)).json()
            if data.get("ok"):
                print(f"✔ Token Telegram hợp lệ: @{data['result']['username']}")
            else:
                print(
                    f"✖ Token Telegram bị từ chối: {data.get('description')}. "
                    "Kiểm tra telegram.token hoặc CONGDOAN_TELEGRAM_TOKEN."
                )
                problems += 1
        except httpx.HTTPError as exc:
            print(
                f"✖ Không kết nối được Telegram ({type(exc).__name__}). "
                "Kiểm tra mạng hoặc telegram.base_url."
            )
            problems += 1
    else:
        print("• Chưa có token Telegram.")
    if settings.zalo.enabled:
        problems += await _check_zalo(settings)
    else:
        print("• Chưa có token Zalo.")
    if not settings.telegram.enabled and not settings.zalo.enabled:
        print("• `congdoan run` sẽ mở chat console.")
    from bot.backup.commands import status as backup_status

    for line in backup_status(settings, utcnow()):
        print(line)
        problems += line.startswith("✖")
    return 1 if problems else 0


async def _check_zalo(settings: Settings) -> int:
    from bot.adapters.zalo_api import ZaloApi, ZaloApiError

    api = ZaloApi(settings.zalo.token.get_secret_value(), base_url=settings.zalo.base_url)
    try:
        me = await api.get_me()
    except ZaloApiError as exc:
        if exc.error_code == 401:
            print(
                f"✖ Token Zalo bị từ chối (401: {exc.description}). "
                "Kiểm tra zalo.token hoặc CONGDOAN_ZALO_TOKEN."
            )
        else:
            print(f"✖ Zalo trả lỗi {exc.error_code} ({exc.description}); thử lại sau.")
        return 1
    except httpx.HTTPError as exc:
        print(
            f"✖ Không kết nối được Zalo ({type(exc).__name__}). Kiểm tra mạng hoặc zalo.base_url."
        )
        return 1
    finally:
        await api.aclose()
    print(f"✔ Token Zalo hợp lệ: {me.get('account_name') or me.get('display_name') or '?'}")
    if me.get("can_join_groups") is True:
        print("✔ Zalo cho bot vào nhóm (can_join_groups): liên kết nhóm Zalo dùng được.")
    else:
        print(
            "• Zalo chưa cho bot này vào nhóm (can_join_groups = false): trên Zalo bot chỉ "
            "nhắn riêng; thông báo «gửi vào các nhóm» bỏ qua nhóm Zalo."
        )
    if settings.zalo.mode == "polling" and settings.web.public_url:
        print(
            "! Zalo đang chạy kiểu polling dù đã có web.public_url: Zalo khuyên dùng webhook "
            'khi chạy thật «để tránh bỏ lỡ event». Đặt zalo.mode = "webhook", zalo.webhook_url '
            f"= {settings.web.public_url.rstrip('/')}/zalo/webhook và zalo.webhook_secret."
        )
    return 0


async def db(settings: Settings, action: str) -> int:
    if action == "upgrade":
        await asyncio.to_thread(database.upgrade, settings.database.url)
    current = await asyncio.to_thread(database.current_revision, settings.database.url)
    print(f"Phiên bản cơ sở dữ liệu: {current}")
    return 0


async def import_members(settings: Settings, file: Path, today: date) -> int:
    if not file.exists():
        print(f"Không tìm thấy tệp {file}")
        return 2
    app = await build_app(settings)
    from handlers.members.roster import import_roster

    async with app.db.session() as session:
        t = Translator(settings.bot.language, settings.tz)
        report = await import_roster(session, file, today, t)
        audit.record(
            session,
            at=utcnow(),
            actor="cli",
            action="roster_imported",
            target=file.name,
            detail={
                "created": report.created,
                "updated": report.updated,
                "skipped": report.skipped,
            },
        )
        await session.commit()
    await app.db.dispose()
    print(f"Đã nhập: {report.created} mới, {report.updated} cập nhật, {report.skipped} bỏ qua.")
    for error in report.errors:
        print(f"  - {error}")
    return 0 if not report.errors else 1


async def export_members(settings: Settings, unit_code: str | None, out: Path) -> int:
    app = await build_app(settings)
    from handlers.members.roster import export_members as export

    t = Translator(settings.bot.language, settings.tz)
    async with app.db.session() as session:
        if unit_code:
            root = await units.by_code(session, unit_code)
            if root is None:
                print(f"Không có đơn vị mã {unit_code}")
                return 2
            roots = [root]
        else:
            roots = [u for u in await units.all_units(session) if u.parent_id is None]
        title = t("xlsx.title", unit=", ".join(r.name for r in roots), date=t.date(date.today()))
        out.write_bytes(await export(session, roots, t, title=title))
        audit.record(
            session,
            at=utcnow(),
            actor="cli",
            action="members_exported",
            target=",".join(r.code for r in roots),
        )
        await session.commit()
    await app.db.dispose()
    print(f"Đã xuất {out}")
    return 0


async def roles(
    settings: Settings, action: str, member_id: int | None, role: str | None, unit_code: str | None
) -> int:
    app = await build_app(settings)
    try:
        async with app.db.session() as session:
            if action == "list":
                for member_ids in [await role_model.all_board_member_ids(session)]:
                    for mid in member_ids:
                        member = await members.get(session, mid)
                        for r, u in await role_model.of_member(session, mid):
                            print(f"#{mid} {member.full_name if member else '?'}: {r} @ {u.code}")
                return 0
            member = await members.get(session, member_id) if member_id else None
            unit = await units.by_code(session, unit_code or "")
            if member is None or unit is None or role is None:
                print("Cần --member <mã>, --role và --unit <mã đơn vị> hợp lệ.")
                return 2
            assert member.id is not None
            if action == "grant":
                changed = await role_model.grant(session, member.id, role, unit, "cli")
            else:
                changed = await role_model.revoke(session, member.id, role, unit)
            audit.record(
                session,
                at=utcnow(),
                actor="cli",
                action=f"role_{action}",
                target=f"member:{member.id}",
                detail={"role": role, "unit": unit.code},
            )
            await session.commit()
            print(
                ("Đã cập nhật" if changed else "Không có thay đổi")
                + f": #{member.id} {member.full_name} — {role} @ {unit.code}"
            )
            return 0
    finally:
        await app.db.dispose()


async def list_units(settings: Settings) -> int:
    app = await build_app(settings)
    async with app.db.session() as session:
        for unit in await units.all_units(session):
            depth = unit.path.count("/") - 2
            print(f"{'  ' * depth}{unit.code:<12} {unit.name} ({unit.kind})")
    await app.db.dispose()
    return 0


async def add_unit(
    settings: Settings,
    code: str | None,
    name: str | None,
    kind: Literal["cdcs", "cdbp", "to"],
    parent_code: str,
) -> int:
    """Create or update a unit (units in config.toml are re-applied at every start)."""
    from bot.config import UnitSection

    try:
        spec = UnitSection(code=code or "", name=name or "", kind=kind, parent=parent_code)
    except ValueError as exc:
        print(f"Đơn vị không hợp lệ: {exc}")
        return 2
    app = await build_app(settings)
    try:
        async with app.db.session() as session:
            parent = await units.by_code(session, spec.parent) if spec.parent else None
            if spec.parent and parent is None:
                print(f"Không có đơn vị cấp trên mã {spec.parent}")
                return 2
            unit = await units.upsert(session, spec.code, spec.name, spec.kind, parent)
            audit.record(
                session, at=utcnow(), actor="cli", action="unit_saved", target=f"unit:{unit.code}"
            )
            await session.commit()
            print(f"Đã lưu đơn vị {unit.code}: {unit.name}")
            return 0
    finally:
        await app.db.dispose()


async def open_campaign_file(settings: Settings, file: Path) -> int:
    """Open an emulation campaign from a file; a running bot sends the launch notice within a
    second (its delivery workers poll the outbox) and the reminders at their time."""
    from handlers.emulation import campaign_file as emulation_file
    from handlers.emulation.campaign import launch_campaign
    from models import emulation

    now = utcnow()
    try:
        spec, titles, targets = emulation_file.load(
            file, settings, now.astimezone(settings.tz).date()
        )
    except ConfigError as exc:
        print(f"Tệp phong trào không hợp lệ: {exc}")
        return 2
    app = await build_app(settings)
    try:
        async with app.db.session() as session:
            unit = await units.by_code(session, spec.unit)
            if unit is None or unit.id is None:
                print(f"Không có đơn vị mã {spec.unit}")
                return 2
            if await emulation.for_unit_year(session, unit.id, spec.year) is not None:
                print(
                    f"{unit.name} đã có phong trào thi đua năm {spec.year}; sửa bằng /thidua_sua."
                )
                return 2
            campaign, queued = await launch_campaign(
                app,
                session,
                unit,
                year=spec.year,
                deadline=emulation_file.deadline_at(spec, settings),
                titles=titles,
                targets=targets,
                created_by=None,
                now=now,
            )
            audit.record(
                session,
                at=now,
                actor="cli",
                action="emulation_opened",
                target=f"campaign:{campaign.id}",
                detail={"year": spec.year, "file": file.name},
            )
            await session.commit()
        print(
            f"Đã phát động thi đua năm {spec.year} cho {unit.name}: {len(titles)} danh hiệu, "
            f"{len(targets)} chỉ tiêu; thông báo xếp hàng gửi tới {queued} đoàn viên."
        )
        return 0
    finally:
        await app.db.dispose()
