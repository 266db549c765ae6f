"""Hyper-parameters of a training run, validated with messages people can act on."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from core.config import RESIZE_MODES
from core.errors import UserError, unknown_choice
from core.ml.backbones import check_backbone_name, check_image_size
from core.text import parse_yes_no

_WHOLE_RANGES = {
    "epochs": (1, 1000),
    "batch_size": (1, 1024),
    "image_size": (32, 1024),
    "patience": (1, 100),
    "seed": (0, 2**31 - 1),
}
_NUMBER_RANGES = {"learning_rate": (1e-6, 1.0), "validation_share": (0.05, 0.5)}


@dataclass
class HyperParameters:
    """Settings of one training run."""

    backbone: str = "mobilenet_v2"
    epochs: int = 30
    batch_size: int = 32
    learning_rate: float = 3e-3  # the start of a cosine decay when training end to end
    image_size: int = 160  # tabby stripes on van and small cats need the pixels (issue 14)
    validation_share: float = 0.2
    patience: int = 5  # epochs without a better validation loss before stopping early
    augment: bool = True
    seed: int = 0
    resize_mode: str = "pad"

    def validate(self) -> HyperParameters:
        """Return self, or raise UserError naming the bad value and what is allowed."""
        check_backbone_name(self.backbone)
        for name, (low, high) in _WHOLE_RANGES.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise UserError(
                    f"{_title(name)} {value!r} is not allowed; use a whole number from {low} "
                    f"to {high}."
                )
        for name, (low, high) in _NUMBER_RANGES.items():
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or not low <= value <= high
            ):
                raise UserError(
                    f"{_title(name)} {value!r} is not allowed; use a number from {low:g} "
                    f"to {high:g}."
                )
        if not isinstance(self.augment, bool):
            raise UserError(f"Augment {self.augment!r} is not allowed; use true or false.")
        if self.resize_mode not in RESIZE_MODES:
            raise unknown_choice(f"Resize mode {self.resize_mode!r}", RESIZE_MODES)
        check_image_size(self.backbone, self.image_size)
        return self

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> HyperParameters:
        """Validated hyper-parameters from a mapping (a form, a document, the command line)."""
        types = {item.name: item.type for item in fields(cls)}
        unknown = sorted(set(data) - set(types))
        if unknown:
            raise UserError(
                f"Hyper-parameter {unknown[0]!r} is not known; use some of: {', '.join(types)}."
            )
        values = {name: _coerce(name, types[name], raw) for name, raw in data.items()}
        return cls(**values).validate()

    def to_dict(self) -> dict[str, Any]:
        """The settings as a plain dict (stored with the training run and the model)."""
        return asdict(self)


def _title(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _coerce(name: str, kind: str, raw: Any) -> Any:
    """A form value as the field's type; validate() judges the range."""
    if not isinstance(raw, str):
        if kind == "int" and isinstance(raw, float) and raw.is_integer():
            return int(raw)
        return raw
    text = raw.strip()
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
    except ValueError:
        expected = "a whole number" if kind == "int" else "a number"
        raise UserError(f"{_title(name)} {raw!r} is not {expected}; enter {expected}.") from None
    if kind == "bool":
        flag = parse_yes_no(text)
        if flag is not None:
            return flag
        raise UserError(f"{_title(name)} {raw!r} is not yes or no; use true or false.")
    return text
