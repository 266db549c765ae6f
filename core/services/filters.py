"""The console's filter forms: widget values to an ImageFilter, the choices offered, checks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from core.clock import check_date_range
from core.db.training_images import SOURCES, ImageFilter
from core.errors import unknown_choice
from core.labels import LabelSchema, LabelValue, Trait
from core.text import value_text

STATUSES = ("all", "labelled", "unlabelled")
DUPLICATE_CHOICES = ("all", "only possible duplicates", "no possible duplicates")


def build_filter(
    schema: LabelSchema,
    *,
    status: str = "all",
    traits: Mapping[str, Any] | None = None,
    source: str | None = None,
    created_from: date | None = None,
    created_to: date | None = None,
    duplicates: str = "all",
) -> ImageFilter:
    """The filter the page's widgets describe; None or "all" means any value."""
    if status not in STATUSES:
        raise unknown_choice(f"Status {status!r}", STATUSES)
    if duplicates not in DUPLICATE_CHOICES:
        raise unknown_choice(f"Duplicate choice {duplicates!r}", DUPLICATE_CHOICES)
    if source is not None and source not in SOURCES:
        raise unknown_choice(f"Source {source!r}", SOURCES)
    check_date_range(created_from, created_to)
    label = schema.filter_values(traits)
    return ImageFilter(
        is_labelled={"all": None, "labelled": True, "unlabelled": False}[status],
        label=label,
        source=source,
        created_from=created_from,
        created_to=created_to,
        is_near_duplicate={"all": None, DUPLICATE_CHOICES[1]: True, DUPLICATE_CHOICES[2]: False}[
            duplicates
        ],
    )


def trait_choices(trait: Trait, seen: Sequence[Any] = ()) -> list[LabelValue | None]:
    """The values a trait filter or label widget offers: None (any) first, then the values."""
    if trait.is_boolean:
        return [None, True, False]
    values = list(trait.values) or sorted({str(v) for v in seen})
    return [None, *values]


def describe_update(schema: LabelSchema, update: Mapping[str, Any]) -> str:
    """A partial label as text, e.g. "Colour: blue, Tabby: yes"."""
    return ", ".join(
        f"{t.title}: {value_text(update[t.name])}" for t in schema.traits if t.name in update
    )
