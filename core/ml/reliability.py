"""The reliability figure of a calibrated model: confidence against accuracy, before and after."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import altair as alt
import pandas as pd

STAGE_COLOURS = alt.Scale(domain=["before", "after"], range=["#8f969e", "#c0652b"])


def reliability_frame(calibration: Mapping[str, Mapping[str, Any]], trait: str) -> pd.DataFrame:
    """One row per confidence bin and stage (before/after temperature scaling) of one trait."""
    values = calibration.get(trait) or {}
    rows = [
        {"stage": stage, **item}
        for stage in ("before", "after")
        for item in values.get(f"reliability_{stage}", [])
    ]
    columns = ["stage", "low", "high", "confidence", "accuracy", "count"]
    return pd.DataFrame(rows, columns=columns)


def calibration_table(calibration: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Per trait: the temperature and the expected calibration error before and after."""
    rows = [
        {
            "trait": trait,
            "temperature": values.get("temperature"),
            "ece_before": values.get("ece_before"),
            "ece_after": values.get("ece_after"),
        }
        for trait, values in calibration.items()
    ]
    return pd.DataFrame(rows, columns=["trait", "temperature", "ece_before", "ece_after"])


def reliability_chart(calibration: Mapping[str, Mapping[str, Any]], trait: str) -> alt.LayerChart:
    """Accuracy per confidence bin before and after calibration, against the diagonal."""
    frame = reliability_frame(calibration, trait)
    values = calibration.get(trait) or {}
    before, after = values.get("ece_before"), values.get("ece_after")
    subtitle = (
        f"Expected calibration error {before:.3f} before, {after:.3f} after "
        f"(temperature {values.get('temperature', 1.0):.2f})"
        if before is not None and after is not None
        else "No validation images for this trait"
    )
    diagonal = (
        alt.Chart(pd.DataFrame({"confidence": [0.0, 1.0], "accuracy": [0.0, 1.0]}))
        .mark_line(strokeDash=[4, 4], color="#8f969e")
        .encode(x="confidence:Q", y="accuracy:Q")
    )
    points = (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("confidence:Q", title="Confidence", scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("accuracy:Q", title="Accuracy", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("stage:N", scale=STAGE_COLOURS, title="Calibration"),
            tooltip=[
                alt.Tooltip("stage:N", title="Calibration"),
                alt.Tooltip("confidence:Q", title="Mean confidence", format=".2f"),
                alt.Tooltip("accuracy:Q", title="Accuracy", format=".2f"),
                alt.Tooltip("count:Q", title="Images"),
            ],
        )
    )
    title = alt.Title(f"Reliability: {trait}", subtitle=subtitle, anchor="start")
    return alt.layer(diagonal, points).properties(title=title, height=300)
