"""Console page: browse and filter the training images, select some, label/mark/delete them."""

import streamlit as st

from admin_app.auth import require_login
from admin_app.dialogs import show_image_details
from admin_app.resources import get_image_browser, get_model_cache, load_thumbnail
from admin_app.ui import (
    UNSET,
    ProgressBar,
    Tile,
    chosen,
    counted_select,
    grid_footer,
    label_inputs,
    selectable_grid,
    selection_bar,
)
from core.db.training_images import SOURCES
from core.errors import UserError
from core.services.filters import (
    DUPLICATE_CHOICES,
    STATUSES,
    build_filter,
    trait_choices,
)
from core.services.image_browser import PAGE_SIZES
from core.services.label_next_page import LABEL_NEXT, ORDERS, rank_label_next, ranked_page
from core.services.labelling import check_selection
from core.text import escape_markdown, plural, value_text

user = require_login(__file__)
browser = get_image_browser()
schema = browser.schema
state = st.session_state
SELECTION = "grid_selection"

st.title("Training images")
if outcome := state.pop("grid_outcome", None):
    st.success(outcome, icon=":material/check_circle:")


def filter_from_widgets():
    dates = state.get("filter_dates") or ()
    return build_filter(
        schema,
        status=state.get("filter_status_value", "all"),
        traits={t.name: chosen(state.get(f"filter_{t.name}_value")) for t in schema.traits},
        source=chosen(state.get("filter_source_value")),
        created_from=dates[0] if len(dates) > 0 else None,
        created_to=dates[1] if len(dates) > 1 else None,
        duplicates=state.get("filter_duplicates_value", "all"),
    )


try:
    image_filter = filter_from_widgets()
except UserError as err:
    st.error(escape_markdown(err))
    image_filter = build_filter(schema)
counts = browser.counts(image_filter)
if state.get("grid_filter") != image_filter:  # a new filter starts a new selection on page 1
    state["grid_filter"] = image_filter
    state[SELECTION] = set()
    state["grid_round"] = state.get("grid_round", 0) + 1


def any_or(text):
    return lambda option: "Any" if option == UNSET else text(option)


with st.container(border=True, key="filters"):
    top = st.columns([1, 1, 1.3, 1.3])
    with top[0]:
        counted_select(
            "Status",
            STATUSES,
            key="filter_status",
            text=str.capitalize,
            count=counts.for_status,
        )
    with top[1]:
        counted_select(
            "Source",
            [UNSET, *SOURCES],
            key="filter_source",
            text=any_or(lambda s: s.replace("_", " ").capitalize()),
            count=lambda s: counts.for_source(chosen(s)),
        )
    top[2].date_input("Added between", value=(), key="filter_dates", persist_state="session")
    with top[3]:
        counted_select(
            "Possible duplicates",
            DUPLICATE_CHOICES,
            key="filter_duplicates",
            text=str.capitalize,
            count=counts.for_duplicates,
        )
    for trait, cell in zip(schema.traits, st.columns(len(schema.traits)), strict=True):
        with cell:
            counted_select(
                trait.title,
                [UNSET, *trait_choices(trait, browser.seen_values(trait.name))[1:]],
                key=f"filter_{trait.name}",
                text=any_or(value_text),
                count=lambda v, name=trait.name: counts.for_trait(name, chosen(v)),
            )
with st.container(horizontal=True, vertical_alignment="center"):
    st.markdown(f"**{counts.matching:,}** of {counts.total:,} images match")
    st.selectbox("Order", ORDERS, key="grid_order", on_change=lambda: next_round())
    if st.button("Refresh counts", icon=":material/refresh:", type="tertiary"):
        browser.invalidate()
        st.rerun()


def select_matching() -> None:
    state[SELECTION] = set(browser.matching_ids(state["grid_filter"]))


def next_round() -> None:
    state["grid_round"] += 1


def open_details(image_id: str) -> None:
    state["details_id"] = image_id


def run_action(verb: str, action) -> None:
    """Run a bulk action with a progress bar; on success rerun the page to show the outcome."""
    bar = ProgressBar(verb)
    try:
        outcome = action(bar)
    except UserError as err:
        bar.done()
        st.error(escape_markdown(err))
        return
    state["grid_outcome"] = str(outcome)
    state[SELECTION] = set()
    next_round()
    st.rerun()


