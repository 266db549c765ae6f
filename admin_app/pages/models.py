"""Console page: every trained model, its per-trait metrics and confusion matrices; activate
(or roll back to) a model, delete one, compare two, download a `.keras` file."""

import streamlit as st

from admin_app.auth import require_login
from admin_app.resources import get_database, load_thumbnail
from core.db.models import ModelRepository
from core.db.training_images import TrainingImageRepository
from core.errors import NotFoundError, UserError
from core.ml.reliability import calibration_table, reliability_chart
from core.services.model_export import EXPORT_FORMATS, export_model_zip
from core.services.model_registry import (
    activate_model,
    cell_image_ids,
    comparison,
    comparison_long,
    confusion_cells,
    confusion_frame,
    delete_model,
    model_download,
    model_file_name,
    model_name,
    models_table,
    trait_metrics,
)
from core.services.training_view import fine_tuning_text
from core.text import escape_markdown
from core.training_charts import CELL_SELECTION, comparison_chart, confusion_chart

require_login(__file__)
database = get_database()
models = ModelRepository(database)
images = TrainingImageRepository(database)
state = st.session_state
MAX_CELL_IMAGES = 24
PERCENT = st.column_config.NumberColumn(format="percent")
LOSS = st.column_config.NumberColumn(format="%.3f")

st.title("Models")
if note := state.pop("models_note", None):
    st.success(note, icon=":material/check_circle:")

records = models.list()
if not records:
    st.info(
        "No model has been trained yet. Start a run on the Training page; its model appears "
        "here with its metrics.",
        icon=":material/model_training:",
    )
    st.stop()
by_id = {record.id: record for record in records}
active = next((record for record in records if record.is_active), None)
if active is None:
    st.warning("No model is active, so the breeder app cannot identify photos; activate one.")

st.subheader("Every model")
table = models_table(records)
trait_columns = [t.title for t in records[0].schema.traits]
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    column_order=[
        "Active",
        "Trained",
        "Backbone",
        "Training images",
        "Image size",
        "Mean validation accuracy",
        *[column for column in table.columns if column in trait_columns],
    ],
    column_config={
        "Active": st.column_config.CheckboxColumn(width="small"),
        "Trained": st.column_config.DatetimeColumn(format="D MMM YYYY, HH:mm"),
        "Mean validation accuracy": st.column_config.ProgressColumn(
            format="percent", min_value=0.0, max_value=1.0
        ),
        **{column: PERCENT for column in table.columns if column in trait_columns},
    },
)
st.caption("Accuracy columns: validation accuracy per trait, on images the model never trained on.")


def pick_model(label: str, key: str, default: str) -> str:
    ids = list(by_id)
    if state.get(key) not in by_id:
        state[key] = default
    return st.selectbox(label, ids, format_func=lambda i: model_name(by_id[i]), key=key)


def activate(model_id: str) -> None:
    try:
        state["models_note"] = activate_model(models, model_id)
    except UserError as err:
        state["models_error"] = str(err)


st.subheader("One model")
chosen = pick_model("Model", "models_chosen", (active or records[0]).id)
try:
    record = models.get(chosen)  # the list leaves out calibration and ood: read them for one
except NotFoundError as err:
    st.error(escape_markdown(err))
    st.stop()
if error := state.pop("models_error", None):
    st.error(error)

