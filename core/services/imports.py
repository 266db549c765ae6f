"""Adding images to the training set: one path for uploads, zips, folders, web and demo data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.db.training_images import NewImage, TrainingImageRepository
from core.errors import UserError
from core.images import (
    DEFAULT_MAX_BYTES,
    decode_image,
    make_thumbnail,
    perceptual_hash,
)
from core.labels import LabelSchema

NEAR_DUPLICATE_DISTANCE = 4


class NearDuplicateIndex:
    """Perceptual hashes of the stored images, loaded once per import and kept up to date."""

    def __init__(self, entries: Mapping[str, str] | None = None) -> None:
        self._ids: list[str] = list((entries or {}).keys())
        self._hashes = np.array([int(h, 16) for h in (entries or {}).values()], dtype=np.uint64)

    @classmethod
    def load(cls, repository: TrainingImageRepository) -> NearDuplicateIndex:
        return cls(dict(repository.perceptual_hashes()))

    def closest(self, phash: str) -> str | None:
        """The id of a stored image that looks the same, if any (vectorised Hamming distance)."""
        if not self._ids:
            return None
        distances = np.bitwise_count(self._hashes ^ np.uint64(int(phash, 16)))
        best = int(np.argmin(distances))
        return self._ids[best] if distances[best] <= NEAR_DUPLICATE_DISTANCE else None

    def add(self, image_id: str, phash: str) -> None:
        self._ids.append(image_id)
        self._hashes = np.append(self._hashes, np.uint64(int(phash, 16)))


@dataclass(frozen=True)
class ImportOutcome:
    filename: str
    status: str  # "added", "duplicate" or "rejected"
    image_id: str | None = None
    reason: str | None = None
    near_duplicate_of: str | None = None


@dataclass
class ImportReport:
    """What an import did, file by file."""

    outcomes: list[ImportOutcome] = field(default_factory=list)

    def add(self, outcome: ImportOutcome) -> None:
        self.outcomes.append(outcome)

    @property
    def added(self) -> int:
        return sum(o.status == "added" for o in self.outcomes)

    @property
    def duplicates(self) -> int:
        return sum(o.status == "duplicate" for o in self.outcomes)

    @property
    def near_duplicates(self) -> int:
        return sum(o.status == "added" and o.near_duplicate_of is not None for o in self.outcomes)

    @property
    def rejected(self) -> list[ImportOutcome]:
        return [o for o in self.outcomes if o.status == "rejected"]

    def summary(self) -> str:
        parts = [f"Added {self.added} image{'s' if self.added != 1 else ''}"]
        if self.near_duplicates:
            parts.append(f"{self.near_duplicates} flagged as possible duplicates")
        parts.append(f"skipped {self.duplicates} already stored")
        parts.append(f"rejected {len(self.rejected)}")
        return ", ".join(parts) + "."


def import_image(
    repository: TrainingImageRepository,
    data: bytes,
    filename: str,
    *,
    source: str,
    schema: LabelSchema,
    label: Mapping[str, Any] | None = None,
    labelled_by: str | None = None,
    source_url: str | None = None,
    licence: str | None = None,
    creator: str | None = None,
    near_duplicates: NearDuplicateIndex | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ImportOutcome:
    """Decode, check and store one image; a bad one is rejected with the reason, never raised."""
    try:
        clean_label = schema.validate(label, partial=True) if label else {}
        decoded = decode_image(data, filename, max_bytes=max_bytes)
    except UserError as err:
        return ImportOutcome(filename, "rejected", reason=str(err))
    existing = repository.find_by_sha256(decoded.sha256)
    if existing:
        return ImportOutcome(filename, "duplicate", image_id=existing)
    phash = perceptual_hash(decoded.image)
    similar = near_duplicates.closest(phash) if near_duplicates else None
    image_id = repository.add(
        NewImage(
            filename=filename,
            data=decoded.data,
            sha256=decoded.sha256,
            thumbnail=make_thumbnail(decoded.image),
            width=decoded.width,
            height=decoded.height,
            format=decoded.format,
            perceptual_hash=phash,
            source=source,
            label=clean_label,
            is_labelled=schema.is_complete(clean_label),
            labelled_by=labelled_by,
            source_url=source_url,
            licence=licence,
            creator=creator,
            near_duplicate_of=similar,
        )
    )
    if image_id is None:
        return ImportOutcome(
            filename, "duplicate", image_id=repository.find_by_sha256(decoded.sha256)
        )
    if near_duplicates is not None:
        near_duplicates.add(image_id, phash)
    return ImportOutcome(filename, "added", image_id=image_id, near_duplicate_of=similar)
