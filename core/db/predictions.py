"""Public predictions: what a model said about a breeder's photo, and the feedback on it."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import DESCENDING
from pymongo.database import Database

from core.clock import utcnow
from core.db.files import FileStore
from core.db.mongo import to_object_id
from core.errors import NotFoundError

COLLECTION = "predictions"
CHANNELS = ("breeder_app", "api")


def ensure_indexes(database: Database) -> None:
    predictions = database[COLLECTION]
    predictions.create_index([("created_at", DESCENDING)])
    predictions.create_index("model_id")
    predictions.create_index("admin_has_reviewed")


@dataclass(frozen=True)
class Prediction:
    id: str
    sha256: str
    model_id: str
    label: dict[str, Any]
    probabilities: dict[str, dict[str, float]]
    unsure: list[str]
    confidence: float
    channel: str
    created_at: datetime
    image_file: ObjectId | None = None
    thumbnail_file: ObjectId | None = None
    user_has_reviewed: bool = False
    user_feedback: bool | None = None
    user_correction: dict[str, Any] | None = None
    admin_has_reviewed: bool = False
    admin_feedback: bool | None = None
    admin_label: dict[str, Any] | None = None
    promoted_image_id: str | None = None
    is_unfamiliar: bool = False  # unlike the model's training images
    unfamiliarity: float | None = None  # the OOD score over its threshold
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def has_image(self) -> bool:
        return self.image_file is not None

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Prediction:
        return cls(
            id=str(doc["_id"]),
            sha256=doc.get("sha256") or "",
            model_id=str(doc.get("model_id", "")),
            label=dict(doc.get("label") or {}),
            probabilities=dict(doc.get("probabilities") or {}),
            unsure=list(doc.get("unsure") or []),
            confidence=float(doc.get("confidence", 0.0)),
            channel=doc.get("channel", "breeder_app"),
            created_at=doc["created_at"],
            image_file=doc.get("image"),
            thumbnail_file=doc.get("thumbnail"),
            user_has_reviewed=bool(doc.get("user_has_reviewed")),
            user_feedback=_optional_bool(doc.get("user_feedback")),
            user_correction=doc.get("user_correction"),
            admin_has_reviewed=bool(doc.get("admin_has_reviewed")),
            admin_feedback=_optional_bool(doc.get("admin_feedback")),
            admin_label=doc.get("admin_label"),
            promoted_image_id=doc.get("promoted_image_id"),
            is_unfamiliar=bool(doc.get("is_unfamiliar")),
            unfamiliarity=doc.get("unfamiliarity"),
        )


def _optional_bool(value: Any) -> bool | None:
    """True/False/None; nx-27017 gives back a boolean set with $set as 1 or 0."""
    return None if value is None else bool(value)


class PredictionRepository:
    """The `predictions` collection; photos (when kept) in GridFS."""

    def __init__(self, database: Database) -> None:
        self._predictions = database[COLLECTION]
        self._files = FileStore(database)

    def add(
        self,
        *,
        sha256: str,
        model_id: str,
        label: Mapping[str, Any],
        probabilities: Mapping[str, Mapping[str, float]],
        unsure: list[str],
        confidence: float,
        channel: str,
        image: bytes | None = None,
        thumbnail: bytes | None = None,
        filename: str = "photo",
        feedback_secret: str | None = None,
        is_unfamiliar: bool = False,
        unfamiliarity: float | None = None,
    ) -> str:
        """Store one prediction; the photo, its thumbnail and its hash only with consent.

        feedback_secret (given back to the owner only) is kept as its SHA-256 hash.
        """
        if channel not in CHANNELS:
            raise ValueError(f"channel must be one of {CHANNELS}, not {channel!r}")
        doc: dict[str, Any] = {
            "sha256": sha256 if image is not None else None,  # a hash still finds the photo
            "feedback_secret_sha256": _secret_hash(feedback_secret) if feedback_secret else None,
            "model_id": model_id,
            "label": dict(label),
            "probabilities": {k: dict(v) for k, v in probabilities.items()},
            "unsure": list(unsure),
            "confidence": float(confidence),
            "channel": channel,
            "is_unfamiliar": bool(is_unfamiliar),
            "unfamiliarity": None if unfamiliarity is None else float(unfamiliarity),
            "created_at": utcnow(),
            "user_has_reviewed": False,
            "user_feedback": None,
            "user_correction": None,
            "admin_has_reviewed": False,
            "admin_feedback": None,
            "admin_label": None,
            "image": None,  # explicit: nx-27017's $ne null also matches a missing field
            "thumbnail": None,
        }
        if image is not None:
            doc["image"] = self._files.put(image, filename)
            if thumbnail is not None:
                doc["thumbnail"] = self._files.put(thumbnail, f"thumb-{filename}")
        return str(self._predictions.insert_one(doc).inserted_id)

    def get(self, prediction_id: str) -> Prediction:
        doc = self._predictions.find_one({"_id": to_object_id(prediction_id, "prediction")})
        if doc is None:
            raise NotFoundError(
                f"No prediction with id {prediction_id!r}; identify the photo again."
            )
        return Prediction.from_document(doc)

    def is_feedback_secret(self, prediction_id: str, secret: str | None) -> bool:
        """Whether secret is the one given with this prediction (NotFoundError if unknown)."""
        doc = self._predictions.find_one(
            {"_id": to_object_id(prediction_id, "prediction")}, {"feedback_secret_sha256": 1}
        )
        if doc is None:
            raise NotFoundError(
                f"No prediction with id {prediction_id!r}; identify the photo again."
            )
        stored = doc.get("feedback_secret_sha256")
        if not stored or not secret:
            return False
        return hmac.compare_digest(stored, _secret_hash(secret))

    def image_bytes(self, prediction: Prediction) -> bytes | None:
        return self._files.get(prediction.image_file) if prediction.image_file else None

    def thumbnail_bytes(self, prediction: Prediction) -> bytes | None:
        file_id = prediction.thumbnail_file or prediction.image_file
        return self._files.get(file_id) if file_id else None

    def record_user_feedback(
        self, prediction_id: str, *, is_correct: bool, correction: Mapping[str, Any] | None
    ) -> None:
        """Set the owner's feedback (a second answer replaces the first, never adds a record)."""
        result = self._predictions.update_one(
            {"_id": to_object_id(prediction_id, "prediction")},
            {
                "$set": {
                    "user_has_reviewed": True,
                    "user_feedback": is_correct,
                    "user_correction": dict(correction) if correction else None,
                    "user_reviewed_at": utcnow(),
                }
            },
        )
        if result.matched_count == 0:
            raise NotFoundError(
                f"No prediction with id {prediction_id!r}; identify the photo again."
            )

    def recent(
        self, limit: int = 20, *, with_image_only: bool = False, channel: str | None = None
    ) -> list[Prediction]:
        """The newest predictions; only those with a kept photo, or from one channel, if asked."""
        query: dict[str, Any] = {"image": {"$ne": None}} if with_image_only else {}
        if channel is not None:
            query["channel"] = channel
        cursor = self._predictions.find(query).sort("created_at", DESCENDING).limit(limit)
        return [Prediction.from_document(doc) for doc in cursor]

    def count(self, query: Mapping[str, Any] | None = None) -> int:
        return self._predictions.count_documents(dict(query or {}))


def _secret_hash(secret: str) -> str:
    """A feedback secret is random and long, so a plain SHA-256 is enough to store it."""
    return hashlib.sha256(secret.encode()).hexdigest()
