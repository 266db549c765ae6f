"""Training in a real browser: start a tiny run from the Training page, watch it succeed with
its chart (the page refreshes by itself), then activate the new model on the Models page."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page, expect
from pymongo.database import Database

from core.db.models import ModelRepository
from core.db.training_images import TrainingImageRepository
from core.db.training_runs import TrainingRunRepository
from core.db.users import UserRepository
from core.labels import CAT_PHENOTYPE
from core.services.demo import add_demo_images
from tests.console_helpers import PASSWORD
from tests.e2e.conftest import ARTIFACTS, fresh, shows, sign_in, wait_until_idle
from tests.model_helpers import perfect_model

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RUN_TIMEOUT_MS = 240_000  # the job imports TensorFlow, prepares 48 images, trains 2 epochs


@pytest.fixture
def console(console_server) -> tuple[str, Database]:
    """A console on a database with 48 demo images and an active model that claims perfect
    accuracy, so the new run's model is stored without being activated by itself."""

    def prepare(database: Database) -> None:
        UserRepository(database).add("ann", PASSWORD, display_name="Ann Breeder")
        add_demo_images(TrainingImageRepository(database), CAT_PHENOTYPE, count=48, seed=3)
        perfect_model(database)

    return console_server(
        "training",
        prepare,
        LABEL_SCHEMA="cat_phenotype",
        BACKBONE="small_cnn",  # the form's default: no weights to load, no select to open
        TF_CPP_MIN_LOG_LEVEL="3",
    )


def shot(page: Page, name: str) -> None:
    """Save a full-page screenshot in test-artifacts/."""
    page.screenshot(path=ARTIFACTS / f"training-{name}.png", full_page=True)


def choose(page: Page, label: str, pick: Callable[[Locator], Locator]) -> None:
    """Open a select box by its label once the app is idle, and click the option `pick` finds."""
    wait_until_idle(page, timeout_ms=90_000)
    box = fresh(page).get_by_role("combobox", name=label, exact=True)
    box.click()
    box.press("ArrowDown")  # opens the list when the click only focused the box
    option = pick(page.get_by_role("option")).first
    option.click()
    expect(page.get_by_role("option")).to_have_count(0)  # the list closed on the choice
    wait_until_idle(page, timeout_ms=90_000)


def open_page(page: Page, title: str) -> None:
    """Open a console page from the sidebar once the app is idle, and wait for its heading."""
    wait_until_idle(page, timeout_ms=90_000)
    page.get_by_role("link", name=title, exact=True).click()  # the sidebar's navigation
    try:
        expect(page.get_by_role("heading", name=title, exact=True)).to_have_count(1, timeout=60_000)
    except AssertionError:
        shot(page, f"open-{title}")
        raise
    wait_until_idle(page, timeout_ms=90_000)


def test_start_a_tiny_run_watch_it_succeed_and_activate_its_model(console, browser_page) -> None:
    url, database = console
    page = browser_page
    sign_in(page, url)

    open_page(page, "Training")
    expect(fresh(page).get_by_role("combobox", name="Backbone", exact=True)).to_have_count(1)
    for label, value in (("Epochs", "2"), ("Image size (pixels)", "48"), ("Batch size", "16")):
        field = page.get_by_role("spinbutton", name=label)
        field.fill(value)
        field.press("Tab")
    wait_until_idle(page)
    fresh(page).get_by_role("button", name="Start training").click()
    shows(page, "Started run", timeout_ms=60_000)
    try:
        # no reload from here on: the live view refreshes by itself until the run ends
        shows(page, "Done after 2 of 2 epochs", timeout_ms=RUN_TIMEOUT_MS)
        shows(page, "is stored but not active", timeout_ms=30_000)
    except (AssertionError, PlaywrightError):
        shot(page, "run-failed")
        runs = TrainingRunRepository(database)
        for run in runs.list():
            print(run.status, run.error, [e.message for e in runs.last_log_entries(run.id)])
        raise
    [run] = TrainingRunRepository(database).list()
    assert run.status == "succeeded" and run.requested_by == "ann" and not run.is_model_activated
    charts = page.get_by_test_id("stVegaLiteChart").filter(has_text="Loss per epoch")
    expect(charts.first).to_be_visible()
    expect(page.get_by_role("button", name="Start training")).to_be_enabled()  # once idle
    page.get_by_role("heading", name="Latest run").scroll_into_view_if_needed()
    shot(page, "succeeded")

    open_page(page, "Models")
    choose(page, "Model", lambda options: options.filter(has_text=f"#{run.model_id[-6:]}"))
    wait_until_idle(page)
    fresh(page).get_by_role("button", name="Activate").click()
    shows(page, f"#{run.model_id[-6:]} is now active", timeout_ms=30_000)
    shot(page, "activated")

    models = ModelRepository(database)
    assert models.active_id() == run.model_id
    assert [m.id for m in models.list() if m.is_active] == [run.model_id]
