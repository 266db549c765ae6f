"""The Training images page's work: filters from widget values, counts, pages, bulk actions.

Counting documents is slow on the embedded server (~0.5 s or more per count over 20,000 images),
so the counts of every filter value come from one cached scan of the few fields filters look at
(`ImageFacts`), refreshed when the number of images changes, after our own changes, and at most
`max_age_s` seconds after the last scan. Bulk labels read a batch of labels at once, merge each
distinct label once, and write the batch with one `bulk_write`.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from bson import ObjectId
from pymongo import UpdateOne
from pymongo.collection import Collection
from pymongo.database import Database

from core.db.mongo import to_object_id
from core.db.training_images import (
    COLLECTION,
    SOURCES,
    ImageFilter,
    TrainingImage,
    TrainingImageRepository,
    utcnow,
)
from core.errors import UserError
from core.labels import Label, LabelSchema, LabelValue, Trait
from core.services.filters import check_date_range

Progress = Callable[[int, int], None]  # (done, total)

STATUSES = ("all", "labelled", "unlabelled")
DUPLICATE_CHOICES = ("all", "only possible duplicates", "no possible duplicates")
PAGE_SIZES = (24, 48, 96)
BATCH_SIZE = 1000
RECHECK_AFTER_S = 2.0  # within one page render, trust the scan without asking the server
FACT_FIELDS = {"label": 1, "is_labelled": 1, "source": 1, "created_at": 1, "near_duplicate_of": 1}


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


@dataclass(frozen=True)
class GridFilter(ImageFilter):
    """An ImageFilter whose queries give the same results on MongoDB and on nx-27017.

    nx-27017 answers `{"near_duplicate_of": {"$ne": None}}` with every document, so the
    possible-duplicate test uses `$type: "string"` / `$in: [None]`, which both servers agree on.
    """

    def to_query(self) -> dict[str, Any]:
        query = ImageFilter(
            is_labelled=self.is_labelled,
            label=self.label,
            source=self.source,
            created_from=self.created_from,
            created_to=self.created_to,
        ).to_query()
        if self.is_near_duplicate is True:
            query["near_duplicate_of"] = {"$type": "string"}
        elif self.is_near_duplicate is False:
            query["near_duplicate_of"] = {"$in": [None]}
        return query


def build_filter(
    schema: LabelSchema,
    *,
    status: str = "all",
    traits: Mapping[str, Any] | None = None,
    source: str | None = None,
    created_from: date | None = None,
    created_to: date | None = None,
    duplicates: str = "all",
) -> GridFilter:
    """The filter the page's widgets describe; None or "all" means any value."""
    if status not in STATUSES:
        raise UserError(f"Status {status!r} is not known; use one of: {', '.join(STATUSES)}.")
    if duplicates not in DUPLICATE_CHOICES:
        raise UserError(
            f"Duplicate choice {duplicates!r} is not known; use one of: "
            f"{', '.join(DUPLICATE_CHOICES)}."
        )
    if source is not None and source not in SOURCES:
        raise UserError(f"Source {source!r} is not known; use one of: {', '.join(SOURCES)}.")
    check_date_range(created_from, created_to)
    label = schema.filter_values(traits)
    return GridFilter(
        is_labelled={"all": None, "labelled": True, "unlabelled": False}[status],
        label=label,
        source=source,
        created_from=created_from,
        created_to=created_to,
        is_near_duplicate={"all": None, DUPLICATE_CHOICES[1]: True, DUPLICATE_CHOICES[2]: False}[
            duplicates
        ],
    )


def trait_choices(trait: Trait, seen: Sequence[Any] = ()) -> list[LabelValue | None]:
    """The values a trait filter or label widget offers: None (any) first, then the values."""
    if trait.is_boolean:
        return [None, True, False]
    values = list(trait.values) or sorted({str(v) for v in seen})
    return [None, *values]


def value_text(value: Any) -> str:
    """A trait value as people read it: yes/no for booleans, the value otherwise."""
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value)


def describe_update(schema: LabelSchema, update: Mapping[str, Any]) -> str:
    """A partial label as text, e.g. "Colour: blue, Tabby: yes"."""
    return ", ".join(
        f"{t.title}: {value_text(update[t.name])}" for t in schema.traits if t.name in update
    )


