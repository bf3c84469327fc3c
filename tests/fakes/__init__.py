"""Fake Telegram and Zalo Bot API servers for the end-to-end tests, on loopback.

- ``server.py``: a uvicorn server started and stopped inside the test's event loop.
- ``waiting.py``: ``ChangeWaiter``, waiting until the fake's state changes or goes quiet.
- ``errors.py``: ``ApiError``, an error answer in the platforms' shared JSON envelope.
- ``faults.py``: ``fail_next`` / ``stall_next`` rules, matched against the calls as they come.
- ``telegram/``: the Bot API fake, as ``text.py`` (parse modes, entity errors, UTF-16 lengths),
  ``limits.py`` (Telegram's limits and error texts, with their sources), ``state.py`` (chats,
  messages, updates, polls, files and the helpers that act as users) and ``endpoints.py``
  (``FakeTelegram``: the HTTP routes, parameter checks and answers).
- ``zalo/``: the Zalo Bot API fake, as ``state.py`` and ``endpoints.py`` (``FakeZalo``, with the
  webhook pushes).
"""

from __future__ import annotations

from typing import Any

JSONDict = dict[str, Any]
