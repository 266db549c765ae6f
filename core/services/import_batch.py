"""One import of many images: folder labels, the near-duplicate index, report and progress."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from pymongo.errors import PyMongoError

from core.db.training_images import TrainingImageRepository
from core.errors import UserError
from core.labels import Label, LabelSchema, label_from_folder_name
from core.services.imports import (
    CheckedImage,
    ImportOutcome,
    ImportReport,
    NearDuplicateIndex,
    check_image,
    store_checked,
)

Progress = Callable[[int, int, str], None]  # (done, total, current filename)


@dataclass
class ArchiveReport(ImportReport):
    """An import report plus notes about the whole import (e.g. folders that are not labels)."""

    notes: list[str] = field(default_factory=list)

    def extend(self, other: ImportReport) -> None:
        self.outcomes.extend(other.outcomes)
        self.notes.extend(getattr(other, "notes", []))


class FolderLabels:
    """The label of each member's folders: the deepest folder whose name is a label wins."""

    def __init__(self, schema: LabelSchema, fallback: Label | None) -> None:
        self._schema = schema
        self._fallback = fallback
        self._parsed: dict[str, Label | UserError] = {}
        self._unlabelled: dict[str, tuple[str, int]] = {}  # folder path -> (why, files)

    def _parse(self, name: str) -> Label | UserError:
        if name not in self._parsed:
            try:
                self._parsed[name] = label_from_folder_name(self._schema, name)
            except UserError as err:
                self._parsed[name] = err
        return self._parsed[name]

    def label_for(self, folders: Sequence[str]) -> Label | None:
        for name in reversed(folders):
            parsed = self._parse(name)
            if not isinstance(parsed, UserError):
                return parsed
        if folders and self._fallback is None:
            path = "/".join(folders)
            why, count = self._unlabelled.get(path, (str(self._parse(folders[-1])), 0))
            self._unlabelled[path] = (why, count + 1)
        return self._fallback

    def notes(self) -> list[str]:
        notes = []
        for path, (why, count) in self._unlabelled.items():
            files = f"{count} file{'s' if count != 1 else ''}"
            reason = why[:1].lower() + why[1:]
            notes.append(f"The {files} in {path + '/'!r} have no label, because {reason}")
        return notes


@dataclass(frozen=True)
class _Store:
    """An image being decoded in a worker, and how to store it when its turn comes."""

    shown: str
    checked: Future[CheckedImage | ImportOutcome]
    labelled_by: str | None
    origin: dict[str, str | None]


@dataclass(frozen=True)
class _Tick:
    filename: str


class ImportBatch:
    """One import: a shared near-duplicate index, the report, progress and a stop switch.

    Images are decoded in a pool of worker threads (Pillow decodes without the GIL) while this
    thread reads the next files; they are stored, reported and ticked in the order given. At
    most `in_flight` images wait at a time, so memory stays bounded however many are imported.
    `workers=0` decodes each image in this thread as it comes (web imports: the downloads are
    the slow part, and a decode beside them would only compete with their deadlines).
    """

    def __init__(
        self,
        repository: TrainingImageRepository,
        *,
        schema: LabelSchema,
        by: str,
        source: str,
        max_bytes: int,
        progress: Progress | None,
        label: Mapping[str, Any] | None = None,
        workers: int | None = None,
    ) -> None:
        self.repository, self.schema, self.by, self.source = repository, schema, by, source
        self.max_bytes = max_bytes
        self.label = schema.validate(label, partial=True) if label else None  # checked first
        self.labels = FolderLabels(schema, self.label)
        self.report = ArchiveReport()
        self.index = NearDuplicateIndex.load(repository)
        self.stop_reason: str | None = None  # set when the database stops answering
        self.done, self.total = 0, 0
        self._progress = progress
        self._workers = (os.cpu_count() or 1) if workers is None else max(0, workers)
        self.in_flight = self._workers + 1  # images decoded or waiting to be stored
        self._pool: ThreadPoolExecutor | None = None
        self._queue: deque[_Store | ImportOutcome | _Tick] = deque()
        self._stores = 0  # _Store entries in the queue

    def store(
        self,
        data: bytes,
        filename: str,
        label: Mapping[str, Any] | None,
        *,
        shown_as: str | None = None,
        **origin: str | None,
    ) -> None:
        """Import one image; the report names it shown_as (e.g. its URL) or its filename.

        origin: source_url, licence and creator of an image found on the web.
        """
        check = partial(
            check_image, data, filename, schema=self.schema, label=label, max_bytes=self.max_bytes
        )
        if self._workers == 0:  # decoded here and now
            checked: Future[CheckedImage | ImportOutcome] = Future()
            checked.set_result(check())
        else:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="import-decode")
            checked = self._pool.submit(check)
        labelled_by = self.by if label else None
        self._queue.append(_Store(shown_as or filename, checked, labelled_by, origin))
        self._stores += 1
        self._drain(self.in_flight)

    def reject(self, filename: str, reason: str) -> None:
        self._queue.append(ImportOutcome(filename, "rejected", reason=reason))
        self._drain(self.in_flight)

    def tick(self, filename: str) -> None:
        self._queue.append(_Tick(filename))
        self._drain(self.in_flight)

    def finish(self) -> ArchiveReport:
        """Wait for every image to be stored, then return the report."""
        self._drain(0)
        if self._pool is not None:
            self._pool.shutdown()
        self.report.notes.extend(self.labels.notes())
        return self.report

    def _drain(self, keep: int) -> None:
        """Store, report and tick in order until at most `keep` images are still waiting."""
        try:
            while self._queue and (self._stores > keep or not isinstance(self._queue[0], _Store)):
                entry = self._queue.popleft()
                if isinstance(entry, _Store):
                    self._stores -= 1
                    self.report.add(self._write(entry))
                elif isinstance(entry, ImportOutcome):
                    self.report.add(entry)
                else:
                    self.done += 1
                    if self._progress:
                        self._progress(self.done, max(self.total, self.done), entry.filename)
        except BaseException:  # a bug or an interrupt: stop the workers, keep what is stored
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
            raise

    def _write(self, entry: _Store) -> ImportOutcome:
        """Store one checked image (its decode waited for), or say why it was not."""
        checked = entry.checked.result()
        if self.stop_reason:
            return ImportOutcome(entry.shown, "rejected", reason=self.stop_reason)
        if isinstance(checked, ImportOutcome):
            return replace(checked, filename=entry.shown)
        try:
            outcome = store_checked(
                self.repository,
                checked,
                source=self.source,
                labelled_by=entry.labelled_by,
                near_duplicates=self.index,
                **entry.origin,
            )
        except PyMongoError as err:
            self.stop_reason = (
                f"Not imported: the database stopped answering at {entry.shown!r} "
                f"({type(err).__name__}); the images stored before it are kept, so run the "
                "import again to add the rest (already stored ones are skipped)."
            )
            return ImportOutcome(entry.shown, "rejected", reason=self.stop_reason)
        return replace(outcome, filename=entry.shown)
