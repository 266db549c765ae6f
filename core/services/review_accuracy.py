"""Accuracy in the wild: how often admin-reviewed predictions were right, per model and trait."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping

import pandas as pd

from core.db.models import ModelRecord
from core.db.reviews import ReviewFacts
from core.labels import LabelSchema

WHOLE_LABEL = "Whole label"


def accuracy_in_the_wild(
    facts: Iterable[ReviewFacts],
    schema: LabelSchema,
    models: Mapping[str, ModelRecord],
    *,
    model_name: Callable[[ModelRecord], str] | None = None,
) -> pd.DataFrame:
    """Per model and trait, how often admin-reviewed predictions were right.

    A trait counts where both the prediction and the admin's label set it; "Whole label" counts
    every reviewed prediction (accepted is right; corrected and rejected are wrong). Columns:
    model_id, model, trait, reviewed, correct, accuracy, validation_accuracy.
    """
    name_of = model_name or (lambda record: record.id)
    totals: Counter[tuple[str, str]] = Counter()
    correct: Counter[tuple[str, str]] = Counter()
    for fact in facts:
        if not fact.is_reviewed:
            continue
        review = fact.review or ("accepted" if fact.admin_feedback else "rejected")
        totals[(fact.model_id, WHOLE_LABEL)] += 1
        correct[(fact.model_id, WHOLE_LABEL)] += review == "accepted"
        truth = fact.admin_label or (fact.label if review == "accepted" else None)
        if not truth:
            continue
        for trait in schema.traits:
            if trait.name in truth and trait.name in fact.label:
                totals[(fact.model_id, trait.title)] += 1
                correct[(fact.model_id, trait.title)] += truth[trait.name] == fact.label[trait.name]
    order = [WHOLE_LABEL, *(t.title for t in schema.traits)]
    names = {t.title: t.name for t in schema.traits}
    rows = []
    for (model_id, trait), reviewed in totals.items():
        record = models.get(model_id)
        validation = None
        if record is not None and trait in names:
            validation = (record.metrics.get(names[trait]) or {}).get("val_accuracy")
        rows.append(
            {
                "model_id": model_id,
                "model": name_of(record) if record else f"deleted model {model_id}",
                "trait": trait,
                "reviewed": reviewed,
                "correct": correct[(model_id, trait)],
                "accuracy": correct[(model_id, trait)] / reviewed,
                "validation_accuracy": validation,
            }
        )
    columns = [
        "model_id",
        "model",
        "trait",
        "reviewed",
        "correct",
        "accuracy",
        "validation_accuracy",
    ]
    frame = pd.DataFrame(rows, columns=columns).astype({"validation_accuracy": "float64"})
    if frame.empty:
        return frame
    frame["order"] = frame["trait"].map({t: i for i, t in enumerate(order)})
    return frame.sort_values(["model", "order"]).drop(columns="order").reset_index(drop=True)
