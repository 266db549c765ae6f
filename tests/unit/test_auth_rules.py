"""Console session and role rules, without Streamlit or a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from admin_app.console_pages import PAGE_ROLES, PAGES, PAGES_DIR, may_open, page_of
from core.db.users import User
from core.errors import UserError
from core.services.auth import build_credentials, expired_message, is_session_valid
from core.services.throttle import SignInThrottle

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("last_activity", "expected"),
    [
        (NOW, True),
        (NOW - 29 * 60, True),
        (NOW - 30 * 60, True),
        (NOW - 30 * 60 - 1, False),
        (NOW - 86_400, False),
        (NOW + 5, True),  # a clock that stepped back a little
        (None, False),
        ("yesterday", False),
        (True, False),
    ],
)
def test_session_is_valid_within_the_inactivity_timeout(last_activity, expected: bool) -> None:
    assert is_session_valid(last_activity, NOW, timeout_minutes=30) is expected


def test_timeout_is_configurable() -> None:
    assert is_session_valid(NOW - 4 * 60, NOW, timeout_minutes=5)
    assert not is_session_valid(NOW - 6 * 60, NOW, timeout_minutes=5)
    assert "after 5 minutes without activity" in expired_message(5)


def test_labellers_open_the_labelling_pages_but_not_training_or_models() -> None:
    for title in ("Training images", "Import", "Review predictions", "Dashboards", "Users"):
        assert may_open("labeller", title)
    for title in ("Training", "Models"):
        assert not may_open("labeller", title)
    assert all(may_open("admin", title) for title in PAGE_ROLES)


def test_pages_nobody_listed_are_for_administrators_only() -> None:
    assert may_open("admin", "Backups")
    assert not may_open("labeller", "Backups")
    assert not may_open("guest", "Training images")


def test_credentials_for_streamlit_authenticator_come_from_our_users() -> None:
    created = datetime(2026, 1, 2, tzinfo=UTC)
    ann = User("ann", "Ann B", "ann@example.org", "admin", 2, None, None, created, "$2b$12$x")
    bob = User("bob", "bob", "", "labeller", 0, None, "ann", created, "$2b$12$y")

    credentials = build_credentials([ann, bob])

    assert credentials["usernames"]["ann"] == {
        "name": "Ann B",
        "email": "ann@example.org",
        "password": "$2b$12$x",
        "roles": ["admin"],
        "failed_login_attempts": 2,
        "logged_in": False,
    }
    assert credentials["usernames"]["bob"]["roles"] == ["labeller"]


def test_every_page_file_is_declared_once_with_its_roles() -> None:
    files = sorted(p.name for p in PAGES_DIR.glob("*.py") if p.name != "__init__.py")

    assert sorted(page.file for page in PAGES) == files
    assert page_of(PAGES_DIR / "models.py").roles == ("admin",)
    with pytest.raises(ValueError, match="'backups.py' is not a console page"):
        page_of("backups.py")


def test_a_client_is_refused_after_its_failures_for_one_window() -> None:
    throttle = SignInThrottle(max_failures=3, window=timedelta(minutes=15))
    start = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)

    for minute in range(3):
        throttle.check("203.0.113.9", start + timedelta(minutes=minute))
        throttle.add_failure("203.0.113.9", start + timedelta(minutes=minute))

    with pytest.raises(UserError, match="Too many failed sign-ins from your address; try again"):
        throttle.check("203.0.113.9", start + timedelta(minutes=3))
    throttle.check("198.51.100.7", start)  # another client
    throttle.check(None, start)  # a visitor on this machine
    throttle.check("203.0.113.9", start + timedelta(minutes=18))


def test_old_failures_of_a_client_are_forgotten() -> None:
    throttle = SignInThrottle(max_failures=3, window=timedelta(minutes=15))
    start = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)

    throttle.add_failure("a", start)
    throttle.add_failure("a", start + timedelta(minutes=1))
    throttle.add_failure("a", start + timedelta(minutes=20))

    throttle.check("a", start + timedelta(minutes=20))
