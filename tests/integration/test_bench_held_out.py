"""The bench's held-out section on a tiny scale: held-out accuracy per trait and the OOD rows."""

from __future__ import annotations

import pytest
from pymongo.database import Database

from core.config import Settings
from jobs.bench.held_out import HELD_OUT_SEED, measure_held_out
from tests.model_helpers import StoredModel, store_model


@pytest.mark.slow
def test_held_out_section_reports_every_trait_and_the_ood_figures(
    settings: Settings, mongo_db: Database, trained_model: StoredModel
) -> None:
    record = trained_model.record
    store_model(mongo_db, trained_model)

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
