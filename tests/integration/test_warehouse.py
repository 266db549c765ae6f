"""The reporting warehouse on the embedded PostgreSQL and on SQLite, filled from the embedded
MongoDB: schema creation, refresh counts, idempotence, atomicity, backfill, delete, queries."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from bson import ObjectId
from pymongo import MongoClient
from pymongo.database import Database
from sqlalchemy import Engine, create_engine, func, inspect, select, text

from core.db.models import ModelRepository
from core.db.sql import normalise_url
from core.db.training_images import NewImage, TrainingImageRepository
from core.db.warehouse import queries
from core.db.warehouse.schema import Warehouse, date_id, ensure_warehouse
from core.errors import UserError
from core.labels import CAT_PHENOTYPE, DOG_BREED, LabelSchema
from core.services import reporting
from jobs.bench.reporting import measure
from tests.label_helpers import BLUE, NOT_CAT, RED_TABBY
from tests.model_helpers import add_model
from tests.prediction_helpers import add_bare_prediction

REPO_ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 20)
YESTERDAY = TODAY - timedelta(days=1)

FAWN_POINT = {
    "is_cat": True,
    "colour": "fawn",
    "is_tabby": False,
    "pattern": "bicolour",
    "is_pointed": True,
}


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(params=["postgresql", "sqlite"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A fresh, empty warehouse database: its own PostgreSQL schema, or a new SQLite file."""
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'warehouse.db'}")
        yield engine
        engine.dispose()
        return
    postgres_url = request.getfixturevalue("postgres_url")
    pg_engine = request.getfixturevalue("pg_engine")
    name = f"test_{uuid4().hex[:10]}"
    with pg_engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {name}"))
    engine = create_engine(
        normalise_url(postgres_url), connect_args={"options": f"-csearch_path={name}"}
    )
    yield engine
    engine.dispose()
    with pg_engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {name} CASCADE"))


def add_image(
    repository: TrainingImageRepository,
    label: dict | None,
    *,
    source: str = "upload",
    seed: int,
    schema: LabelSchema = CAT_PHENOTYPE,
) -> str:
    """Store one (tiny, undecoded) image through the repository, as an import does."""
    data = f"image {seed}".encode()
    image_id = repository.add(
        NewImage(
            filename=f"cat-{seed}.jpg",
            data=data,
            sha256=hashlib.sha256(data).hexdigest(),
            thumbnail=data,
            width=64,
            height=64,
            format="JPEG",
            perceptual_hash=f"{seed:016x}",
            source=source,
            label=dict(label or {}),
            is_labelled=bool(label) and schema.is_complete(label),
            labelled_by="test" if label else None,
        )
    )
    assert image_id is not None
    return image_id


def trained_model_record(
    database: Database, accuracies: list[float], losses: list[float], ended: datetime
) -> str:
    """A stored model record that trained for an hour up to `ended`, with these metrics."""
    traits = CAT_PHENOTYPE.trait_names
    metrics = {
        name: {"train_accuracy": 1.0, "val_accuracy": a, "train_loss": 0.0, "val_loss": loss}
        for name, a, loss in zip(traits, accuracies, losses, strict=False)
    }
    return add_model(
        database,
        b"keras bytes",
        metrics=metrics,
        training_started=ended - timedelta(hours=1),
        training_ended=ended,
    )


@pytest.fixture
def filled(mongo_db: Database) -> Database:
    """A small product database: labelled, partly labelled and unlabelled images from three
    sources, predictions in every review state, and two models."""
    images = TrainingImageRepository(mongo_db)
    seed = iter(range(1, 1000))
    for label, source, copies in [
        (BLUE, "upload", 3),
        (BLUE, "web_search", 2),
        (RED_TABBY, "upload", 1),
        (FAWN_POINT, "demo", 2),
        (NOT_CAT, "web_search", 2),
        (None, "upload", 2),
        ({"is_cat": True, "colour": "blue"}, "demo", 1),  # partly labelled: unlabelled
    ]:
        for _ in range(copies):
            add_image(images, label, source=source, seed=next(seed))
    for label, user, admin in [
        (BLUE, True, True),
        (BLUE, True, None),
        (BLUE, False, False),
        (RED_TABBY, None, None),
        (RED_TABBY, False, True),
        (NOT_CAT, True, None),
        (FAWN_POINT, None, False),
    ]:
        add_bare_prediction(mongo_db, label, user=user, admin=admin)
    first = trained_model_record(
        mongo_db,
        [0.9, 0.6, 0.7, 0.8, 0.95],
        [0.2, 0.9, 0.6, 0.5, 0.1],
        datetime(2026, 11, 1, tzinfo=UTC),
    )
    trained_model_record(
        mongo_db,
        [0.95, 0.7, 0.8, 0.85, 0.97],
        [0.1, 0.7, 0.5, 0.4, 0.05],
        datetime(2026, 11, 15, tzinfo=UTC),
    )
    ModelRepository(mongo_db).activate(first)
    return mongo_db


