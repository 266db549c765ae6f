"""The Training images page under AppTest, against the embedded MongoDB: filter, select,
bulk-label, delete, details."""

from __future__ import annotations

from pymongo.database import Database

from core.db.files import FileStore
from core.db.training_images import TrainingImageRepository
from core.labels import CAT_PHENOTYPE
from core.services.filters import build_filter
from tests.console_helpers import add_images, all_text, open_page, run_ok, set_label_widgets, widget
from tests.label_helpers import BLUE

CREAM = {
    "is_cat": True,
    "colour": "cream",
    "is_tabby": False,
    "pattern": "self",
    "is_pointed": False,
}


def test_filter_select_page_and_bulk_label_changes_the_counts(console: Database) -> None:
    repository = TrainingImageRepository(console)
    add_images(repository, [BLUE, BLUE, None, None, None])
    at = open_page("training_images.py")
    assert "**5** of 5 images match" in all_text(at)

    at.selectbox(key="filter_status").set_value("unlabelled")
    run_ok(at)
    assert "**3** of 5 images match" in all_text(at)
    assert len(at.checkbox) == 3

    widget(at.button, "Select page").click()
    run_ok(at)
    assert "**3 selected**" in all_text(at)
    assert all(box.value for box in at.checkbox)

    set_label_widgets(at, "bulk_label", CREAM)
    run_ok(at)
    widget(at.button, "Apply label to 3 selected").click()
    run_ok(at)

    assert [s.value for s in at.success] == [
        "Labelled 3 images (Cat: yes, Colour: cream, Tabby: no, Pattern: self, Colourpoint: no)."
    ]
    assert "**0** of 5 images match" in all_text(at)
    assert repository.count(build_filter(CAT_PHENOTYPE, traits={"colour": "cream"})) == 3
    assert "**0 selected**" in all_text(at)


def test_a_partial_label_changes_only_the_chosen_trait(console: Database) -> None:
    repository = TrainingImageRepository(console)
    [blue] = add_images(repository, [BLUE])
    at = open_page("training_images.py")

    at.checkbox[0].check()
    run_ok(at)
    at.selectbox(key="bulk_label_is_tabby").set_value(True)
    run_ok(at)
    widget(at.button, "Apply label to 1 selected").click()
    run_ok(at)

    assert at.success[0].value == "Labelled 1 image (Tabby: yes)."
    assert repository.get(blue).label == {**BLUE, "is_tabby": True}


def test_select_all_matching_selects_beyond_the_page(console: Database) -> None:
    add_images(TrainingImageRepository(console), [None] * 26)
    at = open_page("training_images.py")
    at.selectbox(key="grid_page_size").set_value(24)
    run_ok(at)
    assert len(at.checkbox) == 24

    widget(at.button, "Select all 26 matching").click()
    run_ok(at)
    widget(at.button, "Mark not a cat").click()
    run_ok(at)

    assert at.success[0].value == "Marked 26 images as not a cat."
    assert "**26** of 26 images match" in all_text(at)
    at.selectbox(key="filter_is_cat").set_value(False)
    run_ok(at)
    assert "**26** of 26 images match" in all_text(at)


def test_delete_asks_for_confirmation_and_removes_the_files(console: Database) -> None:
    repository = TrainingImageRepository(console)
    first, second = add_images(repository, [BLUE, None])
    doomed = repository.get(second)
    at = open_page("training_images.py")

    at.checkbox(key=f"pick_{second}").check()
    run_ok(at)
    widget(at.button, "Delete selected…").click()
    run_ok(at)
    assert at.warning[0].value == "Delete 1 image and the stored files for good?"
    assert repository.count() == 2  # nothing yet
    widget(at.button, "Delete 1 image").click()
    run_ok(at)

    assert at.success[0].value == "Deleted 1 image with their files."
    assert [image.id for image in repository.find()] == [first]
    assert not FileStore(console).exists(doomed.image_file)
    assert "**1** of 1 images match" in all_text(at)


def test_delete_without_a_selection_deletes_nothing(console: Database) -> None:
    repository = TrainingImageRepository(console)
    add_images(repository, [BLUE, None])
    at = open_page("training_images.py")

    widget(at.button, "Delete selected…").click()
    run_ok(at)

    assert at.error[0].value.startswith("No images are selected, so nothing was deleted")
    assert not at.warning
    assert repository.count() == 2


def test_details_show_the_source_and_history(console: Database) -> None:
    repository = TrainingImageRepository(console)
    add_images(repository, [BLUE])
    at = open_page("training_images.py")

    at.button(key=f"pick_details_{repository.ids()[0]}").click()
    run_ok(at)

    text = all_text(at)
    assert "**Source:** upload" in text
    assert "**File:** picture-1.jpg · 96×80 JPEG" in text
    assert "**Colour:** blue" in text
    assert "added from upload" in at.dataframe[0].value.to_string()
