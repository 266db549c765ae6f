"""The Dashboards console page under AppTest, on the test MongoDB and a fresh warehouse."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest
from pymongo.database import Database
from sqlalchemy import Engine, text
from streamlit.testing.v1 import AppTest

from core.config import Settings
from core.db.training_images import TrainingImageRepository
from core.labels import CAT_PHENOTYPE
from tests.console_helpers import add_images, add_user, console_env, page_test, signed_in
from tests.label_helpers import BLUE, NOT_CAT, RED_TABBY
from tests.model_helpers import add_model
from tests.prediction_helpers import add_bare_prediction

CHART = "vega_lite_chart"


@pytest.fixture(params=["postgresql", "sqlite"])
def warehouse_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_url: str
) -> Iterator[str]:
    """A fresh warehouse: a new schema on the test PostgreSQL, or a new SQLite file."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'warehouse.db'}"
        return
    pg_engine: Engine = request.getfixturevalue("pg_engine")
    name = f"page_{uuid4().hex[:10]}"
    with pg_engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {name}"))
    separator = "&" if "?" in postgres_url else "?"
    yield f"{postgres_url}{separator}options=-csearch_path%3D{name}"
    with pg_engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {name} CASCADE"))


@pytest.fixture
def page_env(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, mongo_db: Database, warehouse_url: str
) -> Database:
    console_env(monkeypatch, settings)
    monkeypatch.setenv("DATABASE_URL", warehouse_url)
    add_user(mongo_db, "ann", role="admin")
    add_user(mongo_db, "lee", role="labeller")
    return mongo_db


def fill(database: Database) -> None:
    """A few real images, predictions in several review states and one trained model."""
    images = TrainingImageRepository(database)
    add_images(images, [BLUE, BLUE, RED_TABBY, NOT_CAT, None])
    for label, feedback in [(BLUE, True), (BLUE, False), (RED_TABBY, None)]:
        add_bare_prediction(database, label, confidence=0.8, user=feedback)
    metrics = {
        name: {"train_accuracy": 0.9, "val_accuracy": 0.8, "train_loss": 0.3, "val_loss": 0.4}
        for name in CAT_PHENOTYPE.trait_names
    }
    add_model(
        database,
        b"model",
        metrics=metrics,
        training_set_size=4,
        training_started=datetime.now(UTC),
        training_ended=datetime.now(UTC),
    )


def chart_titles(at: AppTest) -> list[str]:
    return [json.loads(chart.proto.spec)["title"]["text"] for chart in at.get(CHART)]


def texts(at: AppTest) -> str:
    parts = [*at.info, *at.success, *at.caption, *at.markdown, *at.error]
    return "\n".join(str(part.value) for part in parts)


def test_without_a_session_the_page_shows_no_dashboard(page_env: Database) -> None:
    fill(page_env)
    at = page_test("dashboards.py")

    at.run()

    assert not at.exception
    assert "Please sign in" in texts(at)
    assert not at.get(CHART) and not at.button and not at.title


def test_empty_database_shows_empty_states_without_charts(page_env: Database) -> None:
    at = signed_in(page_test("dashboards.py"), "ann")

    at.run()

    assert not at.exception, at.exception
    assert at.title[0].value == "Dashboards"
    assert not at.get(CHART)
    shown = texts(at)
    assert "No training images in these snapshots" in shown
    assert "No model finished training" in shown
    assert "No predictions in these snapshots" in shown


def test_with_data_every_chart_renders_with_its_data(page_env: Database) -> None:
    fill(page_env)
    at = signed_in(page_test("dashboards.py"), "ann")

    at.run()

    assert not at.exception, at.exception
    titles = chart_titles(at)
    assert titles == [
        "Training-set size over time",
        "Balance of colour",
        "Coverage: colour × pattern",
        "Model accuracy over time",
        "Model loss over time",
        "Predictions by user review status",
        "Predictions by admin review status",
        "Accepted rate by predicted colour",
    ]
    assert len(at.get("download_button")) == len(titles)
    assert "Last snapshot:" in texts(at)


def test_filters_change_what_the_charts_show(page_env: Database) -> None:
    fill(page_env)
    at = signed_in(page_test("dashboards.py"), "ann")
    at.run()

    at.selectbox(key="dashboards_trait").select("pattern").run()
    at.selectbox(key="dashboards_value_pattern").select("van").run()

    assert not at.exception, at.exception
    titles = chart_titles(at)
    assert "Balance of pattern" in titles and "Accepted rate by predicted pattern" in titles
    balance = next(table.value for table in at.dataframe if "share" in table.value.columns)
    assert balance.set_index("value")["is_selected"].to_dict()["van"]
    assert balance["is_selected"].sum() == 1

    at.selectbox(key="dashboards_review").select("Admin: rejected").run()
    assert not at.exception, at.exception
    assert "No predictions in these snapshots" in texts(at)  # no admin has rejected any
    at.selectbox(key="dashboards_review").select("User: rejected").run()
    at.selectbox(key="dashboards_trait").select("colour").run()
    user = next(t.value for t in at.dataframe if set(t.value.get("reviewer", [])) == {"user"})
    assert set(user["status"]) == {"rejected"} and user["predictions"].sum() == 1


def test_refresh_now_counts_again_with_a_summary(page_env: Database) -> None:
    at = signed_in(page_test("dashboards.py"), "ann")
    at.run()
    fill(page_env)

    next(b for b in at.button if b.label == "Refresh now").click().run()

    assert not at.exception, at.exception
    assert "5 training images (1 unlabelled), 3 predictions, 1 model in" in texts(at)
    assert "Training-set size over time" in chart_titles(at)


def test_delete_needs_confirmation_then_empties_the_warehouse(page_env: Database) -> None:
    fill(page_env)
    at = signed_in(page_test("dashboards.py"), "ann")
    at.run()
    at.radio[0].set_value("Everything")

    next(b for b in at.button if b.label == "Delete reporting data").click().run()
    assert "Tick the confirmation box" in texts(at)
    assert at.get(CHART)

    at.checkbox[0].check()
    next(b for b in at.button if b.label == "Delete reporting data").click().run()

    assert not at.exception, at.exception
    shown = texts(at)
    assert "Deleted every snapshot: 1 day of reporting data." in shown
    assert "press **Refresh now**" in shown
    assert not at.get(CHART)


def test_labellers_see_the_charts_but_cannot_delete(page_env: Database) -> None:
    fill(page_env)
    at = signed_in(page_test("dashboards.py"), "lee")

    at.run()

    assert not at.exception, at.exception
    assert at.get(CHART)
    assert "Delete reporting data" not in [b.label for b in at.button]
