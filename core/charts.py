"""Altair charts for the dashboards, built from the warehouse queries' DataFrames.

Colours are mid-tones that read on the light and the dark theme; text, axes and grid come from
Streamlit's theme. Every chart has a title, axis titles and tooltips.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

PRIMARY = "#c0652b"  # the console's primary colour, a little lighter for dark backgrounds
SELECTED = "#e39b2d"
MUTED = "#8f969e"  # unlabelled, not reviewed
UNLABELLED_LINE = "#6b7280"  # darker: drawn over the coloured areas
STATUS_COLOURS = {"accepted": "#2f9e6e", "rejected": "#d9534f", "not reviewed": MUTED}
REVIEWER_COLOURS = {"user": "#4f8fd6", "admin": PRIMARY}
HEIGHT = 400  # the whole chart: title, plot, axes and legend
TALL = 460  # charts with two-row legends
CHROME = 150  # what a chart with a bottom legend needs besides its rows


def _title(text: str, *subtitle: str) -> alt.Title:
    """A title with short subtitle lines (Vega does not wrap them: phones need short lines)."""
    # the Streamlit theme colours the title but not the subtitle: a mid grey reads on both
    return alt.Title(text, subtitle=list(subtitle), anchor="start", subtitleColor=MUTED)


def _point(frame: pd.DataFrame, column: str = "date", **style: Any) -> alt.OverlayMarkDef:
    """Points on a line or area, for tooltips; small when there are many days."""
    many = frame[column].nunique() > 31 if len(frame) else False
    return alt.OverlayMarkDef(filled=True, size=12 if many else 40, **style)


def training_set_size_chart(frame: pd.DataFrame) -> alt.LayerChart:
    """Labelled images per day stacked by source, and the unlabelled images apart (dashed)."""
    labelled = frame[frame["status"] == "labelled"]
    unlabelled = (
        frame[frame["status"] == "unlabelled"].groupby("date", as_index=False)["images"].sum()
    )
    unlabelled["series"] = "unlabelled (not in the training set)"
    x = alt.X("date:T", title="Snapshot day", axis=alt.Axis(format="%d %b %Y", labelAngle=0))
    area = (
        alt.Chart(labelled)
        .mark_area(line=True, point=_point(frame), opacity=0.75)
        .encode(
            x=x,
            y=alt.Y("sum(images):Q", title="Images", stack="zero"),
            color=alt.Color(
                "source:N",
                title="Source",
                legend=alt.Legend(orient="bottom", columns=2, labelLimit=160),  # fits a phone
            ),
            tooltip=[
                alt.Tooltip("date:T", title="Day", format="%Y-%m-%d"),
                alt.Tooltip("source:N", title="Source"),
                alt.Tooltip("sum(images):Q", title="Labelled images", format=","),
            ],
        )
    )
    line = (
        alt.Chart(unlabelled)
        .mark_line(strokeWidth=3, strokeDash=[6, 4], point=_point(frame, color=UNLABELLED_LINE))
        .encode(
            x=x,
            y=alt.Y("images:Q"),
            color=alt.Color(
                "series:N",
                title=None,
                scale=alt.Scale(range=[UNLABELLED_LINE]),
                legend=alt.Legend(orient="top", symbolStrokeWidth=3, labelLimit=320),
            ),
            tooltip=[
                alt.Tooltip("date:T", title="Day", format="%Y-%m-%d"),
                alt.Tooltip("series:N", title="Series"),
                alt.Tooltip("images:Q", title="Unlabelled images", format=","),
            ],
        )
    )
    return (
        alt.layer(area, line)
        .resolve_scale(color="independent")
        .properties(
            title=_title(
                "Training-set size over time",
                "Labelled images, stacked by source.",
                "Dashed grey: unlabelled images, not counted.",
            ),
            height=TALL + 40,
        )
    )


def label_balance_chart(frame: pd.DataFrame, trait_title: str) -> alt.LayerChart:
    """One bar per value of a trait (labelled images), and the unlabelled images apart in grey."""
    order = list(frame["value"])
    data = frame.assign(
        kind=frame.apply(
            lambda row: (
                "unlabelled"
                if row["is_unlabelled"]
                else ("selected" if row["is_selected"] else "labelled")
            ),
            axis=1,
        )
    )
    kind_scale = alt.Scale(
        domain=["labelled", "selected", "unlabelled"], range=[PRIMARY, SELECTED, MUTED]
    )
    most = int(frame["images"].max()) if len(frame) else 0
    room = alt.Scale(domain=[0, most * 1.15]) if most else alt.Scale()  # for the count labels
    base = alt.Chart(data).encode(
        y=alt.Y("value:N", title=trait_title, sort=order),
        x=alt.X("images:Q", title="Images", scale=room),
    )
    bars = base.mark_bar().encode(
        color=alt.Color("kind:N", title=None, scale=kind_scale, legend=alt.Legend(orient="bottom")),
        tooltip=[
            alt.Tooltip("value:N", title=trait_title),
            alt.Tooltip("images:Q", title="Images", format=","),
            alt.Tooltip("share:Q", title="Share of labelled", format=".1%"),
        ],
    )
    labels = base.mark_text(align="left", dx=4, fontWeight="bold").encode(
        text=alt.Text("images:Q", format=","),
        color=alt.Color("kind:N", scale=kind_scale, legend=None),
    )
    return alt.layer(bars, labels).properties(
        title=_title(
            f"Balance of {trait_title.lower()}",
            "Labelled images per value on the last snapshot day.",
            "Unlabelled images apart, in grey.",
        ),
        height=CHROME + 26 * max(len(frame), 3),
    )


def coverage_heatmap(frame: pd.DataFrame, row_title: str, column_title: str) -> alt.LayerChart:
    """Labelled images per pair of values: pale cells are phenotypes that need more photos."""
    rows = list(dict.fromkeys(frame["row"]))
    columns = list(dict.fromkeys(frame["column"]))
    most = max(int(frame["images"].max()) if len(frame) else 0, 1)
    base = alt.Chart(frame).encode(
        x=alt.X("column:N", title=column_title, sort=columns, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("row:N", title=row_title, sort=rows),
    )
    cells = base.mark_rect(stroke="#ffffff", strokeWidth=1).encode(
        color=alt.Color(
            "images:Q",
            title="Images",
            scale=alt.Scale(scheme="yellowgreenblue", domainMin=0),
        ),
        tooltip=[
            alt.Tooltip("row:N", title=row_title),
            alt.Tooltip("column:N", title=column_title),
            alt.Tooltip("images:Q", title="Images", format=","),
        ],
    )
    counts = base.mark_text(fontSize=12).encode(
        text=alt.Text("images:Q", format=","),
        color=alt.condition(
            alt.datum.images > most * 0.55, alt.value("#ffffff"), alt.value("#1d1d1d")
        ),
    )
    return alt.layer(cells, counts).properties(
        title=_title(
            f"Coverage: {row_title.lower()} × {column_title.lower()}",
            "Labelled images per combination.",
            "Pale cells are phenotypes that need more photos.",
        ),
        height=CHROME + 32 * max(len(rows), 2),
    )


def model_metrics_chart(frame: pd.DataFrame, measure: str) -> alt.LayerChart:
    """Each model's min, mean and max validation accuracy (or loss) over the traits, by date."""
    data = frame[frame["measure"] == measure].assign(
        state=lambda f: f["is_active"].map({True: "active model", False: "other model"})
    )
    is_accuracy = measure == "accuracy"
    number = ".1%" if is_accuracy else ".3f"
    title = "Accuracy" if is_accuracy else "Loss"
    x = alt.X("trained:T", title="Training ended", axis=alt.Axis(format="%d %b %Y", labelAngle=0))
    tooltip = [
        alt.Tooltip("model_id:N", title="Model"),
        alt.Tooltip("trained:T", title="Training ended", format="%Y-%m-%d"),
        alt.Tooltip("state:N", title="State"),
        alt.Tooltip("min:Q", title=f"Min {measure}", format=number),
        alt.Tooltip("avg:Q", title=f"Mean {measure}", format=number),
        alt.Tooltip("max:Q", title=f"Max {measure}", format=number),
    ]
    scale = alt.Scale(domain=[0, 1]) if is_accuracy else alt.Scale(zero=True)
    y_axis = alt.Axis(format=".0%") if is_accuracy else alt.Axis()
    base = alt.Chart(data).encode(x=x, tooltip=tooltip)
    band = base.mark_area(opacity=0.2, color=PRIMARY).encode(
        y=alt.Y("min:Q", title=f"Validation {measure}", scale=scale, axis=y_axis),
        y2="max:Q",
    )
    spread = base.mark_rule(color=PRIMARY, strokeWidth=2).encode(y="min:Q", y2="max:Q")
    mean = base.mark_line(color=PRIMARY, point=False).encode(y="avg:Q")
    states = ["active model", "other model"]
    points = base.mark_point(filled=True, opacity=1).encode(
        y="avg:Q",
        shape=alt.Shape(
            "state:N",
            title=None,
            scale=alt.Scale(domain=states, range=["diamond", "circle"]),
            legend=alt.Legend(orient="bottom"),
        ),
        color=alt.Color(
            "state:N",
            title=None,
            scale=alt.Scale(domain=states, range=[SELECTED, PRIMARY]),
            legend=alt.Legend(orient="bottom"),
        ),
        size=alt.Size("state:N", scale=alt.Scale(domain=states, range=[180, 60]), legend=None),
    )
    return alt.layer(band, spread, mean, points).properties(
        title=_title(
            f"Model {title.lower()} over time",
            "Line: the mean over the traits.",
            "Band and bars: from the worst to the best trait.",
        ),
        height=HEIGHT,
    )