with st.container(border=True):
    badge = ":green-badge[:material/check_circle: Active]" if record.is_active else ""
    st.markdown(f"**{model_name(record).removesuffix(' (active)')}** {badge}")
    with st.container(horizontal=True):
        trained = record.training_ended or record.created_at
        st.metric("Trained", f"{trained:%d %b}", help=f"{trained:%d %b %Y %H:%M} UTC", border=True)
        st.metric("Backbone", record.backbone, border=True)
        st.metric("Training images", f"{record.training_set_size:,}", border=True)
        st.metric("Image size", f"{record.image_size} px", border=True)
        st.metric(
            "Fine-tuned",
            fine_tuning_text(record.hyper_parameters),
            help="Backbone layers trained after the heads, at a tenth of the learning rate.",
            border=True,
        )
        st.metric(
            "Mean accuracy",
            f"{record.mean_val_accuracy:.0%}",
            help="Validation accuracy averaged over the traits.",
            border=True,
        )
    with st.container(horizontal=True):
        st.button(
            "Activate",
            type="primary",
            icon=":material/published_with_changes:",
            disabled=record.is_active,
            on_click=activate,
            args=(record.id,),
            help="Make this model the one the breeder app and the API use (also to roll back).",
        )
        st.download_button(
            "Download .keras",
            data=lambda: model_download(models, chosen).data,
            file_name=model_file_name(record),
            mime="application/octet-stream",
            icon=":material/download:",
            key=f"download_{record.id}",
        )
        if st.button(
            "Delete…",
            icon=":material/delete:",
            disabled=record.is_active,
            help="The active model cannot be deleted; activate another one first."
            if record.is_active
            else "Delete this model and its file for good.",
        ):
            state["models_confirm_delete"] = record.id
    if state.get("models_confirm_delete") == record.id:
        st.warning(f"Delete model {model_name(record)} and its file for good?")
        with st.container(horizontal=True):
            if st.button("Delete model", type="primary"):
                state.pop("models_confirm_delete")
                try:
                    state["models_note"] = delete_model(models, record.id)
                except UserError as err:
                    st.error(escape_markdown(err))
                else:
                    state.pop("models_chosen", None)
                    st.rerun()
            if st.button("Keep it"):
                state.pop("models_confirm_delete")
                st.rerun()

    st.markdown("**Per trait**")
    st.dataframe(
        trait_metrics(record),
        hide_index=True,
        width="stretch",
        column_config={
            "Validation accuracy": PERCENT,
            "Training accuracy": PERCENT,
            "Validation loss": LOSS,
            "Training loss": LOSS,
            "Unsure below": st.column_config.NumberColumn(
                format="percent", help="Below this probability the apps say they are not sure."
            ),
        },
    )


@st.fragment
def show_export(model_id: str) -> None:
    """Download the model in a portable format: built only when the admin asks."""
    st.markdown("**Download model** · with its label schema and thresholds in model.json")
    with st.container(horizontal=True, vertical_alignment="bottom"):
        format_name = st.selectbox("Format", EXPORT_FORMATS, key=f"export_format_{model_id}")
        prepare = st.button("Prepare download", key=f"export_prepare_{model_id}")
    key = f"export_{model_id}_{format_name}"
    if prepare:
        with st.spinner(f"Exporting the model as {format_name}…"):
            try:
                state[key] = export_model_zip(models, model_id, format_name)
            except UserError as err:
                st.error(str(err))
    if key in state:
        file_name, data = state[key]
        st.download_button(
            f"Download model ({format_name})",
            data=data,
            file_name=file_name,
            mime="application/zip",
            icon=":material/download:",
            key=f"download_export_{key}",
        )


def show_reliability() -> None:
    """Expected calibration error before/after per trait, and the chosen trait's chart."""
    st.markdown("**Reliability** · validation images, before and after calibration")
    if not record.calibration:
        st.caption("This model was stored without calibration.")
        return
    st.dataframe(
        calibration_table(record.calibration),
        hide_index=True,
        width="stretch",
        column_config={
            "trait": "Trait",
            "temperature": st.column_config.NumberColumn("Temperature", format="%.2f"),
            "ece_before": st.column_config.NumberColumn("ECE before", format="%.3f"),
            "ece_after": st.column_config.NumberColumn("ECE after", format="%.3f"),
        },
    )
    trait_name = st.selectbox(
        "Reliability chart of", list(record.calibration), key=f"reliability_{record.id}"
    )
    st.altair_chart(reliability_chart(record.calibration, trait_name), width="stretch")


