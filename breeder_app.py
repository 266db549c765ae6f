"""Cat Identifier: the public page that tells a breeder their cat's phenotype from a photo.

Widgets and layout only: the photo goes through core.services.breeder.identify_upload, the
answer to "is this right?" through record_feedback. The database and the active model come from
app_shared.resources (a newly activated model is picked up on the next visit without a restart,
and never reloaded on an ordinary rerun).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import streamlit as st

from app_shared.resources import MongoKey, database_for, get_settings, model_cache_for, mongo_key
from breeder_litter import show_litter_planner
from core.config import Settings
from core.db.predictions import PredictionRepository
from core.errors import ServiceUnavailableError, UserError
from core.images import IMAGE_SUFFIXES
from core.labels import LabelSchema
from core.services import breeder
from core.services.predictions import record_feedback
from core.text import escape_markdown

UPLOAD_TYPES = sorted({suffix.lstrip(".") for suffix in IMAGE_SUFFIXES})
FLAG_STYLE = {
    "ruled_out": (st.warning, ":material/warning:"),
    "unusual": (st.info, ":material/search:"),
    "note": (st.info, ":material/lightbulb:"),
}
CHOOSE, CAMERA = ":material/upload: Choose a photo", ":material/photo_camera: Take a photo"
SETUP_ERROR = "The identifier is not set up correctly yet; please try again later."
log = logging.getLogger("cat_identifier.breeder_app")


@st.cache_data(ttl=60, show_spinner=False)
def _gallery(key: MongoKey, model_id: str) -> list[breeder.GalleryItem]:
    schema = model_cache_for(key).get().record.schema
    return breeder.recent_gallery(PredictionRepository(database_for(key)), schema)


def show_unavailable(err: UserError) -> None:
    log.error("The breeder page cannot reach its database: %s", err)
    st.error("The identifier cannot reach its database right now; please try again in a minute.")


def show_setup_error(err: UserError) -> None:
    """A visitor gets one generic sentence; the detail (hosts, paths) goes to the server log."""
    log.error("The breeder page cannot start: %s", err)
    st.error(SETUP_ERROR)


def show_header(text: breeder.PageText) -> None:
    st.title(text.title)
    st.markdown(text.intro)
    st.caption(text.best_for)


def show_traits(identification: breeder.Identification) -> None:
    view = identification.view
    with st.container(gap=None):
        st.caption(f"Your {view.subject} is probably")
        st.subheader(escape_markdown(view.name[:1].upper() + view.name[1:]), anchor=False)
    if view.not_sure:
        st.badge(
            f"Not sure about: {', '.join(view.not_sure).lower()}",
            icon=":material/help:",
            color="orange",
        )
    for row in view.traits:
        shown = escape_markdown(row.value)
        value = f"not sure (maybe {shown})" if row.is_unsure else shown
        st.progress(
            row.probability, text=f"**{row.title}:** {value} · {breeder.percent(row.probability)}"
        )
        runners_up = [(v, p) for v, p in row.alternatives if p >= 0.02][:3]
        if runners_up and len(row.alternatives) > 1:
            others = ", ".join(f"{escape_markdown(v)} {breeder.percent(p)}" for v, p in runners_up)
            st.caption(f"Other {row.title.lower()}s it could be: {others}")


def show_not_subject(identification: breeder.Identification) -> None:
    view = identification.view
    st.subheader(escape_markdown(view.headline), anchor=False)
    st.markdown(
        f"The model is {breeder.percent(view.gate_probability)} sure there is no "
        f"{view.subject} in this photo, so it does not guess a coat. Try a clear photo of one "
        f"{view.subject}, seen whole, in good light."
    )


def show_for_breeders(view: breeder.ResultView) -> None:
    with st.container(border=True):
        st.markdown("#### For breeders")
        st.code(view.genotype_line, language=None)
        st.caption(
            'The genotype for a kitten-colour calculator: "-" is an allele a photo cannot tell, '
            '"?" a trait the model is not sure of; genes hidden by white or red are left out.'
        )
        for row in view.traits:
            if row.explanation:
                st.markdown(f"**{row.title}** — {row.explanation}")
        for flag in view.flags:
            show, icon = FLAG_STYLE[flag.kind]
            show(flag.message, icon=icon)


def show_feedback(
    identification: breeder.Identification, schema: LabelSchema, predictions: PredictionRepository
) -> None:
    prediction_id = identification.prediction_id
    states: dict[str, str] = st.session_state.setdefault("feedback", {})
    state = states.get(prediction_id)
    with st.container(border=True):
        if state == "done":
            st.success(
                "Thank you! Your answer helps the model get better.", icon=":material/favorite:"
            )
            if st.button(
                f"Identify another {identification.view.subject}",
                key=f"again_{prediction_id}",
                type="primary",
                icon=":material/restart_alt:",
            ):
                start_again()
            return
        st.markdown("**Is this right?** Your answer helps the model learn.")
        try:
            if state is None:
                buttons = st.container(horizontal=True)
                if buttons.button(
                    "Yes, that's right", key=f"yes_{prediction_id}", icon=":material/thumb_up:"
                ):
                    send_answer(
                        identification, schema, predictions, states, "done", is_correct=True
                    )
                if buttons.button(
                    "No, something is wrong",
                    key=f"no_{prediction_id}",
                    icon=":material/thumb_down:",
                ):
                    send_answer(identification, schema, predictions, states, "no", is_correct=False)
                return
            show_correction(identification, schema, predictions, states)
        except UserError as err:
            st.error(escape_markdown(err))


def show_correction(
    identification: breeder.Identification,
    schema: LabelSchema,
    predictions: PredictionRepository,
    states: dict[str, str],
) -> None:
    prediction_id = identification.prediction_id
    view = identification.view
    predicted = {row.trait: row.value for row in view.traits}
    if schema.gate is not None:
        predicted[schema.gate.name] = "yes" if view.passes_gate else "no"
    with st.form(f"correction_{prediction_id}", border=False):
        st.markdown("Thank you. If you know better, pick the right value of just what is wrong:")
        chosen = {}
        for trait, options in breeder.correction_choices(schema):
            shown = predicted.get(trait.name)
            chosen[trait.name] = st.selectbox(
                f"Is it a {view.subject}?" if trait is schema.gate else trait.title,
                options,
                index=None,
                placeholder=f"{shown} (leave as is)" if shown else "don't know",
                key=f"correct_{trait.name}_{prediction_id}",
            )
        sent = st.form_submit_button("Send correction", type="primary")
    if sent:
        correction = breeder.build_correction(schema, view.label, chosen)
        send_answer(
            identification,
            schema,
            predictions,
            states,
            "done",
            is_correct=False,
            correction=correction,
        )
    if st.button("Skip", key=f"skip_{prediction_id}", type="tertiary"):
        states[prediction_id] = "done"
        st.rerun()


def send_answer(
    identification: breeder.Identification,
    schema: LabelSchema,
    predictions: PredictionRepository,
    states: dict[str, str],
    next_state: str,
    *,
    is_correct: bool,
    correction: Mapping[str, Any] | None = None,
) -> None:
    """Store the breeder's answer, move on to next_state and redraw with a fresh gallery."""
    record_feedback(
        predictions,
        schema,
        identification.prediction_id,
        is_correct=is_correct,
        correction=correction,
        feedback_secret=identification.feedback_secret,
    )
    states[identification.prediction_id] = next_state
    _gallery.clear()
    st.rerun()


