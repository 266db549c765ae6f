"""Metrics after training, computed in numpy: accuracy, loss, confusion and unsure thresholds."""

from __future__ import annotations

from typing import Any

import numpy as np

from core.labels import LabelSchema, Trait
from core.ml.targets import class_names

TARGET_ACCURACY = 0.95
THRESHOLD_GRID = tuple(round(0.5 + 0.05 * step, 2) for step in range(10))  # 0.5 .. 0.95
DEFAULT_THRESHOLD = 0.5


def class_probabilities(trait: Trait, output: np.ndarray) -> np.ndarray:
    """N x classes probabilities; a yes/no output becomes the columns [no, yes]."""
    output = np.asarray(output, dtype=np.float64)
    if trait.is_categorical:
        return output
    yes = output.reshape(-1)
    return np.stack([1.0 - yes, yes], axis=1)


def accuracy_and_loss(
    probabilities: np.ndarray, y: np.ndarray, mask: np.ndarray
) -> tuple[float | None, float | None]:
    """Accuracy and mean cross-entropy over the images the trait applies to (None if none)."""
    if not mask.any():
        return None, None
    p, truth = probabilities[mask], y[mask]
    accuracy = float(np.mean(p.argmax(axis=1) == truth))
    picked = np.clip(p[np.arange(len(truth)), truth], 1e-7, 1.0)
    return accuracy, float(-np.mean(np.log(picked)))


def confusion(
    trait: Trait, probabilities: np.ndarray, y: np.ndarray, mask: np.ndarray, indices: list[int]
) -> dict[str, Any]:
    """Rows are the true class, columns the predicted one; samples list [image, true, predicted]."""
    names = class_names(trait)
    matrix = np.zeros((len(names), len(names)), dtype=np.int64)
    samples = []
    predicted = probabilities.argmax(axis=1)
    for row in np.flatnonzero(mask):
        matrix[y[row], predicted[row]] += 1
        samples.append([int(indices[row]), int(y[row]), int(predicted[row])])
    return {"labels": names, "matrix": matrix.tolist(), "samples": samples}


def unsure_threshold(
    trait: Trait, probabilities: np.ndarray, y: np.ndarray, mask: np.ndarray
) -> float:
    """The smallest top probability above which validation accuracy reaches the target."""
    if not mask.any():
        return DEFAULT_THRESHOLD
    p, truth = probabilities[mask], y[mask]
    top = p.max(axis=1)
    correct = p.argmax(axis=1) == truth
    if correct.mean() >= TARGET_ACCURACY:
        floor = 0.5 if trait.is_boolean else 1.0 / len(trait.values)
        return floor
    for threshold in THRESHOLD_GRID:
        confident = top >= threshold
        if not confident.any() or correct[confident].mean() >= TARGET_ACCURACY:
            return threshold
    return THRESHOLD_GRID[-1]


def summarize(
    schema: LabelSchema,
    train_outputs: dict[str, np.ndarray],
    train_targets: tuple[dict[str, np.ndarray], dict[str, np.ndarray]],
    validation_outputs: dict[str, np.ndarray],
    validation_targets: tuple[dict[str, np.ndarray], dict[str, np.ndarray]],
    validation_indices: list[int],
) -> tuple[dict[str, dict[str, float | None]], dict[str, dict[str, Any]], dict[str, float]]:
    """Per-trait metrics, validation confusion matrices and unsure thresholds.

    Targets are ``raw_targets`` output: class indices and applicability masks per trait.
    """
    metrics, confusions, thresholds = {}, {}, {}
    for trait in schema.traits:
        name = trait.name
        train_p = class_probabilities(trait, train_outputs[name])
        val_p = class_probabilities(trait, validation_outputs[name])
        train_y, train_mask = train_targets[0][name], train_targets[1][name]
        val_y, val_mask = validation_targets[0][name], validation_targets[1][name]
        train_accuracy, train_loss = accuracy_and_loss(train_p, train_y, train_mask)
        val_accuracy, val_loss = accuracy_and_loss(val_p, val_y, val_mask)
        metrics[name] = {
            "train_accuracy": train_accuracy,
            "val_accuracy": val_accuracy,
            "train_loss": train_loss,
            "val_loss": val_loss,
        }
        confusions[name] = confusion(trait, val_p, val_y, val_mask, validation_indices)
        thresholds[name] = float(unsure_threshold(trait, val_p, val_y, val_mask))
    return metrics, confusions, thresholds