def review_status_chart(frame: pd.DataFrame, reviewer: str) -> alt.Chart:
    """Predictions per snapshot day stacked by the users' (or admins') review status."""
    data = frame[frame["reviewer"] == reviewer]
    who = "users" if reviewer == "user" else "admins"
    statuses = list(STATUS_COLOURS)
    return (
        alt.Chart(data)
        .mark_area(line=True, point=_point(data), opacity=0.8)
        .encode(
            x=alt.X("date:T", title="Snapshot day", axis=alt.Axis(format="%d %b %Y", labelAngle=0)),
            y=alt.Y("predictions:Q", title="Predictions", stack="zero"),
            color=alt.Color(
                "status:N",
                title=f"Reviewed by {who}",
                scale=alt.Scale(domain=statuses, range=[STATUS_COLOURS[s] for s in statuses]),
                sort=statuses,
                legend=alt.Legend(orient="bottom"),
            ),
            order=alt.Order("status_order:Q"),
            tooltip=[
                alt.Tooltip("date:T", title="Day", format="%Y-%m-%d"),
                alt.Tooltip("status:N", title="Status"),
                alt.Tooltip("predictions:Q", title="Predictions", format=","),
            ],
        )
        .transform_calculate(
            status_order="indexof(['accepted', 'rejected', 'not reviewed'], datum.status)"
        )
        .properties(
            title=_title(f"Predictions by {reviewer} review status", f"Answers given by {who}."),
            height=HEIGHT,
        )
    )


