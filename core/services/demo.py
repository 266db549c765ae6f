"""Filling the training set with synthetic demo images, through the same path as an upload."""

from __future__ import annotations

from collections.abc import Callable

from core.db.training_images import TrainingImageRepository
from core.demo.samples import demo_samples, encode_jpeg
from core.errors import UserError
from core.labels import LabelSchema
from core.services.imports import ImportReport, NearDuplicateIndex, import_image

MAX_DEMO_IMAGES = 50_000

Progress = Callable[[int, int], None]


def add_demo_images(
    repository: TrainingImageRepository,
    schema: LabelSchema,
    *,
    count: int,
    seed: int = 0,
    unlabelled: int = 0,
    progress: Progress | None = None,
) -> ImportReport:
    """Draw and store `count` labelled demo images plus `unlabelled` ones without a label."""
    if not 0 < count + unlabelled <= MAX_DEMO_IMAGES or count < 0 or unlabelled < 0:
        raise UserError(
            f"Ask for 1 to {MAX_DEMO_IMAGES} demo images in all, not {count} labelled and "
            f"{unlabelled} unlabelled."
        )
    report = ImportReport()
    index = NearDuplicateIndex.load(repository)
    total = count + unlabelled
    for done, sample in enumerate(
        demo_samples(schema.name, count, seed=seed, unlabelled=unlabelled), start=1
    ):
        outcome = import_image(
            repository,
            encode_jpeg(sample.image),
            sample.filename,
            source="demo",
            schema=schema,
            label=sample.label,
            labelled_by="demo" if sample.label else None,
            near_duplicates=index,
        )
        report.add(outcome)
        if progress:
            progress(done, total)
    return report
