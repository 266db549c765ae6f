"""The Review predictions page's panels: the filters, and the actions (accept, reject, set the
label, promote)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import streamlit as st

from admin_app.ui import UNSET, ProgressBar, label_inputs, optional_select
from core.db.models import ModelRecord
from core.db.reviews import ReviewFacts, ReviewFilter
from core.errors import UserError
from core.services.filters import trait_choices
from core.services.review import PredictionReview, PromoteReport, ReviewOutcome, skip_notes
from core.services.review_filter import (
    FAMILIARITY_CHOICES,
    ORDER_CHOICES,
    REVIEW_STATUS_CHOICES,
    USER_FEEDBACK_CHOICES,
    build_review_filter,
)
from core.text import escape_markdown

state = st.session_state


def run_action(action: Callable[[], ReviewOutcome | PromoteReport], selection_key: str) -> None:
    """Run a review action; on success rerun the page to show its outcome."""
    try:
        outcome = action()
    except UserError as err:
        st.error(escape_markdown(err))
        return
    state["review_outcome"] = outcome.summary()
    state["review_problems"] = skip_notes(outcome.skipped)
    state[selection_key] = set()
    st.rerun()


def prefill_label(review: PredictionReview, selection: set[str]) -> None:
    """One selected prediction: its label widgets start from the owner's correction."""
    single = next(iter(selection)) if len(selection) == 1 else None
    if state.get("review_prefilled_for") == single:
        return
    state["review_prefilled_for"] = single
    label = {}
    if single:
        try:
            label = review.starting_label(review.predictions.get(single))
        except UserError:
            label = {}
    for trait in review.schema.traits:
        state[f"review_label_{trait.name}"] = label.get(trait.name, UNSET)


def review_actions(
    review: PredictionReview,
    selection_key: str,
    *,
    by: str,
    max_bytes: int,
    ready: int,
    facts: Sequence[ReviewFacts],
) -> None:
    """The panel acting on the selected predictions (and on every one ready to promote)."""
    selection: set[str] = state.setdefault(selection_key, set())
    prefill_label(review, selection)
    count = len(selection)
    with st.container(border=True, key="review_actions"):
        if count:
            st.markdown(f"**Review the {count:,} selected**")
        else:
            st.markdown("**Review** · tick some predictions below first")
        with st.container(horizontal=True):
            if st.button("Accept predicted label", icon=":material/check:", disabled=not count):
                run_action(lambda: review.accept(sorted(selection), by=by), selection_key)
            if st.button("Reject", icon=":material/close:", disabled=not count):
                run_action(lambda: review.reject(sorted(selection), by=by), selection_key)
        st.caption(
            "Or set the right label. "
            + (
                "It starts from the owner's correction where there is one."
                if count == 1
                else "Traits left on 'keep' keep each prediction's label (with the owner's "
                "correction where there is one)."
            )
        )
        seen = {
            t.name: review.seen_values(t.name, facts) for t in review.schema.traits if t.is_open
        }
        update = label_inputs(review.schema, key="review_label", seen=seen, empty="keep")
        if st.button(
            f"Set label on {count:,} selected", icon=":material/edit:", disabled=not count
        ):
            run_action(lambda: review.set_label(sorted(selection), update, by=by), selection_key)
        st.markdown("**Promote** reviewed predictions to the training set")
        with st.container(horizontal=True, vertical_alignment="center"):
            if st.button(
                f"Promote {count:,} selected to the training set",
                icon=":material/school:",
                type="primary",
                disabled=not count,
            ):
                bar = ProgressBar("Promoting")
                run_action(
                    lambda: review.promote(
                        sorted(selection),
                        by=by,
                        max_bytes=max_bytes,
                        progress=bar,
                    ),
                    selection_key,
                )
            if st.button(
                f"Promote all {ready:,} ready",
                icon=":material/done_all:",
                disabled=not ready,
            ):
                bar = ProgressBar("Promoting")
                run_action(
                    lambda: review.promote(
                        review.ready_to_promote_ids(),
                        by=by,
                        max_bytes=max_bytes,
                        progress=bar,
                    ),
                    selection_key,
                )
        st.caption(
            "Promoting adds the photo with the admin's label to the training set (source: "
            "prediction review), once. Predictions stored without a photo "
            ":material/no_photography: can be reviewed but not promoted: their owners did not "
            "agree to keep the photo."
        )


def review_filters(
    review: PredictionReview,
    facts: Sequence[ReviewFacts],
    models: Mapping[str, ModelRecord],
    model_label: Callable[[str], str],
) -> tuple[ReviewFilter, str]:
    """The filter panel; returns the filter it describes and the chosen order."""
    schema = review.schema
    with st.container(border=True, key="review_filters"):
        top = st.columns(3)
        user_feedback = top[0].selectbox(
            "Owner's feedback",
            USER_FEEDBACK_CHOICES,
            key="review_user_feedback",
            format_func=lambda c: {"none": "No answer"}.get(c, c.capitalize()),
        )
        review_status = top[1].selectbox(
            "Review status", REVIEW_STATUS_CHOICES, key="review_status", format_func=str.capitalize
        )
        order = top[2].selectbox(
            "Order", ORDER_CHOICES, key="review_order", format_func=str.capitalize
        )
        middle = st.columns([2, 1, 1])
        with middle[0]:
            model_id = optional_select(
                "Model",
                sorted({*models, *review.model_ids(facts)}, key=model_label),
                key="review_model",
                empty="Any model",
                format_value=model_label,
            )
        dates = middle[1].date_input("Made between", value=(), key="review_dates")
        familiarity = middle[2].selectbox(
            "Photo",
            FAMILIARITY_CHOICES,
            key="review_familiarity",
            format_func=lambda c: {
                "any": "Any",
                "unfamiliar": "Unlike the training images",
                "familiar": "Like the training images",
            }[c],
        )
        traits = {}
        for trait, cell in zip(schema.traits, st.columns(len(schema.traits)), strict=True):
            with cell:
                traits[trait.name] = optional_select(
                    f"Predicted {trait.title.lower()}",
                    trait_choices(trait, review.seen_values(trait.name, facts)),
                    key=f"review_filter_{trait.name}",
                    empty="Any",
                )

    try:
        review_filter = build_review_filter(
            schema,
            user_feedback=user_feedback,
            review_status=review_status,
            traits=traits,
            model_id=model_id,
            created_from=dates[0] if len(dates) > 0 else None,
            created_to=dates[1] if len(dates) > 1 else None,
            familiarity=familiarity,
        )
    except UserError as err:
        st.error(escape_markdown(err))
        review_filter = build_review_filter(schema)
    return review_filter, order
