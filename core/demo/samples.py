"""Demo data sets: balanced, deterministic label plans and their drawn samples, one at a time.

A seed always gives the same pictures and labels: each sample is drawn from its own generator
seeded with (seed, index).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image

from core.demo.cats import cat_label, draw_cat
from core.demo.dogs import DOG_BREEDS, draw_dog
from core.demo.drawing import Rng
from core.demo.scenes import draw_scene
from core.labels import CAT_COLOURS, CAT_PATTERNS, DOG_BREED, get_schema

SCENE_BLOCK, SCENES_PER_BLOCK = 40, 7  # 17.5% non-cats in the cat schema


@dataclass(frozen=True)
class DemoSample:
    """One generated image with its label (None when handed out as unlabelled) and true label."""

    image: Image.Image
    label: dict | None
    truth: dict
    filename: str


def _cat_labels(rng: Rng) -> Iterator[dict]:
    """Cat labels in rounds of every colour; each colour cycles through its 12 combinations."""
    combos = [(t, p, pt) for t in (False, True) for p in CAT_PATTERNS for pt in (False, True)]
    while True:
        decks = {c: [combos[i] for i in rng.permutation(len(combos))] for c in CAT_COLOURS}
        for round_ in range(len(combos)):
            for colour in rng.permutation(CAT_COLOURS):
                tabby, pattern, pointed = decks[str(colour)][round_]
                if colour == "white":
                    tabby, pattern, pointed = False, "self", False
                yield cat_label(str(colour), tabby, pattern, pointed)


def _cat_plan(rng: Rng) -> Iterator[dict]:
    """Cat-schema labels: 7 non-cats at random places in every block of 40."""
    cat_rng, scene_rng = rng.spawn(2)
    cats = _cat_labels(cat_rng)
    while True:
        scenes = set(scene_rng.choice(SCENE_BLOCK, SCENES_PER_BLOCK, replace=False).tolist())
        for i in range(SCENE_BLOCK):
            yield {"is_cat": False} if i in scenes else next(cats)


def _dog_plan(rng: Rng) -> Iterator[dict]:
    """Dog labels in shuffled rounds of every breed."""
    while True:
        for i in rng.permutation(len(DOG_BREEDS)):
            yield {"breed": DOG_BREEDS[i]}


def demo_labels(schema_name: str, count: int, *, seed: int = 0) -> Iterator[dict]:
    """The true labels of the first count samples demo_samples draws with this seed."""
    rng = np.random.default_rng(seed)
    plan = _dog_plan(rng) if get_schema(schema_name).name == DOG_BREED.name else _cat_plan(rng)
    for _ in range(count):
        yield next(plan)


def demo_samples(
    schema_name: str, count: int, *, seed: int = 0, unlabelled: int = 0
) -> Iterator[DemoSample]:
    """Yield count labelled samples, then `unlabelled` more with label None, one at a time."""
    if count < 0 or unlabelled < 0:
        raise ValueError("count and unlabelled must not be negative.")
    is_dogs = get_schema(schema_name).name == DOG_BREED.name
    prefix = "dog" if is_dogs else "cat"
    for index, truth in enumerate(demo_labels(schema_name, count + unlabelled, seed=seed)):
        image_rng = np.random.default_rng([seed, index])
        if is_dogs:
            image = draw_dog(truth["breed"], image_rng)
        elif truth["is_cat"]:
            image = draw_cat(truth, image_rng)
        else:
            image = draw_scene(image_rng)
        label = dict(truth) if index < count else None
        yield DemoSample(image, label, dict(truth), f"demo-{prefix}-{index:05d}.jpg")


def encode_jpeg(image: Image.Image, quality: int = 90) -> bytes:
    """The image as JPEG bytes."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
