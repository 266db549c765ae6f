"""Dashboard queries over the predictions' reviews: statuses per day and accepted rates."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, Engine, func, select

from core.db.warehouse.frames import day_of, dimension_names, label_ids, latest_day_id, typed_frame
from core.db.warehouse.report_filter import (
    ReportFilter,
    date_range,
    label_conditions,
    trait_values,
    value_text,
)
from core.db.warehouse.schema import Warehouse

RATE_TYPES = {
    "value": "str",
    "reviewer": "str",
    "accepted": "int64",
    "rejected": "int64",
    "reviewed": "int64",
    "rate": "float64",
    "is_selected": "bool",
}


def _status_conditions(report: ReportFilter, user: Any, admin: Any) -> list[ColumnElement[bool]]:
    conditions = []
    if report.user_status:
        conditions.append(user.c.status == report.user_status)
    if report.admin_status:
        conditions.append(admin.c.status == report.admin_status)
    return conditions


def predictions_by_review(
    engine: Engine, warehouse: Warehouse, report: ReportFilter
) -> pd.DataFrame:
    """Predictions per snapshot day by review status, for the users and for the admins.

    Columns: date, reviewer ("user"/"admin"), status, predictions. One scan grouped on the
    fact table's keys; the two views and the status names are made in Python.
    """
    fact = warehouse.fact_predictions
    statuses = dimension_names(engine, warehouse.dim_prediction_review_status, "status")
    conditions = [*date_range(fact.c.date_id, report)]
    for column, wanted in (
        (fact.c.user_review_status_id, report.user_status),
        (fact.c.admin_review_status_id, report.admin_status),
    ):
        if wanted:
            conditions.append(column.in_([i for i, name in statuses.items() if name == wanted]))
    wanted = label_ids(engine, warehouse, report, is_unlabelled=None)
    if wanted is not None:
        conditions.append(fact.c.label_id.in_(wanted))
    query = (
        select(
            fact.c.date_id,
            fact.c.user_review_status_id,
            fact.c.admin_review_status_id,
            func.sum(fact.c.count),
        )
        .where(*conditions)
        .group_by(fact.c.date_id, fact.c.user_review_status_id, fact.c.admin_review_status_id)
    )
    totals: dict[tuple[int, str, str], int] = {}
    with engine.connect() as connection:
        for day_id, user_id, admin_id, n in connection.execute(query).all():
            for reviewer, status_id in (("user", user_id), ("admin", admin_id)):
                key = (day_id, reviewer, statuses[status_id])
                totals[key] = totals.get(key, 0) + int(n)
    records = [
        (day_of(day_id), reviewer, status, n) for (day_id, reviewer, status), n in totals.items()
    ]
    frame = pd.DataFrame(records, columns=["date", "reviewer", "status", "predictions"])
    frame = frame.sort_values(["date", "reviewer", "status"], ignore_index=True)
    types = {"date": "datetime", "reviewer": "str", "status": "str", "predictions": "int64"}
    return typed_frame(frame, types)


def accepted_rate(
    engine: Engine, warehouse: Warehouse, report: ReportFilter, trait_name: str
) -> pd.DataFrame:
    """How often users and admins accepted the predictions of each value of a trait.

    On the last snapshot day in range. Columns: value, reviewer, accepted, rejected,
    reviewed, rate (accepted / reviewed; None when none was reviewed), is_selected.
    """
    trait = warehouse.schema.trait(trait_name)
    columns = ["value", "reviewer", "accepted", "rejected", "reviewed", "rate", "is_selected"]
    day_id = latest_day_id(engine, warehouse, report)
    if day_id is None:
        return typed_frame(pd.DataFrame(columns=columns), RATE_TYPES)
    fact, label = warehouse.fact_predictions, warehouse.dim_label
    user = warehouse.dim_prediction_review_status.alias("user_status")
    admin = warehouse.dim_prediction_review_status.alias("admin_status")
    query = (
        select(label.c[trait.name], user.c.status, admin.c.status, func.sum(fact.c.count))
        .join(label, label.c.id == fact.c.label_id)
        .join(user, user.c.id == fact.c.user_review_status_id)
        .join(admin, admin.c.id == fact.c.admin_review_status_id)
        .where(
            fact.c.date_id == day_id,
            label.c[trait.name].is_not(None),
            *label_conditions(warehouse, report, skip_traits=(trait.name,)),
            *_status_conditions(report, user, admin),
        )
        .group_by(label.c[trait.name], user.c.status, admin.c.status)
    )
    counts: dict[tuple[str, str, str], int] = {}
    with engine.connect() as connection:
        for value, user_status, admin_status, n in connection.execute(query).all():
            text = value_text(trait, value)
            for reviewer, status in (("user", user_status), ("admin", admin_status)):
                key = (text, reviewer, status)
                counts[key] = counts.get(key, 0) + int(n)
    values = trait_values(trait, [value for value, _, _ in counts])
    selected = value_text(trait, report.value) if report.trait == trait.name else None
    records = []
    for value in values:
        for reviewer in ("user", "admin"):
            accepted = counts.get((value, reviewer, "accepted"), 0)
            rejected = counts.get((value, reviewer, "rejected"), 0)
            reviewed = accepted + rejected
            rate = accepted / reviewed if reviewed else None
            records.append((value, reviewer, accepted, rejected, reviewed, rate, value == selected))
    return typed_frame(pd.DataFrame(records, columns=columns), RATE_TYPES)