# --- reading the warehouse back ------------------------------------------------------------------


def training_counts(engine: Engine, warehouse: Warehouse, day: date) -> Counter:
    """(label as stored in dim_label, is_unlabelled, source) -> count for one snapshot day."""
    fact, label = warehouse.fact_training_images, warehouse.dim_label
    source = warehouse.dim_training_image_source
    traits = CAT_PHENOTYPE.trait_names
    query = (
        select(label.c.is_unlabelled, source.c.source, fact.c.count, *(label.c[t] for t in traits))
        .join(label, label.c.id == fact.c.label_id)
        .join(source, source.c.id == fact.c.source_id)
        .where(fact.c.date_id == date_id(day))
    )
    counts: Counter = Counter()
    with engine.connect() as connection:
        for is_unlabelled, source_name, count, *values in connection.execute(query):
            stored = tuple((t, v) for t, v in zip(traits, values, strict=True) if v is not None)
            counts[(stored, bool(is_unlabelled), source_name)] += count
    return counts


def mongo_training_counts(database: Database) -> Counter:
    """The same counts, straight from MongoDB in Python."""
    counts: Counter = Counter()
    for doc in database["training_images"].find({}, {"label": 1, "is_labelled": 1, "source": 1}):
        label = doc.get("label") or {}
        stored = tuple((t, label[t]) for t in CAT_PHENOTYPE.trait_names if t in label)
        counts[(stored, not doc["is_labelled"], doc["source"])] += 1
    return counts


def prediction_counts(engine: Engine, warehouse: Warehouse, day: date) -> Counter:
    fact, label = warehouse.fact_predictions, warehouse.dim_label
    user = warehouse.dim_prediction_review_status.alias("u")
    admin = warehouse.dim_prediction_review_status.alias("a")
    traits = CAT_PHENOTYPE.trait_names
    query = (
        select(user.c.status, admin.c.status, fact.c.count, *(label.c[t] for t in traits))
        .join(label, label.c.id == fact.c.label_id)
        .join(user, user.c.id == fact.c.user_review_status_id)
        .join(admin, admin.c.id == fact.c.admin_review_status_id)
        .where(fact.c.date_id == date_id(day))
    )
    counts: Counter = Counter()
    with engine.connect() as connection:
        for user_status, admin_status, count, *values in connection.execute(query):
            stored = tuple((t, v) for t, v in zip(traits, values, strict=True) if v is not None)
            counts[(stored, user_status, admin_status)] += count
    return counts


def status_of(feedback: bool | None) -> str:
    return {True: "accepted", False: "rejected", None: "not reviewed"}[feedback]


def mongo_prediction_counts(database: Database) -> Counter:
    counts: Counter = Counter()
    for doc in database["predictions"].find({}):
        label = doc["label"]
        stored = tuple((t, label[t]) for t in CAT_PHENOTYPE.trait_names if t in label)
        counts[(stored, status_of(doc["user_feedback"]), status_of(doc["admin_feedback"]))] += 1
    return counts


def row_count(engine: Engine, table) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


# --- schema --------------------------------------------------------------------------------------


def test_schema_is_created_on_first_use_with_a_column_per_trait(engine: Engine) -> None:
    ensure_warehouse(engine, CAT_PHENOTYPE)
    ensure_warehouse(engine, CAT_PHENOTYPE)  # a second start finds everything in place

    inspector = inspect(engine)
    assert {
        "dim_date",
        "dim_label",
        "dim_training_image_source",
        "dim_prediction_review_status",
        "fact_training_images_daily_snapshot",
        "fact_models_daily_snapshot",
        "fact_predictions_daily_snapshot",
    } <= set(inspector.get_table_names())
    label_columns = {c["name"] for c in inspector.get_columns("dim_label")}
    assert {
        "is_unlabelled",
        "is_cat",
        "colour",
        "is_tabby",
        "pattern",
        "is_pointed",
    } <= label_columns
    model_columns = {c["name"] for c in inspector.get_columns("fact_models_daily_snapshot")}
    assert {
        "training_started_date_id",
        "training_ended_date_id",
        "min_accuracy",
        "max_accuracy",
        "avg_accuracy",
        "min_loss",
        "max_loss",
        "avg_loss",
    } <= model_columns


