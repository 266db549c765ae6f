"""The Training images page's work: counts, pages and bulk actions over one database.

Filters come from `core.services.filters`, the counts from `core.services.facet_counts`, and
labels are written by `TrainingImageRepository.write_labels` (one read and one bulk write per
batch, each distinct label merged once).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pymongo.database import Database

from core.db.training_image_records import ImageFacts, TrainingImage
from core.db.training_images import ImageFilter, TrainingImageRepository
from core.errors import UserError
from core.labels import Label, LabelSchema
from core.services.facet_counts import FacetCounts, FactsCache, count_facets, tally_counts
from core.services.filters import describe_update
from core.services.labelling import (
    BulkOutcome,
    LabelMerger,
    LabelWrite,
    Progress,
    batches,
    check_selection,
    plural,
)

PAGE_SIZES = (24, 48, 96)
BATCH_SIZE = 1000


@dataclass(frozen=True)
class GridPage:
    images: list[TrainingImage]
    page: int  # 1-based, clamped to the pages there are
    page_count: int
    matching: int


class ImageBrowser:
    """Pages, counts and bulk actions over the training images of one database.

    One instance is shared by every session of an app process (thread-safe), so the cached scan
    behind the counts is paid once, not once per visitor. With `totals_from_server`, the
    unfiltered view's counts and the values seen come from the server's tally (fast and current),
    so the first page after start does not wait for the scan: only a filter reads it.
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
        totals_from_server: bool = False,
    ) -> None:
        self.repository = TrainingImageRepository(database)
        self.schema = schema
        self.batch_size = batch_size
        self.totals_from_server = totals_from_server
        self.cache = FactsCache(
            self.repository,
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

    def read_ahead(self) -> None:
        """Read the facts behind filtered counts in the background (call after a page is shown)."""
        self.cache.read_ahead()

    def facts(self) -> list[ImageFacts]:
        return self.cache.rows()

    def counts(self, image_filter: ImageFilter) -> FacetCounts:
        if self.totals_from_server and image_filter.is_everything:
            counts = tally_counts(self.cache.tally(), self.schema)
            counts.scanned_at = self.cache.tallied_at
        else:
            counts = count_facets(self.facts(), image_filter, self.schema)
            counts.scanned_at = self.cache.scanned_at
        return counts

    def seen_values(self, trait: str) -> list[str]:
        """Values of a trait found in the training set (the breeds of an open schema)."""
        if self.totals_from_server:
            labels = [label for label, _ in self.cache.tally().labels]
        else:
            labels = [row.label for row in self.facts()]
        return sorted({str(label[trait]) for label in labels if label.get(trait)})

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
        merger = LabelMerger(self.schema, update)
        written = LabelWrite()
        done = 0
        for batch in batches(ids, self.batch_size):
            labels: dict[str, Label] = {}
            for image_id, current in self.repository.labels(batch).items():
                label = merger.merged(current)
                if isinstance(label, UserError):
                    written.skip(1, str(label))
                else:
                    labels[image_id] = label
            try:
                written.changed += self.repository.write_labels(
                    labels, self.schema, by=by, action=action
                )
            finally:
                changes = {
                    i: (label, self.schema.is_complete(label)) for i, label in labels.items()
                }
                self.cache.patch(changes)
            done += len(batch)
            if progress:
                progress(done, len(ids))
        return written
