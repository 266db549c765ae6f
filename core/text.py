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


YES_WORDS = ("true", "yes", "y", "on", "1")
NO_WORDS = ("false", "no", "n", "off", "0")


def parse_yes_no(raw: object) -> bool | None:
    """True or False for a yes/no word in any case ("yes", "on", "1", "n" ...), None otherwise."""
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in YES_WORDS:
        return True
    if text in NO_WORDS:
        return False
    return None
