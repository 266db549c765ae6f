"""Small wording helpers shared by services and pages."""

from __future__ import annotations


def plural(count: int, noun: str) -> str:
    """ "1 model", "2 models", "12,000 training images"."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def value_text(value: object) -> str:
    """A trait value as people read it: yes/no for booleans, the value otherwise."""
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value)
