"""Tables and the named queries on them, grouped by feature. Handlers call these functions."""

from models.audit import AuditEntry
from models.broadcasts import Broadcast
from models.dialogs import DialogState
from models.events import ProcessedEvent
from models.groups import ChatGroup
from models.members import Identity, Member
from models.outbox import DeliveryJob, OutboxItem, OutboxMessage
from models.roles import RoleAssignment
from models.units import Unit

__all__ = [
    "AuditEntry",
    "Broadcast",
    "ChatGroup",
    "DeliveryJob",
    "DialogState",
    "Identity",
    "Member",
    "OutboxItem",
    "OutboxMessage",
    "ProcessedEvent",
    "RoleAssignment",
    "Unit",
]
