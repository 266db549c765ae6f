"""One import of many images: folder labels, the near-duplicate index, report and progress."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pymongo.errors import PyMongoError

from core.db.training_images import TrainingImageRepository
from core.errors import UserError
from core.labels import Label, LabelSchema, label_from_folder_name
from core.services.imports import ImportOutcome, ImportReport, NearDuplicateIndex, import_image

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


class ImportBatch:
    """One import: a shared near-duplicate index, the report, progress and a stop switch."""

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
        shown = shown_as or filename
        try:
            outcome = import_image(
                self.repository,
                data,
                filename,
                source=self.source,
                schema=self.schema,
                label=label,
                labelled_by=self.by if label else None,
                near_duplicates=self.index,
                max_bytes=self.max_bytes,
                **origin,
            )
            outcome = replace(outcome, filename=shown)
        except PyMongoError as err:
            self.stop_reason = (
                f"Not imported: the database stopped answering at {shown!r} "
                f"({type(err).__name__}); the images stored before it are kept, so run the "
                "import again to add the rest (already stored ones are skipped)."
            )
            outcome = ImportOutcome(shown, "rejected", reason=self.stop_reason)
        self.report.add(outcome)

    def reject(self, filename: str, reason: str) -> None:
        self.report.add(ImportOutcome(filename, "rejected", reason=reason))

    def tick(self, filename: str) -> None:
        self.done += 1
        if self._progress:
            self._progress(self.done, max(self.total, self.done), filename)

    def finish(self) -> ArchiveReport:
        self.report.notes.extend(self.labels.notes())
        return self.report
