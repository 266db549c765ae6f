"""Phone photos through the real import, prediction and training paths (embedded MongoDB).

What a breeder's phone sends: 12-megapixel JPEGs with an EXIF turn and a GPS position, progressive
and CMYK JPEGs, big PNG and WebP files, an iPhone's HEIC and a photo cut short in transfer.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image
from pymongo.database import Database
from pymongo.errors import AutoReconnect

from core.db.models import ModelRepository
from core.db.predictions import PredictionRepository
from core.db.training_images import TrainingImageRepository
from core.labels import CAT_PHENOTYPE
from core.services.archive_import import import_uploads
from core.services.folder_import import import_folder
from core.services.predictions import (
    ActiveModelCache,
    decode_for,
    identify,
    model_input,
    store_prediction,
)
from core.services.training import StoredImages
from tests.breeder_helpers import add_fixed_model, cat_outputs
from tests.image_corpus import ORIENTATION, PHONE, encode, phone_files, photo_like

GPS_IFD = 0x8825


def located_jpeg(size: tuple[int, int] = (1600, 1200), *, orientation: int = 6) -> bytes:
    """A phone JPEG turned by EXIF, with its camera, time and GPS position in EXIF and XMP."""
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "PhoneMaker"
    exif[0x8769] = {0x9003: "2026:05:01 10:00:00"}
    gps = exif.get_ifd(GPS_IFD)
    gps.update({1: "N", 2: (51.0, 30.0, 12.5), 3: "E", 4: (0.0, 7.0, 39.0)})
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description '
        b'exif:GPSLatitude="51,30.21N" exif:GPSLongitude="0,7.65E">'
        b"<exif:GPSAltitude>12/1</exif:GPSAltitude></rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    return encode(photo_like(size), "JPEG", quality=88, exif=exif.tobytes(), xmp=xmp)


def pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as opened:
        return np.asarray(opened.convert("RGB"))


def assert_location_gone_and_the_rest_kept(original: bytes, stored: bytes) -> None:
    """What a user checks: no GPS anywhere, the same pixels, the same turn, the same camera."""
    with Image.open(io.BytesIO(stored)) as opened:
        exif = opened.getexif()
        xmp = opened.info.get("xmp", b"")
    assert dict(exif.get_ifd(GPS_IFD)) == {}
    assert b"GPS" not in xmp and b"51,30" not in xmp
    assert exif[ORIENTATION] == 6 and exif[0x010F] == "PhoneMaker"
    assert np.array_equal(pixels(stored), pixels(original))
    assert len(stored) == len(original)  # nothing re-encoded: only bytes blanked


# --- imports ------------------------------------------------------------------------------


def test_phone_photos_import_upright_and_the_bad_ones_are_named_in_one_sentence(
    mongo_db: Database,
) -> None:
    repository = TrainingImageRepository(mongo_db)

    report = import_uploads(repository, phone_files(), schema=CAT_PHENOTYPE, by="ann")

    assert [o.filename for o in report.outcomes] == [name for name, _ in phone_files()]
    assert report.added == 5
    why = {o.filename: o.reason or "" for o in report.rejected}
    assert "'IMG_0042.HEIC' is in HEIC format" in why["IMG_0042.HEIC"]
    assert "'cut.jpg' is truncated or corrupt" in why["cut.jpg"]
    for reason in why.values():
        assert reason.count(". ") == 0 and reason.endswith(".")
    stored = {doc["filename"]: doc for doc in mongo_db["training_images"].find()}
    assert (stored["turned.jpg"]["width"], stored["turned.jpg"]["height"]) == (2400, 1600)
    assert (stored["big.png"]["width"], stored["big.png"]["height"]) == PHONE
    thumbnail = Image.open(io.BytesIO(repository.thumbnail_bytes(repository.get(
        str(stored["turned.jpg"]["_id"])))))  # fmt: skip
    assert thumbnail.size == (256, 171)
    left, right = thumbnail.getpixel((40, 85)), thumbnail.getpixel((215, 85))
    assert left[0] > 180 > left[2] and right[2] > 180 > right[0]  # red left, blue right: upright


def test_imported_photo_loses_its_location_but_keeps_pixels_and_turn(
    mongo_db: Database, tmp_path: Path
) -> None:
    original = located_jpeg()
    (tmp_path / "blue").mkdir()
    (tmp_path / "blue" / "IMG_1.jpg").write_bytes(original)
    repository = TrainingImageRepository(mongo_db)

    report = import_folder(repository, tmp_path, schema=CAT_PHENOTYPE, by="ann")

    assert report.added == 1
    image = repository.get(report.outcomes[0].image_id)
    assert (image.width, image.height) == (1200, 1600)  # turned upright by orientation 6
    assert_location_gone_and_the_rest_kept(original, repository.image_bytes(image))


def test_kept_prediction_photo_loses_its_location(mongo_db: Database) -> None:
    add_fixed_model(mongo_db, cat_outputs())
    loaded = ActiveModelCache(ModelRepository(mongo_db)).get()
    original = located_jpeg()
    photo = decode_for(loaded, original, "IMG_2.jpg")
    predictions = PredictionRepository(mongo_db)

    prediction_id = store_prediction(
        predictions, loaded, photo, identify(loaded, photo), channel="api", keep_photo=True
    ).id

    kept = predictions.image_bytes(predictions.get(prediction_id))
    assert kept is not None
    assert_location_gone_and_the_rest_kept(original, kept)


def test_many_photos_are_stored_in_order_and_a_failure_keeps_the_rest(
    mongo_db: Database, tmp_path: Path
) -> None:
    for index in range(12):
        path = tmp_path / f"{index:02d}.jpg"
        path.write_bytes(encode(photo_like((900, 600), seed=10 + index), "JPEG", quality=85))

    class DropsAtTheNinth(TrainingImageRepository):
        calls = 0

        def add(self, image):  # the real repository until its connection drops
            self.calls += 1
            if self.calls == 9:
                raise AutoReconnect("connection closed")
            return super().add(image)

    report = import_folder(DropsAtTheNinth(mongo_db), tmp_path, schema=CAT_PHENOTYPE, by="a")

    assert [o.filename for o in report.outcomes] == [f"{i:02d}.jpg" for i in range(12)]
    assert [o.status for o in report.outcomes] == ["added"] * 8 + ["rejected"] * 4
    assert "stopped answering at '08.jpg'" in (report.outcomes[8].reason or "")
    names = sorted(doc["filename"] for doc in mongo_db["training_images"].find())
    assert names == [f"{i:02d}.jpg" for i in range(8)]


# --- training sees what serving sees ------------------------------------------------------


def test_training_and_the_api_give_the_model_the_same_input(
    mongo_db: Database, tmp_path: Path
) -> None:
    add_fixed_model(mongo_db, cat_outputs())
    loaded = ActiveModelCache(ModelRepository(mongo_db)).get()
    original = located_jpeg(PHONE)
    repository = TrainingImageRepository(mongo_db)
    report = import_uploads(repository, [("IMG_3.jpg", original)], schema=CAT_PHENOTYPE, by="a")

    trained_on = StoredImages(
        repository,
        [report.outcomes[0].image_id],
        image_size=loaded.record.image_size,
        resize_mode=loaded.record.resize_mode,
        folder=tmp_path,
        log=lambda _line: None,
        should_cancel=lambda: False,
    ).load([0])[0]
    served = model_input(loaded, decode_for(loaded, original, "IMG_3.jpg"))  # what the API does

    assert np.array_equal(trained_on, served)
