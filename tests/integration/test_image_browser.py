"""The Training images service against the embedded MongoDB: filters, counts, bulk actions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from pymongo.database import Database

from core.db.features import FeatureRepository
from core.db.files import FileStore
from core.db.training_images import ImageFilter, TrainingImageRepository
from core.errors import UserError
from core.labels import CAT_PHENOTYPE, DOG_BREED
from core.services.facet_counts import FacetCounts, count_facets
from core.services.filters import DUPLICATE_CHOICES, build_filter
from core.services.image_browser import ImageBrowser
from core.services.imports import NearDuplicateIndex, import_image
from core.services.labelling import history_rows
from tests.console_helpers import add_images, jpeg_bytes
from tests.label_helpers import BLUE, NOT_CAT, RED_TABBY

PARTLY_BLUE = {"is_cat": True, "colour": "blue"}
TODAY = datetime.now(UTC).date()


@pytest.fixture
def browser(mongo_db: Database) -> ImageBrowser:
    return ImageBrowser(mongo_db, CAT_PHENOTYPE)


@pytest.fixture
def ids(browser: ImageBrowser) -> dict[str, str]:
    """Seven images: two blue, one red tabby van, one non-cat, one partly and two not labelled."""
    names = ["blue_1", "blue_2", "red", "not_cat", "partly_blue", "plain_1", "plain_2"]
    labels = [BLUE, BLUE, RED_TABBY, NOT_CAT, PARTLY_BLUE, None, None]
    return dict(zip(names, add_images(browser.repository, labels), strict=True))


def test_build_filter_refuses_unknown_values_with_the_value_in_the_message() -> None:
    with pytest.raises(UserError, match="'purple' is not known"):
        build_filter(CAT_PHENOTYPE, traits={"colour": "purple"})
    with pytest.raises(UserError, match="'scanned'"):
        build_filter(CAT_PHENOTYPE, source="scanned")
    with pytest.raises(UserError, match="'half'"):
        build_filter(CAT_PHENOTYPE, status="half")
    with pytest.raises(UserError, match="'maybe'"):
        build_filter(CAT_PHENOTYPE, duplicates="maybe")
    with pytest.raises(UserError, match="start date 2026-03-02 is after the end date 2026-03-01"):
        build_filter(
            CAT_PHENOTYPE,
            created_from=TODAY.replace(2026, 3, 2),
            created_to=TODAY.replace(2026, 3, 1),
        )
    with pytest.raises(UserError, match="'fur'"):
        build_filter(CAT_PHENOTYPE, traits={"fur": "long"})


def test_build_filter_turns_widget_values_into_a_query() -> None:
    image_filter = build_filter(
        CAT_PHENOTYPE,
        status="labelled",
        traits={"colour": "Blue", "is_tabby": "no", "pattern": None},
        source="upload",
        duplicates=DUPLICATE_CHOICES[2],
    )
    assert image_filter.to_query() == {
        "is_labelled": True,
        "label.colour": "blue",
        "label.is_tabby": False,
        "source": "upload",
        "near_duplicate_of": {"$in": [None]},
    }


FILTERS = [
    {},
    {"status": "labelled"},
    {"status": "unlabelled"},
    {"traits": {"colour": "blue"}},
    {"traits": {"colour": "blue"}, "status": "labelled"},
    {"traits": {"is_cat": False}},
    {"traits": {"is_tabby": True, "pattern": "van"}},
    {"traits": {"is_tabby": False}},
    {"source": "upload"},
    {"source": "web_search"},
    {"created_from": TODAY},
    {"created_from": TODAY + timedelta(days=1)},
    {"created_to": TODAY - timedelta(days=1)},
    {"duplicates": DUPLICATE_CHOICES[1]},
    {"duplicates": DUPLICATE_CHOICES[2], "status": "unlabelled"},
]


@pytest.mark.parametrize("widgets", FILTERS, ids=[str(f) for f in FILTERS])
def test_counts_from_the_cached_scan_agree_with_the_server(
    browser: ImageBrowser, ids: dict[str, str], widgets: dict
) -> None:
    image_filter = build_filter(CAT_PHENOTYPE, **widgets)
    repository = browser.repository

    counts = browser.counts(image_filter)

    assert counts.matching == repository.count(image_filter)
    assert counts.matching == len(repository.ids(image_filter))
    assert counts.matching == len(repository.find(image_filter, limit=48))


def test_counts_per_filter_value_keep_the_rest_of_the_filter(
    browser: ImageBrowser, ids: dict[str, str]
) -> None:
    blue = browser.counts(build_filter(CAT_PHENOTYPE, traits={"colour": "blue"}))

    assert blue.total == 7
    assert blue.matching == 3
    assert (blue.for_status("labelled"), blue.for_status("unlabelled")) == (2, 1)
    # the colour counts ignore the colour filter itself: what choosing each colour would give
    assert blue.for_trait("colour", "blue") == 3
    assert blue.for_trait("colour", "red") == 1
    assert blue.for_trait("colour", None) == 7
    assert blue.for_trait("is_tabby", False) == 2
    assert blue.for_source("upload") == 3
    assert blue.for_source("demo") == 0

    labelled = browser.counts(build_filter(CAT_PHENOTYPE, status="labelled"))
    assert labelled.matching == 4
    assert labelled.for_trait("is_cat", False) == 1
    assert labelled.for_status("unlabelled") == 3
    assert labelled.for_duplicates("all") == 4


def test_possible_duplicate_filter_finds_only_flagged_images(mongo_db: Database) -> None:
    repository = TrainingImageRepository(mongo_db)
    browser = ImageBrowser(mongo_db, CAT_PHENOTYPE)
    index = NearDuplicateIndex()
    first = import_image(
        repository, jpeg_bytes(7), "a.jpg", source="upload", schema=CAT_PHENOTYPE,
        near_duplicates=index,
    )  # fmt: skip
    again = import_image(
        repository, jpeg_bytes(7, size=(192, 160)), "a-larger.jpg", source="upload",
        schema=CAT_PHENOTYPE, near_duplicates=index,
    )  # fmt: skip
    other = import_image(
        repository, jpeg_bytes(99), "b.jpg", source="upload", schema=CAT_PHENOTYPE,
        near_duplicates=index,
    )  # fmt: skip
    assert again.near_duplicate_of == first.image_id

    only = build_filter(CAT_PHENOTYPE, duplicates=DUPLICATE_CHOICES[1])
    without = build_filter(CAT_PHENOTYPE, duplicates=DUPLICATE_CHOICES[2])

    assert [i.id for i in repository.find(only)] == [again.image_id]
    assert repository.count(only) == browser.counts(only).matching == 1
    assert {i.id for i in repository.find(without)} == {first.image_id, other.image_id}
    assert repository.count(without) == browser.counts(without).matching == 2


def clocked(mongo_db: Database, *, in_background: bool = False) -> tuple[ImageBrowser, list]:
    now = [1000.0]
    browser = ImageBrowser(
        mongo_db,
        CAT_PHENOTYPE,
        max_age_s=60,
        clock=lambda: now[0],
        refresh_in_background=in_background,
    )
    return browser, now


def test_counts_follow_images_added_elsewhere_without_reading_everything(
    mongo_db: Database,
) -> None:
    browser, now = clocked(mongo_db)
    elsewhere = TrainingImageRepository(mongo_db)  # e.g. an import in another process
    add_images(elsewhere, [BLUE])
    assert browser.counts(ImageFilter()).total == 1

    add_images(elsewhere, [None, None], first_seed=50)
    now[0] += 5

    counts = browser.counts(ImageFilter())
    assert (counts.total, counts.for_status("unlabelled")) == (3, 2)
    assert browser.cache.scans == 1  # the new images were fetched by id


def test_counts_follow_images_deleted_elsewhere(mongo_db: Database) -> None:
    browser, now = clocked(mongo_db)
    elsewhere = TrainingImageRepository(mongo_db)
    first, _ = add_images(elsewhere, [BLUE, None])
    assert browser.counts(ImageFilter()).total == 2

    elsewhere.delete([first])
    now[0] += 5

    assert browser.counts(ImageFilter()).total == 1


def test_labels_set_elsewhere_show_after_the_maximum_age_read_in_the_background(
    mongo_db: Database,
) -> None:
    browser, now = clocked(mongo_db, in_background=True)
    elsewhere = TrainingImageRepository(mongo_db)
    [image_id] = add_images(elsewhere, [None])
    assert browser.counts(ImageFilter()).for_status("labelled") == 0

    elsewhere.apply_label([image_id], BLUE, CAT_PHENOTYPE, by="bob")
    now[0] += 5
    assert browser.counts(ImageFilter()).for_status("labelled") == 0  # same number: cached
    now[0] += 60
    assert browser.counts(ImageFilter()).for_status("labelled") == 0  # stale, read started
    browser.cache.wait()

    assert browser.counts(ImageFilter()).for_status("labelled") == 1
    assert browser.cache.scans == 2


def test_our_own_bulk_actions_update_the_counts_without_reading_everything(
    mongo_db: Database,
) -> None:
    browser, now = clocked(mongo_db)
    ids = add_images(browser.repository, [None, None, BLUE])
    assert browser.counts(ImageFilter()).for_status("unlabelled") == 2

    browser.apply_label(ids[:2], BLUE, by="ann")
    labelled = browser.counts(build_filter(CAT_PHENOTYPE, traits={"colour": "blue"}))
    browser.delete([ids[2]])
    after_delete = browser.counts(ImageFilter())

    assert labelled.matching == 3
    assert (after_delete.total, after_delete.for_status("labelled")) == (2, 2)
    assert browser.cache.scans == 1


def test_refresh_counts_reads_everything_again(mongo_db: Database) -> None:
    browser, now = clocked(mongo_db)
    add_images(browser.repository, [None])
    browser.counts(ImageFilter())

    browser.invalidate()
    browser.counts(ImageFilter())

    assert browser.cache.scans == 2


def scanned_counts(browser: ImageBrowser, image_filter: ImageFilter) -> FacetCounts:
    """The counts from a fresh read of every image's facts (what the tally must equal)."""
    counts = count_facets(browser.repository.facts(), image_filter, browser.schema)
    return replace(counts, scanned_at=0.0)