def test_a_new_label_schema_adds_its_trait_columns(engine: Engine) -> None:
    ensure_warehouse(engine, CAT_PHENOTYPE)
    ensure_warehouse(engine, DOG_BREED)

    columns = {c["name"] for c in inspect(engine).get_columns("dim_label")}
    assert {"breed", "colour", "is_cat"} <= columns


# --- refresh -------------------------------------------------------------------------------------


def test_refresh_counts_equal_what_mongo_holds(engine: Engine, filled: Database) -> None:
    result = reporting.refresh_now(engine, filled, CAT_PHENOTYPE, today=TODAY)

    warehouse = ensure_warehouse(engine, CAT_PHENOTYPE)
    assert training_counts(engine, warehouse, TODAY) == mongo_training_counts(filled)
    assert prediction_counts(engine, warehouse, TODAY) == mongo_prediction_counts(filled)
    assert (result.training_images, result.unlabelled_images) == (13, 3)
    assert (result.predictions, result.models) == (7, 2)


def test_unlabelled_images_are_counted_apart_from_label_balance(
    engine: Engine, filled: Database
) -> None:
    reporting.refresh_now(engine, filled, CAT_PHENOTYPE, today=TODAY)
    warehouse = ensure_warehouse(engine, CAT_PHENOTYPE)

    balance = queries.label_balance(engine, warehouse, queries.ReportFilter(), "colour")

    by_value = dict(zip(balance["value"], balance["images"], strict=True))
    # the partly labelled blue image is not in the blue bar; it is one of the 3 unlabelled
    assert by_value["blue"] == 5 and by_value["red"] == 1 and by_value["fawn"] == 2
    assert by_value["unlabelled"] == 3 and by_value["lilac"] == 0
    assert balance[balance["value"] == "unlabelled"]["is_unlabelled"].all()
    labelled = balance[~balance["is_unlabelled"]]
    assert labelled["share"].sum() == pytest.approx(1.0)


def test_refresh_twice_replaces_todays_rows_never_doubles_them(
    engine: Engine, filled: Database
) -> None:
    reporting.refresh_now(engine, filled, CAT_PHENOTYPE, today=TODAY)
    warehouse = ensure_warehouse(engine, CAT_PHENOTYPE)
    first = training_counts(engine, warehouse, TODAY), prediction_counts(engine, warehouse, TODAY)
    rows = [row_count(engine, table) for table in warehouse.fact_tables]

    reporting.refresh_now(engine, filled, CAT_PHENOTYPE, today=TODAY)

    assert (
        training_counts(engine, warehouse, TODAY),
        prediction_counts(engine, warehouse, TODAY),
    ) == first
    assert [row_count(engine, table) for table in warehouse.fact_tables] == rows
    assert row_count(engine, warehouse.snapshots) == 1


def test_refresh_after_a_change_replaces_todays_counts(engine: Engine, filled: Database) -> None:
    reporting.refresh_now(engine, filled, CAT_PHENOTYPE, today=TODAY)
    add_image(TrainingImageRepository(filled), BLUE, source="folder", seed=5000)

    result = reporting.refresh_now(engine, filled, CAT_PHENOTYPE, today=TODAY)

    warehouse = ensure_warehouse(engine, CAT_PHENOTYPE)
    assert result.training_images == 14
    assert training_counts(engine, warehouse, TODAY) == mongo_training_counts(filled)


def test_refresh_if_missing_runs_only_when_todays_snapshot_is_missing(
    engine: Engine, filled: Database
) -> None:
    assert reporting.refresh_if_missing(engine, filled, CAT_PHENOTYPE, today=TODAY) is not None
    add_image(TrainingImageRepository(filled), BLUE, seed=5001)

    assert reporting.refresh_if_missing(engine, filled, CAT_PHENOTYPE, today=TODAY) is None
    warehouse = ensure_warehouse(engine, CAT_PHENOTYPE)
    assert sum(training_counts(engine, warehouse, TODAY).values()) == 13


