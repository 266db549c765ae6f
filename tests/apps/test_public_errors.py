"""What the public breeder page shows when it cannot start: one generic sentence, never a
host, port, path or password; the detail goes to the server log."""

from __future__ import annotations

import logging

import pytest

from core.config import Settings, free_port
from tests.breeder_helpers import breeder_app, breeder_env, texts


def open_page(monkeypatch: pytest.MonkeyPatch, settings: Settings, **env: str):
    breeder_env(monkeypatch, settings, **env)
    return breeder_app()


def test_a_database_that_is_down_is_not_named_to_the_public(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    with caplog.at_level(logging.ERROR):
        at = open_page(monkeypatch, settings, MONGO_URI=f"mongodb://127.0.0.1:{port}")

    assert not at.exception
    shown = texts(at)
    assert "cannot reach its database right now" in shown
    assert str(port) not in shown and "127.0.0.1" not in shown
    assert str(port) in caplog.text  # the detail, for the administrator


@pytest.mark.parametrize(
    "env",
    [
        {"MONGO_URI": "ann:secretpw@db.internal:27017"},
        {"BACKBONE_WEIGHTS": "/srv/private/w.h5", "DATA_DIR": "/srv/private/cat-data"},
        {"LABEL_SCHEMA": "horses"},
    ],
)
def test_a_bad_setting_shows_a_generic_sentence_and_logs_the_detail(
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    env: dict[str, str],
) -> None:
    with caplog.at_level(logging.ERROR):
        at = open_page(monkeypatch, settings, **env)

    assert not at.exception
    shown = texts(at)
    assert [e.value for e in at.error] == [
        "The identifier is not set up correctly yet; please try again later."
    ]
    for secret in ("secretpw", "db.internal", "27017", "/srv/private", "horses"):
        assert secret not in shown
    assert next(iter(env)) in caplog.text  # the variable, named in the log
