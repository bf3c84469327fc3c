"""What a handler gets: the event, the person, a database session, and ways to answer."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.chat import Address, Capabilities, Event, Message
from bot.i18n import Translator
from models import audit as audit_log
from models import dialogs
from models.dialogs import DialogState
from models.members import Identity, Member
from models.roles import ADMIN, BOARD_ROLES, TO_TRUONG
from models.units import Unit

if TYPE_CHECKING:
    from bot.app import App


@dataclass
class Outgoing:
    address: Address
    message: Message


@dataclass
class Context:
    app: App
    event: Event
    session: AsyncSession
    identity: Identity
    member: Member | None
    roles: Sequence[tuple[str, Unit]]
    is_config_admin: bool
    dialog: DialogState | None
    t: Translator
    caps: Capabilities
    now: datetime
    # Filled by the handler, sent by the router after the database commit.
    outgoing: list[Outgoing] = field(default_factory=list)
    # Why the fallback handler was called: (catalog key, params).
    notice: tuple[str, dict[str, Any]] | None = None
    # Set when the handler planned timed actions: the scheduler re-arms after the commit.
    replan: bool = False
    # Slow follow-up work (e.g. a big spreadsheet), started only after the commit and after
    # the replies went out: it never runs for a step that was rolled back.
    followups: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)

    # --- who is asking -------------------------------------------------------------
    @property
    def actor(self) -> str:
        return self.event.address

    @property
    def is_active_member(self) -> bool:
        return self.member is not None and self.member.status == "active"

    @property
    def is_admin(self) -> bool:
        return self.is_config_admin or any(role == ADMIN for role, _ in self.roles)

    @property
    def is_board(self) -> bool:
        return self.is_config_admin or any(role in BOARD_ROLES for role, _ in self.roles)

    @property
    def is_organiser(self) -> bool:
        """The board, or a tổ trưởng: calls meetings, makes polls for members, registers a
        tổ for a collective title (the router's "organiser" access)."""
        return self.is_board or any(role == TO_TRUONG for role, _ in self.roles)

    def may(self, access: str) -> bool:
        """Whether this person has a registry access level ("anyone", "member", "organiser",
        "board", "admin"): the one rule the router and the web pages both apply."""
        if access == "anyone":
            return True
        if access == "member":
            return self.is_active_member or self.is_config_admin
        if access == "organiser":
            return self.is_organiser or (not self.event.is_private and self.is_active_member)
        if access == "board":
            return self.is_board
        return access == "admin" and self.is_admin

    async def organiser_roots(self) -> list[Unit]:
        """The units this person organises for: the board's, and a tổ trưởng's own tổ."""
        roots = await self.board_roots()
        own = [u for role, u in self.roles if role == TO_TRUONG]
        return roots + [u for u in own if not any(r.contains(u) for r in roots)]

    async def can_organise(self, unit: Unit) -> bool:
        return any(root.contains(unit) for root in await self.organiser_roots())

    async def board_roots(self) -> list[Unit]:
        """The top units this person manages (config admins manage every top unit)."""
        if self.is_config_admin:
            from models import units

            return [u for u in await units.all_units(self.session) if u.parent_id is None]
        roots = [unit for role, unit in self.roles if role in BOARD_ROLES]
        return [u for u in roots if not any(o is not u and o.contains(u) for o in roots)]

    async def can_manage(self, unit: Unit) -> bool:
        return any(root.contains(unit) for root in await self.board_roots())

    async def manages(self, unit: Unit, target: str) -> bool:
        """True if this board member manages `unit`; otherwise refuse politely and log it."""
        if await self.can_manage(unit):
            return True
        self.refuse(target, "board of unit")
        return False

    def refuse(self, target: str, needed: str) -> None:
        self.audit("access_denied", target=target, needed=needed)
        self.reply(self.t("access.not_your_unit"))

    @property
    def press_args(self) -> list[str]:
        """The parts of a pressed button's payload after "v1:<prefix>:"."""
        return (self.event.payload or "").split(":")[2:]

    # --- answering -------------------------------------------------------------------
    def reply(self, message: Message | str) -> None:
        if isinstance(message, str):
            message = Message(message)
        if not self.event.is_private:  # an answer to one person in a group, in their topic
            thread = message.thread_id or self.event.thread_id
            message = replace(message, for_user=self.event.user_id, thread_id=thread)
        event = self.event  # through the bot it came by
        address = Address(event.platform, event.chat_id, event.bot or event.platform)
        self.outgoing.append(Outgoing(address, message))

    def send_to(self, identity: Identity, build: Callable[[Translator], Message]) -> None:
        """Send to someone else's private chat, in their own language."""
        t = self.app.translator(identity.language, identity.platform)
        address = Address(identity.platform, identity.user_id, identity.bot or identity.platform)
        self.outgoing.append(Outgoing(address, build(t)))

    def private_link(self, start: str = "") -> str | None:
        return self.app.private_link(self.event.platform, start, self.event.bot)

    # --- dialogs ---------------------------------------------------------------------
    async def set_dialog(self, flow: str, step: str, data: dict[str, Any]) -> None:
        ttl = timedelta(hours=self.app.settings.bot.dialog_timeout_hours)
        self.dialog = await dialogs.save(
            self.session,
            self.event.platform,
            self.event.user_id,
            flow=flow,
            step=step,
            data=data,
            now=self.now,
            ttl=ttl,
        )

    async def end_dialog(self) -> None:
        await dialogs.clear(self.session, self.event.platform, self.event.user_id)
        self.dialog = None

    # --- accountability --------------------------------------------------------------
    def audit(self, action: str, target: str = "", **detail: Any) -> None:
        audit_log.record(
            self.session,
            at=self.now,
            actor=self.actor,
            action=action,
            target=target,
            actor_member_id=self.member.id if self.member else None,
            detail=detail,
        )
