"""The Models page's services against the embedded MongoDB: summaries, comparison, confusion
cells -> validation images, activate/rollback, delete, download; a tiny real model for the
end-to-end checks."""

from __future__ import annotations

import io
import zipfile

import pytest
from pymongo.database import Database

from core.db.models import ModelRepository
from core.db.training_images import TrainingImageRepository
from core.errors import NotFoundError, UserError
from core.labels import CAT_PHENOTYPE
from core.services.model_registry import (
    activate_model,
    cell_image_ids,
    comparison,
    comparison_long,
    confusion_cells,
    confusion_frame,
    delete_model,
    model_download,
    model_name,
    models_table,
    trait_metrics,
)
from tests.console_helpers import add_images
from tests.label_helpers import BLUE, NOT_CAT, RED_TABBY
from tests.model_helpers import add_model, clone_trained, copy_model

COLOURS = list(CAT_PHENOTYPE.trait("colour").values)


def metrics(accuracy: float) -> dict:
    return {
        name: {"train_accuracy": 0.9, "val_accuracy": accuracy, "train_loss": 0.3, "val_loss": 0.4}
        for name in CAT_PHENOTYPE.trait_names
    }


def scored_model(
    database: Database, *, accuracy: float = 0.8, confusion=None, validation=()
) -> str:
    """A stored (inactive) model record with this validation accuracy for every trait."""
    return add_model(
        database,
        b"model bytes " + str(accuracy).encode(),
        image_size=48,
        hyper_parameters={"epochs": 2},
        metrics=metrics(accuracy),
        confusion=confusion or {},
        thresholds={"colour": 0.6},
        validation_image_ids=list(validation),
        training_set_size=40,
    )


@pytest.fixture
def model_with_confusion(mongo_db: Database) -> tuple[str, list[str]]:
    """A model whose confusion samples name images by their index in the whole training list
    (as the job records them): images 1, 3 and 4 of 6 were validation images."""
    ids = add_images(
        TrainingImageRepository(mongo_db), [BLUE, BLUE, BLUE, RED_TABBY, NOT_CAT, BLUE]
    )
    validation = [ids[1], ids[3], ids[4]]
    blue, red = COLOURS.index("blue"), COLOURS.index("red")
    matrix = [[0] * len(COLOURS) for _ in COLOURS]
    matrix[blue][blue] = 1
    matrix[red][blue] = 1
    confusion = {
        "is_cat": {
            "labels": ["no", "yes"],
            "matrix": [[1, 0], [0, 2]],
            "samples": [[1, 1, 1], [3, 1, 1], [4, 0, 0]],
        },
        "colour": {
            "labels": COLOURS,
            "matrix": matrix,
            "samples": [[1, blue, blue], [3, red, blue]],
        },
    }
    return scored_model(mongo_db, confusion=confusion, validation=validation), ids


def test_confusion_cell_opens_the_validation_images_behind_it(
    mongo_db: Database, model_with_confusion
) -> None:
    model_id, ids = model_with_confusion
    record = ModelRepository(mongo_db).get(model_id)

    assert cell_image_ids(record, "colour", "red", "blue") == [ids[3]]
    assert cell_image_ids(record, "colour", "blue", "blue") == [ids[1]]
    assert cell_image_ids(record, "colour", "fawn", "blue") == []
    assert cell_image_ids(record, "is_cat", "no", "no") == [ids[4]]
    assert sorted(cell_image_ids(record, "is_cat", "yes", "yes")) == sorted([ids[1], ids[3]])


def test_confusion_cells_list_mistakes_first(mongo_db: Database, model_with_confusion) -> None:
    record = ModelRepository(mongo_db).get(model_with_confusion[0])

    assert confusion_cells(record, "colour") == [("red", "blue", 1), ("blue", "blue", 1)]
    frame = confusion_frame(record, "colour")
    assert len(frame) == len(COLOURS) ** 2
    red_row = frame[frame["true"] == "red"].set_index("predicted")
    assert red_row.loc["blue", "share"] == 1.0 and not red_row.loc["blue", "is_correct"]


@pytest.mark.parametrize(
    ("trait", "true", "predicted", "message"),
    [
        ("colour", "purple", "blue", "'purple' is not a value of 'colour'"),
        ("colour", "blue", "", "'' is not a value of 'colour'"),
        ("pattern", "self", "van", "has no confusion matrix for 'pattern'"),
    ],
)
def test_confusion_cell_with_bad_values_is_refused(
    mongo_db: Database, model_with_confusion, trait, true, predicted, message
) -> None:
    record = ModelRepository(mongo_db).get(model_with_confusion[0])
    with pytest.raises(UserError, match=message):
        cell_image_ids(record, trait, true, predicted)


def test_activate_and_roll_back_keep_exactly_one_active_model(mongo_db: Database) -> None:
    models = ModelRepository(mongo_db)
    old, new = scored_model(mongo_db, accuracy=0.7), scored_model(mongo_db, accuracy=0.9)

    assert "is now active" in activate_model(models, old)
    assert "is now active" in activate_model(models, new)
    assert [m.id for m in models.list() if m.is_active] == [new]
    assert "is now active" in activate_model(models, old)  # roll back
    assert [m.id for m in models.list() if m.is_active] == [old]
    assert mongo_db["prediction_models"].count_documents({"is_active": True}) == 1
    assert "already the active model" in activate_model(models, old)
    assert models.active_id() == old


def test_activate_an_unknown_model_is_refused(mongo_db: Database) -> None:
    models = ModelRepository(mongo_db)
    with pytest.raises(NotFoundError, match="No model with id '6b0c00000000000000000009'"):
        activate_model(models, "6b0c00000000000000000009")
    with pytest.raises(UserError, match="not a valid model id"):
        activate_model(models, "latest")


