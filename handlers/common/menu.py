"""The button menu a member gets (/menu, /start, after registering): the commands it offers
depend on who is asking."""

from __future__ import annotations

from bot.chat import Button, Message
from bot.context import Context
from bot.registry import payload

# Menu buttons run these commands; order is what people see.
MEMBER_MENU = ["hoso", "lichhop", "thidua", "tinmoi", "trogiup", "ngonngu"]
BOARD_MENU = [
    "thongbao",
    "hop",
    "thidua_mo",
    "thidua_baocao",
    "choduyet",
    "doanvien",
    "timkiem",
    "xuatds",
]


def member_menu(ctx: Context, greeting: bool = False) -> Message:
    t = ctx.t
    # a tổ trưởng (an organiser who is not on the board) calls the tổ's meetings
    names = MEMBER_MENU + (BOARD_MENU if ctx.is_board else ["hop"] if ctx.is_organiser else [])
    buttons = [
        [Button(t(f"menu.{n}"), payload("cmd", n)) for n in names[i : i + 2]]
        for i in range(0, len(names), 2)
    ]
    name = ctx.member.full_name if ctx.member else ctx.event.user_name
    text = t("menu.greeting", name=name) if greeting else t("menu.title")
    if ctx.is_board:
        text += "\n" + t("menu.board_hint")
    return Message(text, buttons=buttons)


# Every command a menu button may carry.
MENU_COMMANDS = frozenset([*MEMBER_MENU, *BOARD_MENU, "hop"])
