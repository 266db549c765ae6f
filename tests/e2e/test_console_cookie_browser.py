"""The console's sign-in cookie in a real browser: a bad cookie means signed out, never a
traceback; a good one signs in until the password changes."""

from __future__ import annotations

import time

import jwt
import pytest
from pymongo.database import Database

from admin_app.auth import COOKIE_NAME
from core.db.users import UserRepository
from core.services.auth import encode_session_cookie
from tests.console_helpers import PASSWORD

pytestmark = pytest.mark.browser

COOKIE_KEY = "a-test-cookie-key-of-at-least-32-bytes"
LATER = 4e9  # an expiry far ahead


@pytest.fixture(scope="module")
def console(console_server) -> tuple[str, Database]:
    """A console server with a fixed cookie key and the administrator ann; (url, database)."""
    return console_server(
        "cookie",
        lambda database: UserRepository(database).add("ann", PASSWORD),
        AUTH_COOKIE_KEY=COOKIE_KEY,
    )


def open_with_cookie(page, url: str, value: str) -> None:
    page.context.add_cookies([{"name": COOKIE_NAME, "value": value, "url": url}])
    page.goto(url)


def signed(claims: dict, key: str | None = COOKIE_KEY, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


@pytest.mark.parametrize(
    "cookie",
    [
        "garbage",
        signed({"username": "ann", "exp_date": LATER}, algorithm="HS512"),
        signed({"username": "ann", "exp_date": LATER}, key=None, algorithm="none"),
        signed({"username": "ann"}),
        signed({"username": "ann", "exp_date": "tomorrow"}),
    ],
    ids=["garbage", "hs512", "alg-none", "no-expiry", "text-expiry"],
)
def test_a_bad_cookie_shows_the_sign_in_form_not_a_traceback(
    browser_page, console: tuple[str, Database], cookie: str
) -> None:
    url, _ = console

    open_with_cookie(browser_page, url, cookie)

    browser_page.get_by_role("button", name="Sign in").wait_for()
    assert browser_page.get_by_test_id("stException").count() == 0
    assert browser_page.get_by_role("heading", name="Training images").count() == 0


def test_a_good_cookie_signs_in_until_the_password_changes(
    browser_page, console: tuple[str, Database]
) -> None:
    url, database = console
    users = UserRepository(database)
    cookie = encode_session_cookie(users.get("ann"), key=COOKIE_KEY, expires_at=time.time() + 600)

    open_with_cookie(browser_page, url, cookie)
    browser_page.get_by_role("heading", name="Training images").wait_for()

    users.set_password("ann", "a-fresh-password-9")
    browser_page.goto(url)
    browser_page.get_by_role("button", name="Sign in").wait_for()
    assert browser_page.get_by_role("heading", name="Training images").count() == 0


def test_signing_in_sets_a_cookie_that_survives_a_reload(
    browser_page, console: tuple[str, Database]
) -> None:
    url, database = console
    UserRepository(database).add("bob", PASSWORD)
    page = browser_page
    page.goto(url)
    page.get_by_role("textbox", name="Username").fill("bob")
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Training images").wait_for()
    page.wait_for_function(
        "name => document.cookie.split('; ').some(c => c.startsWith(name + '='))", arg=COOKIE_NAME
    )

    page.reload()

    page.get_by_role("heading", name="Training images").wait_for()
    assert page.get_by_role("button", name="Sign in").count() == 0