@dataclass(frozen=True)
class ImageFacts:
    """What filters look at for one image (one row of the cached scan)."""

    id: str
    is_labelled: bool
    label: Mapping[str, Any]
    source: str
    created_at: datetime
    is_near_duplicate: bool

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> ImageFacts:
        created = doc.get("created_at") or datetime.min.replace(tzinfo=UTC)
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        near = doc.get("near_duplicate_of")
        return cls(
            id=str(doc["_id"]),
            is_labelled=bool(doc.get("is_labelled")),
            label=dict(doc.get("label") or {}),
            source=doc.get("source") or "upload",
            created_at=created,
            is_near_duplicate=isinstance(near, str) and bool(near),
        )


def _same_value(stored: Any, wanted: Any) -> bool:
    if isinstance(wanted, bool):  # nx-27017 may hand back booleans set by $set as 1/0
        return stored is not None and not isinstance(stored, str) and bool(stored) is wanted
    return stored == wanted


def failed_checks(facts: ImageFacts, image_filter: ImageFilter) -> list[str]:
    """The filter parts an image fails: "status", "source", "dates", "duplicates", traits."""
    failed = []
    if image_filter.is_labelled is not None and facts.is_labelled != image_filter.is_labelled:
        failed.append("status")
    if image_filter.source and facts.source != image_filter.source:
        failed.append("source")
    day = facts.created_at.astimezone(UTC).date()
    if (image_filter.created_from and day < image_filter.created_from) or (
        image_filter.created_to and day > image_filter.created_to
    ):
        failed.append("dates")
    near = image_filter.is_near_duplicate
    if near is not None and facts.is_near_duplicate != near:
        failed.append("duplicates")
    for trait, wanted in image_filter.label.items():
        if wanted is not None and not _same_value(facts.label.get(trait), wanted):
            failed.append(trait)
    return failed


@dataclass
class FacetCounts:
    """How many images match the filter, and how many each filter value would give.

    Each dimension's counts keep every other part of the filter, so "blue (120)" says how many
    images choosing blue would show.
    """

    total: int = 0  # images in the training set
    matching: int = 0  # images that match the whole filter
    status: Counter = field(default_factory=Counter)  # "labelled"/"unlabelled" -> count
    source: Counter = field(default_factory=Counter)
    duplicates: Counter = field(default_factory=Counter)  # True/False -> count
    traits: dict[str, Counter] = field(default_factory=dict)  # trait -> value -> count
    scanned_at: float = 0.0  # time.time() of the scan the counts come from

    def for_status(self, status: str) -> int:
        if status == "all":
            return self.status["labelled"] + self.status["unlabelled"]
        return self.status[status]

    def for_duplicates(self, choice: str) -> int:
        if choice == "all":
            return self.duplicates[True] + self.duplicates[False]
        return self.duplicates[choice == DUPLICATE_CHOICES[1]]

    def for_source(self, source: str | None) -> int:
        return sum(self.source.values()) if source is None else self.source[source]

    def for_trait(self, trait: str, value: Any) -> int:
        counts = self.traits.get(trait, Counter())
        return sum(counts.values()) if value is None else counts[value]


def count_facets(
    rows: Sequence[ImageFacts], image_filter: ImageFilter, schema: LabelSchema
) -> FacetCounts:
    """Counts per filter value (each keeping the rest of the filter) from the scanned rows."""
    counts = FacetCounts(total=len(rows), traits={t.name: Counter() for t in schema.traits})
    boolean_traits = {t.name for t in schema.traits if t.is_boolean}
    for row in rows:
        failed = failed_checks(row, image_filter)
        if len(failed) > 1:
            continue
        miss = failed[0] if failed else None
        if miss is None:
            counts.matching += 1
        if miss in (None, "status"):
            counts.status["labelled" if row.is_labelled else "unlabelled"] += 1
        if miss in (None, "source"):
            counts.source[row.source] += 1
        if miss in (None, "duplicates"):
            counts.duplicates[row.is_near_duplicate] += 1
        for trait, trait_counts in counts.traits.items():
            if miss in (None, trait):
                value = row.label.get(trait)
                if value is not None and trait in boolean_traits:
                    value = bool(value)  # nx-27017 may hand back 1/0
                trait_counts[value] += 1
    return counts


@dataclass(frozen=True)
class GridPage:
    images: list[TrainingImage]
    page: int  # 1-based, clamped to the pages there are
    page_count: int
    matching: int


@dataclass(frozen=True)
class BulkOutcome:
    """What a bulk action did, with the sentence the page shows."""

    changed: int
    message: str

    def __str__(self) -> str:
        return self.message


