"""Held-out section: the active model on demo images of a seed it never saw, and on made-up images.

Held-out images go the way a breeder's photo goes (JPEG bytes, decoded like the API). Reports
held-out accuracy per trait beside the validation accuracy stored with the model, the
AUROC of the unfamiliar-image score (validation figure and on these images), and the share of
made-up images (noise, textures, documents, scenes) answered with a confident coat.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from core.config import Settings
from core.db.models import ModelRepository
from core.db.mongo import connect, mongo_uri_for
from core.demo.samples import DemoSample, demo_samples, encode_jpeg
from core.images import decode_photo
from core.ml.ood import auroc
from core.ml.unfamiliar_images import unfamiliar_images
from core.services.predictions import ActiveModelCache
from jobs.bench import Row

if TYPE_CHECKING:
    from core.db.models import ModelRecord
    from core.labels import LabelSchema
    from core.ml.prediction import PredictionResult

HELD_OUT_SEED = 29  # the training section trains on seed 11
HELD_OUT_IMAGES = 300
MADE_UP_IMAGES = 120
MADE_UP_SEED = 4242  # not the seed training picks its threshold with
BATCH = 32


def as_uploaded(sample: DemoSample, record: ModelRecord) -> np.ndarray:
    """The model input of a demo image sent as a breeder would: JPEG bytes, decoded like the API."""
    photo = decode_photo(
        encode_jpeg(sample.image), model_size=record.image_size, resize_mode=record.resize_mode
    )
    return photo.model_array


def predicted_value(result: PredictionResult, trait: str) -> str | bool:
    """The head's most likely value ("yes"/"no" as a boolean), gated or not."""
    probabilities = result.probabilities[trait]
    best = max(probabilities, key=probabilities.__getitem__)
    if set(probabilities) == {"yes", "no"}:
        return best == "yes"
    return best


def is_confident_answer(schema: LabelSchema, result: PredictionResult) -> bool:
    """A coat (or breed) given without doubt: familiar, past the gate, some trait not unsure."""
    if result.is_unfamiliar or result.passes_gate is False:
        return False
    gate = schema.gate.name if schema.gate else None
    return any(name != gate and name not in result.unsure for name in result.label)


def measure_held_out(
    settings: Settings, *, images: int = HELD_OUT_IMAGES, made_up: int = MADE_UP_IMAGES
) -> tuple[list[Row], dict[str, Any]]:
    """Predict held-out demo images and made-up images with the active model of the database."""
    client = connect(mongo_uri_for(settings))
    try:
        loaded = ActiveModelCache(ModelRepository(client[settings.mongo_db])).get()
    finally:
        client.close()
    record, predictor, schema = loaded.record, loaded.predictor, loaded.record.schema
    samples = list(demo_samples(schema.name, images, seed=HELD_OUT_SEED))
    held_out: list[PredictionResult] = []
    for start in range(0, len(samples), BATCH):
        part = samples[start : start + BATCH]
        held_out += predictor.predict_arrays(np.stack([as_uploaded(s, record) for s in part]))
    strange = predictor.predict_arrays(
        unfamiliar_images(made_up, record.image_size, seed=MADE_UP_SEED)
    )

    results: dict[str, Any] = {"model_id": record.id, "seed": HELD_OUT_SEED, "images": images}
    rows: list[Row] = []
    accuracy: dict[str, float] = {}
    for trait in schema.traits:
        pairs = [
            (predicted_value(result, trait.name), sample.truth[trait.name])
            for sample, result in zip(samples, held_out, strict=True)
            if trait.name in sample.truth
        ]
        if not pairs:
            continue
        accuracy[trait.name] = round(sum(p == t for p, t in pairs) / len(pairs), 3)
        validation = (record.metrics.get(trait.name) or {}).get("val_accuracy")
        shown = f"{accuracy[trait.name]:.1%}" + (
            f" (validation {validation:.1%})" if validation is not None else ""
        )
        rows.append((f"  held-out accuracy {trait.name}, seed {HELD_OUT_SEED}", shown, ">= 93%"))
    results["held_out_accuracy"] = accuracy

    method = (record.ood or {}).get("method")
    validation_auroc = ((record.ood or {}).get("measured") or {}).get(method, {}).get("auroc")
    scores_familiar = [r.unfamiliarity for r in held_out if r.unfamiliarity is not None]
    scores_strange = [r.unfamiliarity for r in strange if r.unfamiliarity is not None]
    measured_auroc = auroc(scores_familiar, scores_strange) if scores_strange else math.nan
    confident = sum(is_confident_answer(schema, r) for r in strange) / max(len(strange), 1)
    false_alarms = sum(r.is_unfamiliar for r in held_out) / max(len(held_out), 1)
    results["ood"] = {
        "method": method,
        "validation_auroc": validation_auroc,
        "auroc": None if math.isnan(measured_auroc) else round(measured_auroc, 3),
        "made_up_answered_confidently": round(confident, 3),
        "held_out_called_unfamiliar": round(false_alarms, 3),
    }
    auroc_text = "no score" if math.isnan(measured_auroc) else f"{measured_auroc:.3f}"
    if validation_auroc is not None:
        auroc_text += f" (validation {validation_auroc:.3f})"
    rows += [
        (f"unfamiliar-photo score AUROC ({method or 'none'})", auroc_text, ""),
        ("  made-up images answered with a confident coat", f"{confident:.1%}", "as low as can be"),
        ("  held-out demo images called unfamiliar", f"{false_alarms:.1%}", "<= 5%"),
    ]
    return rows, results


def bench_rows(settings: Settings) -> tuple[list[Row], dict[str, Any]]:
    """The held-out section of `python -m jobs.bench` (after the training section)."""
    return measure_held_out(settings)
