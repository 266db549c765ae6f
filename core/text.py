"""Small wording helpers shared by services and pages."""

from __future__ import annotations

import re


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


_INLINE_MARKUP = re.compile(r"[\\`*\[\]<>~$&]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])|:(?=//)")
_LINE_START_MARKUP = "#>+-=|"
_ORDERED_LIST_START = re.compile(r"^(\d+)([.)])")


def escape_markdown(text: object) -> str:
    """Text that Streamlit's markdown shows literally: no emphasis, link, image, HTML or maths.

    For whatever a person or the web supplied (file names, web titles, labels, messages that
    quote them), shown by st.markdown, st.caption, st.error and the like. Underscores inside
    words (MAX_UPLOAD_MB) cannot start emphasis and are left alone.
    """
    flat = str(text).replace("\r", " ").replace("\n", " ")  # no headings, lists or code blocks
    escaped = _INLINE_MARKUP.sub(lambda match: "\\" + match.group(0), flat)
    escaped = _ORDERED_LIST_START.sub(r"\1\\\2", escaped)
    return "\\" + escaped if escaped[:1] in _LINE_START_MARKUP and escaped else escaped
