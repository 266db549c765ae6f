"""Importing images found by a web search (or pasted URLs) into the training set."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any
from urllib.parse import unquote, urlsplit

from core.db.training_images import TrainingImageRepository
from core.errors import UserError
from core.images import DEFAULT_MAX_BYTES
from core.labels import LabelSchema
from core.services.import_batch import ImportBatch, Progress
from core.services.imports import ImportReport
from core.web.download import HostPolicy, download_image
from core.web.providers import SearchResult

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
    batch = ImportBatch(
        repository,
        schema=schema,
        by=by,
        source="web_search",
        max_bytes=max_bytes,
        progress=progress,
        label=label,  # checked before anything is downloaded
        workers=0,
    )
    batch.total = len(results)
    for result in results:
        if batch.stop_reason:
            batch.reject(result.url, batch.stop_reason)
        else:
            try:
                data = download(result.url, timeout_s=timeout_s, max_bytes=max_bytes)
            except UserError as err:
                batch.reject(result.url, str(err))
            else:
                batch.store(
                    data,
                    filename_for(result),
                    batch.label,
                    shown_as=result.url,
                    source_url=result.url,
                    licence=result.licence,
                    creator=result.creator,
                )
        batch.tick(result.url)
    return batch.finish()