def start_again() -> None:
    """A fresh uploader for the next cat (the old one keeps its file otherwise)."""
    st.session_state.upload_round = st.session_state.get("upload_round", 0) + 1
    st.session_state.pop("identification", None)
    st.session_state.pop("identified_upload", None)
    st.rerun()


def show_gallery(key: MongoKey, model_id: str) -> None:
    try:
        items = _gallery(key, model_id)
    except UserError as err:
        st.caption(
            f"The recent identifications cannot be shown right now ({escape_markdown(err)})."
        )
        return
    if not items:
        return
    st.divider()
    st.subheader("Recent identifications", anchor=False)
    row = st.container(horizontal=True, gap="small")
    for item in items:
        with row.container(width=160, gap=None):
            st.image(item.thumbnail, width="stretch")
            st.caption(f"{escape_markdown(item.name)} · {item.feedback}")


# ----------------------------------------------------------------------------- the page

try:
    settings = get_settings()
except UserError as err:
    st.set_page_config(page_title="Cat Identifier", page_icon=":material/pets:")
    show_setup_error(err)
    st.stop()

text = breeder.page_text(settings.schema)
st.set_page_config(page_title=text.title, page_icon=":material/pets:")
show_header(text)


def show_litter_planner_only(settings: Settings) -> None:
    """Without a model the litter planner still works from words and genotypes (cats only)."""
    if settings.schema.gate is not None:
        show_litter_planner(
            None, max_upload_mb=settings.max_upload_mb, max_bytes=settings.max_upload_bytes
        )
    st.stop()


