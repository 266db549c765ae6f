"""A litter parent's photo read into the coat form: the model's prediction, nothing stored.

The breeder page calls ``read_parent_photo`` once per parent photo; the form it returns is
the page's starting point, every field of which the breeder may change.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import UserError
from core.images import DEFAULT_MAX_BYTES
from core.litter.coats import coat_from_prediction
from core.litter.form import CoatForm
from core.services.breeder import display_photo
from core.services.predictions import LoadedModel, decode_for, identify

THUMBNAIL_SIDE = 240  # pixels: shown beside the parent's form


@dataclass(frozen=True)
class ParentPhoto:
    """What the model saw on a parent's photo, as the form's starting values."""

    form: CoatForm
    not_sure: tuple[str, ...]  # trait titles the model is unsure of (left "not sure")
    thumbnail: bytes  # JPEG, at most THUMBNAIL_SIDE pixels a side


def read_parent_photo(
    loaded: LoadedModel,
    data: bytes,
    filename: str,
    role: str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ParentPhoto:
    """The coat form a parent's photo fills in; UserError for a bad file or a non-cat photo."""
    schema = loaded.record.schema
    if schema.gate is None:
        raise UserError(
            f"The active model ({schema.title}) does not read cat coats; describe the {role} "
            "in words instead."
        )
    image = decode_for(loaded, data, filename or f"{role}.jpg", max_bytes=max_bytes)  # once
    result = identify(loaded, image)
    coat = coat_from_prediction(
        {"label": result.label, "unsure": result.unsure, "is_cat": result.passes_gate}, role
    )
    not_sure = tuple(schema.trait(name).title for name in result.unsure if name in result.label)
    thumbnail, _size = display_photo(image.image, THUMBNAIL_SIDE)
    return ParentPhoto(CoatForm.from_coat(coat), not_sure, thumbnail)
