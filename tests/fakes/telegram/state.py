"""The fake Telegram's world: users, chats and their members, the messages in each chat,
the queue of updates waiting for getUpdates, polls and their votes, uploaded files, the Stars
balance, and the record of what the bot did (``sent``, ``edits``, ``calls`` ...).

``TelegramState`` holds the data and every method that changes it: the helpers with which a
test acts as people (``user_sends``, ``user_presses``, ``user_votes`` ...), the ones that
inspect and wait for the bot (``wait_for``, ``messages_to`` ...), and the changes the
endpoints make once a call passed their checks (``_record_bot_message``, ``_record_edit`` ...).
``endpoints.py`` builds ``FakeTelegram`` on it."""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import re
import time
from dataclasses import dataclass
from typing import Any

from tests.fakes import JSONDict
from tests.fakes.errors import ApiError
from tests.fakes.telegram.limits import BUTTON_DATA_INVALID, MARKUP_TOO_LONG
from tests.fakes.telegram.text import EntityError, render_text, utf16_len
from tests.fakes.waiting import ChangeWaiter

_BOT_COMMAND = re.compile(r"^/[A-Za-z0-9_]{1,64}(@[A-Za-z0-9_]+)?")


def unix_now() -> int:
    return int(time.time())


def _chat_type_for_id(chat_id: int) -> str:
    if chat_id > 0:
        return "private"
    return "supergroup" if str(chat_id).startswith("-100") else "group"