key = mongo_key(settings)
try:
    database = database_for(key)
    with st.spinner("Getting the identifier ready (a few seconds after a restart)…"):
        loaded = breeder.active_model(model_cache_for(key))
except ServiceUnavailableError as err:
    show_unavailable(err)
    show_litter_planner_only(settings)
except UserError as err:
    show_setup_error(err)
    st.stop()
if loaded is None:
    st.info(
        "The identifier is not ready yet: no model has been trained. Please come back soon.",
        icon=":material/pets:",
    )
    show_litter_planner_only(settings)
schema = loaded.record.schema
predictions = PredictionRepository(database)

with st.container(border=True):
    upload_round = st.session_state.get("upload_round", 0)
    source = st.segmented_control(
        "Where is the photo?",
        [CHOOSE, CAMERA],
        default=CHOOSE,
        required=True,
        key="source",
        label_visibility="collapsed",
    )
    if source == CAMERA:
        upload = st.camera_input(
            f"Take a photo of your {text.subject}", key=f"camera_{upload_round}"
        )
    else:
        upload = st.file_uploader(
            f"Choose a photo of your {text.subject}",
            type=UPLOAD_TYPES,
            key=f"photo_{upload_round}",
            max_upload_size=settings.max_upload_mb,
            help=f"JPEG, PNG, WebP, GIF, BMP or TIFF, up to {settings.max_upload_mb} MB.",
        )
    keep_photo = st.checkbox(
        "Keep my photo to help improve the model",
        value=False,
        key="keep_photo",
        disabled=upload is not None,
        help="Kept photos may be reviewed and added to the training images. Tick it before "
        "choosing a photo to let us keep it; otherwise only the result is stored.",
    )

if upload is None:
    st.session_state.pop("identification", None)
    st.session_state.pop("identified_upload", None)
elif st.session_state.get("identified_upload") != upload.file_id:
    progress = st.empty()
    outcome: breeder.Identification | str
    with progress.status(breeder.READING, expanded=False) as status:
        try:
            outcome = breeder.identify_upload(
                loaded,
                predictions,
                upload.getvalue(),
                upload.name,
                keep_photo=keep_photo,
                max_bytes=settings.max_upload_bytes,
                on_step=lambda step: status.update(label=step),
            )
        except UserError as err:
            outcome = str(err)
    progress.empty()
    _gallery.clear()  # show the newest identification at once
    st.session_state.identified_upload = upload.file_id
    st.session_state.identification = outcome

identification = st.session_state.get("identification")
if isinstance(identification, str):
    st.error(escape_markdown(identification))  # quotes the file name as uploaded
elif identification is not None:
    photo_column, result_column = st.columns([2, 3], gap="medium")
    photo_column.image(identification.photo, width="stretch")
    photo_column.caption(
        "Your photo is kept to help improve the model."
        if identification.is_photo_kept
        else "Your photo was not kept; only the result is stored."
    )
    with result_column:
        if identification.view.is_unfamiliar:
            st.warning(identification.view.headline, icon=":material/help:")
        elif identification.view.passes_gate:
            show_traits(identification)
        else:
            show_not_subject(identification)
    if identification.view.genotype_line:
        show_for_breeders(identification.view)
    show_feedback(identification, schema, predictions)

if schema.gate is not None:  # the litter planner is for cats
    show_litter_planner(
        loaded, max_upload_mb=settings.max_upload_mb, max_bytes=settings.max_upload_bytes
    )

if settings.show_recent_gallery:
    show_gallery(key, loaded.record.id)
