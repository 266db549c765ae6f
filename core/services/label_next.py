"""'Label next': unlabelled training images sorted by the active model's uncertainty."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from core.db.training_images import ImageFilter, TrainingImageRepository
from core.images import decode_image, to_model_array
from core.services.predictions import LoadedModel

BATCH_SIZE = 32


def unlabelled_by_uncertainty(
    images: TrainingImageRepository,
    loaded: LoadedModel,
    *,
    limit: int | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[tuple[str, float]]:
    """(image id, uncertainty 0..1) of unlabelled images, least confident first."""
    from core.ml.uncertainty import rank_by_uncertainty

    ids = images.ids(ImageFilter(is_labelled=False))
    files = images.image_file_ids(ids)
    record, predictor = loaded.record, loaded.predictor
    ranked_ids, results = [], []
    for start in range(0, len(ids), BATCH_SIZE):
        if should_stop is not None and should_stop():
            break
        batch_ids = ids[start : start + BATCH_SIZE]
        pixels = [
            to_model_array(
                decode_image(images.read_file(files[image_id]), image_id).image,
                record.image_size,
                mode=record.resize_mode,
            )
            for image_id in batch_ids
        ]
        results.extend(predictor.predict_arrays(np.stack(pixels)))
        ranked_ids.extend(batch_ids)
    ranked = rank_by_uncertainty(ranked_ids, results)
    return ranked if limit is None else ranked[:limit]