show_export(record.id)
show_reliability()


def pick_cell(chart_key: str, select_key: str) -> None:
    """Chart click -> the cell select box (which also works without a pointer)."""
    selection = (state.get(chart_key) or {}).get("selection") or {}
    points = selection.get(CELL_SELECTION) or []
    if isinstance(points, dict):
        points = [points]
    if points and "true" in points[0] and "predicted" in points[0]:
        state[select_key] = f"{points[0]['true']}\u2192{points[0]['predicted']}"


def show_cell_images(trait_name: str, true_value: str, predicted: str) -> None:
    try:
        ids = cell_image_ids(record, trait_name, true_value, predicted)
    except UserError as err:
        st.error(escape_markdown(err))
        return
    shown = ids[:MAX_CELL_IMAGES]
    more = f" (the first {len(shown)} shown)" if len(ids) > len(shown) else ""
    st.markdown(f"**True {true_value}, predicted {predicted}:** {len(ids)} images{more}")
    grid = st.columns(3)
    for index, image_id in enumerate(shown):
        with grid[index % 3]:
            try:
                image = images.get(image_id)
            except NotFoundError:
                st.caption(f"Image `{image_id[-6:]}` was deleted since.")
                continue
            st.image(load_thumbnail(image.thumbnail_file or image.image_file), width="stretch")
            st.caption(record.schema.describe(image.label))


st.markdown("**Confusion matrices** · validation images")
traits = [t for t in record.schema.traits if t.name in record.confusion]
if not traits:
    st.caption("This model was stored without confusion matrices.")
tabs = st.tabs([t.title for t in traits]) if traits else []  # st.tabs refuses an empty list
for trait, tab in zip(traits, tabs, strict=True):
    chart_side, cell_side = tab.columns([3, 2])
    with chart_side:
        chart_key = f"confusion_{record.id}_{trait.name}"
        select_key = f"cell_{record.id}_{trait.name}"
        st.altair_chart(
            confusion_chart(confusion_frame(record, trait.name), trait.title),
            key=chart_key,
            on_select=lambda c=chart_key, s=select_key: pick_cell(c, s),
            selection_mode=CELL_SELECTION,
            width="stretch",
        )
    with cell_side:
        cells = {f"{t}\u2192{p}": (t, p, n) for t, p, n in confusion_cells(record, trait.name)}
        if state.get(select_key) not in cells:
            state.pop(select_key, None)
        picked = st.selectbox(
            "Open the images of a cell (true → predicted)",
            list(cells),
            index=None,
            placeholder="Click a cell or choose one here",
            format_func=lambda c, cells=cells: (
                f"{'✓' if cells[c][0] == cells[c][1] else '✗'} {cells[c][0]} → {cells[c][1]} · "
                f"{cells[c][2]} image{'' if cells[c][2] == 1 else 's'}"
            ),
            key=select_key,
        )
        if picked:
            show_cell_images(trait.name, *cells[picked][:2])

st.subheader("Compare two models")
if len(records) < 2:
    st.caption("Train a second model to compare it with this one.")
else:
    left, right = st.columns(2)
    with left:
        first = pick_model("Model A", "compare_a", (active or records[0]).id)
    with right:
        other = next(r.id for r in records if r.id != first)
        second = pick_model("Model B", "compare_b", other)
    try:
        table = comparison(by_id[first], by_id[second])
    except UserError as err:
        st.info(str(err))
    else:
        st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            column_config={
                "Accuracy A": PERCENT,
                "Accuracy B": PERCENT,
                "Difference (points)": st.column_config.NumberColumn(format="%+.1f"),
                "Loss A": LOSS,
                "Loss B": LOSS,
            },
        )
        st.altair_chart(
            comparison_chart(comparison_long(by_id[first], by_id[second])), width="stretch"
        )
