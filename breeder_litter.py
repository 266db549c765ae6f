"""The breeder page's litter planner: sire and dam in, the kittens' coats with their odds out.

Widgets and layout only: a parent's photo goes through core.services.litter_photos
(read_parent_photo, nothing stored), the pairing through core.services.litter.plan_litter,
once per click on "Plan the litter". The plan stays in session state until the next good one.
"""

from __future__ import annotations

import streamlit as st

from core.errors import UserError
from core.images import IMAGE_SUFFIXES
from core.litter.charts import litter_chart, litter_frame
from core.litter.form import CARRIER_CHOICES, CHOICES, HELP, LAB_CHOICES, TITLES, CoatForm
from core.litter.loci import SEXES
from core.services.litter import LitterPlan, ParentSpec, plan_litter
from core.services.litter_photos import read_parent_photo
from core.services.predictions import LoadedModel

PHOTO, WORDS, GENOTYPE = (
    ":material/photo_camera: Photo",
    ":material/edit_note: Words",
    ":material/genetics: Genotype",
)
UPLOAD_TYPES = sorted({suffix.lstrip(".") for suffix in IMAGE_SUFFIXES})
ROLES = {"sire": "Sire (father)", "dam": "Dam (mother)"}
EXAMPLES = {
    "sire": ("black tabby, carries dilute", "X^o Y Bb Dd A- ss C-"),
    "dam": ("blue-cream bicolour", "X^O X^o B- dd aa Ss C-"),
}
SEX_TITLES = {"male": ":material/male: Male kittens", "female": ":material/female: Female kittens"}


def show_litter_planner(loaded: LoadedModel | None, *, max_upload_mb: int, max_bytes: int) -> None:
    """The page's second section: the two parents, the button, and the last good plan; without
    a model (none trained yet, or the database down) parents are given in words or genotype."""
    st.divider()
    st.header("Plan a litter", anchor=False)
    by_photo = "by a photo, " if loaded is not None else ""
    st.markdown(
        f"Give the sire and the dam {by_photo}by their coat in words or by genotype, and see "
        "the kittens' coats to expect, with their odds, for the males and the females."
    )
    sire_column, dam_column = st.columns(2, gap="medium")
    with sire_column:
        sire = parent_input("sire", loaded, max_upload_mb=max_upload_mb, max_bytes=max_bytes)
    with dam_column:
        dam = parent_input("dam", loaded, max_upload_mb=max_upload_mb, max_bytes=max_bytes)
    actions = st.container(horizontal=True, vertical_alignment="center")
    clicked = actions.button(
        "Plan the litter", type="primary", icon=":material/pets:", key="litter_plan_button"
    )
    with_ems = actions.toggle("Show FIFe EMS codes", key="litter_ems")
    if clicked:
        try:
            st.session_state.litter_plan = plan_litter(sire, dam)
        except UserError as err:
            st.error(str(err), icon=":material/error:")
    plan = st.session_state.get("litter_plan")
    if plan is not None:
        show_plan(plan, with_ems=with_ems)


def parent_input(
    role: str, loaded: LoadedModel | None, *, max_upload_mb: int, max_bytes: int
) -> ParentSpec | None:
    """One parent's box: a photo, words or a genotype, then carriers and lab results."""
    with st.container(border=True, key=f"litter_{role}"):
        st.subheader(ROLES[role], anchor=False)
        modes = [PHOTO, WORDS, GENOTYPE] if loaded is not None else [WORDS, GENOTYPE]
        mode = st.segmented_control(
            f"How do you know the {role}'s coat?",
            modes,
            default=modes[0],
            required=True,
            key=f"litter_{role}_mode",
        )
        words, genotype = EXAMPLES[role]
        coat: str | CoatForm | None = None
        genotype_text = ""
        if mode == PHOTO and loaded is not None:
            coat = photo_form(role, loaded, max_upload_mb=max_upload_mb, max_bytes=max_bytes)
        elif mode == WORDS:
            coat = st.text_input(
                "Coat in breeder words",
                placeholder=f"e.g. {words}",
                key=f"litter_{role}_words",
                help="Colour, tabby and its pattern, white, points; add 'carries chocolate' "
                "or 'clear of dilute' after a comma.",
            ).strip()
        else:
            genotype_text = st.text_input(
                "Genotype",
                placeholder=f"e.g. {genotype}",
                key=f"litter_{role}_genotype",
                help="One locus after the other; '-' is an unknown second allele (B- is BB, "
                "Bb or B b^l).",
            ).strip()
        carries = st.multiselect(
            "Known to carry",
            CARRIER_CHOICES,
            key=f"litter_{role}_carries",
            placeholder="nothing known",
        )
        with st.expander("DNA test results"):
            lab_results = {
                allele: st.segmented_control(
                    allele.capitalize(),
                    LAB_CHOICES,
                    default=LAB_CHOICES[0],
                    required=True,
                    key=f"litter_{role}_lab_{allele}",
                )
                for allele in CARRIER_CHOICES
            }
    if not coat and not genotype_text:
        return None
    return ParentSpec(
        coat=coat or None,
        genotype=genotype_text or None,
        lab_results=lab_results,
        carries=tuple(carries),
    )


