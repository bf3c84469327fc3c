"""What handlers register: commands, button payload prefixes and dialog flows.

Handlers declare who may use a command (`access`) and where (`where`); the router enforces it,
so a feature cannot forget a permission check.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Coroutine, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from bot import textutil
from bot.webui.pages import PageRegistry

if TYPE_CHECKING:
    from bot.context import Context

Handler = Callable[["Context"], Awaitable[None]]
# "organiser": the board or a tổ trưởng (in a group chat: any member, for that group).
Access = Literal["anyone", "member", "organiser", "board", "admin"]
Where = Literal["private", "group", "any"]

PAYLOAD_VERSION = "v1"


@dataclass(frozen=True)
class CommandSpec:
    name: str
    handler: Handler
    access: Access
    where: Where
    help_key: str | None
    # Shown in the platform's command menu and in the button menu.
    menu: bool


class Registry:
    def __init__(self) -> None:
        self.commands: dict[str, CommandSpec] = {}
        self.buttons: dict[str, tuple[Handler, Access]] = {}
        self.flows: dict[str, Handler] = {}
        # The refusal a command or button gives instead of the default one, by "/name" or
        # "button:prefix" (e.g. "meetings are for the board and tổ trưởng").
        self.refusals: dict[str, str] = {}
        self.group_change: Handler | None = None
        # Answers input nobody else wants (help instead of silence).
        self.fallback: Handler | None = None
        # Native poll answers (a person's choice) and poll states (the platform's counts).
        self.poll_answer: Handler | None = None
        self.poll_state: Callable[[Any, Any, Any], Awaitable[None]] | None = None
        # Plain text outside any dialog, tried before the fallback (e.g. "1,3" answering a
        # numbered text poll); returns True when it took the text.
        self.text_hooks: list[Callable[[Any], Awaitable[bool]]] = []
        # A poll went out (the delivery engine, after the platform accepted it): PollSent.
        self.poll_sent: Callable[[Any, Any], Awaitable[None]] | None = None
        # Pages a fan-out job's audience into recipients: (session, spec, cursor, limit) →
        # (recipients, next cursor or None when done). See bot/fanout.py.
        self.expand_audience: Callable[..., Awaitable[Any]] | None = None
        # Run once the delivery workers start (e.g. telling the platform decisions a stop
        # interrupted): each gets the app.
        self.start_hooks: list[Callable[[Any], Coroutine[Any, Any, None]]] = []
        # The web pages features serve (bot/webui/pages.py).
        self.pages = PageRegistry()

    def expander(self, func: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        self.expand_audience = func
        return func

    def command(
        self,
        *names: str,
        access: Access = "anyone",
        where: Where = "private",
        help_key: str | None = None,
        menu: bool = False,
        refused: str | None = None,
    ) -> Callable[[Handler], Handler]:
        def register(func: Handler) -> Handler:
            for index, name in enumerate(names):
                if name in self.commands:
                    raise ValueError(f"command /{name} registered twice")
                if refused:
                    self.refusals[f"/{name}"] = refused
                primary = index == 0
                self.commands[name] = CommandSpec(
                    name, func, access, where, help_key if primary else None, menu and primary
                )
            return func

        return register

    def button(
        self, prefix: str, *, access: Access = "anyone", refused: str | None = None
    ) -> Callable[[Handler], Handler]:
        def register(func: Handler) -> Handler:
            if prefix in self.buttons:
                raise ValueError(f"button prefix {prefix} registered twice")
            self.buttons[prefix] = (func, access)
            if refused:
                self.refusals[f"button:{prefix}"] = refused
            return func

        return register

    def flow(self, name: str) -> Callable[[Handler], Handler]:
        def register(func: Handler) -> Handler:
            if name in self.flows:
                raise ValueError(f"dialog flow {name} registered twice")
            self.flows[name] = func
            return func

        return register

    def on_fallback(self, func: Handler) -> Handler:
        self.fallback = func
        return func

    def on_group_change(self, func: Handler) -> Handler:
        self.group_change = func
        return func

    def on_poll_answer(self, func: Handler) -> Handler:
        self.poll_answer = func
        return func

    def on_poll_state(
        self, func: Callable[[Any, Any, Any], Awaitable[None]]
    ) -> Callable[[Any, Any, Any], Awaitable[None]]:
        self.poll_state = func
        return func

    def on_poll_sent(
        self, func: Callable[[Any, Any], Awaitable[None]]
    ) -> Callable[[Any, Any], Awaitable[None]]:
        self.poll_sent = func
        return func

    def on_start(
        self, func: Callable[[Any], Coroutine[Any, Any, None]]
    ) -> Callable[[Any], Coroutine[Any, Any, None]]:
        self.start_hooks.append(func)
        return func

    def on_text(self, func: Callable[[Any], Awaitable[bool]]) -> Callable[[Any], Awaitable[bool]]:
        self.text_hooks.append(func)
        return func


def payload(prefix: str, *parts: object) -> str:
    """A short, versioned button payload: "v1:reg:ok:42" (Telegram allows 64 bytes)."""
    text = ":".join([PAYLOAD_VERSION, prefix, *(str(p) for p in parts)])
    if len(text.encode()) > 64:
        raise ValueError(f"button payload too long: {text}")
    return text


def parse_payload(text: str) -> tuple[str, list[str]] | None:
    """(prefix, args) for a current payload; None for a foreign or outdated one."""
    version, _, rest = text.partition(":")
    if version != PAYLOAD_VERSION or not rest:
        return None
    prefix, *args = rest.split(":")
    return prefix, args


# --- reading a press ----------------------------------------------------------------------------
class OutdatedPress(Exception):
    """A press of a payload the bot never offered (forged, garbled, left over from an older
    version of the bot), or of one whose object is gone or has moved on (a deleted meeting, a
    decided request). A handler raises it instead of answering; the router then keeps nothing
    of the update and answers "button.outdated" — and with `end_dialog`, also ends the
    person's dialog, which cannot go on."""

    def __init__(self, part: object = "", *, end_dialog: bool = False) -> None:
        super().__init__(part)
        self.end_dialog = end_dialog


