"""The training-image repository and the import service against the embedded MongoDB."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from gridfs import GridFSBucket
from gridfs.errors import NoFile
from PIL import Image
from pymongo.database import Database

from core.db.features import FeatureRepository
from core.db.training_images import ImageFilter, TrainingImageRepository
from core.errors import NotFoundError, UserError
from core.labels import CAT_PHENOTYPE
from core.services.imports import ImportReport, NearDuplicateIndex, import_image
from tests.label_helpers import BLUE


def jpeg(colour: tuple[int, int, int], size: tuple[int, int] = (120, 90), stripe: int = 0) -> bytes:
    image = Image.new("RGB", size, colour)
    for x in range(0, size[0], 12)[:stripe]:
        image.paste((255 - colour[0], 40, 90), (x, 0, x + 5, size[1]))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def file_exists(database: Database, file_id) -> bool:
    try:
        GridFSBucket(database).open_download_stream(file_id).close()
    except NoFile:
        return False
    return True


def add(repo: TrainingImageRepository, data: bytes, name: str, **kwargs):
    return import_image(repo, data, name, source="upload", schema=CAT_PHENOTYPE, **kwargs)


def test_import_stores_bytes_thumbnail_and_metadata(mongo_db: Database) -> None:
    repo = TrainingImageRepository(mongo_db)
    data = jpeg((10, 20, 200), size=(400, 300))

    outcome = add(repo, data, "blue.jpg", label=BLUE, labelled_by="ann")

    assert outcome.status == "added"
    image = repo.get(outcome.image_id)
    assert (image.width, image.height, image.format) == (400, 300, "JPEG")
    assert image.label == BLUE
    assert image.is_labelled
    assert image.labelled_by == "ann"
    assert repo.image_bytes(image) == data
    thumbnail = Image.open(io.BytesIO(repo.thumbnail_bytes(image)))
    assert max(thumbnail.size) <= 256
    assert thumbnail.size[0] > thumbnail.size[1]


def test_exact_duplicate_is_skipped_and_reported(mongo_db: Database) -> None:
    repo = TrainingImageRepository(mongo_db)
    data = jpeg((200, 20, 20))
    first = add(repo, data, "a.jpg")

    second = add(repo, data, "copy-of-a.jpg")

    assert second.status == "duplicate"
    assert second.image_id == first.image_id
    assert repo.count() == 1


def test_near_duplicate_is_imported_but_flagged(mongo_db: Database) -> None:
    repo = TrainingImageRepository(mongo_db)
    index = NearDuplicateIndex.load(repo)
    original = add(repo, jpeg((30, 160, 60), stripe=4), "a.jpg", near_duplicates=index)
    image = Image.open(io.BytesIO(jpeg((30, 160, 60), stripe=4)))
    buffer = io.BytesIO()
    image.resize((240, 180)).save(buffer, "JPEG", quality=70)

    similar = add(repo, buffer.getvalue(), "a-bigger.jpg", near_duplicates=index)

    assert similar.status == "added"
    assert similar.near_duplicate_of == original.image_id
    assert repo.count(ImageFilter(is_near_duplicate=True)) == 1


def test_bad_file_is_rejected_with_reason_and_nothing_stored(mongo_db: Database) -> None:
    repo = TrainingImageRepository(mongo_db)

    outcome = add(repo, b"<html>not a cat</html>", "cat.jpg")

    assert outcome.status == "rejected"
    assert "cat.jpg" in outcome.reason
    assert repo.count() == 0


def test_unknown_label_value_is_rejected(mongo_db: Database) -> None:
    repo = TrainingImageRepository(mongo_db)

    outcome = add(repo, jpeg((1, 2, 3)), "a.jpg", label={**BLUE, "colour": "purple"})

    assert outcome.status == "rejected"
    assert "purple" in outcome.reason
    assert repo.count() == 0


def test_report_counts_each_outcome(mongo_db: Database) -> None:
    repo = TrainingImageRepository(mongo_db)
    report = ImportReport()
    for name, data in [("a.jpg", jpeg((1, 2, 3))), ("b.jpg", jpeg((1, 2, 3))), ("c.jpg", b"")]:
        report.add(add(repo, data, name))

    assert (report.added, report.duplicates, len(report.rejected)) == (1, 1, 1)
    assert report.summary().startswith("Added 1 image,")


def test_filters_and_counts(mongo_db: Database) -> None:
    repo = TrainingImageRepository(mongo_db)
    add(repo, jpeg((10, 20, 200)), "blue.jpg", label=BLUE)
    add(repo, jpeg((200, 100, 20)), "red.jpg", label={**BLUE, "colour": "red", "is_tabby": True})
    add(repo, jpeg((90, 90, 90)), "unknown.jpg")
    add(repo, jpeg((0, 200, 0)), "tree.jpg", label={"is_cat": False})

    assert repo.count() == 4
    assert repo.count(ImageFilter(is_labelled=False)) == 1
    assert repo.count(ImageFilter(label={"colour": "red"})) == 1
    assert repo.count(ImageFilter(label={"is_tabby": False, "is_cat": True})) == 1
    assert repo.count(ImageFilter(label={"is_cat": False})) == 1
    assert repo.count(ImageFilter(source="upload")) == 4
    assert repo.count(ImageFilter(source="demo")) == 0
    today = date.today()
    assert repo.count(ImageFilter(created_from=today, created_to=today)) == 4
    assert repo.count(ImageFilter(created_to=today - timedelta(days=1))) == 0
    page = repo.find(ImageFilter(is_labelled=True), skip=1, limit=2)
    assert [image.filename for image in page] == ["red.jpg", "blue.jpg"]
    assert repo.counts_by("colour") == {"blue": 1, "red": 1}
    assert sorted(label.get("colour", "-") for _, label in repo.labelled()) == ["-", "blue", "red"]


def test_partial_bulk_label_sets_only_chosen_traits(mongo_db: Database) -> None:
    repo = TrainingImageRepository(mongo_db)
    ids = [add(repo, jpeg((i * 20, 10, 10)), f"{i}.jpg").image_id for i in range(5)]

    changed = repo.apply_label(
        ids[:3], {"is_cat": True, "colour": "cream"}, CAT_PHENOTYPE, by="ann"
    )
    repo.apply_label(
        ids[:1], {"is_tabby": True, "pattern": "van", "is_pointed": False}, CAT_PHENOTYPE, by="bob"
    )

    assert changed == 3
    first = repo.get(ids[0])
    assert first.label == {
        "is_cat": True,
        "colour": "cream",
        "is_tabby": True,
        "pattern": "van",
        "is_pointed": False,
    }
    assert first.is_labelled
    assert first.labelled_by == "bob"
    assert repo.get(ids[1]).label == {"is_cat": True, "colour": "cream"}
    assert not repo.get(ids[1]).is_labelled
    assert repo.get(ids[4]).label == {}


def test_marking_non_cat_clears_cat_traits(mongo_db: Database) -> None:
    repo = TrainingImageRepository(mongo_db)
    image_id = add(repo, jpeg((1, 2, 3)), "a.jpg", label=BLUE).image_id

    repo.apply_label([image_id], {"is_cat": False}, CAT_PHENOTYPE, by="ann")

    image = repo.get(image_id)
    assert image.label == {"is_cat": False}
    assert image.is_labelled


def test_bulk_label_refuses_unknown_value_and_changes_nothing(mongo_db: Database) -> None:
    repo = TrainingImageRepository(mongo_db)
    image_id = add(repo, jpeg((1, 2, 3)), "a.jpg", label=BLUE).image_id

    with pytest.raises(UserError, match="purple"):
        repo.apply_label([image_id], {"colour": "purple"}, CAT_PHENOTYPE, by="ann")
    assert repo.get(image_id).label == BLUE


def test_delete_removes_files_and_features_and_empty_selection_deletes_nothing(
    mongo_db: Database,
) -> None:
    repo = TrainingImageRepository(mongo_db)
    features = FeatureRepository(mongo_db)
    keep = add(repo, jpeg((1, 2, 3)), "keep.jpg").image_id
    gone = add(repo, jpeg((200, 2, 3)), "gone.jpg").image_id
    features.put_many("small_cnn:128", {gone: [1.0, 2.0], keep: [3.0, 4.0]})
    image = repo.get(gone)

    assert repo.delete([]) == 0
    assert repo.count() == 2
    assert repo.delete([gone]) == 1

    assert repo.count() == 1
    assert repo.get(keep).filename == "keep.jpg"
    assert not file_exists(mongo_db, image.image_file)
    assert not file_exists(mongo_db, image.thumbnail_file)
    assert list(features.get_many([gone, keep], "small_cnn:128")) == [keep]


def test_get_with_bad_or_unknown_id_says_so(mongo_db: Database) -> None:
    repo = TrainingImageRepository(mongo_db)

    with pytest.raises(UserError, match="not a valid image id"):
        repo.get("../../etc/passwd")
    with pytest.raises(NotFoundError, match="No image with id"):
        repo.get("0123456789abcdef01234567")


def test_bulk_labelled_images_are_found_as_labelled(mongo_db: Database) -> None:
    repo = TrainingImageRepository(mongo_db)
    ids = [add(repo, jpeg((i * 40, 10, 10)), f"{i}.jpg").image_id for i in range(3)]

    repo.apply_label(ids[:2], BLUE, CAT_PHENOTYPE, by="ann")

    assert repo.count(ImageFilter(is_labelled=True)) == 2
    assert repo.count(ImageFilter(is_labelled=False)) == 1
    assert sorted(image_id for image_id, _ in repo.labelled()) == sorted(ids[:2])
    assert repo.get(ids[0]).is_labelled is True
