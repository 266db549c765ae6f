"""The Models page's reliability figure and its portable-model download, under AppTest."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from bson import ObjectId
from pymongo.database import Database

from core.db.models import ModelRepository
from tests.console_helpers import MODEL_TIMEOUT_S, open_page, run_ok
from tests.model_helpers import TrainedTemplate, clone_trained

pytestmark = pytest.mark.slow


def calibrated_clone(template: TrainedTemplate, console: Database) -> str:
    """The template's model in this database, with the calibration it was trained with."""
    model_id = clone_trained(template, console)
    source = ModelRepository(console.client[template.db_name]).get(template.model_id)
    assert source.calibration, "the tiny trained model is calibrated"
    console["prediction_models"].update_one(
        {"_id": ObjectId(model_id)}, {"$set": {"calibration": source.calibration}}
    )
    return model_id


def test_models_page_shows_reliability_and_downloads_a_keras_zip(
    console: Database, trained_template: TrainedTemplate
) -> None:
    model_id = calibrated_clone(trained_template, console)
    at = open_page("models.py", timeout_s=MODEL_TIMEOUT_S)

    [table] = [t.value for t in at.dataframe if "ece_before" in t.value.columns]
    assert set(table["trait"]) == set(ModelRepository(console).get(model_id).calibration)
    assert table["ece_before"].notna().all() and table["ece_after"].notna().all()
    assert at.selectbox(key=f"reliability_{model_id}").value == table["trait"].iloc[0]
    assert not at.get("download_button") or all(
        "Download model (" not in b.proto.label for b in at.get("download_button")
    )  # nothing is exported before the admin asks

    at.selectbox(key=f"export_format_{model_id}").set_value("keras")
    at.button(key=f"export_prepare_{model_id}").click()
    run_ok(at)
    [download] = [b for b in at.get("download_button") if b.proto.label == "Download model (keras)"]
    assert download.proto.label == "Download model (keras)"
    file_name, data = at.session_state[f"export_{model_id}_keras"]
    assert file_name.endswith("-keras.zip")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        metadata = json.loads(archive.read(next(n for n in names if n.endswith("model.json"))))
    assert any(name.endswith(".keras") for name in names)
    assert metadata
