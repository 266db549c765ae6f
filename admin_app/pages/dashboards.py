"""Console page: dashboards over the warehouse's daily snapshots (charts from core.charts)."""

from collections.abc import Callable
from datetime import timedelta

import altair as alt
import pandas as pd
import streamlit as st

from admin_app.auth import require_login
from admin_app.resources import get_database, get_engine, get_settings
from core import charts
from core.db.warehouse import queries
from core.db.warehouse.counts import REVIEW_STATUSES
from core.db.warehouse.schema import ensure_warehouse
from core.errors import UserError
from core.services import reporting
from core.text import escape_markdown

user = require_login(__file__)
st.title("Dashboards")

SKIP_AUTO_REFRESH = "dashboards_skip_auto_refresh"
ANY = "Any"


class RefreshProgress:
    """A progress bar that appears with the first progress report of a refresh."""

    def __init__(self) -> None:
        self._slot = st.empty()

    def __call__(self, fraction: float, message: str) -> None:
        self._slot.progress(min(max(fraction, 0.0), 1.0), text=message)

    def done(self) -> None:
        self._slot.empty()


try:
    schema = get_settings().schema
    engine, database = get_engine(), get_database()
    warehouse = ensure_warehouse(engine, schema)
    if not st.session_state.get(SKIP_AUTO_REFRESH):
        progress = RefreshProgress()
        if result := reporting.refresh_if_missing(engine, database, schema, progress=progress):
            st.toast(result.summary(), icon=":material/check_circle:")
        progress.done()
    status = reporting.warehouse_status(engine, warehouse)
except UserError as err:
    st.error(escape_markdown(err))
    st.stop()

if outcome := st.session_state.pop("dashboards_outcome", None):
    st.success(outcome, icon=":material/check_circle:")

with st.container(horizontal=True, vertical_alignment="center"):
    if status.is_empty:
        st.caption("The warehouse holds no snapshot yet.")
    else:
        st.caption(
            f"Last snapshot: **{status.last_day:%d %b %Y}**, taken "
            f"{status.last_taken_at:%H:%M} UTC · {reporting.plural(status.days, 'day')} of "
            f"history since {status.first_day:%d %b %Y}"
        )
    refresh = st.button("Refresh now", icon=":material/refresh:", help="Count MongoDB again")
if refresh:
    progress = RefreshProgress()
    try:
        result = reporting.refresh_now(engine, database, schema, progress=progress)
    except UserError as err:
        st.error(escape_markdown(err))
    else:
        st.session_state.pop(SKIP_AUTO_REFRESH, None)
        st.session_state["dashboards_outcome"] = result.summary()
        st.rerun()

if status.is_empty:
    st.info("There is nothing to chart yet: press **Refresh now** to take today's snapshot.")
    st.stop()

# --- filters ---------------------------------------------------------------------------------
trait_names = schema.trait_names
categorical = [t.name for t in schema.traits if t.is_categorical] or trait_names
with st.container(border=True):
    cells = st.columns([2, 1, 1, 1, 1])
    dates = cells[0].date_input(
        "Date range",
        value=(max(status.first_day, status.last_day - timedelta(days=90)), status.last_day),
        min_value=status.first_day,
        max_value=status.last_day,
        key="dashboards_dates",
    )
    trait_name = cells[1].selectbox(
        "Trait",
        trait_names,
        index=trait_names.index(categorical[0]),
        format_func=lambda name: schema.trait(name).title,
        key="dashboards_trait",
        help="The trait the balance and accepted-rate charts break down.",
    )
    trait = schema.trait(trait_name)
    value_options = [ANY, *queries.values_of(engine, warehouse, trait_name)]
    value = cells[2].selectbox(
        "Value",
        value_options,
        key=f"dashboards_value_{trait_name}",  # a new trait starts from "Any"
        help="Only images and predictions with this value of the trait.",
    )
    source = cells[3].selectbox(
        "Source", [ANY, *queries.sources(engine, warehouse)], key="dashboards_source"
    )
    review_options = [ANY] + [
        f"{who}: {status_name}" for who in ("User", "Admin") for status_name in REVIEW_STATUSES
    ]
    review = cells[4].selectbox("Review status", review_options, key="dashboards_review")

start, end = (tuple(dates) + (None, None))[:2] if isinstance(dates, tuple | list) else (dates, None)
who, _, review_status = review.partition(": ")
try:
    report = queries.ReportFilter(
        start=start,
        end=end,
        trait=trait_name if value != ANY else None,
        value=value if value != ANY else None,
        source=source if source != ANY else None,
        user_status=review_status if who == "User" else None,
        admin_status=review_status if who == "Admin" else None,
    ).checked(warehouse)
except UserError as err:
    st.error(escape_markdown(err))
    st.stop()


def show(chart, frame: pd.DataFrame, name: str, what: str) -> None:
    """A chart with its data table and a CSV download underneath."""
    st.altair_chart(chart, width="stretch")
    with st.expander(f"Data: {what}", icon=":material/table:"):
        st.dataframe(frame, hide_index=True, width="stretch")
        st.download_button(
            "Download CSV",
            frame.to_csv(index=False).encode(),
            file_name=f"{name}.csv",
            mime="text/csv",
            icon=":material/download:",
            key=f"csv_{name}",
        )


