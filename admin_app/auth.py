"""The console's sign-in gate: every page calls `require_login(__file__)` first.

Passwords are checked by `core.services.auth.sign_in` (UserRepository.authenticate), so the
lockout after repeated failures and the per-client throttle always apply. The sign-in cookie (a
reload within the session timeout needs no password) is signed and read by core.services.auth,
which treats a forged, foreign or garbled cookie as signed out; streamlit-authenticator only
carries it to and from the browser and signs out. Its own password check is never used.
"""

from __future__ import annotations

import contextlib
import time
from datetime import datetime

import streamlit as st
import streamlit_authenticator as stauth
from streamlit.errors import StreamlitAPIException

from admin_app.console_pages import page_of
from admin_app.resources import get_cookie_key, get_database, get_settings
from core.db.users import User, UserRepository
from core.errors import UserError
from core.services.auth import (
    AUTH_STATUS_KEY,
    LAST_ACTIVITY_KEY,
    REVOKED_MESSAGE,
    SESSION_VERSION_KEY,
    USERNAME_KEY,
    build_credentials,
    check_session,
    client_throttle,
    cookie_user,
    encode_session_cookie,
    expired_message,
    session_state_for,
    sign_in,
)
from core.services.throttle import SignInThrottle
from core.text import escape_markdown

COOKIE_NAME = "cat_identifier_console"
ROUTER = "app.py"  # relative to the main script: admin_app/app.py when pages run unrouted
SIGN_OUT_KEY = "sign_out_requested"
SET_COOKIE_KEY = "sign_in_cookie_pending"
UNEXPECTED_ERROR = (
    "Something went wrong on this page; reload it, and tell an administrator if it happens again."
)


def _stop_with(message: str, *, is_error: bool = False) -> None:
    (st.error if is_error else st.info)(message)
    st.stop()


def _users() -> UserRepository:
    try:
        return UserRepository(get_database())
    except UserError as err:
        _stop_with(str(err), is_error=True)
        raise  # not reached: st.stop() ends the run


def require_login(page_script: str) -> User:
    """The signed-in user who may open this page (pass its `__file__`); otherwise a note, then stop.

    The router lists only the pages a role may open; the role is checked here too, so a page
    opened directly by its address refuses a user whose role may not open it.
    """
    page = page_of(page_script)
    if st.session_state.pop(SIGN_OUT_KEY, False):  # the router normally handles it first
        end_session()
    if st.session_state.get(AUTH_STATUS_KEY) is not True:
        _to_sign_in()
        _stop_with("Please sign in to use the Cat Identifier console.")
    try:
        timeout = get_settings().session_timeout_minutes
    except UserError as err:
        _stop_with(str(err), is_error=True)
    check = check_session(st.session_state, _users(), now=time.time(), timeout_minutes=timeout)
    if check.user is None:
        end_session()
        if check.has_expired:
            st.warning(expired_message(timeout))
        elif check.is_revoked:
            st.warning(REVOKED_MESSAGE)
        _stop_with("Please sign in to use the Cat Identifier console.")
    st.session_state[LAST_ACTIVITY_KEY] = time.time()
    if not page.may_open(check.user.role):
        _stop_with(
            f"The {page.title} page is for {' or '.join(page.roles)} accounts; you are signed "
            f"in as {check.user.role} {check.user.username!r}, so pick another page.",
            is_error=True,
        )
    return check.user


def _to_sign_in() -> None:
    """Open the router's sign-in form when a page file was run without the router.

    Until some session has run the router, Streamlit treats admin_app/pages/ as a legacy pages
    folder, so a first visit to e.g. /users runs that file alone; under the router (and in
    tests that run a page file alone) there is no such page and the short note is shown.
    """
    with contextlib.suppress(StreamlitAPIException):
        st.switch_page(ROUTER)


def start_session(user: User) -> None:
    for key, value in session_state_for(user, now=time.time()).items():
        st.session_state[key] = value
    st.session_state["logout"] = None  # the cookie counts again


def keep_session(user: User) -> None:
    """Keep this session (and renew its cookie) after its own password change ended the others."""
    st.session_state[SESSION_VERSION_KEY] = user.session_version
    st.session_state[SET_COOKIE_KEY] = True


def end_session() -> None:
    for key in (AUTH_STATUS_KEY, USERNAME_KEY, "name", "roles", LAST_ACTIVITY_KEY):
        st.session_state[key] = None
    st.session_state.pop(SESSION_VERSION_KEY, None)
    st.session_state["logout"] = True  # streamlit-authenticator: ignore the cookie from now on


