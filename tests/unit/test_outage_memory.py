"""A database that did not answer is not asked again for a while: reruns fail at once."""

from __future__ import annotations

import pytest

from core.db.database import OutageMemory
from core.errors import ServiceUnavailableError


def raises(err: Exception):
    """An opener that fails with err."""

    def opener() -> str:
        raise err

    return opener


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_database_that_did_not_answer_is_not_asked_again_until_the_retry_time() -> None:
    clock, calls = Clock(), []

    def down() -> str:
        calls.append("down")
        raise ServiceUnavailableError("MongoDB at 'db:27017' does not answer; check MONGO_URI.")

    memory = OutageMemory(retry_after_s=20, clock=clock)
    for _ in range(3):
        with pytest.raises(ServiceUnavailableError, match="'db:27017' does not answer"):
            memory.open("db", down)
        clock.now += 5
    assert calls == ["down"]  # the second and third refusals did not wait for the server

    clock.now += 10  # 25 s after the failure
    assert memory.open("db", lambda: "connected") == "connected"
    clock.now += 1  # down again: asked once, then refused for the next 20 s
    for _ in range(2):
        with pytest.raises(ServiceUnavailableError):
            memory.open("db", down)
    assert calls == ["down", "down"]


def test_an_outage_of_one_database_does_not_refuse_another() -> None:
    memory = OutageMemory(retry_after_s=20, clock=Clock())
    with pytest.raises(ServiceUnavailableError):
        memory.open("a", raises(ServiceUnavailableError("a is down.")))
    assert memory.open("b", lambda: "b") == "b"
