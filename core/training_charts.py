"""Altair charts for the Training and Models pages, from core.services' data frames.

Mid-tone colours that read on the light and the dark theme; text, axes and grid come from
Streamlit's theme. Every chart has a title, axis titles and tooltips. Streamlit fits a chart's
title and axes inside a fixed `height`, so charts with a category axis size themselves by step.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

PRIMARY = "#c0652b"
SECONDARY = "#4f8fd6"
MUTED = "#8f969e"
SPLIT_COLOURS = alt.Scale(domain=["training", "validation"], range=[SECONDARY, PRIMARY])
HEIGHT = 330  # in Streamlit: the whole chart, title and axes included
CELL_SELECTION = "cell"


def _title(text: str, subtitle: str = "") -> alt.Title:
    # the subtitle colour is set: Streamlit's theme leaves it black, unreadable when dark
    return alt.Title(text, subtitle=subtitle, anchor="start", subtitleColor=MUTED)


def value_counts_chart(frame: pd.DataFrame, trait_title: str) -> alt.Chart:
    """Labelled images per value of one trait; values without an image show as an empty bar."""
    data = frame.assign(kind=frame["images"].map(lambda n: "images" if n else "none yet"))
    return (
        alt.Chart(data)
        .mark_bar(cornerRadiusEnd=3)
        .encode(
            y=alt.Y("value:N", title=None, sort=list(data["value"])),
            x=alt.X("images:Q", title="Labelled images", axis=alt.Axis(tickMinStep=1)),
            color=alt.Color(
                "kind:N",
                scale=alt.Scale(domain=["images", "none yet"], range=[PRIMARY, MUTED]),
                legend=None,
            ),
            tooltip=[
                alt.Tooltip("value:N", title=trait_title),
                alt.Tooltip("images:Q", title="Labelled images", format=","),
            ],
        )
        .properties(title=_title(trait_title), height=alt.Step(20))
    )


def metric_chart(frame: pd.DataFrame, column: str, title: str, subtitle: str = "") -> alt.Chart:
    """A metric per epoch: one line per split (training solid, validation dashed)."""
    is_accuracy = column == "accuracy"
    y_scale = alt.Scale(domain=[0, 1]) if is_accuracy else alt.Scale(zero=False)
    return (
        alt.Chart(frame)
        .mark_line(point=alt.OverlayMarkDef(size=60), strokeWidth=2.5)
        .encode(
            x=alt.X("epoch:Q", title="Epoch", axis=alt.Axis(tickMinStep=1, format="d")),
            y=alt.Y(
                f"{column}:Q",
                title=column.capitalize(),
                scale=y_scale,
                axis=alt.Axis(format=".0%" if is_accuracy else ".2f"),
            ),
            color=alt.Color(
                "split:N",
                title=None,
                scale=SPLIT_COLOURS,
                legend=alt.Legend(orient="bottom", direction="vertical", symbolStrokeWidth=3),
            ),
            strokeDash=alt.StrokeDash(
                "split:N",
                scale=alt.Scale(domain=["training", "validation"], range=[[1, 0], [6, 3]]),
                legend=None,
            ),
            tooltip=[
                alt.Tooltip("epoch:Q", title="Epoch"),
                alt.Tooltip("split:N", title="Images"),
                alt.Tooltip(f"{column}:Q", title=column.capitalize(), format=".3f"),
            ],
        )
        .properties(title=_title(title, subtitle), height=HEIGHT)
    )


def loss_chart(losses: pd.DataFrame, trait: str = "All traits") -> alt.Chart:
    """Training and validation loss per epoch for one trait, or the total."""
    data = losses[losses["trait"] == trait]
    subtitle = "Sum over traits; lower is better" if trait == "All traits" else "Lower is better"
    return metric_chart(data, "loss", f"Loss per epoch · {trait}", subtitle)


def accuracy_chart(accuracies: pd.DataFrame, trait: str) -> alt.Chart:
    data = accuracies[accuracies["trait"] == trait]
    return metric_chart(data, "accuracy", f"Accuracy per epoch · {trait}", "Higher is better")


def final_accuracy_chart(frame: pd.DataFrame) -> alt.Chart:
    """Validation accuracy per trait of a finished model (frame: Trait, Validation accuracy)."""
    data = frame.dropna(subset=["Validation accuracy"])
    return (
        alt.Chart(data)
        .mark_bar(color=PRIMARY, cornerRadiusEnd=3)
        .encode(
            y=alt.Y("Trait:N", title=None, sort=list(data["Trait"])),
            x=alt.X(
                "Validation accuracy:Q",
                title="Validation accuracy",
                scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format=".0%"),
            ),
            tooltip=[
                alt.Tooltip("Trait:N"),
                alt.Tooltip("Validation accuracy:Q", format=".1%"),
            ],
        )
        .properties(
            title=_title("Accuracy per trait", "On the validation images"),
            height=alt.Step(26),
        )
    )


def confusion_chart(frame: pd.DataFrame, trait_title: str) -> alt.LayerChart:
    """A heatmap of a confusion matrix (true value down, predicted across), clickable cells.

    Colour is the share of each true value's images; the number is the image count.
    """
    order = list(dict.fromkeys(frame["true"]))
    cell = alt.selection_point(name=CELL_SELECTION, fields=["true", "predicted"], empty=False)
    base = alt.Chart(frame).encode(
        x=alt.X(
            "predicted:N",
            title="Predicted",
            sort=order,
            axis=alt.Axis(labelAngle=-45, labelOverlap=False),
        ),
        y=alt.Y("true:N", title="True value", sort=order),
        tooltip=[
            alt.Tooltip("true:N", title="True"),
            alt.Tooltip("predicted:N", title="Predicted"),
            alt.Tooltip("images:Q", title="Validation images"),
            alt.Tooltip("share:Q", title="Share of the true value", format=".0%"),
        ],
    )
    heat = base.mark_rect(stroke="#00000022", strokeWidth=1, cursor="pointer").encode(
        color=alt.Color(
            "share:Q",
            title="Share",
            scale=alt.Scale(scheme="oranges", domain=[0, 1]),
            legend=alt.Legend(format=".0%", orient="right"),
        ),
        opacity=alt.condition("datum.images > 0", alt.value(1.0), alt.value(0.3)),
        strokeWidth=alt.condition(cell, alt.value(3), alt.value(1)),
        stroke=alt.condition(cell, alt.value(SECONDARY), alt.value("#00000022")),
    )
    numbers = base.mark_text(fontSize=13, fontWeight="bold").encode(
        text=alt.condition("datum.images > 0", "images:Q", alt.value("")),
        color=alt.condition("datum.share > 0.5", alt.value("white"), alt.value("#2b2118")),
    )
    is_small = len(order) <= 12  # dozens of dog breeds: smaller cells, counts in the tooltip
    return (
        alt.layer(heat.add_params(cell), *([numbers] if is_small else []))
        .properties(
            title=_title(
                f"Confusion matrix · {trait_title}",
                "Validation images; click a cell to open them",
            ),
            height=alt.Step(40 if is_small else 16),
        )
        .configure_view(strokeWidth=0)
    )


def comparison_chart(frame: pd.DataFrame) -> alt.Chart:
    """Validation accuracy per trait for two models side by side (trait, model, accuracy)."""
    return (
        alt.Chart(frame)
        .mark_bar(cornerRadiusEnd=3)
        .encode(
            y=alt.Y("trait:N", title=None, sort=list(dict.fromkeys(frame["trait"]))),
            yOffset=alt.YOffset("model:N"),
            x=alt.X(
                "accuracy:Q",
                title="Validation accuracy",
                scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format=".0%"),
            ),
            color=alt.Color(
                "model:N",
                title=None,
                scale=alt.Scale(range=[SECONDARY, PRIMARY]),
                legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=400),
            ),
            tooltip=[
                alt.Tooltip("model:N", title="Model"),
                alt.Tooltip("trait:N", title="Trait"),
                alt.Tooltip("accuracy:Q", title="Validation accuracy", format=".1%"),
            ],
        )
        .properties(
            title=_title("Validation accuracy per trait"),
            height=alt.Step(16),
        )
    )
