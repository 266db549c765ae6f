"""The one clock: now in UTC, and stored moments read back as aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


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
