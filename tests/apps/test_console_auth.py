"""Console sign-in: the rules against the real MongoDB, and the router/pages under AppTest."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from pymongo.database import Database
from streamlit.testing.v1 import AppTest

from admin_app.console_pages import page_of
from core.clock import utcnow
from core.config import Settings
from core.db.users import UserRepository
from core.errors import UserError
from core.services.auth import (
    add_user as add_console_user,
)
from core.services.auth import (
    change_own_password,
    check_session,
    remove_user,
    sign_in,
)
from tests.console_helpers import (
    CONSOLE_APP,
    PAGES_DIR,
    PASSWORD,
    TIMEOUT_S,
    add_user,
    console_env,
    page_test,
    signed_in,
)

LIMITS = {"max_failed_logins": 5, "lockout_minutes": 15}
PAGE_FILES = sorted(p.name for p in PAGES_DIR.glob("*.py") if p.name != "__init__.py")


# ----- the rules, against the real server -------------------------------------------------


def test_sign_in_with_the_right_password_returns_the_user(mongo_db: Database) -> None:
    add_user(mongo_db, "ann")

    user = sign_in(UserRepository(mongo_db), " Ann ", PASSWORD, **LIMITS)

    assert user.username == "ann"


@pytest.mark.parametrize(("username", "password"), [("", PASSWORD), ("ann", ""), ("  ", "x")])
def test_sign_in_without_a_name_or_password_asks_for_both(
    mongo_db: Database, username: str, password: str
) -> None:
    users = UserRepository(mongo_db)
    add_user(mongo_db, "ann")

    with pytest.raises(UserError, match="Type your username and your password"):
        sign_in(users, username, password, **LIMITS)
    assert users.get("ann").failed_logins == 0  # not counted as a failure


def test_five_wrong_passwords_lock_the_account_for_the_configured_time(
    mongo_db: Database,
) -> None:
    users = UserRepository(mongo_db)
    add_user(mongo_db, "ann")
    start = utcnow()

    for attempt in range(4):
        with pytest.raises(UserError, match="Wrong username or password"):
            sign_in(users, "ann", f"wrong-{attempt}", **LIMITS, now=start)
    with pytest.raises(UserError, match="now locked for 15 minutes after 5 failed sign-ins"):
        sign_in(users, "ann", "wrong-again", **LIMITS, now=start)
    with pytest.raises(UserError, match="is locked"):
        sign_in(users, "ann", PASSWORD, **LIMITS, now=start + timedelta(minutes=14))

    later = start + timedelta(minutes=16)
    assert sign_in(users, "ann", PASSWORD, **LIMITS, now=later).username == "ann"


def test_unknown_users_get_the_same_message_as_wrong_passwords(mongo_db: Database) -> None:
    with pytest.raises(UserError, match="Wrong username or password"):
        sign_in(UserRepository(mongo_db), "mallory", PASSWORD, **LIMITS)


def test_a_session_belongs_to_an_existing_user_and_expires(mongo_db: Database) -> None:
    users = UserRepository(mongo_db)
    add_user(mongo_db, "ann")
    now = time.time()
    session = {"authentication_status": True, "username": "ann", "last_activity": now - 60}

    assert check_session(session, users, now=now, timeout_minutes=30).user.username == "ann"
    expired = check_session(session, users, now=now + 30 * 60, timeout_minutes=30)
    assert (expired.user, expired.has_expired) == (None, True)
    assert (
        check_session({**session, "username": "bob"}, users, now=now, timeout_minutes=30).user
        is None
    )
    assert (
        check_session(
            {**session, "authentication_status": None}, users, now=now, timeout_minutes=30
        ).user
        is None
    )
    assert check_session({"username": "ann"}, users, now=now, timeout_minutes=30).user is None


def test_only_administrators_add_users(mongo_db: Database) -> None:
    users = UserRepository(mongo_db)
    ann = add_user(mongo_db, "ann")
    bob = add_user(mongo_db, "bob", role="labeller")
    new = {"username": "cleo", "password": PASSWORD, "repeat": PASSWORD, "role": "labeller"}

    with pytest.raises(UserError, match="Only administrators can add users"):
        add_console_user(users, by=bob, **new)
    with pytest.raises(UserError, match="two new passwords differ"):
        add_console_user(users, by=ann, **{**new, "repeat": "something-else"})
    cleo = add_console_user(users, by=ann, **new)

    assert (cleo.role, cleo.created_by) == ("labeller", "ann")
    assert cleo.password_hash.startswith("$2") and PASSWORD not in cleo.password_hash


def test_changing_your_password_checks_the_current_one(mongo_db: Database) -> None:
    users = UserRepository(mongo_db)
    ann = add_user(mongo_db, "ann")
    fresh = "a-fresh-password-9"

    with pytest.raises(UserError, match="current password is wrong"):
        change_own_password(users, ann, current="nope-nope-nope", new=fresh, repeat=fresh)
    with pytest.raises(UserError, match="two new passwords differ"):
        change_own_password(users, ann, current=PASSWORD, new=fresh, repeat=fresh + "x")
    with pytest.raises(UserError, match="same as the current one"):
        change_own_password(users, ann, current=PASSWORD, new=PASSWORD, repeat=PASSWORD)
    with pytest.raises(UserError, match="at least 8"):
        change_own_password(users, ann, current=PASSWORD, new="short", repeat="short")
    change_own_password(users, ann, current=PASSWORD, new=fresh, repeat=fresh)

    assert sign_in(users, "ann", fresh, **LIMITS).username == "ann"
    with pytest.raises(UserError, match="Wrong username or password"):
        sign_in(users, "ann", PASSWORD, **LIMITS)


def test_removing_users_needs_an_administrator_and_keeps_the_last_one(
    mongo_db: Database,
) -> None:
    users = UserRepository(mongo_db)
    ann = add_user(mongo_db, "ann")
    bob = add_user(mongo_db, "bob", role="labeller")
    cleo = add_user(mongo_db, "cleo")

    with pytest.raises(UserError, match="Only administrators can remove users"):
        remove_user(users, "cleo", by=bob)
    with pytest.raises(UserError, match="cannot remove yourself"):
        remove_user(users, "ann", by=ann)
    remove_user(users, "ann", by=cleo)  # another administrator may
    with pytest.raises(UserError, match="'cleo' is the last administrator"):
        users.remove("cleo", by="command line")

    assert [u.username for u in users.list()] == ["bob", "cleo"]


# ----- the router and pages under AppTest -------------------------------------------------


def console_test() -> AppTest:
    return AppTest.from_file(str(CONSOLE_APP), default_timeout=TIMEOUT_S)


def text_input(at: AppTest, label: str):
    return next(widget for widget in at.text_input if widget.label == label)


def button(at: AppTest, label: str):
    return next(widget for widget in at.button if widget.label == label)


def submit_sign_in(at: AppTest, username: str, password: str) -> AppTest:
    text_input(at, "Username").input(username)
    text_input(at, "Password").input(password)
    button(at, "Sign in").click()
    return at.run()


def texts(at: AppTest) -> str:
    parts = [e.value for e in (*at.markdown, *at.info, *at.warning, *at.error, *at.success)]
    return "\n".join(str(p) for p in parts)


@pytest.mark.parametrize("page", PAGE_FILES)
def test_every_console_page_refuses_to_render_without_a_session(
    page: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    console_env(monkeypatch, settings)

    at = page_test(page).run()

    assert not at.exception
    assert [info.value for info in at.info] == ["Please sign in to use the Cat Identifier console."]
    assert not at.title and not at.header and not at.subheader
    assert not (at.button or at.text_input or at.selectbox or at.checkbox or at.dataframe)
    assert not at.get("file_uploader")


@pytest.mark.parametrize("page", PAGE_FILES)
def test_every_console_page_refuses_an_expired_session(page: str, console: Database) -> None:
    at = signed_in(page_test(page), "ann")
    at.session_state["last_activity"] = time.time() - 31 * 60

    at.run()

    assert not at.exception
    assert "Your session ended after 30 minutes without activity" in at.warning[0].value
    assert not at.title and not at.button


@pytest.mark.parametrize("page", ["models.py", "training.py"])
def test_a_labeller_opening_an_admin_page_directly_is_refused(
    page: str, settings: Settings, mongo_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    console_env(monkeypatch, settings)
    add_user(mongo_db, "bob", role="labeller")
    at = signed_in(page_test(page), "bob")

    at.run()

    assert not at.exception
    assert [e.value for e in at.error] == [
        f"The {page_of(page).title} page is for admin accounts; you are signed in as labeller "
        "'bob', so pick another page."
    ]
    assert not at.title and not at.button and not at.dataframe


def test_console_shows_only_the_sign_in_form_without_a_session(console: Database) -> None:
    at = console_test().run()

    assert not at.exception
    assert [t.value for t in at.title] == ["Cat Identifier console"]
    assert [w.label for w in at.text_input] == ["Username", "Password"]
    assert "Training images" not in texts(at)


def test_signing_in_with_the_right_password_opens_the_console(console: Database) -> None:
    at = submit_sign_in(console_test().run(), "ann", PASSWORD)

    assert not at.exception
    assert [t.value for t in at.title] == ["Training images"]
    assert at.session_state["username"] == "ann"
    assert time.time() - at.session_state["last_activity"] < 60
    assert "Signed in as **ann** (admin)" in [c.value for c in at.sidebar.caption]


def test_the_cookie_component_is_on_signed_in_pages_only(console: Database) -> None:
    """Its first value reruns the app: on the sign-in page that rerun could swallow a click."""
    at = console_test().run()
    assert at.get("component_instance") == []

    submit_sign_in(at, "ann", PASSWORD)
    assert [t.value for t in at.title] == ["Training images"]
    assert at.get("component_instance") != []  # writes the sign-in cookie


def test_a_wrong_password_is_refused_and_five_lock_the_account(console: Database) -> None:
    at = console_test().run()

    for attempt in range(4):
        submit_sign_in(at, "ann", f"not-the-password-{attempt}")
        assert [e.value for e in at.error] == [
            "Wrong username or password; check both and try again."
        ]
    submit_sign_in(at, "ann", "still-not-it")
    assert "'ann' is now locked for 15 minutes after 5 failed sign-ins" in at.error[0].value
    submit_sign_in(at, "ann", PASSWORD)

    assert "is locked after 5 failed sign-ins" in at.error[0].value
    assert [t.value for t in at.title] == ["Cat Identifier console"]
    assert at.session_state["authentication_status"] is not True


def test_signing_out_ends_the_session(console: Database) -> None:
    at = signed_in(console_test(), "ann").run()
    assert [t.value for t in at.title] == ["Training images"]

    next(b for b in at.sidebar.button if b.label == "Sign out").click()
    at.run()

    assert not at.exception
    assert at.session_state["authentication_status"] is None
    assert at.session_state["username"] is None
    assert [t.value for t in at.title] == ["Cat Identifier console"]
    assert [w.label for w in at.text_input] == ["Username", "Password"]


def test_an_idle_console_session_ends_with_a_note(
    console: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SESSION_TIMEOUT_MINUTES", "5")
    at = signed_in(console_test(), "ann")
    at.session_state["last_activity"] = time.time() - 6 * 60

    at.run()

    assert [t.value for t in at.title] == ["Cat Identifier console"]
    assert "Your session ended after 5 minutes without activity" in at.warning[0].value


def test_first_administrator_comes_from_the_environment_when_the_console_starts_first(
    settings: Settings, mongo_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    console_env(monkeypatch, settings)
    monkeypatch.setenv("ADMIN_USERNAME", "Root")
    monkeypatch.setenv("ADMIN_PASSWORD", "first-admin-password")

    at = submit_sign_in(console_test().run(), "root", "first-admin-password")

    assert [t.value for t in at.title] == ["Training images"]
    assert UserRepository(mongo_db).get("root").created_by == "environment"
    assert not Path(settings.data_dir, "initial-admin-password.txt").exists()


def test_a_password_over_72_bytes_gets_a_sentence_not_a_traceback(console: Database) -> None:
    at = submit_sign_in(console_test().run(), "ann", "é" * 40)

    assert not at.exception
    assert [e.value for e in at.error] == [
        "The password is longer than 72 bytes (UTF-8); use a shorter one."
    ]


def test_a_password_changed_elsewhere_signs_this_session_out(console: Database) -> None:
    at = submit_sign_in(console_test().run(), "ann", PASSWORD)
    assert [t.value for t in at.title] == ["Training images"]

    UserRepository(console).set_password("ann", "changed-on-another-computer")
    at.run()

    assert not at.exception
    assert "Training images" not in [t.value for t in at.title]
    assert "Your password was changed" in at.warning[0].value
    assert at.session_state["authentication_status"] is not True


def test_the_users_page_refuses_a_new_password_over_72_bytes(console: Database) -> None:
    at = signed_in(page_test("users.py"), "ann").run()
    long = "é" * 40

    text_input(at, "Current password").input(PASSWORD)
    text_input(at, "New password").input(long)
    text_input(at, "New password again").input(long)
    button(at, "Change password").click()
    at.run()

    assert not at.exception
    assert "longer than 72 bytes" in at.error[0].value
    assert sign_in(UserRepository(console), "ann", PASSWORD, **LIMITS).username == "ann"