def test_delete_refuses_the_active_model_and_deletes_another(mongo_db: Database) -> None:
    models = ModelRepository(mongo_db)
    active, other = scored_model(mongo_db, accuracy=0.7), scored_model(mongo_db, accuracy=0.9)
    models.activate(active)

    with pytest.raises(UserError, match="is the active model; activate another one"):
        delete_model(models, active)
    assert "Deleted model" in delete_model(models, other)
    assert [m.id for m in models.list()] == [active]
    with pytest.raises(NotFoundError):
        delete_model(models, other)


def test_summaries_and_comparison_per_trait(mongo_db: Database) -> None:
    models = ModelRepository(mongo_db)
    first, second = scored_model(mongo_db, accuracy=0.7), scored_model(mongo_db, accuracy=0.9)
    models.activate(first)
    a, b = models.get(first), models.get(second)

    table = models_table(models.list())
    assert list(table["Id"]) == [second, first]  # newest first
    assert list(table["Active"]) == [False, True]
    assert table.loc[table["Id"] == second, "Colour"].item() == 0.9
    assert "(active)" in model_name(a) and "small_cnn · 40 images" in model_name(a)
    per_trait = trait_metrics(a)
    assert list(per_trait["Trait"]) == [t.title for t in CAT_PHENOTYPE.traits]
    assert per_trait.set_index("Trait").loc["Colour", "Unsure below"] == 0.6

    compared = comparison(a, b).set_index("Trait")
    assert compared.loc["Colour", "Accuracy A"] == 0.7
    assert compared.loc["Colour", "Difference (points)"] == pytest.approx(20.0)
    assert set(compared["Better"]) == {"B"}
    assert len(comparison_long(a, b)) == 2 * len(CAT_PHENOTYPE.traits)
    with pytest.raises(UserError, match="same model"):
        comparison(a, a)


def test_download_gives_the_stored_file_with_a_keras_name(mongo_db: Database) -> None:
    models = ModelRepository(mongo_db)
    model_id = scored_model(mongo_db, accuracy=0.7)

    download = model_download(models, model_id)

    assert download.data == b"model bytes 0.7"
    assert download.filename.startswith("cat_phenotype-small_cnn-")
    assert download.filename.endswith(".keras")


@pytest.mark.slow
def test_a_real_model_cells_cover_its_validation_images(
    mongo_db: Database, trained_template
) -> None:
    model_id = clone_trained(trained_template, mongo_db)
    record = ModelRepository(mongo_db).get(model_id)
    images = TrainingImageRepository(mongo_db)

    for trait in ("is_cat", "colour"):
        found = [
            image_id
            for true, predicted, count in confusion_cells(record, trait)
            for image_id in cell_image_ids(record, trait, true, predicted)
        ]
        assert len(found) == len(set(found)) == confusion_frame(record, trait)["images"].sum()
        assert set(found) <= set(record.validation_image_ids)
        for true, predicted, _ in confusion_cells(record, trait):
            for image_id in cell_image_ids(record, trait, true, predicted):
                label = images.get(image_id).label  # the cell's images have its true value
                value = label.get(trait)
                assert (("yes" if value else "no") if trait == "is_cat" else value) == true
    all_cat = cell_image_ids(record, "is_cat", "yes", "yes") + cell_image_ids(
        record, "is_cat", "yes", "no"
    )
    assert len(all_cat) + len(cell_image_ids(record, "is_cat", "no", "no")) + len(
        cell_image_ids(record, "is_cat", "no", "yes")
    ) == len(record.validation_image_ids)


@pytest.mark.slow
def test_breeder_app_cache_picks_up_a_newly_active_model_without_restart(
    mongo_db: Database, trained_template
) -> None:
    from core.services.predictions import ActiveModelCache

    models = ModelRepository(mongo_db)
    first = clone_trained(trained_template, mongo_db)
    record = models.get(first)
    data = models.model_file(record)
    second = copy_model(mongo_db, record, data)
    cache = ActiveModelCache(models)  # what the breeder app keeps for its whole life
    assert cache.get().record.id == first

    activate_model(models, second)
    assert cache.get().record.id == second
    activate_model(models, first)  # roll back
    assert cache.get().record.id == first

    download = model_download(models, second)
    assert download.data == data
    with zipfile.ZipFile(io.BytesIO(download.data)) as archive:  # a .keras file is a zip
        assert "config.json" in archive.namelist()


def test_calibration_and_ood_parameters_are_stored_with_the_model(mongo_db: Database) -> None:
    import numpy as np

    from core.ml.ood import FeatureDistance

    rng = np.random.default_rng(0)
    distance = FeatureDistance.fit(rng.normal(0, 1, (200, 8)), "knn").with_threshold(2.5)
    ood = {"method": "knn", "threshold": 2.5, "distance": distance.to_document()}
    calibration = {"colour": {"temperature": 1.7, "ece_before": 0.2, "ece_after": 0.05}}
    models = ModelRepository(mongo_db)
    model_id = add_model(
        mongo_db,
        b"model",
        image_size=48,
        metrics=metrics(0.9),
        training_set_size=40,
        calibration=calibration,
        ood=ood,
    )
    record = models.get(model_id)
    assert record.calibration == calibration
    stored = FeatureDistance.from_document(record.ood["distance"])
    far = rng.normal(5, 1, (3, 8))
    np.testing.assert_allclose(stored.scores(far), distance.scores(far), rtol=1e-2)
    assert models.get(add_model(mongo_db)).ood == {}  # older models: no OOD score
