"""Exporting a model: the CLI writes its file and model.json; TFLite answers as the server."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from pymongo.database import Database

from core.db.models import ModelRepository
from core.db.training_images import TrainingImageRepository
from core.errors import UserError
from core.images import decode_image, to_model_array
from core.services.model_export import export_model_zip
from core.services.predictions import load_model
from jobs.models import main as models_main
from tests.model_helpers import TrainedTemplate

pytestmark = pytest.mark.slow


@pytest.fixture
def template_db(mongo_db: Database, trained_template: TrainedTemplate) -> Database:
    """The template's own database (its model keeps its calibration and OOD parameters)."""
    return mongo_db.client[trained_template.db_name]


def export_with_cli(
    monkeypatch: pytest.MonkeyPatch, database: Database, model_id: str, fmt: str, out: Path
) -> None:
    host, port = database.client.address
    monkeypatch.setenv("MONGO_URI", f"mongodb://{host}:{port}")
    monkeypatch.setenv("MONGO_DB", database.name)
    assert models_main(["export", model_id, "--format", fmt, "--out", str(out)]) == 0


def test_tflite_export_gives_the_servers_top_answers_on_20_images(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    template_db: Database,
    trained_template: TrainedTemplate,
) -> None:
    from core.ml.export import tflite_outputs

    export_with_cli(monkeypatch, template_db, trained_template.model_id, "tflite", tmp_path)
    metadata = json.loads((tmp_path / "model.json").read_text())
    models = ModelRepository(template_db)
    record = models.get(trained_template.model_id)
    assert metadata["format"] == "tflite"
    assert metadata["thresholds"] == pytest.approx(record.thresholds)
    assert set(metadata["temperatures"]) == set(record.schema.trait_names)
    assert metadata["ood"]["method"] in ("mahalanobis", "knn", "energy")
    assert metadata["outputs"]["colour"]["classes"] == list(record.schema.trait("colour").values)

    images = TrainingImageRepository(template_db)
    ids = [image_id for image_id, _ in images.labelled()][:20]
    files = images.image_file_ids(ids)
    batch = np.stack(
        [
            to_model_array(
                decode_image(images.read_file(files[i]), i).image,
                record.image_size,
                mode=record.resize_mode,
            )
            for i in ids
        ]
    )
    outputs = tflite_outputs(tmp_path / "model.tflite", batch)
    server = load_model(models, record).predictor.predict_arrays(batch)
    assert len(server) == 20
    for trait in record.schema.traits:
        exported = np.asarray(outputs[trait.name])
        top = exported.argmax(axis=1) if trait.is_categorical else exported[:, 0] > 0.5
        names = trait.values if trait.is_categorical else (False, True)
        said = [
            max(answer.probabilities[trait.name].items(), key=lambda kv: kv[1])[0]
            for answer in server
        ]
        if trait.is_boolean:
            said = [value == "yes" for value in said]
        assert [names[int(i)] for i in top] == said, trait.name
    assert outputs["features"].shape[0] == 20  # for the OOD distance in model.json


def test_keras_and_savedmodel_exports_and_the_zip_for_a_download(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    template_db: Database,
    trained_template: TrainedTemplate,
) -> None:
    export_with_cli(monkeypatch, template_db, trained_template.model_id, "keras", tmp_path / "k")
    assert (tmp_path / "k" / "model.keras").stat().st_size > 1000
    export_with_cli(
        monkeypatch, template_db, trained_template.model_id, "savedmodel", tmp_path / "s"
    )
    assert (tmp_path / "s" / "saved_model" / "saved_model.pb").exists()
    assert json.loads((tmp_path / "s" / "model.json").read_text())["format"] == "savedmodel"

    name, data = export_model_zip(ModelRepository(template_db), trained_template.model_id, "keras")
    assert name.endswith("-keras.zip")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert sorted(archive.namelist()) == ["model.json", "model.keras"]
    with pytest.raises(UserError, match="Export format 'onnx' is not known"):
        export_model_zip(ModelRepository(template_db), trained_template.model_id, "onnx")
