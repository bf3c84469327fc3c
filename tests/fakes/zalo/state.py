"""The fake Zalo's world: the updates queued for the bot, what the bot sent, who blocked it,
and the webhook it registered. ``ZaloState`` holds the data and every method that changes it:
the helpers with which a test acts as users (``user_sends`` ...), the ones that inspect and wait
for the bot (``wait_for``, ``messages_to`` ...), and the changes the endpoints make once a call
passed their checks. ``endpoints.py`` builds ``FakeZalo`` on it."""

from __future__ import annotations

import copy
import itertools
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tests.fakes import JSONDict
from tests.fakes.waiting import ChangeWaiter


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class SentZaloMessage:
    """Something the bot sent: a text (sendMessage), a photo or a sticker."""

    chat_id: str
    text: str | None
    photo_url: str | None
    caption: str | None
    message_id: str
    at: datetime
    method: str = "sendMessage"
    sticker: str | None = None

    @property
    def body(self) -> str:
        return self.text or self.caption or ""

    def matches(self, contains: str | None) -> bool:
        return contains is None or contains in self.body

    def describe(self) -> str:
        extra = f" photo={self.photo_url!r}" if self.photo_url else ""
        extra += f" sticker={self.sticker!r}" if self.sticker else ""
        return f"[{self.method} id={self.message_id}] {self.body!r}{extra}"


