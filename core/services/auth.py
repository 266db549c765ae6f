"""Console sign-in rules: sessions, sign-in with lockout, roles, and user management by role."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt

from core.clock import utcnow
from core.db.users import User, UserRepository
from core.errors import UserError
from core.services.throttle import SignInThrottle

# The session keys every console page relies on (admin contract): st.session_state[...]
AUTH_STATUS_KEY = "authentication_status"
USERNAME_KEY = "username"
LAST_ACTIVITY_KEY = "last_activity"
SESSION_VERSION_KEY = "session_version"  # the user's session_version when this session began
COOKIE_ALGORITHM = "HS256"


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
    is_revoked: bool = False  # the password changed since the session began


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
    user = users.find(username)
    if user is None:
        return SessionCheck(None)
    if state.get(SESSION_VERSION_KEY, 0) != user.session_version:
        return SessionCheck(None, is_revoked=True)
    return SessionCheck(user)


def session_state_for(user: User, *, now: float) -> dict[str, Any]:
    """The session keys of a session that `user` opens at `now` (time.time())."""
    return {
        AUTH_STATUS_KEY: True,
        USERNAME_KEY: user.username,
        "name": user.display_name,
        "roles": [user.role],
        LAST_ACTIVITY_KEY: now,
        SESSION_VERSION_KEY: user.session_version,
    }


def encode_session_cookie(user: User, *, key: str, expires_at: float) -> str:
    """A signed sign-in cookie value for `user`, valid until `expires_at` (time.time())."""
    claims = {
        "username": user.username,
        "exp_date": expires_at,  # streamlit-authenticator's name for it
        "session_version": user.session_version,
    }
    return jwt.encode(claims, key, algorithm=COOKIE_ALGORITHM)


def cookie_user(token: str | None, users: UserRepository, *, key: str, now: float) -> User | None:
    """The user a sign-in cookie vouches for; None for a missing, forged, foreign, garbled or
    expired cookie, a removed user or a session revoked since (never an exception)."""
    if not token:
        return None
    try:
        claims = jwt.decode(token, key, algorithms=[COOKIE_ALGORITHM])
    except jwt.InvalidTokenError:
        return None
    username, expires_at = claims.get("username"), claims.get("exp_date")
    version = claims.get("session_version", 0)
    if not isinstance(username, str) or not username:
        return None
    if not isinstance(expires_at, int | float) or isinstance(expires_at, bool) or expires_at < now:
        return None
    user = users.find(username)
    if user is None or version != user.session_version:
        return None
    return user


REVOKED_MESSAGE = "Your password was changed, which ended this session; sign in with the new one."


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
    throttle: SignInThrottle | None = None,
    client: str | None = None,
    now: datetime | None = None,
) -> User:
    """The user if the password is right; UserError otherwise.

    The account (or name) locks after `max_failed_logins` wrong passwords in a row, for
    `lockout_minutes`; with a throttle, the client address is refused after its own limit.
    """
    if not username.strip() or not password:
        raise UserError("Type your username and your password, then press Sign in.")
    now = now or utcnow()
    if throttle is not None:
        throttle.check(client, now)
    try:
        return users.authenticate(
            username,
            password,
            max_failed_logins=max_failed_logins,
            lockout=timedelta(minutes=lockout_minutes),
            now=now,
        )
    except UserError:
        if throttle is not None:
            throttle.add_failure(client, now)
        raise


def client_throttle(*, max_failed_logins: int, lockout_minutes: int) -> SignInThrottle:
    """The console's throttle: a client may fail twice as often as one account, per lockout."""
    return SignInThrottle(
        max_failures=2 * max_failed_logins, window=timedelta(minutes=lockout_minutes)
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
) -> User:
    """Change the signed-in user's password after checking the current one; return the user
    with its new session version (every other session of theirs ends)."""
    check_repeat(new, repeat)
    if new == current:
        raise UserError("The new password is the same as the current one; choose another.")
    return users.change_password(user.username, current, new)


def remove_user(users: UserRepository, username: str, *, by: User) -> None:
    """Remove another user; only administrators may, and never the last administrator."""
    require_admin(by, "remove users")
    users.remove(username, by=by.username)
