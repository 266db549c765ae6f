"""The training-images page's "Label next" order: unlabelled images, least confident first."""

from __future__ import annotations

from core.db.training_images import TrainingImageRepository
from core.errors import NotFoundError, UserError
from core.services.image_browser import PAGE_SIZES, GridPage
from core.services.label_next import unlabelled_by_uncertainty
from core.services.predictions import ActiveModelCache, NoActiveModelError

NEWEST_FIRST = "Newest first"
LABEL_NEXT = "Label next: least confident first"
ORDERS = (NEWEST_FIRST, LABEL_NEXT)


def rank_label_next(
    cache: ActiveModelCache, images: TrainingImageRepository
) -> tuple[str, list[tuple[str, float]]]:
    """The active model's id and (image id, uncertainty) of unlabelled images, least sure first."""
    try:
        loaded = cache.get()
    except NoActiveModelError as err:
        raise UserError(
            "No model is active, so images cannot be sorted by its uncertainty; "
            "train or activate a model first."
        ) from err
    return loaded.record.id, unlabelled_by_uncertainty(images, loaded)


def ranked_page(
    images: TrainingImageRepository,
    ranked: list[tuple[str, float]],
    *,
    page: int,
    page_size: int,
) -> GridPage:
    """One page of the ranked images in their order (images deleted since are left out)."""
    if page_size not in PAGE_SIZES:
        sizes = ", ".join(map(str, PAGE_SIZES))
        raise UserError(f"Page size {page_size!r} is not offered; use one of: {sizes}.")
    page_count = max(1, -(-len(ranked) // page_size))
    page = min(max(1, page), page_count)
    shown = []
    for image_id, _uncertainty in ranked[(page - 1) * page_size : page * page_size]:
        try:
            shown.append(images.get(image_id))
        except NotFoundError:
            continue
    return GridPage(shown, page, page_count, len(ranked))
