"""The litter plan as a sortable DataFrame and an Altair bar chart by sex (no Streamlit)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import altair as alt
import pandas as pd

from core.charts import MUTED, PRIMARY, _title
from core.litter.loci import SEXES

if TYPE_CHECKING:
    from core.services.litter import LitterPlan

SEX_COLOURS = {"male": "#4f8fd6", "female": PRIMARY}
COLUMNS = ["sex", "kitten", "colour", "ems", "genotype", "probability"]
OTHERS = "other coats"


def litter_frame(plan: LitterPlan) -> pd.DataFrame:
    """One row per kitten coat and sex: sex, kitten, colour, ems, genotype, probability."""
    return pd.DataFrame(
        [
            (row.sex, row.name, row.colour, row.ems, row.genotype, row.probability)
            for row in plan.rows
        ],
        columns=COLUMNS,
    )


def litter_chart(plan: LitterPlan, *, top: int = 10, width: int = 180) -> alt.FacetChart:
    """Bars of the likeliest kitten coats per sex; the rest of each sex in one grey bar.

    Narrow enough for a phone: labels up to 150 px, bars `width` px, each sex's name above it.
    """
    frame = litter_frame(plan)
    parts = []
    for sex in SEXES:
        rows = frame[frame["sex"] == sex].sort_values("probability", ascending=False)
        shown = rows.head(top).assign(is_other=False, rank=range(min(top, len(rows))))
        rest = rows.iloc[top:]
        if len(rest):
            other = {
                "sex": sex,
                "kitten": f"{OTHERS} ({len(rest)})",
                "colour": "",
                "ems": "",
                "genotype": "",
                "probability": rest["probability"].sum(),
                "is_other": True,
                "rank": top,  # last, whatever its size
            }
            shown = pd.concat([shown, pd.DataFrame([other])], ignore_index=True)
        parts.append(shown)
    data = pd.concat(parts, ignore_index=True)
    data["bar"] = data.apply(lambda row: "other" if row["is_other"] else row["sex"], axis=1)
    colours = alt.Scale(
        domain=[*SEXES, "other"], range=[SEX_COLOURS["male"], SEX_COLOURS["female"], MUTED]
    )
    most_rows = int(data.groupby("sex").size().max())
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y(
                "kitten:N",
                title=None,
                sort=alt.SortField("rank"),
                axis=alt.Axis(labelLimit=150),
            ),
            x=alt.X(
                "probability:Q",
                title="Share of the kittens of that sex",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            color=alt.Color("bar:N", scale=colours, legend=None),
            tooltip=[
                alt.Tooltip("sex:N", title="Sex"),
                alt.Tooltip("kitten:N", title="Kitten"),
                alt.Tooltip("ems:N", title="EMS"),
                alt.Tooltip("genotype:N", title="Genotype"),
                alt.Tooltip("probability:Q", title="Probability", format=".1%"),
            ],
        )
        .properties(height=22 * most_rows, width=width)
    )
    header = alt.Header(
        labelOrient="top",
        labelAnchor="start",
        labelFontWeight="bold",
        labelExpr="upper(slice(datum.value, 0, 1)) + slice(datum.value, 1) + ' kittens'",
    )
    return (
        bars.facet(row=alt.Row("sex:N", title=None, sort=list(SEXES), header=header))
        .resolve_scale(y="independent")
        .properties(
            title=_title(
                "Kittens to expect",
                f"{plan.sire.coat or 'sire'} x {plan.dam.coat or 'dam'}.",
                "Each sex sums to 100%.",
            )
        )
    )
