"""The Training images grid's counts per filter value.

Counting documents is slow on the embedded server (~0.5 s or more per count over 20,000 images,
~2 s to read every image's facts). Filtered counts come from one cached scan of the few fields
filters look at (`ImageFacts`), refreshed when the number of images changes, after our own
changes, and at most `max_age_s` seconds after the last scan. The unfiltered view's counts can
instead come from a tally the server groups on its indexes (`ImageTally`), current and fast.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC
from typing import Any

from bson import ObjectId

from core.db.training_image_records import ImageFacts, ImageTally
from core.db.training_images import ImageFilter, TrainingImageRepository
from core.labels import Label, LabelSchema
from core.services.filters import DUPLICATE_CHOICES

RECHECK_AFTER_S = 2.0  # within one page render, trust the scan without asking the server


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
        if wanted is not None and facts.label.get(trait) != wanted:
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
    scanned_at: float = 0.0  # time.time() of the scan or tally the counts come from

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
                trait_counts[row.label.get(trait)] += 1
    return counts


def tally_counts(tally: ImageTally, schema: LabelSchema) -> FacetCounts:
    """The unfiltered view's counts (every image matches) from the server's tally."""
    total = tally.total
    counts = FacetCounts(
        total=total, matching=total, traits={t.name: Counter() for t in schema.traits}
    )
    for is_labelled, images in tally.is_labelled.items():
        counts.status["labelled" if is_labelled else "unlabelled"] += images
    counts.source.update(tally.source)
    counts.duplicates.update(tally.is_near_duplicate)
    for label, images in tally.labels:
        for trait, trait_counts in counts.traits.items():
            trait_counts[label.get(trait)] += images
    return counts


class FactsCache:
    """The scan behind the counts, kept current without reading everything on each page.

    Our own label and delete writes patch it in place; images added elsewhere are fetched by id
    (ObjectIds grow with time); any other change in the number of images reads everything
    again. Changes made elsewhere that keep the number (a label set by another process) show
    after `max_age_s`, read in the background once a scan exists, so no page waits for it.
    The server's tally is reused for `RECHECK_AFTER_S` and dropped by our own writes.
    """

    def __init__(
        self,
        repository: TrainingImageRepository,
        *,
        max_age_s: float,
        clock: Callable[[], float],
        in_background: bool = True,
    ) -> None:
        self._repository = repository
        self._max_age_s = max_age_s
        self._clock = clock
        self._in_background = in_background
        self._lock = threading.Lock()
        self._rows: dict[str, ImageFacts] | None = None
        self._newest: str | None = None  # the newest ObjectId seen, as hex
        self._scanned_at = self._checked_at = 0.0
        self._generation = 0  # bumped by every patch, so a slower background scan is dropped
        self._refresher: threading.Thread | None = None
        self._tally: ImageTally | None = None
        self._tallied_at = 0.0
        self.scans = 0  # full reads so far (for tests and benchmarks)

    @property
    def scanned_at(self) -> float:
        return self._scanned_at

    @property
    def tallied_at(self) -> float:
        return self._tallied_at

    def rows(self) -> list[ImageFacts]:
        refresher = self._refresher
        if self._rows is None and refresher is not None:
            refresher.join()  # a first read started by read_ahead(): wait, don't read twice
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

    def read_ahead(self) -> None:
        """Start reading every image's facts in the background (when refreshes run there)."""
        with self._lock:
            if self._rows is None and self._in_background:
                self._refresh(self._clock())

    def tally(self) -> ImageTally:
        """Every image counted per value on the server, reused within one page render."""
        with self._lock:
            now = self._clock()
            if self._tally is None or now - self._tallied_at > RECHECK_AFTER_S:
                self._tally, self._tallied_at = self._repository.tally(), now
            return self._tally

    def recheck(self) -> None:
        """Ask the server for the number of images on the next read (after an import)."""
        with self._lock:
            self._checked_at = 0.0
            self._tally = None

    def invalidate(self) -> None:
        """Read everything again on the next read."""
        with self._lock:
            self._rows = self._tally = None
            self._generation += 1

    def patch(self, changes: Mapping[str, tuple[Label, bool]]) -> None:
        """New labels written by us: id -> (label, is_labelled)."""
        with self._lock:
            self._generation += 1
            self._tally = None
            for image_id, (label, is_labelled) in changes.items():
                if self._rows is not None and image_id in self._rows:
                    row = self._rows[image_id]
                    self._rows[image_id] = replace(row, label=label, is_labelled=is_labelled)

    def remove(self, image_ids: Iterable[str]) -> None:
        """Images deleted by us."""
        with self._lock:
            self._generation += 1
            self._tally = None
            for image_id in image_ids:
                if self._rows is not None:
                    self._rows.pop(image_id, None)

    def wait(self, timeout_s: float = 30.0) -> None:
        """Wait for a background read to finish (tests)."""
        if self._refresher is not None:
            self._refresher.join(timeout_s)

    def _scan(self) -> list[ImageFacts]:
        self.scans += 1
        return self._repository.facts()

    def _install(self, rows: list[ImageFacts], now: float) -> None:
        self._rows, self._newest = {}, None
        self._add(rows)
        self._scanned_at = self._checked_at = now

    def _add(self, rows: Iterable[ImageFacts]) -> None:
        assert self._rows is not None
        for row in rows:
            self._rows[row.id] = row
            # the hex of ObjectIds sorts as they do
            if ObjectId.is_valid(row.id) and (self._newest is None or row.id > self._newest):
                self._newest = row.id

    def _catch_up(self, now: float) -> None:
        assert self._rows is not None
        stored = self._repository.estimated_count()
        if stored > len(self._rows) and self._newest is not None:
            self._add(self._repository.facts(after=self._newest))
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
        rows = self._scan()  # outside the lock: pages keep using the old rows meanwhile
        with self._lock:
            if generation == self._generation:
                self._install(rows, self._clock())
