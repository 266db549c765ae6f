"""A bound on concurrent work: a few requests at work, a few waiting, the rest told to retry."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from api_app.errors import error_response
from core.text import plural

RETRY_AFTER_S = 1


class WorkLimit:
    """At most `max_running` requests at work and `max_waiting` queued behind them."""

    def __init__(self, max_running: int | None = None, max_waiting: int | None = None) -> None:
        self.max_running = max_running or os.cpu_count() or 1  # the model keeps a core busy
        # a waiting request has not read its body yet: it holds a socket, not an upload
        self.max_waiting = 4 * self.max_running if max_waiting is None else max_waiting
        self.running = 0
        self.waiting = 0
        self._slots = asyncio.Semaphore(self.max_running)

    @property
    def is_full(self) -> bool:
        """Whether a new request would have to be turned away."""
        return self.running + self.waiting >= self.max_running + self.max_waiting

    def state(self) -> dict[str, Any]:
        """What /health says about the work under way."""
        return {
            "running": self.running,
            "waiting": self.waiting,
            "max_running": self.max_running,
            "max_waiting": self.max_waiting,
        }

    async def run(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request in turn, or answer 503 with Retry-After at once when full."""
        if self.is_full:
            busy = error_response(
                503,
                f"The server is busy with {plural(self.running + self.waiting, 'request')}; "
                f"try again in {RETRY_AFTER_S} s.",
                {"Retry-After": str(RETRY_AFTER_S)},
            )
            await busy(scope, receive, send)
            return
        self.waiting += 1
        is_waiting = True
        try:
            async with self._slots:
                self.waiting -= 1
                is_waiting = False
                self.running += 1
                try:
                    await app(scope, receive, send)
                finally:
                    self.running -= 1
        finally:
            if is_waiting:  # cancelled (the client left) before its turn came
                self.waiting -= 1


class LimitWork:
    """ASGI middleware: requests to the `paths` prefixes go through a WorkLimit."""

    def __init__(self, app: ASGIApp, *, limit: WorkLimit, paths: tuple[str, ...]) -> None:
        self.app, self.limit, self.paths = app, limit, paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.paths):
            await self.limit.run(self.app, scope, receive, send)
        else:
            await self.app(scope, receive, send)
