"""The one clock: now in UTC, stored moments read back as aware UTC datetimes, date ranges."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from core.errors import UserError


def utcnow() -> datetime:
    """Now, as an aware UTC datetime."""
    return datetime.now(UTC)


def as_datetime(value: Any) -> datetime | None:
    """A stored moment as an aware UTC datetime, or None when there is none or it is not one.

    nx-27017 stores a datetime given to `$set` as text ("2026-11-29 13:35:18.139000", UTC),
    where MongoDB keeps a date; every timestamp that an update sets is read through this.
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def check_date_range(start: date | None, end: date | None) -> None:
    """Refuse a date range whose start is after its end."""
    if start and end and start > end:
        raise UserError(
            f"The start date {start.isoformat()} is after the end date "
            f"{end.isoformat()}; pick a start on or before the end."
        )
