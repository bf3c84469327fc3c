"""The fake Telegram's groups beyond plain chats: forum topics, join requests, and the bot
added as an administrator by a ``?startgroup=…&admin=…`` link.

As the Bot API documents them (https://core.telegram.org/bots/api):
- a forum supergroup has ``Chat.is_forum``; a message in a topic carries
  ``message_thread_id`` and ``is_topic_message``; every sending method takes
  ``message_thread_id`` ("for forum supergroups only"); a thread id the chat does not have is
  refused with "Bad Request: message thread not found";
- ``chat_join_request`` (ChatJoinRequest: chat, from, user_chat_id, date, bio, invite_link):
  "The bot can use this identifier for 5 minutes to send messages until the join request is
  processed, assuming no other administrator contacted the user" — with ``strict_chats`` the
  fake lets the bot write to that private chat for that long, until the request is handled;
- ``approveChatJoinRequest`` / ``declineChatJoinRequest``: "The bot must be an administrator in
  the chat for this to work and must have the can_invite_users administrator right". The
  errors are Telegram's MTProto ones (https://core.telegram.org/method/messages.hideChatJoinRequest
  and hideAllChatJoinRequests): CHAT_ADMIN_REQUIRED without the right, HIDE_REQUESTER_MISSING
  ("The join request was missing or was already handled"), and USER_ALREADY_PARTICIPANT when
  the person is in the group already (reported by bot developers, not in the Bot API pages);
  an approved person becomes a member and the group gets its new_chat_members message;
- a bot link (https://core.telegram.org/api/links#bot-links) ``?startgroup=<parameter>`` (up
  to 64 characters of A-Z a-z 0-9 _ -) with ``admin=<rights joined by +>`` adds the bot as an
  administrator with those rights, then the client sends ``/start@<bot> <parameter>`` into
  the group.
"""

from __future__ import annotations

import copy
import re
import time
from urllib.parse import parse_qs, urlparse

from tests.fakes import JSONDict
from tests.fakes.errors import ApiError
from tests.fakes.telegram.state import TelegramState, unix_now