def tallied_counts(browser: ImageBrowser) -> FacetCounts:
    return replace(browser.counts(ImageFilter()), scanned_at=0.0)


def test_unfiltered_counts_from_the_server_tally_without_reading_every_image(
    mongo_db: Database, ids: dict[str, str]
) -> None:
    browser = ImageBrowser(mongo_db, CAT_PHENOTYPE, totals_from_server=True)
    add_images(browser.repository, [RED_TABBY], source="web_search", first_seed=40)
    index = NearDuplicateIndex()
    for seed, size in ((7, (160, 120)), (7, (192, 160))):
        import_image(
            browser.repository, jpeg_bytes(seed, size=size), f"{size}.jpg", source="folder",
            schema=CAT_PHENOTYPE, near_duplicates=index,
        )  # fmt: skip

    counts = browser.counts(ImageFilter())

    assert (counts.total, counts.matching) == (10, 10)
    assert (counts.for_status("labelled"), counts.for_status("unlabelled")) == (5, 5)
    assert (counts.for_source("upload"), counts.for_source("web_search")) == (7, 1)
    assert counts.for_source("folder") == 2
    assert counts.for_duplicates(DUPLICATE_CHOICES[1]) == 1
    assert (counts.for_trait("colour", "blue"), counts.for_trait("colour", "red")) == (3, 2)
    assert (counts.for_trait("is_cat", True), counts.for_trait("is_cat", None)) == (5, 10)
    assert tallied_counts(browser) == scanned_counts(browser, ImageFilter())
    assert browser.cache.scans == 0
    assert browser.counts(build_filter(CAT_PHENOTYPE, status="labelled")).matching == 5
    assert browser.cache.scans == 1  # a filter reads the facts