def photo_form(
    role: str, loaded: LoadedModel, *, max_upload_mb: int, max_bytes: int
) -> CoatForm | None:
    """The photo uploader and the form its prediction fills; None before a photo is read."""
    upload = st.file_uploader(
        f"Photo of the {role}",
        type=UPLOAD_TYPES,
        key=f"litter_{role}_upload",
        max_upload_size=max_upload_mb,
        help="The model reads the coat; you can change every value. The photo is not kept.",
    )
    read_key, photo_key, error_key = (f"litter_{role}_{k}" for k in ("read", "photo", "error"))
    if upload is None:  # the photo was removed: so is what it filled in
        for name in (read_key, photo_key, error_key):
            st.session_state.pop(name, None)
    elif st.session_state.get(read_key) != upload.file_id:
        st.session_state[read_key] = upload.file_id
        st.session_state.pop(error_key, None)
        try:
            with st.spinner(f"Looking at the {role}…"):
                photo = read_parent_photo(
                    loaded, upload.getvalue(), upload.name, role, max_bytes=max_bytes
                )
        except UserError as err:
            st.session_state[error_key] = str(err)  # the form keeps its values
        else:
            st.session_state[photo_key] = photo
            for name in CHOICES:
                st.session_state[f"litter_{role}_{name}"] = getattr(photo.form, name)
    if upload is not None and error_key in st.session_state:
        st.error(st.session_state[error_key], icon=":material/error:")
    photo = st.session_state.get(photo_key)
    if photo is None:
        return None
    picture, fields = st.columns([1, 2], gap="small")
    picture.image(photo.thumbnail, width="stretch")
    if photo.not_sure:
        picture.caption(f"Not sure from the photo: {', '.join(photo.not_sure).lower()}")
    chosen = {}
    for name, options in CHOICES.items():
        chosen[name] = fields.selectbox(
            TITLES[name], options, key=f"litter_{role}_{name}", help=HELP[name]
        )
    return CoatForm.from_choices(chosen)


def show_plan(plan: LitterPlan, *, with_ems: bool) -> None:
    """The kitten tables by sex, the chart, and how to read them."""
    sire, dam = plan.sire.coat or "sire", plan.dam.coat or "dam"
    st.subheader(f"Kittens of a {sire} sire and a {dam} dam", anchor=False)
    st.caption(f"Sire: {plan.sire.genotype or '—'} · Dam: {plan.dam.genotype or '—'}")
    frame = litter_frame(plan)
    columns = ["kitten", "probability", *(["ems"] if with_ems else []), "genotype"]  # odds first
    config = {
        "kitten": st.column_config.TextColumn("Kitten", width="medium"),
        "ems": st.column_config.TextColumn("EMS", width="small"),
        "genotype": st.column_config.TextColumn("Genotype", width="medium"),
        "probability": st.column_config.ProgressColumn(
            "Odds", min_value=0.0, max_value=1.0, format="percent", width="small"
        ),
    }
    for sex in SEXES:  # one above the other: the page is too narrow for two tables abreast
        rows = frame.loc[frame["sex"] == sex, columns]
        st.markdown(f"**{SEX_TITLES[sex]}** · {len(rows)} coats, likeliest first")
        st.dataframe(
            rows,
            hide_index=True,
            column_config=config,
            height=min(38 + 35 * len(rows), 390),
            key=f"litter_table_{sex}",
        )
    st.altair_chart(litter_chart(plan), width="content")
    st.caption(plan.assumption)
    for note in plan.notes:
        st.info(note, icon=":material/lightbulb:")
    with st.container(border=True):
        st.markdown("**Not predicted**")
        st.markdown("\n".join(f"- {item}" for item in plan.not_predicted))
