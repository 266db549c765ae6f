"""The training-images page's "Label next" order under AppTest, with the tiny trained model."""

from __future__ import annotations

import pytest
from pymongo.database import Database
from streamlit.testing.v1 import AppTest

from core.db.models import ModelRepository
from core.db.training_images import TrainingImageRepository
from core.services.label_next import unlabelled_by_uncertainty
from core.services.label_next_page import LABEL_NEXT
from core.services.predictions import ActiveModelCache
from tests.console_helpers import MODEL_TIMEOUT_S, add_images, open_page, run_ok
from tests.model_helpers import TrainedTemplate, clone_trained


def rank(at: AppTest) -> AppTest:
    at.selectbox(key="grid_order").set_value(LABEL_NEXT)
    run_ok(at)
    at.button(key="rank_label_next").click()
    return run_ok(at)


@pytest.mark.slow
def test_label_next_shows_unlabelled_images_least_confident_first(
    console: Database, trained_template: TrainedTemplate
) -> None:
    clone_trained(trained_template, console)
    images = TrainingImageRepository(console)
    unlabelled = add_images(images, [None] * 4, first_seed=500)
    at = rank(open_page("training_images.py", timeout_s=MODEL_TIMEOUT_S))

    expected = unlabelled_by_uncertainty(images, ActiveModelCache(ModelRepository(console)).get())
    assert {image_id for image_id, _ in expected} == set(unlabelled)
    captions = [c.value for c in at.caption if "unsure" in c.value]
    shown = sorted(caption.rsplit(" · ", 1)[1] for caption in captions)
    assert shown == sorted(f"{u:.0%} unsure" for _, u in expected)
    assert [u for _, u in expected] == sorted((u for _, u in expected), reverse=True)
    assert len(at.checkbox) == 4  # only the unlabelled images, each selectable for labelling


def test_label_next_without_a_model_says_what_to_do(console: Database) -> None:
    add_images(TrainingImageRepository(console), [None])
    at = rank(open_page("training_images.py", timeout_s=MODEL_TIMEOUT_S))
    assert "No model is active" in at.error[0].value