def test_a_failure_mid_refresh_leaves_the_previous_snapshot(
    engine: Engine, filled: Database
) -> None:
    reporting.refresh_now(engine, filled, CAT_PHENOTYPE, today=TODAY)
    warehouse = ensure_warehouse(engine, CAT_PHENOTYPE)
    before = training_counts(engine, warehouse, TODAY), prediction_counts(engine, warehouse, TODAY)
    add_image(TrainingImageRepository(filled), RED_TABBY, source="folder", seed=5002)
    add_bare_prediction(filled, BLUE, user=True)

    def fail_after_images(_fraction: float, message: str) -> None:
        if message.startswith("Wrote the training-image counts"):
            raise RuntimeError("the connection dropped")

    with pytest.raises(RuntimeError, match="connection dropped"):
        reporting.refresh_now(
            engine, filled, CAT_PHENOTYPE, today=TODAY, progress=fail_after_images
        )

    assert (
        training_counts(engine, warehouse, TODAY),
        prediction_counts(engine, warehouse, TODAY),
    ) == before
    assert row_count(engine, warehouse.snapshots) == 1


def test_a_failure_in_the_first_refresh_leaves_no_snapshot(
    engine: Engine, filled: Database
) -> None:
    def fail_late(_fraction: float, message: str) -> None:
        if message.startswith("Wrote the prediction counts"):
            raise RuntimeError("stopped")

    with pytest.raises(RuntimeError):
        reporting.refresh_now(engine, filled, CAT_PHENOTYPE, today=TODAY, progress=fail_late)

    warehouse = ensure_warehouse(engine, CAT_PHENOTYPE)
    assert [row_count(engine, t) for t in (*warehouse.fact_tables, warehouse.snapshots)] == [0] * 4
    assert reporting.refresh_if_missing(engine, filled, CAT_PHENOTYPE, today=TODAY) is not None


def test_past_days_stay_as_they_were(engine: Engine, filled: Database) -> None:
    reporting.refresh_now(engine, filled, CAT_PHENOTYPE, today=YESTERDAY)
    add_image(TrainingImageRepository(filled), BLUE, source="folder", seed=5003)
    reporting.refresh_now(engine, filled, CAT_PHENOTYPE, today=TODAY)
    warehouse = ensure_warehouse(engine, CAT_PHENOTYPE)

    size = queries.training_set_size(engine, warehouse, queries.ReportFilter())

    totals = size.groupby("date")["images"].sum()
    assert list(totals) == [13, 14]
    folder = size[(size["source"] == "folder") & (size["images"] > 0)]
    assert list(folder["date"].dt.date) == [TODAY]


