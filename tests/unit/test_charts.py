"""The dashboard charts, built without Streamlit: titles, axis titles, tooltips, data."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import altair as alt
import pandas as pd
import pytest

from core import charts


def training_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": pd.to_datetime(["2026-11-19"] * 3 + ["2026-11-20"] * 3),
            "source": ["upload", "demo", "upload"] * 2,
            "status": ["labelled", "labelled", "unlabelled"] * 2,
            "images": [10, 5, 2, 12, 5, 1],
        }
    )


def balance_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "value": ["black", "blue", "fawn", "unlabelled"],
            "images": [4, 6, 0, 3],
            "share": [0.4, 0.6, 0.0, None],
            "is_unlabelled": [False, False, False, True],
            "is_selected": [False, True, False, False],
        }
    )


def coverage_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row": ["black", "black", "blue", "blue"],
            "column": ["self", "van", "self", "van"],
            "images": [7, 0, 3, 1],
        }
    )


def model_frame() -> pd.DataFrame:
    rows = []
    for model_id, day, active, acc, loss in [
        ("a1", "2026-11-01", True, (0.6, 0.79, 0.95), (0.1, 0.46, 0.9)),
        ("b2", "2026-11-15", False, (0.7, 0.85, 0.97), (0.05, 0.35, 0.7)),
    ]:
        rows.append((model_id, day, active, "accuracy", *acc))
        rows.append((model_id, day, active, "loss", *loss))
    frame = pd.DataFrame(
        rows, columns=["model_id", "trained", "is_active", "measure", "min", "avg", "max"]
    )
    frame["trained"] = pd.to_datetime(frame["trained"])
    return frame


def review_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": pd.to_datetime(["2026-11-20"] * 4),
            "reviewer": ["user", "user", "admin", "admin"],
            "status": ["accepted", "not reviewed", "rejected", "not reviewed"],
            "predictions": [3, 4, 1, 6],
        }
    )


def rate_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "value": ["blue", "blue", "lilac", "lilac"],
            "reviewer": ["user", "admin", "user", "admin"],
            "accepted": [2, 1, 0, 0],
            "rejected": [1, 1, 0, 0],
            "reviewed": [3, 2, 0, 0],
            "rate": [2 / 3, 0.5, None, None],
            "is_selected": [True, True, False, False],
        }
    )


CHARTS = {
    "training set size": lambda: charts.training_set_size_chart(training_frame()),
    "balance": lambda: charts.label_balance_chart(balance_frame(), "Colour"),
    "coverage": lambda: charts.coverage_heatmap(coverage_frame(), "Colour", "Pattern"),
    "accuracy": lambda: charts.model_metrics_chart(model_frame(), "accuracy"),
    "loss": lambda: charts.model_metrics_chart(model_frame(), "loss"),
    "user reviews": lambda: charts.review_status_chart(review_frame(), "user"),
    "admin reviews": lambda: charts.review_status_chart(review_frame(), "admin"),
    "accepted rate": lambda: charts.accepted_rate_chart(rate_frame(), "Colour"),
}


def encodings(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every encoding block of a (layered) Vega-Lite spec."""
    if "encoding" in spec:
        yield spec["encoding"]
    for layer in spec.get("layer", []):
        yield from encodings(layer)


def dataset(spec: dict[str, Any], index: int = 0) -> list[dict[str, Any]]:
    return list(spec["datasets"].values())[index]


@pytest.mark.parametrize("name", CHARTS)
def test_every_chart_has_a_title_axis_titles_and_tooltips(name: str) -> None:
    chart = CHARTS[name]()
    spec = chart.to_dict()  # also validates against the Vega-Lite schema

    assert isinstance(chart, alt.TopLevelMixin)
    assert spec["title"]["text"] and spec["title"]["subtitle"]
    blocks = list(encodings(spec))
    x_titles = {b["x"].get("title") for b in blocks if "x" in b} - {None}
    y_titles = {b["y"].get("title") for b in blocks if "y" in b} - {None}
    assert x_titles and y_titles, (x_titles, y_titles)
    assert any(b.get("tooltip") for b in blocks)


