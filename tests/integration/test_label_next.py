"""'Label next': unlabelled images sorted by the active model's uncertainty, least sure first."""

from __future__ import annotations

import pytest
from pymongo.database import Database

from core.db.models import ModelRepository
from core.db.training_images import ImageFilter, TrainingImageRepository
from core.labels import CAT_PHENOTYPE
from core.services.demo import add_demo_images
from core.services.label_next import unlabelled_by_uncertainty
from core.services.predictions import ActiveModelCache
from tests.model_helpers import TrainedTemplate, clone_trained


@pytest.mark.slow
def test_unlabelled_images_come_least_confident_first(
    mongo_db: Database, trained_template: TrainedTemplate
) -> None:
    clone_trained(trained_template, mongo_db)
    images = TrainingImageRepository(mongo_db)
    add_demo_images(images, CAT_PHENOTYPE, count=0, seed=21, unlabelled=12)
    unlabelled = set(images.ids(ImageFilter(is_labelled=False)))
    loaded = ActiveModelCache(ModelRepository(mongo_db)).get()

    ranked = unlabelled_by_uncertainty(images, loaded)
    assert {image_id for image_id, _ in ranked} == unlabelled
    scores = [score for _, score in ranked]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= score <= 1.0 for score in scores)
    assert unlabelled_by_uncertainty(images, loaded, limit=3) == ranked[:3]
