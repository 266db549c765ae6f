"""Fixtures for the console pages under AppTest."""

from __future__ import annotations

import pytest
from pymongo.database import Database

from core.config import Settings
from core.services import training
from tests.console_helpers import add_user, console_env


@pytest.fixture
def console(settings: Settings, mongo_db: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    """The console pointed at the test database, with administrator ann."""
    console_env(monkeypatch, settings)
    add_user(mongo_db, "ann")
    return mongo_db


@pytest.fixture
def launched(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The Training page's job launcher, recording what it would start."""
    calls: list[list[str]] = []
    monkeypatch.setattr(training, "detached_launcher", lambda settings, uri: calls.append)
    return calls