def test_progress_is_reported_from_start_to_end(engine: Engine, filled: Database) -> None:
    seen: list[tuple[float, str]] = []

    reporting.refresh_now(
        engine, filled, CAT_PHENOTYPE, today=TODAY, progress=lambda f, m: seen.append((f, m))
    )

    fractions = [fraction for fraction, _ in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert seen[-1][1] == "Snapshot saved"


def test_odd_documents_are_counted_without_breaking_the_refresh(
    engine: Engine, mongo_db: Database
) -> None:
    now = datetime.now(UTC)
    mongo_db["training_images"].insert_many(
        [
            {"sha256": "a", "created_at": now, "is_labelled": False},  # no label, no source
            {
                "sha256": "b",
                "created_at": now,
                "source": "upload",
                "label": "blue",
                "is_labelled": True,
            },
            {
                "sha256": "c",
                "created_at": now,
                "source": "upload",
                "is_labelled": True,
                "label": {"is_cat": "maybe", "colour": 7},
            },
        ]
    )

    result = reporting.refresh_now(engine, mongo_db, CAT_PHENOTYPE, today=TODAY)

    assert (result.training_images, result.unlabelled_images) == (3, 3)
    warehouse = ensure_warehouse(engine, CAT_PHENOTYPE)
    size = queries.training_set_size(engine, warehouse, queries.ReportFilter())
    assert set(size["source"]) == {"unknown", "upload"}


def test_dog_breed_schema_reports_breeds(engine: Engine, mongo_db: Database) -> None:
    images = TrainingImageRepository(mongo_db)
    for seed, breed in enumerate(["beagle", "beagle", "pug", None], start=1):
        label = {"breed": breed} if breed else None
        add_image(images, label, source="folder", seed=seed, schema=DOG_BREED)

    reporting.refresh_now(engine, mongo_db, DOG_BREED, today=TODAY)

    warehouse = ensure_warehouse(engine, DOG_BREED)
    assert queries.values_of(engine, warehouse, "breed") == ["beagle", "pug"]
    balance = queries.label_balance(engine, warehouse, queries.ReportFilter(), "breed")
    assert dict(zip(balance["value"], balance["images"], strict=True)) == {
        "beagle": 2,
        "pug": 1,
        "unlabelled": 1,
    }


# --- backfill ------------------------------------------------------------------------------------


def test_backfill_rebuilds_a_past_day_from_creation_and_labelling_dates(
    engine: Engine, mongo_db: Database
) -> None:
    images = TrainingImageRepository(mongo_db)
    old = add_image(images, BLUE, seed=1)
    relabelled = add_image(images, None, seed=2)
    add_image(images, RED_TABBY, seed=3)  # created today: not in the past day
    day_before = datetime(2026, 11, 10, 12, tzinfo=UTC)
    collection = mongo_db["training_images"]
    for image_id in (old, relabelled):
        collection.update_one(
            {"_id": ObjectId(image_id)},
            {
                "$set": {
                    "created_at": day_before,
                    "labelled_at": day_before if image_id == old else None,
                }
            },
        )
    images.apply_label([relabelled], BLUE, CAT_PHENOTYPE, by="test")  # labelled today
    kept = add_bare_prediction(mongo_db, BLUE, user=True)
    collection = mongo_db["predictions"]
    collection.update_one({"_id": ObjectId(kept)}, {"$set": {"created_at": day_before}})

    result = reporting.backfill(engine, mongo_db, CAT_PHENOTYPE, date(2026, 11, 10))

    assert result.is_backfill
    assert (result.training_images, result.unlabelled_images, result.predictions) == (2, 1, 1)
    warehouse = ensure_warehouse(engine, CAT_PHENOTYPE)
    # the user's answer came after that day: the prediction was not reviewed yet
    assert set(prediction_counts(engine, warehouse, date(2026, 11, 10))) == {
        (tuple(BLUE.items()), "not reviewed", "not reviewed")
    }
    days = queries.snapshot_days(engine, warehouse, queries.ReportFilter())
    assert list(days["is_backfill"]) == [True]


def test_backfill_refuses_future_days_and_keeps_existing_snapshots(
    engine: Engine, filled: Database
) -> None:
    today = reporting.today_utc()
    with pytest.raises(UserError, match=r"is in the future"):
        reporting.backfill(engine, filled, CAT_PHENOTYPE, today + timedelta(days=1))
    reporting.backfill(engine, filled, CAT_PHENOTYPE, today - timedelta(days=3))

    with pytest.raises(UserError, match=r"already has a snapshot .* --replace"):
        reporting.backfill(engine, filled, CAT_PHENOTYPE, today - timedelta(days=3))
    result = reporting.backfill(
        engine, filled, CAT_PHENOTYPE, today - timedelta(days=3), replace=True
    )
    assert result.is_backfill


# --- delete --------------------------------------------------------------------------------------


def test_delete_before_a_date_keeps_the_later_days(engine: Engine, filled: Database) -> None:
    for day in (TODAY - timedelta(days=2), YESTERDAY, TODAY):
        reporting.refresh_now(engine, filled, CAT_PHENOTYPE, today=day)
    assert reporting.count_snapshots(engine, CAT_PHENOTYPE, before=YESTERDAY) == 1

    deleted = reporting.delete_reports(engine, CAT_PHENOTYPE, before=YESTERDAY)

    warehouse = ensure_warehouse(engine, CAT_PHENOTYPE)
    assert deleted == 1
    days = queries.snapshot_days(engine, warehouse, queries.ReportFilter())
    assert list(days["date"].dt.date) == [TODAY, YESTERDAY]
    assert sum(training_counts(engine, warehouse, YESTERDAY).values()) == 13


def test_delete_all_empties_the_warehouse(engine: Engine, filled: Database) -> None:
    reporting.refresh_now(engine, filled, CAT_PHENOTYPE, today=YESTERDAY)
    reporting.refresh_now(engine, filled, CAT_PHENOTYPE, today=TODAY)

    assert reporting.delete_reports(engine, CAT_PHENOTYPE) == 2

    warehouse = ensure_warehouse(engine, CAT_PHENOTYPE)
    tables = [*warehouse.fact_tables, warehouse.snapshots, warehouse.dim_label, warehouse.dim_date]
    assert [row_count(engine, table) for table in tables] == [0] * len(tables)
    assert reporting.warehouse_status(engine, warehouse).is_empty
    assert reporting.refresh_if_missing(engine, filled, CAT_PHENOTYPE, today=TODAY) is not None


# --- dashboard queries ---------------------------------------------------------------------------


def test_queries_on_an_empty_warehouse_return_empty_frames(engine: Engine) -> None:
    warehouse = ensure_warehouse(engine, CAT_PHENOTYPE)
    report = queries.ReportFilter()

    assert queries.training_set_size(engine, warehouse, report).empty
    assert queries.label_balance(engine, warehouse, report, "colour").empty
    assert queries.coverage(engine, warehouse, report, "colour", "pattern").empty
    assert queries.model_metrics(engine, warehouse, report).empty
    assert queries.predictions_by_review(engine, warehouse, report).empty
    assert queries.accepted_rate(engine, warehouse, report, "colour").empty
    assert reporting.warehouse_status(engine, warehouse).is_empty


def test_filters_narrow_every_query(engine: Engine, filled: Database) -> None:
    reporting.refresh_now(engine, filled, CAT_PHENOTYPE, today=TODAY)
    warehouse = ensure_warehouse(engine, CAT_PHENOTYPE)

    blue = queries.ReportFilter(trait="colour", value="Blue").checked(warehouse)
    size = queries.training_set_size(engine, warehouse, blue)
    assert size.groupby("status")["images"].sum().to_dict() == {"labelled": 5, "unlabelled": 1}
    web = queries.ReportFilter(source="web_search")
    assert queries.training_set_size(engine, warehouse, web)["images"].sum() == 4
    grid = queries.coverage(engine, warehouse, web, "colour", "pattern")
    assert len(grid) == 9 * 3 and grid["images"].sum() == 2
    accepted = queries.ReportFilter(user_status="accepted")
    reviews = queries.predictions_by_review(engine, warehouse, accepted)
    assert reviews[reviews["reviewer"] == "user"]["status"].tolist() == ["accepted"]
    assert reviews[reviews["reviewer"] == "admin"]["predictions"].sum() == 3
    tabby = queries.ReportFilter(trait="is_tabby", value="yes").checked(warehouse)
    assert queries.predictions_by_review(engine, warehouse, tabby)["predictions"].sum() == 4


def test_accepted_rate_counts_reviews_per_predicted_value(engine: Engine, filled: Database) -> None:
    reporting.refresh_now(engine, filled, CAT_PHENOTYPE, today=TODAY)
    warehouse = ensure_warehouse(engine, CAT_PHENOTYPE)

    rates = queries.accepted_rate(engine, warehouse, queries.ReportFilter(), "colour")

    blue = rates[rates["value"] == "blue"].set_index("reviewer")
    assert blue.loc["user", ["accepted", "rejected"]].tolist() == [2, 1]
    assert blue.loc["user", "rate"] == pytest.approx(2 / 3)
    assert blue.loc["admin", "rate"] == pytest.approx(0.5)
    lilac = rates[rates["value"] == "lilac"]
    assert lilac["rate"].isna().all()


def test_model_metrics_give_min_mean_and_max_over_traits(engine: Engine, filled: Database) -> None:
    reporting.refresh_now(engine, filled, CAT_PHENOTYPE, today=TODAY)
    warehouse = ensure_warehouse(engine, CAT_PHENOTYPE)

    metrics = queries.model_metrics(engine, warehouse, queries.ReportFilter())

    accuracy = metrics[metrics["measure"] == "accuracy"]
    assert list(accuracy["trained"].dt.date) == [date(2026, 11, 1), date(2026, 11, 15)]
    first = accuracy.iloc[0]
    assert (first["min"], first["max"]) == (pytest.approx(0.6), pytest.approx(0.95))
    assert first["avg"] == pytest.approx(0.79)
    assert list(accuracy["is_active"]) == [True, False]
    november_10_on = queries.ReportFilter(start=date(2026, 11, 10))
    assert len(queries.model_metrics(engine, warehouse, november_10_on)) == 2  # one model


def test_date_range_picks_the_last_snapshot_in_range(engine: Engine, filled: Database) -> None:
    reporting.refresh_now(engine, filled, CAT_PHENOTYPE, today=YESTERDAY)
    add_image(TrainingImageRepository(filled), BLUE, seed=6000)
    reporting.refresh_now(engine, filled, CAT_PHENOTYPE, today=TODAY)
    warehouse = ensure_warehouse(engine, CAT_PHENOTYPE)

    until_yesterday = queries.ReportFilter(end=YESTERDAY)
    balance = queries.label_balance(engine, warehouse, until_yesterday, "colour")

    assert balance[balance["value"] == "blue"]["images"].item() == 5


@pytest.mark.parametrize(
    ("report", "message"),
    [
        (queries.ReportFilter(start=TODAY, end=YESTERDAY), "is after the end date"),
        (queries.ReportFilter(user_status="maybe"), "'maybe' is not known"),
        (queries.ReportFilter(trait="colour", value="tartan"), "'tartan' is not known"),
        (queries.ReportFilter(trait="is_tabby", value="perhaps"), "must be yes or no"),
        (queries.ReportFilter(trait="fur", value="long"), "'fur' is not part of"),
        (queries.ReportFilter(value="blue"), "needs a trait"),
    ],
)
def test_bad_filters_are_refused_with_one_sentence(
    engine: Engine, report: queries.ReportFilter, message: str
) -> None:
    warehouse = ensure_warehouse(engine, CAT_PHENOTYPE)
    with pytest.raises(UserError, match=message) as caught:
        report.checked(warehouse)
    assert str(caught.value).count(". ") == 0


# --- the cron job --------------------------------------------------------------------------------


def run_job(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "jobs.refresh_reports", *args],
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def job_env(filled: Database, mongo_uri: str, tmp_path: Path) -> dict[str, str]:
    return {
        "MONGO_URI": mongo_uri,
        "MONGO_DB": filled.name,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'job.db'}",
        "DATA_DIR": str(tmp_path / "data"),
    }