def test_unfiltered_counts_stay_exact_after_adds_labels_and_deletes(mongo_db: Database) -> None:
    now = [1000.0]
    browser = ImageBrowser(mongo_db, CAT_PHENOTYPE, clock=lambda: now[0], totals_from_server=True)
    elsewhere = TrainingImageRepository(mongo_db)  # an import or another console process
    first, second, third = add_images(browser.repository, [None, None, BLUE])
    assert tallied_counts(browser).for_status("unlabelled") == 2

    add_images(elsewhere, [NOT_CAT, None], first_seed=20)
    browser.recheck()  # what the import page does after an import
    after_add = tallied_counts(browser)
    browser.apply_label([first], {"is_cat": True, "colour": "cream"}, by="ann")
    after_label = tallied_counts(browser)
    browser.mark_not_cat([second], by="ann")
    after_mark = tallied_counts(browser)
    browser.delete([third])
    after_delete = tallied_counts(browser)

    assert (after_add.total, after_add.for_trait("is_cat", False)) == (5, 1)
    assert after_label.for_trait("colour", "cream") == 1
    assert (after_mark.for_trait("is_cat", False), after_mark.for_status("labelled")) == (2, 3)
    assert after_delete.total == 4
    assert after_delete == scanned_counts(browser, ImageFilter())

    elsewhere.apply_label([first], {"colour": "blue"}, CAT_PHENOTYPE, by="bob")
    now[0] += 5  # the next page render, more than RECHECK_AFTER_S later
    assert tallied_counts(browser) == scanned_counts(browser, ImageFilter())
    assert browser.cache.scans == 0


