"""/start, the button menus and /trogiup: what this person can do, by role."""

from __future__ import annotations

from bot.chat import Button, Message
from bot.context import Context
from bot.links import GROUP_TOKEN
from bot.registry import CommandSpec, press_parts
from handlers import registry
from handlers.common.menu import MENU_COMMANDS, member_menu
from handlers.members.registration import begin


@registry.command("start", "batdau", access="anyone", where="any")
async def start(ctx: Context) -> None:
    if not ctx.event.is_private:
        await group_start(ctx)
        return
    status = ctx.member.status if ctx.member else None
    if status == "pending":
        ctx.reply(ctx.t("reg.already_pending"))
    elif status == "active" or ctx.is_config_admin:
        ctx.reply(member_menu(ctx, greeting=True))
    else:
        await begin(ctx, ctx.event.args.strip())


async def group_start(ctx: Context) -> None:
    if ctx.event.args.strip().startswith(GROUP_TOKEN):
        # The bot was added with the board's link (?startgroup=): linking, with its rules.
        await ctx.app.run_command(ctx, "lienketnhom")
        return
    link = ctx.private_link()
    buttons = [[Button(ctx.t("group.open_private"), url=link)]] if link else []
    ctx.reply(Message(ctx.t("group.hello"), buttons=buttons))


@registry.command("menu", access="anyone", where="private", help_key="help.cmd.menu")
async def menu(ctx: Context) -> None:
    if not (ctx.is_active_member or ctx.is_config_admin):
        await begin(ctx)
        return
    ctx.reply(member_menu(ctx))


@registry.button("cmd")
async def menu_button(ctx: Context) -> None:
    """A menu button runs its command exactly as if it had been typed."""
    (name,) = press_parts(ctx.press_args, MENU_COMMANDS)
    await ctx.app.run_command(ctx, name)


# Open to members, but useful only to those who organise (the board, a tổ trưởng for their tổ):
# the others would only be refused.
ORGANISER_COMMANDS = frozenset({"hop", "quanlyhop", "thidua_tapthe"})


def _visible(ctx: Context, spec: CommandSpec) -> bool:
    if spec.help_key is None:
        return False
    if spec.name in ORGANISER_COMMANDS:
        return ctx.is_board or any(role == "to_truong" for role, _ in ctx.roles)
    if spec.access == "board":
        return ctx.is_board
    if spec.access == "admin":
        return ctx.is_admin
    if spec.access == "member":
        return ctx.is_active_member or ctx.is_config_admin
    return True


@registry.command("trogiup", "help", access="anyone", where="any", help_key="help.cmd.trogiup")
async def help_command(ctx: Context) -> None:
    ctx.reply(build_help(ctx))


@registry.on_fallback
async def fallback(ctx: Context) -> None:
    ctx.reply(build_help(ctx))


# The order people read the help in: getting started, everyday use, then the board's tools.
HELP_ORDER = [
    "dangky",
    "menu",
    "hoso",
    "lichhop",
    "diemdanh",
    "thidua",
    "thidua_tudanhgia",
    "thidua_tapthe",
    "binhchon",
    "ketqua",
    "tinmoi",
    "hop",
    "quanlyhop",
    "trogiup",
    "huy",
    "ngonngu",
    "lienket",
    "toi",
    "choduyet",
    "doanvien",
    "timkiem",
    "xuatds",
    "thongbao",
    "huythongbao",
    "thidua_mo",
    "thidua_sua",
    "thidua_baocao",
    "thidua_xet",
    "baocaohop",
    "lienketnhom",
    "huylienket",
    "phanquyen",
]


def _help_rank(spec: CommandSpec) -> int:
    return HELP_ORDER.index(spec.name) if spec.name in HELP_ORDER else len(HELP_ORDER)


def build_help(ctx: Context) -> Message:
    t = ctx.t
    lines = []
    if ctx.notice:
        key, params = ctx.notice
        lines += [t(key, **params), ""]
    lines.append(t("help.title"))
    groups = {"member": [], "board": []}  # type: dict[str, list[str]]
    for spec in sorted(registry.commands.values(), key=_help_rank):
        if _visible(ctx, spec) and (ctx.event.is_private or spec.where != "private"):
            section = "board" if spec.access in ("board", "admin") else "member"
            groups[section].append(f"/{spec.name} — {t(spec.help_key or '')}")
    lines += groups["member"]
    if groups["board"]:
        lines += ["", t("help.board_title"), *groups["board"]]
    if not (ctx.is_active_member or ctx.is_config_admin) and ctx.event.is_private:
        lines += ["", t("help.not_member_hint")]
    return Message("\n".join(lines))
