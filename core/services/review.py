"""Reviewing public predictions: pages of them, bulk reviews and promotion to the training set."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from pymongo.database import Database

from core.db.predictions import Prediction, PredictionRepository
from core.db.reviews import ORDERS, ReviewFacts, ReviewFilter, ReviewRepository
from core.db.training_images import TrainingImageRepository
from core.errors import UserError, unknown_choice
from core.images import DEFAULT_MAX_BYTES
from core.labels import LabelSchema, Trait
from core.ml.targets import value_name
from core.services.imports import NearDuplicateIndex, import_image
from core.services.review_filter import ORDER_CHOICES, PAGE_SIZES
from core.text import plural

PROMOTED_SOURCE = "prediction_review"
NO_PHOTO_REASON = (
    "stored without a photo (its owner did not agree to keep it), so it cannot join the "
    "training set"
)
Progress = Callable[[int, int], None]


def skip_notes(skipped: Sequence[tuple[str, str]]) -> list[str]:
    """One sentence per reason why predictions were left alone, with how many."""
    reasons = Counter(reason for _, reason in skipped)
    return [
        f"{plural(count, 'prediction')} left as {'it was' if count == 1 else 'they were'}: "
        f"{reason}."
        for reason, count in reasons.items()
    ]


@dataclass(frozen=True)
class ReviewPage:
    predictions: list[Prediction]
    matching: int
    page: int
    page_count: int


@dataclass(frozen=True)
class ReviewStats:
    """What awaits review and what came of the reviews."""

    total: int = 0
    awaiting: int = 0
    awaiting_user_rejected: int = 0
    awaiting_user_accepted: int = 0
    awaiting_no_feedback: int = 0
    awaiting_without_photo: int = 0
    reviewed: int = 0
    accepted: int = 0
    corrected: int = 0
    rejected: int = 0
    ready_to_promote: int = 0
    promoted: int = 0


@dataclass
class ReviewOutcome:
    """What a bulk review did."""

    verb: str
    changed: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (prediction id, reason)

    def summary(self) -> str:
        text = f"{self.verb} {plural(self.changed, 'prediction')}"
        if self.skipped:
            reasons = Counter(reason for _, reason in self.skipped)
            text += "; skipped " + ", ".join(
                f"{count} {reason}" for reason, count in reasons.items()
            )
        return text + "."


@dataclass
class PromoteReport:
    """What a promotion did, prediction by prediction."""

    added: list[tuple[str, str]] = field(default_factory=list)  # (prediction id, image id)
    already: list[tuple[str, str]] = field(default_factory=list)  # in the training set before
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (prediction id, reason)

    def summary(self) -> str:
        parts = [f"Added {plural(len(self.added), 'image')} to the training set"]
        if self.already:
            parts.append(f"{len(self.already)} already there (not added again)")
        if self.skipped:
            parts.append(f"{len(self.skipped)} not promoted")
        return ", ".join(parts) + "."


class PredictionReview:
    """The Review predictions page's work over one database and label schema."""

    def __init__(self, database: Database, schema: LabelSchema) -> None:
        self.schema = schema
        self.predictions = PredictionRepository(database)
        self.reviews = ReviewRepository(database)
        self.images = TrainingImageRepository(database)

    # --- reading ------------------------------------------------------------------------------

    def page(
        self,
        review_filter: ReviewFilter,
        *,
        order: str = ORDER_CHOICES[0],
        page: int = 1,
        page_size: int = 48,
    ) -> ReviewPage:
        """One page of matching predictions (least confident first by default)."""
        if order not in ORDERS:
            raise unknown_choice(f"Order {order!r}", ORDERS)
        if page_size not in PAGE_SIZES:
            raise UserError(
                f"Page size {page_size!r} is not offered; use one of: "
                f"{', '.join(map(str, PAGE_SIZES))}."
            )
        matching = self.reviews.count(review_filter)
        page_count = max(1, math.ceil(matching / page_size))
        page = min(max(1, int(page)), page_count)
        found = self.reviews.find(
            review_filter, order=order, skip=(page - 1) * page_size, limit=page_size
        )
        return ReviewPage(found, matching, page, page_count)

    def matching_ids(self, review_filter: ReviewFilter) -> list[str]:
        return self.reviews.ids(review_filter)

    def stats(self, facts: Iterable[ReviewFacts] | None = None) -> ReviewStats:
        """Counts of what awaits review and of the reviews done (one scan)."""
        counts: Counter[str] = Counter()
        for fact in self.reviews.facts() if facts is None else facts:
            counts["total"] += 1
            if not fact.is_reviewed:
                counts["awaiting"] += 1
                counts[
                    {True: "awaiting_user_accepted", False: "awaiting_user_rejected"}.get(
                        fact.user_feedback, "awaiting_no_feedback"
                    )
                ] += 1
                counts["awaiting_without_photo"] += not fact.has_image
                continue
            counts["reviewed"] += 1
            review = fact.review or ("accepted" if fact.admin_feedback else "rejected")
            counts[review] += 1
            if fact.is_promoted:
                counts["promoted"] += 1
            elif fact.admin_label and fact.has_image:
                counts["ready_to_promote"] += 1
        return ReviewStats(**counts)

    def starting_label(self, prediction: Prediction) -> dict[str, Any]:
        """The label a review starts from: the admin's, else the prediction with the owner's
        correction on top."""
        if prediction.admin_label:
            return dict(prediction.admin_label)
        try:
            return self.schema.merge(prediction.label, prediction.user_correction or {})
        except UserError:  # a label from an older schema: start from what still fits
            return {
                k: v
                for k, v in prediction.label.items()
                if k in self.schema.trait_names and _parses(self.schema, k, v)
            }

    def facts(self) -> list[ReviewFacts]:
        """The few fields counts and accuracy look at, for every prediction (one scan)."""
        return list(self.reviews.facts())

    def detail_rows(self, prediction: Prediction) -> pd.DataFrame:
        """Per trait: the predicted value and its probability, the owner's and the admin's."""
        rows = []
        correction = prediction.user_correction or {}
        admin = prediction.admin_label or {}
        for trait in self.schema.traits:
            if not {trait.name} & (prediction.label.keys() | correction.keys() | admin.keys()):
                continue
            predicted = prediction.label.get(trait.name)
            shown = value_name(trait, predicted) if predicted is not None else None
            rows.append(
                {
                    "Trait": trait.title,
                    "Predicted": shown or "–",
                    "Probability": (prediction.probabilities.get(trait.name) or {}).get(shown),
                    "Unsure": trait.name in prediction.unsure,
                    "Owner says": _text(trait, correction.get(trait.name)),
                    "Admin says": _text(trait, admin.get(trait.name)),
                }
            )
        return pd.DataFrame(rows)

    def seen_values(self, trait: str, facts: Iterable[ReviewFacts] | None = None) -> list[str]:
        """The predicted values of a trait so far (the choices of an open trait's filter)."""
        source = self.reviews.facts() if facts is None else facts
        return sorted({str(f.label[trait]) for f in source if f.label.get(trait) is not None})

    def model_ids(self, facts: Iterable[ReviewFacts] | None = None) -> list[str]:
        """The models that made stored predictions (also deleted ones)."""
        source = self.reviews.facts() if facts is None else facts
        return sorted({fact.model_id for fact in source if fact.model_id})

    # --- reviewing ----------------------------------------------------------------------------

    def _selected(self, prediction_ids: Sequence[str], verb: str) -> list[Prediction]:
        if not prediction_ids:
            raise UserError(f"No prediction is selected; tick the ones to {verb} first.")
        found = self.reviews.get_many(prediction_ids)
        missing = sorted(set(map(str, prediction_ids)) - {p.id for p in found})
        if missing:
            raise UserError(
                f"Prediction {missing[0]!r} no longer exists; reload the page and select again."
            )
        return found

    def accept(self, prediction_ids: Sequence[str], *, by: str) -> ReviewOutcome:
        """The predicted label is right."""
        selected = self._selected(prediction_ids, "accept")
        return self._record("Accepted", selected, lambda p: ("accepted", dict(p.label)), by=by)

    def reject(self, prediction_ids: Sequence[str], *, by: str) -> ReviewOutcome:
        """The predicted label is wrong and the right one is not given."""
        selected = self._selected(prediction_ids, "reject")
        return self._record("Rejected", selected, lambda p: ("rejected", None), by=by)

    def set_label(
        self, prediction_ids: Sequence[str], update: Mapping[str, Any], *, by: str
    ) -> ReviewOutcome:
        """Set the right label: each prediction's starting label with `update` on top.

        Every resulting label must be complete (it may join the training set); when one is not,
        nothing is stored.
        """
        selected = self._selected(prediction_ids, "label")
        labels = {}
        for prediction in selected:
            if prediction.promoted_image_id:
                continue
            label = self.schema.merge(self.starting_label(prediction), update)
            missing = [
                t.title
                for t in self.schema.traits
                if self.schema.applies(t, label) and t.name not in label
            ]
            if missing:
                raise UserError(
                    f"The label of prediction {prediction.id} would miss "
                    f"{', '.join(missing)}; choose {'it' if len(missing) == 1 else 'them'} too."
                )
            labels[prediction.id] = label

        def review(prediction: Prediction) -> tuple[str, dict[str, Any]]:
            label = labels[prediction.id]
            return ("accepted" if label == prediction.label else "corrected", label)

        return self._record("Labelled", selected, review, by=by)

    def _record(
        self,
        verb: str,
        selected: list[Prediction],
        review: Callable[[Prediction], tuple[str, dict[str, Any] | None]],
        *,
        by: str,
    ) -> ReviewOutcome:
        outcome = ReviewOutcome(verb)
        reviews = {}
        for prediction in selected:
            if prediction.promoted_image_id:  # its label now lives with the training image
                outcome.skipped.append((prediction.id, "already in the training set"))
            else:
                reviews[prediction.id] = review(prediction)
        outcome.changed = self.reviews.record_reviews(reviews, by=by)
        return outcome

    # --- promoting ----------------------------------------------------------------------------

    def promote(
        self,
        prediction_ids: Sequence[str],
        *,
        by: str,
        max_bytes: int = DEFAULT_MAX_BYTES,
        progress: Progress | None = None,
    ) -> PromoteReport:
        """Add reviewed predictions' photos to the training set with the admin's label, once.

        A prediction already promoted is left alone; a photo whose bytes are already stored is
        recorded as promoted to that image (the sha256 rule), never added twice.
        """
        selected = self._selected(prediction_ids, "promote")
        report = PromoteReport()
        near_duplicates = NearDuplicateIndex.load(self.images)
        for done, prediction in enumerate(selected, start=1):
            reason = self._why_not_promotable(prediction)
            if prediction.promoted_image_id:
                report.already.append((prediction.id, prediction.promoted_image_id))
            elif reason:
                report.skipped.append((prediction.id, reason))
            else:
                outcome = import_image(
                    self.images,
                    self.predictions.image_bytes(prediction) or b"",
                    f"prediction-{prediction.id}",
                    source=PROMOTED_SOURCE,
                    schema=self.schema,
                    label=prediction.admin_label,
                    labelled_by=by,
                    near_duplicates=near_duplicates,
                    max_bytes=max_bytes,
                )
                if outcome.status == "rejected" or outcome.image_id is None:
                    reason = outcome.reason or "its photo was refused"
                    report.skipped.append((prediction.id, reason))
                else:
                    self.reviews.set_promoted(prediction.id, outcome.image_id, by=by)
                    target = report.added if outcome.status == "added" else report.already
                    target.append((prediction.id, outcome.image_id))
            if progress:
                progress(done, len(selected))
        return report

    def _why_not_promotable(self, prediction: Prediction) -> str | None:
        if not prediction.admin_has_reviewed:
            return "not reviewed yet; accept it or set its label first"
        if not prediction.admin_label:
            return "rejected without the right label; set its label to promote it"
        if not prediction.has_image:
            return NO_PHOTO_REASON
        return None

    def ready_to_promote_ids(self) -> list[str]:
        """Reviewed predictions with a label and a photo that are not in the training set."""
        return [
            fact.id
            for fact in self.reviews.facts()
            if fact.is_reviewed and fact.admin_label and fact.has_image and not fact.is_promoted
        ]