def show_side_by_side(
    frame: pd.DataFrame,
    column: str,
    values: tuple[str, str],
    chart: Callable[[pd.DataFrame, str], alt.Chart | alt.LayerChart],
    name: str,
    what: str,
) -> None:
    """Two charts side by side, one per value of column; name and what hold {} for the value."""
    for place, value in zip(st.columns(2), values, strict=True):
        with place:
            rows = frame[frame[column] == value]
            show(chart(frame, value), rows, name.format(value), what.format(value))


training_tab, models_tab, predictions_tab, data_tab = st.tabs(
    ["Training set", "Models", "Predictions", "Snapshots"]
)

with training_tab:
    size = queries.training_set_size(engine, warehouse, report)
    if size.empty:
        st.info("No training images in these snapshots; widen the filters or import images.")
    else:
        show(charts.training_set_size_chart(size), size, "training_set_size", "training-set size")
        balance = queries.label_balance(engine, warehouse, report, trait_name)
        show(
            charts.label_balance_chart(balance, trait.title),
            balance,
            f"balance_{trait_name}",
            f"balance of {trait.title.lower()}",
        )
        axes = [name for name in trait_names if schema.trait(name) is not schema.gate]
        if len(axes) < 2:
            st.info(f"The coverage heatmap needs two traits; the {schema.title} schema has one.")
        else:
            pair = [name for name in categorical if name in axes][:2] or axes[:2]
            pair += [name for name in axes if name not in pair][: 2 - len(pair)]
            left, right = st.columns(2)
            row_name = left.selectbox(
                "Heatmap rows",
                axes,
                index=axes.index(pair[0]),
                format_func=lambda n: schema.trait(n).title,
            )
            column_options = [name for name in axes if name != row_name]
            default = next((name for name in pair if name in column_options), column_options[0])
            column_name = right.selectbox(
                "Heatmap columns",
                column_options,
                index=column_options.index(default),
                format_func=lambda n: schema.trait(n).title,
                key=f"heatmap_columns_{row_name}",
            )
            grid = queries.coverage(engine, warehouse, report, row_name, column_name)
            heatmap = charts.coverage_heatmap(
                grid, schema.trait(row_name).title, schema.trait(column_name).title
            )
            show(heatmap, grid, f"coverage_{row_name}_{column_name}", "coverage")

with models_tab:
    metrics = queries.model_metrics(engine, warehouse, report)
    if metrics.empty:
        st.info("No model finished training in this date range; train one on the Training page.")
    else:
        show_side_by_side(
            metrics,
            "measure",
            ("accuracy", "loss"),
            charts.model_metrics_chart,
            "model_{}",
            "model {}",
        )

with predictions_tab:
    reviews = queries.predictions_by_review(engine, warehouse, report)
    if reviews.empty:
        st.info("No predictions in these snapshots; they appear once breeders use the app.")
    else:
        show_side_by_side(
            reviews,
            "reviewer",
            ("user", "admin"),
            charts.review_status_chart,
            "reviews_{}",
            "{} reviews",
        )
        rates = queries.accepted_rate(engine, warehouse, report, trait_name)
        show(
            charts.accepted_rate_chart(rates, trait.title),
            rates,
            f"accepted_rate_{trait_name}",
            f"accepted rate by {trait.title.lower()}",
        )

with data_tab:
    days = queries.snapshot_days(engine, warehouse, queries.ReportFilter())
    st.dataframe(
        days,
        hide_index=True,
        width="stretch",
        column_config={
            "date": st.column_config.DateColumn("Day", format="YYYY-MM-DD"),
            "taken_at": st.column_config.DatetimeColumn("Taken (UTC)", format="YYYY-MM-DD HH:mm"),
            "is_backfill": st.column_config.CheckboxColumn("Backfilled"),
            "training_images": st.column_config.NumberColumn("Training images"),
            "predictions": st.column_config.NumberColumn("Predictions"),
            "models": st.column_config.NumberColumn("Models"),
            "duration_ms": st.column_config.NumberColumn("Refresh (ms)"),
        },
    )
    st.caption(
        "Past days are backfilled with `python -m jobs.refresh_reports --date YYYY-MM-DD`; "
        "see docs/reporting.md for what a backfill can rebuild."
    )
    if user.is_admin:
        st.subheader("Delete reporting data")
        with st.form("delete_reports"):
            scope = st.radio(
                "What to delete", ["Snapshots before a date", "Everything"], horizontal=True
            )
            before = st.date_input("Before", value=status.last_day, key="dashboards_before")
            confirmed = st.checkbox(
                "I understand that deleted snapshots of past days cannot be taken again"
            )
            submitted = st.form_submit_button("Delete reporting data", type="primary")
        if submitted:
            limit = None if scope == "Everything" else before
            if not confirmed:
                st.error("Tick the confirmation box to delete reporting data; nothing was deleted.")
            else:
                deleted = reporting.delete_reports(engine, schema, before=limit)
                st.session_state[SKIP_AUTO_REFRESH] = True  # not retaken until asked
                st.session_state["dashboards_outcome"] = reporting.deleted_message(deleted, limit)
                st.rerun()
