"""Console page: add training images from uploaded files and zips, or from a web image search."""

import streamlit as st

from admin_app.auth import require_login
from admin_app.resources import get_image_browser, get_settings
from admin_app.ui import ProgressBar, Tile, label_inputs, selectable_grid, show_report
from core.errors import UserError
from core.images import IMAGE_SUFFIXES
from core.services.archive_import import import_uploads
from core.services.web_import import import_web_images
from core.text import escape_markdown
from core.web.providers import PROVIDER_TITLES, available_providers, make_provider

user = require_login(__file__)
settings = get_settings()
browser = get_image_browser()
schema = browser.schema
state = st.session_state
PAGE_SIZE = 20
WEB_SELECTION = "web_selection"
UPLOAD_TYPES = sorted({suffix.lstrip(".") for suffix in IMAGE_SUFFIXES} | {"zip"})

st.title("Import")
upload_tab, web_tab = st.tabs(["Upload files", "Search the web"])


def checked_label(key: str) -> dict | None:
    """The optional label chosen in the widgets with this key, checked; None when empty."""
    seen = {t.name: browser.seen_values(t.name) for t in schema.traits if t.is_open}
    label = label_inputs(schema, key=key, seen=seen, empty="not set")
    return schema.validate(label, partial=True) or None


def run_import(report_key: str, verb: str, action) -> None:
    bar = ProgressBar(verb)
    try:
        state[report_key] = action(bar)
    except UserError as err:
        st.error(escape_markdown(err))
    finally:
        bar.done()
        browser.recheck()  # the Training images counts pick the new images up by id


with upload_tab:
    st.markdown(
        "Upload images, or zip archives of them. Inside a zip, a folder named like a label "
        "(`blue`, `red_tabby_van`, `lilac_bicolour_pointed`, `not_cat`) labels its images; "
        "loose images get the label below, if you set one."
    )
    state.setdefault("uploader_round", 0)
    files = st.file_uploader(
        "Images or zip archives",
        type=UPLOAD_TYPES,
        accept_multiple_files=True,
        key=f"uploads_{state['uploader_round']}",
        max_upload_size=settings.max_upload_mb,  # the server refuses larger ones too
        help=f"Up to {settings.max_upload_mb} MB per file (MAX_UPLOAD_MB); import a larger zip "
        "with python -m jobs.import_images.",
    )
    with st.expander("Label for loose images (optional)"):
        try:
            upload_label = checked_label("upload_label")
        except UserError as err:
            st.error(escape_markdown(err))
            upload_label = False
    count = len(files or [])
    if st.button(
        f"Import {count} file{'s' if count != 1 else ''}" if count else "Import",
        type="primary",
        disabled=not files or upload_label is False,
    ):
        run_import(
            "upload_report",
            "Importing",
            lambda bar: import_uploads(
                browser.repository,
                [(file.name, file) for file in files],
                schema=schema,
                by=user.username,
                label=upload_label,
                max_bytes=settings.max_upload_bytes,
                progress=bar,
            ),
        )
        state["uploader_round"] += 1  # a fresh, empty uploader for the next batch
        st.rerun()
    if report := state.get("upload_report"):
        st.subheader("Report")
        show_report(report)


def search(provider_name: str, query: str, page: int) -> None:
    try:
        results = make_provider(settings, provider_name).search(
            query, page=page, page_size=PAGE_SIZE
        )
    except UserError as err:
        st.error(escape_markdown(err))
        return
    state["web_search"] = (provider_name, query)
    state["web_results"] = results
    state.setdefault("web_seen", {}).update({r.url: r for r in results.results})


with web_tab:
    providers = available_providers(settings)
    provider_name = (
        st.segmented_control(
            "Search with",
            providers,
            default=providers[0],
            format_func=lambda name: PROVIDER_TITLES.get(name, name),
            key="web_provider",
        )
        or providers[0]
    )
    if provider_name == "urls":
        with st.form("paste_urls"):
            text = st.text_area(
                "Image addresses, one per line", placeholder="https://example.org/cat.jpg"
            )
            if st.form_submit_button("Show these images"):
                search("urls", text, 1)
    else:
        with st.form("web_search_form"):
            query = st.text_input("Search for", placeholder="blue british shorthair cat")
            if st.form_submit_button("Search", icon=":material/search:"):
                state[WEB_SELECTION] = set()
                search(provider_name, query, 1)

    if report := state.get("web_report"):
        st.subheader("Report")
        show_report(report)
    results = state.get("web_results")
    if results is not None and state["web_search"][0] == provider_name:
        selection: set[str] = state.setdefault(WEB_SELECTION, set())
        st.markdown(
            f"**{results.total:,}** images found · page {results.page} of "
            f"{max(results.page_count, 1)} · **{len(selection)} selected**"
        )
        with st.container(border=True):
            st.markdown("**Label for the imported images** (optional)")
            try:
                web_label = checked_label("web_label")
            except UserError as err:
                st.error(escape_markdown(err))
                web_label = False
            if st.button(
                f"Import {len(selection)} selected",
                type="primary",
                disabled=not selection or web_label is False,
            ):
                chosen = [state["web_seen"][url] for url in sorted(selection)]
                run_import(
                    "web_report",
                    "Downloading",
                    lambda bar: import_web_images(
                        browser.repository,
                        chosen,
                        schema=schema,
                        by=user.username,
                        label=web_label,
                        max_bytes=settings.max_upload_bytes,
                        allow_private_hosts=settings.allow_private_hosts,
                        progress=bar,
                    ),
                )
                state[WEB_SELECTION] = set()
                st.rerun()
        if results.results:
            if st.button("Select all on this page"):
                selection |= {r.url for r in results.results}
                st.rerun()
            selectable_grid(
                [
                    Tile(
                        r.url,
                        r.thumbnail_url or r.url,
                        f"{r.title} · {r.licence or 'licence unknown'}"
                        + (f" · {r.creator}" if r.creator else ""),
                    )
                    for r in results.results
                ],
                selection_key=WEB_SELECTION,
                widget_prefix="web_pick",
            )
            if results.page_count > 1:
                wanted = st.pagination(results.page_count, default=results.page, key="web_page")
                if wanted != results.page:
                    search(provider_name, state["web_search"][1], wanted)
                    st.rerun()
