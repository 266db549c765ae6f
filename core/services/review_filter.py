"""The Review predictions page's filter: the choices it offers and the filter they describe."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from core.clock import check_date_range
from core.db.reviews import ORDERS, ReviewFilter
from core.errors import unknown_choice
from core.labels import LabelSchema

USER_FEEDBACK_CHOICES = ("any", "accepted", "rejected", "none")
REVIEW_STATUS_CHOICES = (
    "not reviewed",
    "any",
    "reviewed",
    "accepted",
    "corrected",
    "rejected",
    "promoted",
    "ready to promote",
)
FAMILIARITY_CHOICES = ("any", "unfamiliar", "familiar")  # unlike the training images or not
ORDER_CHOICES = tuple(ORDERS)
PAGE_SIZES = (24, 48, 96)


def build_review_filter(
    schema: LabelSchema,
    *,
    user_feedback: str = "any",
    review_status: str = "any",
    traits: Mapping[str, Any] | None = None,
    model_id: str | None = None,
    created_from: date | None = None,
    created_to: date | None = None,
    familiarity: str = "any",
) -> ReviewFilter:
    """The filter the page's widgets describe; "any" or None means any value."""
    if user_feedback not in USER_FEEDBACK_CHOICES:
        raise unknown_choice(f"User feedback {user_feedback!r}", USER_FEEDBACK_CHOICES)
    if review_status not in REVIEW_STATUS_CHOICES:
        raise unknown_choice(f"Review status {review_status!r}", REVIEW_STATUS_CHOICES)
    if familiarity not in FAMILIARITY_CHOICES:
        raise unknown_choice(f"Familiarity {familiarity!r}", FAMILIARITY_CHOICES)
    check_date_range(created_from, created_to)
    label = schema.filter_values(traits)
    status: dict[str, Any] = {
        "any": {},
        "not reviewed": {"is_reviewed": False},
        "reviewed": {"is_reviewed": True},
        "accepted": {"reviews": ("accepted",)},
        "corrected": {"reviews": ("corrected",)},
        "rejected": {"reviews": ("rejected",)},
        "promoted": {"is_promoted": True},
        "ready to promote": {
            "reviews": ("accepted", "corrected"),
            "is_promoted": False,
            "has_photo": True,
        },
    }[review_status]
    feedback: dict[str, Any] = {
        "any": {},
        "accepted": {"user_feedback": True},
        "rejected": {"user_feedback": False},
        "none": {"has_user_feedback": False},
    }[user_feedback]
    return ReviewFilter(
        label=label,
        model_id=model_id or None,
        created_from=created_from,
        created_to=created_to,
        is_unfamiliar={"any": None, "unfamiliar": True, "familiar": False}[familiarity],
        **status,
        **feedback,
    )
