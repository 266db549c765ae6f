"""What a training image is, as stored and as read back (nx-27017's JSON text and 1/0 made
documents and booleans again): the records `TrainingImageRepository` takes and returns."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId, json_util

from core.clock import as_datetime
from core.labels import Label


@dataclass(frozen=True)
class NewImage:
    """What an import knows about one decoded image before it is stored."""

    filename: str
    data: bytes
    sha256: str
    thumbnail: bytes
    width: int
    height: int
    format: str
    perceptual_hash: str
    source: str
    label: Label = field(default_factory=dict)
    is_labelled: bool = False
    labelled_by: str | None = None
    source_url: str | None = None
    licence: str | None = None
    creator: str | None = None
    near_duplicate_of: str | None = None


@dataclass(frozen=True)
class TrainingImage:
    id: str
    filename: str
    sha256: str
    width: int
    height: int
    format: str
    source: str
    label: Label
    is_labelled: bool
    created_at: datetime
    image_file: ObjectId
    thumbnail_file: ObjectId | None
    perceptual_hash: str | None = None
    near_duplicate_of: str | None = None
    source_url: str | None = None
    licence: str | None = None
    creator: str | None = None
    labelled_at: datetime | None = None
    labelled_by: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> TrainingImage:
        return cls(
            id=str(doc["_id"]),
            filename=doc.get("filename", ""),
            sha256=doc["sha256"],
            width=doc.get("width", 0),
            height=doc.get("height", 0),
            format=doc.get("format", ""),
            source=doc.get("source", "upload"),
            label=stored_label(doc.get("label")),
            is_labelled=bool(doc.get("is_labelled")),
            created_at=doc["created_at"],
            image_file=doc["image"],
            thumbnail_file=doc.get("thumbnail"),
            perceptual_hash=doc.get("perceptual_hash"),
            near_duplicate_of=doc.get("near_duplicate_of"),
            source_url=doc.get("source_url"),
            licence=doc.get("licence"),
            creator=doc.get("creator"),
            labelled_at=as_datetime(doc.get("labelled_at")),
            labelled_by=doc.get("labelled_by"),
            history=[e for e in map(history_entry, doc.get("history") or []) if e is not None],
        )


@dataclass(frozen=True)
class ImageFacts:
    """What filters look at for one image (one row of the scan behind the grid's counts)."""

    id: str
    is_labelled: bool
    label: Mapping[str, Any]
    source: str
    created_at: datetime
    is_near_duplicate: bool

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> ImageFacts:
        return cls(
            id=str(doc["_id"]),
            is_labelled=bool(doc.get("is_labelled")),
            label=stored_label(doc.get("label")),
            source=stored_source(doc.get("source")),
            created_at=as_datetime(doc.get("created_at")) or datetime.min.replace(tzinfo=UTC),
            is_near_duplicate=is_near_duplicate(doc.get("near_duplicate_of")),
        )


@dataclass(frozen=True)
class ImageTally:
    """How many images have each status, source, duplicate flag and whole label."""

    is_labelled: Counter  # True/False -> images
    source: Counter  # source -> images
    is_near_duplicate: Counter  # True/False -> images
    labels: list[tuple[Label, int]]  # each distinct stored label with its images

    @property
    def total(self) -> int:
        return sum(self.is_labelled.values())


def stored_source(value: Any) -> str:
    """An image's source as filters see it (documents from before sources count as uploads)."""
    return value or "upload"


def is_near_duplicate(near_duplicate_of: Any) -> bool:
    """Whether a stored `near_duplicate_of` names another image."""
    return isinstance(near_duplicate_of, str) and bool(near_duplicate_of)


def stored_label(value: Any) -> Label:
    """A label as stored, with the 1/0 that nx-27017 gives back for booleans made bool again."""
    if isinstance(value, str):  # a sub-document an aggregation hands back as JSON text
        value = _json_document(value)
    label = value if isinstance(value, Mapping) else {}
    return {
        trait: bool(v) if isinstance(v, int) and not isinstance(v, bool) else v
        for trait, v in label.items()
    }


def history_entry(entry: Any) -> dict[str, Any] | None:
    """One history entry as a document (nx-27017 stores `$push`-ed documents as JSON text)."""
    if isinstance(entry, str):
        entry = _json_document(entry) or {"action": entry}
    return dict(entry) if isinstance(entry, Mapping) else None


def _json_document(text: str) -> Mapping[str, Any] | None:
    try:
        value = json_util.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, Mapping) else None
