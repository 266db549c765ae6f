"""What the dashboards are filtered by, and how trait values read in them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement

from core.clock import check_date_range
from core.db.warehouse.counts import REVIEW_STATUSES
from core.db.warehouse.schema import Warehouse, date_id
from core.errors import UserError, unknown_choice
from core.labels import Trait

YES, NO = "yes", "no"
UNLABELLED = "unlabelled"


@dataclass(frozen=True)
class ReportFilter:
    """What the dashboards show: a date range, a trait value, a source, a review status."""

    start: date | None = None
    end: date | None = None
    trait: str | None = None
    value: bool | str | None = None
    source: str | None = None
    user_status: str | None = None
    admin_status: str | None = None

    def checked(self, warehouse: Warehouse) -> ReportFilter:
        """This filter with its value parsed for the trait, or a UserError saying what is wrong."""
        check_date_range(self.start, self.end)
        for who, status in (("user", self.user_status), ("admin", self.admin_status)):
            if status is not None and status not in REVIEW_STATUSES:
                raise unknown_choice(f"The {who} review status {status!r}", REVIEW_STATUSES)
        if self.value is not None and self.trait is None:
            raise UserError(f"The value {self.value!r} needs a trait; pick a trait first.")
        if self.trait is None or self.value is None:
            return self
        trait = warehouse.schema.trait(self.trait)
        return replace(self, value=trait.parse(self.value))


def value_text(trait: Trait, value: Any) -> str | None:
    """How a trait value reads in charts and tables: booleans as yes/no."""
    if value is None:
        return None
    if trait.is_boolean:
        return YES if value else NO
    return str(value)


def trait_values(trait: Trait, found: list[Any] | None = None) -> list[str]:
    """Every value a trait can take, in the schema's order (open traits: those found)."""
    if trait.is_boolean:
        return [YES, NO]
    values = list(trait.values)
    extra = sorted({str(v) for v in found or [] if v is not None and str(v) not in values})
    return values + extra


def date_range(column: Any, report: ReportFilter) -> list[ColumnElement[bool]]:
    """Conditions keeping a day-id column within the filter's dates."""
    conditions = []
    if report.start:
        conditions.append(column >= date_id(report.start))
    if report.end:
        conditions.append(column <= date_id(report.end))
    return conditions


def label_conditions(
    warehouse: Warehouse, report: ReportFilter, *, skip_traits: tuple[str, ...] = ()
) -> list[ColumnElement[bool]]:
    """The condition on dim_label that the filter's trait value asks for (none without one)."""
    if report.trait is None or report.value is None or report.trait in skip_traits:
        return []
    return [warehouse.dim_label.c[report.trait] == report.value]
