"""Console page: review public predictions (least confident first), set their right label and
promote them to the training set; accuracy in the wild per trait and model."""

import streamlit as st

from admin_app.auth import require_login
from admin_app.dialogs import NO_PHOTO_SVG, show_prediction_details
from admin_app.resources import get_database, get_settings, load_thumbnail
from admin_app.review_widgets import review_actions, review_filters
from admin_app.ui import (
    Tile,
    grid_footer,
    selectable_grid,
    selection_bar,
)
from core.db.models import ModelRepository
from core.errors import UserError
from core.review_charts import wild_accuracy_chart
from core.services import model_registry
from core.services.model_registry import model_name
from core.services.review import PredictionReview, tile_caption
from core.services.review_accuracy import accuracy_in_the_wild
from core.services.review_filter import (
    PAGE_SIZES,
)
from core.text import escape_markdown

user = require_login(__file__)
settings = get_settings()
schema = settings.schema
review = PredictionReview(get_database(), schema)
models = {record.id: record for record in ModelRepository(get_database()).list()}
state = st.session_state
SELECTION = "review_selection"

st.title("Review predictions")
if outcome := state.pop("review_outcome", None):
    st.success(outcome, icon=":material/check_circle:")
for problem in state.pop("review_problems", []):
    st.warning(problem, icon=":material/info:")

facts = review.facts()
stats = review.stats(facts)
if not stats.total:
    st.info(
        "No public prediction yet. Predictions appear here once breeders identify photos in the "
        "breeder app or programs call the identify API.",
        icon=":material/rate_review:",
    )
    st.stop()

with st.container(horizontal=True):
    st.metric(
        "Awaiting review",
        f"{stats.awaiting:,}",
        help=f"{stats.awaiting_user_rejected:,} the owner said were wrong, "
        f"{stats.awaiting_user_accepted:,} right, {stats.awaiting_no_feedback:,} no answer; "
        f"{stats.awaiting_without_photo:,} stored without a photo (they can be reviewed, not "
        "promoted).",
        border=True,
    )
    st.metric("Owner said wrong", f"{stats.awaiting_user_rejected:,}", border=True)
    st.metric("Reviewed", f"{stats.reviewed:,}", border=True)
    st.metric("Ready to promote", f"{stats.ready_to_promote:,}", border=True)
    st.metric("In training set", f"{stats.promoted:,}", border=True)


def model_label(model_id: str) -> str:
    return model_registry.model_label(models, model_id)


review_filter, order = review_filters(review, facts, models, model_label)
view_key = (review_filter, order)
if state.get("review_view") != view_key:  # a new filter starts a new selection on page 1
    state["review_view"] = view_key
    state[SELECTION] = set()
    state["review_round"] = state.get("review_round", 0) + 1


def select_matching() -> None:
    state[SELECTION] = set(review.matching_ids(state["review_view"][0]))


def open_details(prediction_id: str) -> None:
    state["review_details_id"] = prediction_id


@st.fragment
def grid_section() -> None:
    """Selection, review actions, the grid and paging: reruns alone when a box is ticked."""
    current_filter, order = state["review_view"]
    page_key = f"review_page_{state['review_round']}"
    try:
        page = review.page(
            current_filter,
            order=order,
            page=state.get(page_key, 1),
            page_size=state.get("review_page_size", 48),
        )
    except UserError as err:
        st.error(escape_markdown(err))
        return
    page_ids = [prediction.id for prediction in page.predictions]
    selection_bar(
        SELECTION,
        page_ids,
        select_all_label=f"Select all {page.matching:,}",
        on_select_all=select_matching,
        lead=f"**{page.matching:,}** of {stats.total:,} predictions match",
    )

    review_actions(
        review,
        SELECTION,
        by=user.username,
        max_bytes=settings.max_upload_bytes,
        ready=stats.ready_to_promote,
        facts=facts,
    )

    if not page.predictions:
        st.info("No prediction matches these filters; change them to see more.")
        return
    tiles = [
        Tile(
            prediction.id,
            load_thumbnail(prediction.thumbnail_file or prediction.image_file)
            if prediction.has_image
            else NO_PHOTO_SVG,
            tile_caption(prediction, schema),
        )
        for prediction in page.predictions
    ]
    selectable_grid(
        tiles, selection_key=SELECTION, widget_prefix="review_pick", on_details=open_details
    )
    grid_footer(
        page.page_count,
        page.page,
        page_key=page_key,
        size_key="review_page_size",
        sizes=PAGE_SIZES,
        on_size_change=lambda: state.update(review_round=state["review_round"] + 1),
    )
    st.caption(
        ":material/thumb_up: / :material/thumb_down: the owner said right / wrong · "
        ":material/verified: reviewed · :material/school: in the training set · "
        ":material/no_photography: no photo kept · the percentage is the model's confidence"
    )
    if details_id := state.pop("review_details_id", None):
        show_prediction_details(review, details_id, model_label)


grid_section()

st.divider()
st.subheader("Accuracy in the wild")
wild = accuracy_in_the_wild(facts, schema, models, model_name=model_name)
if wild.empty:
    st.caption(
        "Once administrators review predictions, this shows per model and trait how often the "
        "model was right on real photos."
    )
else:
    st.altair_chart(wild_accuracy_chart(wild), width="stretch")
    st.dataframe(
        wild.drop(columns="model_id").rename(
            columns={
                "model": "Model",
                "trait": "Trait",
                "reviewed": "Reviewed",
                "correct": "Right",
                "accuracy": "Accuracy in the wild",
                "validation_accuracy": "Validation accuracy",
            }
        ),
        hide_index=True,
        width="stretch",
        column_config={
            "Accuracy in the wild": st.column_config.NumberColumn(format="percent"),
            "Validation accuracy": st.column_config.NumberColumn(format="percent"),
        },
    )
