"""Checks shared by the filter forms of the console's grids."""

from __future__ import annotations

from datetime import date

from core.errors import UserError


def check_date_range(start: date | None, end: date | None) -> None:
    """Refuse a date range whose start is after its end."""
    if start and end and start > end:
        raise UserError(
            f"The start date {start.isoformat()} is after the end date "
            f"{end.isoformat()}; pick a start on or before the end."
        )
