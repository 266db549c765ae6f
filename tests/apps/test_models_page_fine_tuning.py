"""The Models page says whether a model's backbone was fine-tuned (issue 14)."""

from __future__ import annotations

from pymongo.database import Database

from core.labels import CAT_PHENOTYPE
from tests.console_helpers import all_text, open_page
from tests.model_helpers import PERFECT, add_model

METRICS = {trait: PERFECT for trait in CAT_PHENOTYPE.trait_names}


def test_models_page_shows_how_many_backbone_layers_were_fine_tuned(console: Database) -> None:
    add_model(
        console,
        backbone="mobilenet_v2",
        hyper_parameters={"backbone": "mobilenet_v2", "fine_tune_layers": 2},
        metrics=METRICS,
        activate=True,
    )

    at = open_page("models.py")

    assert not at.exception
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Fine-tuned"] == "Top 2 layers"
    assert metrics["Backbone"] == "mobilenet_v2"


def test_models_page_says_a_model_without_fine_tuning_was_not_fine_tuned(
    console: Database,
) -> None:
    add_model(console, hyper_parameters={"backbone": "small_cnn"}, metrics=METRICS, activate=True)

    at = open_page("models.py")

    assert {metric.label: metric.value for metric in at.metric}["Fine-tuned"] == "No"
    assert "This model was stored without confusion matrices." in all_text(at)