def request_sign_out() -> None:
    """Button callback: sign out at the start of the next run, before any page renders."""
    st.session_state[SIGN_OUT_KEY] = True


@st.cache_resource(show_spinner=False)
def _throttle(max_failed_logins: int, lockout_minutes: int) -> SignInThrottle:
    """One throttle per process and limits: every session counts into it."""
    return client_throttle(max_failed_logins=max_failed_logins, lockout_minutes=lockout_minutes)


def make_authenticator(users: UserRepository) -> stauth.Authenticate:
    """streamlit-authenticator for the cookie only; it renders an invisible cookie component."""
    timeout = get_settings().session_timeout_minutes
    return stauth.Authenticate(
        build_credentials(users.list()),
        cookie_name=COOKIE_NAME,
        cookie_key=get_cookie_key(),
        cookie_expiry_days=timeout / (24 * 60),  # a cookie never outlives the session timeout
        auto_hash=False,
        login_sleep_time=0,
    )


def session_user(users: UserRepository) -> User | None:
    """The signed-in user of this session (after a sign-out request, a cookie sign-in or an
    expired session), or None; refreshes the activity time.

    The cookie is read from the request (st.context); streamlit-authenticator's invisible cookie
    component, which writes and deletes it, is rendered only for a signed-in session: on the
    sign-in page its late first value would rerun the app and could swallow a Sign in click.
    """
    if st.session_state.pop(SIGN_OUT_KEY, False):
        if st.session_state.get(AUTH_STATUS_KEY):
            make_authenticator(users).logout(location="unrendered")  # also deletes the cookie
        end_session()
        return None
    if st.session_state.get(AUTH_STATUS_KEY) is not True and not st.session_state.get("logout"):
        token = st.context.cookies.get(COOKIE_NAME)
        if user := cookie_user(token, users, key=get_cookie_key(), now=time.time()):
            start_session(user)  # any other cookie: signed out, the sign-in form shows
    timeout = get_settings().session_timeout_minutes
    check = check_session(st.session_state, users, now=time.time(), timeout_minutes=timeout)
    if check.user is None:
        if st.session_state.get(AUTH_STATUS_KEY):
            make_authenticator(users).logout(location="unrendered")
        end_session()
        if check.has_expired:
            st.session_state["sign_in_note"] = expired_message(timeout)
        elif check.is_revoked:
            st.session_state["sign_in_note"] = REVOKED_MESSAGE
        return None
    st.session_state[LAST_ACTIVITY_KEY] = time.time()
    authenticator = make_authenticator(users)  # keeps its component mounted while signed in
    if st.session_state.pop(SET_COOKIE_KEY, False):
        _set_cookie(authenticator, check.user, lifetime_s=timeout * 60)
    return check.user


def _set_cookie(authenticator: stauth.Authenticate, user: User, *, lifetime_s: float) -> None:
    """Send the browser a sign-in cookie that ends with the session timeout."""
    expires_at = time.time() + lifetime_s
    token = encode_session_cookie(user, key=get_cookie_key(), expires_at=expires_at)
    cookies = authenticator.cookie_controller.cookie_model.cookie_manager
    cookies.set(COOKIE_NAME, token, expires_at=datetime.fromtimestamp(expires_at))


def sign_in_page(users: UserRepository) -> None:
    """The only page shown without a session."""
    settings = get_settings()
    _, middle, _ = st.columns([1, 2, 1])
    with middle:
        st.title("Cat Identifier console")
        if note := st.session_state.pop("sign_in_note", None):
            st.warning(escape_markdown(note))
        with st.form("sign_in", enter_to_submit=True):
            st.subheader("Sign in")
            username = st.text_input("Username", autocomplete="username")
            password = st.text_input("Password", type="password", autocomplete="current-password")
            submitted = st.form_submit_button("Sign in", type="primary", width="stretch")
        if submitted:
            try:
                user = sign_in(
                    users,
                    username,
                    password,
                    max_failed_logins=settings.max_failed_logins,
                    lockout_minutes=settings.lockout_minutes,
                    throttle=_throttle(settings.max_failed_logins, settings.lockout_minutes),
                    client=st.context.ip_address,  # None for a visitor on this machine
                )
            except UserError as err:
                st.error(escape_markdown(err))
            else:
                start_session(user)
                st.session_state[SET_COOKIE_KEY] = True  # set by the next run, which stays
                st.rerun()
        st.caption(
            "No account yet? An administrator adds you on the Users page; the first one comes "
            "from `python -m jobs.users add NAME` or ADMIN_USERNAME/ADMIN_PASSWORD."
        )