def label_next_ranking() -> list[tuple[str, float]] | None:
    """The unlabelled images ranked by the active model (ranked when the admin asks)."""
    st.caption(
        "Label next: the unlabelled images the active model is least sure of come first "
        "(the filters above do not apply)."
    )
    if st.button("Rank unlabelled images", icon=":material/sort:", key="rank_label_next"):
        with st.spinner("Asking the model about every unlabelled image…"):
            try:
                state["label_next"] = rank_label_next(get_model_cache(), browser.repository)
            except UserError as err:
                st.error(str(err))
    if "label_next" not in state:
        return None
    model_id, ranked = state["label_next"]
    st.caption(f"{len(ranked):,} unlabelled images ranked by model `{model_id[-6:]}`.")
    return ranked


@st.fragment
def grid_section(matching: int) -> None:
    """Selection, bulk actions, the grid and paging: reruns alone when a box is ticked."""
    image_filter = state["grid_filter"]
    selection: set[str] = state.setdefault(SELECTION, set())
    page_key = f"grid_page_{state['grid_round']}"  # a new key starts again at page 1
    uncertainty: dict[str, float] = {}
    if state.get("grid_order") == LABEL_NEXT:
        ranked = label_next_ranking()
        if ranked is None:
            return
        uncertainty = dict(ranked)
        page = ranked_page(
            browser.repository,
            ranked,
            page=state.get(page_key, 1),
            page_size=state.get("grid_page_size", 48),
        )
    else:
        page = browser.page(
            image_filter,
            page=state.get(page_key, 1),
            page_size=state.get("grid_page_size", 48),
            matching=matching,
        )
    page_ids = [image.id for image in page.images]

    selection_bar(
        SELECTION,
        page_ids,
        select_all_label=f"Select all {matching:,} matching",
        on_select_all=select_matching,
    )

    with st.container(border=True, key="bulk_actions"):
        st.markdown("**Label the selected images** · only the traits you choose change")
        seen = {t.name: browser.seen_values(t.name) for t in schema.traits if t.is_open}
        update = label_inputs(schema, key="bulk_label", seen=seen, empty="keep")
        with st.container(horizontal=True):
            if st.button(f"Apply label to {len(selection):,} selected", type="primary"):
                run_action(
                    "Labelling",
                    lambda bar: browser.apply_label(
                        sorted(selection), update, by=user.username, progress=bar
                    ),
                )
            if schema.gate is not None and st.button(f"Mark not a {schema.gate.title.lower()}"):
                run_action(
                    "Marking",
                    lambda bar: browser.mark_not_cat(
                        sorted(selection), by=user.username, progress=bar
                    ),
                )
            if st.button("Delete selected…", icon=":material/delete:"):
                try:
                    check_selection(selection, "deleted")
                    state["confirm_delete"] = True
                except UserError as err:
                    st.error(escape_markdown(err))
        if state.get("confirm_delete") and selection:
            doomed = plural(len(selection), "image")
            st.warning(f"Delete {doomed} and the stored files for good?")
            with st.container(horizontal=True):
                if st.button(f"Delete {doomed}", type="primary"):
                    state.pop("confirm_delete")
                    run_action(
                        "Deleting", lambda bar: browser.delete(sorted(selection), progress=bar)
                    )
                if st.button("Cancel"):
                    state.pop("confirm_delete")
                    st.rerun(scope="fragment")

    if not page.images:
        st.info("No training images match these filters; change them or import images.")
        return
    tiles = [
        Tile(
            image.id,
            load_thumbnail(image.thumbnail_file or image.image_file),
            schema.describe(image.label)
            + (" · possible duplicate" if image.near_duplicate_of else "")
            + (f" · {uncertainty[image.id]:.0%} unsure" if image.id in uncertainty else ""),
        )
        for image in page.images
    ]
    selectable_grid(tiles, selection_key=SELECTION, widget_prefix="pick", on_details=open_details)
    grid_footer(
        page.page_count,
        page.page,
        page_key=page_key,
        size_key="grid_page_size",
        sizes=PAGE_SIZES,
        on_size_change=next_round,
    )
    if details_id := state.pop("details_id", None):
        show_image_details(browser, details_id)


grid_section(counts.matching)
browser.read_ahead()  # the page is shown: read what filtered counts need before a filter is chosen
