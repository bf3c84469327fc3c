"""Tables and the named queries on them, grouped by feature. Handlers call these functions."""

# ruff: noqa: E402 - the naming convention is set before the tables are imported

from sqlmodel import SQLModel

from models.types import NAMING_CONVENTION

# Before any table is defined: names are given as constraints attach to their tables.
SQLModel.metadata.naming_convention = NAMING_CONVENTION

from models.audit import AuditEntry
from models.broadcasts import Broadcast
from models.chat_extras import ChatChoices, LinkCode, SharedFile
from models.cluster import Lease, SendPace
from models.dialogs import DialogState
from models.emulation import Campaign, Pledge
from models.events import ProcessedEvent
from models.groups import ChatGroup, JoinRequest
from models.meetings import Invite, Meeting
from models.members import Identity, Member
from models.outbox import DeliveryJob, OutboxItem, OutboxMessage
from models.polls import Poll, PollCopy, PollVote
from models.reminders import Reminder
from models.roles import RoleAssignment
from models.units import Unit
from models.web import WebToken

__all__ = [
    "AuditEntry",
    "Broadcast",
    "Campaign",
    "ChatChoices",
    "ChatGroup",
    "DeliveryJob",
    "DialogState",
    "Identity",
    "Invite",
    "JoinRequest",
    "Lease",
    "LinkCode",
    "Meeting",
    "Member",
    "OutboxItem",
    "OutboxMessage",
    "Pledge",
    "Poll",
    "PollCopy",
    "PollVote",
    "ProcessedEvent",
    "Reminder",
    "RoleAssignment",
    "SendPace",
    "SharedFile",
    "Unit",
    "WebToken",
]
