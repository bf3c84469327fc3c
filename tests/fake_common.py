"""Old home of what the fake servers share, kept so older imports keep working: it now lives
in tests/fakes/ (``tests.fakes.server``, ``tests.fakes.waiting``)."""

from tests.fakes.server import InLoopServer
from tests.fakes.waiting import ChangeWaiter

__all__ = ["ChangeWaiter", "InLoopServer"]
