"""Cat phenotype labels the tests store, filter by and expect back."""

from __future__ import annotations

BLUE = {"is_cat": True, "colour": "blue", "is_tabby": False, "pattern": "self", "is_pointed": False}
RED_TABBY = {
    "is_cat": True,
    "colour": "red",
    "is_tabby": True,
    "pattern": "van",
    "is_pointed": False,
}
NOT_CAT = {"is_cat": False}
CREAM_POINTED = {
    "is_cat": True,
    "colour": "cream",
    "is_tabby": False,
    "pattern": "bicolour",
    "is_pointed": True,
}
