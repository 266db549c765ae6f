"""Made-up images unlike any training photo: noise, textures, documents and odd scenes."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

KINDS = ("noise", "texture", "document", "shapes", "gradient")
_WORDS = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "lazy",
    "dog",
    "invoice",
    "total",
    "page",
    "report",
    "table",
    "2026",
    "sum",
]


def _noise(rng: np.random.Generator, size: int) -> Image.Image:
    if rng.random() < 0.5:
        pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        return Image.fromarray(pixels)
    small = rng.integers(0, 256, (max(2, size // 8), max(2, size // 8), 3), dtype=np.uint8)
    return Image.fromarray(small).resize((size, size), Image.Resampling.BICUBIC)


def _texture(rng: np.random.Generator, size: int) -> Image.Image:
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    angle = rng.uniform(0, np.pi)
    period = rng.uniform(3, size / 4)
    wave = np.sin((x * np.cos(angle) + y * np.sin(angle)) * 2 * np.pi / period)
    if rng.random() < 0.5:  # a checkerboard or grid
        wave = wave * np.sin((x * np.sin(angle) - y * np.cos(angle)) * 2 * np.pi / period)
    a, b = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    t = (wave[..., None] + 1) / 2
    return Image.fromarray((a * t + b * (1 - t)).astype(np.uint8))


def _document(rng: np.random.Generator, size: int) -> Image.Image:
    paper = tuple(int(v) for v in rng.integers(225, 256, 3))
    image = Image.new("RGB", (size, size), paper)
    draw = ImageDraw.Draw(image)
    ink = tuple(int(v) for v in rng.integers(0, 60, 3))
    line = 8 + int(rng.integers(0, 6))
    for top in range(int(rng.integers(2, 10)), size - line, line):
        words = " ".join(rng.choice(_WORDS, int(rng.integers(3, 9))))
        draw.text((int(rng.integers(2, 10)), top), words, fill=ink)
    if rng.random() < 0.5:  # a table's rules
        for left in range(0, size, size // int(rng.integers(2, 5))):
            draw.line([(left, 0), (left, size)], fill=ink)
    return image


def _shapes(rng: np.random.Generator, size: int) -> Image.Image:
    colour = tuple(int(v) for v in rng.integers(0, 256, 3))
    image = Image.new("RGB", (size, size), colour)
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(3, 12))):
        box = sorted(rng.integers(0, size, 2).tolist()), sorted(rng.integers(0, size, 2).tolist())
        xy = [box[0][0], box[1][0], box[0][1] + 1, box[1][1] + 1]
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse(xy, fill=fill)
        else:
            draw.rectangle(xy, fill=fill)
    return image


def _gradient(rng: np.random.Generator, size: int) -> Image.Image:
    t = np.linspace(0, 1, size)[None, :, None]
    if rng.random() < 0.5:
        t = t.transpose(1, 0, 2)
    a, b = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    pixels = np.broadcast_to(a * (1 - t) + b * t, (size, size, 3)).astype(np.uint8)
    image = Image.fromarray(pixels)
    return image.filter(ImageFilter.GaussianBlur(1)) if rng.random() < 0.5 else image


_MAKERS = {
    "noise": _noise,
    "texture": _texture,
    "document": _document,
    "shapes": _shapes,
    "gradient": _gradient,
}


def unfamiliar_images(count: int, size: int, *, seed: int = 0) -> np.ndarray:
    """count images (N x size x size x 3, uint8) cycling through KINDS."""
    rng = np.random.default_rng(seed)
    images = [np.asarray(_MAKERS[KINDS[index % len(KINDS)]](rng, size)) for index in range(count)]
    return np.stack(images).astype(np.uint8) if images else np.zeros((0, size, size, 3), np.uint8)
