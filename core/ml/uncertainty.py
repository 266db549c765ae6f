"""How unsure a prediction is, to label the images that teach the model most first."""

from __future__ import annotations

from collections.abc import Sequence

from core.ml.prediction import PredictionResult


def uncertainty(result: PredictionResult) -> float:
    """One minus the least sure trait's (calibrated) probability; unfamiliar photos count as 1."""
    if result.is_unfamiliar:
        return 1.0
    if not result.traits:
        return 1.0
    return 1.0 - min(prediction.probability for prediction in result.traits.values())


def rank_by_uncertainty(
    ids: Sequence[str], results: Sequence[PredictionResult]
) -> list[tuple[str, float]]:
    """(id, uncertainty) pairs, least confident first; ties keep the given order."""
    if len(ids) != len(results):
        raise ValueError(f"{len(ids)} ids for {len(results)} predictions; give one id each.")
    scored = [
        (image_id, uncertainty(result)) for image_id, result in zip(ids, results, strict=True)
    ]
    return sorted(scored, key=lambda item: -item[1])
