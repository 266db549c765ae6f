"""Users, training runs, models, predictions and features against the embedded MongoDB."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from pymongo.database import Database

from core.clock import utcnow
from core.db.features import FeatureRepository
from core.db.files import FileStore
from core.db.models import ModelRepository
from core.db.predictions import PredictionRepository
from core.db.training_runs import TrainingRunRepository
from core.db.users import UserRepository
from core.errors import NotFoundError, UserError
from core.labels import CAT_PHENOTYPE
from core.services.accounts import ensure_first_admin
from tests.model_helpers import add_model


def test_user_password_is_hashed_and_checked(mongo_db: Database) -> None:
    users = UserRepository(mongo_db)
    users.add("Ann", "correct horse", display_name="Ann Breeder", email="ann@example.org")

    stored = mongo_db.users.find_one({"username": "ann"})
    assert "correct horse" not in str(stored) and stored["password_hash"].startswith("$2")
    assert users.authenticate("ann", "correct horse").display_name == "Ann Breeder"
    with pytest.raises(UserError, match="Wrong username or password"):
        users.authenticate("ann", "wrong horse")
    with pytest.raises(UserError, match="Wrong username or password"):
        users.authenticate("nobody", "correct horse")


@pytest.mark.parametrize(
    ("username", "password", "role", "message"),
    [
        ("a", "long enough", "admin", "Username 'a' is not allowed"),
        ("ann smith", "long enough", "admin", "Username 'ann smith' is not allowed"),
        ("ann", "short", "admin", "has 5 characters; use at least 8"),
        ("ann", "long enough", "owner", "Role 'owner' is not known"),
    ],
)
def test_bad_new_users_are_refused(
    mongo_db: Database, username: str, password: str, role: str, message: str
) -> None:
    users = UserRepository(mongo_db)
    with pytest.raises(UserError, match=message):
        users.add(username, password, role=role)
    assert users.count() == 0


def test_duplicate_username_is_refused(mongo_db: Database) -> None:
    users = UserRepository(mongo_db)
    users.add("ann", "long enough")
    with pytest.raises(UserError, match="User 'ann' already exists"):
        users.add("ANN", "other password")


def test_five_failed_logins_lock_the_account_for_a_while(mongo_db: Database) -> None:
    users = UserRepository(mongo_db)
    users.add("ann", "correct horse")
    now = utcnow()
    for _ in range(4):
        with pytest.raises(UserError, match="Wrong username or password"):
            users.authenticate("ann", "guess", now=now)
    with pytest.raises(UserError, match="now locked for 15 minutes"):
        users.authenticate("ann", "guess", now=now)

    with pytest.raises(UserError, match="is locked after 5 failed sign-ins; try again in 10 min"):
        users.authenticate("ann", "correct horse", now=now + timedelta(minutes=5))
    user = users.authenticate("ann", "correct horse", now=now + timedelta(minutes=16))
    assert user.failed_logins == 0


def test_last_admin_cannot_be_removed_nor_yourself(mongo_db: Database) -> None:
    users = UserRepository(mongo_db)
    users.add("ann", "correct horse")
    users.add("lab", "correct horse", role="labeller")
    with pytest.raises(UserError, match="'ann' is the last administrator"):
        users.remove("ann", by="lab")
    with pytest.raises(UserError, match="cannot remove yourself"):
        users.remove("ann", by="ann")
    users.add("bob", "correct horse")
    users.remove("ann", by="bob")
    assert [u.username for u in users.list()] == ["bob", "lab"]


def test_change_password_needs_the_old_one(mongo_db: Database) -> None:
    users = UserRepository(mongo_db)
    users.add("ann", "correct horse")
    with pytest.raises(UserError, match="current password is wrong"):
        users.change_password("ann", "nope", "battery staple")
    users.change_password("ann", "correct horse", "battery staple")
    assert users.authenticate("ann", "battery staple").username == "ann"


def test_first_admin_from_environment_or_generated_once(mongo_db: Database, tmp_path) -> None:
    users = UserRepository(mongo_db)
    first = ensure_first_admin(users, username="Boss", password="from the env", data_dir=tmp_path)
    assert first.username == "boss" and first.password is None
    assert ensure_first_admin(users, username="x", password="y" * 9, data_dir=tmp_path) is None
    assert users.count() == 1


def test_first_admin_generated_password_is_saved_privately(mongo_db: Database, tmp_path) -> None:
    users = UserRepository(mongo_db)
    first = ensure_first_admin(users, username=None, password=None, data_dir=tmp_path)
    assert first.username == "admin"
    assert first.password in first.password_file.read_text()
    assert oct(first.password_file.stat().st_mode)[-3:] == "600"
    assert users.authenticate("admin", first.password).is_admin


def test_only_one_training_run_at_a_time(mongo_db: Database) -> None:
    runs = TrainingRunRepository(mongo_db)
    first = runs.create({"epochs": 3}, requested_by="ann")

    with pytest.raises(UserError, match=f"Run {first} is still queued"):
        runs.create({"epochs": 3}, requested_by="bob")
    assert runs.claim(first, pid=123, host="trainer")
    assert not runs.claim(first, pid=456, host="other")
    runs.record_epoch(first, 1, 3, {"loss": 0.9, "colour_accuracy": 0.5})
    runs.finish(first, "succeeded", model_id="m1")

    run = runs.get(first)
    assert (run.status, run.epoch, run.epochs, run.model_id) == ("succeeded", 1, 3, "m1")
    assert run.history == [{"epoch": 1, "loss": 0.9, "colour_accuracy": 0.5}]
    second = runs.create({"epochs": 1}, requested_by="bob")
    assert runs.active().id == second


def test_a_run_shows_the_backbone_it_really_used(mongo_db: Database) -> None:
    runs = TrainingRunRepository(mongo_db)
    run_id = runs.create({"backbone": "mobilenet_v2"}, requested_by="ann")
    assert runs.get(run_id).backbone == "mobilenet_v2"

    runs.record_backbone(run_id, "small_cnn")  # no ImageNet weights: the fallback

    assert runs.get(run_id).backbone == "small_cnn"


def test_cancel_and_stale_runs(mongo_db: Database) -> None:
    runs = TrainingRunRepository(mongo_db)
    queued = runs.create({}, requested_by="ann")
    runs.request_cancel(queued)
    assert runs.get(queued).status == "cancelled"
    with pytest.raises(UserError, match="already cancelled"):
        runs.request_cancel(queued)

    running = runs.create({}, requested_by="ann")
    runs.claim(running, pid=1, host="h")
    runs.request_cancel(running)
    assert runs.is_cancel_requested(running) and runs.get(running).status == "running"
    mongo_db.training_runs.update_one(
        {"status": "running"}, {"$set": {"heartbeat_at": utcnow() - timedelta(minutes=10)}}
    )
    assert runs.fail_stale(heartbeat_timeout_s=60) == 1
    run = runs.get(running)
    assert run.status == "failed" and "stopped answering" in run.error
    assert "stopped answering" in runs.log_entries(running)[-1].message
    assert runs.active() is None


def test_log_entries_in_order_and_after_a_time(mongo_db: Database) -> None:
    runs = TrainingRunRepository(mongo_db)
    run_id = runs.create({}, requested_by="ann")
    for i in range(3):
        runs.log(run_id, "info", f"line {i}")
    entries = runs.log_entries(run_id)
    assert [e.message for e in entries] == ["line 0", "line 1", "line 2"]
    assert [e.message for e in runs.log_entries(run_id, skip=2)] == ["line 2"]
    assert [e.message for e in runs.last_log_entries(run_id, 2)] == ["line 1", "line 2"]


def scored_model(database: Database, accuracy: float) -> str:
    """A stored (inactive) model record with this colour accuracy and cached features."""
    return add_model(
        database,
        b"keras-bytes-%f" % accuracy,
        hyper_parameters={"epochs": 2},
        metrics={"colour": {"val_accuracy": accuracy}},
        thresholds={"colour": 0.5},
        validation_image_ids=["a", "b"],
        training_started=utcnow(),
        training_ended=utcnow(),
        feature_key="small_cnn:64",
    )


def test_exactly_one_active_model_and_activate_rolls_back(mongo_db: Database) -> None:
    models = ModelRepository(mongo_db)
    assert models.active() is None
    first, second = scored_model(mongo_db, 0.8), scored_model(mongo_db, 0.9)

    models.activate(first)
    models.activate(second)
    assert models.active_id() == second
    models.activate(first)

    assert [m.id for m in models.list() if m.is_active] == [first]
    assert models.get(first).schema == CAT_PHENOTYPE
    assert models.model_file(models.get(first)) == b"keras-bytes-0.800000"


def test_active_model_cannot_be_deleted_and_delete_removes_file(mongo_db: Database) -> None:
    models = ModelRepository(mongo_db)
    features = FeatureRepository(mongo_db)
    active, old = scored_model(mongo_db, 0.8), scored_model(mongo_db, 0.7)
    models.activate(active)
    features.put_many("small_cnn:64", {"img": np.ones(4)})
    with pytest.raises(UserError, match="is the active model"):
        models.delete(active)

    old_file = models.get(old).file_id
    models.delete(old)

    assert not FileStore(mongo_db).exists(old_file)
    assert features.count("small_cnn:64") == 1  # still used by the active model
    with pytest.raises(NotFoundError):
        models.get(old)


def test_prediction_without_consent_keeps_no_photo_and_feedback_is_replaced(
    mongo_db: Database,
) -> None:
    predictions = PredictionRepository(mongo_db)
    common = {
        "sha256": "abc",
        "model_id": "m1",
        "label": {"is_cat": True, "colour": "blue"},
        "probabilities": {"colour": {"blue": 0.9, "black": 0.1}},
        "unsure": [],
        "confidence": 0.9,
        "channel": "breeder_app",
    }
    kept = predictions.add(**common, image=b"photo", thumbnail=b"thumb")
    private = predictions.add(**common)

    assert predictions.image_bytes(predictions.get(kept)) == b"photo"
    assert predictions.get(private).has_image is False
    predictions.record_user_feedback(kept, is_correct=True, correction=None)
    predictions.record_user_feedback(kept, is_correct=False, correction={"colour": "black"})
    stored = predictions.get(kept)
    assert (stored.user_feedback, stored.user_correction) == (False, {"colour": "black"})
    assert predictions.count() == 2
    assert [p.id for p in predictions.recent(with_image_only=True)] == [kept]
    with pytest.raises(UserError, match="not a valid prediction id"):
        predictions.record_user_feedback("nope", is_correct=True, correction=None)


def test_features_round_trip_and_missing_ones(mongo_db: Database) -> None:
    features = FeatureRepository(mongo_db)
    features.put_many("mobilenet_v2:128", {"a": np.arange(3, dtype=np.float32)})
    features.put_many("mobilenet_v2:128", {"a": np.ones(3), "b": np.zeros(3)})
    found = features.get_many(["a", "b", "c"], "mobilenet_v2:128")
    assert sorted(found) == ["a", "b"]
    assert found["a"].tolist() == [1.0, 1.0, 1.0]
    assert features.count() == 2
