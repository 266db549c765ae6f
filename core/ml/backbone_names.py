"""Backbone names and the image sizes each takes, without Keras: forms and the command line check
them before TensorFlow loads (a mistyped `jobs.train --backbone` is refused in a second)."""

from __future__ import annotations

from core.errors import UserError, unknown_choice

BACKBONES = ("mobilenet_v2", "efficientnet_b0", "xception", "small_cnn")
MIN_IMAGE_SIZE = {"mobilenet_v2": 32, "efficientnet_b0": 32, "xception": 71, "small_cnn": 32}


def check_backbone_name(name: str) -> None:
    """Raise UserError unless name is one of BACKBONES."""
    if name not in BACKBONES:
        raise unknown_choice(f"Backbone {name!r}", BACKBONES)


def check_image_size(name: str, image_size: int) -> None:
    """Raise UserError when the backbone cannot take images this small (or large)."""
    smallest = MIN_IMAGE_SIZE[name]
    if not smallest <= image_size <= 1024:
        raise UserError(
            f"Image size {image_size!r} does not suit backbone {name}; "
            f"use {smallest} to 1024 pixels."
        )
