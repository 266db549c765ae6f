"""Open the product database with every index its repositories rely on."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import TypeVar

from pymongo.database import Database

from core.config import Settings
from core.db.indexes import ensure_all
from core.db.mongo import connect, mongo_uri_for
from core.errors import ServiceUnavailableError

T = TypeVar("T")
RETRY_AFTER_S = 20.0  # how long a database that did not answer is not asked again


def get_database(settings: Settings) -> Database:
    """The product database with its indexes in place."""
    database = connect(mongo_uri_for(settings))[settings.mongo_db]
    ensure_all(database)
    return database


class OutageMemory:
    """Remembers a database that did not answer, and for `retry_after_s` refuses at once with the
    same sentence: a page whose database is down then answers each click without first waiting
    for the server's timeout again."""

    def __init__(
        self, retry_after_s: float = RETRY_AFTER_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.retry_after_s = retry_after_s
        self._clock = clock
        self._failures: dict[Hashable, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def open(self, key: Hashable, opener: Callable[[], T]) -> T:
        """`opener()`, unless it failed for this key less than `retry_after_s` ago."""
        with self._lock:
            failure = self._failures.get(key)
        if failure is not None and self._clock() - failure[0] < self.retry_after_s:
            raise ServiceUnavailableError(failure[1])
        try:
            result = opener()
        except ServiceUnavailableError as err:
            with self._lock:
                self._failures[key] = (self._clock(), str(err))
            raise
        with self._lock:
            self._failures.pop(key, None)
        return result