def test_seen_values_come_from_the_tally_and_follow_our_labels(mongo_db: Database) -> None:
    browser = ImageBrowser(mongo_db, DOG_BREED, totals_from_server=True)
    ids = add_images(
        browser.repository, [{"breed": "beagle"}, {"breed": "whippet"}, None], schema=DOG_BREED
    )
    assert browser.seen_values("breed") == ["beagle", "whippet"]

    browser.apply_label([ids[2]], {"breed": "basenji"}, by="ann")

    assert browser.seen_values("breed") == ["basenji", "beagle", "whippet"]
    assert browser.cache.scans == 0


def test_read_ahead_reads_the_facts_once_for_the_first_filter(
    mongo_db: Database, ids: dict[str, str]
) -> None:
    browser = ImageBrowser(mongo_db, CAT_PHENOTYPE, totals_from_server=True)
    assert browser.counts(ImageFilter()).total == 7

    browser.read_ahead()
    blue = browser.counts(build_filter(CAT_PHENOTYPE, traits={"colour": "blue"}))
    browser.read_ahead()  # already read: nothing more

    assert blue.matching == 3
    assert browser.cache.scans == 1


def test_pages_are_newest_first_and_clamped(browser: ImageBrowser, ids: dict[str, str]) -> None:
    everything = build_filter(CAT_PHENOTYPE)

    page = browser.page(everything, page=5, page_size=24, matching=7)

    assert (page.page, page.page_count, page.matching) == (1, 1, 7)
    assert [image.id for image in page.images] == list(reversed(ids.values()))
    with pytest.raises(UserError, match="Page size 50"):
        browser.page(everything, page=1, page_size=50, matching=7)


