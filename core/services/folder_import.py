"""Importing a folder tree of images, labelled by their folders; no link leads out of it."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from core.db.training_images import TrainingImageRepository
from core.errors import UserError
from core.images import DEFAULT_MAX_BYTES, is_image_filename, read_limited
from core.labels import LabelSchema
from core.services.archive_import import ARCHIVE_SUFFIXES, IMAGE_TYPES, JUNK_NAMES
from core.services.import_batch import ArchiveReport, ImportBatch, Progress


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
            f"{relative!r} is not an image (only {IMAGE_TYPES} files are imported); "
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
    batch = ImportBatch(
        repository,
        schema=schema,
        by=by,
        source="folder",
        max_bytes=max_bytes,
        progress=progress,
        label=label,
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
