"""The bench's held-out section on a tiny scale: held-out accuracy per trait and the OOD rows."""

from __future__ import annotations

from pathlib import Path

import pytest
from pymongo.database import Database

from core.config import Settings
from core.db.models import ModelRepository
from jobs.bench.held_out import HELD_OUT_SEED, measure_held_out
from tests.breeder_support import trained_model_file


@pytest.mark.slow
def test_held_out_section_reports_every_trait_and_the_ood_figures(
    settings: Settings, mongo_db: Database, mongo_uri: str, tmp_path: Path
) -> None:
    stored = trained_model_file(mongo_uri, tmp_path / "train")
    record = stored.record
    models = ModelRepository(mongo_db)
    model_id = models.add(
        stored.data,
        schema=record.schema,
        backbone=record.backbone,
        image_size=record.image_size,
        resize_mode=record.resize_mode,
        hyper_parameters=record.hyper_parameters,
        metrics=record.metrics,
        confusion=record.confusion,
        thresholds=record.thresholds,
        validation_image_ids=[],
        training_set_size=record.training_set_size,
        training_started=record.training_started,
        training_ended=record.training_ended,
        calibration=record.calibration,
        ood=record.ood,
    )
    models.activate(model_id)

    rows, results = measure_held_out(settings, images=24, made_up=12)

    names = [row[0] for row in rows]
    for trait in record.schema.trait_names:
        assert f"  held-out accuracy {trait}, seed {HELD_OUT_SEED}" in names
        assert 0.0 <= results["held_out_accuracy"][trait] <= 1.0
    assert any(name.startswith("unfamiliar-photo score AUROC") for name in names)
    assert 0.0 <= results["ood"]["made_up_answered_confidently"] <= 1.0
    assert results["ood"]["auroc"] is not None and 0.0 <= results["ood"]["auroc"] <= 1.0
    for row in rows:
        print(" | ".join(row))
