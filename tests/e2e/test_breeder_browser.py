"""The breeder page in a real browser: upload a demo cat, see the result, answer, screenshot."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

from core.db.predictions import PredictionRepository
from tests.breeder_helpers import showcase_photo
from tests.e2e.conftest import ARTIFACTS, docs_screenshot, next_frames, shows, wait_until_idle

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def breeder(fixed_model_breeder) -> tuple[str, PredictionRepository]:
    """A breeder page server on its own database, with a model that knows the showcase cat."""
    url, database = fixed_model_breeder("breeder")
    return url, PredictionRepository(database)


def fit_to_content(page: Page) -> None:
    """Make the viewport as tall as the page, so that one screenshot shows all of it."""
    height = page.get_by_test_id("stMainBlockContainer").evaluate("e => e.scrollHeight")
    page.set_viewport_size({"width": page.viewport_size["width"], "height": int(height) + 96})
    next_frames(page)


def test_upload_a_demo_cat_see_the_result_and_answer(
    browser_page: Page, breeder: tuple[str, PredictionRepository], tmp_path: Path
) -> None:
    url, predictions = breeder
    page = browser_page
    data, truth = showcase_photo()
    photo = tmp_path / "blue-tabby-bicolour.jpg"
    photo.write_bytes(data)

    page.goto(url)
    shows(page, "Works best for British Shorthairs older than 8 weeks")
    chooser = page.get_by_role("region", name="Choose a photo of your cat").locator(
        "input[type='file']"
    )  # the litter planner below has its own uploaders
    chooser.wait_for(state="attached", timeout=60_000)  # the model loads before the uploader
    started = time.perf_counter()
    chooser.set_input_files(str(photo))
    try:
        expect(page.get_by_role("heading", name="Blue tabby bicolour")).to_have_count(1)
    except (AssertionError, PlaywrightError):
        page.screenshot(path=str(ARTIFACTS / "breeder-no-result.png"))
        raise
    seconds = time.perf_counter() - started
    print(f"file chosen to result shown: {seconds:.2f} s")

    assert truth["colour"] == "blue" and truth["is_tabby"] and truth["pattern"] == "bicolour"
    shows(page, "For breeders")
    assert page.get_by_test_id("stCode").first.inner_text().strip() == "B- dd A- Ss C-"
    assert page.get_by_text("blue · 87%").is_visible()
    shown = page.get_by_test_id("stImage").locator("img").first
    natural, drawn = shown.evaluate(
        "img => [img.naturalWidth / img.naturalHeight, img.clientWidth / img.clientHeight]"
    )
    assert abs(natural - drawn) < 0.02  # the photo keeps its aspect ratio
    assert seconds < 10  # generous for a loaded CI box; jobs/bench_breeder.py measures it

    wait_until_idle(page)
    page.get_by_role("button", name="Yes, that's right").click()
    shows(page, "Thank you! Your answer helps the model get better.")
    (prediction,) = predictions.recent(5)
    assert prediction.user_has_reviewed and bool(prediction.user_feedback) is True

    page.mouse.move(4, 4)  # no hover toolbar on the photo
    wait_until_idle(page)
    fit_to_content(page)
    screenshot = docs_screenshot("breeder-result.png")
    page.screenshot(path=str(screenshot))
    assert screenshot.stat().st_size > 20_000
