"""The console in a real browser: sign in, filter, select, bulk-label, see the counts change."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from pymongo import MongoClient

from core.db.indexes import ensure_all
from core.db.training_images import TrainingImageRepository
from core.db.users import UserRepository
from core.labels import CAT_PHENOTYPE
from core.services.demo import add_demo_images
from tests.console_support import CONSOLE_APP, PASSWORD
from tests.e2e.conftest import ARTIFACTS, REPO_ROOT

pytestmark = pytest.mark.browser

LABELLED, UNLABELLED = 36, 12
DOCS_SCREENSHOT = REPO_ROOT / "docs" / "console-training-images.png"


@pytest.fixture(scope="module")
def console_url(
    mongo_uri: str, postgres_url: str, tmp_path_factory: pytest.TempPathFactory, streamlit_server
) -> Iterator[str]:
    """A console server on a database with demo images and the administrator ann."""
    db_name = f"test_console_{uuid4().hex[:8]}"
    with MongoClient(mongo_uri, tz_aware=True) as client:
        database = client[db_name]
        ensure_all(database)
        UserRepository(database).add("ann", PASSWORD, display_name="Ann Breeder")
        add_demo_images(
            TrainingImageRepository(database), CAT_PHENOTYPE, count=LABELLED, unlabelled=UNLABELLED
        )
        env = {
            "MONGO_URI": mongo_uri,
            "MONGO_DB": db_name,
            "DATABASE_URL": postgres_url,
            "DATA_DIR": str(tmp_path_factory.mktemp("console-data")),
            "LABEL_SCHEMA": "cat_phenotype",
        }
        yield streamlit_server(CONSOLE_APP, env).url
        client.drop_database(db_name)


def choose(page, label: str, option: str, *, within: str | None = None) -> None:
    """Pick an option of a Streamlit select box found by its label (in a keyed container)."""
    scope = page.locator(f".st-key-{within}") if within else page
    scope.get_by_role("combobox", name=label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()


def settle(page) -> None:
    """Wait until the app has finished running (the cookie component reruns it once on load)."""
    page.wait_for_timeout(500)
    page.get_by_test_id("stStatusWidget").wait_for(state="hidden")


def wait_for_thumbnails(page, count: int) -> None:
    page.wait_for_function(
        """count => {
            const images = [...document.querySelectorAll('[data-testid="stImage"] img')];
            return images.length >= count && images.every(i => i.complete && i.naturalWidth > 0);
        }""",
        arg=count,
    )
    settle(page)


def sign_in(page, url: str) -> None:
    page.goto(url)
    page.get_by_role("button", name="Sign in").wait_for()
    settle(page)
    page.get_by_role("textbox", name="Username").fill("ann")
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    try:
        page.get_by_role("heading", name="Training images").wait_for()
    except Exception:
        shot(page, "sign-in-failed")
        raise


def shot(page, name: str) -> Path:
    path = ARTIFACTS / f"console-{name}.png"
    page.screenshot(path=str(path))
    return path


def test_sign_in_filter_select_and_bulk_label(browser_page, console_url: str) -> None:
    page = browser_page
    total = LABELLED + UNLABELLED

    page.goto(console_url + "/users")  # a page's address without a session
    page.get_by_role("button", name="Sign in").wait_for()
    assert page.get_by_role("heading", name="Users").count() == 0
    shot(page, "sign-in")

    sign_in(page, console_url)
    page.get_by_text(re.compile(f"^{total} of {total} images match")).wait_for()
    choose(page, "Status", f"Labelled ({LABELLED})")  # the README shows labelled images
    page.get_by_text(re.compile(f"^{LABELLED} of {total} images match")).wait_for()
    page.set_viewport_size({"width": 1280, "height": 1400})
    page.mouse.move(0, 0)
    page.evaluate("document.activeElement.blur()")
    wait_for_thumbnails(page, LABELLED)
    DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS_SCREENSHOT))
    page.set_viewport_size({"width": 1280, "height": 900})

    choose(page, "Status", f"Unlabelled ({UNLABELLED})")
    page.get_by_text(re.compile(f"^{UNLABELLED} of {total} images match")).wait_for()
    page.get_by_role("button", name="Select page").click()
    page.get_by_text(f"{UNLABELLED} selected", exact=True).wait_for()
    for label, value in [
        ("Cat", "yes"),
        ("Colour", "cream"),
        ("Tabby", "no"),
        ("Pattern", "self"),
        ("Colourpoint", "no"),
    ]:
        choose(page, label, value, within="bulk_actions")
    shot(page, "before-bulk-label")
    page.get_by_role("button", name=f"Apply label to {UNLABELLED} selected").click()

    try:
        page.get_by_text(re.compile(f"^Labelled {UNLABELLED} images")).wait_for()
    finally:
        shot(page, "after-apply")
    page.get_by_text(re.compile(f"^0 of {total} images match")).wait_for()
    shot(page, "after-bulk-label")
    choose(page, "Status", f"Labelled ({total})")
    page.get_by_text(re.compile(f"^{total} of {total} images match")).wait_for()


def test_details_phone_width_and_sign_out(browser_page, console_url: str) -> None:
    page = browser_page
    sign_in(page, console_url)
    page.get_by_role("button", name="View").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("History").wait_for()
    assert dialog.get_by_text("Source:").count() == 1
    shot(page, "details")
    page.keyboard.press("Escape")

    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(1000)
    shot(page, "phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for()
    for _ in range(50):  # the cookie component deletes the sign-in cookie in the browser
        if "cat_identifier_console" not in {c["name"] for c in page.context.cookies()}:
            break
        page.wait_for_timeout(100)
    page.reload()
    page.get_by_role("button", name="Sign in").wait_for()
    assert page.get_by_role("heading", name="Training images").count() == 0