def test_select_all_matching_gives_every_id_of_the_filter(
    browser: ImageBrowser, ids: dict[str, str]
) -> None:
    unlabelled = build_filter(CAT_PHENOTYPE, status="unlabelled")

    assert set(browser.matching_ids(unlabelled)) == {
        ids["partly_blue"], ids["plain_1"], ids["plain_2"]
    }  # fmt: skip


def test_partial_bulk_label_sets_only_the_chosen_traits(
    browser: ImageBrowser, ids: dict[str, str]
) -> None:
    chosen = [ids["blue_1"], ids["partly_blue"], ids["plain_1"]]
    steps: list[tuple[int, int]] = []

    outcome = browser.apply_label(
        chosen, {"is_tabby": "yes", "pattern": "bicolour", "is_pointed": False},
        by="ann", progress=lambda done, total: steps.append((done, total)),
    )  # fmt: skip

    assert outcome.changed == 3
    assert str(outcome) == "Labelled 3 images (Tabby: yes, Pattern: bicolour, Colourpoint: no)."
    assert steps[-1] == (3, 3)
    repository = browser.repository
    assert repository.get(ids["blue_1"]).label == {**BLUE, "is_tabby": True, "pattern": "bicolour"}
    completed = repository.get(ids["partly_blue"])
    assert completed.label == {
        "is_cat": True, "colour": "blue", "is_tabby": True, "pattern": "bicolour",
        "is_pointed": False,
    }  # fmt: skip
    assert completed.is_labelled  # the partial label is complete now
    still_partial = repository.get(ids["plain_1"])
    assert still_partial.label == {"is_tabby": True, "pattern": "bicolour", "is_pointed": False}
    assert not still_partial.is_labelled
    assert still_partial.labelled_by == "ann"
    assert repository.get(ids["blue_2"]).label == BLUE  # not selected, not changed
    assert browser.counts(build_filter(CAT_PHENOTYPE, status="labelled")).matching == 5
    last = history_rows(completed)[-1]
    assert (last["by"], last["action"], last["label"]) == ("ann", "labelled", completed.label)


def test_bulk_label_history_entries_stay_documents(
    mongo_db: Database, browser: ImageBrowser, ids: dict[str, str]
) -> None:
    browser.apply_label([ids["plain_2"]], {"is_cat": True}, by="ann")
    browser.apply_label([ids["plain_2"]], {"colour": "cream"}, by="bob")

    sha256 = browser.repository.get(ids["plain_2"]).sha256
    document = mongo_db["training_images"].find_one({"sha256": sha256})

    assert all(isinstance(entry, dict) for entry in document["history"])
    assert [entry["by"] for entry in document["history"]][1:] == ["ann", "bob"]


def test_bulk_label_skips_images_it_cannot_apply_to_and_says_why(
    browser: ImageBrowser, ids: dict[str, str]
) -> None:
    outcome = browser.apply_label([ids["not_cat"], ids["red"]], {"colour": "cream"}, by="ann")

    assert outcome.changed == 1
    assert "Labelled 1 image (Colour: cream). Skipped 1 image: Colour does not apply" in str(
        outcome
    )
    assert browser.repository.get(ids["not_cat"]).label == NOT_CAT
    assert browser.repository.get(ids["red"]).label["colour"] == "cream"


def test_bulk_label_works_in_batches_with_progress(mongo_db: Database) -> None:
    browser = ImageBrowser(mongo_db, CAT_PHENOTYPE, batch_size=2)
    chosen = add_images(browser.repository, [None] * 5)
    steps: list[tuple[int, int]] = []

    outcome = browser.apply_label(
        chosen, {"is_cat": "no"}, by="ann", progress=lambda *s: steps.append(s)
    )

    assert steps == [(2, 5), (4, 5), (5, 5)]
    assert outcome.changed == 5
    assert browser.counts(build_filter(CAT_PHENOTYPE, traits={"is_cat": False})).matching == 5


