"""Training labels as arrays: checks, a stratified split, targets and masked class weights."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from core.errors import UserError
from core.labels import LabelSchema, Trait

MIN_IMAGES = 10
MAX_CLASS_WEIGHT = 10.0  # a class with one image must not swamp the loss
STRATUM_TRAITS = ("is_cat", "colour", "pattern", "breed")

Labels = Sequence[Mapping[str, Any]]


def fill_open_values(schema: LabelSchema, labels: Labels) -> LabelSchema:
    """The schema with each open trait's values set to those found in the labels."""
    for trait in schema.traits:
        if trait.is_open:
            found = {str(label[trait.name]) for label in labels if trait.name in label}
            schema = schema.with_values(trait.name, found)
    return schema


def value_name(trait: Trait, value: Any) -> str:
    """How a value is shown: the category, or "yes"/"no" for a yes/no trait."""
    if trait.is_boolean:
        return "yes" if value else "no"
    return str(value)


def class_names(trait: Trait) -> list[str]:
    """The classes of a trait in output order; ["no", "yes"] for a yes/no trait."""
    return list(trait.values) if trait.is_categorical else ["no", "yes"]


def value_counts(schema: LabelSchema, trait: Trait, labels: Labels) -> Counter[str]:
    """How many images have each value of the trait, among those it applies to."""
    return Counter(
        value_name(trait, label[trait.name])
        for label in labels
        if trait.name in label and schema.applies(trait, label)
    )


def check_training_set(schema: LabelSchema, labels: Labels) -> list[str]:
    """Raise UserError when the set cannot train a model; return warning sentences otherwise."""
    labelled = [label for label in labels if label]
    schema = fill_open_values(schema, labelled)
    if len(labelled) < MIN_IMAGES:
        raise UserError(
            f"Only {len(labelled)} labelled images were given; label at least {MIN_IMAGES} "
            "images before training."
        )
    warnings = []
    for trait in schema.traits:
        counts = value_counts(schema, trait, labelled)
        names = class_names(trait)
        unknown = sorted(set(counts) - set(names))
        if unknown:
            raise UserError(
                f"{trait.title} value {unknown[0]!r} is not one of {', '.join(names)}; "
                "relabel those images."
            )
        if not counts:
            raise UserError(
                f"No image has {trait.title.lower()} set; label some images with it first."
            )
        if len(counts) == 1:
            (value, count), *_ = counts.items()
            raise UserError(
                f"Every image that has {trait.title.lower()} set says {value!r} ({count} images); "
                f"add images with another {trait.title.lower()} so the model can tell them apart."
            )
        missing = [name for name in names if name not in counts]
        if missing:
            warnings.append(
                f"{trait.title} has no image of {', '.join(missing)}, "
                "so the model will not learn to predict them."
            )
        (common, most), (rare, fewest) = counts.most_common()[0], counts.most_common()[-1]
        if fewest * 10 < most:
            warnings.append(
                f"{trait.title} is imbalanced: {rare} has {fewest} images against {most} of "
                f"{common}; class weights compensate, but more images of {rare} would help."
            )
    strata = Counter(stratum_key(label) for label in labelled)
    candidates = sum(1 for count in strata.values() if count >= 2)
    if candidates < 2:
        raise UserError(
            f"Only {candidates} kinds of label occur on two or more images; the validation split "
            "needs at least 2, so label more images of the same kinds."
        )
    return warnings


def stratum_key(label: Mapping[str, Any]) -> tuple:
    """What the split stratifies by: (is_cat, colour, pattern), or the breed."""
    return tuple(str(label.get(name)) for name in STRATUM_TRAITS)


def stratified_split(
    labels: Labels, validation_share: float, seed: int
) -> tuple[list[int], list[int]]:
    """Training and validation indices; every stratum with 2+ images has 1+ in validation."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    for index, label in enumerate(labels):
        groups[stratum_key(label)].append(index)
    rng = np.random.default_rng(seed)
    train, validation = [], []
    for key in sorted(groups):
        members = list(groups[key])
        rng.shuffle(members)
        count = 0
        if len(members) >= 2:
            count = min(len(members) - 1, max(1, round(len(members) * validation_share)))
        validation.extend(members[:count])
        train.extend(members[count:])
    return sorted(train), sorted(validation)


def raw_targets(
    schema: LabelSchema, labels: Labels
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per trait, class indices (0 where unset) and whether each image counts for the trait."""
    targets, applicable = {}, {}
    for trait in schema.traits:
        names = class_names(trait)
        y = np.zeros(len(labels), dtype=np.int64)
        mask = np.zeros(len(labels), dtype=bool)
        for row, label in enumerate(labels):
            if trait.name in label and schema.applies(trait, label):
                y[row] = names.index(value_name(trait, label[trait.name]))
                mask[row] = True
        targets[trait.name], applicable[trait.name] = y, mask
    return targets, applicable


def class_weights(
    schema: LabelSchema, targets: dict[str, np.ndarray], applicable: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Balanced weights per class of each trait, counted on the images the trait applies to."""
    weights = {}
    for trait in schema.traits:
        y = targets[trait.name][applicable[trait.name]]
        counts = np.bincount(y, minlength=len(class_names(trait))).astype(np.float64)
        present = counts > 0
        balanced = np.ones_like(counts)
        if present.any():
            balanced[present] = len(y) / (present.sum() * counts[present])
        weights[trait.name] = np.clip(balanced, 1 / MAX_CLASS_WEIGHT, MAX_CLASS_WEIGHT)
    return weights


def encode_targets(
    schema: LabelSchema, labels: Labels, *, weights: dict[str, np.ndarray] | None = None
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Keras targets and sample weights per trait: 0 where a trait does not apply or is unset.

    Categorical targets are class indices, yes/no targets 0/1 floats of shape N x 1. The sample
    weight elsewhere is the class weight, from ``weights`` (the training split's) or these labels.
    """
    targets, applicable = raw_targets(schema, labels)
    weights = weights or class_weights(schema, targets, applicable)
    y, sample_weights = {}, {}
    for trait in schema.traits:
        indices = targets[trait.name]
        y[trait.name] = (
            indices if trait.is_categorical else indices.astype(np.float32).reshape(-1, 1)
        )
        per_class = weights[trait.name][indices]
        sample_weights[trait.name] = np.where(applicable[trait.name], per_class, 0.0).astype(
            np.float32
        )
    return y, sample_weights
