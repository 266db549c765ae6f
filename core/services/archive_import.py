"""Importing many images at once: uploaded files, zip archives and folder trees.

Folders named like labels (``blue/``, ``red_tabby_van/``, ``not_cat/``, or a breed for the dog
schema) label the images inside them; see docs/importing.md. Zip members are read one at a
time into memory through ``ZipFile.open`` with a size cap, never extracted to disk.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from pymongo.errors import PyMongoError

from core.db.training_images import TrainingImageRepository
from core.errors import UserError
from core.images import DEFAULT_MAX_BYTES, IMAGE_SUFFIXES, is_image_filename, read_limited
from core.labels import Label, LabelSchema, label_from_folder_name
from core.services.imports import ImportOutcome, ImportReport, NearDuplicateIndex, import_image

MEBIBYTE = 1024 * 1024
# Members smaller than this are not checked for their compression ratio: they cannot hurt.
RATIO_CHECK_MIN_BYTES = MEBIBYTE
ARCHIVE_SUFFIXES = (
    ".zip", ".tar", ".tgz", ".gz", ".bz2", ".tbz2", ".xz", ".txz", ".zst", ".7z", ".rar",
    ".lz", ".lzma", ".cab", ".iso", ".jar",
)  # fmt: skip
JUNK_NAMES = {"__macosx", "thumbs.db", "desktop.ini"}  # skipped silently, like hidden files
# Deflate output is bounded per read; bzip2/LZMA members would decompress a whole block at once.
ACCEPTED_COMPRESSION = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}
_MEMBER_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, RuntimeError)
_IMAGE_TYPES = ", ".join(sorted({s.lstrip(".") for s in IMAGE_SUFFIXES}))

Progress = Callable[[int, int, str], None]  # (done, total, current filename)


@dataclass(frozen=True)
class ArchiveLimits:
    """Limits that keep a zip from exhausting memory or time (zip bombs, huge archives)."""

    max_entries: int = 5000
    max_member_bytes: int = 20 * MEBIBYTE
    max_total_bytes: int = 2 * 1024 * MEBIBYTE
    max_ratio: float = 100.0


@dataclass
class ArchiveReport(ImportReport):
    """An import report plus notes about the whole import (e.g. folders that are not labels)."""

    notes: list[str] = field(default_factory=list)

    def extend(self, other: ImportReport) -> None:
        self.outcomes.extend(other.outcomes)
        self.notes.extend(getattr(other, "notes", []))


def size_text(num_bytes: float) -> str:
    """A byte count for messages: "20 MB", "2 GB", "512 KB"."""
    for unit, name in ((1024 * MEBIBYTE, "GB"), (MEBIBYTE, "MB"), (1024, "KB")):
        if num_bytes >= unit:
            return f"{num_bytes / unit:.3g} {name}"
    return f"{int(num_bytes)} bytes"


class _FolderLabels:
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


class _Batch:
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
        fallback_label: Label | None = None,
    ) -> None:
        self.repository, self.schema, self.by, self.source = repository, schema, by, source
        self.max_bytes = max_bytes
        self.labels = _FolderLabels(schema, fallback_label)
        self.report = ArchiveReport()
        self.index = NearDuplicateIndex.load(repository)
        self.stop_reason: str | None = None  # set when the database stops answering
        self.done, self.total = 0, 0
        self._progress = progress

    def store(self, data: bytes, filename: str, label: Mapping[str, Any] | None) -> None:
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
            )
        except PyMongoError as err:
            self.stop_reason = (
                f"Not imported: the database stopped answering at {filename!r} "
                f"({type(err).__name__}); the images stored before it are kept, so run the "
                "import again to add the rest (already stored ones are skipped)."
            )
            outcome = ImportOutcome(filename, "rejected", reason=self.stop_reason)
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


# --- zip archives -------------------------------------------------------------------------


def _split_member(name: str) -> tuple[list[str], bool]:
    """The parts of a member path and whether the path is unsafe (absolute or with '..')."""
    normal = name.replace("\\", "/")
    parts = [p for p in normal.split("/") if p not in ("", ".")]
    is_unsafe = (
        normal.startswith("/")
        or ".." in parts
        or (bool(parts) and len(parts[0]) == 2 and parts[0][1] == ":")  # C:
    )
    return parts, is_unsafe


def _is_hidden(parts: Sequence[str]) -> bool:
    return any(p.startswith(".") or p.lower() in JUNK_NAMES for p in parts)


def _member_problem(info: zipfile.ZipInfo, limits: ArchiveLimits) -> str | None | bool:
    """Why a member is not imported (a sentence), False to skip it silently, None to read it."""
    parts, is_unsafe = _split_member(info.filename)
    name = info.filename
    if is_unsafe:
        return f"{name!r} has an unsafe path (absolute or with '..'), so it was not imported."
    if info.is_dir() or not parts or _is_hidden(parts):
        return False
    if stat.S_ISLNK(info.external_attr >> 16):
        return f"{name!r} is a symbolic link, which is never followed; put the image itself in."
    lowered = parts[-1].lower()
    if lowered.endswith(ARCHIVE_SUFFIXES):
        return (
            f"{name!r} is an archive inside the archive, which is not opened; "
            "unpack it and import its images on their own."
        )
    if not is_image_filename(lowered):
        return (
            f"{name!r} is not an image (only {_IMAGE_TYPES} files are imported); "
            "leave it out or convert it."
        )
    if info.flag_bits & 0x1:
        return f"{name!r} is password-protected; zip the images again without a password."
    if info.compress_type not in ACCEPTED_COMPRESSION:
        return (
            f"{name!r} uses an unusual compression method ({info.compress_type}); zip the "
            "images again with your computer's ordinary compress command."
        )
    if info.file_size > RATIO_CHECK_MIN_BYTES:
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > limits.max_ratio:
            return (
                f"{name!r} is compressed {ratio:,.0f} to 1, beyond the {limits.max_ratio:g} to 1 "
                "limit (a possible zip bomb), so it was not unpacked."
            )
    if info.file_size > limits.max_member_bytes:
        return (
            f"{name!r} unpacks to {size_text(info.file_size)}, over the "
            f"{size_text(limits.max_member_bytes)} limit per file; use a smaller copy."
        )
    return None


def _archive_name(archive: BinaryIO | Path | bytes | str) -> str:
    if isinstance(archive, str | Path):
        return Path(archive).name
    return Path(str(getattr(archive, "name", "") or "archive.zip")).name


def _open_zip(archive: BinaryIO | Path | bytes | str, name: str) -> zipfile.ZipFile:
    if isinstance(archive, str | Path) and not Path(archive).is_file():
        raise UserError(f"Zip file {str(archive)!r} does not exist; check the path.")
    source = io.BytesIO(archive) if isinstance(archive, bytes | bytearray) else archive
    try:
        return zipfile.ZipFile(source)
    except (zipfile.BadZipFile, EOFError, ValueError, OSError) as err:
        detail = str(err).rstrip(".") or type(err).__name__
        raise UserError(
            f"File {name!r} is not a zip archive or is damaged ({detail}); "
            "make it again with your computer's compress command."
        ) from err


def _read_member(zipped: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    try:
        with zipped.open(info) as stream:
            return read_limited(stream, limit, info.filename)
    except _MEMBER_ERRORS as err:
        detail = str(err).rstrip(".") or type(err).__name__
        raise UserError(
            f"{info.filename!r} is damaged inside the zip ({detail}); zip the images again."
        ) from err


def _import_zip_into(
    batch: _Batch,
    archive: BinaryIO | Path | bytes | str,
    limits: ArchiveLimits,
    *,
    name: str | None = None,
) -> None:
    """Check a whole archive, then import its members one at a time into the batch."""
    name = name or _archive_name(archive)
    with _open_zip(archive, name) as zipped:
        infos = zipped.infolist()
        if len(infos) > limits.max_entries:
            raise UserError(
                f"Zip {name!r} has {len(infos):,} entries, over the limit of "
                f"{limits.max_entries:,}; split it into smaller zips."
            )
        plan = [(info, _member_problem(info, limits)) for info in infos]
        plan = [(info, problem) for info, problem in plan if problem is not False]
        declared = sum(info.file_size for info, problem in plan if problem is None)
        if declared > limits.max_total_bytes:
            raise UserError(
                f"Zip {name!r} would unpack to {size_text(declared)}, over the "
                f"{size_text(limits.max_total_bytes)} limit per archive; split it into smaller "
                "zips."
            )
        if not plan:
            batch.report.notes.append(f"Zip {name!r} holds no files to import.")
        batch.total += len(plan)
        member_limit = min(limits.max_member_bytes, batch.max_bytes)
        for info, problem in plan:
            if batch.stop_reason:
                batch.reject(info.filename, batch.stop_reason)
            elif isinstance(problem, str):
                batch.reject(info.filename, problem)
            else:
                try:
                    data = _read_member(zipped, info, member_limit)
                except UserError as err:
                    batch.reject(info.filename, str(err))
                else:
                    folders = _split_member(info.filename)[0][:-1]
                    batch.store(data, info.filename, batch.labels.label_for(folders))
                    del data  # one member's bytes at a time
            batch.tick(info.filename)


def import_zip(
    repository: TrainingImageRepository,
    archive: BinaryIO | Path | bytes,
    *,
    schema: LabelSchema,
    by: str,
    limits: ArchiveLimits = ArchiveLimits(),  # noqa: B008 - frozen, never mutated
    max_bytes: int = DEFAULT_MAX_BYTES,
    progress: Progress | None = None,
    label: Mapping[str, Any] | None = None,
) -> ArchiveReport:
    """Import the images of a zip, labelled by their folders; UserError if the zip is unusable.

    A damaged or oversized archive is refused whole before anything is stored; a bad member is
    rejected with its reason and the others are imported. ``label`` (optional) is given to
    images that are in no label folder.
    """
    fallback = schema.validate(label, partial=True) if label else None
    batch = _Batch(
        repository,
        schema=schema,
        by=by,
        source="upload",
        max_bytes=max_bytes,
        progress=progress,
        fallback_label=fallback,
    )
    _import_zip_into(batch, archive, limits)
    return batch.finish()


# --- loose uploads ------------------------------------------------------------------------


def import_uploads(
    repository: TrainingImageRepository,
    files: Sequence[tuple[str, BinaryIO | bytes]],
    *,
    schema: LabelSchema,
    by: str,
    label: Mapping[str, Any] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    progress: Progress | None = None,
    limits: ArchiveLimits = ArchiveLimits(),  # noqa: B008 - frozen, never mutated
) -> ArchiveReport:
    """Import uploaded files (name, bytes or stream): images get ``label``, zips are unpacked.

    A zip among the files is imported like ``import_zip`` (its label folders win, ``label``
    labels the rest); a zip that cannot be used is reported as rejected and the others go on.
    """
    clean_label = schema.validate(label, partial=True) if label else None
    batch = _Batch(
        repository,
        schema=schema,
        by=by,
        source="upload",
        max_bytes=max_bytes,
        progress=progress,
        fallback_label=clean_label,
    )
    batch.total = len(files)
    for name, content in files:
        lowered = name.lower()
        if batch.stop_reason:
            batch.reject(name, batch.stop_reason)
        elif lowered.endswith(".zip"):
            batch.total -= 1  # replaced by the zip's members
            try:
                _import_zip_into(batch, content, limits, name=name)
            except UserError as err:  # refused whole before any member was read
                batch.total += 1
                batch.reject(name, str(err))
                batch.tick(name)
            continue
        elif lowered.endswith(ARCHIVE_SUFFIXES):
            batch.reject(
                name, f"{name!r} is not a zip archive; only .zip archives are unpacked here."
            )
        else:
            try:
                if not isinstance(content, bytes) and content.seekable():
                    content.seek(0)  # a page may have read it already (e.g. for a preview)
                data = (
                    content
                    if isinstance(content, bytes)
                    else read_limited(content, max_bytes, name)
                )
            except UserError as err:
                batch.reject(name, str(err))
            else:
                batch.store(data, name, clean_label)
                del data
        batch.tick(name)
    return batch.finish()


# --- folder trees -------------------------------------------------------------------------


def _is_inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _folder_plan(root: Path) -> Iterator[tuple[str, Path | None, str | None]]:
    """(relative path, file to read or None, rejection reason or None) for each file, sorted."""
    walk_errors: list[OSError] = []
    for directory, dirnames, filenames in os.walk(root, onerror=walk_errors.append):
        here = Path(directory)
        for dirname in list(dirnames):
            path = here / dirname
            if dirname.startswith(".") or dirname.lower() in JUNK_NAMES:
                dirnames.remove(dirname)
            elif path.is_symlink():  # os.walk does not descend into it (followlinks=False)
                target = path.resolve()
                if not _is_inside(target, root):
                    relative = path.relative_to(root).as_posix()
                    reason = (
                        f"{relative + '/'!r} is a link to a folder outside the imported "
                        "folder, which is not followed; copy the images in instead."
                    )
                    yield relative, None, reason
        dirnames.sort()
        for filename in sorted(filenames):
            if filename.startswith(".") or filename.lower() in JUNK_NAMES:
                continue
            path = here / filename
            relative = path.relative_to(root).as_posix()
            yield relative, *_file_problem(path, relative, root)
    for err in walk_errors:
        where = Path(err.filename or root)
        relative = where.relative_to(root).as_posix() if _is_inside(where, root) else str(where)
        reason = err.strerror or type(err).__name__
        yield relative, None, f"Folder {relative!r} could not be read ({reason}); check its access."


def _file_problem(path: Path, relative: str, root: Path) -> tuple[Path | None, str | None]:
    """The file to read, or why this file is not imported."""
    lowered = path.name.lower()
    if lowered.endswith(ARCHIVE_SUFFIXES):
        return None, (
            f"{relative!r} is an archive, which is not opened inside a folder import; "
            "import it on its own (python -m jobs.import_images FILE.zip)."
        )
    if not is_image_filename(lowered):
        return None, (
            f"{relative!r} is not an image (only {_IMAGE_TYPES} files are imported); "
            "leave it out or convert it."
        )
    if path.is_symlink():
        try:
            target = path.resolve(strict=True)
        except (OSError, RuntimeError):
            return None, f"{relative!r} is a broken link; replace it with the image itself."
        if not _is_inside(target, root):
            return None, (
                f"{relative!r} is a link to a file outside the imported folder, which is not "
                "followed; copy the image in instead."
            )
        path = target
    try:
        mode = path.stat().st_mode
    except OSError as err:
        return None, f"{relative!r} could not be read ({err.strerror}); check its access."
    if not stat.S_ISREG(mode):
        return None, f"{relative!r} is not a regular file; put the image itself in."
    return path, None


def import_folder(
    repository: TrainingImageRepository,
    root: Path,
    *,
    schema: LabelSchema,
    by: str,
    max_bytes: int = DEFAULT_MAX_BYTES,
    progress: Progress | None = None,
    label: Mapping[str, Any] | None = None,
) -> ArchiveReport:
    """Import the images of a folder tree, labelled by their folders; no link out of root."""
    root = Path(root).expanduser()
    if not root.exists():
        raise UserError(f"Folder {str(root)!r} does not exist; check the path.")
    if not root.is_dir():
        raise UserError(f"{str(root)!r} is not a folder; give a folder of images or a .zip file.")
    fallback = schema.validate(label, partial=True) if label else None
    batch = _Batch(
        repository,
        schema=schema,
        by=by,
        source="folder",
        max_bytes=max_bytes,
        progress=progress,
        fallback_label=fallback,
    )
    real_root = root.resolve()
    plan = list(_folder_plan(real_root))  # paths only: small even for many files
    batch.total = len(plan)
    if not plan:
        batch.report.notes.append(f"Folder {str(root)!r} holds no files to import.")
    for relative, path, problem in plan:
        if batch.stop_reason:
            batch.reject(relative, batch.stop_reason)
        elif path is None:
            batch.reject(relative, problem or f"{relative!r} is not a file.")
        else:
            try:
                with path.open("rb") as handle:
                    data = read_limited(handle, max_bytes, relative)
            except OSError as err:
                batch.reject(relative, f"{relative!r} could not be read ({err.strerror}).")
            except UserError as err:
                batch.reject(relative, str(err))
            else:
                folders = list(PurePosixPath(relative).parts[:-1])
                batch.store(data, relative, batch.labels.label_for(folders))
                del data
        batch.tick(relative)
    return batch.finish()
