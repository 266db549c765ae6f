"""Console page: the training set in numbers, start a training run, follow it live, past runs."""

import streamlit as st

from admin_app.auth import require_login
from admin_app.resources import get_database, get_launcher, get_settings
from admin_app.training_widgets import parameter_inputs, show_run
from core.db.models import ModelRepository
from core.db.training_images import TrainingImageRepository
from core.db.training_runs import TrainingRunRepository
from core.errors import NotFoundError, UserError
from core.services import training
from core.services.model_registry import model_name
from core.services.run_defaults import run_defaults
from core.services.training_view import (
    FINE_TUNING_NOTE,
    current_run,
    log_text,
    parameter_fields,
    run_label,
    runs_table,
    summarize_training_set,
)
from core.text import escape_markdown
from core.training_charts import value_counts_chart

user = require_login(__file__)
settings = get_settings()
database = get_database()
schema = settings.schema
runs = TrainingRunRepository(database)
models = ModelRepository(database)
state = st.session_state
LIVE_EVERY_S, IDLE_EVERY_S = 2, 10

st.title("Training")
if note := state.pop("training_note", None):
    st.success(note, icon=":material/rocket_launch:")


def live_section() -> None:
    """The active run (or the latest one), refreshed every few seconds by itself."""
    run = current_run(runs)
    was_active = state.get("training_was_active")
    state["training_was_active"] = bool(run and run.is_active)
    if was_active is not None and was_active != state["training_was_active"]:
        st.rerun()  # a run started or ended: the whole page (the Start button) must update
    if run is None:
        st.info("No training run yet. Check the training set below and start the first one.")
        return
    if run.is_active:
        st.subheader("Current run")
    else:
        st.subheader("Latest run")
        st.caption(f"Ended {run.ended_at or run.requested_at:%d %b %Y %H:%M} UTC")
    show_run(run, runs, models, schema, key="live")


active = current_run(runs)
is_active = bool(active and active.is_active)
state["training_was_active"] = is_active
st.fragment(live_section, run_every=LIVE_EVERY_S if is_active else IDLE_EVERY_S)()

st.divider()
st.subheader("Start a new run")
images = TrainingImageRepository(database)
summary = summarize_training_set(images, schema)
with st.container(horizontal=True):
    st.metric("Labelled images", f"{summary.labelled:,}", border=True)
    st.metric(
        "Unlabelled images",
        f"{summary.unlabelled:,}",
        help="Not used for training; label them on the Training images page.",
        border=True,
    )
    st.metric(
        "Values with no image",
        f"{int((summary.counts['images'] == 0).sum()):,}",
        help="Trait values no labelled image has: the model cannot learn to predict them.",
        border=True,
    )
if summary.problem:
    st.error(summary.problem, icon=":material/block:")
if summary.warnings:
    st.warning(
        "**Worth a look before training**\n" + "\n".join(f"- {w}" for w in summary.warnings),
        icon=":material/warning:",
    )
with st.expander("Labelled images per trait value", expanded=summary.labelled > 0):
    if summary.counts.empty or not summary.labelled:
        st.caption("No labelled image yet.")
    else:
        traits = [t for t in schema.traits if (summary.counts["trait"] == t.name).any()]
        for start in range(0, len(traits), 3):
            for trait, cell in zip(traits[start : start + 3], st.columns(3), strict=False):
                frame = summary.counts[summary.counts["trait"] == trait.name]
                cell.altair_chart(value_counts_chart(frame, trait.title), width="stretch")

fields = parameter_fields(run_defaults(settings))


with st.form("new_run", border=True):
    values = parameter_inputs([f for f in fields if not f.is_advanced], columns=3)
    with st.expander("More settings"):
        more = [f for f in fields if f.is_advanced and not f.is_fine_tuning]
        values |= parameter_inputs(more, columns=2)
        st.markdown("**Fine-tuning**")
        st.caption(FINE_TUNING_NOTE)
        values |= parameter_inputs([f for f in fields if f.is_fine_tuning], columns=2)
        activate = st.toggle(
            "Activate the new model even if it is worse than the active one",
            key="param_activate",
            help="Otherwise a new model becomes active only when it is at least as accurate as "
            "the active model on every trait.",
        )
    if is_active:
        st.caption(f"Run {active.id} is {active.status}; wait for it to end or cancel it.")
    elif summary.problem:
        st.caption("Fix the training set first (see above).")
    submitted = st.form_submit_button(
        "Start training",
        type="primary",
        icon=":material/play_arrow:",
        disabled=is_active or not summary.can_train,
    )
if submitted:
    try:
        run_id = training.start_training_run(
            runs, get_launcher(), values, requested_by=user.username, activate=activate
        )
    except UserError as err:
        st.error(escape_markdown(err))
    else:
        state["training_note"] = (
            f"Started run {run_id}; it runs in the background, so you may leave this page."
        )
        st.rerun()

st.divider()
st.subheader("History")
past = runs.list(limit=100)
if not past:
    st.caption("Past runs appear here with their status, duration and log.")
else:
    st.dataframe(
        runs_table(past),
        hide_index=True,
        width="stretch",
        column_config={
            "Requested": st.column_config.DatetimeColumn(format="D MMM YYYY, HH:mm"),
            "Error": st.column_config.TextColumn(width="large"),
        },
    )

    @st.fragment
    def run_details() -> None:
        labels = {run.id: run_label(run) for run in past if not run.is_active}
        chosen = st.selectbox(
            "Open a past run",
            list(labels),
            index=None,
            placeholder="Choose a run to see its charts and full log",
            format_func=labels.get,
            key="history_run",
            width=420,
        )
        if chosen is None:
            return
        run = runs.get(chosen)
        with st.container(border=True):
            show_run(run, runs, models, schema, key="history", log_lines=2000)
            if run.model_id:
                try:
                    st.caption(f"Model: {model_name(models.get(run.model_id))}")
                except NotFoundError:
                    st.caption("Its model has been deleted since.")
            st.download_button(
                "Download the full log",
                data=lambda: log_text(runs.log_entries(run.id, limit=100_000)),
                file_name=f"training-run-{run.id}.log",
                mime="text/plain",
                icon=":material/download:",
                key="history_log_download",
            )

    run_details()
