"""Adding images to the training set: one path for uploads, zips, folders, web and demo data."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.db.training_images import NewImage, TrainingImageRepository
from core.errors import UserError
from core.exif import strip_location
from core.images import DEFAULT_MAX_BYTES, decode_photo
from core.labels import LabelSchema

NEAR_DUPLICATE_DISTANCE = 4


def hash_distances(phash: str, others: Sequence[str] | np.ndarray) -> np.ndarray:
    """Hamming distances (differing bits) from one perceptual hash to many, vectorised.

    others: 16-hex-character hashes, or their values as a uint64 array.
    """
    if not isinstance(others, np.ndarray):
        others = np.array([int(h, 16) for h in others], dtype=np.uint64)
    return np.bitwise_count(others ^ np.uint64(int(phash, 16)))


class NearDuplicateIndex:
    """Perceptual hashes of the stored images, loaded once per import and kept up to date."""

    def __init__(self, entries: Mapping[str, str] | None = None) -> None:
        self._ids: list[str] = list((entries or {}).keys())
        self._hashes = np.array([int(h, 16) for h in (entries or {}).values()], dtype=np.uint64)

    @classmethod
    def load(cls, repository: TrainingImageRepository) -> NearDuplicateIndex:
        return cls(dict(repository.perceptual_hashes()))

    def closest(self, phash: str) -> str | None:
        """The id of a stored image that looks the same, if any."""
        if not self._ids:
            return None
        distances = hash_distances(phash, self._hashes)
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


@dataclass(frozen=True)
class CheckedImage:
    """An image decoded once and checked, with everything storing it needs (no pixels kept)."""

    filename: str
    data: bytes  # the bytes to store: the original with its location removed
    sha256: str  # of data
    thumbnail: bytes
    width: int
    height: int
    format: str
    perceptual_hash: str
    label: dict[str, Any]
    is_labelled: bool


def check_image(
    data: bytes,
    filename: str,
    *,
    schema: LabelSchema,
    label: Mapping[str, Any] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> CheckedImage | ImportOutcome:
    """Decode one image once and derive what is stored; a rejection (never raised) if bad.

    Touches no database, so imports run it in worker threads (Pillow decodes without the GIL).
    """
    try:
        clean_label = schema.validate(label, partial=True) if label else {}
        photo = decode_photo(data, filename, max_bytes=max_bytes)
    except UserError as err:
        return ImportOutcome(filename, "rejected", reason=str(err))
    stored = strip_location(data)
    return CheckedImage(
        filename=filename,
        data=stored,
        sha256=photo.sha256 if stored is data else hashlib.sha256(stored).hexdigest(),
        thumbnail=photo.thumbnail,
        width=photo.width,
        height=photo.height,
        format=photo.format,
        perceptual_hash=photo.perceptual_hash,
        label=clean_label,
        is_labelled=schema.is_complete(clean_label),
    )


def store_checked(
    repository: TrainingImageRepository,
    checked: CheckedImage,
    *,
    source: str,
    labelled_by: str | None = None,
    source_url: str | None = None,
    licence: str | None = None,
    creator: str | None = None,
    near_duplicates: NearDuplicateIndex | None = None,
) -> ImportOutcome:
    """Store a checked image unless its bytes are already stored; flag a look-alike."""
    filename = checked.filename
    existing = repository.find_by_sha256(checked.sha256)
    if existing:
        return ImportOutcome(filename, "duplicate", image_id=existing)
    phash = checked.perceptual_hash
    similar = near_duplicates.closest(phash) if near_duplicates else None
    image_id = repository.add(
        NewImage(
            **vars(checked),  # its fields are NewImage's first ten
            source=source,
            labelled_by=labelled_by,
            source_url=source_url,
            licence=licence,
            creator=creator,
            near_duplicate_of=similar,
        )
    )
    if image_id is None:
        return ImportOutcome(
            filename, "duplicate", image_id=repository.find_by_sha256(checked.sha256)
        )
    if near_duplicates is not None:
        near_duplicates.add(image_id, phash)
    return ImportOutcome(filename, "added", image_id=image_id, near_duplicate_of=similar)


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
    checked = check_image(data, filename, schema=schema, label=label, max_bytes=max_bytes)
    if isinstance(checked, ImportOutcome):
        return checked
    return store_checked(
        repository,
        checked,
        source=source,
        labelled_by=labelled_by,
        source_url=source_url,
        licence=licence,
        creator=creator,
        near_duplicates=near_duplicates,
    )