@pytest.mark.parametrize("name", CHARTS)
def test_charts_build_from_empty_frames(name: str) -> None:
    builders = {
        "training set size": (charts.training_set_size_chart, training_frame, ()),
        "balance": (charts.label_balance_chart, balance_frame, ("Colour",)),
        "coverage": (charts.coverage_heatmap, coverage_frame, ("Colour", "Pattern")),
        "accuracy": (charts.model_metrics_chart, model_frame, ("accuracy",)),
        "loss": (charts.model_metrics_chart, model_frame, ("loss",)),
        "user reviews": (charts.review_status_chart, review_frame, ("user",)),
        "admin reviews": (charts.review_status_chart, review_frame, ("admin",)),
        "accepted rate": (charts.accepted_rate_chart, rate_frame, ("Colour",)),
    }
    build, frame, args = builders[name]

    spec = build(frame().iloc[0:0], *args).to_dict()

    assert spec["title"]["text"]


def test_training_set_chart_keeps_unlabelled_images_out_of_the_stack() -> None:
    spec = charts.training_set_size_chart(training_frame()).to_dict()

    stacked, unlabelled = spec["layer"]
    stacked_rows = spec["datasets"][stacked["data"]["name"]]
    line_rows = spec["datasets"][unlabelled["data"]["name"]]
    assert {row["status"] for row in stacked_rows} == {"labelled"}
    assert [row["images"] for row in line_rows] == [2, 1]
    assert unlabelled["mark"]["strokeDash"] and unlabelled["encoding"]["color"]["field"] == "series"


def test_balance_chart_shows_unlabelled_apart_in_grey_and_the_selected_value() -> None:
    spec = charts.label_balance_chart(balance_frame(), "Colour").to_dict()

    bars = spec["layer"][0]
    colour = bars["encoding"]["color"]
    assert colour["scale"]["domain"] == ["labelled", "selected", "unlabelled"]
    assert colour["scale"]["range"][2] == charts.MUTED
    rows = dataset(spec)
    assert {row["value"]: row["kind"] for row in rows} == {
        "black": "labelled",
        "blue": "selected",
        "fawn": "labelled",
        "unlabelled": "unlabelled",
    }
    assert bars["encoding"]["y"]["sort"] == ["black", "blue", "fawn", "unlabelled"]


def test_coverage_heatmap_keeps_empty_phenotypes_visible() -> None:
    spec = charts.coverage_heatmap(coverage_frame(), "Colour", "Pattern").to_dict()

    rows = dataset(spec)
    assert {(r["row"], r["column"]): r["images"] for r in rows}[("black", "van")] == 0
    assert spec["layer"][0]["encoding"]["color"]["scale"]["domainMin"] == 0
    assert spec["layer"][1]["encoding"]["text"]["field"] == "images"


def test_model_chart_plots_only_its_measure_and_marks_the_active_model() -> None:
    spec = charts.model_metrics_chart(model_frame(), "loss").to_dict()

    rows = dataset(spec)
    assert {row["measure"] for row in rows} == {"loss"}
    assert [row["state"] for row in rows] == ["active model", "other model"]
    assert spec["layer"][0]["encoding"]["y"]["title"] == "Validation loss"


def test_review_chart_uses_fixed_status_colours() -> None:
    spec = charts.review_status_chart(review_frame(), "admin").to_dict()

    colour = spec["encoding"]["color"]
    assert colour["scale"]["domain"] == ["accepted", "rejected", "not reviewed"]
    assert colour["title"] == "Reviewed by admins"
    assert {row["reviewer"] for row in dataset(spec)} == {"admin"}


def test_accepted_rate_chart_reads_as_a_share() -> None:
    spec = charts.accepted_rate_chart(rate_frame(), "Colour").to_dict()

    assert spec["encoding"]["y"]["axis"]["format"] == ".0%"
    assert spec["encoding"]["y"]["scale"]["domain"] == [0, 1]
    assert spec["encoding"]["x"]["title"] == "Predicted colour"
