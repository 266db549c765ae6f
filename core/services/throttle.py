"""Failed sign-ins per client address, counted in this process, so one visitor cannot try many
names or lock every account."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime, timedelta

from core.errors import UserError


class SignInThrottle:
    """Refuse a client for `window` once it failed `max_failures` sign-ins within `window`.

    Counters live in memory (thread-safe; a restart forgets them) and at most `max_clients`
    addresses are remembered, the least recently seen forgotten first.
    """

    def __init__(self, *, max_failures: int, window: timedelta, max_clients: int = 10_000) -> None:
        if max_failures < 1:
            raise ValueError(f"max_failures must be at least 1, not {max_failures}")
        self.max_failures = max_failures
        self.window = window
        self._max_clients = max_clients
        self._failures: OrderedDict[str, list[datetime]] = OrderedDict()
        self._blocked_until: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def check(self, client: str | None, now: datetime) -> None:
        """UserError while this client is refused; None (a local visitor) is never refused."""
        if client is None:
            return
        with self._lock:
            until = self._blocked_until.get(client)
            if until is None or until <= now:
                self._blocked_until.pop(client, None)
                return
        minutes = max(1, round((until - now).total_seconds() / 60))
        raise UserError(
            "Too many failed sign-ins from your address; "
            f"try again in {minutes} minute{'s' if minutes > 1 else ''}."
        )

    def add_failure(self, client: str | None, now: datetime) -> None:
        """Count one failed sign-in of this client; refuse it from now on at the limit."""
        if client is None:
            return
        with self._lock:
            recent = [t for t in self._failures.pop(client, []) if now - t < self.window]
            recent.append(now)
            if len(recent) >= self.max_failures:
                self._blocked_until[client] = now + self.window
                recent = []
            self._failures[client] = recent
            while len(self._failures) > self._max_clients:
                self._failures.popitem(last=False)
            if len(self._blocked_until) > self._max_clients:
                self._blocked_until = {c: t for c, t in self._blocked_until.items() if t > now}
