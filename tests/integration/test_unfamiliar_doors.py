"""A photo unlike the training images, through the breeder page, the API JSON and jobs.identify."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pymongo.database import Database

from core.db.models import ModelRepository
from core.db.predictions import PredictionRepository
from core.db.reviews import ReviewFilter
from core.errors import UserError
from core.images import decode_image
from core.labels import CAT_PHENOTYPE, DOG_BREED
from core.services.breeder import identify_upload
from core.services.identify_json import identify_response
from core.services.predictions import ActiveModelCache, identify, unfamiliar_sentence
from core.services.review_filter import build_review_filter
from tests.breeder_helpers import demo_photo
from tests.integration.test_cli_jobs import run
from tests.model_helpers import StoredModel, store_model

pytestmark = pytest.mark.slow

CAT_SENTENCE = unfamiliar_sentence(CAT_PHENOTYPE)


def tiny_threshold(ood: dict[str, Any]) -> dict[str, Any]:
    """The model's OOD score with a threshold every photo is over."""
    doc = dict(ood)
    if doc["method"] == "energy":
        doc["threshold"] = -1e9
    else:
        doc["distance"] = {**doc["distance"], "threshold": 1e-9}
    return doc


def add_unfamiliar_model(database: Database, stored: StoredModel) -> str:
    """Store and activate the session's tiny model with a tiny OOD threshold; return its id."""
    record = stored.record
    assert record.ood, "the tiny trained model has an OOD score"
    return store_model(database, stored, ood=tiny_threshold(record.ood))


@pytest.fixture
def unfamiliar_db(mongo_db: Database, trained_model: StoredModel) -> Database:
    add_unfamiliar_model(mongo_db, trained_model)
    return mongo_db


def test_breeder_page_says_the_sentence_and_shows_no_phenotype(unfamiliar_db: Database) -> None:
    loaded = ActiveModelCache(ModelRepository(unfamiliar_db)).get()
    predictions = PredictionRepository(unfamiliar_db)
    found = identify_upload(loaded, predictions, demo_photo(0), "cat.jpg", keep_photo=False)
    view = found.view
    assert view.is_unfamiliar
    assert view.headline == CAT_SENTENCE
    assert view.traits == [] and view.genotype_line == "" and view.flags == []
    stored = predictions.get(found.prediction_id)
    assert stored.is_unfamiliar and stored.unfamiliarity is not None
    assert stored.unfamiliarity > 1.0

    unfamiliar = build_review_filter(CAT_PHENOTYPE, familiarity="unfamiliar")
    familiar = build_review_filter(CAT_PHENOTYPE, familiarity="familiar")
    ids = {doc["_id"] for doc in unfamiliar_db["predictions"].find(unfamiliar.to_query())}
    assert {str(i) for i in ids} == {found.prediction_id}
    assert unfamiliar_db["predictions"].count_documents(familiar.to_query()) == 0
    assert unfamiliar_db["predictions"].count_documents(ReviewFilter().to_query()) == 1


def test_api_answer_says_unfamiliar_with_no_confident_label(unfamiliar_db: Database) -> None:
    loaded = ActiveModelCache(ModelRepository(unfamiliar_db)).get()
    result = identify(loaded, decode_image(demo_photo(1), "cat.jpg"))
    answer = identify_response(loaded.record, result, prediction_id=None)
    assert answer["unfamiliar"] is True
    assert answer["unfamiliarity"] > 1.0
    assert answer["message"] == CAT_SENTENCE
    assert answer["name"] is None and answer["genotype"] is None
    assert set(answer["unsure"]) == set(answer["label"])
    assert all(trait["unsure"] for trait in answer["traits"].values())


def test_identify_job_says_the_sentence(unfamiliar_db: Database, settings, tmp_path) -> None:
    photo = tmp_path / "cat.jpg"
    photo.write_bytes(demo_photo(2))
    shown = run(settings, "jobs.identify", str(photo))
    assert shown.returncode == 0, shown.stderr
    assert CAT_SENTENCE in shown.stdout
    assert "colour=" not in shown.stdout
    answered = run(settings, "jobs.identify", "--json", str(photo))
    [answer] = json.loads(answered.stdout)
    assert answer["unfamiliar"] is True and answer["message"] == CAT_SENTENCE


def test_review_filter_refuses_an_unknown_familiarity() -> None:
    with pytest.raises(UserError, match="Familiarity 'odd'"):
        build_review_filter(CAT_PHENOTYPE, familiarity="odd")


def test_the_sentence_speaks_of_the_schemas_animal() -> None:
    assert CAT_SENTENCE.endswith("photo of the whole cat.") and "no phenotype" in CAT_SENTENCE
    dog = unfamiliar_sentence(DOG_BREED)
    assert dog.endswith("photo of the whole dog.") and "no breed" in dog
