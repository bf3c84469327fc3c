"""Serving a fake's Starlette app with uvicorn on 127.0.0.1, inside the test's event loop.

Both fakes bind their own socket first, so the port is known before uvicorn starts."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp


class InLoopServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The test runner owns SIGINT/SIGTERM; uvicorn must not swallow Ctrl-C.
        yield


class LoopbackServer:
    """``app`` served on a free port of 127.0.0.1 by a task of the running event loop.
    ``name`` ("Telegram", "Zalo") names the task and the start-up error."""

    def __init__(self, app: ASGIApp, name: str) -> None:
        self.app = app
        self.name = name
        self.port: int | None = None  # kept after stop()
        self._server: InLoopServer | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        """start() was called and stop() has not finished since."""
        return self._task is not None

    async def start(self) -> None:
        # Port 0 = any free one. proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets
        # that say they are TCP; without it every keep-alive request waits ~40 ms for a
        # delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            lifespan="off",
            log_level="warning",
            log_config=None,  # don't reconfigure the test runner's logging
            access_log=False,
            ws="none",
            timeout_graceful_shutdown=2,
        )
        server = self._server = InLoopServer(config)
        task = self._task = asyncio.create_task(
            server.serve(sockets=[sock]), name=f"fake-{self.name.lower()}"
        )
        while not server.started:
            if task.done():
                task.result()  # re-raise the startup error
                raise RuntimeError(f"fake {self.name} server exited during startup")
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        """Ask uvicorn to exit and wait for it; the fake must have released its long polls
        first, or uvicorn waits for them."""
        if self._task is None or self._server is None:
            return
        self._server.should_exit = True
        try:
            await asyncio.wait_for(self._task, timeout=10)
        finally:
            self._task = None
            self._server = None
