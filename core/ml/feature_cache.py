"""Embeddings of a frozen backbone, computed once per image and kept in a feature store."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import numpy as np

from core.ml.backbones import Backbone
from core.ml.data import ImageSource, TrainingCancelled, load_checked
from core.ml.model_builder import build_feature_model, make_inference_function


class FeatureStore(Protocol):
    """Embeddings by image id, kept apart per backbone key."""

    def get_many(self, ids: Sequence[str], backbone_key: str) -> dict[str, np.ndarray]:
        """The stored embeddings of those ids that have one under this key."""
        ...

    def put_many(self, backbone_key: str, features: Mapping[str, np.ndarray]) -> None:
        """Store embeddings by image id under this key."""
        ...


class InMemoryFeatureStore:
    """A FeatureStore in a dict (tests, one-off runs)."""

    def __init__(self) -> None:
        self.features: dict[str, dict[str, np.ndarray]] = {}

    def get_many(self, ids: Sequence[str], backbone_key: str) -> dict[str, np.ndarray]:
        """The stored embeddings of those ids that have one under this key."""
        stored = self.features.get(backbone_key, {})
        return {image_id: stored[image_id] for image_id in ids if image_id in stored}

    def put_many(self, backbone_key: str, features: Mapping[str, np.ndarray]) -> None:
        """Store embeddings by image id under this key."""
        self.features.setdefault(backbone_key, {}).update(
            {
                image_id: np.asarray(vector, dtype=np.float32)
                for image_id, vector in features.items()
            }
        )


def feature_key(backbone: Backbone, image_size: int, resize_mode: str = "pad") -> str:
    """What embeddings depend on: backbone, weights, image size and how images were fitted."""
    return f"{backbone.name}:{backbone.weights_id}:{image_size}px:{resize_mode}"


def compute_missing_features(
    backbone: Backbone,
    images: ImageSource,
    store: FeatureStore,
    key: str,
    *,
    batch_size: int = 32,
    log: Callable[[str], None] = print,
    should_cancel: Callable[[], bool] | None = None,
) -> np.ndarray:
    """Embeddings of every image in source order, computing and storing only the missing ones."""
    ids = list(images.ids)
    image_size = int(backbone.model.input_shape[1])
    features: dict[str, np.ndarray] = dict(store.get_many(ids, key))
    missing = [index for index, image_id in enumerate(ids) if image_id not in features]
    log(
        f"Embeddings: {len(ids) - len(missing)} of {len(ids)} images cached, "
        f"computing {len(missing)} with {backbone.name}."
    )
    if missing:
        infer = make_inference_function(build_feature_model(backbone, image_size), image_size)
        reported = 0
        for start in range(0, len(missing), batch_size):
            if should_cancel is not None and should_cancel():
                raise TrainingCancelled("Training was cancelled while computing embeddings.")
            batch = missing[start : start + batch_size]
            vectors = np.asarray(infer(load_checked(images, batch, image_size)), dtype=np.float32)
            computed = {ids[index]: vector for index, vector in zip(batch, vectors, strict=True)}
            store.put_many(key, computed)  # stored batch by batch: a crash keeps what is done
            features.update(computed)
            done = start + len(batch)
            if done == len(missing) or done - reported >= max(batch_size, len(missing) // 10):
                log(f"Embeddings: computed {done} of {len(missing)}.")
                reported = done
    return np.stack([np.asarray(features[image_id], dtype=np.float32) for image_id in ids])
