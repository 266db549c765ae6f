"""core.images: the bad-input corpus, fitting without stretching, thumbnails, perceptual hashes."""

import dataclasses
import hashlib
import io
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from core.errors import UserError
from core.images import (
    DecodedImage,
    ImageError,
    decode_image,
    fit_image,
    is_image_filename,
    make_thumbnail,
    perceptual_hash,
    read_limited,
    to_model_array,
)
from core.services.imports import hash_distances
from tests.image_corpus import CORPUS, RED, CorpusCase, encode, png_16bit_large, write_corpus

GREY = (128, 128, 128)
GOOD = [pytest.param(case, id=case.name) for case in CORPUS if case.expected == "ok"]
BAD = [pytest.param(case, id=case.name) for case in CORPUS if case.expected != "ok"]
ACTIONS = ("upload", "save", "resize")


def distance(a: str, b: str) -> int:
    """Differing bits between two perceptual hashes."""
    return int(hash_distances(a, [b])[0])


def close_to(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 12) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def photo_like(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """Random colour blobs, blurred: closer to a photo than noise or flat colour."""
    coarse = np.random.default_rng(seed).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    return Image.fromarray(coarse).resize(size, Image.Resampling.BICUBIC)


def bounding_box(image: Image.Image, colour: tuple[int, int, int]) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the pixels within 40 of colour."""
    pixels = np.asarray(image, dtype=np.int16)
    mask = np.all(np.abs(pixels - np.array(colour)) <= 40, axis=2)
    rows, columns = np.nonzero(mask)
    return columns.min(), rows.min(), columns.max() + 1, rows.max() + 1


@pytest.mark.parametrize("case", GOOD)
def test_decode_image_good_file_gives_rgb_with_original_bytes(case: CorpusCase) -> None:
    data = case.make()

    decoded = decode_image(data, case.filename)

    assert decoded.filename == case.filename
    assert decoded.data == data
    assert decoded.sha256 == hashlib.sha256(data).hexdigest()
    assert decoded.format == case.format
    assert (decoded.width, decoded.height) == case.size
    assert decoded.image.mode == "RGB"
    assert decoded.image.size == case.size
    for (x, y), expected in case.pixels:
        actual = decoded.image.getpixel((x, y))
        assert close_to(actual, expected), f"pixel {(x, y)} is {actual}, expected {expected}"


@pytest.mark.parametrize("case", BAD)
def test_decode_image_bad_file_raises_one_sentence_naming_file(case: CorpusCase) -> None:
    with pytest.raises(ImageError) as caught:
        decode_image(case.make(), case.filename)

    message = str(caught.value)
    assert case.expected in message
    assert repr(case.filename) in message
    assert any(action in message for action in ACTIONS), f"no hint what to do: {message}"
    assert "\n" not in message
    assert message.endswith(".")
    assert ". " not in message.replace(repr(case.filename), "'file'"), f"two sentences: {message}"
    assert isinstance(caught.value, UserError)


@pytest.mark.parametrize(
    "name", ["truncated jpeg", "corrupt png", "text named .jpg", "png header 100000x100000"]
)
def test_decode_image_chains_the_pillow_error(name: str) -> None:
    case = next(case for case in CORPUS if case.name == name)

    with pytest.raises(ImageError) as caught:
        decode_image(case.make(), case.filename)

    assert caught.value.__cause__ is not None


def test_decode_image_16_bit_png_needs_no_large_temporary_array() -> None:
    """A 4000x3000 16-bit PNG of a few KB: no float64 copy (tracemalloc sees numpy, not Pillow)."""
    data = png_16bit_large()
    assert len(data) < 100_000

    tracemalloc.start()
    try:
        decoded = decode_image(data, "deep.png")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert decoded.image.mode == "RGB"
    assert decoded.image.getpixel((3999, 0)) == (233, 233, 233)
    assert peak < 16 * 1024 * 1024, f"{peak / 1024 / 1024:.0f} MB of temporary arrays"


OUT_OF_MEMORY = """
import resource
from PIL import Image
from core.images import ImageError, decode_image
from tests.image_corpus import encode

data = encode(Image.new("RGB", (6000, 6000), (10, 20, 30)), "PNG", compress_level=1)
with open("/proc/self/statm") as statm:
    in_use = int(statm.read().split()[0]) * resource.getpagesize()
resource.setrlimit(resource.RLIMIT_AS, (in_use + 60 * 1024 * 1024, resource.RLIM_INFINITY))
try:
    decode_image(data, "huge.png")
except ImageError as err:
    print(err)
"""


def test_decode_image_out_of_memory_is_one_sentence() -> None:
    """A real MemoryError: a child process with 60 MB to spare decodes 36 megapixels."""
    root = Path(__file__).resolve().parents[2]
    child = subprocess.run(
        [sys.executable, "-c", OUT_OF_MEMORY],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert child.returncode == 0, child.stderr[-2000:]
    assert child.stdout.strip() == (
        "Image 'huge.png' needs more memory to decode than this server has; "
        "resize it and upload it again."
    )


def test_decode_image_limits_are_arguments() -> None:
    data = encode(Image.new("RGB", (100, 50), RED), "PNG")

    with pytest.raises(ImageError, match=r"is 0\.2 KB, over the 0\.0977 KB limit"):
        decode_image(data, "a.png", max_bytes=100)
    with pytest.raises(ImageError, match="at least 64x64"):
        decode_image(data, "a.png", min_side=64)
    with pytest.raises(ImageError, match="100x50 pixels, over the 0.004 megapixel limit"):
        decode_image(data, "a.png", max_pixels=4000)
    assert (
        decode_image(data, "a.png", max_bytes=len(data), min_side=50, max_pixels=5000).width == 100
    )


def test_decoded_image_is_frozen() -> None:
    decoded = decode_image(encode(Image.new("RGB", (40, 40), RED), "PNG"), "a.png")

    assert isinstance(decoded, DecodedImage)
    with pytest.raises(dataclasses.FrozenInstanceError):
        decoded.filename = "b.png"  # type: ignore[misc]


def test_write_corpus_writes_every_case(tmp_path) -> None:
    written = write_corpus(tmp_path)

    assert len(written) == len(CORPUS)
    for path, case in written.items():
        assert path.name == case.filename
        assert path.stat().st_size == len(case.make())


def test_read_limited_returns_everything_up_to_the_limit() -> None:
    assert read_limited(io.BytesIO(b"x" * 100), 100, "a.jpg") == b"x" * 100
    assert read_limited(io.BytesIO(b""), 100, "a.jpg") == b""


def test_read_limited_over_the_limit_raises_without_reading_it_all() -> None:
    stream = io.BytesIO(b"x" * 10_000)

    with pytest.raises(ImageError, match=r"'big\.jpg' is over the 0\.977 KB limit") as caught:
        read_limited(stream, 1000, "big.jpg")

    assert stream.tell() == 1001
    assert "\n" not in str(caught.value)


def test_read_limited_keeps_reading_after_short_reads() -> None:
    class Trickle(io.RawIOBase):
        """Hands out at most 7 bytes per read, as sockets and HTTP bodies may."""

        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            return self._data.read(min(size, 7) if size >= 0 else 7)

    assert read_limited(Trickle(b"y" * 50), 50, "a.jpg") == b"y" * 50
    with pytest.raises(ImageError):
        read_limited(Trickle(b"y" * 51), 50, "a.jpg")


def test_fit_image_pad_letterboxes_a_wide_image_on_grey() -> None:
    fitted = fit_image(Image.new("RGB", (200, 100), RED), 64, "pad")

    assert fitted.size == (64, 64)
    assert fitted.mode == "RGB"
    pixels = np.asarray(fitted)
    assert (pixels[:16] == GREY).all()  # 200x100 -> 64x32 centred: rows 16..47 are the image
    assert (pixels[48:] == GREY).all()
    assert (pixels[16:48] == RED).all()


def test_fit_image_pad_pillarboxes_a_tall_image() -> None:
    pixels = np.asarray(fit_image(Image.new("RGB", (50, 100), RED), 64, "pad"))

    assert (pixels[:, :16] == GREY).all()
    assert (pixels[:, 48:] == GREY).all()
    assert (pixels[:, 16:48] == RED).all()


def test_fit_image_crop_keeps_the_centre() -> None:
    image = Image.new("RGB", (200, 100), (0, 0, 255))  # blue edges
    image.paste(RED, (50, 0, 150, 100))  # the centre square is red

    pixels = np.asarray(fit_image(image, 64, "crop"))

    assert pixels.shape == (64, 64, 3)
    assert (np.abs(pixels.astype(int) - RED) <= 16).all()  # a little bicubic bleed at the edge


@pytest.mark.parametrize(("mode", "side"), [("pad", 50), ("crop", 100)])
def test_fit_image_never_stretches_a_square(mode: str, side: int) -> None:
    image = Image.new("RGB", (400, 200), (255, 255, 255))
    image.paste((0, 0, 0), (150, 50, 250, 150))  # a centred 100x100 black square

    left, top, right, bottom = bounding_box(fit_image(image, 200, mode), (0, 0, 0))

    assert abs((right - left) - side) <= 1
    assert abs((bottom - top) - side) <= 1


@pytest.mark.parametrize("mode", ["pad", "crop"])
def test_fit_image_of_a_large_photo_is_close_to_a_plain_bicubic_resize(mode: str) -> None:
    photo = photo_like(6, (1600, 1000))
    if mode == "pad":
        plain = ImageOps.pad(photo, (128, 128), Image.Resampling.BICUBIC, color=GREY)
    else:
        plain = ImageOps.fit(photo, (128, 128), Image.Resampling.BICUBIC)

    fitted = np.asarray(fit_image(photo, 128, mode), dtype=np.int16)

    assert np.abs(fitted - np.asarray(plain, dtype=np.int16)).mean() < 0.5  # of 255


def test_fit_image_unknown_mode_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="'stretch'"):
        fit_image(Image.new("RGB", (10, 10)), 8, "stretch")


@pytest.mark.parametrize("mode", ["pad", "crop"])
def test_to_model_array_is_square_uint8_rgb(mode: str) -> None:
    array = to_model_array(Image.new("L", (90, 30), 200), 48, mode)

    assert array.shape == (48, 48, 3)
    assert array.dtype == np.uint8
    assert array[24, 24].tolist() == [200, 200, 200]


@pytest.mark.parametrize(("size", "expected"), [((1000, 300), (256, 77)), ((300, 900), (85, 256))])
def test_make_thumbnail_keeps_aspect_ratio(
    size: tuple[int, int], expected: tuple[int, int]
) -> None:
    thumbnail = Image.open(io.BytesIO(make_thumbnail(photo_like(1, size))))

    assert thumbnail.format == "JPEG"
    assert abs(thumbnail.width - expected[0]) <= 1
    assert abs(thumbnail.height - expected[1]) <= 1


def test_make_thumbnail_does_not_change_the_original() -> None:
    image = photo_like(1, (600, 400))

    make_thumbnail(image, 100)

    assert image.size == (600, 400)


def test_perceptual_hash_is_16_hex_characters() -> None:
    value = perceptual_hash(photo_like(2))

    assert len(value) == 16
    int(value, 16)
    assert distance(value, value) == 0


def test_perceptual_hash_compares_horizontal_neighbours() -> None:
    brighter_to_the_right = Image.fromarray(np.tile(np.arange(0, 256, 2, dtype=np.uint8), (64, 1)))

    assert perceptual_hash(brighter_to_the_right) == "ffffffffffffffff"
    assert perceptual_hash(ImageOps.mirror(brighter_to_the_right)) == "0000000000000000"


def test_perceptual_hash_survives_reencoding_and_resizing() -> None:
    original = photo_like(3)
    reference = perceptual_hash(original)
    low_quality = Image.open(io.BytesIO(encode(original, "JPEG", quality=20)))
    smaller = original.resize((256, 192), Image.Resampling.BILINEAR)

    assert distance(reference, perceptual_hash(low_quality)) <= 6
    assert distance(reference, perceptual_hash(smaller)) <= 6


def test_perceptual_hash_tells_different_images_apart() -> None:
    assert distance(perceptual_hash(photo_like(4)), perceptual_hash(photo_like(5))) > 15


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("cat.jpg", True),
        ("CAT.JPEG", True),
        ("scan.Tiff", True),
        ("old.jpe", True),
        ("a/b/kitten.webp", True),
        ("notes.txt", False),
        ("jpg", False),
        ("cat.jpg.zip", False),
        ("", False),
    ],
)
def test_is_image_filename_by_suffix(name: str, expected: bool) -> None:
    assert is_image_filename(name) is expected