def test_bulk_label_refuses_bad_input_and_changes_nothing(
    browser: ImageBrowser, ids: dict[str, str]
) -> None:
    with pytest.raises(UserError, match="No images are selected, so nothing was labelled"):
        browser.apply_label([], {"colour": "blue"}, by="ann")
    with pytest.raises(UserError, match="at least one trait"):
        browser.apply_label([ids["plain_1"]], {"colour": None}, by="ann")
    with pytest.raises(UserError, match="'tartan' is not known"):
        browser.apply_label([ids["plain_1"]], {"pattern": "tartan"}, by="ann")
    with pytest.raises(UserError, match="'not-an-id' is not a valid image id"):
        browser.apply_label(["not-an-id"], {"colour": "blue"}, by="ann")
    assert browser.repository.get(ids["plain_1"]).label == {}


def test_bulk_label_counts_images_deleted_meanwhile(
    browser: ImageBrowser, ids: dict[str, str]
) -> None:
    browser.repository.delete([ids["plain_2"]])

    outcome = browser.apply_label([ids["plain_1"], ids["plain_2"]], {"is_cat": True}, by="ann")

    assert outcome.changed == 1
    assert str(outcome).endswith("1 selected image had already been deleted.")


def test_mark_not_cat_clears_the_other_traits(browser: ImageBrowser, ids: dict[str, str]) -> None:
    outcome = browser.mark_not_cat([ids["red"], ids["plain_1"]], by="ann")

    assert str(outcome) == "Marked 2 images as not a cat."
    for name in ("red", "plain_1"):
        image = browser.repository.get(ids[name])
        assert image.label == NOT_CAT
        assert image.is_labelled
    assert browser.counts(build_filter(CAT_PHENOTYPE, traits={"is_cat": False})).matching == 3


def test_mark_not_cat_is_refused_without_a_gate_trait(mongo_db: Database) -> None:
    browser = ImageBrowser(mongo_db, DOG_BREED)
    [image_id] = add_images(browser.repository, [None], schema=DOG_BREED)

    with pytest.raises(UserError, match="no yes/no gate"):
        browser.mark_not_cat([image_id], by="ann")


def test_delete_removes_documents_files_and_features(
    mongo_db: Database, browser: ImageBrowser, ids: dict[str, str]
) -> None:
    doomed = [browser.repository.get(ids[name]) for name in ("blue_1", "plain_1")]
    features = FeatureRepository(mongo_db)
    features.put_many("small_cnn", {ids["blue_1"]: [0.5, 0.25], ids["blue_2"]: [0.5, 0.5]})
    steps: list[tuple[int, int]] = []

    outcome = browser.delete([image.id for image in doomed], progress=lambda *s: steps.append(s))

    assert str(outcome) == "Deleted 2 images with their files."
    assert steps[-1] == (2, 2)
    files = FileStore(mongo_db)
    for image in doomed:
        assert not files.exists(image.image_file)
        assert not files.exists(image.thumbnail_file)
    assert list(features.get_many([ids["blue_1"], ids["blue_2"]], "small_cnn")) == [ids["blue_2"]]
    assert browser.counts(ImageFilter()).total == 5
    assert files.exists(browser.repository.get(ids["blue_2"]).image_file)


def test_delete_with_no_selection_deletes_nothing(
    browser: ImageBrowser, ids: dict[str, str]
) -> None:
    with pytest.raises(UserError, match="No images are selected, so nothing was deleted"):
        browser.delete([])

    assert browser.repository.count() == 7


def test_history_rows_read_entries_stored_as_json_text(
    browser: ImageBrowser, ids: dict[str, str]
) -> None:
    # TrainingImageRepository.apply_label uses $push, which nx-27017 stores as JSON text
    browser.repository.apply_label([ids["plain_1"]], {"is_cat": True}, CAT_PHENOTYPE, by="bob")

    rows = history_rows(browser.repository.get(ids["plain_1"]))

    assert [row["action"] for row in rows] == ["added from upload", "labelled"]
    assert rows[-1]["by"] == "bob"
