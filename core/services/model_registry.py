"""What the Models page shows and does: summaries, comparisons, confusion cells, activation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from core.db.models import ModelRecord, ModelRepository
from core.errors import UserError


def model_name(record: ModelRecord) -> str:
    """A model as a list shows it: "29 Nov 2026 13:50 · small_cnn · 48 images · #a4d4c6
    (active)" (the end of its id tells apart models trained in the same minute)."""
    when = record.training_ended or record.created_at
    text = (
        f"{when:%d %b %Y %H:%M} · {record.backbone} · {record.training_set_size:,} images "
        f"· #{record.id[-6:]}"
    )
    return text + (" (active)" if record.is_active else "")


def model_label(records: Mapping[str, ModelRecord], model_id: str) -> str:
    """The model's name (see model_name), or "deleted model ID" when it is gone."""
    record = records.get(model_id)
    return model_name(record) if record else f"deleted model {model_id}"


def _accuracy(record: ModelRecord, trait: str, key: str = "val_accuracy") -> float | None:
    value = (record.metrics.get(trait) or {}).get(key)
    return None if value is None else float(value)


def models_table(records: Sequence[ModelRecord]) -> pd.DataFrame:
    """One row per model: when, backbone, training-set size, validation accuracy per trait."""
    rows = []
    for record in records:
        row = {
            "Active": record.is_active,
            "Trained": record.training_ended or record.created_at,
            "Backbone": record.backbone,
            "Training images": record.training_set_size,
            "Image size": record.image_size,
            "Mean validation accuracy": record.mean_val_accuracy,
        }
        for trait in record.schema.traits:
            row[trait.title] = _accuracy(record, trait.name)
        row["Id"] = record.id
        rows.append(row)
    return pd.DataFrame(rows)


def trait_metrics(record: ModelRecord) -> pd.DataFrame:
    """Per trait: accuracy and loss on the training and validation images, unsure threshold."""
    rows = []
    for trait in record.schema.traits:
        metrics = record.metrics.get(trait.name) or {}
        rows.append(
            {
                "Trait": trait.title,
                "Validation accuracy": metrics.get("val_accuracy"),
                "Validation loss": metrics.get("val_loss"),
                "Training accuracy": metrics.get("train_accuracy"),
                "Training loss": metrics.get("train_loss"),
                "Validation images": _validation_count(record, trait.name),
                "Unsure below": record.thresholds.get(trait.name),
            }
        )
    return pd.DataFrame(rows)


def _validation_count(record: ModelRecord, trait: str) -> int:
    matrix = (record.confusion.get(trait) or {}).get("matrix") or []
    return int(sum(sum(row) for row in matrix))


def comparison(first: ModelRecord, second: ModelRecord) -> pd.DataFrame:
    """Two models side by side per trait: validation accuracy and loss, and which is better
    (the difference B − A in percentage points)."""
    if first.id == second.id:
        raise UserError("Both sides show the same model; pick two different models to compare.")
    titles = {t.name: t.title for t in (*first.schema.traits, *second.schema.traits)}
    rows = []
    for name, title in titles.items():
        a, b = _accuracy(first, name), _accuracy(second, name)
        loss_a = _accuracy(first, name, "val_loss")
        loss_b = _accuracy(second, name, "val_loss")
        if a is None or b is None or a == b:
            better = "–" if a is None or b is None else "same"
        else:
            better = "A" if a > b else "B"
        rows.append(
            {
                "Trait": title,
                "Accuracy A": a,
                "Accuracy B": b,
                "Difference (points)": None if a is None or b is None else (b - a) * 100,
                "Loss A": loss_a,
                "Loss B": loss_b,
                "Better": better,
            }
        )
    return pd.DataFrame(rows)


def comparison_long(first: ModelRecord, second: ModelRecord) -> pd.DataFrame:
    """The comparison as chart data: trait, model ("A: …"/"B: …"), validation accuracy."""
    rows = []
    for side, record in (("A", first), ("B", second)):
        for trait in record.schema.traits:
            value = _accuracy(record, trait.name)
            if value is not None:
                name = f"{side}: {model_name(record)}"
                rows.append({"trait": trait.title, "model": name, "accuracy": value})
    return pd.DataFrame(rows, columns=["trait", "model", "accuracy"])


