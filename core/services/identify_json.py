"""The identify API's JSON answers: one shape for every schema, built from a prediction."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from core import genetics
from core.clock import as_datetime
from core.db.models import ModelRecord
from core.labels import LabelSchema, Trait
from core.services.predictions import unfamiliar_json

if TYPE_CHECKING:  # Keras loads with the first model: a server without one starts fast
    from core.ml.prediction import PredictionResult, TraitPrediction


def _json_value(trait: Trait, value: str | bool) -> str | bool:
    """A yes/no trait's "yes"/"no" class name as a JSON boolean; other values unchanged."""
    if trait.is_boolean and isinstance(value, str):
        return value == "yes"
    return value


def trait_json(trait: Trait, prediction: TraitPrediction) -> dict[str, Any]:
    """One trait of a result: value, probability, unsure, alternatives and all probabilities."""
    return {
        "title": trait.title,
        "value": prediction.value,
        "probability": round(prediction.probability, 4),
        "unsure": prediction.is_unsure,
        "alternatives": [
            {"value": _json_value(trait, value), "probability": round(p, 4)}
            for value, p in prediction.alternatives
        ],
        "probabilities": {k: round(p, 4) for k, p in prediction.probabilities.items()},
    }


def ranked_predictions(trait: Trait, prediction: TraitPrediction) -> list[dict[str, Any]]:
    """Every value as {trait: value, "probability": p}, most likely first."""
    ranked = sorted(prediction.probabilities.items(), key=lambda item: item[1], reverse=True)
    return [
        {trait.name: _json_value(trait, value), "probability": round(p, 4)} for value, p in ranked
    ]


def breeder_words(schema: LabelSchema, result: PredictionResult) -> dict[str, Any]:
    """The usual name, genotype line and genetics flags, as the breeder app shows them."""
    if schema.gate is None:  # dog breeds: the breed is the name; there is no genotype
        return {"name": schema.describe(result.label), "genotype": None, "flags": []}
    line = genetics.genotype(result.label, result.unsure)
    return {
        "name": genetics.usual_name(result.label),
        "genotype": line.line if line else None,
        "flags": [{"kind": f.kind, "message": f.message} for f in genetics.flags(result.label)],
    }


def identify_response(
    record: ModelRecord,
    result: PredictionResult,
    *,
    prediction_id: str | None,
    feedback_secret: str | None = None,
) -> dict[str, Any]:
    """The JSON answer to POST /identify, the same shape for every schema.

    feedback_secret goes with a stored prediction: only its holder may send feedback on it.
    """
    schema = record.schema
    answer: dict[str, Any] = {
        "success": True,
        "prediction_id": prediction_id,
        "feedback_secret": feedback_secret,
        "model_id": record.id,
        "schema": schema.name,
    }
    if schema.gate is not None:
        answer["is_cat"] = result.passes_gate
    answer.update(unfamiliar_json(result, schema))
    if result.is_unfamiliar:  # no confident label: the sentence instead of a name and genotype
        answer.update(name=None, genotype=None, flags=[])
    else:
        answer.update(breeder_words(schema, result))
    answer["label"] = dict(result.label)
    answer["unsure"] = list(result.unsure)
    answer["traits"] = {
        name: trait_json(schema.trait(name), prediction)
        for name, prediction in result.traits.items()
    }
    for name in result.unsure:  # an unfamiliar photo: every trait is unsure
        answer["traits"][name]["unsure"] = True
    if len(schema.traits) == 1:
        trait = schema.traits[0]
        answer["predictions"] = ranked_predictions(trait, result.traits[trait.name])
    return answer


def _iso(value: datetime | str | None) -> str | None:
    moment = as_datetime(value)
    return moment.isoformat() if moment else None


def model_json(record: ModelRecord) -> dict[str, Any]:
    """The active model for GET /model: schema, backbone, sizes, dates, metrics, thresholds."""
    return {
        "id": record.id,
        "schema": record.schema.to_document(),
        "backbone": record.backbone,
        "image_size": record.image_size,
        "resize_mode": record.resize_mode,
        "training_set_size": record.training_set_size,
        "training_started": _iso(record.training_started),
        "training_ended": _iso(record.training_ended),
        "created_at": _iso(record.created_at),
        "hyper_parameters": record.hyper_parameters,
        "metrics": record.metrics,
        "mean_val_accuracy": round(record.mean_val_accuracy, 4),
        "thresholds": record.thresholds,
    }
