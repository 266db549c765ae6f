"""Training images: bytes and thumbnails in GridFS, one document per image in `training_images`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, UpdateOne
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from core.clock import utcnow
from core.db.files import FileStore
from core.db.mongo import created_between, to_object_id
from core.db.training_image_records import (
    ImageFacts,
    ImageTally,
    NewImage,
    TrainingImage,
    is_near_duplicate,
    stored_label,
    stored_source,
)
from core.errors import NotFoundError
from core.labels import Label, LabelSchema

SOURCES = ("upload", "folder", "web_search", "prediction_review", "demo")
COLLECTION = "training_images"
FACT_FIELDS = {"label": 1, "is_labelled": 1, "source": 1, "created_at": 1, "near_duplicate_of": 1}


def ensure_indexes(database: Database) -> None:
    images = database[COLLECTION]
    images.create_index("sha256", unique=True)
    images.create_index([("created_at", DESCENDING)])
    images.create_index("is_labelled")
    images.create_index("source")
    # the grid's unfiltered counts group on these: nx-27017 answers a $group from the index
    images.create_index("label")
    images.create_index("near_duplicate_of")


@dataclass(frozen=True)
class ImageFilter:
    """Which training images a grid, a count or a bulk action is about; None means any."""

    is_labelled: bool | None = None
    label: Mapping[str, Any] = field(default_factory=dict)  # trait -> value
    source: str | None = None
    created_from: date | None = None
    created_to: date | None = None
    is_near_duplicate: bool | None = None

    @property
    def is_everything(self) -> bool:
        """True when no part of the filter is set: every image matches."""
        return not self.to_query()

    def to_query(self) -> dict[str, Any]:
        query: dict[str, Any] = {}
        if self.is_labelled is not None:
            query["is_labelled"] = self.is_labelled
        for trait, value in self.label.items():
            if value is not None:
                query[f"label.{trait}"] = value
        if self.source:
            query["source"] = self.source
        if created := created_between(self.created_from, self.created_to):
            query["created_at"] = created
        # forms that give the same answer on MongoDB and nx-27017 (whose $ne: None and
        # field: None disagree between find and count)
        if self.is_near_duplicate is True:
            query["near_duplicate_of"] = {"$type": "string"}
        elif self.is_near_duplicate is False:
            query["near_duplicate_of"] = {"$in": [None]}
        return query


class TrainingImageRepository:
    """Training images: bytes in GridFS, one document per image in `training_images`."""

    def __init__(self, database: Database) -> None:
        self._images = database[COLLECTION]
        self._features = database["image_features"]
        self._files = FileStore(database)

    def find_by_sha256(self, sha256: str) -> str | None:
        doc = self._images.find_one({"sha256": sha256}, {"_id": 1})
        return str(doc["_id"]) if doc else None

    def add(self, image: NewImage) -> str | None:
        """Store one image; return its id, or None when the same bytes are already stored."""
        image_file = self._files.put(image.data, image.filename)
        thumbnail_file = self._files.put(image.thumbnail, f"thumb-{image.filename}")
        now = utcnow()
        doc = {
            "filename": image.filename,
            "image": image_file,
            "thumbnail": thumbnail_file,
            "sha256": image.sha256,
            "width": image.width,
            "height": image.height,
            "format": image.format,
            "size_bytes": len(image.data),
            "perceptual_hash": image.perceptual_hash,
            "near_duplicate_of": image.near_duplicate_of,
            "label": dict(image.label),
            "is_labelled": image.is_labelled,
            "source": image.source,
            "source_url": image.source_url,
            "licence": image.licence,
            "creator": image.creator,
            "created_at": now,
            "labelled_at": now if image.label else None,
            "labelled_by": image.labelled_by if image.label else None,
            "history": [
                {"at": now, "by": image.labelled_by, "action": f"added from {image.source}"}
            ],
        }
        try:
            return str(self._images.insert_one(doc).inserted_id)
        except DuplicateKeyError:  # a concurrent import stored the same bytes first
            self._files.delete_many([image_file, thumbnail_file])
            return None

    def get(self, image_id: str) -> TrainingImage:
        doc = self._images.find_one({"_id": to_object_id(image_id, "image")})
        if doc is None:
            raise NotFoundError(f"No image with id {image_id!r}; reload the list and pick again.")
        return TrainingImage.from_document(doc)

    def image_bytes(self, image: TrainingImage) -> bytes:
        return self._files.get(image.image_file)

    def thumbnail_bytes(self, image: TrainingImage) -> bytes:
        if image.thumbnail_file is None:
            return self._files.get(image.image_file)
        return self._files.get(image.thumbnail_file)

    def find(
        self, image_filter: ImageFilter | None = None, *, skip: int = 0, limit: int = 48
    ) -> list[TrainingImage]:
        """A page of images matching the filter, newest first."""
        query = (image_filter or ImageFilter()).to_query()
        cursor = (
            self._images.find(query, {"history": 0})
            .sort([("created_at", DESCENDING), ("_id", DESCENDING)])
            .skip(skip)
            .limit(limit)
        )
        return [TrainingImage.from_document(doc) for doc in cursor]

    def count(self, image_filter: ImageFilter | None = None) -> int:
        return self._images.count_documents((image_filter or ImageFilter()).to_query())

    def ids(self, image_filter: ImageFilter | None = None) -> list[str]:
        query = (image_filter or ImageFilter()).to_query()
        return [str(d["_id"]) for d in self._images.find(query, {"_id": 1}).sort("_id", 1)]

    def perceptual_hashes(self) -> Iterator[tuple[str, str]]:
        """(id, perceptual hash) of every image, for near-duplicate checks."""
        cursor = self._images.find({"perceptual_hash": {"$ne": None}}, {"perceptual_hash": 1})
        for doc in cursor:
            yield str(doc["_id"]), doc["perceptual_hash"]

    def labelled(self) -> list[tuple[str, Label]]:
        """(id, label) of every fully labelled image, oldest first: the training set."""
        cursor = self._images.find({"is_labelled": True}, {"label": 1}).sort("_id", ASCENDING)
        return [(str(doc["_id"]), dict(doc["label"])) for doc in cursor]

    def image_file_ids(self, image_ids: Sequence[str]) -> dict[str, ObjectId]:
        """The GridFS file of each image, for loading many images one batch at a time."""
        object_ids = [to_object_id(i, "image") for i in image_ids]
        cursor = self._images.find({"_id": {"$in": object_ids}}, {"image": 1})
        return {str(doc["_id"]): doc["image"] for doc in cursor}

    def read_file(self, file_id: ObjectId) -> bytes:
        return self._files.get(file_id)

    def labels(self, image_ids: Sequence[str]) -> dict[str, Label]:
        """The current label of each of these images that still exists."""
        object_ids = [to_object_id(i, "image") for i in image_ids]
        cursor = self._images.find({"_id": {"$in": object_ids}}, {"label": 1})
        return {str(doc["_id"]): stored_label(doc.get("label")) for doc in cursor}

    def write_labels(
        self, labels: Mapping[str, Label], schema: LabelSchema, *, by: str, action: str
    ) -> int:
        """Replace each image's whole label and note it in its history; return images found.

        The only writer of labels: `is_labelled` follows the schema, and the history entry is
        added with `$addToSet`, not `$push`, which nx-27017 stores as JSON text (entries carry a
        timestamp, so nothing is merged away).
        """
        if not labels:
            return 0
        now = utcnow()
        operations = [
            UpdateOne(
                {"_id": to_object_id(image_id, "image")},
                {
                    "$set": {
                        "label": dict(label),
                        "is_labelled": schema.is_complete(label),
                        "labelled_at": now,
                        "labelled_by": by,
                    },
                    "$addToSet": {
                        "history": {"at": now, "by": by, "action": action, "label": dict(label)}
                    },
                },
            )
            for image_id, label in labels.items()
        ]
        return self._images.bulk_write(operations, ordered=False).matched_count

    def apply_label(
        self, image_ids: Sequence[str], update: Mapping[str, Any], schema: LabelSchema, *, by: str
    ) -> int:
        """Merge a (partial) label into each image; return how many images changed."""
        clean_update = schema.validate(update, partial=True)
        if not image_ids or not clean_update:
            return 0
        merged = {
            image_id: schema.merge(label, clean_update)
            for image_id, label in self.labels(image_ids).items()
        }
        return self.write_labels(merged, schema, by=by, action="labelled")

    def facts(self, *, after: str | None = None) -> list[ImageFacts]:
        """What filters look at, for every image (or those added after this id)."""
        if after:
            query = {"_id": {"$gt": to_object_id(after, "image")}}
            cursor = self._images.find(query, FACT_FIELDS)
        else:  # nx-27017 answers an aggregation about four times faster than the same find
            cursor = self._images.aggregate([{"$project": FACT_FIELDS}])
        return [ImageFacts.from_document(doc) for doc in cursor]

    def tally(self) -> ImageTally:
        """Images per status, source, duplicate flag and label, counted on the server.

        One `$group` per field, each answered from that field's index (nx-27017 takes ~20 ms
        each at 20,000 images, where reading every image's facts takes ~2 s).
        """
        is_labelled, source, near = Counter(), Counter(), Counter()
        for value, images in self._grouped("is_labelled"):
            is_labelled[bool(value)] += images  # nx-27017 gives back 1/0
        for value, images in self._grouped("source"):
            source[stored_source(value)] += images
        for value, images in self._grouped("near_duplicate_of"):
            near[is_near_duplicate(value)] += images
        labels = [(stored_label(value), images) for value, images in self._grouped("label")]
        return ImageTally(is_labelled, source, near, labels)

    def _grouped(self, field_name: str) -> list[tuple[Any, int]]:
        pipeline = [{"$group": {"_id": f"${field_name}", "images": {"$sum": 1}}}]
        return [(doc["_id"], doc["images"]) for doc in self._images.aggregate(pipeline)]

    def estimated_count(self) -> int:
        """The number of images from the collection's metadata (fast, no scan)."""
        return self._images.estimated_document_count()

    def delete(self, image_ids: Sequence[str]) -> int:
        """Delete these images with their GridFS files and cached features; empty deletes none."""
        if not image_ids:
            return 0
        object_ids = [to_object_id(i, "image") for i in image_ids]
        deleted = 0
        for doc in self._images.find({"_id": {"$in": object_ids}}, {"image": 1, "thumbnail": 1}):
            self._files.delete_many([doc.get("image"), doc.get("thumbnail")])
            self._features.delete_many({"image_id": str(doc["_id"])})
            deleted += self._images.delete_one({"_id": doc["_id"]}).deleted_count
        return deleted

    def counts_by(self, trait: str) -> dict[Any, int]:
        """How many labelled images have each value of a trait (counted in Python)."""
        counts: dict[Any, int] = {}
        # nx-27017 ignores dotted projections, so the whole label is read
        for doc in self._images.find({"is_labelled": True}, {"label": 1}):
            value = (doc.get("label") or {}).get(trait)
            if value is not None:
                counts[value] = counts.get(value, 0) + 1
        return counts
