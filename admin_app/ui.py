"""Small Streamlit widgets the console pages share: label inputs, a selectable image grid,
progress bars and import reports. Layout only; the rules live in `core`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from core.labels import LabelSchema, Trait
from core.services.filters import trait_choices
from core.services.imports import ImportReport
from core.text import escape_markdown, value_text

NO_CHOICE = "—"
UNSET = "\u2063unset"  # the "any"/"keep" option of a select box (None shows a placeholder)


def chosen(value: Any) -> Any:
    """A select box value with the UNSET option turned into None."""
    return None if value is None or value == UNSET else value


def optional_select(
    label: str,
    values: Sequence[Any],
    *,
    key: str,
    empty: str,
    format_value: Callable[[Any], str] = value_text,
    **kwargs: Any,
) -> Any:
    """A select box whose first option means "no value" (shown as `empty`); returns None then."""
    options = [UNSET, *(v for v in values if v is not None)]
    value = st.selectbox(
        label,
        options,
        key=key,
        format_func=lambda v: empty if v == UNSET else format_value(v),
        **kwargs,
    )
    return chosen(value)


def counted_select(
    label: str,
    options: Sequence[Any],
    *,
    key: str,
    text: Callable[[Any], str],
    count: Callable[[Any], int],
    **kwargs: Any,
) -> Any:
    """A select box whose option labels carry live counts ("blue (120)"); returns the option.

    Streamlit keeps a select box's value as its label text, which changes with the counts, so
    the chosen option is kept under `<key>_value` and handed back to the widget on every run.
    """
    value_key = f"{key}_value"
    value = st.session_state.get(value_key, options[0])
    if value not in options:
        value = options[0]
    st.session_state[key] = value
    st.selectbox(
        label,
        options,
        key=key,
        format_func=lambda option: f"{text(option)} ({count(option):,})",
        on_change=_remember,
        args=(key, value_key),
        **kwargs,
    )
    return value


def _remember(key: str, value_key: str) -> None:
    st.session_state[value_key] = st.session_state[key]


def label_inputs(
    schema: LabelSchema,
    *,
    key: str,
    seen: Mapping[str, Sequence[str]] | None = None,
    empty: str = NO_CHOICE,
    columns: int | None = None,
) -> dict[str, Any]:
    """One select box per trait (built from the schema); returns the chosen values only.

    Traits gated by a yes/no trait are disabled while that trait is set to no. Open traits
    (dog breeds) offer the values seen so far and accept a new one.
    """
    label: dict[str, Any] = {}
    cells = st.columns(columns or len(schema.traits))
    for index, trait in enumerate(schema.traits):
        gate_value = label.get(trait.gated_by) if trait.gated_by else None
        with cells[index % len(cells)]:
            value = optional_select(
                trait.title,
                trait_choices(trait, (seen or {}).get(trait.name, ())),
                key=f"{key}_{trait.name}",
                empty=empty,
                disabled=gate_value is False,
                accept_new_options=trait.is_open,
                help=_trait_help(trait),
            )
        if value is not None and gate_value is not False:
            label[trait.name] = value
    return label


def _trait_help(trait: Trait) -> str | None:
    if trait.gated_by:
        return f"Only for images whose {trait.gated_by.replace('is_', '')} is yes."
    if trait.is_open:
        return "Pick a value or type a new one."
    return None


@dataclass(frozen=True)
class Tile:
    """One image of a selectable grid."""

    key: str  # what the selection holds, e.g. the image id
    image: bytes | str  # bytes, or a URL the browser loads
    caption: str  # shown under the image (wraps; checkbox labels are cut to one line)


def selectable_grid(
    tiles: Sequence[Tile],
    *,
    selection_key: str,
    widget_prefix: str,
    on_details: Callable[[str], None] | None = None,
    min_column_width: int = 160,
) -> None:
    """Thumbnails in a responsive grid, each with a checkbox bound to a selection set."""
    selection: set[str] = st.session_state.setdefault(selection_key, set())
    grid = st.grid("auto", min_column_width=min_column_width, gap="small", border=True)
    for tile in tiles:
        widget_key = f"{widget_prefix}_{tile.key}"
        st.session_state[widget_key] = tile.key in selection  # page-wide actions change it
        with grid.cell():
            st.image(tile.image, width="stretch")
            st.caption(escape_markdown(tile.caption))  # web titles, file names
            with st.container(horizontal=True, vertical_alignment="center", gap="small"):
                st.checkbox(
                    "Select",
                    key=widget_key,
                    on_change=_toggle,
                    args=(selection_key, tile.key, widget_key),
                )
                if on_details is not None:
                    st.button(
                        "View",
                        icon=":material/zoom_in:",
                        key=f"{widget_prefix}_details_{tile.key}",
                        type="tertiary",
                        help="Larger view, source and history",
                        on_click=on_details,
                        args=(tile.key,),
                    )


def _toggle(selection_key: str, tile_key: str, widget_key: str) -> None:
    selection: set[str] = st.session_state.setdefault(selection_key, set())
    if st.session_state[widget_key]:
        selection.add(tile_key)
    else:
        selection.discard(tile_key)


def selection_bar(
    selection_key: str,
    page_ids: Sequence[str],
    *,
    select_all_label: str,
    on_select_all: Callable[[], None],
    lead: str | None = None,
) -> None:
    """One row: the selected count and buttons to select this page, every match, or nothing."""
    selection: set[str] = st.session_state.setdefault(selection_key, set())
    with st.container(horizontal=True, vertical_alignment="center"):
        if lead:
            st.markdown(lead)
        st.markdown(f"{'· ' if lead else ''}**{len(selection):,} selected**")
        st.button(
            "Select page",
            on_click=_select,
            args=(selection_key, list(page_ids)),
            disabled=not page_ids,
        )
        st.button(select_all_label, on_click=on_select_all)
        st.button(
            "Clear selection",
            on_click=clear_selection,
            args=(selection_key,),
            disabled=not selection,
        )


def _select(selection_key: str, ids: list[str]) -> None:
    st.session_state[selection_key] |= set(ids)


def clear_selection(selection_key: str) -> None:
    """Button callback: nothing selected."""
    st.session_state[selection_key] = set()


def grid_footer(
    page_count: int,
    page: int,
    *,
    page_key: str,
    size_key: str,
    sizes: Sequence[int],
    on_size_change: Callable[[], None],
) -> None:
    """Paging under a grid: the page buttons and how many tiles a page shows."""
    with st.container(horizontal=True, vertical_alignment="center"):
        st.pagination(page_count, default=page, key=page_key)
        st.selectbox(
            "Per page",
            sizes,
            key=size_key,
            index=list(sizes).index(48),
            on_change=on_size_change,
            width=110,
        )


class ProgressBar:
    """A st.progress bar fed by core progress callbacks: (done, total[, current name])."""

    def __init__(self, verb: str) -> None:
        self.verb = verb
        self._bar = st.progress(0.0, text=f"{verb}…")

    def __call__(self, done: int, total: int, current: str | None = None) -> None:
        fraction = done / total if total else 1.0
        text = f"{self.verb} {done:,} of {total:,}"
        if current:
            text += f" · {current}"
        self._bar.progress(min(1.0, fraction), text=text)

    def done(self) -> None:
        self._bar.empty()


def show_report(report: ImportReport) -> None:
    """An import report: counts, the summary sentence, the rejected files with their reasons."""
    added, near, duplicates, rejected = (
        report.added,
        report.near_duplicates,
        report.duplicates,
        report.rejected,
    )
    with st.container(horizontal=True):
        st.metric("Added", f"{added:,}", border=True)
        st.metric("Possible duplicates", f"{near:,}", border=True)
        st.metric("Already stored", f"{duplicates:,}", border=True)
        st.metric("Rejected", f"{len(rejected):,}", border=True)
    (st.warning if rejected else st.success)(escape_markdown(report.summary()))
    for note in getattr(report, "notes", []):
        st.info(escape_markdown(note))  # notes quote file names
    if rejected:
        st.markdown("**Rejected files**")
        st.dataframe(
            pd.DataFrame([{"File": o.filename, "Reason": o.reason} for o in rejected]),
            hide_index=True,
            width="stretch",
        )
    if report.outcomes:
        with st.expander(f"Every file ({len(report.outcomes):,})"):
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "File": o.filename,
                            "Result": _status_text(o.status, o.near_duplicate_of),
                            "Reason": o.reason or "",
                        }
                        for o in report.outcomes
                    ]
                ),
                hide_index=True,
                width="stretch",
            )


def _status_text(status: str, near_duplicate_of: str | None) -> str:
    if status == "added" and near_duplicate_of:
        return "added (possible duplicate)"
    return {"duplicate": "already stored"}.get(status, status)
