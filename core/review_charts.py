"""Altair charts for the Review predictions page (accuracy in the wild per trait and model)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from core.training_charts import PRIMARY, SECONDARY

MODEL_COLOURS = [PRIMARY, "#2f9e6e", "#9b6bd3", "#d9534f", "#8f969e"]  # blue marks ticks


def wild_accuracy_chart(frame: pd.DataFrame) -> alt.LayerChart:
    """Accuracy on admin-reviewed predictions per trait (bars, one per model) with the model's
    validation accuracy as a tick, so a drop in the wild stands out."""
    order = list(dict.fromkeys(frame["trait"]))
    data = frame.assign(label=frame.apply(lambda r: f"{r.correct:,} of {r.reviewed:,}", axis=1))
    base = alt.Chart(data).encode(
        y=alt.Y("trait:N", title=None, sort=order),
        yOffset=alt.YOffset("model:N"),
        tooltip=[
            alt.Tooltip("model:N", title="Model"),
            alt.Tooltip("trait:N", title="Trait"),
            alt.Tooltip("accuracy:Q", title="Right in the wild", format=".0%"),
            alt.Tooltip("label:N", title="Reviewed predictions right"),
            alt.Tooltip("validation_accuracy:Q", title="Validation accuracy", format=".0%"),
        ],
    )
    bars = base.mark_bar(cornerRadiusEnd=3).encode(
        x=alt.X(
            "accuracy:Q",
            title="Share of reviewed predictions that were right",
            scale=alt.Scale(domain=[0, 1]),
            axis=alt.Axis(format=".0%"),
        ),
        color=alt.Color(
            "model:N",
            title=None,
            scale=alt.Scale(range=MODEL_COLOURS),
            legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=400),
        ),
    )
    ticks = (
        base.transform_filter("isValid(datum.validation_accuracy)")
        .mark_tick(thickness=3, color=SECONDARY, size=16)
        .encode(x=alt.X("validation_accuracy:Q"))
    )
    return alt.layer(bars, ticks).properties(
        title=alt.Title(
            "Right on real photos, per trait",
            subtitle="Admin-reviewed predictions; blue tick: the model's validation accuracy",
            anchor="start",
            subtitleColor="#8f969e",
        ),
        height=alt.Step(16),
    )
