"""A terminal chat with the same handlers: try every flow with no token.

Buttons appear as numbered choices ("[1] Duyệt"); type the number to press one. Documents are
saved under data/exports/. Lines starting with ":" talk to the console itself:
  :nguoi 1 Quản trị   act as another user (e.g. the admin from config.toml, to approve requests)
  :thoat              quit
"""

from __future__ import annotations

import asyncio
import re
import sys
import uuid
from pathlib import Path
from typing import Any, TextIO

from bot.app import App
from bot.chat import Capabilities, Event, Message
from bot.i18n import Translator
from bot.ratelimit import Limits, RateLimiter
from bot.textutil import CHOICE_REPLY, choice_by_label, number_or_none, split_text
from models import members

CAPS = Capabilities(
    inline_buttons=False,
    native_polls=False,
    request_contact=False,
    max_text_length=4000,
)


class ConsoleAdapter:
    platform = "console"
    caps = CAPS

    def __init__(
        self,
        app: App,
        user_id: str,
        user_name: str,
        *,
        out: TextIO | None = None,
        export_dir: Path = Path("data/exports"),
    ) -> None:
        self.app = app
        self.user_id, self.user_name = user_id, user_name
        self.out = out or sys.stdout
        self.export_dir = export_dir
        # The numbered choices last shown to each console user, and their labels (typing a
        # label works like typing its number).
        self._choices: dict[str, list[str]] = {}
        self._labels: dict[str, list[str]] = {}
        # The later presses of a typed "1,4", handled after the first.
        self._pending_presses: list[str] = []
        # A terminal has no flood limits; the delivery engine still expects a limiter.
        self.limiter = RateLimiter(
            Limits(global_count=1000, chat_count=1000, group_count=1000, margin=0.0)
        )

    def must_wait(self, chat_id: str) -> bool:
        return False  # a terminal has no pace

    def private_link(self, start: str) -> str | None:
        return None

    def _print(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    async def _person(self, user_id: str) -> tuple[Translator, str | None]:
        """The console's own words in this person's language, and their registered name."""
        async with self.app.db.session() as session:
            identity = await members.identity(session, self.platform, user_id)
            member = (
                await members.get(session, identity.member_id)
                if identity is not None and identity.member_id is not None
                else None
            )
        language = identity.language if identity is not None else None
        return self.app.translator(language), member.full_name if member else None

    async def send(self, chat_id: str, message: Message, *, bulk: bool = False) -> str | None:
        t, _ = await self._person(self.user_id)  # the one at the keyboard reads it
        if chat_id != self.user_id:
            self._print("\n" + t("console.to_other", chat=chat_id))
        for chunk in split_text(message.text, self.caps.max_text_length):
            self._print(chunk)
        payloads: list[str] = []
        labels: list[str] = []
        # Several cards at once: this one's numbers follow the previous card's.
        shown = self._choices.get(chat_id, []) if message.more_choices else []
        for row in message.buttons:
            for button in row:
                if button.payload:
                    payloads.append(button.payload)
                    labels.append(button.label)
                    self._print(f"  [{len(shown) + len(payloads)}] {button.label}")
                elif button.url:
                    self._print(f"  [link] {button.label}: {button.url}")
        if payloads:
            if message.more_choices:
                payloads = shown + payloads
                labels = self._labels.get(chat_id, [""] * len(shown)) + labels
            self._choices[chat_id], self._labels[chat_id] = payloads, labels
            self._print("  " + t("console.choose"))
        elif message.poll is not None:
            # A numbered text poll: the next "1" answers it, not an older message's buttons.
            self._choices.pop(chat_id, None)
            self._labels.pop(chat_id, None)
        for file in (message.document, message.image):
            if file is not None:
                self.export_dir.mkdir(parents=True, exist_ok=True)
                path = self.export_dir / file.filename
                path.write_bytes(file.content)
                self._print("  " + t("console.saved", path=path))
        self._print("")
        return None

    def to_event(self, line: str) -> Event | None:
        text = line.strip()
        base: dict[str, Any] = dict(
            platform=self.platform,
            event_id=uuid.uuid4().hex,
            chat_id=self.user_id,
            chat_kind="private",
            user_id=self.user_id,
            user_name=self.user_name,
        )
        choices = self._choices.get(self.user_id, [])
        number = number_or_none(text, low=1, high=len(choices)) if choices else None
        if number is not None:
            return Event(**base, payload=choices[number - 1])
        if choices and CHOICE_REPLY.match(text):  # "1,4" on a multi-select: the first press
            self._pending_presses = self._presses(text, choices)
            if self._pending_presses:
                return Event(**base, payload=self._pending_presses.pop(0))
        if text.startswith("/") and len(text) > 1:
            command, _, args = text[1:].partition(" ")
            return Event(**base, command=command.lower(), args=args.strip())
        named = choice_by_label(text, self._labels.get(self.user_id, []))
        if named is not None and named < len(choices):  # a choice's label typed out
            return Event(**base, payload=choices[named])
        return Event(**base, text=line.rstrip("\n"))

    async def feed(self, line: str) -> bool:
        """Handle one typed line; False when the user asked to quit."""
        stripped = line.strip()
        if stripped.startswith(":"):
            return await self._meta(stripped[1:])
        self._pending_presses = []
        event = self.to_event(line)
        if event is not None:
            await self.app.handle(event)
        while self._pending_presses:  # the rest of "1,4", in order, as Zalo does
            payload = self._pending_presses.pop(0)
            await self.app.handle(self._press_event(payload))
        return True

    @staticmethod
    def _presses(text: str, choices: list[str]) -> list[str]:
        numbers = [number_or_none(n, low=1, high=len(choices)) for n in re.findall("[0-9]+", text)]
        if not numbers or None in numbers:
            return []
        return [choices[n - 1] for n in numbers if n is not None]

    def _press_event(self, payload: str) -> Event:
        return Event(
            platform=self.platform,
            event_id=uuid.uuid4().hex,
            chat_id=self.user_id,
            chat_kind="private",
            user_id=self.user_id,
            user_name=self.user_name,
            payload=payload,
        )

    async def _meta(self, command: str) -> bool:
        name, _, rest = command.partition(" ")
        if name in ("thoat", "quit", "q"):
            return False
        t, _ = await self._person(self.user_id)
        if name in ("nguoi", "user"):
            user_id, _, user_name = rest.strip().partition(" ")
            if not user_id:
                self._print(t("console.usage_user"))
                return True
            t, registered = await self._person(user_id)
            typed = user_name.strip()
            self.user_id = user_id
            self.user_name = typed or registered or t("console.user_n", id=user_id)
            shown = registered or self.user_name
            self._print(t("console.now_user", id=self.user_id, name=shown) + "\n")
            return True
        self._print(t("console.help") + "\n")
        return True

    async def run(self, stdin: TextIO | None = None) -> None:
        source = stdin or sys.stdin
        loop = asyncio.get_running_loop()
        t, registered = await self._person(self.user_id)
        name = registered or self.user_name  # a registered member by the name on their record
        self._print(t("console.banner", id=self.user_id, name=name) + "\n")
        while True:
            self.out.write("> ")
            self.out.flush()
            line = await loop.run_in_executor(None, source.readline)
            if not line:  # end of input
                return
            if not await self.feed(line):
                return
