"""Decoded, fitted images on disk by content hash and size, so a retrain decodes nothing twice."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np


class PixelCache:
    """uint8 S x S x 3 arrays in ``folder/v<VERSION>-<size>px-<mode>/<sha[:2]>/<sha>.npy``."""

    VERSION = 2  # raise when decoding changes what an image's pixels are: old files are ignored

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def _path(self, sha256: str, image_size: int, resize_mode: str) -> Path:
        if not sha256.isalnum():
            raise ValueError(f"{sha256!r} is not a hex digest.")
        size_folder = f"v{self.VERSION}-{image_size}px-{resize_mode}"
        return self.folder / size_folder / sha256[:2] / f"{sha256}.npy"

    def get(self, sha256: str, image_size: int, resize_mode: str) -> np.ndarray | None:
        """The cached pixels, or None when missing or unreadable."""
        path = self._path(sha256, image_size, resize_mode)
        try:
            pixels = np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            return None
        return pixels if pixels.shape == (image_size, image_size, 3) else None

    def put(self, sha256: str, image_size: int, resize_mode: str, pixels: np.ndarray) -> None:
        """Store the pixels (written to a temporary file first: a crash leaves no half file)."""
        path = self._path(sha256, image_size, resize_mode)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                np.save(file, np.asarray(pixels, dtype=np.uint8), allow_pickle=False)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
