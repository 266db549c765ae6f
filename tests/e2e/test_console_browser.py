"""The console in a real browser: sign in, filter, select, bulk-label, see the counts change."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pymongo.database import Database

from core.db.training_images import TrainingImageRepository
from core.db.users import UserRepository
from core.labels import CAT_PHENOTYPE
from core.services.demo import add_demo_images
from tests.console_helpers import PASSWORD
from tests.e2e.conftest import (
    ARTIFACTS,
    docs_screenshot,
    fresh,
    next_frames,
    shows,
    sign_in,
    wait_until_idle,
)

pytestmark = pytest.mark.browser

LABELLED, UNLABELLED = 36, 12
COOKIE_NAME = "cat_identifier_console"


@pytest.fixture(scope="module")
def console_url(console_server) -> str:
    """A console server on a database with demo images and the administrator ann."""

    def prepare(database: Database) -> None:
        UserRepository(database).add("ann", PASSWORD, display_name="Ann Breeder")
        add_demo_images(
            TrainingImageRepository(database), CAT_PHENOTYPE, count=LABELLED, unlabelled=UNLABELLED
        )

    url, _ = console_server("console", prepare, LABEL_SCHEMA="cat_phenotype")
    return url


def choose(page: Page, label: str, option: str, *, within: str | None = None) -> None:
    """Pick an option of a Streamlit select box found by its label (in a keyed container)."""
    elements = page.locator(f".st-key-{within}").locator(fresh(page)) if within else fresh(page)
    wait_until_idle(page)
    elements.get_by_role("combobox", name=label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()


def wait_for_thumbnails(page: Page, count: int) -> None:
    """Wait until at least `count` thumbnails have loaded and the app is idle."""
    page.wait_for_function(
        """count => {
            const images = [...document.querySelectorAll('[data-testid="stImage"] img')];
            return images.length >= count && images.every(i => i.complete && i.naturalWidth > 0);
        }""",
        arg=count,
    )
    wait_until_idle(page)


def shot(page: Page, name: str) -> Path:
    """Save a screenshot of the page in test-artifacts/ and return its path."""
    path = ARTIFACTS / f"console-{name}.png"
    page.screenshot(path=str(path))
    return path


def test_sign_in_filter_select_and_bulk_label(browser_page: Page, console_url: str) -> None:
    page = browser_page
    total = LABELLED + UNLABELLED

    page.goto(console_url + "/users")  # a page's address without a session
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert page.get_by_role("heading", name="Users").count() == 0
    shot(page, "sign-in")

    sign_in(page, console_url)
    shows(page, re.compile(f"^{total} of {total} images match"))
    choose(page, "Status", f"Labelled ({LABELLED})")  # the README shows labelled images
    shows(page, re.compile(f"^{LABELLED} of {total} images match"))
    page.set_viewport_size({"width": 1280, "height": 1400})
    page.mouse.move(0, 0)
    page.evaluate("document.activeElement.blur()")
    wait_for_thumbnails(page, LABELLED)
    next_frames(page)
    page.screenshot(path=str(docs_screenshot("console-training-images.png")))
    page.set_viewport_size({"width": 1280, "height": 900})

    choose(page, "Status", f"Unlabelled ({UNLABELLED})")
    shows(page, re.compile(f"^{UNLABELLED} of {total} images match"))
    wait_until_idle(page)
    fresh(page).get_by_role("button", name="Select page").click()
    shows(page, re.compile(f"^{UNLABELLED} selected$"))
    for label, value in [
        ("Cat", "yes"),
        ("Colour", "cream"),
        ("Tabby", "no"),
        ("Pattern", "self"),
        ("Colourpoint", "no"),
    ]:
        choose(page, label, value, within="bulk_actions")
    wait_until_idle(page)
    shot(page, "before-bulk-label")
    fresh(page).get_by_role("button", name=f"Apply label to {UNLABELLED} selected").click()

    try:
        shows(page, re.compile(f"^Labelled {UNLABELLED} images"))
    finally:
        shot(page, "after-apply")
    shows(page, re.compile(f"^0 of {total} images match"))
    shot(page, "after-bulk-label")
    choose(page, "Status", f"Labelled ({total})")
    shows(page, re.compile(f"^{total} of {total} images match"))


def test_details_phone_width_and_sign_out(browser_page: Page, console_url: str) -> None:
    page = browser_page
    sign_in(page, console_url)
    wait_until_idle(page)
    fresh(page).get_by_role("button", name="View").first.click()  # the first image's
    dialog = page.get_by_role("dialog")
    shows(dialog, "History")
    assert dialog.get_by_text("Source:").count() == 1
    shot(page, "details")
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)

    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.get_by_test_id("stSidebar")).to_have_attribute("data-collapsed", "true")
    next_frames(page)
    shot(page, "phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    wait_until_idle(page)
    fresh(page).get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    # the cookie component deletes the sign-in cookie in the browser, a moment after the page
    page.wait_for_function("name => !document.cookie.includes(name + '=')", arg=COOKIE_NAME)
    page.reload()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert page.get_by_role("heading", name="Training images").count() == 0
