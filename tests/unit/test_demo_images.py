"""core.demo: balanced, deterministic, lazy demo data whose traits are visible."""

import ast
import hashlib
import inspect
import io
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

import core.demo
from core.demo.cats import draw_cat, draw_cat_with_mask, random_cat_label
from core.demo.dogs import DOG_BREEDS, draw_dog
from core.demo.samples import DemoSample, demo_labels, demo_samples, encode_jpeg
from core.demo.scenes import draw_scene
from core.errors import UserError
from core.labels import CAT_COLOURS, CAT_PATTERNS, CAT_PHENOTYPE

SIZE = (240, 200)
SELF_CAT = {"is_cat": True, "is_tabby": False, "pattern": "self", "is_pointed": False}


def cat(colour: str, **traits: object) -> dict:
    """A complete cat label: a self, not tabby, not pointed cat unless traits say otherwise."""
    return {**SELF_CAT, "colour": colour, **traits}


def drawn(label: dict, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """The cat's pixels (float RGB) and a mask of its solid inside, drawn with a fixed seed."""
    image, coverage = draw_cat_with_mask(label, np.random.default_rng(seed), SIZE)
    assert image.size == SIZE
    assert image.mode == "RGB"
    return np.asarray(image, np.float32), coverage > 0.95


def white_rule_holds(label: dict) -> bool:
    """Dominant white: a white cat is labelled self, not tabby, not pointed."""
    return (label["pattern"], label["is_tabby"], label["is_pointed"]) == ("self", False, False)


def body_mean(label: dict, seed: int = 7) -> np.ndarray:
    pixels, inside = drawn(label, seed)
    return pixels[inside].mean(axis=0)


def near_white_share(label: dict, seed: int = 7) -> float:
    pixels, inside = drawn(label, seed)
    return float((pixels[inside].min(axis=1) > 200).mean())


def stripe_energy(label: dict, seed: int = 7) -> float:
    """Mean absolute difference from a blurred copy inside the cat: stripes and other detail."""
    image, coverage = draw_cat_with_mask(label, np.random.default_rng(seed), SIZE)
    grey = image.convert("L")
    detail = np.abs(
        np.asarray(grey, np.float32)
        - np.asarray(grey.filter(ImageFilter.GaussianBlur(3)), np.float32)
    )
    return float(np.median(detail[coverage > 0.95]))


# ---------------------------------------------------------------- the sample stream


def test_same_seed_gives_identical_images_and_labels() -> None:
    first = list(demo_samples("cat_phenotype", 5, seed=3))
    again = list(demo_samples("cat_phenotype", 5, seed=3))
    other = list(demo_samples("cat_phenotype", 5, seed=4))
    assert [s.truth for s in first] == [s.truth for s in again]
    assert [s.filename for s in first] == [s.filename for s in again]
    for a, b in zip(first, again, strict=True):
        assert np.array_equal(np.asarray(a.image), np.asarray(b.image))
    assert any(
        a.image.size != b.image.size or not np.array_equal(np.asarray(a.image), np.asarray(b.image))
        for a, b in zip(first, other, strict=True)
    )


def test_samples_come_lazily_one_at_a_time() -> None:
    stream = demo_samples("cat_phenotype", 1_000_000, seed=1)
    assert inspect.isgenerator(stream)
    assert isinstance(stream, Iterator)
    sample = next(stream)  # a million images would take hours if built up front
    assert isinstance(sample, DemoSample)
    assert sample.image.mode == "RGB"


def test_sample_truths_follow_the_label_plan() -> None:
    samples = list(demo_samples("cat_phenotype", 8, seed=5))
    assert [s.truth for s in samples] == list(demo_labels("cat_phenotype", 8, seed=5))
    assert all(s.label == s.truth for s in samples)
    assert all(re.fullmatch(r"demo-cat-\d{5}\.jpg", s.filename) for s in samples)
    assert len({s.filename for s in samples}) == len(samples)


def test_unlabelled_samples_have_no_label_but_keep_their_truth() -> None:
    samples = list(demo_samples("cat_phenotype", 3, seed=2, unlabelled=2))
    assert len(samples) == 5
    assert all(s.label == s.truth for s in samples[:3])
    assert [s.label for s in samples[3:]] == [None, None]
    for sample in samples[3:]:
        assert CAT_PHENOTYPE.validate(sample.truth) == sample.truth


def test_first_60_cats_cover_every_value() -> None:
    for seed in range(5):
        cats = [label for label in demo_labels("cat_phenotype", 120, seed=seed) if label["is_cat"]]
        cats = cats[:60]
        assert {c["colour"] for c in cats} == set(CAT_COLOURS)
        assert {c["pattern"] for c in cats} == set(CAT_PATTERNS)
        assert {c["is_tabby"] for c in cats} == {True, False}
        assert {c["is_pointed"] for c in cats} == {True, False}


def test_fifty_samples_already_cover_every_colour_and_pattern() -> None:
    for seed in range(5):
        labels = [label for label in demo_labels("cat_phenotype", 50, seed=seed) if label["is_cat"]]
        assert {c["colour"] for c in labels} == set(CAT_COLOURS)
        assert {c["pattern"] for c in labels} == set(CAT_PATTERNS)


def test_colours_are_balanced_and_labels_valid() -> None:
    labels = list(demo_labels("cat_phenotype", 1000, seed=9))
    for label in labels:
        assert CAT_PHENOTYPE.validate(label) == label
        if label.get("colour") == "white":
            assert white_rule_holds(label)
    cats = [label for label in labels if label["is_cat"]]
    counts = [sum(c["colour"] == colour for c in cats) for colour in CAT_COLOURS]
    assert max(counts) - min(counts) <= 2


@pytest.mark.parametrize("seed", [0, 11])
def test_non_cats_are_a_sixth_or_so(seed: int) -> None:
    labels = list(demo_labels("cat_phenotype", 200, seed=seed))
    share = sum(not label["is_cat"] for label in labels) / len(labels)
    assert 0.10 <= share <= 0.25
    assert all(label == {"is_cat": False} for label in labels if not label["is_cat"])
    first = list(demo_labels("cat_phenotype", 40, seed=seed))
    assert 4 <= sum(not label["is_cat"] for label in first) <= 10


def test_random_cat_labels_are_complete_and_respect_dominant_white() -> None:
    rng = np.random.default_rng(0)
    labels = [random_cat_label(rng) for _ in range(300)]
    for label in labels:
        assert CAT_PHENOTYPE.validate(label) == label
        assert label["is_cat"] is True
        if label["colour"] == "white":
            assert white_rule_holds(label)
    assert {label["colour"] for label in labels} == set(CAT_COLOURS)
    assert {label["pattern"] for label in labels} == set(CAT_PATTERNS)


def test_image_sizes_and_aspect_ratios_vary() -> None:
    sizes = [draw_scene(np.random.default_rng(seed)).size for seed in range(8)]
    sizes.append(draw_cat(cat("blue"), np.random.default_rng(1)).size)
    assert len(set(sizes)) >= 5
    for width, height in sizes:
        assert 180 <= width <= 480
        assert 0.74 <= width / height <= 1.34


def test_unknown_schema_and_non_cat_labels_are_refused() -> None:
    with pytest.raises(UserError):
        next(demo_samples("horse_breed", 1))
    with pytest.raises(ValueError, match="draw_scene"):
        draw_cat({"is_cat": False}, np.random.default_rng(0))
    with pytest.raises(ValueError, match="negative"):
        next(demo_samples("cat_phenotype", -1))


def test_encode_jpeg_round_trips() -> None:
    image = draw_cat(cat("red"), np.random.default_rng(2), SIZE)
    data = encode_jpeg(image, quality=80)
    assert data[:2] == b"\xff\xd8"
    decoded = Image.open(io.BytesIO(data))
    assert decoded.format == "JPEG"
    assert decoded.size == SIZE


# ---------------------------------------------------------------- what the pictures show


def test_coat_colour_shows_in_the_body() -> None:
    black, blue, cream = (body_mean(cat(c)) for c in ("black", "blue", "cream"))
    assert black.mean() + 40 < blue.mean() < cream.mean() - 40
    assert blue[2] > blue[0] + 15  # grey-blue: more blue than red
    assert cream[0] > cream[2] + 40  # cream: warm
    red, cinnamon, chocolate = (body_mean(cat(c)) for c in ("red", "cinnamon", "chocolate"))
    assert red[0] - red[2] > cinnamon[0] - cinnamon[2] > chocolate[0] - chocolate[2] > 20


def test_every_colour_draws_a_different_body_colour() -> None:
    means = {c: body_mean(cat(c), seed=3) for c in CAT_COLOURS}
    for a in CAT_COLOURS:
        for b in CAT_COLOURS:
            if a < b:
                assert np.abs(means[a] - means[b]).max() > 15, (a, b)


@pytest.mark.parametrize("colour", ["black", "blue", "cream", "red"])
def test_tabby_stripes_add_high_frequency_energy(colour: str) -> None:
    plain = stripe_energy(cat(colour))
    tabby = stripe_energy(cat(colour, is_tabby=True))
    assert tabby > 1.5 * plain + 2


def test_tabby_shows_on_a_colourpoint_too() -> None:
    plain = stripe_energy(cat("blue", is_pointed=True))
    tabby = stripe_energy(cat("blue", is_pointed=True, is_tabby=True))
    assert tabby > 1.3 * plain


@pytest.mark.parametrize("colour", ["black", "red", "lilac"])
def test_white_grows_from_self_to_bicolour_to_van(colour: str) -> None:
    self_ = near_white_share(cat(colour))
    bicolour = near_white_share(cat(colour, pattern="bicolour"))
    van = near_white_share(cat(colour, pattern="van"))
    assert self_ < 0.05
    assert 0.25 <= bicolour <= 0.6
    assert van >= 0.7
    assert van > bicolour + 0.2


@pytest.mark.parametrize("colour", ["black", "chocolate", "blue", "red"])
def test_colourpoint_body_is_paler(colour: str) -> None:
    plain = body_mean(cat(colour)).mean()
    pointed = body_mean(cat(colour, is_pointed=True)).mean()
    assert pointed > plain + 30


def test_colourpoint_has_blue_eyes() -> None:
    plain, inside = drawn(cat("black"))
    pointed, _ = drawn(cat("black", is_pointed=True))
    blueish = lambda p: int(((p[..., 2] > p[..., 0] + 60) & inside).sum())  # noqa: E731
    assert blueish(pointed) > blueish(plain) + 5


def test_dominant_white_masks_every_other_trait() -> None:
    plain, inside = drawn(cat("white"))
    loaded, _ = drawn(cat("white", is_tabby=True, pattern="van", is_pointed=True))
    assert np.abs(plain - loaded)[inside].mean() < 3
    assert near_white_share(cat("white")) > 0.85


def test_the_pose_does_not_depend_on_the_label() -> None:
    _, black = drawn(cat("black"), seed=5)
    _, cream = drawn(cat("cream", is_tabby=True, pattern="van"), seed=5)
    assert np.array_equal(black, cream)


def test_non_cat_scenes_vary() -> None:
    scenes = [np.asarray(draw_scene(np.random.default_rng(seed))) for seed in range(8)]
    means = np.array([scene.mean(axis=(0, 1)) for scene in scenes])
    assert means.std(axis=0).max() > 10


# ---------------------------------------------------------------- dogs


def test_there_are_at_least_twelve_distinct_breeds() -> None:
    assert len(DOG_BREEDS) >= 12
    assert len(set(DOG_BREEDS)) == len(DOG_BREEDS)


def test_every_breed_draws_a_dog() -> None:
    means = []
    for breed in DOG_BREEDS:
        image = draw_dog(breed, np.random.default_rng(4), size=(160, 120))
        assert image.size == (160, 120)
        pixels = np.asarray(image, np.float32)
        assert pixels.std() > 10, breed
        means.append(pixels.mean())
    assert len({round(m) for m in means}) > len(DOG_BREEDS) // 2
    with pytest.raises(ValueError, match="unicorn"):
        draw_dog("unicorn", np.random.default_rng(0))


def test_dog_samples_cycle_through_every_breed() -> None:
    labels = list(demo_labels("dog_breed", len(DOG_BREEDS), seed=1))
    assert sorted(label["breed"] for label in labels) == sorted(DOG_BREEDS)
    sample = next(demo_samples("dog_breed", 1, seed=1))
    assert sample.label == labels[0]
    assert sample.filename == "demo-dog-00000.jpg"


CAT_PIXELS = "d7f3217580bbee0d0d22420126752525d5b4ae10b139b66a39c00e27ec027614"
DOG_PIXELS = "0a4ed21af68887deaf4d141ca7a41ed4d3eab97eaaa5925dfa0ba64cf0c9566d"


@pytest.mark.parametrize(
    ("schema_name", "count", "seed", "expected"),
    [("cat_phenotype", 12, 3, CAT_PIXELS), ("dog_breed", 4, 1, DOG_PIXELS)],
)
def test_a_seed_always_draws_the_same_pixels(
    schema_name: str, count: int, seed: int, expected: str
) -> None:
    # Pins today's pictures (cats and scenes, dogs) so moving the drawing code cannot change them;
    # a Pillow or numpy upgrade that changes resampling may legitimately move these hashes.
    digest = hashlib.sha256()
    for sample in demo_samples(schema_name, count, seed=seed):
        digest.update(sample.image.tobytes())
    assert digest.hexdigest() == expected


def test_demo_modules_import_only_the_layers_below_them() -> None:
    # drawing <- cats, dogs, scenes <- samples: no cycle, so each can be read on its own
    below = {"drawing": set(), "cats": {"drawing"}, "dogs": {"drawing"}, "scenes": {"drawing"}}
    below["samples"] = {"drawing", "cats", "dogs", "scenes"}
    package = Path(core.demo.__file__).parent
    for name, allowed in below.items():
        tree = ast.parse((package / f"{name}.py").read_text())
        imported = {
            node.module.removeprefix("core.demo.")
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("core.demo")
        }
        assert imported <= allowed, f"core.demo.{name} imports {imported - allowed}"