@dataclass
class SentMessage:
    """A message the bot sent. Edits made later by the bot are applied in place."""

    message_id: int
    chat_id: int
    text: str | None  # exactly as the bot sent it (markup included)
    caption: str | None
    reply_markup: JSONDict | None
    document: tuple[str, bytes] | None
    photo: bytes | None
    method: str
    params: JSONDict
    parse_mode: str | None = None
    plain: str = ""  # text/caption as the user sees it (HTML/Markdown rendered)
    edit_count: int = 0
    deleted: bool = False
    poll: JSONDict | None = None  # sendPoll: the live Poll JSON, updated as people vote
    thread_id: int | None = None  # the forum topic it went to (message_thread_id)

    @property
    def body(self) -> str:
        """Text or caption; for a poll its question."""
        return self.text or self.caption or (self.poll or {}).get("question") or ""

    def matches(self, contains: str | None) -> bool:
        """True if ``contains`` occurs in the raw body or in the rendered text."""
        return contains is None or contains in self.body or contains in self.plain

    def buttons(self) -> list[tuple[str, str]]:
        """The inline keyboard flattened to (text, callback_data or url)."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        result: list[tuple[str, str]] = []
        for row in rows:
            for button in row:
                target = (
                    button.get("callback_data")
                    or button.get("url")
                    or (button.get("web_app") or {}).get("url")
                    or (button.get("login_url") or {}).get("url")
                    or ""
                )
                result.append((str(button.get("text", "")), str(target)))
        return result

    def button(self, label_contains: str) -> str:
        for text, target in self.buttons():
            if label_contains in text:
                return target
        raise AssertionError(
            f"no inline button containing {label_contains!r} in message {self.message_id} "
            f"to {self.chat_id} ({self.body!r}); buttons: {self.buttons()!r}"
        )

    def keyboard(self) -> list[str]:
        """Texts of a reply (non-inline) keyboard, row by row flattened."""
        rows = (self.reply_markup or {}).get("keyboard") or []
        return [b if isinstance(b, str) else str(b.get("text", "")) for row in rows for b in row]

    def describe(self) -> str:
        extra = f" buttons={self.buttons()!r}" if self.buttons() else ""
        if self.document:
            extra += f" document={self.document[0]!r}"
        if self.poll is not None:
            votes = [f"{o['text']}: {o['voter_count']}" for o in self.poll["options"]]
            extra += f" options={votes!r}" + (" closed" if self.poll["is_closed"] else "")
        return f"[{self.method} id={self.message_id}] {self.body!r}{extra}"


@dataclass
class _Queued:
    update: JSONDict
    forced: bool  # re-sent old update_id: must be delivered even though it is below offset
    delivered: bool = False

    @property
    def update_id(self) -> int:
        return int(self.update["update_id"])


@dataclass
class _PollState:
    sent: SentMessage  # sent.poll is the live Poll JSON
    votes: dict[int, list[int]]  # user_id -> chosen option ids (users who voted only)


@dataclass
class StoredFile:
    """A file the fake keeps: uploaded by the bot, or sent by a user."""

    file_id: str
    file_unique_id: str
    content: bytes
    filename: str | None
    mime_type: str
    file_path: str


class TelegramState(ChangeWaiter):
    """Everything the fake Telegram knows, and the helpers that act as its users."""

    def __init__(
        self,
        token: str = "123456:TEST",
        bot_username: str = "congdoan_test_bot",
        *,
        bot_first_name: str = "Công Đoàn Bot",
    ) -> None:
        super().__init__()
        self.token = token
        self.bot_username = bot_username
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_user: JSONDict = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        # --- what the bot did (and `calls`, from ChangeWaiter)
        self.sent: list[SentMessage] = []
        self.edits: list[JSONDict] = []
        self.errors: list[tuple[str, JSONDict, JSONDict]] = []  # (method, params, error body)
        self.answers: list[JSONDict] = []  # answerCallbackQuery params
        self.deleted: list[tuple[int, int]] = []
        self.pinned: dict[int, int] = {}
        self.my_commands: dict[tuple[str, str], list[JSONDict]] = {}
        self.server_errors: list[BaseException] = []  # bugs inside the fake itself
        # --- knobs
        self.blocked_users: set[int] = set()
        # Paid broadcasts: the bot's Stars balance, in tenths of a Star (a paid send costs
        # one tenth, Bot API `allow_paid_broadcast`); None: not limited. Telegram bills only
        # the sends beyond the free limits; the fake bills every paid send (the worst case).
        self.stars_tenths: int | None = None
        self.paid_sends = 0
        self.webhook_url = ""
        # --- internal state
        self._queue: list[_Queued] = []
        self._update_ids = itertools.count(10_001)
        self._max_update_id = 10_000
        self._callback_ids = itertools.count(4_382_001_177_000_000_001)
        self._known_callbacks: set[str] = set()
        self._poll_ids = itertools.count(5_224_233_457_427_136_001)
        self._polls: dict[str, _PollState] = {}
        self._file_ids = itertools.count(1)
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._users: dict[int, JSONDict] = {}
        self._chat_titles: dict[int, str] = {}
        self._chat_types: dict[int, str] = {}
        self._known_chats: set[int] = set()
        self._bot_gone: dict[int, str] = {}  # chat -> Forbidden description
        self._migrated: dict[int, int] = {}
        self._member_status: dict[tuple[int, int], str] = {}
        self._next_message_id: dict[int, int] = {}
        self._messages: dict[tuple[int, int], JSONDict] = {}
        self._sent_by_key: dict[tuple[int, int], SentMessage] = {}
        # Forum supergroups (Chat.is_forum) and their topics: chat -> thread id -> name.
        self._forums: set[int] = set()
        self._topics: dict[int, dict[int, str]] = {}
        # Join requests waiting for an admin: (chat, user) -> the ChatJoinRequest JSON, and the
        # private chats the bot may write to because of one: user_chat_id -> until (unix time).
        self._join_requests: dict[tuple[int, int], JSONDict] = {}
        self._join_windows: dict[int, float] = {}
        # The bot's administrator rights per chat (ChatAdministratorRights fields set True).
        self._bot_rights: dict[int, set[str]] = {}

    # ------------------------------------------------------------------ acting as people

    def user_sends(
        self,
        user_id: int,
        text: str,
        *,
        first_name: str | None = None,
        chat_id: int | None = None,
        chat_type: str = "private",
        chat_title: str | None = None,
        username: str | None = None,
        reply_to: SentMessage | int | None = None,
        language_code: str | None = None,
        thread_id: int | None = None,
    ) -> JSONDict:
        """A text message. A leading /command gets its bot_command entity like on Telegram
        (ASCII letters, digits and '_' only, optionally @botname). `thread_id`: written in
        that topic of a forum supergroup (see `open_topic`)."""
        if language_code is not None:
            self._remember_user(user_id, first_name, username)
            self._users[user_id]["language_code"] = language_code
        content: JSONDict = {"text": text}
        command = _BOT_COMMAND.match(text)
        if command:
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command.group(0))}
            ]
        return self._user_message(
            user_id,
            content,
            first_name=first_name,
            chat_id=chat_id,
            chat_type=chat_type,
            chat_title=chat_title,
            username=username,
            reply_to=reply_to,
            thread_id=thread_id,
        )

    def user_sends_contact(
        self,
        user_id: int,
        phone: str,
        *,
        contact_user_id: int | None = None,
        first_name: str | None = None,
        without_user_id: bool = False,
        chat_id: int | None = None,
        chat_type: str = "private",
    ) -> JSONDict:
        """A shared contact. By default the user's own contact (contact.user_id == from.id),
        as produced by a request_contact keyboard button; pass contact_user_id for someone
        else's, or without_user_id=True for an address-book entry without Telegram account."""
        user = self._remember_user(user_id, first_name, None)
        contact: JSONDict = {"phone_number": phone, "first_name": user["first_name"]}
        if not without_user_id:
            contact["user_id"] = user_id if contact_user_id is None else contact_user_id
        return self._user_message(
            user_id,
            {"contact": contact},
            first_name=first_name,
            chat_id=chat_id,
            chat_type=chat_type,
        )

    def user_sends_sticker(
        self,
        user_id: int,
        *,
        emoji: str = "👍",
        first_name: str | None = None,
        chat_id: int | None = None,
        chat_type: str = "private",
    ) -> JSONDict:
        stored = self._store_file(b"RIFF fake webp", None, "image/webp", "stickers", "webp")
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": len(stored.content),
        }
        return self._user_message(
            user_id,
            {"sticker": sticker},
            first_name=first_name,
            chat_id=chat_id,
            chat_type=chat_type,
        )

    def user_sends_photo(
        self,
        user_id: int,
        content: bytes = b"\xff\xd8\xff fake jpeg",
        *,
        caption: str | None = None,
        first_name: str | None = None,
        chat_id: int | None = None,
        chat_type: str = "private",
    ) -> JSONDict:
        fields: JSONDict = {"photo": self._photo_sizes(content)}
        if caption is not None:
            fields["caption"] = caption
        return self._user_message(
            user_id, fields, first_name=first_name, chat_id=chat_id, chat_type=chat_type
        )

    def user_sends_voice(
        self,
        user_id: int,
        content: bytes = b"OggS fake voice",
        *,
        duration: int = 3,
        first_name: str | None = None,
        chat_id: int | None = None,
        chat_type: str = "private",
    ) -> JSONDict:
        stored = self._store_file(content, None, "audio/ogg", "voice", "oga")
        voice = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(content),
        }
        return self._user_message(
            user_id,
            {"voice": voice},
            first_name=first_name,
            chat_id=chat_id,
            chat_type=chat_type,
        )

    def user_sends_document(
        self,
        user_id: int,
        filename: str,
        content: bytes,
        *,
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
        first_name: str | None = None,
        chat_id: int | None = None,
        chat_type: str = "private",
    ) -> JSONDict:
        stored = self._store_file(content, filename, mime_type, "documents", None)
        fields: JSONDict = {"document": self._document_json(stored)}
        if caption is not None:
            fields["caption"] = caption
        return self._user_message(
            user_id, fields, first_name=first_name, chat_id=chat_id, chat_type=chat_type
        )

    def user_presses(
        self,
        user_id: int,
        message: SentMessage,
        callback_data: str,
        chat_id: int | None = None,
        *,
        first_name: str | None = None,
    ) -> JSONDict:
        """A callback_query on a bot message; the message is included in its current
        (possibly edited) state, as Telegram does."""
        cid = message.chat_id if chat_id is None else chat_id
        stored = self._messages.get((cid, message.message_id))
        if stored is None:
            raise AssertionError(
                f"cannot press a button on message {message.message_id} in chat {cid}: "
                "it does not exist (deleted?)"
            )
        user = self._remember_user(user_id, first_name, None)
        query_id = str(next(self._callback_ids))
        self._known_callbacks.add(query_id)
        self._known_chats.add(cid)
        query = {
            "id": query_id,
            "from": user,
            "chat_instance": str(7_000_000_000_000_000_000 + abs(cid)),
            "data": callback_data,
            "message": copy.deepcopy(stored),
        }
        return self._queue_update({"callback_query": query})

    def user_votes(
        self,
        user_id: int,
        message: SentMessage,
        option_ids: list[int],
        *,
        first_name: str | None = None,
        username: str | None = None,
    ) -> list[JSONDict]:
        """The user answers the poll in a bot message (option_ids [] retracts the vote),
        replacing their previous answer. As for every poll the bot sent, Telegram queues a
        poll_answer update (named polls only) and then a poll update with the new counts;
        both are returned. A vote on a closed poll (clients can't cast one) or one that
        changes nothing queues nothing and returns []."""
        poll = message.poll
        if poll is None:
            raise AssertionError(
                f"message {message.message_id} is not a poll: {message.describe()}"
            )
        if message.deleted:
            raise AssertionError(
                f"cannot vote in poll message {message.message_id} in chat {message.chat_id}: "
                "it was deleted"
            )
        count = len(poll["options"])
        bad = [
            i
            for i in option_ids
            if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < count
        ]
        if bad:
            raise AssertionError(f"option ids {bad!r} out of range for a {count}-option poll")
        if len(set(option_ids)) != len(option_ids):
            raise AssertionError(f"duplicate option ids {option_ids!r}")
        if len(option_ids) > 1 and not poll["allows_multiple_answers"]:
            raise AssertionError(
                f"poll {poll['question']!r} allows one answer only, got {option_ids!r}"
            )
        state = self._polls[poll["id"]]
        user = self._remember_user(user_id, first_name, username)
        chosen = sorted(option_ids)
        previous = state.votes.get(user_id, [])
        if poll["is_closed"] or chosen == previous:
            return []
        if previous and not poll["allows_revoting"]:
            raise AssertionError(
                f"poll {poll['question']!r} does not allow changing a vote (allows_revoting)"
            )
        if chosen:
            state.votes[user_id] = chosen
        else:
            state.votes.pop(user_id, None)
        for index, option in enumerate(poll["options"]):
            option["voter_count"] = sum(index in votes for votes in state.votes.values())
        poll["total_voter_count"] = len(state.votes)
        self._sync_poll(state)
        updates: list[JSONDict] = []
        if not poll["is_anonymous"]:
            answer = {
                "poll_id": poll["id"],
                "user": user,
                "option_ids": chosen,
                "option_persistent_ids": [poll["options"][i]["persistent_id"] for i in chosen],
            }
            updates.append(self._queue_update({"poll_answer": answer}))
        updates.append(self._queue_update({"poll": copy.deepcopy(poll)}))
        return updates

    def bot_added_to_group(
        self,
        chat_id: int,
        by_user_id: int,
        title: str = "Nhóm",
        *,
        with_service_message: bool = False,
    ) -> JSONDict:
        """my_chat_member left -> member. with_service_message also queues the
        new_chat_members message Telegram sends into basic groups."""
        self._chat_titles[chat_id] = title
        self._bot_gone.pop(chat_id, None)
        self._known_chats.add(chat_id)
        user = self._user(by_user_id)
        self._member_status.setdefault((chat_id, by_user_id), "member")
        update = self._queue_update(
            {
                "my_chat_member": {
                    "chat": self._chat(chat_id),
                    "from": user,
                    "date": unix_now(),
                    "old_chat_member": {"user": self.bot_user, "status": "left"},
                    "new_chat_member": {"user": self.bot_user, "status": "member"},
                }
            }
        )
        if with_service_message:
            self._user_message(
                by_user_id,
                {"new_chat_members": [self.bot_user]},
                chat_id=chat_id,
                chat_type=_chat_type_for_id(chat_id),
            )
        return update

    def bot_removed_from_group(
        self,
        chat_id: int,
        by_user_id: int,
        title: str = "Nhóm",
        *,
        status: str | None = None,
    ) -> JSONDict:
        """my_chat_member member -> kicked (supergroups) or left (basic groups, where
        Telegram reports removal as "left"); pass status to force one."""
        self._chat_titles[chat_id] = title
        kind = self._chat_type(chat_id)
        new_status = status or ("kicked" if kind == "supergroup" else "left")
        new_member: JSONDict = {"user": self.bot_user, "status": new_status}
        if new_status == "kicked":
            new_member["until_date"] = 0
        self._bot_gone[chat_id] = f"Forbidden: bot was kicked from the {kind} chat"
        update = self._queue_update(
            {
                "my_chat_member": {
                    "chat": self._chat(chat_id),
                    "from": self._user(by_user_id),
                    "date": unix_now(),
                    "old_chat_member": {"user": self.bot_user, "status": "member"},
                    "new_chat_member": new_member,
                }
            }
        )
        return update

    def user_joins_group(
        self, chat_id: int, user_id: int, first_name: str | None = None, title: str = "Nhóm"
    ) -> JSONDict:
        self._chat_titles[chat_id] = title
        user = self._remember_user(user_id, first_name, None)
        self._member_status[(chat_id, user_id)] = "member"
        self._join_requests.pop((chat_id, user_id), None)  # let in: no request left
        return self._user_message(
            user_id,
            {"new_chat_members": [user]},
            chat_id=chat_id,
            chat_type=self._chat_type(chat_id),
        )

    def group_migrates(
        self,
        old_chat_id: int,
        new_chat_id: int,
        title: str = "Nhóm",
        *,
        by_user_id: int = 777000,
        with_migrate_from: bool = False,
    ) -> JSONDict:
        """The service message with migrate_to_chat_id in the old group. From then on, sends
        to the old id fail with 400 + migrate_to_chat_id (PTB: ChatMigrated), as on Telegram.
        with_migrate_from also queues the migrate_from_chat_id message in the new chat."""
        self._chat_titles[old_chat_id] = title
        self._chat_titles[new_chat_id] = title
        self._chat_types[new_chat_id] = "supergroup"
        if by_user_id == 777000 and by_user_id not in self._users:
            self._users[by_user_id] = {"id": 777000, "is_bot": False, "first_name": "Telegram"}
        update = self._user_message(
            by_user_id,
            {"migrate_to_chat_id": new_chat_id},
            chat_id=old_chat_id,
            chat_type=self._chat_type(old_chat_id),
        )
        self._migrated[old_chat_id] = new_chat_id
        self._known_chats.add(new_chat_id)
        if with_migrate_from:
            self._user_message(
                by_user_id,
                {"migrate_from_chat_id": old_chat_id},
                chat_id=new_chat_id,
                chat_type="supergroup",
            )
        return update

    def queue_raw_update(self, update: JSONDict) -> JSONDict:
        """Queue any update JSON. Without update_id one is assigned; with an update_id that was
        already used it is delivered again (duplicate delivery), whatever the offset."""
        queued = copy.deepcopy(update)
        forced = False
        if "update_id" in queued:
            update_id = int(queued["update_id"])
            forced = update_id <= self._max_update_id
            if update_id > self._max_update_id:
                self._max_update_id = update_id
                self._update_ids = itertools.count(update_id + 1)
        else:
            queued["update_id"] = self._next_update_id()
        self._queue.append(_Queued(queued, forced=forced))
        self._touch()
        return queued

    def repeat_update(self, update: JSONDict) -> JSONDict:
        """Deliver an already queued update once more with the same update_id (Telegram
        delivers at least once), whatever the bot's offset, to test de-duplication."""
        if int(update.get("update_id", self._max_update_id + 1)) > self._max_update_id:
            raise AssertionError(f"repeat_update needs an update that was queued: {update!r}")
        return self.queue_raw_update(update)

    def user_blocks_bot(self, user_id: int) -> JSONDict:
        """my_chat_member in the private chat (member -> kicked); sends then get 403."""
        self.blocked_users.add(user_id)
        return self._private_member_change(user_id, "member", "kicked")

    def user_unblocks_bot(self, user_id: int) -> JSONDict:
        self.blocked_users.discard(user_id)
        return self._private_member_change(user_id, "kicked", "member")

    def _private_member_change(self, user_id: int, old: str, new: str) -> JSONDict:
        def member(status: str) -> JSONDict:
            shape: JSONDict = {"user": self.bot_user, "status": status}
            if status == "kicked":
                shape["until_date"] = 0
            return shape

        user = self._user(user_id)
        return self._queue_update(
            {
                "my_chat_member": {
                    "chat": self._chat(user_id),
                    "from": user,
                    "date": unix_now(),
                    "old_chat_member": member(old),
                    "new_chat_member": member(new),
                }
            }
        )

    def set_member_status(self, chat_id: int, user_id: int, status: str) -> None:
        """What getChatMember reports: creator, administrator, member, left or kicked."""
        self._member_status[(chat_id, user_id)] = status

    # ------------------------------------------------------------------ inspecting the bot

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        return [m for m in self.sent if m.chat_id == chat_id]

    def keyboard_refusals(self) -> list[tuple[str, JSONDict, JSONDict]]:
        """Calls refused for their keyboard (too many buttons, too wide, callback_data too
        long): a test that ends with none shows the bot stayed inside Telegram's limits."""
        markup_errors = (MARKUP_TOO_LONG, BUTTON_DATA_INVALID)
        return [e for e in self.errors if e[2].get("description") in markup_errors]

    def polls_in(self, chat_id: int) -> list[SentMessage]:
        """The polls the bot sent to chat_id, in order (their .poll is the live state)."""
        return [m for m in self.sent if m.chat_id == chat_id and m.poll is not None]

    def calls_of(self, method: str) -> list[JSONDict]:
        """Params of every call of `method` (case-insensitive), in order."""
        return [p for m, p in self.calls if m.lower() == method.lower()]

    def commands_for(
        self, scope: JSONDict | None = None, language_code: str = ""
    ) -> list[JSONDict]:
        return self.my_commands.get((self._scope_key(scope), language_code), [])

    def mark(self) -> int:
        return len(self.sent)

    async def wait_for(
        self,
        chat_id: int,
        *,
        contains: str | None = None,
        count: int = 1,
        timeout: float = 5.0,
        since: int | None = None,
    ) -> SentMessage:
        """Wait until at least `count` messages to chat_id at index >= since (in `sent`)
        contain `contains` (raw or rendered text/caption); return the last such message."""
        start = since or 0

        def matching() -> list[SentMessage]:
            return [m for m in self.sent[start:] if m.chat_id == chat_id and m.matches(contains)]

        if await self._wait(lambda: len(matching()) >= count, timeout):
            return matching()[-1]
        want = f"{count} message(s)" + (f" containing {contains!r}" if contains else "")
        raise AssertionError(
            f"timed out after {timeout}s waiting for {want} to chat {chat_id} "
            f"(since index {start}); got {len(matching())}.\n{self._describe_chat(chat_id)}"
        )

    async def wait_for_edit(
        self,
        chat_id: int,
        *,
        contains: str | None = None,
        since: int = 0,
        timeout: float = 5.0,
    ) -> JSONDict:
        """Wait for an edit (index >= since in `edits`) in chat_id whose new text/caption
        contains `contains`; returns the edit's params (plus "method")."""

        def found() -> JSONDict | None:
            for edit in self.edits[since:]:
                body = str(edit.get("text") or edit.get("caption") or "")
                plain = body
                with contextlib.suppress(EntityError, ApiError):
                    plain = render_text(body, edit.get("parse_mode"))
                if edit.get("chat_id") == chat_id and (
                    contains is None or contains in body or contains in plain
                ):
                    return edit
            return None

        if await self._wait(lambda: found() is not None, timeout):
            result = found()
            assert result is not None
            return result
        edits = [e for e in self.edits if e.get("chat_id") == chat_id][-10:]
        raise AssertionError(
            f"timed out after {timeout}s waiting for an edit in chat {chat_id} containing "
            f"{contains!r}; edits there: {edits!r}.\n{self._describe_chat(chat_id)}"
        )

    async def wait_fetched(self, timeout: float = 5.0) -> None:
        """Until every queued update was fetched and confirmed (the bot asked for a later
        offset). Says nothing about whether the bot has finished handling them."""
        await self.wait_until(
            lambda: not self._queue, timeout=timeout, what="every update fetched and confirmed"
        )

    # ------------------------------------------------------------------ internals: state

    def _describe_chat(self, chat_id: int) -> str:
        lines = [f"last messages to {chat_id}:"]
        indexed = [(i, m) for i, m in enumerate(self.sent) if m.chat_id == chat_id][-10:]
        lines += [f"  #{i} {m.describe()}" for i, m in indexed] or ["  (none)"]
        errors = [e for e in self.errors if e[1].get("chat_id") == chat_id][-5:]
        if errors:
            lines.append("failed API calls for that chat:")
            lines += [f"  {m}: {body.get('description')}" for m, _p, body in errors]
        if self.server_errors:
            lines.append(f"errors inside the fake: {self.server_errors[-3:]!r}")
        return "\n".join(lines)

    def _next_update_id(self) -> int:
        update_id = next(self._update_ids)
        self._max_update_id = max(self._max_update_id, update_id)
        return update_id

    def _queue_update(self, payload: JSONDict) -> JSONDict:
        update = {"update_id": self._next_update_id(), **payload}
        self._queue.append(_Queued(update, forced=False))
        self._touch()
        return update

    def _remember_user(
        self, user_id: int, first_name: str | None, username: str | None
    ) -> JSONDict:
        user = self._users.get(user_id)
        if user is None:
            user = {"id": user_id, "is_bot": False, "first_name": "User", "language_code": "vi"}
            self._users[user_id] = user
        if first_name is not None:
            user["first_name"] = first_name
        if username is not None:
            user["username"] = username
        return copy.deepcopy(user)

    def _user(self, user_id: int) -> JSONDict:
        return self._remember_user(user_id, None, None)

    def _chat_type(self, chat_id: int) -> str:
        return self._chat_types.get(chat_id) or _chat_type_for_id(chat_id)

    def _chat(self, chat_id: int) -> JSONDict:
        kind = self._chat_type(chat_id)
        if kind == "private":
            user = self._users.get(chat_id, {})
            chat: JSONDict = {
                "id": chat_id,
                "type": "private",
                "first_name": user.get("first_name", "User"),
            }
            if user.get("username"):
                chat["username"] = user["username"]
            return chat
        chat = {"id": chat_id, "type": kind, "title": self._chat_titles.get(chat_id, "Nhóm")}
        if chat_id in self._forums:
            chat["is_forum"] = True  # Chat: "True, if the supergroup chat is a forum"
        return chat

    def _new_message(self, chat_id: int, sender: JSONDict | None, fields: JSONDict) -> JSONDict:
        # Private chats and groups number messages per chat, shared by users and the bot.
        message_id = self._next_message_id.get(chat_id, 0) + 1
        self._next_message_id[chat_id] = message_id
        message: JSONDict = {
            "message_id": message_id,
            "date": unix_now(),
            "chat": self._chat(chat_id),
        }
        if sender is not None:
            message["from"] = sender
        message.update(fields)
        self._messages[(chat_id, message_id)] = message
        return message

    def _user_message(
        self,
        user_id: int,
        content: JSONDict,
        *,
        first_name: str | None = None,
        chat_id: int | None = None,
        chat_type: str = "private",
        chat_title: str | None = None,
        username: str | None = None,
        reply_to: SentMessage | int | None = None,
        thread_id: int | None = None,
    ) -> JSONDict:
        user = self._remember_user(user_id, first_name, username)
        if chat_id is None:
            if chat_type != "private":
                raise ValueError(f"a {chat_type} message needs chat_id")
            chat_id = user_id
        if chat_id < 0 and chat_type != "private" and chat_type != _chat_type_for_id(chat_id):
            self._chat_types[chat_id] = chat_type
        if chat_title is not None:
            self._chat_titles[chat_id] = chat_title
        if chat_id < 0:
            self._member_status.setdefault((chat_id, user_id), "member")
        self._known_chats.add(chat_id)
        fields = dict(content)
        if reply_to is not None:
            reply_id = reply_to if isinstance(reply_to, int) else reply_to.message_id
            original = self._messages.get((chat_id, reply_id))
            if original is not None:
                fields["reply_to_message"] = self._without_reply(original)
        if thread_id is not None:
            if thread_id not in self._topics.get(chat_id, {}):
                raise AssertionError(f"chat {chat_id} has no topic {thread_id} (open_topic)")
            # Bot API Message: message_thread_id, and is_topic_message "True, if the message
            # is sent to a forum topic".
            fields["message_thread_id"] = thread_id
            fields["is_topic_message"] = True
        message = self._new_message(chat_id, user, fields)
        return self._queue_update({"message": copy.deepcopy(message)})

    @staticmethod
    def _without_reply(message: JSONDict) -> JSONDict:
        # Telegram does not nest reply_to_message more than one level deep.
        copied = copy.deepcopy(message)
        copied.pop("reply_to_message", None)
        return copied

    def _store_file(
        self, content: bytes, filename: str | None, mime_type: str, folder: str, ext: str | None
    ) -> StoredFile:
        number = next(self._file_ids)
        suffix = ext or (filename.rsplit(".", 1)[-1] if filename and "." in filename else "bin")
        stored = StoredFile(
            file_id=f"FAKEFILE{number:06d}{folder[:3].upper()}",
            file_unique_id=f"U{number:06d}",
            content=content,
            filename=filename,
            mime_type=mime_type,
            file_path=f"{folder}/file_{number}.{suffix}",
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    @staticmethod
    def _document_json(stored: StoredFile) -> JSONDict:
        document: JSONDict = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "mime_type": stored.mime_type,
            "file_size": len(stored.content),
        }
        if stored.filename:
            document["file_name"] = stored.filename
        return document

    def _photo_sizes(self, content: bytes) -> list[JSONDict]:
        sizes = []
        for side in (90, 800):
            stored = self._store_file(content, None, "image/jpeg", "photos", "jpg")
            sizes.append(
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "width": side,
                    "height": side,
                    "file_size": len(content),
                }
            )
        return sizes

    @staticmethod
    def _scope_key(scope: Any) -> str:
        return json.dumps(scope or {"type": "default"}, sort_keys=True)

    # ------------------------------------------------------------------ internals: updates

    def _confirm(self, offset: Any) -> None:
        if offset is None:
            return
        offset = int(offset)
        before = len(self._queue)
        if offset < 0:  # Telegram: negative offset keeps only the last -offset updates
            keep = sorted(self._queue, key=lambda q: q.update_id)[offset:]
            self._queue = [q for q in self._queue if q in keep]
        else:
            self._queue = [
                q for q in self._queue if q.update_id >= offset or (q.forced and not q.delivered)
            ]
        if len(self._queue) != before:
            self._touch()

    def _hand_out(self, limit: int) -> list[JSONDict]:
        """The first `limit` queued updates (by update_id), marked delivered; they stay queued
        until a later offset confirms them."""
        # Telegram returns updates ordered by update_id; duplicates thus come first and PTB's
        # next offset (last id + 1) confirms the whole batch.
        batch = sorted(self._queue, key=lambda q: q.update_id)[:limit]
        for queued in batch:
            queued.delivered = True
        self._touch()
        return [copy.deepcopy(q.update) for q in batch]

    def _set_webhook_url(self, url: str, *, drop_pending: bool) -> None:
        self.webhook_url = url
        if drop_pending:
            self._queue.clear()

    # ------------------------------------------------------------------ internals: changes
    # What a call changes; the endpoints call these once it passed every check.

    def _set_commands(self, key: tuple[str, str], commands: list[JSONDict]) -> None:
        self.my_commands[key] = commands

    def _delete_commands(self, key: tuple[str, str]) -> None:
        self.my_commands.pop(key, None)

    def _pay_for_send(self) -> bool:
        """Bill one paid send; False (nothing billed) when the Stars balance cannot pay."""
        if self.stars_tenths is not None:
            if self.stars_tenths < 1:
                return False
            self.stars_tenths -= 1
        self.paid_sends += 1
        return True

    def _record_bot_message(
        self, chat_id: int, fields: JSONDict, markup: JSONDict | None, sent: SentMessage
    ) -> JSONDict:
        """The bot's message `sent` (its message_id still 0) with `fields` (text, document,
        reply_to_message ...) enters the chat; returns the Message JSON."""
        if markup is not None and "inline_keyboard" in markup:
            fields = {**fields, "reply_markup": markup}  # Telegram echoes only inline keyboards
        message = self._new_message(chat_id, copy.deepcopy(self.bot_user), fields)
        sent.message_id = message["message_id"]
        self.sent.append(sent)
        self._sent_by_key[(chat_id, sent.message_id)] = sent
        self._notify()
        return copy.deepcopy(message)

    def _record_inline_edit(self, method: str, params: JSONDict) -> None:
        self.edits.append({"method": method, **params})
        self._notify()

    def _record_edit(
        self,
        method: str,
        params: JSONDict,
        sent: SentMessage,
        message: JSONDict,
        markup: JSONDict | None,
        *,
        field: str | None = None,
        raw: str | None = None,
        plain: str = "",
        parse_mode: Any = None,
    ) -> None:
        """An edit of the bot's message: its "text" or "caption" (`field`) becomes `raw` as
        sent, `plain` as shown (a caption of None is removed), and its inline keyboard
        `markup` (None drops it, as Telegram does when an edit does not repeat it)."""
        if field is not None:
            if field == "text":
                sent.text = raw
            else:
                sent.caption = raw
            sent.plain, sent.parse_mode = plain, parse_mode
            if raw is None:
                message.pop(field, None)
            else:
                message[field] = plain
        sent.reply_markup = markup
        sent.edit_count += 1
        if markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = markup
        message["edit_date"] = unix_now()
        self.edits.append({"method": method, **params})
        self._notify()

    def _remove_message(self, chat_id: int, message_id: int) -> bool:
        """False if there is no such message."""
        if self._messages.pop((chat_id, message_id), None) is None:
            return False
        sent = self._sent_by_key.get((chat_id, message_id))
        if sent is not None:
            sent.deleted = True
        self.deleted.append((chat_id, message_id))
        self._notify()
        return True

    def _record_answer(self, params: JSONDict) -> None:
        self.answers.append(params)
        self._notify()

    def _pin(self, chat_id: int, message_id: int) -> None:
        self.pinned[chat_id] = message_id

    def _bot_leaves(self, chat_id: int) -> None:
        self._bot_gone[chat_id] = (
            f"Forbidden: bot is not a member of the {self._chat_type(chat_id)} chat"
        )

    def _new_poll_id(self) -> str:
        return str(next(self._poll_ids))

    def _add_poll(self, sent: SentMessage) -> None:
        assert sent.poll is not None
        self._polls[sent.poll["id"]] = _PollState(sent, {})

    def _sync_poll(self, state: _PollState) -> None:
        # The stored message (what callback queries and replies embed) follows the poll.
        sent = state.sent
        stored = self._messages.get((sent.chat_id, sent.message_id))
        if stored is not None:
            stored["poll"] = copy.deepcopy(sent.poll)
        self._notify()

    def _close_poll(self, sent: SentMessage, message: JSONDict, markup: JSONDict | None) -> None:
        """stopPoll: the poll closes (a poll update is queued); `markup` replaces the inline
        keyboard, None keeps it."""
        poll = sent.poll
        assert poll is not None
        if markup is not None:
            sent.reply_markup = markup
            message["reply_markup"] = markup
        poll["is_closed"] = True
        self._sync_poll(self._polls[poll["id"]])
        self._queue_update({"poll": copy.deepcopy(poll)})
