"""Byte counts as people read them, for messages."""

MEBIBYTE = 1024 * 1024


def size_text(num_bytes: float) -> str:
    """A byte count for messages: "20 MB", "2 GB", "512 KB"."""
    for unit, name in ((1024 * MEBIBYTE, "GB"), (MEBIBYTE, "MB"), (1024, "KB")):
        if num_bytes >= unit:
            return f"{num_bytes / unit:.3g} {name}"
    return f"{int(num_bytes)} bytes"
