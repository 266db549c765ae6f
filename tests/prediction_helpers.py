"""Helpers for the Review tests: public predictions with and without photos, in named states."""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from bson import ObjectId
from PIL import Image
from pymongo.database import Database

from core.db.predictions import PredictionRepository
from tests.console_helpers import jpeg_bytes
from tests.label_helpers import BLUE, RED_TABBY


def thumbnail_bytes(seed: int) -> bytes:
    image = Image.open(io.BytesIO(jpeg_bytes(seed)))
    image.thumbnail((64, 64))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG")
    return buffer.getvalue()


def add_prediction(
    database: Database,
    *,
    label: Mapping[str, Any] = BLUE,
    confidence: float = 0.8,
    model_id: str = "6b0c00000000000000000001",
    seed: int | None = 1,
    user_feedback: bool | None = None,
    correction: Mapping[str, Any] | None = None,
    unsure: list[str] | None = None,
) -> str:
    """One public prediction; with a photo (from `seed`) unless seed is None."""
    predictions = PredictionRepository(database)
    probabilities = {
        name: {("yes" if value is True else "no" if value is False else value): confidence}
        for name, value in label.items()
    }
    prediction_id = predictions.add(
        sha256=uuid4().hex,
        model_id=model_id,
        label=dict(label),
        probabilities=probabilities,
        unsure=list(unsure or []),
        confidence=confidence,
        channel="breeder_app",
        image=jpeg_bytes(seed) if seed is not None else None,
        thumbnail=thumbnail_bytes(seed) if seed is not None else None,
        filename=f"photo-{seed}.jpg",
    )
    if user_feedback is not None:
        predictions.record_user_feedback(
            prediction_id, is_correct=user_feedback, correction=correction
        )
    return prediction_id


def add_review_set(database: Database, model_id: str = "6b0c00000000000000000001") -> dict:
    """Five predictions in different states, named by what a reviewer would call them."""
    return {
        "sure_blue": add_prediction(database, confidence=0.97, seed=11, model_id=model_id),
        "unsure_blue": add_prediction(
            database, confidence=0.41, seed=12, user_feedback=True, model_id=model_id
        ),
        "wrong_tabby": add_prediction(
            database,
            label=RED_TABBY,
            confidence=0.55,
            seed=13,
            user_feedback=False,
            correction={"colour": "cream", "pattern": "bicolour", "is_pointed": True},
            model_id=model_id,
        ),
        "no_photo": add_prediction(
            database, confidence=0.62, seed=None, user_feedback=False, model_id=model_id
        ),
        "middling": add_prediction(database, confidence=0.75, seed=14, model_id=model_id),
    }


def add_bare_prediction(
    database: Database,
    label: Mapping[str, Any],
    *,
    confidence: float = 0.9,
    user: bool | None = None,
    admin: bool | None = None,
) -> str:
    """One public prediction of model "m1" without photo or probabilities, with the person's
    (`user`) and the administrator's (`admin`) answers when given; return its id."""
    predictions = PredictionRepository(database)
    prediction_id = predictions.add(
        sha256=uuid4().hex,
        model_id="m1",
        label=dict(label),
        probabilities={},
        unsure=[],
        confidence=confidence,
        channel="breeder_app",
    )
    if user is not None:
        predictions.record_user_feedback(prediction_id, is_correct=user, correction=None)
    if admin is not None:  # what the review page stores
        database["predictions"].update_one(
            {"_id": ObjectId(prediction_id)},
            {
                "$set": {
                    "admin_has_reviewed": True,
                    "admin_feedback": admin,
                    "admin_reviewed_at": datetime.now(UTC),
                }
            },
        )
    return prediction_id