def accepted_rate_chart(frame: pd.DataFrame, trait_title: str) -> alt.Chart:
    """The share of reviewed predictions that users and admins accepted, per predicted value."""
    order = list(dict.fromkeys(frame["value"]))
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X(
                "value:N",
                title=f"Predicted {trait_title.lower()}",
                sort=order,
                axis=alt.Axis(labelAngle=-40, labelOverlap=False),
            ),
            xOffset=alt.XOffset("reviewer:N", sort=["user", "admin"]),
            y=alt.Y(
                "rate:Q",
                title="Accepted (share of reviewed)",
                scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format=".0%"),
            ),
            color=alt.Color(
                "reviewer:N",
                title="Reviewed by",
                scale=alt.Scale(
                    domain=list(REVIEWER_COLOURS), range=list(REVIEWER_COLOURS.values())
                ),
                legend=alt.Legend(orient="bottom"),
            ),
            opacity=alt.condition(alt.datum.is_selected, alt.value(1.0), alt.value(0.85)),
            tooltip=[
                alt.Tooltip("value:N", title=f"Predicted {trait_title.lower()}"),
                alt.Tooltip("reviewer:N", title="Reviewed by"),
                alt.Tooltip("rate:Q", title="Accepted", format=".1%"),
                alt.Tooltip("accepted:Q", title="Accepted predictions", format=","),
                alt.Tooltip("rejected:Q", title="Rejected predictions", format=","),
            ],
        )
        .properties(
            title=_title(
                f"Accepted rate by predicted {trait_title.lower()}",
                "Accepted ÷ reviewed, on the last snapshot day.",
                "No bar where none was reviewed.",
            ),
            height=TALL,
        )
    )
