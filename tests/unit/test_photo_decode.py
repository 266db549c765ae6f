"""core.images.decode_photo: one reduced decode of phone-sized photos, and what it derives."""

import io

import numpy as np
import pytest
from PIL import Image

from core.demo.cats import draw_cat, random_cat_label
from core.images import (
    DECODE_SIDE,
    DecodedImage,
    ImageError,
    Photo,
    decode_image,
    decode_photo,
    perceptual_hash,
    to_model_array,
)
from core.services.imports import hash_distances
from tests.image_corpus import (
    BLUE,
    CORPUS,
    PHONE,
    RED,
    CorpusCase,
    encode,
    photo_like,
    two_halves,
)

GOOD = [pytest.param(case, id=case.name) for case in CORPUS if case.expected == "ok"]
BAD = [pytest.param(case, id=case.name) for case in CORPUS if case.expected != "ok"]
MODEL_SIZE = 128


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def distance(a: str, b: str) -> int:
    """Differing bits between two perceptual hashes."""
    return int(hash_distances(a, [b])[0])


def close_to(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 12) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


@pytest.fixture(scope="module")
def phone_jpeg() -> bytes:
    return encode(photo_like(PHONE), "JPEG", quality=88)


@pytest.mark.parametrize("case", GOOD)
def test_decode_photo_small_image_is_what_decode_image_gives(case: CorpusCase) -> None:
    data = case.make()
    full = decode_image(data, case.filename)

    photo = decode_photo(data, case.filename)

    assert isinstance(photo, DecodedImage)
    assert (photo.format, photo.width, photo.height) == (case.format, *case.size)
    assert photo.data is data
    assert photo.sha256 == full.sha256
    assert photo.image.mode == "RGB"
    if max(case.size) < 2 * DECODE_SIDE:  # nothing to reduce: the very same pixels
        assert photo.image.tobytes() == full.image.tobytes()
    for (x, y), expected in case.pixels:
        scale = photo.image.width / case.size[0]
        actual = photo.image.getpixel((int(x * scale), int(y * scale)))
        assert close_to(actual, expected), f"pixel {(x, y)} is {actual}, expected {expected}"


@pytest.mark.parametrize("case", BAD)
def test_decode_photo_bad_file_gives_decode_image_message(case: CorpusCase) -> None:
    data = case.make()
    with pytest.raises(ImageError) as expected:
        decode_image(data, case.filename)

    with pytest.raises(ImageError) as caught:
        decode_photo(data, case.filename, model_size=MODEL_SIZE)

    assert str(caught.value) == str(expected.value)
    assert case.expected in str(caught.value)


@pytest.mark.parametrize("progressive", [False, True], ids=["baseline", "progressive"])
def test_decode_photo_12_megapixel_jpeg_decodes_a_quarter_of_the_sides(progressive: bool) -> None:
    data = encode(photo_like(PHONE), "JPEG", quality=88, progressive=progressive)

    photo = decode_photo(data, "IMG_1234.jpg", model_size=MODEL_SIZE)

    assert (photo.width, photo.height) == PHONE
    assert photo.image.size == (1000, 750)  # DCT scaling 1/4: still over the 720-px preview
    assert photo.data is data
    assert photo.model_array is not None
    assert photo.model_array.shape == (MODEL_SIZE, MODEL_SIZE, 3)
    assert photo.model_array.dtype == np.uint8


def test_decode_photo_model_array_is_close_to_the_full_decode(phone_jpeg: bytes) -> None:
    full = to_model_array(decode_image(phone_jpeg).image, MODEL_SIZE)

    photo = decode_photo(phone_jpeg, model_size=MODEL_SIZE)

    assert photo.model_array is not None
    assert mean_abs_diff(photo.model_array, full) < 0.5


@pytest.mark.parametrize("mode", ["pad", "crop"])
def test_decode_photo_gives_one_model_input_whoever_asks(phone_jpeg: bytes, mode: str) -> None:
    """Training asks with the model size; a caller that fits photo.image later gets the same."""
    for_training = decode_photo(phone_jpeg, model_size=MODEL_SIZE, resize_mode=mode)
    for_serving = decode_photo(phone_jpeg)  # e.g. decoded before the model is known

    assert for_training.model_array is not None
    assert for_serving.model_array is None
    assert np.array_equal(
        for_training.model_array, to_model_array(for_serving.image, MODEL_SIZE, mode)
    )


def test_decode_photo_thumbnail_and_hash_come_from_the_reduced_picture(phone_jpeg: bytes) -> None:
    full = decode_image(phone_jpeg)

    photo = decode_photo(phone_jpeg)

    thumbnail = Image.open(io.BytesIO(photo.thumbnail))
    assert (thumbnail.format, thumbnail.size) == ("JPEG", (256, 192))
    assert distance(photo.perceptual_hash, perceptual_hash(full.image)) <= 2


def test_decode_photo_thumbnail_looks_like_a_plain_lanczos_one(phone_jpeg: bytes) -> None:
    photo = decode_photo(phone_jpeg)
    plain = photo.image.copy()
    plain.thumbnail((256, 256), Image.Resampling.LANCZOS, reducing_gap=None)

    thumbnail = Image.open(io.BytesIO(photo.thumbnail))

    assert thumbnail.size == plain.size
    assert mean_abs_diff(np.asarray(thumbnail), np.asarray(plain)) < 2.0  # JPEG q85 noise