@dataclass(frozen=True)
class Number:
    """A payload part that is a number (an id, a page) between `low` and `high`."""

    low: int = 0
    high: int = textutil.MAX_ID


ID = Number(low=1)
PAGE = Number(high=100_000)
# What a payload part may be: None (no part there), the values offered, a Number, or a function
# reading the part (raising OutdatedPress).
PartSpec = None | Collection[str] | Number | Callable[[str], Any]


def code_part(part: str) -> str:
    """A code part (a title's code) the handler then looks up in its own list."""
    if not part or part != part.strip() or len(part) > 32:
        raise OutdatedPress(part)
    return part


def press_number(part: str, spec: Number = ID) -> int:
    """A number part of a payload; the bot writes them as plain ASCII digits, nothing else."""
    if part != part.strip():
        raise OutdatedPress(part)
    try:
        return textutil.parse_number(part, low=spec.low, high=spec.high)
    except textutil.InvalidInput:
        raise OutdatedPress(part) from None


def press_part(part: str | None, spec: PartSpec) -> Any:
    """One part of a payload read against what the bot offers there: "" when no part is
    expected, an int for a Number, the value itself when it is one of those offered."""
    if spec is None:
        if part is not None:
            raise OutdatedPress(part)
        return ""
    if part is None:
        raise OutdatedPress("missing part")
    if isinstance(spec, Number):
        return press_number(part, spec)
    if callable(spec):
        return spec(part)
    if part not in spec:
        raise OutdatedPress(part)
    return part


def press_parts(args: Sequence[str], *specs: PartSpec) -> list[Any]:
    """The parts of a payload after its prefix, each read with its spec; a payload with more
    parts than specs is one the bot never made."""
    if len(args) > len(specs):
        raise OutdatedPress("extra parts")
    padded: list[str | None] = [*args, *[None] * (len(specs) - len(args))]
    return [press_part(part, spec) for part, spec in zip(padded, specs, strict=True)]
