"""Byte counts as people read them, for messages."""

import math

MEBIBYTE = 1024 * 1024
_UNITS = ((1024 * MEBIBYTE, "GB"), (MEBIBYTE, "MB"), (1024, "KB"))


def size_text(num_bytes: float, *, round_up: bool = False, min_unit: str = "bytes") -> str:
    """A byte count for messages: "20 MB", "2 GB", "512 KB" ("0.0977 KB" with min_unit="KB").

    round_up (to one decimal) so that a size over a limit never reads as the limit itself.
    """
    for unit, name in _UNITS:
        if num_bytes >= unit or name == min_unit:
            if round_up:
                return f"{math.ceil(num_bytes * 10 / unit) / 10:g} {name}"
            return f"{num_bytes / unit:.3g} {name}"
    return f"{int(num_bytes)} bytes"
