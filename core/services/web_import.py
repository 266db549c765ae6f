"""Importing images found by a web search (or pasted URLs) into the training set."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from functools import partial
from typing import Any
from urllib.parse import unquote, urlsplit

from pymongo.errors import PyMongoError

from core.db.training_images import TrainingImageRepository
from core.errors import UserError
from core.images import DEFAULT_MAX_BYTES
from core.labels import LabelSchema
from core.services.imports import ImportOutcome, ImportReport, NearDuplicateIndex, import_image
from core.web.download import HostPolicy, download_image
from core.web.providers import SearchResult

Progress = Callable[[int, int, str], None]  # (done, total, current URL)
Download = Callable[..., bytes]  # download_image(url, *, timeout_s, max_bytes)
MAX_FILENAME_CHARS = 120


def filename_for(result: SearchResult) -> str:
    """A readable file name for a downloaded image: the last part of its URL path."""
    parts = urlsplit(result.url)
    name = unquote(parts.path.rstrip("/").rsplit("/", 1)[-1]).strip()
    return (name or parts.hostname or "web-image")[:MAX_FILENAME_CHARS]


def import_web_images(
    repository: TrainingImageRepository,
    results: Sequence[SearchResult],
    *,
    schema: LabelSchema,
    by: str,
    label: Mapping[str, Any] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    timeout_s: float = 10,
    progress: Progress | None = None,
    allow_private_hosts: bool = False,
    download: Download | None = None,
) -> ImportReport:
    """Download, check and store each selected image with its URL, licence and creator.

    One outcome per result, in the same order, named by the image URL; a failed download is
    rejected with its reason and the others go on. ``label`` (optional) labels every image.
    Private and local hosts are refused unless ``allow_private_hosts`` (ALLOW_PRIVATE_HOSTS).
    """
    if download is None:
        download = partial(download_image, policy=HostPolicy(allow_private=allow_private_hosts))
    clean_label = schema.validate(label, partial=True) if label else None
    report = ImportReport()
    index = NearDuplicateIndex.load(repository)
    stop_reason: str | None = None
    total = len(results)
    for done, result in enumerate(results, start=1):
        if stop_reason:
            outcome = ImportOutcome(result.url, "rejected", reason=stop_reason)
        else:
            try:
                data = download(result.url, timeout_s=timeout_s, max_bytes=max_bytes)
                outcome = import_image(
                    repository,
                    data,
                    filename_for(result),
                    source="web_search",
                    schema=schema,
                    label=clean_label,
                    labelled_by=by if clean_label else None,
                    source_url=result.url,
                    licence=result.licence,
                    creator=result.creator,
                    near_duplicates=index,
                    max_bytes=max_bytes,
                )
                outcome = replace(outcome, filename=result.url)
            except UserError as err:
                outcome = ImportOutcome(result.url, "rejected", reason=str(err))
            except PyMongoError as err:
                stop_reason = (
                    f"Not imported: the database stopped answering at {result.url!r} "
                    f"({type(err).__name__}); the images stored before it are kept, so import "
                    "the rest again later."
                )
                outcome = ImportOutcome(result.url, "rejected", reason=stop_reason)
        report.add(outcome)
        if progress:
            progress(done, total, result.url)
    return report
