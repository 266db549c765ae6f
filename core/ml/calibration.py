"""Temperature scaling per head, fitted on the validation split, and its calibration error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from core.labels import LabelSchema
from core.ml.evaluation import class_probabilities

NUM_BINS = 10
TEMPERATURE_RANGE = (0.05, 20.0)
_EPSILON = 1e-7


def apply_temperature(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """N x classes probabilities softened (T > 1) or sharpened (T < 1) as logits / T would be.

    Softmax outputs are logits up to a constant per row, so log-probabilities / T give exactly
    the temperature-scaled softmax; a yes/no head's [no, yes] columns give sigmoid(logit / T).
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if temperature == 1.0:
        return probabilities
    scaled = np.log(np.clip(probabilities, _EPSILON, 1.0)) / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=1, keepdims=True)


def negative_log_likelihood(probabilities: np.ndarray, y: np.ndarray) -> float:
    """Mean cross-entropy of the true classes."""
    picked = probabilities[np.arange(len(y)), y]
    return float(-np.mean(np.log(np.clip(picked, _EPSILON, 1.0))))


def fit_temperature(probabilities: np.ndarray, y: np.ndarray) -> float:
    """The temperature that minimises the validation cross-entropy (1.0 when there is no data)."""
    if len(y) == 0:
        return 1.0
    low, high = np.log(TEMPERATURE_RANGE[0]), np.log(TEMPERATURE_RANGE[1])
    grid = np.linspace(low, high, 81)  # a coarse log grid, then a finer one around the best
    for _ in range(3):
        losses = [
            negative_log_likelihood(apply_temperature(probabilities, np.exp(t)), y) for t in grid
        ]
        best = int(np.argmin(losses))
        step = grid[1] - grid[0]
        grid = np.linspace(grid[best] - step, grid[best] + step, 21)
    return float(np.exp(grid[10]))


def reliability_bins(
    probabilities: np.ndarray, y: np.ndarray, *, num_bins: int = NUM_BINS
) -> list[dict[str, float]]:
    """Per non-empty confidence bin: its range, mean confidence, accuracy and image count."""
    if len(y) == 0:
        return []
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, num_bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, num_bins - 1)
    bins = []
    for index in range(num_bins):
        members = which == index
        if members.any():
            bins.append(
                {
                    "low": float(edges[index]),
                    "high": float(edges[index + 1]),
                    "confidence": float(confidence[members].mean()),
                    "accuracy": float(correct[members].mean()),
                    "count": int(members.sum()),
                }
            )
    return bins


def expected_calibration_error(
    probabilities: np.ndarray, y: np.ndarray, *, num_bins: int = NUM_BINS
) -> float | None:
    """The count-weighted mean gap between confidence and accuracy over the bins (None if empty)."""
    bins = reliability_bins(probabilities, y, num_bins=num_bins)
    if not bins:
        return None
    total = sum(item["count"] for item in bins)
    return float(
        sum(item["count"] * abs(item["accuracy"] - item["confidence"]) for item in bins) / total
    )


def calibrate(
    schema: LabelSchema,
    outputs: Mapping[str, np.ndarray],
    targets: tuple[dict[str, np.ndarray], dict[str, np.ndarray]],
) -> dict[str, dict[str, Any]]:
    """Per trait: the fitted temperature, the ECE before and after, and both reliability curves.

    ``outputs`` are the model's validation outputs, ``targets`` the ``raw_targets`` of the
    validation labels. The result is stored with the model (plain JSON types).
    """
    calibration = {}
    for trait in schema.traits:
        mask = targets[1][trait.name]
        probabilities = class_probabilities(trait, outputs[trait.name])[mask]
        y = targets[0][trait.name][mask]
        temperature = fit_temperature(probabilities, y)
        scaled = apply_temperature(probabilities, temperature)
        calibration[trait.name] = {
            "temperature": temperature,
            "ece_before": expected_calibration_error(probabilities, y),
            "ece_after": expected_calibration_error(scaled, y),
            "nll_before": negative_log_likelihood(probabilities, y) if len(y) else None,
            "nll_after": negative_log_likelihood(scaled, y) if len(y) else None,
            "reliability_before": reliability_bins(probabilities, y),
            "reliability_after": reliability_bins(scaled, y),
        }
    return calibration


def temperatures(calibration: Mapping[str, Mapping[str, Any]] | None) -> dict[str, float]:
    """The temperature per trait from a stored calibration (empty for an older model)."""
    return {
        name: float(values["temperature"])
        for name, values in (calibration or {}).items()
        if values.get("temperature")
    }


def calibration_errors(
    calibration: Mapping[str, Mapping[str, Any]] | None,
) -> dict[str, tuple[float, float]]:
    """The expected calibration error before and after, per trait that had validation images."""
    return {
        name: (float(values["ece_before"]), float(values["ece_after"]))
        for name, values in (calibration or {}).items()
        if values.get("ece_before") is not None and values.get("ece_after") is not None
    }


def calibrate_outputs(
    schema: LabelSchema,
    outputs: Mapping[str, np.ndarray],
    temperature_by_trait: Mapping[str, float],
) -> dict[str, np.ndarray]:
    """Class probabilities per trait (N x classes) with each head's temperature applied."""
    return {
        trait.name: apply_temperature(
            class_probabilities(trait, outputs[trait.name]),
            float(temperature_by_trait.get(trait.name, 1.0)),
        )
        for trait in schema.traits
    }
