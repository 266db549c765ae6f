"""The litter planner in a real browser: two parents' photos to a kitten table, timed.

The model is a real Keras model with fixed outputs (the showcase blue tabby bicolour), so
both photos read the same; the breeder then changes the dam's colour, as the form allows.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.breeder_helpers import demo_photo
from tests.e2e.conftest import ARTIFACTS, docs_screenshot

pytestmark = pytest.mark.browser

PHOTO_TO_TABLE_LIMIT_S = 30  # the issue asks for well under a minute


@pytest.fixture(scope="module")
def breeder_url(fixed_model_breeder) -> str:
    """A breeder page server on its own database, with a model that sees a blue tabby bicolour."""
    url, _ = fixed_model_breeder("litter")
    return url


def parent_box(page, role: str):
    """The bordered box of one parent (its container's key gives it a class)."""
    return page.locator(f".st-key-litter_{role}")


def choose_photo(page, role: str, photo: Path) -> None:
    from playwright.sync_api import expect

    box = parent_box(page, role)
    box.locator("input[type='file']").set_input_files(str(photo))
    expect(box.get_by_test_id("stImage")).to_be_visible(timeout=60_000)  # the form is filled


def select(page, role: str, label: str, value: str) -> None:
    """Pick a value in one of a parent's select boxes, as a person does: open, type, Enter."""
    from playwright.sync_api import expect

    box = parent_box(page, role).get_by_role("combobox", name=label)
    box.click()
    page.keyboard.type(value)
    page.keyboard.press("Enter")
    expect(box).to_have_value(value)


def wait_idle(page) -> None:
    """Until the script has finished its run (Streamlit fades elements while it runs)."""
    from playwright.sync_api import expect

    expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning")


def show_planner(page, url: str) -> None:
    from playwright.sync_api import expect

    page.goto(url)
    expect(page.get_by_role("heading", name="Plan a litter")).to_be_visible(timeout=60_000)


def test_two_parent_photos_to_a_kitten_table(browser_page, breeder_url, tmp_path) -> None:
    from playwright.sync_api import expect

    page = browser_page
    photos = {}
    for index, role in enumerate(("sire", "dam")):
        photos[role] = tmp_path / f"{role}.jpg"
        photos[role].write_bytes(demo_photo(index))
    show_planner(page, breeder_url)

    started = time.perf_counter()
    choose_photo(page, "sire", photos["sire"])
    choose_photo(page, "dam", photos["dam"])
    expect(parent_box(page, "sire").get_by_role("combobox", name="Colour")).to_have_value("blue")
    select(page, "dam", "Colour", "black tortie")
    page.get_by_role("button", name="Plan the litter").click()
    heading = "Kittens of a blue tabby bicolour sire and a black tortie tabby bicolour dam"
    try:
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
        expect(page.get_by_text(re.compile("Male kittens"))).to_be_visible()  # not "Female"
        expect(page.get_by_test_id("stDataFrame")).to_have_count(2)
    except AssertionError:
        page.screenshot(path=str(ARTIFACTS / "litter-no-table.png"), full_page=True)
        raise
    seconds = time.perf_counter() - started
    print(f"two parent photos chosen to kitten table shown: {seconds:.1f} s")

    expect(page.get_by_text("a tortie tom needs two X chromosomes (XXY)")).to_be_visible()
    expect(page.get_by_text("Not predicted", exact=True)).to_be_visible()
    expect(page.get_by_test_id("stVegaLiteChart")).to_be_visible()
    assert seconds < PHOTO_TO_TABLE_LIMIT_S

    page.get_by_text("Show FIFe EMS codes").click()
    expect(page.get_by_test_id("stDataFrame").first).to_contain_text("EMS")
    page.mouse.move(4, 4)
    wait_idle(page)
    height = page.get_by_test_id("stMainBlockContainer").evaluate("e => e.scrollHeight")
    page.set_viewport_size({"width": 1280, "height": int(height) + 96})
    wait_idle(page)
    section = page.get_by_role("heading", name="Plan a litter").bounding_box()
    left, top = max(section["x"] - 32, 0), section["y"] - 24
    clip = {"x": left, "y": top, "width": min(section["width"] + 64, 1280 - left)}
    chart = page.get_by_test_id("stVegaLiteChart").bounding_box()
    clip["height"] = chart["y"] + chart["height"] + 8 - top  # parents, tables and chart
    picture = docs_screenshot("litter-planner.png")  # docs/ only when refreshing them
    page.screenshot(path=str(picture), clip=clip)
    assert picture.stat().st_size > 20_000


@pytest.mark.parametrize(
    ("width", "scheme"), [(390, "light"), (390, "dark"), (1280, "dark")], ids=str
)
def test_the_planner_fits_a_phone_and_reads_in_the_dark(
    chromium, breeder_url, width: int, scheme: str
) -> None:
    from playwright.sync_api import expect

    context = chromium.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        show_planner(page, breeder_url)
        for role, words in (("sire", "red tabby"), ("dam", "blue-cream bicolour")):
            parent_box(page, role).get_by_text("Words", exact=True).click()
            field = parent_box(page, role).get_by_role("textbox", name="Coat in breeder words")
            field.fill(words)
            field.press("Enter")
            expect(field).to_have_value(words)
        page.get_by_role("button", name="Plan the litter").click()
        try:
            expect(page.get_by_test_id("stDataFrame")).to_have_count(2)
            expect(page.get_by_test_id("stVegaLiteChart")).to_be_visible()
        except AssertionError:
            page.screenshot(path=str(ARTIFACTS / f"litter-{width}-{scheme}-failed.png"))
            raise
        parent_box(page, "sire").get_by_text("DNA test results").click()
        expect(parent_box(page, "sire").get_by_text("Non-agouti")).to_be_visible()
        wait_idle(page)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        height = page.get_by_test_id("stMainBlockContainer").evaluate("e => e.scrollHeight")
        page.set_viewport_size({"width": width, "height": int(height) + 96})
        wait_idle(page)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"litter-{width}-{scheme}.png"))
        assert overflow <= 0  # nothing wider than the screen: no sideways scrolling
    finally:
        context.close()