# --- confusion matrices -----------------------------------------------------------------------


def confusion_frame(record: ModelRecord, trait: str) -> pd.DataFrame:
    """Every cell of a trait's validation confusion matrix: true, predicted, images, row share."""
    confusion = record.confusion.get(trait)
    if not confusion:
        raise UserError(
            f"Model {record.id} has no confusion matrix for {trait!r}; it was trained without it."
        )
    labels, matrix = confusion["labels"], confusion["matrix"]
    rows = []
    for true_index, true_value in enumerate(labels):
        row_total = sum(matrix[true_index])
        for predicted_index, predicted_value in enumerate(labels):
            count = int(matrix[true_index][predicted_index])
            rows.append(
                {
                    "true": true_value,
                    "predicted": predicted_value,
                    "images": count,
                    "share": count / row_total if row_total else 0.0,
                    "is_correct": true_index == predicted_index,
                }
            )
    return pd.DataFrame(rows)


def confusion_cells(record: ModelRecord, trait: str) -> list[tuple[str, str, int]]:
    """The non-empty cells (true, predicted, images), mistakes first, most images first."""
    frame = confusion_frame(record, trait)
    frame = frame[frame["images"] > 0].sort_values(
        ["is_correct", "images"], ascending=[True, False], kind="stable"
    )
    return [(r.true, r.predicted, int(r.images)) for r in frame.itertuples()]


def _positions(record: ModelRecord) -> dict[int, int]:
    """Sample index -> position in `validation_image_ids`.

    The job records a sample by its index in the whole training list; the validation ids are
    stored in that list's order, so the sorted indices seen across traits (every validation image
    has at least one trait) line up with them. Positions stored directly also map to themselves.
    """
    seen = sorted(
        {
            int(sample[0])
            for confusion in record.confusion.values()
            for sample in confusion.get("samples") or []
        }
    )
    if len(seen) == len(record.validation_image_ids):
        return {index: position for position, index in enumerate(seen)}
    return {i: i for i in seen if 0 <= i < len(record.validation_image_ids)}


def cell_image_ids(record: ModelRecord, trait: str, true_value: str, predicted: str) -> list[str]:
    """The ids of the validation images behind one confusion-matrix cell."""
    confusion = record.confusion.get(trait)
    if not confusion:
        raise UserError(
            f"Model {record.id} has no confusion matrix for {trait!r}; it was trained without it."
        )
    labels = list(confusion["labels"])
    for value in (true_value, predicted):
        if value not in labels:
            raise UserError(
                f"{value!r} is not a value of {trait!r} in this model; use one of: "
                f"{', '.join(labels)}."
            )
    true_index, predicted_index = labels.index(true_value), labels.index(predicted)
    positions = _positions(record)
    ids = []
    for index, true, guess in confusion.get("samples") or []:
        if int(true) == true_index and int(guess) == predicted_index and index in positions:
            ids.append(record.validation_image_ids[positions[index]])
    return ids


# --- actions ----------------------------------------------------------------------------------


def activate_model(models: ModelRepository, model_id: str) -> str:
    """Make this model the active one (also a rollback); return the sentence to show."""
    record = models.get(model_id)
    if record.is_active:
        return f"Model {model_name(record)} is already the active model."
    models.activate(model_id)
    return (
        f"Model {model_name(record)} is now active; the breeder app and the API use it for the "
        "next photo."
    )


def delete_model(models: ModelRepository, model_id: str) -> str:
    """Delete a model that is not active (refused for the active one); return the sentence."""
    name = model_name(models.get(model_id))
    models.delete(model_id)
    return f"Deleted model {name} and its file."


@dataclass(frozen=True)
class ModelFile:
    filename: str
    data: bytes


def model_file_name(record: ModelRecord) -> str:
    """The download name: cat_phenotype-small_cnn-20261129-1350.keras."""
    when = record.training_ended or record.created_at
    return f"{record.schema.name}-{record.backbone}-{when:%Y%m%d-%H%M}.keras"


def model_download(models: ModelRepository, model_id: str) -> ModelFile:
    """The model's `.keras` file, as stored."""
    record = models.get(model_id)
    return ModelFile(model_file_name(record), models.model_file(record))
