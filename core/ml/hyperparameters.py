"""Hyper-parameters of a training run, validated with messages people can act on."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from core.config import RESIZE_MODES
from core.errors import UserError, unknown_choice
from core.ml.backbone_names import BACKBONES, check_backbone_name, check_image_size
from core.text import parse_yes_no

_WHOLE_RANGES = {
    "epochs": (1, 1000),
    "batch_size": (1, 1024),
    "image_size": (32, 1024),
    "patience": (1, 100),
    "seed": (0, 2**31 - 1),
    "fine_tune_layers": (0, 500),
    "fine_tune_epochs": (1, 1000),
}
_NUMBER_RANGES = {"learning_rate": (1e-6, 1.0), "validation_share": (0.05, 0.5)}
# "epoch limit", not "epochs": an input labelled "Epochs" must stay the only one whose name
# contains that word (the browser test finds inputs by a part of their label)
_TITLES = {"fine_tune_layers": "Fine-tune layers", "fine_tune_epochs": "Fine-tune epoch limit"}
PRETRAINED_BACKBONES = tuple(name for name in BACKBONES if name != "small_cnn")
BACKBONE_HELP = {
    "mobilenet_v2": "MobileNetV2 with ImageNet weights: fast and accurate.",
    "efficientnet_b0": "EfficientNet-B0 with ImageNet weights: a little more accurate, slower.",
    "xception": "Xception with ImageNet weights: slowest, needs 71+ px.",
    "small_cnn": "A small network trained from scratch: no download needed, for demos and tests.",
}


@dataclass
class HyperParameters:
    """Settings of one training run."""

    backbone: str = "mobilenet_v2"
    epochs: int = 30
    batch_size: int = 32
    learning_rate: float = 3e-3  # the start of a cosine decay when training end to end
    image_size: int = 160  # tabby stripes on van and small cats need the pixels (issue 14)
    validation_share: float = 0.2
    patience: int = 5  # epochs without a better weakest trait before stopping early
    augment: bool = True
    seed: int = 0
    resize_mode: str = "pad"
    fine_tune_layers: int = 0  # top backbone layers trained after the heads; 0 = off
    fine_tune_epochs: int = 5

    def validate(self) -> HyperParameters:
        """Return self, or raise UserError naming the bad value and what is allowed."""
        check_backbone_name(self.backbone)
        for name, (low, high) in _WHOLE_RANGES.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise UserError(
                    f"{title(name)} {value!r} is not allowed; use a whole number from {low} "
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
                    f"{title(name)} {value!r} is not allowed; use a number from {low:g} "
                    f"to {high:g}."
                )
        if not isinstance(self.augment, bool):
            raise UserError(f"Augment {self.augment!r} is not allowed; use true or false.")
        if self.resize_mode not in RESIZE_MODES:
            raise unknown_choice(f"Resize mode {self.resize_mode!r}", RESIZE_MODES)
        check_image_size(self.backbone, self.image_size)
        if self.fine_tune_layers and self.backbone not in PRETRAINED_BACKBONES:
            raise UserError(
                f"Fine-tune layers {self.fine_tune_layers!r} needs a pretrained backbone and "
                f"{self.backbone} has no pretrained weights; set fine-tune layers to 0 or choose "
                f"{', '.join(PRETRAINED_BACKBONES)}."
            )
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


def title(name: str) -> str:
    """A field's name as people read it: "Fine-tune layers", "Batch size"."""
    return _TITLES.get(name) or name.replace("_", " ").capitalize()


# What augmentation does to a training photo, in order: the layers of
# core.ml.model_builder.build_augmentation are made from this, and the help text is read from it.
AUGMENTATION = (("flip", "horizontal"), ("contrast", 0.15), ("brightness", 0.1))


def augmentation_text() -> str:
    """What augmentation does to training photos, in words."""
    steps = []
    for kind, value in AUGMENTATION:
        if kind == "flip":
            steps.append("flipped" + (" left to right" if value == "horizontal" else ""))
        else:
            steps.append(f"changed in {kind} by up to {value:.0%}")
    listed = f"{', '.join(steps[:-1])} and {steps[-1]}" if len(steps) > 1 else steps[0]
    return f"Training photos are randomly {listed}"


def help_texts(defaults: HyperParameters) -> dict[str, str]:
    """What each setting does, for the Training page and `jobs.train --help`."""
    return {
        "backbone": "The network that turns a photo into features. "
        + " ".join(BACKBONE_HELP.values()),
        "epochs": "At most this many passes over the training images; training stops earlier "
        "when the weakest trait has not improved for 'patience' epochs.",
        "batch_size": "Images per training step. Larger batches train faster per epoch but need "
        "more memory; 16-64 suits a laptop.",
        "learning_rate": f"How big each training step is (Adam). {defaults.learning_rate:g} is a "
        "good start; lower it if the loss jumps around, raise it if it falls very slowly.",
        "image_size": "Photos are resized (without stretching) to this many pixels square. "
        "Larger sees more detail but trains slower; 128-224 for pretrained backbones.",
        "validation_share": "Share of the labelled images kept aside to measure the model; they "
        "are never trained on. Every kind of label keeps at least one image there.",
        "patience": "Stop early after this many epochs without a better validation accuracy "
        "of the weakest trait; the best epoch's weights are kept. A network trained from "
        "scratch (small_cnn) never stops in the first two thirds of its epochs.",
        "augment": f"{augmentation_text()}, so the model does not learn them by heart.",
        "seed": "Fixes the random split and starting weights, so a run can be repeated.",
        "resize_mode": "pad: fit the whole photo and pad the rest; crop: fill the square and cut "
        "the edges.",
        "fine_tune_layers": "Pretrained backbones only "
        f"({', '.join(PRETRAINED_BACKBONES)}): after the heads have converged, also train the "
        "top this many backbone layers, at a tenth of the learning rate; 0 turns it off. "
        "small_cnn has no pretrained weights and always trains end to end.",
        "fine_tune_epochs": "At most this many epochs of fine-tuning (when fine-tune layers is "
        "above 0); it stops earlier like the first stage.",
    }


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
        raise UserError(f"{title(name)} {raw!r} is not {expected}; enter {expected}.") from None
    if kind == "bool":
        flag = parse_yes_no(text)
        if flag is not None:
            return flag
        raise UserError(f"{title(name)} {raw!r} is not yes or no; use true or false.")
    return text
