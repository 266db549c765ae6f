"""The administrators' review of public predictions: filtered pages and review writes.

Reads and writes the `predictions` collection next to PredictionRepository. A review sets
`admin_has_reviewed`, `admin_feedback` (what the warehouse counts), `admin_label` (the right
label, None for a plain rejection) and `admin_review`: "accepted", "corrected" or "rejected",
an explicit value because nx-27017 cannot tell a missing label from a stored one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pymongo import ASCENDING, DESCENDING, UpdateOne
from pymongo.database import Database

from core.clock import utcnow
from core.db.mongo import created_between, to_object_id
from core.db.predictions import COLLECTION, Prediction

REVIEWS = ("accepted", "corrected", "rejected")
ORDERS: dict[str, list[tuple[str, int]]] = {
    "least confident first": [("confidence", ASCENDING), ("_id", DESCENDING)],
    "newest first": [("created_at", DESCENDING), ("_id", DESCENDING)],
    "oldest first": [("created_at", ASCENDING), ("_id", ASCENDING)],
    "most confident first": [("confidence", DESCENDING), ("_id", DESCENDING)],
}
FACT_FIELDS = {
    "model_id": 1,
    "label": 1,
    "user_feedback": 1,
    "admin_has_reviewed": 1,
    "admin_feedback": 1,
    "admin_label": 1,
    "admin_review": 1,
    "image": 1,
    "promoted_image_id": 1,
}


def flag(value: Any) -> bool | None:
    """A stored yes/no/unknown as True/False/None (nx-27017 stores a bool `$set` as 1 or 0)."""
    return None if value is None else bool(value)


@dataclass(frozen=True)
class ReviewFilter:
    """Which predictions the grid shows; None means any."""

    user_feedback: bool | None = None
    has_user_feedback: bool | None = None  # False: the owner did not answer
    is_reviewed: bool | None = None
    reviews: tuple[str, ...] = ()  # some of REVIEWS; empty means any
    is_promoted: bool | None = None
    has_photo: bool | None = None
    is_unfamiliar: bool | None = None  # True: only photos unlike the training images
    label: Mapping[str, Any] = field(default_factory=dict)  # predicted trait -> value
    model_id: str | None = None
    created_from: date | None = None
    created_to: date | None = None

    def to_query(self) -> dict[str, Any]:
        query: dict[str, Any] = {}
        if self.has_user_feedback is False:
            query["user_feedback"] = {"$in": [None]}  # null or missing, on both servers
        elif self.user_feedback is not None:
            query["user_feedback"] = self.user_feedback
        if self.is_reviewed is not None:
            query["admin_has_reviewed"] = self.is_reviewed
        if self.reviews:
            query["admin_review"] = {"$in": list(self.reviews)}
        if self.is_promoted is True:
            query["promoted_image_id"] = {"$type": "string"}
        elif self.is_promoted is False:
            query["promoted_image_id"] = {"$in": [None]}
        if self.has_photo is True:
            query["image"] = {"$ne": None}  # stored explicitly as None when there is no photo
        elif self.has_photo is False:
            query["image"] = None
        if self.is_unfamiliar is True:
            query["is_unfamiliar"] = True
        elif self.is_unfamiliar is False:
            query["is_unfamiliar"] = {"$ne": True}  # False, or stored before the score
        for trait, value in self.label.items():
            query[f"label.{trait}"] = value
        if self.model_id:
            query["model_id"] = self.model_id
        if created := created_between(self.created_from, self.created_to):
            query["created_at"] = created
        return query


@dataclass(frozen=True)
class ReviewFacts:
    """What the counts and the accuracy in the wild look at for one prediction."""

    id: str
    model_id: str
    label: dict[str, Any]
    user_feedback: bool | None
    is_reviewed: bool
    admin_feedback: bool | None
    admin_label: dict[str, Any] | None
    review: str | None
    has_image: bool
    is_promoted: bool

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> ReviewFacts:
        return cls(
            id=str(doc["_id"]),
            model_id=str(doc.get("model_id") or ""),
            label=dict(doc.get("label") or {}),
            user_feedback=flag(doc.get("user_feedback")),
            is_reviewed=bool(doc.get("admin_has_reviewed")),
            admin_feedback=flag(doc.get("admin_feedback")),
            admin_label=dict(doc["admin_label"]) if doc.get("admin_label") else None,
            review=doc.get("admin_review"),
            has_image=doc.get("image") is not None,
            is_promoted=isinstance(doc.get("promoted_image_id"), str),
        )


class ReviewRepository:
    """Review queries and writes over `predictions`."""

    def __init__(self, database: Database) -> None:
        self._predictions = database[COLLECTION]

    def find(
        self,
        review_filter: ReviewFilter,
        *,
        order: str = "least confident first",
        skip: int = 0,
        limit: int = 48,
    ) -> list[Prediction]:
        if order not in ORDERS:
            raise ValueError(f"order must be one of {list(ORDERS)}, not {order!r}")
        cursor = (
            self._predictions.find(review_filter.to_query(), {"probabilities": 0})
            .sort(ORDERS[order])
            .skip(skip)
            .limit(limit)
        )
        return [Prediction.from_document(doc) for doc in cursor]

    def count(self, review_filter: ReviewFilter) -> int:
        return self._predictions.count_documents(review_filter.to_query())

    def ids(self, review_filter: ReviewFilter) -> list[str]:
        cursor = self._predictions.find(review_filter.to_query(), {"_id": 1}).sort("_id", 1)
        return [str(doc["_id"]) for doc in cursor]

    def get_many(self, prediction_ids: Sequence[str]) -> list[Prediction]:
        """These predictions in the order asked (ids not found are left out)."""
        object_ids = [to_object_id(i, "prediction") for i in prediction_ids]
        found = {
            str(doc["_id"]): Prediction.from_document(doc)
            for doc in self._predictions.find({"_id": {"$in": object_ids}})
        }
        return [found[i] for i in dict.fromkeys(map(str, prediction_ids)) if i in found]

    def facts(self) -> Iterator[ReviewFacts]:
        for doc in self._predictions.find({}, FACT_FIELDS, batch_size=2000):
            yield ReviewFacts.from_document(doc)

    def record_reviews(
        self, reviews: Mapping[str, tuple[str, dict[str, Any] | None]], *, by: str
    ) -> int:
        """Store reviews {prediction id: (review, right label or None)}; return how many."""
        now = utcnow()
        operations = []
        for prediction_id, (review, label) in reviews.items():
            if review not in REVIEWS:
                raise ValueError(f"review must be one of {REVIEWS}, not {review!r}")
            operations.append(
                UpdateOne(
                    {"_id": to_object_id(prediction_id, "prediction")},
                    {
                        "$set": {
                            "admin_has_reviewed": True,
                            "admin_feedback": review == "accepted",
                            "admin_label": dict(label) if label else None,
                            "admin_review": review,
                            "admin_reviewed_at": now,
                            "admin_reviewed_by": by,
                        }
                    },
                )
            )
        if not operations:
            return 0
        return self._predictions.bulk_write(operations, ordered=False).matched_count

    def set_promoted(self, prediction_id: str, image_id: str, *, by: str) -> None:
        self._predictions.update_one(
            {"_id": to_object_id(prediction_id, "prediction")},
            {"$set": {"promoted_image_id": image_id, "promoted_at": utcnow(), "promoted_by": by}},
        )