def batches(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _label_key(label: Mapping[str, Any] | None) -> tuple:
    return tuple(sorted((label or {}).items()))


def history_rows(image: TrainingImage) -> list[dict[str, Any]]:
    """An image's history as rows (at, by, action, label); tolerates entries stored as JSON text
    (nx-27017 turns array elements into JSON strings after a `$push`)."""
    rows = []
    for entry in image.history:
        if isinstance(entry, str):
            try:
                entry = json.loads(entry)
            except ValueError:
                entry = {"action": entry}
        if not isinstance(entry, Mapping):
            continue
        at = entry.get("at")
        if isinstance(at, Mapping):
            at = at.get("$date")
        rows.append(
            {
                "at": at,
                "by": entry.get("by") or "",
                "action": entry.get("action", ""),
                "label": entry.get("label"),
            }
        )
    return rows


class FactsCache:
    """The scan behind the counts, kept current without reading everything on each page.

    Our own label and delete writes patch it in place; images added elsewhere are fetched by id
    (ObjectIds grow with time); any other change in the number of images reads everything
    again. Changes made elsewhere that keep the number (a label set by another process) show
    after `max_age_s`, read in the background once a scan exists, so no page waits for it.
    """

    def __init__(
        self,
        collection: Collection,
        *,
        max_age_s: float,
        clock: Callable[[], float],
        in_background: bool = True,
    ) -> None:
        self._collection = collection
        self._max_age_s = max_age_s
        self._clock = clock
        self._in_background = in_background
        self._lock = threading.Lock()
        self._rows: dict[str, ImageFacts] | None = None
        self._newest: ObjectId | None = None
        self._scanned_at = self._checked_at = 0.0
        self._generation = 0  # bumped by every patch, so a slower background scan is dropped
        self._refresher: threading.Thread | None = None
        self.scans = 0  # full reads so far (for tests and benchmarks)

    @property
    def scanned_at(self) -> float:
        return self._scanned_at

    def rows(self) -> list[ImageFacts]:
        with self._lock:
            now = self._clock()
            if self._rows is None:
                self._install(self._scan(), now)
            elif now - self._checked_at > RECHECK_AFTER_S:
                self._checked_at = now
                self._catch_up(now)
            if now - self._scanned_at > self._max_age_s:
                self._refresh(now)
            assert self._rows is not None
            return list(self._rows.values())

    def recheck(self) -> None:
        """Ask the server for the number of images on the next read (after an import)."""
        with self._lock:
            self._checked_at = 0.0

    def invalidate(self) -> None:
        """Read everything again on the next read."""
        with self._lock:
            self._rows = None
            self._generation += 1

    def patch(self, changes: Mapping[str, tuple[Label, bool]]) -> None:
        """New labels written by us: id -> (label, is_labelled)."""
        with self._lock:
            self._generation += 1
            for image_id, (label, is_labelled) in changes.items():
                if self._rows is not None and image_id in self._rows:
                    row = self._rows[image_id]
                    self._rows[image_id] = replace(row, label=label, is_labelled=is_labelled)

    def remove(self, image_ids: Iterable[str]) -> None:
        """Images deleted by us."""
        with self._lock:
            self._generation += 1
            for image_id in image_ids:
                if self._rows is not None:
                    self._rows.pop(image_id, None)

    def wait(self, timeout_s: float = 30.0) -> None:
        """Wait for a background read to finish (tests)."""
        if self._refresher is not None:
            self._refresher.join(timeout_s)

    def _scan(self) -> list[Mapping[str, Any]]:
        self.scans += 1
        return list(self._collection.find({}, FACT_FIELDS))

    def _install(self, docs: list[Mapping[str, Any]], now: float) -> None:
        self._rows, self._newest = {}, None
        self._add(docs)
        self._scanned_at = self._checked_at = now

    def _add(self, docs: Iterable[Mapping[str, Any]]) -> None:
        assert self._rows is not None
        for doc in docs:
            self._rows[str(doc["_id"])] = ImageFacts.from_document(doc)
            if isinstance(doc["_id"], ObjectId) and (
                self._newest is None or doc["_id"] > self._newest
            ):
                self._newest = doc["_id"]

    def _catch_up(self, now: float) -> None:
        assert self._rows is not None
        stored = self._collection.estimated_document_count()
        if stored > len(self._rows) and self._newest is not None:
            self._add(self._collection.find({"_id": {"$gt": self._newest}}, FACT_FIELDS))
        if stored != len(self._rows):  # deleted elsewhere, or ids out of order: read it all
            self._install(self._scan(), now)

    def _refresh(self, now: float) -> None:
        if not self._in_background:
            self._install(self._scan(), now)
            return
        if self._refresher is not None and self._refresher.is_alive():
            return
        self._refresher = threading.Thread(
            target=self._refresh_now, args=(self._generation,), daemon=True
        )
        self._refresher.start()

    def _refresh_now(self, generation: int) -> None:
        docs = self._scan()  # outside the lock: pages keep using the old rows meanwhile
        with self._lock:
            if generation == self._generation:
                self._install(docs, self._clock())


class ImageBrowser:
    """Pages, counts and bulk actions over the training images of one database.

    One instance is shared by every session of an app process (thread-safe), so the cached scan
    behind the counts is paid once, not once per visitor.
    """

    def __init__(
        self,
        database: Database,
        schema: LabelSchema,
        *,
        max_age_s: float = 60.0,
        batch_size: int = BATCH_SIZE,
        clock: Callable[[], float] = time.time,
        refresh_in_background: bool = True,
    ) -> None:
        self.repository = TrainingImageRepository(database)
        self.schema = schema
        self._images = database[COLLECTION]
        self.batch_size = batch_size
        self.cache = FactsCache(
            self._images,
            max_age_s=max_age_s,
            clock=clock,
            in_background=refresh_in_background,
        )

    # ----- reading -----------------------------------------------------------------------

    def invalidate(self) -> None:
        """Read every image's facts again before the next counts ("Refresh counts")."""
        self.cache.invalidate()

    def recheck(self) -> None:
        """Look for images added elsewhere before the next counts (after an import)."""
        self.cache.recheck()

    def facts(self) -> list[ImageFacts]:
        return self.cache.rows()

    def counts(self, image_filter: ImageFilter) -> FacetCounts:
        counts = count_facets(self.facts(), image_filter, self.schema)
        counts.scanned_at = self.cache.scanned_at
        return counts

    def seen_values(self, trait: str) -> list[str]:
        """Values of a trait found in the training set (the breeds of an open schema)."""
        return sorted({str(r.label[trait]) for r in self.facts() if r.label.get(trait)})

    def page(
        self, image_filter: ImageFilter, *, page: int, page_size: int, matching: int
    ) -> GridPage:
        """One page of the images matching the filter, newest first."""
        if page_size not in PAGE_SIZES:
            raise UserError(
                f"Page size {page_size!r} is not offered; use one of: "
                f"{', '.join(map(str, PAGE_SIZES))}."
            )
        page_count = max(1, -(-matching // page_size))
        page = min(max(1, page), page_count)
        images = self.repository.find(image_filter, skip=(page - 1) * page_size, limit=page_size)
        return GridPage(images, page, page_count, matching)

    def matching_ids(self, image_filter: ImageFilter) -> list[str]:
        """Every image id that matches the filter now (for "select all matching")."""
        return self.repository.ids(image_filter)

    # ----- bulk actions ------------------------------------------------------------------

    def apply_label(
        self,
        image_ids: Sequence[str],
        update: Mapping[str, Any],
        *,
        by: str,
        progress: Progress | None = None,
    ) -> BulkOutcome:
        """Merge a (partial) label into every selected image; only the chosen traits change."""
        clean = self.schema.validate(update, partial=True)
        if not clean:
            raise UserError("Choose a value for at least one trait; nothing was labelled.")
        ids = check_selection(image_ids, "labelled")
        written = self._write_labels(ids, clean, by=by, action="labelled", progress=progress)
        what = describe_update(self.schema, clean)
        done = f"Labelled {plural(written.changed, 'image')} ({what})."
        return BulkOutcome(written.changed, done + written.notes(len(ids)))

    def mark_not_cat(
        self, image_ids: Sequence[str], *, by: str, progress: Progress | None = None
    ) -> BulkOutcome:
        """Label the selected images as not a cat (the schema's gate trait set to no)."""
        gate = self.schema.gate
        if gate is None:
            raise UserError(
                f"The {self.schema.title} labels have no yes/no gate such as 'is it a cat', so "
                "there is nothing to mark; delete images that do not belong instead."
            )
        ids = check_selection(image_ids, "marked")
        written = self._write_labels(
            ids, {gate.name: False}, by=by, action=f"marked not {gate.title.lower()}",
            progress=progress,
        )  # fmt: skip
        done = f"Marked {plural(written.changed, 'image')} as not a {gate.title.lower()}."
        return BulkOutcome(written.changed, done + written.notes(len(ids)))

    def delete(self, image_ids: Sequence[str], *, progress: Progress | None = None) -> BulkOutcome:
        """Delete the selected images with their files and cached features."""
        ids = check_selection(image_ids, "deleted")
        deleted = done = 0
        for batch in batches(ids, self.batch_size):
            try:
                deleted += self.repository.delete(batch)
            finally:
                self.cache.remove(batch)
            done += len(batch)
            if progress:
                progress(done, len(ids))
        written = LabelWrite(changed=deleted)
        message = f"Deleted {plural(deleted, 'image')} with their files."
        return BulkOutcome(deleted, message + written.notes(len(ids)))

    def _write_labels(
        self,
        ids: Sequence[str],
        update: Label,
        *,
        by: str,
        action: str,
        progress: Progress | None,
    ) -> LabelWrite:
        """Merge the update into each image's label: one read and one bulk write per batch.

        Images the update cannot apply to (a colour for an image marked not a cat) are skipped
        and counted, so one odd image never stops a bulk label half-way.
        """
        now = utcnow()
        written = LabelWrite()
        merged: dict[tuple, Label | UserError] = {}  # labels repeat: merge each one once
        done = 0
        for batch in batches(ids, self.batch_size):
            operations = []
            changes: dict[str, tuple[Label, bool]] = {}
            query = {"_id": {"$in": [ObjectId(i) for i in batch]}}
            for doc in self._images.find(query, {"label": 1}):
                current = doc.get("label") or {}
                key = _label_key(current)
                if key not in merged:
                    merged[key] = self._merged(current, update)
                label = merged[key]
                if isinstance(label, UserError):
                    written.skip(1, str(label))
                    continue
                is_complete = self.schema.is_complete(label)
                entry = {"at": now, "by": by, "action": action, "label": label}
                change = {
                    "$set": {
                        "label": label,
                        "is_labelled": is_complete,
                        "labelled_at": now,
                        "labelled_by": by,
                    },
                    # $addToSet, not $push: nx-27017 stores $push-ed documents as JSON text;
                    # entries carry a timestamp, so nothing is merged away
                    "$addToSet": {"history": entry},
                }
                operations.append(UpdateOne({"_id": doc["_id"]}, change))
                changes[str(doc["_id"])] = (label, is_complete)
            if operations:
                try:
                    result = self._images.bulk_write(operations, ordered=False)
                finally:
                    self.cache.patch(changes)
                written.changed += result.matched_count
            done += len(batch)
            if progress:
                progress(done, len(ids))
        return written

    def _merged(self, current: Mapping[str, Any], update: Label) -> Label | UserError:
        """The new label of an image, or why the update does not apply to it."""
        try:
            label = self.schema.merge(current, update)
        except UserError as err:
            return err
        for name, value in update.items():
            if label.get(name) != value:  # a gated trait on an image whose gate is no
                trait = self.schema.trait(name)
                gate = self.schema.trait(trait.gated_by) if trait.gated_by else trait
                return UserError(
                    f"{trait.title} does not apply to images whose {gate.title} is no; "
                    f"set {gate.title} to yes first."
                )
        return label


@dataclass
class LabelWrite:
    """How a bulk write went: images changed, images skipped and why."""

    changed: int = 0
    skipped: int = 0
    skip_reason: str | None = None

    def skip(self, count: int, reason: str) -> None:
        self.skipped += count
        self.skip_reason = self.skip_reason or reason

    def notes(self, asked: int) -> str:
        """Sentences about the images that were not changed (empty when all were)."""
        text = ""
        if self.skipped:
            text += f" Skipped {plural(self.skipped, 'image')}: {self.skip_reason}"
        missing = asked - self.changed - self.skipped
        if missing > 0:
            text += f" {plural(missing, 'selected image')} had already been deleted."
        return text


def check_selection(image_ids: Iterable[str], verb: str) -> list[str]:
    """The selected ids, each checked, without repeats; UserError when none is selected."""
    image_ids = list(image_ids)
    if not image_ids:
        raise UserError(
            f"No images are selected, so nothing was {verb}; tick some images or use "
            "Select all matching first."
        )
    unique = list(dict.fromkeys(str(i) for i in image_ids))
    for image_id in unique:
        to_object_id(image_id, "image")
    return unique