class ZaloState(ChangeWaiter):
    """Everything the fake Zalo knows, and the helpers that act as its users."""

    def __init__(self, token: str = "zalo-test-token", *, bot_name: str = "Công Đoàn Bot") -> None:
        super().__init__()
        self.token = token
        self.bot_info: JSONDict = {
            "id": "bot0000000000000001",
            "account_name": "bot.congdoan",
            "account_type": "BASIC",
            "display_name": bot_name,
            # getMe's sample answer (bot.zapps.me/docs/apis/getMe/): false for ordinary bots
            # while Zalo marks group chats "Sắp ra mắt". Tests of group features set it True.
            "can_join_groups": False,
        }
        # --- what the bot did (and `calls`, from ChangeWaiter)
        self.sent: list[SentZaloMessage] = []
        self.errors: list[tuple[str, JSONDict, JSONDict]] = []  # (method, body, error body)
        self.delivered: list[Any] = []  # updates handed out by getUpdates, in order
        self.server_errors: list[BaseException] = []  # bugs inside the fake itself
        # --- knobs
        # Chats whose sends fail. Zalo documents no answer for a user who blocked the bot; the
        # fake gives the table's 403 ("Internal server error"), the bot must not tell them apart.
        self.blocked_users: set[str] = set()
        # Sends still allowed before every send answers 429 "Quota exceeded" (Zalo's quota
        # may be daily or monthly); None: no limit. Set it to None again for "a new day".
        self.quota_left: int | None = None
        self.quota_refusals = 0  # sends refused for the quota so far
        self.deliver_twice = False  # queue every simulated user update twice
        self.webhook_url = ""
        self.webhook_secret = ""
        self.webhook_updated_at = 0
        # --- internal state
        self._queue: list[Any] = []
        self._last_update: Any = None
        self._message_ids = itertools.count(1)

    def _reset_state(self) -> None:
        """What reset() forgets here (message ids keep counting)."""
        self.sent.clear()
        self.calls.clear()
        self.errors.clear()
        self.delivered.clear()
        self.server_errors.clear()
        self.blocked_users.clear()
        self.bot_info["can_join_groups"] = False
        self.quota_left = None
        self.quota_refusals = 0
        self.deliver_twice = False
        self.webhook_url = ""
        self.webhook_secret = ""
        self.webhook_updated_at = 0
        self._queue.clear()
        self._last_update = None

    # ------------------------------------------------------------------ acting as users

    def user_sends(
        self,
        user_id: str | int,
        text: str,
        *,
        name: str = "Người dùng",
        chat_id: str | int | None = None,
        group: bool = False,
    ) -> JSONDict:
        """A ``message.text.received`` update; returns the (bare) update."""
        return self._user_event(
            "message.text.received", user_id, {"text": text}, name, chat_id, group
        )

    def user_sends_image(
        self,
        user_id: str | int,
        photo_url: str = "https://example.com/zalo/photo.jpg",
        *,
        caption: str | None = None,
        name: str = "Người dùng",
        chat_id: str | int | None = None,
        group: bool = False,
    ) -> JSONDict:
        fields: JSONDict = {"photo_url": photo_url}
        if caption is not None:
            fields["caption"] = caption
        return self._user_event("message.image.received", user_id, fields, name, chat_id, group)

    def user_sends_sticker(
        self,
        user_id: str | int,
        sticker: str = "sticker-0001",
        *,
        name: str = "Người dùng",
        chat_id: str | int | None = None,
        group: bool = False,
    ) -> JSONDict:
        fields = {"sticker": sticker, "url": f"https://example.com/zalo/stickers/{sticker}.webp"}
        return self._user_event("message.sticker.received", user_id, fields, name, chat_id, group)

    def user_sends_voice(
        self,
        user_id: str | int,
        url: str = "https://example.com/zalo/voice.aac",
        *,
        name: str = "Người dùng",
        chat_id: str | int | None = None,
        group: bool = False,
    ) -> JSONDict:
        return self._user_event(
            "message.voice.received", user_id, {"url": url}, name, chat_id, group
        )

    def user_sends_unsupported(
        self,
        user_id: str | int,
        *,
        name: str = "Người dùng",
        chat_id: str | int | None = None,
        group: bool = False,
    ) -> JSONDict:
        return self._user_event("message.unsupported.received", user_id, {}, name, chat_id, group)

    def queue_raw_update(self, update: Any) -> Any:
        """Queue anything (even malformed) as one update: getUpdates returns it as ``result``;
        a webhook push wraps it like any other update (see ``push_wrapped``)."""
        self._enqueue(copy.deepcopy(update))
        return update

    def duplicate_last(self) -> Any:
        """Queue the most recent update again (Zalo may deliver an event twice)."""
        if self._last_update is None:
            raise AssertionError("no update to duplicate yet")
        self._enqueue(copy.deepcopy(self._last_update))
        return self._last_update

    @property
    def pending(self) -> list[Any]:
        """Updates queued but not yet fetched or pushed."""
        return list(self._queue)

    # ------------------------------------------------------------------ inspecting the bot

    def messages_to(self, chat_id: str | int) -> list[SentZaloMessage]:
        return [m for m in self.sent if m.chat_id == str(chat_id)]

    def calls_of(self, method: str) -> list[JSONDict]:
        """Bodies of every call of ``method`` (case-insensitive), in order."""
        return [b for m, b in self.calls if m.lower() == method.lower()]

    def mark(self) -> int:
        """Index into ``sent`` to pass as ``since`` to ignore what was sent before."""
        return len(self.sent)

    async def wait_for(
        self,
        chat_id: str | int,
        *,
        contains: str | None = None,
        count: int = 1,
        timeout: float = 5.0,
        since: int = 0,
    ) -> SentZaloMessage:
        """Wait until at least ``count`` messages to chat_id at index >= since in ``sent``
        contain ``contains`` (text or caption); return the last such message."""
        target = str(chat_id)

        def matching() -> list[SentZaloMessage]:
            return [m for m in self.sent[since:] if m.chat_id == target and m.matches(contains)]

        if await self._wait(lambda: len(matching()) >= count, timeout):
            return matching()[-1]
        want = f"{count} message(s)" + (f" containing {contains!r}" if contains else "")
        raise AssertionError(
            f"timed out after {timeout}s waiting for {want} to chat {target} "
            f"(since index {since}); got {len(matching())}.\n{self._describe_chat(target)}"
        )

    # ------------------------------------------------------------------ internals: state

    def _describe_chat(self, chat_id: str) -> str:
        lines = [f"last messages to {chat_id}:"]
        indexed = [(i, m) for i, m in enumerate(self.sent) if m.chat_id == chat_id][-10:]
        lines += [f"  #{i} {m.describe()}" for i, m in indexed] or ["  (none)"]
        errors = [e for e in self.errors if str(e[1].get("chat_id")) == chat_id][-5:]
        if errors:
            lines.append("failed API calls for that chat:")
            lines += [f"  {m}: {body.get('description')}" for m, _b, body in errors]
        if self.server_errors:
            lines.append(f"errors inside the fake: {self.server_errors[-3:]!r}")
        return "\n".join(lines)

    def _enqueue(self, update: Any) -> None:
        self._queue.append(update)
        self._last_update = update
        self._touch()

    def _user_event(
        self,
        event_name: str,
        user_id: str | int,
        fields: JSONDict,
        name: str,
        chat_id: str | int | None,
        group: bool,
    ) -> JSONDict:
        uid = str(user_id)
        if chat_id is None:
            if group:
                raise ValueError("group=True needs a chat_id (the group's id)")
            chat_id = uid
        message: JSONDict = {
            "from": {"id": uid, "display_name": name, "is_bot": False},
            "chat": {"id": str(chat_id), "chat_type": "GROUP" if group else "PRIVATE"},
            **fields,
            "message_id": f"{next(self._message_ids):020x}",
            "date": now_ms(),
        }
        update: JSONDict = {"event_name": event_name, "message": message}
        self._enqueue(copy.deepcopy(update))
        if self.deliver_twice:
            self._enqueue(copy.deepcopy(update))
        return update

    # ------------------------------------------------------------------ internals: changes
    # What a call changes; the endpoints call these once it passed every check.

    def _take_update(self, *, fetched: bool) -> Any:
        """The oldest queued update, now gone from the queue; one fetched by getUpdates (not
        pushed to a webhook) is listed in ``delivered``."""
        update = self._queue.pop(0)
        if fetched:
            self.delivered.append(update)
        return update

    def _register_webhook(self, url: str, secret: str) -> int:
        """setWebhook / deleteWebhook (empty url); returns the new updated_at."""
        self.webhook_url = url
        self.webhook_secret = secret
        self.webhook_updated_at = now_ms()
        return self.webhook_updated_at

    def _record(self, chat_id: str, method: str, **fields: Any) -> JSONDict:
        message_id = f"b{next(self._message_ids):019x}"
        at = datetime.now(UTC)
        self.sent.append(
            SentZaloMessage(
                chat_id=chat_id,
                text=fields.get("text"),
                photo_url=fields.get("photo_url"),
                caption=fields.get("caption"),
                message_id=message_id,
                at=at,
                method=method,
                sticker=fields.get("sticker"),
            )
        )
        self._touch()
        return {"message_id": message_id, "date": int(at.timestamp() * 1000)}
