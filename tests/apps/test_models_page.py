"""The Models page under AppTest, against the embedded MongoDB and the session's tiny trained
model."""

from __future__ import annotations

import pytest
from pymongo.database import Database

from core.db.models import ModelRepository
from core.services.model_registry import confusion_cells
from tests.console_helpers import all_text, open_page, page_test, run_ok, widget
from tests.model_helpers import clone_trained, copy_model


def test_the_page_needs_a_session(console: Database) -> None:
    at = run_ok(page_test("models.py"))
    assert [i.value for i in at.info] == ["Please sign in to use the Cat Identifier console."]
    assert not at.title and not at.button


def test_models_page_without_models_says_what_to_do(console) -> None:
    at = open_page("models.py")
    assert at.title[0].value == "Models"
    assert "No model has been trained yet" in at.info[0].value


@pytest.mark.slow
def test_models_page_activate_compare_delete_and_open_a_cell(console, trained_template) -> None:
    models = ModelRepository(console)
    first = clone_trained(trained_template, console)
    record = models.get(first)
    worse = {
        name: {**values, "val_accuracy": values["val_accuracy"] / 2}
        for name, values in record.metrics.items()
    }
    second = copy_model(console, record, models.model_file(record), metrics=worse)
    at = open_page("models.py")

    table = at.dataframe[0].value
    assert list(table["Active"]) == [False, True] and list(table["Id"]) == [second, first]
    assert at.selectbox(key="models_chosen").value == first
    assert widget(at.button, "Activate").disabled and widget(at.button, "Delete…").disabled

    # a confusion cell opens the validation images behind it
    true, predicted, count = confusion_cells(record, "is_cat")[0]
    at.selectbox(key=f"cell_{first}_is_cat").set_value(f"{true}\u2192{predicted}")
    run_ok(at)
    assert f"**True {true}, predicted {predicted}:** {count} images" in all_text(at)
    assert len(at.get("image")) == count

    # roll back to the other model, then delete the one that is no longer active
    at.selectbox(key="models_chosen").set_value(second)
    run_ok(at)
    widget(at.button, "Activate").click()
    run_ok(at)
    assert "is now active" in at.success[0].value
    assert models.active_id() == second
    assert console["prediction_models"].count_documents({"is_active": True}) == 1

    compared = at.dataframe[-1].value.set_index("Trait")
    assert set(compared["Better"]) <= {"A", "same"}  # A: the original, B: its worse copy

    at.selectbox(key="models_chosen").set_value(first)
    run_ok(at)
    widget(at.button, "Delete…").click()
    run_ok(at)
    assert "for good?" in at.warning[0].value
    widget(at.button, "Delete model").click()
    run_ok(at)
    assert "Deleted model" in at.success[0].value
    assert [m.id for m in models.list()] == [second]