def _text(trait: Trait, value: Any) -> str:
    return "" if value is None else value_name(trait, value)


def _parses(schema: LabelSchema, trait: str, value: Any) -> bool:
    try:
        schema.trait(trait).parse(value)
    except UserError:
        return False
    return True


def owner_answer(prediction: Prediction) -> str:
    """What the photo's owner said of the prediction: "right", "wrong" or "no answer"."""
    if prediction.user_feedback is None:
        return "no answer"
    return "right" if prediction.user_feedback else "wrong"


def tile_caption(prediction: Prediction, schema: LabelSchema) -> str:
    """A grid tile's caption: confidence, feedback and review marks, then the label it has now."""
    marks = []
    if prediction.user_feedback is not None:
        marks.append(":material/thumb_up:" if prediction.user_feedback else ":material/thumb_down:")
    if prediction.promoted_image_id:
        marks.append(":material/school:")
    elif prediction.admin_has_reviewed:
        marks.append(":material/verified:")
    if not prediction.has_image:
        marks.append(":material/no_photography:")
    label = (prediction.admin_label if prediction.admin_has_reviewed else None) or prediction.label
    # confidence and marks first: a narrow tile cuts the end of its caption
    return f"{prediction.confidence:.0%} {' '.join(marks)} {schema.describe(label)}"
