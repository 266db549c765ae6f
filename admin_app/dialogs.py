"""The console's detail dialogs: one training image, one public prediction."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

import streamlit as st

from core.errors import UserError
from core.services.image_browser import ImageBrowser
from core.services.labelling import history_rows
from core.services.review import NO_PHOTO_REASON, PredictionReview, owner_answer
from core.text import escape_markdown, value_text

NO_PHOTO_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 160 120">'
    '<rect width="160" height="120" rx="8" fill="#8f969e" fill-opacity="0.18"/>'
    '<text x="80" y="56" font-family="sans-serif" font-size="13" text-anchor="middle" '
    'fill="#8f969e">no photo kept</text>'
    '<text x="80" y="76" font-family="sans-serif" font-size="10" text-anchor="middle" '
    'fill="#8f969e">owner did not consent</text></svg>'
)


@st.dialog("Image details", width="large")
def show_image_details(browser: ImageBrowser, image_id: str) -> None:
    """A training image large, with its label, source and history."""
    schema = browser.schema
    try:
        image = browser.repository.get(image_id)
        data = browser.repository.image_bytes(image)
    except UserError as err:
        st.error(escape_markdown(err))
        return
    left, right = st.columns([3, 2])
    left.image(data, width="content")
    facts = [
        f"**{trait.title}:** {value_text(image.label[trait.name])}"
        for trait in schema.traits
        if trait.name in image.label
    ]
    facts += [
        f"**File:** {escape_markdown(image.filename)} · "
        f"{image.width}×{image.height} {image.format}",
        f"**Source:** {image.source.replace('_', ' ')}",
    ]
    if image.source_url:
        target = quote(image.source_url, safe=":/?#@!$&'*+,;=%~[]")
        facts.append(f"**URL:** [{escape_markdown(image.source_url)}]({target})")
    if image.licence or image.creator:
        licence, creator = escape_markdown(image.licence or "unknown"), image.creator or "?"
        facts.append(f"**Licence:** {licence} · **by** {escape_markdown(creator)}")
    facts.append(f"**Added:** {image.created_at:%Y-%m-%d %H:%M} UTC")
    if image.labelled_by:
        facts.append(f"**Labelled by:** {escape_markdown(image.labelled_by)}")
    with right:
        st.subheader(schema.describe(image.label).capitalize())
        st.markdown("  \n".join(facts))
        if image.near_duplicate_of:
            st.warning(f"Looks like image {image.near_duplicate_of}; check for a duplicate.")
    st.markdown("**History**")
    st.dataframe(history_rows(image), hide_index=True, width="stretch")


@st.dialog("Prediction", width="large")
def show_prediction_details(
    review: PredictionReview, prediction_id: str, model_label: Callable[[str], str]
) -> None:
    """A prediction's photo (or why there is none), what it said, what owner and admin said."""
    schema = review.schema
    try:
        prediction = review.predictions.get(prediction_id)
    except UserError as err:
        st.error(escape_markdown(err))
        return
    left, right = st.columns([2, 3])
    with left:
        data = review.predictions.image_bytes(prediction)
        if data:
            st.image(data, width="stretch")
        else:
            st.image(NO_PHOTO_SVG, width="stretch")
            st.caption(f"This prediction was {NO_PHOTO_REASON}.")
    with right:
        st.subheader(schema.describe(prediction.label).capitalize())
        st.markdown(
            f"**Confidence:** {prediction.confidence:.0%} · **Model:** "
            f"{model_label(prediction.model_id)}  \n"
            f"**Made:** {prediction.created_at:%d %b %Y %H:%M} UTC via "
            f"{prediction.channel.replace('_', ' ')}"
        )
        st.markdown(f"**Owner said:** {owner_answer(prediction)}")
        if prediction.admin_has_reviewed:
            said = "accepted" if prediction.admin_feedback else "wrong"
            right = schema.describe(prediction.admin_label) if prediction.admin_label else "–"
            st.markdown(f"**Admin review:** {said} · right label: {right}")
        if prediction.promoted_image_id:
            st.markdown(f"**In the training set** as image `{prediction.promoted_image_id}`")
    st.dataframe(
        review.detail_rows(prediction),
        hide_index=True,
        width="stretch",
        column_config={
            "Probability": st.column_config.ProgressColumn(
                format="percent", min_value=0.0, max_value=1.0
            )
        },
    )