JOIN_WINDOW_SECONDS = 5 * 60
THREAD_NOT_FOUND = "Bad Request: message thread not found"
# The identifiers of a bot link's `admin` parameter and the ChatAdministratorRights field each
# one sets (https://core.telegram.org/api/links#bot-links).
ADMIN_RIGHTS = {
    "change_info": "can_change_info",
    "post_messages": "can_post_messages",
    "edit_messages": "can_edit_messages",
    "delete_messages": "can_delete_messages",
    "restrict_members": "can_restrict_members",
    "invite_users": "can_invite_users",
    "pin_messages": "can_pin_messages",
    "manage_topics": "can_manage_topics",
    "promote_members": "can_promote_members",
    "manage_video_chats": "can_manage_video_chats",
    "anonymous": "is_anonymous",
    "manage_chat": "can_manage_chat",
    "post_stories": "can_post_stories",
    "edit_stories": "can_edit_stories",
    "delete_stories": "can_delete_stories",
}
_START_PARAMETER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class GroupsState(TelegramState):
    def _target_chat(self, params: JSONDict, *, check_access: bool = True) -> int:
        raise NotImplementedError  # the endpoints' check (FakeTelegram)

    # ------------------------------------------------------------------ acting as people

    def make_forum(self, chat_id: int, title: str = "Nhóm") -> None:
        """A supergroup with topics enabled."""
        self._chat_titles[chat_id] = title
        self._chat_types[chat_id] = "supergroup"
        self._forums.add(chat_id)
        self._topics.setdefault(chat_id, {})

    def open_topic(self, chat_id: int, name: str, by_user_id: int = 777000) -> int:
        """A topic is created: its service message's id is the topic's message_thread_id."""
        if chat_id not in self._forums:
            raise AssertionError(f"chat {chat_id} is not a forum (make_forum)")
        message = self._new_message(
            chat_id, self._user(by_user_id), {"forum_topic_created": {"name": name}}
        )
        thread_id = int(message["message_id"])
        message["message_thread_id"] = thread_id
        message["is_topic_message"] = True
        self._topics[chat_id][thread_id] = name
        return thread_id

    def delete_topic(self, chat_id: int, thread_id: int) -> None:
        self._topics.get(chat_id, {}).pop(thread_id, None)

    def in_topic(self, chat_id: int, thread_id: int | None) -> list:
        """The bot's messages in that topic of the chat (None: the main chat)."""
        return [m for m in self.sent if m.chat_id == chat_id and m.thread_id == thread_id]

    def user_asks_to_join(
        self,
        chat_id: int,
        user_id: int,
        first_name: str | None = None,
        *,
        title: str = "Nhóm",
        user_chat_id: int | None = None,
        bio: str | None = None,
    ) -> JSONDict:
        """The person taps "request to join" (a group that approves new members)."""
        self._chat_titles[chat_id] = title
        if chat_id not in self._chat_types:
            self._chat_types[chat_id] = "supergroup"
        user = self._remember_user(user_id, first_name, None)
        private = user_id if user_chat_id is None else user_chat_id
        request: JSONDict = {
            "chat": self._chat(chat_id),
            "from": user,
            "user_chat_id": private,
            "date": unix_now(),
        }
        if bio is not None:
            request["bio"] = bio
        self._join_requests[(chat_id, user_id)] = request
        self._join_windows[private] = time.time() + JOIN_WINDOW_SECONDS
        return self._queue_update({"chat_join_request": copy.deepcopy(request)})

    def join_window_passes(self, user_chat_id: int) -> None:
        """The 5 minutes in which the bot may write because of a join request are over."""
        self._join_windows.pop(user_chat_id, None)

    def admin_handles_request(self, chat_id: int, user_id: int, *, approve: bool) -> None:
        """Another administrator approves or declines the request in the app."""
        self._settle_request(chat_id, user_id, approve=approve)

    def pending_join_requests(self, chat_id: int) -> list[int]:
        return sorted(user for (chat, user) in self._join_requests if chat == chat_id)

    def is_member(self, chat_id: int, user_id: int) -> bool:
        status = self._member_status.get((chat_id, user_id))
        return status in ("creator", "administrator", "member")

    def user_adds_bot_by_link(
        self, user_id: int, link: str, chat_id: int, title: str = "Nhóm"
    ) -> JSONDict:
        """The person opens a ``?startgroup=`` link, picks the group and agrees: the bot is an
        administrator there with the link's rights, then ``/start@bot <parameter>`` arrives."""
        query = parse_qs(urlparse(link).query, keep_blank_values=True)
        parameter = (query.get("startgroup") or [""])[0]
        if parameter and not _START_PARAMETER.match(parameter):
            raise AssertionError(f"Telegram would not open this start parameter: {parameter!r}")
        rights: set[str] = set()
        # "+" separates the rights; a URL decoder reads it as a space
        for name in re.split(r"[+ ]", (query.get("admin") or [""])[0]):
            if name and name not in ADMIN_RIGHTS:
                raise AssertionError(f"unknown admin right {name!r} in {link!r}")
            if name:
                rights.add(ADMIN_RIGHTS[name])
        self._chat_titles[chat_id] = title
        self._chat_types.setdefault(chat_id, "supergroup")
        self._member_status[(chat_id, user_id)] = "creator"
        update = self.bot_added_as_admin(chat_id, user_id, rights, title=title)
        text = f"/start@{self.bot_username}" + (f" {parameter}" if parameter else "")
        self.user_sends(user_id, text, chat_id=chat_id, chat_type=self._chat_type(chat_id))
        return update

    def bot_added_as_admin(
        self, chat_id: int, by_user_id: int, rights: set[str], *, title: str = "Nhóm"
    ) -> JSONDict:
        """my_chat_member left -> administrator with these ChatAdministratorRights fields."""
        self._chat_titles[chat_id] = title
        self._bot_gone.pop(chat_id, None)
        self._known_chats.add(chat_id)
        self._bot_rights[chat_id] = set(rights) | {"can_manage_chat"}  # implied by any right
        new_member = self._bot_as_admin(chat_id)
        return self._queue_update(
            {
                "my_chat_member": {
                    "chat": self._chat(chat_id),
                    "from": self._user(by_user_id),
                    "date": unix_now(),
                    "old_chat_member": {"user": self.bot_user, "status": "left"},
                    "new_chat_member": new_member,
                }
            }
        )

    # ------------------------------------------------------------------ internals

    def _bot_as_admin(self, chat_id: int) -> JSONDict:
        rights = self._bot_rights.get(chat_id, set())
        member: JSONDict = {"user": copy.deepcopy(self.bot_user), "status": "administrator"}
        for field in (*ADMIN_RIGHTS.values(), "can_be_edited"):
            member[field] = field in rights
        return member

    def _join_window_open(self, chat_id: int) -> bool:
        until = self._join_windows.get(chat_id)
        return until is not None and until > time.time()

    def _thread_fields(self, chat_id: int, params: JSONDict) -> JSONDict:
        """A send's message_thread_id, checked: the topic must exist in a forum."""
        raw = params.get("message_thread_id")
        if raw is None:
            return {}
        thread_id = int(raw)
        if thread_id not in self._topics.get(chat_id, {}):
            raise ApiError(400, THREAD_NOT_FOUND)
        return {"message_thread_id": thread_id, "is_topic_message": True}

    def _settle_request(self, chat_id: int, user_id: int, *, approve: bool) -> None:
        request = self._join_requests.pop((chat_id, user_id), None)
        if request is None:
            raise ApiError(400, "Bad Request: HIDE_REQUESTER_MISSING")
        self._join_windows.pop(int(request["user_chat_id"]), None)
        if approve:
            self.user_joins_group(chat_id, user_id, title=self._chat_titles.get(chat_id, "Nhóm"))
        self._notify()

    def _answer_join_request(self, method: str, params: JSONDict) -> bool:
        chat_id = self._target_chat(params)
        if "can_invite_users" not in self._bot_rights.get(chat_id, set()):
            raise ApiError(400, "Bad Request: CHAT_ADMIN_REQUIRED")
        user_id = int(params.get("user_id") or 0)
        if (chat_id, user_id) not in self._join_requests and self.is_member(chat_id, user_id):
            raise ApiError(400, "Bad Request: USER_ALREADY_PARTICIPANT")
        self._settle_request(chat_id, user_id, approve=method.lower().startswith("approve"))
        return True
