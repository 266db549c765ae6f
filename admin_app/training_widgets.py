"""The Training page's widgets: the new-run form's inputs and a run's status, charts and log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from core.db.models import ModelRepository
from core.db.training_runs import TrainingRun, TrainingRunRepository
from core.errors import NotFoundError, UserError
from core.labels import LabelSchema
from core.services.model_registry import trait_metrics
from core.services.training_view import ParameterField, RunView, cancel_run, log_text, run_view
from core.text import escape_markdown
from core.training_charts import accuracy_chart, final_accuracy_chart, loss_chart

STATUS_BADGES = {
    "queued": ":gray-badge[:material/schedule: Queued]",
    "running": ":blue-badge[:material/progress_activity: Running]",
    "succeeded": ":green-badge[:material/check_circle: Succeeded]",
    "failed": ":red-badge[:material/error: Failed]",
    "cancelled": ":orange-badge[:material/cancel: Cancelled]",
}


def show_run(
    run: TrainingRun,
    runs: TrainingRunRepository,
    models: ModelRepository,
    schema: LabelSchema,
    *,
    key: str,
    log_lines: int = 200,
) -> None:
    """A run's status, time, progress, charts and log (live or from the history)."""
    view = run_view(run, schema)
    with st.container(horizontal=True, vertical_alignment="center"):
        st.markdown(f"{STATUS_BADGES.get(run.status, run.status)} · run `{run.id}`")
        if run.is_active and st.button(
            "Cancel run",
            icon=":material/stop_circle:",
            key=f"{key}_cancel",
            disabled=run.is_cancel_requested,
            help="The job stops at its next batch; the active model stays as it is.",
        ):
            try:
                cancel_run(runs, run.id)
            except UserError as err:
                st.error(escape_markdown(err))
            else:
                st.rerun()  # also re-enables "Start training" when the run ended at once
    with st.container(horizontal=True):
        st.metric("Elapsed" if run.is_active else "Duration", view.elapsed_text, border=True)
        st.metric("Epoch", f"{run.epoch} / {max(run.epochs, 1)}", border=True)
        st.metric("Backbone", run.backbone or "–", border=True)
        st.metric("Started by", run.requested_by or "–", border=True)
    st.progress(view.progress, text=view.progress_text)
    if run.is_cancel_requested and run.is_active:
        st.info("Cancel requested: the job stops at its next batch.", icon=":material/hourglass:")
    if run.status == "failed":
        reason = run.error or "no reason was recorded"
        st.error(f"The run failed: {reason}", icon=":material/error:")
    elif run.status == "cancelled":
        st.warning(f"The run was cancelled. {run.error or ''}".strip(), icon=":material/cancel:")
    elif run.status == "succeeded" and run.model_id:
        if run.model_id == models.active_id():
            st.success(
                f"Model `{run.model_id}` is stored and active; the breeder app uses it now.",
                icon=":material/check_circle:",
            )
        elif run.is_model_activated:
            st.info(
                f"Model `{run.model_id}` was activated when the run ended; another model is "
                "active now (see the Models page).",
                icon=":material/info:",
            )
        else:
            st.info(
                f"Model `{run.model_id}` is stored but not active: it is worse than the active "
                "model on some trait. Compare and activate it on the Models page.",
                icon=":material/info:",
            )
    if view.losses.empty:
        if run.is_active:
            st.caption("Charts of loss and accuracy appear here after the first epoch.")
    else:
        show_charts(run, view, models, schema, key=key)
    entries = runs.last_log_entries(run.id, log_lines)
    st.markdown(f"**Log** · last {len(entries)} lines" if entries else "**Log**")
    height = 300 if len(entries) > 12 else "content"  # a short log needs no scroll box
    st.code(log_text(entries) or "No log lines yet.", language=None, height=height, wrap_lines=True)


def show_charts(
    run: TrainingRun, view: RunView, models: ModelRepository, schema: LabelSchema, *, key: str
) -> None:
    """Loss per epoch (and accuracy, per epoch when the job logs it, else at the end)."""
    traits = ["All traits", *(t.title for t in schema.traits)]
    trait = st.selectbox("Charts for", traits, key=f"{key}_trait", width=260)
    left, right = st.columns(2)
    left.altair_chart(loss_chart(view.losses, trait), width="stretch")
    with right:
        if not view.accuracies.empty and trait in set(view.accuracies["trait"]):
            st.altair_chart(accuracy_chart(view.accuracies, trait), width="stretch")
        elif run.status == "succeeded" and run.model_id:
            try:
                record = models.get(run.model_id)
            except NotFoundError:
                st.caption("The model of this run has been deleted since.")
            else:
                st.altair_chart(final_accuracy_chart(trait_metrics(record)), width="stretch")
        else:
            st.caption(
                "Accuracy per trait is measured on the validation images when the run ends; "
                "until then the loss shows how training goes."
            )


def parameter_input(field: ParameterField) -> Any:
    """One input of the new-run form, as its kind asks: select box, number, slider or toggle."""
    key = f"param_{field.name}"
    if field.kind == "choice":
        options = list(field.options)
        index = options.index(field.default)
        return st.selectbox(field.label, options, index=index, key=key, help=field.help)
    if field.kind == "whole":
        return st.number_input(
            field.label,
            min_value=int(field.low),
            max_value=int(field.high),
            value=int(field.default),
            step=int(field.step),
            key=key,
            help=field.help,
        )
    if field.kind == "number":
        return st.number_input(
            field.label,
            min_value=float(field.low),
            max_value=float(field.high),
            value=float(field.default),
            step=float(field.step),
            format="%g",
            key=key,
            help=field.help,
        )
    if field.kind == "share":
        return st.slider(
            field.label,
            min_value=float(field.low),
            max_value=float(field.high),
            value=float(field.default),
            step=float(field.step),
            format="percent",
            key=key,
            help=field.help,
        )
    return st.toggle(field.label, value=bool(field.default), key=key, help=field.help)


def parameter_inputs(fields: Sequence[ParameterField], *, columns: int) -> dict[str, Any]:
    """The form's inputs row by row (a phone shows them in this order); their values by name."""
    values = {}
    for start in range(0, len(fields), columns):
        row = fields[start : start + columns]
        for field, cell in zip(row, st.columns(columns), strict=False):
            with cell:
                values[field.name] = parameter_input(field)
    return values
