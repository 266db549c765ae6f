"""Drawing primitives shared by the demo cats, dogs and scenes: the pen, masks, backgrounds.

Subjects are drawn in local units (a cat's body is one unit long) by a ``Pen`` that places them
in the frame; masks are drawn supersampled for smooth edges.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

Rng = np.random.Generator
Point = tuple[float, float]
Shape = tuple[Any, ...]  # ("ellipse", x, y, rx, ry, angle) | ("capsule", p, q, width)
# | ("path", points, width) | ("poly", points), all in local units
Array = np.ndarray
RGB = tuple[int, int, int]

SUPERSAMPLE = 2


def ellipse_points(x: float, y: float, rx: float, ry: float, angle: float = 0.0) -> list[Point]:
    """Polygon points of a rotated ellipse."""
    ca, sa = math.cos(angle), math.sin(angle)
    pts = []
    for t in np.linspace(0, 2 * math.pi, 40, endpoint=False):
        ex, ey = rx * math.cos(t), ry * math.sin(t)
        pts.append((x + ex * ca - ey * sa, y + ex * sa + ey * ca))
    return pts


def bezier(points: list[Point], n: int = 24) -> list[Point]:
    """Points along a Bezier curve with these control points."""
    out = []
    for t in np.linspace(0, 1, n):
        pts = list(points)
        while len(pts) > 1:
            pts = [
                (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t)
                for a, b in zip(pts, pts[1:], strict=False)
            ]
        out.append(pts[0])
    return out


def shape_points(shape: Shape) -> list[Point]:
    """Points that bound a shape (for the subject's bounding box)."""
    kind = shape[0]
    if kind == "ellipse":
        return ellipse_points(*shape[1:])
    if kind == "poly":
        return list(shape[1])
    pts, width = ([shape[1], shape[2]], shape[3]) if kind == "capsule" else (shape[1], shape[2])
    half = width / 2
    return [(x + dx, y + dy) for x, y in pts for dx, dy in ((-half, -half), (half, half))]


@dataclass(frozen=True)
class Pen:
    """Maps local units of a subject to pixels and draws shapes into antialiased masks."""

    cx: float
    cy: float
    unit: float  # pixels per local unit
    facing: int  # 1 faces right, -1 left
    size: tuple[int, int]

    def px(self, x: float, y: float, scale: int = 1) -> Point:
        """Pixel position of a local point (times scale for supersampled canvases)."""
        return ((self.cx + self.facing * x * self.unit) * scale, (self.cy + y * self.unit) * scale)

    def draw(self, draw: ImageDraw.ImageDraw, shape: Shape, fill: Any = 255) -> None:
        """Draw one shape on a canvas SUPERSAMPLE times the image size."""
        s, kind = SUPERSAMPLE, shape[0]
        if kind in ("ellipse", "poly"):
            pts = ellipse_points(*shape[1:]) if kind == "ellipse" else shape[1]
            draw.polygon([self.px(x, y, s) for x, y in pts], fill=fill)
            return
        pts, width = ([shape[1], shape[2]], shape[3]) if kind == "capsule" else (shape[1], shape[2])
        wpx = max(1.0, width * self.unit * s)
        draw.line([self.px(x, y, s) for x, y in pts], fill=fill, width=round(wpx), joint="curve")
        for x, y in (pts[0], pts[-1]):
            cx, cy = self.px(x, y, s)
            draw.ellipse([cx - wpx / 2, cy - wpx / 2, cx + wpx / 2, cy + wpx / 2], fill=fill)

    def mask(self, shapes: Iterable[Shape]) -> Array:
        """Coverage (0..1, float32, image size) of the union of these shapes."""
        w, h = self.size
        canvas = Image.new("L", (w * SUPERSAMPLE, h * SUPERSAMPLE), 0)
        draw = ImageDraw.Draw(canvas)
        for shape in shapes:
            self.draw(draw, shape)
        small = canvas.resize((w, h), Image.Resampling.BOX)
        return np.asarray(small, dtype=np.float32) / 255.0

    def overlay(self, items: Iterable[tuple[Shape, tuple[int, ...]]]) -> tuple[Array, Array]:
        """Colour (RGB) and alpha of shapes painted in order, e.g. eyes and noses."""
        w, h = self.size
        canvas = Image.new("RGBA", (w * SUPERSAMPLE, h * SUPERSAMPLE), (0, 0, 0, 0))
        draw = ImageDraw.Draw(canvas)
        for shape, colour in items:
            self.draw(draw, shape, fill=tuple(colour) + (255,) * (4 - len(colour)))
        small = np.asarray(canvas.resize((w, h), Image.Resampling.BOX), dtype=np.float32)
        alpha = small[..., 3] / 255.0
        rgb = small[..., :3] / np.maximum(alpha, 1e-3)[..., None]  # un-premultiply edges
        return np.clip(rgb, 0, 255), alpha


def place(rng: Rng, outline: list[Shape], size: tuple[int, int]) -> Pen:
    """A pen that puts the subject at a random scale (0.5-0.9 of the frame), spot and facing."""
    pts = [p for shape in outline for p in shape_points(shape)]
    x0, y0 = min(p[0] for p in pts), min(p[1] for p in pts)
    x1, y1 = max(p[0] for p in pts), max(p[1] for p in pts)
    w, h = size
    unit = rng.uniform(0.5, 0.9) * min(w / (x1 - x0), h / (y1 - y0))
    facing = 1 if rng.random() < 0.5 else -1
    left = rng.uniform(0, w - (x1 - x0) * unit)
    top = (h - (y1 - y0) * unit) * rng.uniform(0.2, 1.0)
    cx = left - x0 * unit if facing == 1 else left + x1 * unit
    return Pen(cx, top - y0 * unit, unit, facing, size)


def blur(mask: Array, radius: float) -> Array:
    """A gaussian-blurred copy of a 0..1 mask."""
    if radius < 0.3:
        return mask
    img = Image.fromarray(np.uint8(np.clip(mask, 0, 1) * 255))
    return np.asarray(img.filter(ImageFilter.GaussianBlur(float(radius))), dtype=np.float32) / 255.0


def mix(a: Array, b: Array, t: Array | float) -> Array:
    """a where t is 0, b where t is 1 (t is a mask or a number)."""
    t = t[..., None] if isinstance(t, np.ndarray) and t.ndim == 2 else t
    return a * (1 - t) + b * t


def shade(rgb: Array, silhouette: Array, pen: Pen) -> Array:
    """Give a flat subject volume: darker rim and a light-from-above gradient."""
    inner = blur(silhouette, max(1.0, 0.05 * pen.unit))
    rim = 0.8 + 0.2 * np.clip((inner - 0.5) * 2.5, 0, 1)
    rows = np.nonzero(silhouette.max(axis=1) > 0.5)[0]
    top, bottom = (rows[0], rows[-1]) if len(rows) else (0, silhouette.shape[0])
    y = np.clip((np.arange(silhouette.shape[0]) - top) / max(1, bottom - top), 0, 1)
    return rgb * (rim * (1.06 - 0.16 * y)[:, None])[..., None]


def random_size(rng: Rng) -> tuple[int, int]:
    """An image size 180-480 px wide with an aspect ratio of 0.75-1.33."""
    width = int(rng.integers(180, 481))
    return width, int(round(width / rng.uniform(0.75, 1.33)))


def random_colour(rng: Rng, lo: int = 20, hi: int = 235, saturation: float = 1.0) -> Array:
    """A random RGB colour, optionally desaturated towards its grey."""
    colour = rng.uniform(lo, hi, 3)
    return (colour.mean() + (colour - colour.mean()) * saturation).astype(np.float32)


# ---------------------------------------------------------------- backgrounds and finishing


def background(rng: Rng, size: tuple[int, int], floor: float | None = None) -> Array:
    """A plain, gradient, room, outdoor or textured background (float RGB), whatever the label."""
    w, h = size
    floor = h * rng.uniform(0.55, 0.85) if floor is None else floor
    horizon = int(np.clip(floor - h * rng.uniform(0.05, 0.3), h * 0.25, h - 2))
    kind = rng.choice(["plain", "gradient", "room", "room", "outdoor", "texture"])
    yy = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    if kind == "plain":
        return np.broadcast_to(random_colour(rng), (h, w, 3)).copy()
    if kind == "gradient":
        return mix(random_colour(rng), random_colour(rng), np.broadcast_to(yy, (h, w, 1)))
    if kind == "texture":
        noise = rng.random((max(2, h // 12), max(2, w // 12)))
        big = Image.fromarray(np.uint8(noise * 255)).resize((w, h), Image.Resampling.BICUBIC)
        t = np.asarray(big, np.float32)[..., None] / 255
        return mix(random_colour(rng), random_colour(rng), t)
    out = np.zeros((h, w, 3), np.float32)
    if kind == "outdoor":
        sky = np.array([rng.uniform(60, 150), rng.uniform(120, 190), rng.uniform(200, 250)])
        out[:horizon] = mix(sky, np.array([225.0, 235, 245]), yy[:horizon] / yy[horizon])
        grass = np.array([rng.uniform(50, 120), rng.uniform(110, 170), rng.uniform(30, 80)])
        out[horizon:] = grass * (0.85 + 0.3 * rng.random((h - horizon, w, 1)))
        return out
    out[:horizon] = random_colour(rng, 60, 235, rng.uniform(0.1, 0.7))
    img = Image.fromarray(np.uint8(out))
    draw = ImageDraw.Draw(img)
    if rng.random() < 0.6:  # a window or a picture on the wall
        x0, y0 = rng.uniform(0, w * 0.7), rng.uniform(0, horizon * 0.4)
        x1, y1 = x0 + rng.uniform(0.15, 0.35) * w, y0 + rng.uniform(0.3, 0.55) * horizon
        frame = tuple(int(v) for v in random_colour(rng))
        inside = tuple(int(v) for v in random_colour(rng))
        draw.rectangle([x0, y0, x1, y1], fill=inside, outline=frame, width=max(2, w // 60))
    out = np.asarray(img, np.float32).copy()
    floor_kind = rng.choice(["wood", "tiles", "carpet"])
    base = random_colour(rng, 50, 220, rng.uniform(0.2, 0.8))
    rows = np.arange(h - horizon)[:, None]
    cols = np.arange(w)[None, :]
    if floor_kind == "wood":
        base = np.array([rng.uniform(110, 200), rng.uniform(70, 140), rng.uniform(40, 90)])
        planks = (cols // max(8, w // int(rng.integers(4, 9)))) % 3
        tone = 0.85 + 0.08 * planks + 0.04 * rng.random((h - horizon, w))
    elif floor_kind == "tiles":
        step = max(8, w // int(rng.integers(4, 10)))
        tone = 0.8 + 0.25 * (((rows // step) + (cols // step)) % 2)
    else:
        tone = 0.85 + 0.25 * rng.random((h - horizon, w))
    out[horizon:] = base * tone[..., None]
    out[max(0, horizon - max(2, h // 60)) : horizon] *= 0.6  # skirting board shadow
    return out


def drop_shadow(bg: Array, pen: Pen, feet: list[Point]) -> Array:
    """Darken the floor under the subject's feet."""
    xs = [pen.px(x, y)[0] for x, y in feet]
    y = max(pen.px(x, y)[1] for x, y in feet)
    mask = Image.new("L", pen.size, 0)
    pad = 0.08 * pen.unit
    ImageDraw.Draw(mask).ellipse([min(xs) - pad, y - pad / 2, max(xs) + pad, y + pad / 2], fill=120)
    dark = blur(np.asarray(mask, np.float32) / 255, 0.04 * pen.unit)
    return bg * (1 - 0.6 * dark)[..., None]


def finish(rgb: Array, rng: Rng) -> Image.Image:
    """Apply lighting (+-15%), mild gaussian noise and sometimes a slight blur."""
    rgb = rgb * rng.uniform(0.85, 1.15)
    rgb = rgb + rng.standard_normal(rgb.shape, dtype=np.float32) * rng.uniform(1.5, 5.0)
    image = Image.fromarray(np.uint8(np.clip(rgb, 0, 255)))
    if rng.random() < 0.3:
        image = image.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.4, 1.0))))
    return image


def render(
    rng: Rng,
    size: tuple[int, int] | None,
    geometry: Callable[[Rng], Any],
    paint: Callable[[Any, Pen, Rng], tuple[Array, Array]],
) -> tuple[Image.Image, Array]:
    """Draw a subject on a background; the pose never depends on the colours painted."""
    pose_rng, bg_rng, paint_rng, finish_rng = rng.spawn(4)
    size = size or random_size(pose_rng)
    geo = geometry(pose_rng)
    pen = place(pose_rng, geo.outline, size)
    feet_y = max(pen.px(x, y)[1] for x, y in geo.feet)
    bg = drop_shadow(background(bg_rng, size, feet_y), pen, geo.feet)
    rgb, alpha = paint(geo, pen, paint_rng)
    return finish(mix(bg, rgb, alpha), finish_rng), alpha
