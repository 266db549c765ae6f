"""Where training images come from, and batches of them for Keras without loading them all."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import keras
import numpy as np


class TrainingCancelled(Exception):
    """Someone asked the run to stop; raised at the next batch."""


class ImageSource(Protocol):
    """Images in a fixed order, loaded on demand as uint8 arrays already fitted to the size."""

    ids: list[str]

    def __len__(self) -> int: ...

    def load(self, indices: Sequence[int]) -> np.ndarray:
        """The images at these positions as a uint8 array of shape N x S x S x 3."""
        ...


class ArrayImageSource:
    """An ImageSource over an array held in memory (tests, small sets)."""

    def __init__(self, ids: Sequence[str], array: np.ndarray) -> None:
        if len(ids) != len(array):
            raise ValueError(f"{len(ids)} ids for {len(array)} images; give one id per image.")
        if array.ndim != 4 or array.shape[-1] != 3:
            raise ValueError(f"Images must be N x S x S x 3, not {array.shape}.")
        self.ids = list(ids)
        self.array = np.asarray(array, dtype=np.uint8)

    def __len__(self) -> int:
        return len(self.ids)

    def load(self, indices: Sequence[int]) -> np.ndarray:
        """The images at these positions."""
        return self.array[np.asarray(indices, dtype=np.int64)]


def load_checked(images: ImageSource, indices: Sequence[int], image_size: int) -> np.ndarray:
    """Load images as float32 pixels, refusing a batch of the wrong shape."""
    batch = np.asarray(images.load(indices))
    expected = (len(indices), image_size, image_size, 3)
    if batch.shape != expected:
        raise ValueError(f"The image source returned shape {batch.shape}, expected {expected}.")
    return batch.astype(np.float32)


class ImageBatches(keras.utils.PyDataset):
    """Batches of (images, targets, sample weights) loaded through an ImageSource."""

    def __init__(
        self,
        images: ImageSource,
        indices: Sequence[int],
        *,
        image_size: int,
        batch_size: int,
        targets: dict[str, np.ndarray] | None = None,
        weights: dict[str, np.ndarray] | None = None,
        shuffle: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.images = images
        self.indices = np.asarray(indices, dtype=np.int64)
        self.image_size = image_size
        self.batch_size = batch_size
        self.targets = targets
        self.weights = weights
        self.shuffle = shuffle
        self._rng = np.random.default_rng(seed)
        self._order = np.arange(len(self.indices))
        if shuffle:
            self._rng.shuffle(self._order)

    def __len__(self) -> int:
        return math.ceil(len(self.indices) / self.batch_size)

    def __getitem__(self, index: int):
        rows = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        x = load_checked(self.images, self.indices[rows].tolist(), self.image_size)
        if self.targets is None:
            return (x,)
        y = {name: values[rows] for name, values in self.targets.items()}
        if self.weights is None:
            return x, y
        return x, y, {name: values[rows] for name, values in self.weights.items()}

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self._rng.shuffle(self._order)


def predict_in_batches(
    infer: Callable[[np.ndarray], Any],
    images: ImageSource,
    indices: list[int],
    image_size: int,
    batch_size: int,
) -> dict[str, np.ndarray]:
    """Outputs of ``infer`` (a dict per trait) for these images, loaded one batch at a time."""
    parts: list[dict[str, np.ndarray]] = []
    for start in range(0, len(indices), batch_size):
        batch = indices[start : start + batch_size]
        parts.append(infer(load_checked(images, batch, image_size)))
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
