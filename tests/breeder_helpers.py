"""Helpers for the breeder page's tests: demo photos, the page under AppTest, fixed models.

``add_fixed_model(database, ...)`` stores a real Keras model whose outputs do not depend on the
photo (constant-bias heads named like the traits), for deterministic "not a cat", "unsure" and
genotype tests. Not a mock: it is saved, stored, loaded and run like any other model. The
really trained tiny model is the session fixture `trained_model` (tests/conftest.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pymongo.database import Database
from streamlit.testing.v1 import AppTest

from core.config import Settings
from core.demo.samples import demo_samples, encode_jpeg
from core.labels import CAT_PHENOTYPE, LabelSchema
from tests.model_helpers import add_model

REPO_ROOT = Path(__file__).resolve().parent.parent
BREEDER_APP = REPO_ROOT / "breeder_app.py"
TIMEOUT_S = 90  # AppTest's default (3 s) is too short for loading TensorFlow and a model
FIXED_SIZE = 48


# ----------------------------------------------------------------------------- photos


def demo_photo(index: int = 0, *, seed: int = 11, cat: bool = True) -> bytes:
    """JPEG bytes of a demo cat (or a non-cat scene) drawn by the demo generator."""
    found = 0
    for sample in demo_samples(CAT_PHENOTYPE.name, 60, seed=seed):
        if bool(sample.truth["is_cat"]) == cat:
            if found == index:
                return encode_jpeg(sample.image)
            found += 1
    raise AssertionError(f"no demo {'cat' if cat else 'scene'} number {index} for seed {seed}")


SHOWCASE_SAMPLE = (5, 12)  # (seed, index) of a demo blue tabby bicolour, for screenshots


def showcase_photo() -> tuple[bytes, dict]:
    """JPEG bytes and true label of the demo blue tabby bicolour shown in the README."""
    seed, index = SHOWCASE_SAMPLE
    sample = list(demo_samples(CAT_PHENOTYPE.name, index + 1, seed=seed))[index]
    return encode_jpeg(sample.image), sample.truth


def showcase_outputs() -> dict[str, Any]:
    """Believable outputs for the showcase photo: right, fairly sure, with runners-up."""
    outputs = cat_outputs(colour="blue", is_tabby=0.93, pattern="bicolour", is_pointed=0.04)
    outputs["colour"] = {
        "blue": 0.87,
        "lilac": 0.07,
        "black": 0.03,
        "cream": 0.015,
        "chocolate": 0.005,
        "fawn": 0.004,
        "cinnamon": 0.003,
        "red": 0.002,
        "white": 0.001,
    }
    outputs["pattern"] = {"bicolour": 0.82, "van": 0.13, "self": 0.05}
    return outputs


# ----------------------------------------------------------------------------- models


def spread(best: str, probability: float, values: tuple[str, ...]) -> dict[str, float]:
    """A distribution over values: best gets probability, the runner-up most of the rest."""
    others = [v for v in values if v != best]
    rest = 1.0 - probability
    weights = [0.6] + [0.4 / max(len(others) - 1, 1)] * (len(others) - 1)
    shares = {v: rest * w / sum(weights) for v, w in zip(others, weights, strict=True)}
    return {best: probability, **shares}


def cat_outputs(
    *,
    is_cat: float = 0.97,
    colour: str = "blue",
    colour_p: float = 0.9,
    is_tabby: float = 0.1,
    pattern: str = "bicolour",
    pattern_p: float = 0.85,
    is_pointed: float = 0.05,
) -> dict[str, Any]:
    """Model outputs for a cat: yes-probabilities of yes/no traits, distributions otherwise."""
    return {
        "is_cat": is_cat,
        "colour": spread(colour, colour_p, CAT_PHENOTYPE.trait("colour").values),
        "is_tabby": is_tabby,
        "pattern": spread(pattern, pattern_p, CAT_PHENOTYPE.trait("pattern").values),
        "is_pointed": is_pointed,
    }


def fixed_model_bytes(
    schema: LabelSchema, outputs: Mapping[str, Any], image_size: int = FIXED_SIZE
) -> bytes:
    """A real Keras model whose heads always give these outputs, as a `.keras` file."""
    import keras
    from keras import layers

    from core.ml.model_builder import model_to_bytes

    inputs = keras.Input(shape=(image_size, image_size, 3), name="image")
    pooled = layers.GlobalAveragePooling2D(name="avg_pool")(inputs)
    zeros = layers.Rescaling(0.0, name="ignore_the_photo")(pooled)
    heads = {}
    biases = {}
    for trait in schema.traits:
        wanted = outputs[trait.name]
        if trait.is_categorical:
            probabilities = np.array([wanted.get(v, 1e-6) for v in trait.values], np.float64)
            biases[trait.name] = np.log(probabilities / probabilities.sum())
            heads[trait.name] = layers.Dense(len(trait.values), "softmax", name=trait.name)(zeros)
        else:
            yes = min(max(float(wanted), 1e-6), 1 - 1e-6)
            biases[trait.name] = np.array([math.log(yes / (1 - yes))])
            heads[trait.name] = layers.Dense(1, "sigmoid", name=trait.name)(zeros)
    model = keras.Model(inputs, heads, name=f"fixed_{schema.name}")
    for name, bias in biases.items():
        layer = model.get_layer(name)
        kernel = np.zeros(layer.get_weights()[0].shape, np.float32)
        layer.set_weights([kernel, bias.astype(np.float32)])
    return model_to_bytes(model)


def add_fixed_model(
    database: Database,
    outputs: Mapping[str, Any],
    *,
    schema: LabelSchema = CAT_PHENOTYPE,
    thresholds: Mapping[str, float] | None = None,
    activate: bool = True,
) -> str:
    """Store (and activate) a model that always says `outputs`; return its id."""
    return add_model(
        database,
        fixed_model_bytes(schema, outputs),
        activate=activate,
        schema=schema,
        backbone="fixed_test_model",
        image_size=FIXED_SIZE,
        metrics={t.name: {"val_accuracy": 0.9} for t in schema.traits},
        thresholds=thresholds or {t.name: 0.5 for t in schema.traits},
        training_set_size=0,
    )


# ----------------------------------------------------------------------------- the app


def breeder_env(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, **extra: str
) -> dict[str, str]:
    """Point the breeder app at the settings' servers (environment of this process)."""
    env = {
        "MONGO_URI": settings.mongo_uri or "",
        "MONGO_DB": settings.mongo_db,
        "DATA_DIR": str(settings.data_dir),
        "LABEL_SCHEMA": settings.label_schema,
        "SHOW_RECENT_GALLERY": "false",
        **extra,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("DATABASE_URL", "MAX_UPLOAD_MB"):
        if name not in extra:
            monkeypatch.delenv(name, raising=False)
    return env


def breeder_app() -> AppTest:
    """An AppTest of the breeder page, already run once (welcome, uploader or a message)."""
    at = AppTest.from_file(str(BREEDER_APP), default_timeout=TIMEOUT_S)
    at.run()
    return at


def texts(at: AppTest) -> str:
    """Every piece of text the page shows, in one string, for `in` checks."""
    parts: list[str] = []
    for kind in (
        "title",
        "subheader",
        "markdown",
        "caption",
        "info",
        "success",
        "warning",
        "error",
    ):
        parts.extend(str(element.value) for element in getattr(at, kind))
    parts.extend(str(element.text) for element in at.get("progress"))
    parts.extend(str(element.value) for element in at.get("code"))
    return "\n".join(parts)
