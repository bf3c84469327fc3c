"""Platform-neutral events (what people did) and messages (what the bot says).

Adapters translate platform updates into `Event`s and render `Message`s natively; handlers
only ever see these types, so no feature code knows Telegram from Zalo.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ChatKind = Literal["private", "group"]
# Things that happen in groups rather than words people type.
# "join_request": someone asked to join a group that approves new members (Telegram).
GroupChange = Literal["bot_added", "bot_removed", "member_joined", "migrated", "join_request"]


@dataclass(frozen=True)
class Contact:
    phone: str
    # The Telegram user the contact belongs to; None when the card is someone unknown.
    owner_user_id: str | None


@dataclass(frozen=True)
class FileRef:
    """A file someone sent, kept on the platform and re-sent by its id."""

    platform: str
    kind: str  # "photo" | "document"
    file_id: str
    file_name: str = ""
    mime_type: str = ""
    size: int = 0


@dataclass(frozen=True)
class PollAnswer:
    """Someone answered (or, with no options, retracted) a native poll."""

    native_id: str
    option_ids: tuple[int, ...]


@dataclass(frozen=True)
class PollState:
    """The platform's count for one native poll (sent after each vote and when stopped)."""

    native_id: str
    counts: tuple[int, ...]
    voters: int
    closed: bool


@dataclass(frozen=True)
class Event:
    platform: str
    event_id: str
    chat_id: str
    chat_kind: ChatKind
    user_id: str
    user_name: str
    text: str | None = None
    command: str | None = None
    args: str = ""
    payload: str | None = None
    contact: Contact | None = None
    # Kind of an attachment the bot cannot use here: "sticker", "photo", "voice", "file", ...
    attachment: str | None = None
    # Set for photos and documents: what a handler may keep and send on.
    file: FileRef | None = None
    group_change: GroupChange | None = None
    chat_title: str = ""
    new_chat_id: str | None = None
    # The platform message a button was pressed on (lets the reply edit it in place).
    message_ref: str | None = None
    poll_answer: PollAnswer | None = None
    poll_state: PollState | None = None
    # Which of the deployment's bots it came through ("telegram:sct"); None: the main bot.
    bot: str | None = None
    # The forum topic of a group the message (or the message a button is on) belongs to;
    # None: the group's main chat (Telegram's "General" topic) or a group without topics.
    thread_id: str | None = None
    # A join request: the private chat the bot may write to about it (Telegram's
    # user_chat_id, usable for a few minutes unless the person writes to the bot).
    private_chat_id: str | None = None

    @property
    def is_private(self) -> bool:
        return self.chat_kind == "private"

    @property
    def address(self) -> str:
        return f"{self.platform}:{self.user_id}"


@dataclass(frozen=True)
class PollContent:
    poll_id: int
    question: str
    options: tuple[str, ...]
    anonymous: bool
    multiple: bool


@dataclass(frozen=True)
class Button:
    label: str
    payload: str | None = None
    url: str | None = None
    # A page opened inside the app (a Telegram Mini App), where Capabilities.web_app says so.
    web_app: str | None = None


@dataclass(frozen=True)
class Document:
    filename: str
    content: bytes
    mime_type: str = "application/octet-stream"


@dataclass
class Message:
    text: str
    buttons: list[list[Button]] = field(default_factory=list)
    document: Document | None = None
    # A picture made by the bot (a chart), sent as a photo with `text` as caption.
    image: Document | None = None
    # Label of the platform's "share my phone number" button, where it exists ("" = none).
    request_contact: str = ""
    # Replace the message a button was pressed on instead of sending a new one.
    edit_ref: str | None = None
    # A photo or document already on the platform, sent with `text` as its caption.
    attachment: FileRef | None = None
    # In group chats: pin it (where the bot has the right to).
    pin: bool = False
    # Never folded into the next message (e.g. it must close the share-phone keyboard).
    standalone: bool = False
    # A poll, where the platform has native ones; `text` is then only for the others.
    poll: PollContent | None = None
    # In a group: the person this answers (apps without buttons keep numbered choices per
    # person there, so one member's menu does not take another's "2", and an answer without
    # buttons ends that person's menu).
    for_user: str | None = None
    # Apps without buttons: this message's numbered choices continue those of the message
    # just before it in the same chat (several cards on screen at once: "1. Duyệt 2. Từ chối"
    # then "3. Duyệt 4. Từ chối"), instead of starting again at 1 and taking over "1".
    more_choices: bool = False
    # In a group with topics: the topic it goes to (None: the main chat).
    thread_id: str | None = None


# How people call each app in the texts the bot writes.
APP_NAMES = {"telegram": "Telegram", "zalo": "Zalo", "console": "Console"}


@dataclass(frozen=True)
class Capabilities:
    inline_buttons: bool
    native_polls: bool
    request_contact: bool
    max_text_length: int
    # Buttons may open a web page inside the app (Telegram Mini Apps; docs/web.md).
    web_app: bool = False
    # The bot may be in group chats (Zalo: only when getMe says can_join_groups).
    groups: bool = True


@dataclass(frozen=True)
class Address:
    """Where to send: a private chat with a user, or a group chat."""

    platform: str
    chat_id: str
    # The bot to send through ("telegram:sct"); None: the one this person or group talks to.
    bot: str | None = None
