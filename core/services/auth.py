"""Console sign-in rules: sessions, sign-in with lockout, roles, and user management by role."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core.db.users import User, UserRepository
from core.errors import UserError

# The session keys every console page relies on (admin contract): st.session_state[...]
AUTH_STATUS_KEY = "authentication_status"
USERNAME_KEY = "username"
LAST_ACTIVITY_KEY = "last_activity"


def is_session_valid(last_activity: float | None, now: float, timeout_minutes: int) -> bool:
    """Whether a session last active at `last_activity` (time.time()) is still open at `now`."""
    if not isinstance(last_activity, int | float) or isinstance(last_activity, bool):
        return False
    return now - last_activity <= timeout_minutes * 60


@dataclass(frozen=True)
class SessionCheck:
    """The signed-in user of a session, or why there is none."""

    user: User | None
    has_expired: bool = False


def check_session(
    state: Mapping[str, Any], users: UserRepository, *, now: float, timeout_minutes: int
) -> SessionCheck:
    """The user a session belongs to, if it is signed in, recent enough and the user exists."""
    if state.get(AUTH_STATUS_KEY) is not True:
        return SessionCheck(None)
    username = state.get(USERNAME_KEY)
    if not isinstance(username, str) or not username:
        return SessionCheck(None)
    if not is_session_valid(state.get(LAST_ACTIVITY_KEY), now, timeout_minutes):
        return SessionCheck(None, has_expired=True)
    return SessionCheck(users.find(username))


def expired_message(timeout_minutes: int) -> str:
    return (
        f"Your session ended after {timeout_minutes} minutes without activity; "
        "sign in again to continue."
    )


def sign_in(
    users: UserRepository,
    username: str,
    password: str,
    *,
    max_failed_logins: int,
    lockout_minutes: int,
    now: datetime | None = None,
) -> User:
    """The user if the password is right; UserError otherwise (the account locks after
    `max_failed_logins` wrong passwords in a row, for `lockout_minutes`)."""
    if not username.strip() or not password:
        raise UserError("Type your username and your password, then press Sign in.")
    return users.authenticate(
        username,
        password,
        max_failed_logins=max_failed_logins,
        lockout=timedelta(minutes=lockout_minutes),
        now=now,
    )


def build_credentials(users: Iterable[User]) -> dict[str, Any]:
    """The credentials mapping streamlit-authenticator expects, built from our users.

    It carries the bcrypt hashes only because the library's format asks for them; the console
    never lets the library check a password (our `sign_in` does, so the lockout applies).
    """
    return {
        "usernames": {
            user.username: {
                "name": user.display_name,
                "email": user.email,
                "password": user.password_hash,
                "roles": [user.role],
                "failed_login_attempts": user.failed_logins,
                "logged_in": False,
            }
            for user in users
        }
    }


def require_admin(user: User, action: str) -> None:
    if not user.is_admin:
        raise UserError(
            f"Only administrators can {action}; you are signed in as {user.role} {user.username!r}."
        )


def check_repeat(password: str, repeat: str) -> None:
    if password != repeat:
        raise UserError("The two new passwords differ; type the same password twice.")


def add_user(
    users: UserRepository,
    *,
    by: User,
    username: str,
    password: str,
    repeat: str,
    role: str = "admin",
    display_name: str = "",
    email: str = "",
) -> User:
    """Add a console user; only administrators may."""
    require_admin(by, "add users")
    check_repeat(password, repeat)
    return users.add(
        username,
        password,
        role=role,
        display_name=display_name,
        email=email,
        created_by=by.username,
    )


def change_own_password(
    users: UserRepository, user: User, *, current: str, new: str, repeat: str
) -> None:
    """Change the signed-in user's password after checking the current one."""
    check_repeat(new, repeat)
    if new == current:
        raise UserError("The new password is the same as the current one; choose another.")
    users.change_password(user.username, current, new)


def remove_user(users: UserRepository, username: str, *, by: User) -> None:
    """Remove another user; only administrators may, and never the last administrator."""
    require_admin(by, "remove users")
    users.remove(username, by=by.username)