def test_job_takes_todays_snapshot_and_deletes_on_request(job_env: dict[str, str]) -> None:
    done = run_job("--quiet", env=job_env)
    assert done.returncode == 0, done.stderr
    assert "13 training images (3 unlabelled), 7 predictions, 2 models in" in done.stdout

    refused = run_job("--delete-all", env=job_env)
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        "error: --delete-all deletes every reporting snapshot; add --yes to confirm it."
    )
    deleted = run_job("--delete-all", "--yes", env=job_env)
    assert (
        deleted.returncode == 0
        and deleted.stdout.strip() == "Deleted every snapshot: 1 day of reporting data."
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date", "2026-13-01"], "The date '2026-13-01' is not a date; write it as YYYY-MM-DD."),
        (["--date", "yesterday"], "The date 'yesterday' is not a date; write it as YYYY-MM-DD."),
        (["--delete-before", "1/2/2026"], "--delete-before date '1/2/2026' is not a date"),
        (["--date", "2999-01-01"], "is in the future"),
        (["--replace"], "--replace only applies with --date"),
    ],
)
def test_job_refuses_bad_dates_with_exit_code_2(
    job_env: dict[str, str], args: list[str], message: str
) -> None:
    done = run_job(*args, env=job_env)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]


# --- the benchmark -------------------------------------------------------------------------------


def test_bench_measures_at_small_scale_and_leaves_nothing_behind(
    mongo_uri: str, postgres_url: str, pg_engine: Engine
) -> None:
    with MongoClient(mongo_uri) as client:
        databases_before = set(client.list_database_names())
    with pg_engine.connect() as connection:
        schemas_before = set(inspect(connection).get_schema_names())

    results = measure(
        mongo_uri, postgres_url, images=300, predictions=200, models=3, days=5, repeats=1
    )

    assert results["warehouse"] == "postgresql"
    assert results["refresh_first_s"] > 0 and results["fact_rows_for_the_year"] > 0
    assert set(results["queries"]) >= {"training_set_size", "predictions_by_review", "coverage"}
    assert all(timing["median_ms"] > 0 for timing in results["queries"].values())
    with MongoClient(mongo_uri) as client:
        assert set(client.list_database_names()) <= databases_before | {"admin", "local"}
    with pg_engine.connect() as connection:
        assert set(inspect(connection).get_schema_names()) == schemas_before
