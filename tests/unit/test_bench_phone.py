"""jobs.bench.phone: the photos it draws and the three decode paths it times."""

import io

import numpy as np
import pytest
from PIL import Image

from jobs.bench import phone


@pytest.fixture(scope="module")
def phone_photo() -> bytes:
    return phone.draw_phone_photo(0)


def test_draw_phone_photo_is_a_12_megapixel_jpeg_of_a_few_megabytes(phone_photo: bytes) -> None:
    image = Image.open(io.BytesIO(phone_photo))

    assert (image.format, image.size) == ("JPEG", (4000, 3000))
    assert 3_000_000 < len(phone_photo) < 4_500_000


def test_every_path_gives_the_same_model_input_shape_and_ours_matches_the_full_decode(
    phone_photo: bytes,
) -> None:
    arrays = {name: path(phone_photo) for name, path in phone.PATHS.items()}

    assert {array.shape for array in arrays.values()} == {(128, 128, 3)}
    full = arrays["full decode + resize + model"].astype(np.int16)
    assert np.abs(arrays[phone.OURS] - full).mean() < 0.5


def test_phone_training_photos_are_12_megapixel_jpegs_of_their_labelled_drawings() -> None:
    from jobs.bench import phone_training

    pairs = list(phone_training.phone_photos(3, seed=11))

    assert [sample.filename for sample, _ in pairs] == [
        "demo-cat-00000.jpg",
        "demo-cat-00001.jpg",
        "demo-cat-00002.jpg",
    ]
    for sample, data in pairs:
        photo = Image.open(io.BytesIO(data))
        assert (photo.format, photo.size) == ("JPEG", (4000, 3000))
        middle = np.asarray(photo.resize((400, 300)))[:, 50:350].astype(np.int16)
        drawing = np.asarray(sample.image.convert("RGB").resize((300, 300))).astype(np.int16)
        assert np.abs(middle - drawing).mean() < 12  # the drawing, enlarged, under the grain
