"""core.exif.strip_location: the GPS position goes, the pixels, turn and other tags stay."""

import io

import numpy as np
import pytest
from PIL import Image

from core.exif import strip_location
from tests.image_corpus import encode

GPS_IFD = 0x8825


def located_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "PhoneMaker"
    exif[0x8769] = {0x9003: "2026:05:01 10:00:00"}
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (51.0, 30.0, 12.5), 3: "E", 4: (0.0, 7.0, 39.0)})
    return exif


def card() -> Image.Image:
    pixels = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def read(data: bytes) -> tuple[Image.Exif, np.ndarray]:
    with Image.open(io.BytesIO(data)) as opened:
        return opened.getexif(), np.asarray(opened.convert("RGB"))


@pytest.mark.parametrize(
    ("fmt", "params"),
    [("JPEG", {"quality": 90}), ("PNG", {}), ("WEBP", {"lossless": True})],
    ids=["jpeg", "png", "webp"],
)
def test_gps_is_removed_and_everything_else_kept(fmt: str, params: dict) -> None:
    data = encode(card(), fmt, exif=located_exif(), **params)

    stripped = strip_location(data)

    before, before_pixels = read(data)
    after, after_pixels = read(stripped)
    assert dict(before.get_ifd(GPS_IFD))  # the test photo had a position
    assert dict(after.get_ifd(GPS_IFD)) == {}
    assert after[0x0112] == 6 and after[0x010F] == "PhoneMaker"
    assert after.get_ifd(0x8769) == {0x9003: "2026:05:01 10:00:00"}
    assert np.array_equal(after_pixels, before_pixels)
    assert len(stripped) == len(data)


def test_xmp_gps_properties_are_blanked() -> None:
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description dc:format="image/jpeg" '
        b'exif:GPSLatitude="51,30.21N"><exif:GPSAltitude>12/1</exif:GPSAltitude>'
        b"</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    data = encode(card(), "JPEG", xmp=xmp)

    with Image.open(io.BytesIO(strip_location(data))) as opened:
        kept = opened.info["xmp"]

    assert b"GPS" not in kept and b"51,30" not in kept
    assert b'dc:format="image/jpeg"' in kept


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "BMP"])
def test_a_file_without_a_position_is_returned_as_it_is(fmt: str) -> None:
    data = encode(card(), fmt)

    assert strip_location(data) is data


def test_damaged_exif_is_left_alone_not_raised() -> None:
    data = encode(card(), "JPEG", exif=b"Exif\x00\x00II*\x00\xff\xff\x00\x00")

    assert strip_location(data) == data
    assert strip_location(b"") == b""
