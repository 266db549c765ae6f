"""Importing uploaded files and zip archives into the training set.

Folders named like labels (``blue/``, ``red_tabby_van/``, ``not_cat/``, or a breed for the dog
schema) label the images inside them; see docs/importing.md. Zip members are read one at a
time into memory through ``ZipFile.open`` with a size cap, never extracted to disk. Folder
trees are imported by folder_import.py.
"""

from __future__ import annotations

import io
import stat
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from core.db.training_images import TrainingImageRepository
from core.errors import UserError
from core.images import DEFAULT_MAX_BYTES, IMAGE_SUFFIXES, is_image_filename, read_limited
from core.labels import LabelSchema
from core.services.import_batch import ArchiveReport, ImportBatch, Progress
from core.sizes import MEBIBYTE, size_text

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
IMAGE_TYPES = ", ".join(sorted({s.lstrip(".") for s in IMAGE_SUFFIXES}))


@dataclass(frozen=True)
class ArchiveLimits:
    """Limits that keep a zip from exhausting memory or time (zip bombs, huge archives)."""

    max_entries: int = 5000
    max_member_bytes: int = 20 * MEBIBYTE
    max_total_bytes: int = 2 * 1024 * MEBIBYTE
    max_ratio: float = 100.0


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
            f"{name!r} is not an image (only {IMAGE_TYPES} files are imported); "
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
    batch: ImportBatch,
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
    batch = ImportBatch(
        repository,
        schema=schema,
        by=by,
        source="upload",
        max_bytes=max_bytes,
        progress=progress,
        label=label,
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
    batch = ImportBatch(
        repository,
        schema=schema,
        by=by,
        source="upload",
        max_bytes=max_bytes,
        progress=progress,
        label=label,
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
                batch.store(data, name, batch.label)
                del data
        batch.tick(name)
    return batch.finish()