def test_decode_photo_keeps_what_a_larger_model_needs(phone_jpeg: bytes) -> None:
    photo = decode_photo(phone_jpeg, model_size=1200, resize_mode="crop")

    assert min(photo.image.size) >= 1200
    assert photo.image.size == (2000, 1500)


def test_decode_photo_crop_keeps_the_short_side_of_a_panorama() -> None:
    data = encode(photo_like((4000, 400)), "JPEG", quality=88)

    assert max(decode_photo(data).image.size) >= DECODE_SIDE
    assert min(decode_photo(data, model_size=MODEL_SIZE, resize_mode="crop").image.size) >= 128


def test_decode_photo_bad_model_size_is_a_value_error(phone_jpeg: bytes) -> None:
    with pytest.raises(ValueError, match="'stretch'"):
        decode_photo(phone_jpeg, model_size=MODEL_SIZE, resize_mode="stretch")


def test_decode_photo_cmyk_jpeg_is_reduced_to_rgb() -> None:
    data = encode(Image.new("CMYK", (2400, 1800), (255, 0, 0, 0)), "JPEG", quality=90)

    photo = decode_photo(data, "cmyk.jpg")

    assert photo.image.size == (1200, 900)
    assert photo.image.mode == "RGB"
    assert close_to(photo.image.getpixel((600, 450)), (0, 255, 255))


# (stored picture -> upright) for each EXIF orientation: the stored file holds the inverse
_UNDO = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def upright_test_card() -> Image.Image:
    """A 2400x1600 card: blue, with a red top-left quarter, so every turn and flip shows."""
    card = Image.new("RGB", (2400, 1600), BLUE)
    card.paste(RED, (0, 0, 1200, 800))
    return card


@pytest.mark.parametrize("orientation", range(1, 9))
def test_decode_photo_applies_exif_orientation_after_the_reduction(orientation: int) -> None:
    stored = upright_test_card()
    if _UNDO[orientation] is not None:
        stored = stored.transpose(_UNDO[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(stored, "JPEG", quality=90, exif=exif.tobytes())

    photo = decode_photo(data, f"orientation{orientation}.jpg")

    assert (photo.width, photo.height) == (2400, 1600)
    assert photo.image.size == (1200, 800)  # DCT scaling 1/2, then turned upright
    assert close_to(photo.image.getpixel((300, 200)), RED)  # top-left quarter
    assert close_to(photo.image.getpixel((900, 200)), BLUE)
    assert close_to(photo.image.getpixel((300, 600)), BLUE)
    assert decode_image(data).image.size == (2400, 1600)


@pytest.mark.parametrize("progressive", [False, True], ids=["baseline", "progressive"])
def test_decode_photo_truncated_12_megapixel_jpeg_is_refused(progressive: bool) -> None:
    data = encode(photo_like(PHONE, seed=1), "JPEG", quality=88, progressive=progressive)

    with pytest.raises(ImageError, match=r"'cut\.jpg' is truncated or corrupt \(.*again\.$"):
        decode_photo(data[: len(data) * 2 // 3], "cut.jpg")


@pytest.mark.parametrize(
    ("fmt", "params"),
    [("PNG", {"compress_level": 1}), ("WEBP", {"quality": 60, "method": 0})],
    ids=["png", "webp"],
)
def test_decode_photo_12_megapixel_png_and_webp_keep_a_small_picture(
    fmt: str, params: dict
) -> None:
    data = encode(two_halves(PHONE, RED, BLUE), fmt, **params)

    photo = decode_photo(data, f"big.{fmt.lower()}", model_size=MODEL_SIZE)

    assert (photo.format, photo.width, photo.height) == (fmt, *PHONE)
    assert photo.image.size == (800, 600)  # a 5x box reduction: over 720, under twice that
    assert close_to(photo.image.getpixel((100, 300)), RED)
    assert close_to(photo.image.getpixel((700, 300)), BLUE)
    assert photo.model_array is not None
    assert close_to(tuple(photo.model_array[64, 20]), RED)


def test_decode_photo_is_a_photo() -> None:
    photo = decode_photo(encode(Image.new("RGB", (40, 40), RED), "PNG"), "a.png")

    assert isinstance(photo, Photo)


@pytest.fixture(scope="module")
def demo_photos() -> list[bytes]:
    """Three demo cats rendered at 2000x1500, as a breeder's camera would save them."""
    rng = np.random.default_rng(18)
    return [
        encode(draw_cat(random_cat_label(rng), rng, size=(2000, 1500)), "JPEG", quality=90)
        for _ in range(3)
    ]


@pytest.mark.parametrize("mode", ["pad", "crop"])
def test_decode_photo_model_input_matches_the_full_decode_on_demo_cats(
    demo_photos: list[bytes], mode: str
) -> None:
    for data in demo_photos:
        full = to_model_array(decode_image(data).image, MODEL_SIZE, mode)

        reduced = decode_photo(data, model_size=MODEL_SIZE, resize_mode=mode).model_array

        assert reduced is not None
        assert mean_abs_diff(reduced, full) < 0.5  # of 255: measured 0.09-0.15
