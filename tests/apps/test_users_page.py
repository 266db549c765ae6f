"""The Users page under AppTest, against the embedded MongoDB."""

from __future__ import annotations

from pymongo.database import Database
from streamlit.testing.v1 import AppTest

from core.db.users import UserRepository
from core.services.auth import sign_in
from tests.console_helpers import (
    PASSWORD,
    add_user,
    all_text,
    open_page,
    run_ok,
    widget,
)


def submit_new_user(
    at: AppTest,
    username: str,
    password: str,
    *,
    again: str | None = None,
    display_name: str | None = None,
    role: str | None = None,
) -> AppTest:
    """Fill the Add user form (the password twice, `again` if it differs) and submit it."""
    widget(at.text_input, "Username").input(username)
    if display_name is not None:
        widget(at.text_input, "Display name").input(display_name)
    if role is not None:
        widget(at.selectbox, "Role").set_value(role)
    widget(at.text_input, "Password").input(password)
    widget(at.text_input, "Password again").input(password if again is None else again)
    widget(at.button, "Add user").click()
    return run_ok(at)


def test_an_administrator_adds_a_user(console: Database) -> None:
    at = open_page("users.py")

    submit_new_user(at, "Cleo", "cleos-own-password", display_name="Cleo Labeller", role="labeller")

    assert at.success[0].value == "Added labeller 'cleo'; they can sign in now."
    assert "cleo" in list(at.dataframe[0].value["Username"])
    cleo = UserRepository(console).get("cleo")
    assert (cleo.role, cleo.display_name, cleo.created_by) == ("labeller", "Cleo Labeller", "ann")


def test_adding_a_user_with_two_different_passwords_is_refused(console: Database) -> None:
    at = open_page("users.py")

    submit_new_user(at, "cleo", "cleos-own-password", again="cleos-other-password")

    assert "two new passwords differ" in at.error[0].value
    assert UserRepository(console).find("cleo") is None


def test_changing_your_own_password(console: Database) -> None:
    users = UserRepository(console)
    at = open_page("users.py")

    widget(at.text_input, "Current password").input(PASSWORD)
    widget(at.text_input, "New password").input("a-brand-new-secret")
    widget(at.text_input, "New password again").input("a-brand-new-secret")
    widget(at.button, "Change password").click()
    run_ok(at)

    assert at.success[0].value == "Your password is changed; use it next time you sign in."
    limits = {"max_failed_logins": 5, "lockout_minutes": 15}
    assert sign_in(users, "ann", "a-brand-new-secret", **limits).username == "ann"


def test_the_last_administrator_cannot_be_removed(console: Database) -> None:
    add_user(console, "bob", role="labeller")
    at = open_page("users.py")

    remove = widget(at.selectbox, "User to remove")
    assert remove.options == ["bob"]  # never yourself, so never the last administrator

    remove.set_value("bob")
    widget(at.checkbox, "Yes, remove this user for good").check()
    run_ok(at)
    widget(at.button, "Remove user").click()
    run_ok(at)

    assert at.success[0].value == "Removed 'bob'."
    assert [u.username for u in UserRepository(console).list()] == ["ann"]
    assert "You are the only user" in all_text(at)


def test_a_labeller_sees_only_their_own_account(console: Database) -> None:
    add_user(console, "bob", role="labeller")

    at = open_page("users.py", "bob")

    assert [s.value for s in at.subheader] == ["Your account"]
    assert "Only administrators can see and manage the other console users." in all_text(at)
    assert not at.dataframe


def test_a_name_with_markdown_is_quoted_as_text_not_rendered_as_a_link(console: Database) -> None:
    at = open_page("users.py")

    submit_new_user(at, "[win](http://evil.example)", "cleos-own-password")

    shown = at.error[0].value
    assert "\\[win\\](http\\://evil.example)" in shown  # escaped: shown literally, no link
    assert UserRepository(console).find("[win](http://evil.example)") is None
