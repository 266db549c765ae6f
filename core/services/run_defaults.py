"""A new training run's defaults: HyperParameters' own, with the configured backbone and resize."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from core.config import Settings

if TYPE_CHECKING:
    from core.ml.hyperparameters import HyperParameters


def run_defaults(settings: Settings) -> HyperParameters:
    """What a run uses for anything not chosen: BACKBONE and RESIZE_MODE, else HyperParameters."""
    from core.ml.hyperparameters import HyperParameters  # keeps Keras out of light imports

    return replace(HyperParameters(), backbone=settings.backbone, resize_mode=settings.resize_mode)
