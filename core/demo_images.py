"""Synthetic demo images: cats whose phenotype traits are clearly visible, non-cat scenes, dogs.

Everything is drawn with Pillow and numpy from a seeded generator, so a seed always gives the
same pictures and labels. Subjects are drawn in local units (a cat's body is one unit long)
by a ``Pen`` that places them in the frame; masks are drawn supersampled for smooth edges.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from core.labels import CAT_COLOURS, CAT_PATTERNS, CAT_PHENOTYPE, DOG_BREED, get_schema

Rng = np.random.Generator
Point = tuple[float, float]
Shape = tuple[Any, ...]  # ("ellipse", x, y, rx, ry, angle) | ("capsule", p, q, width)
# | ("path", points, width) | ("poly", points), all in local units
Array = np.ndarray

SUPERSAMPLE = 2
SCENE_BLOCK, SCENES_PER_BLOCK = 40, 7  # 17.5% non-cats in the cat schema
DOG_BREEDS: tuple[str, ...] = (
    "corgi",
    "dalmatian",
    "greyhound",
    "poodle",
    "dachshund",
    "beagle",
    "husky",
    "boxer",
    "labrador",
    "pomeranian",
    "saint bernard",
    "border collie",
    "pug",
    "chow chow",
    "great dane",
)
COAT_RGB: dict[str, tuple[int, int, int]] = {
    "black": (25, 25, 28),
    "blue": (112, 126, 156),
    "chocolate": (88, 50, 32),
    "lilac": (182, 158, 188),
    "cinnamon": (160, 80, 60),
    "fawn": (205, 150, 135),
    "red": (240, 135, 20),
    "cream": (242, 208, 135),
    "white": (246, 246, 243),
}
PALE = np.array([250, 244, 230], np.float32)  # what a colourpoint body is mixed towards
AGOUTI = np.array([150, 140, 125], np.float32)  # tabby ground between stripes of dark colours
EYE_RGB = ((215, 175, 40), (120, 175, 70), (205, 115, 40), (180, 160, 55))
BLUE_EYE = (70, 145, 245)


@dataclass(frozen=True)
class DemoSample:
    """One generated image with its label (None when handed out as unlabelled) and true label."""

    image: Image.Image
    label: dict | None
    truth: dict
    filename: str


# ---------------------------------------------------------------- drawing in local units


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


# ---------------------------------------------------------------- cats


@dataclass(frozen=True)
class CatGeometry:
    """A cat pose in local units, split into the regions that patterns colour."""

    outline: list[Shape]  # every part: the silhouette
    far: list[Shape]  # legs on the far side (drawn darker)
    points: list[Shape]  # colourpoint areas: face mask, ears, lower legs, paws, tail
    white: list[Shape]  # bicolour white: chest, belly, legs, muzzle
    head: Shape
    ears: list[Shape]
    tail: list[Shape]
    stripes: list[Shape]
    details: list[tuple[str, Shape]]  # eyes, pupils, nose, inner ears, whiskers
    feet: list[Point]
    head_centre: Point
    head_radius: float


def _leg_bars(top: Point, foot: Point, width: float) -> list[Shape]:
    """Tabby bars across one leg."""
    bars = []
    for f in (0.3, 0.5, 0.7, 0.88):
        x, y = top[0] + (foot[0] - top[0]) * f, top[1] + (foot[1] - top[1]) * f
        bars.append(("capsule", (x - width, y - 0.01), (x + width, y + 0.01), 0.032))
    return bars


def _body_stripes(body: Shape, rng: Rng) -> list[Shape]:
    """Mackerel stripes across a body ellipse's long axis, and a dark line along the spine."""
    _, x, y, a, b, angle = body
    major, minor = (math.cos(angle), math.sin(angle)), (-math.sin(angle), math.cos(angle))
    period, phase = rng.uniform(0.125, 0.145), rng.uniform(0, 6.3)
    stripes = []
    for t in np.arange(-0.9 * a, 0.82 * a, period):
        pts = []
        for s in np.linspace(-1.25 * b, 1.25 * b, 7):
            along = t + 0.025 * math.sin(2.2 * s / b + phase + t * 9)
            pts.append((x + along * major[0] + s * minor[0], y + along * major[1] + s * minor[1]))
        stripes.append(("path", pts, 0.06))
    spine = [
        (x + t * major[0] - 0.9 * b * minor[0], y + t * major[1] - 0.9 * b * minor[1])
        for t in (-0.9 * a, 0.8 * a)
    ]
    stripes.append(("path", spine, 0.07))
    return stripes


def _tail_rings(path: list[Point]) -> list[Shape]:
    """Rings across a tail every ~0.09 units, and a dark tip."""
    rings, run = [], 0.0
    for (x0, y0), (x1, y1) in zip(path, path[1:], strict=False):
        seg = math.hypot(x1 - x0, y1 - y0)
        run += seg
        if run >= 0.13 and seg > 0:
            nx, ny = -(y1 - y0) / seg * 0.1, (x1 - x0) / seg * 0.1
            rings.append(("capsule", (x1 - nx, y1 - ny), (x1 + nx, y1 + ny), 0.06))
            run = 0.0
    rings.append(("path", path[-4:], 0.1))
    return rings


Leg = tuple[Point, Point, float]  # top, foot, width


@dataclass(frozen=True)
class _Pose:
    """The body of a standing or sitting cat; the head is added by _head."""

    trunk: list[Shape]
    head_at: Point
    near: list[Leg]
    far: list[Leg]
    tails: list[list[Point]]  # control points of the tail shapes to pick from
    belly: list[Shape]  # bicolour white on the body
    stripes: list[Shape]
    feet: list[Point]


def _standing(rng: Rng, chub: float) -> _Pose:
    """A cat standing side on, facing right."""
    body = ("ellipse", 0.0, 0.0, 0.5, 0.2 * chub, rng.uniform(-0.06, 0.06))
    hx, hy = 0.56 + rng.uniform(-0.04, 0.04), -0.3 + rng.uniform(-0.06, 0.1)
    trunk = [
        body,
        ("ellipse", 0.3, -0.03, 0.2, 0.21 * chub, 0.0),  # chest
        ("ellipse", -0.32, 0.02, 0.18, 0.2 * chub, 0.0),  # haunch
        ("capsule", (0.35, -0.06), (hx - 0.04, hy + 0.05), 0.2),  # neck
    ]
    foot, stride = 0.58 + rng.uniform(-0.04, 0.06), rng.uniform(-0.07, 0.07)
    near = [
        ((0.34, 0.05), (0.36 + stride, foot), 0.1),
        ((-0.34, 0.08), (-0.36 - stride, foot), 0.11),
    ]
    far = [
        ((0.25, 0.05), (0.24 - stride, foot), 0.09),
        ((-0.24, 0.08), (-0.25 + stride, foot), 0.1),
    ]
    tails = [
        [(-0.47, -0.06), (-0.72, -0.15), (-0.76, -0.5), (-0.6, -0.72)],  # up
        [(-0.47, -0.04), (-0.72, 0.0), (-0.82, 0.3), (-0.7, 0.52)],  # down
        [(-0.47, -0.06), (-0.7, -0.2), (-0.85, -0.3), (-0.98, -0.22)],  # out
    ]
    belly = [
        ("ellipse", 0.02, 0.13 * chub, 0.46, 0.1 * chub, 0.0),
        ("ellipse", 0.38, 0.02, 0.14, 0.2 * chub, 0.0),
    ]
    feet = [foot_ for _, foot_, _ in near + far]
    return _Pose(trunk, (hx, hy), near, far, tails, belly, _body_stripes(body, rng), feet)


def _sitting(rng: Rng, chub: float) -> _Pose:
    """A cat sitting side on, leaning slightly forward, facing right."""
    angle = -math.pi / 2 + rng.uniform(0.15, 0.4)
    body = ("ellipse", 0.0, -0.05, 0.42, 0.27 * chub, angle)
    hind = ("ellipse", 0.02, 0.49, 0.12, 0.045, 0.0)
    top = (0.42 * math.cos(angle), -0.05 + 0.42 * math.sin(angle))
    hx, hy = top[0] + rng.uniform(0.0, 0.06), top[1] - 0.12 + rng.uniform(-0.03, 0.03)
    haunch = ("ellipse", -0.08, 0.28, 0.3, 0.22 * chub, 0.0)
    trunk = [body, haunch, hind, ("capsule", top, (hx, hy), 0.2)]
    near, far = [((0.13, -0.02), (0.16, 0.5), 0.09)], [((0.22, -0.02), (0.26, 0.5), 0.08)]
    tails = [
        [(-0.3, 0.42), (-0.6, 0.56), (0.0, 0.62), (0.36, 0.54)],  # wrapped round the paws
        [(-0.3, 0.35), (-0.55, 0.3), (-0.6, -0.1), (-0.45, -0.3)],  # up behind
    ]
    minor = (-math.sin(angle), math.cos(angle))
    belly = [
        ("ellipse", 0.13 * minor[0], -0.05 + 0.13 * minor[1], 0.38, 0.15, angle),
        ("ellipse", 0.02, 0.4, 0.22, 0.12, 0.0),
        hind,
    ]
    stripes = _body_stripes(body, rng)
    for k in (0.45, 0.8):  # swirls on the haunch
        ring = ellipse_points(-0.08, 0.28, k * 0.3, k * 0.22 * chub)
        stripes.append(("path", ring + ring[:1], 0.045))
    feet = [(0.16, 0.5), (0.26, 0.5), (0.12, 0.53), (-0.1, 0.53)]
    return _Pose(trunk, (hx, hy), near, far, tails, belly, stripes, feet)


def _head(hx: float, hy: float, r: float, rng: Rng) -> dict[str, Any]:
    """Head parts: ears, colourpoint face mask, bicolour muzzle, tabby "M", eyes and nose."""

    def at(points: list[Point]) -> list[Point]:
        return [(hx + a * r, hy + b * r) for a, b in points]

    tilt, size = rng.uniform(-0.15, 0.15), rng.uniform(0.9, 1.15)
    ears, details = [], []
    for theta in (-0.55 + tilt, 0.45 + tilt):
        tri = [
            (0.95 * math.sin(theta - 0.38), -0.95 * math.cos(theta - 0.38)),
            (1.75 * size * math.sin(theta), -1.75 * size * math.cos(theta)),
            (0.95 * math.sin(theta + 0.38), -0.95 * math.cos(theta + 0.38)),
        ]
        ears.append(("poly", at(tri)))
        cx, cy = sum(p[0] for p in tri) / 3, sum(p[1] for p in tri) / 3
        inner = [(cx + (x - cx) * 0.55, cy + (y - cy) * 0.55 + 0.05) for x, y in tri]
        details.append(("inner_ear", ("poly", at(inner))))
    for ex in (-0.14, 0.44):
        details.append(("eye", ("ellipse", hx + ex * r, hy - 0.02 * r, 0.19 * r, 0.15 * r, 0.0)))
        details.append(("pupil", ("ellipse", hx + ex * r, hy - 0.02 * r, 0.05 * r, 0.13 * r, 0.0)))
        glint = ("ellipse", hx + (ex + 0.06) * r, hy - 0.08 * r, 0.035 * r, 0.035 * r, 0.0)
        details.append(("glint", glint))
    details.append(("nose", ("poly", at([(0.2, 0.24), (0.4, 0.24), (0.3, 0.37)]))))
    for dy in (-0.12, 0.18, 0.48):
        for side in (-1, 1):
            whisker = at([(0.3 + side * 0.18, 0.42), (0.3 + side * 0.98, 0.42 + dy)])
            details.append(("whisker", ("path", whisker, 0.015)))
    m_mark = at([(-0.28, -0.18), (-0.14, -0.62), (0.1, -0.3), (0.34, -0.62), (0.5, -0.18)])
    return {
        "ears": ears,
        "face": ("ellipse", hx + 0.15 * r, hy + 0.15 * r, 0.82 * r, 0.76 * r, 0.0),
        "muzzle": [
            ("ellipse", hx + 0.22 * r, hy + 0.5 * r, 0.52 * r, 0.42 * r, 0.0),
            ("poly", at([(0.04, 0.3), (0.2, -0.45), (0.38, 0.3)])),  # blaze
        ],
        "stripes": [
            ("path", m_mark, 0.15 * r),
            ("path", at([(-0.2, 0.12), (-0.7, 0.28)]), 0.09 * r),  # cheek line
        ],
        "details": details,
    }


def _cat_geometry(rng: Rng) -> CatGeometry:
    """A standing or sitting cat facing right, with random proportions and pose."""
    chub, r = rng.uniform(0.9, 1.2), 0.19 * rng.uniform(0.92, 1.12)
    pose = _standing(rng, chub) if rng.random() < 0.6 else _sitting(rng, chub)
    head_x, head_y = pose.head_at
    head = ("ellipse", head_x, head_y, r, r * 0.95, 0.0)
    parts = _head(head_x, head_y, r, rng)
    tail_path = bezier(pose.tails[int(rng.integers(len(pose.tails)))])
    tail = [("path", tail_path, 0.09)]
    legs = [("capsule", top, foot, w) for top, foot, w in pose.near]
    far_legs = [("capsule", top, foot, w) for top, foot, w in pose.far]
    all_legs = pose.near + pose.far
    paws = [("ellipse", f[0] + 0.02, f[1], w * 0.7, 0.04, 0.0) for _, f, w in all_legs]
    lower = [("capsule", _lerp(t, f, 0.42), f, w) for t, f, w in all_legs]
    stripes = pose.stripes + parts["stripes"] + _tail_rings(tail_path)
    for top, foot, w in all_legs:
        stripes += _leg_bars(top, foot, w)
    return CatGeometry(
        outline=pose.trunk + legs + far_legs + paws + tail + [head] + parts["ears"],
        far=far_legs,
        points=[parts["face"], *parts["ears"], *lower, *paws, *tail],
        white=pose.belly + legs + far_legs + paws + parts["muzzle"],
        head=head,
        ears=parts["ears"],
        tail=tail,
        stripes=stripes,
        details=parts["details"],
        feet=pose.feet,
        head_centre=pose.head_at,
        head_radius=r,
    )


def _lerp(a: Point, b: Point, t: float) -> Point:
    return a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t


def tabby_tones(colour: Array) -> tuple[Array, Array]:
    """Tabby ground and stripe colours: dark coats get an agouti ground, light ones dark stripes."""
    if colour.mean() < 70:
        return mix(colour, AGOUTI, 0.45), colour * 0.75
    return colour, colour * 0.5


def _paint_cat(label: dict, geo: CatGeometry, pen: Pen, rng: Rng) -> tuple[Array, Array]:
    """Colour the cat's regions from its label; returns RGB and alpha."""
    silhouette = pen.mask(geo.outline)
    h, w = silhouette.shape
    base = np.array(COAT_RGB[label["colour"]], np.float32) + rng.uniform(-6, 6, 3)
    white = np.minimum(np.array(COAT_RGB["white"], np.float32) + rng.uniform(-4, 4, 3), 252)
    coat = np.broadcast_to(base, (h, w, 3)).copy()
    pointed = label["is_pointed"] and label["colour"] != "white"
    if label["colour"] == "white":
        coat[:] = white
    else:
        ground, stripe = tabby_tones(base) if label["is_tabby"] else (base, base)
        coat[:], stripe_rgb = ground, np.broadcast_to(stripe, (h, w, 3))
        if pointed:
            points = blur(pen.mask(geo.points), 0.04 * pen.unit)
            pale = base * 0.3 + PALE * 0.7
            coat = mix(np.broadcast_to(pale, (h, w, 3)), coat, points)
            stripe_rgb = mix(np.broadcast_to(pale * 0.72, (h, w, 3)), stripe_rgb, points)
        if label["is_tabby"]:
            coat = mix(coat, stripe_rgb, pen.mask(geo.stripes))
        if label["pattern"] == "bicolour":
            coat = mix(coat, white, blur(pen.mask(geo.white), 0.015 * pen.unit))
        elif label["pattern"] == "van":
            cap = pen.mask([geo.head])
            line = int(pen.px(0, geo.head_centre[1] - 0.02 * geo.head_radius)[1])
            cap[max(0, line) :] = 0
            coloured = np.maximum(np.maximum(cap, pen.mask(geo.ears + geo.tail)), 0)
            coat = mix(coat, white, blur(1 - coloured, 0.015 * pen.unit))
    far = np.clip(pen.mask(geo.far) - pen.mask([s for s in geo.outline if s not in geo.far]), 0, 1)
    coat = shade(coat * (1 - 0.2 * far)[..., None], silhouette, pen)
    eye = BLUE_EYE if pointed else EYE_RGB[int(rng.integers(len(EYE_RGB)))]
    nose = tuple(int(v) for v in base * 0.5 + np.array([215, 120, 130]) * 0.5)
    whisker = (235, 235, 230) if base.mean() < 150 else (120, 110, 105)
    colours = {
        "inner_ear": (225, 160, 165),
        "eye": eye,
        "pupil": (15, 15, 15),
        "glint": (255, 255, 255),
        "nose": nose,
        "whisker": whisker,
    }
    rgb, alpha = pen.overlay((shape, colours[kind]) for kind, shape in geo.details)
    return mix(coat, rgb, alpha * silhouette), silhouette


def draw_cat_with_mask(
    label: dict, rng: Rng, size: tuple[int, int] | None = None
) -> tuple[Image.Image, Array]:
    """A cat showing this label's traits, and its coverage mask (0..1, image size)."""
    clean = CAT_PHENOTYPE.validate(label)
    if not clean["is_cat"]:
        raise ValueError("draw_cat needs a cat label; use draw_scene for a non-cat.")
    return render(rng, size, _cat_geometry, lambda geo, pen, r: _paint_cat(clean, geo, pen, r))


def draw_cat(label: dict, rng: Rng, size: tuple[int, int] | None = None) -> Image.Image:
    """A cat showing this label's colour, tabby, pattern and colourpoint."""
    return draw_cat_with_mask(label, rng, size)[0]


def random_cat_label(rng: Rng) -> dict:
    """A complete valid cat label; white cats are always self, not tabby, not pointed."""
    colour = str(rng.choice(CAT_COLOURS))
    if colour == "white":
        return _cat_label(colour, False, "self", False)
    pattern = str(rng.choice(CAT_PATTERNS))
    return _cat_label(colour, bool(rng.random() < 0.5), pattern, bool(rng.random() < 0.5))


def _cat_label(colour: str, tabby: bool, pattern: str, pointed: bool) -> dict:
    return {
        "is_cat": True,
        "colour": colour,
        "is_tabby": tabby,
        "pattern": pattern,
        "is_pointed": pointed,
    }


# ---------------------------------------------------------------- other subjects


def draw_scene(rng: Rng) -> Image.Image:
    """A non-cat picture: landscape, house, car, furniture, fruit, city, shapes or an ape."""
    from core.demo_dogs import draw_scene as draw

    return draw(rng)


def draw_dog(breed: str, rng: Rng, size: tuple[int, int] | None = None) -> Image.Image:
    """A dog of one of DOG_BREEDS, with that breed's shape and coat."""
    from core.demo_dogs import dog_geometry, paint_dog

    if breed not in DOG_BREEDS:
        raise ValueError(f"Breed {breed!r} is not drawn; use one of: {', '.join(DOG_BREEDS)}.")
    image, _ = render(
        rng, size, lambda r: dog_geometry(breed, r), lambda g, p, r: paint_dog(breed, g, p, r)
    )
    return image


# ---------------------------------------------------------------- samples


def _cat_labels(rng: Rng) -> Iterator[dict]:
    """Cat labels in rounds of every colour; each colour cycles through its 12 combinations."""
    combos = [(t, p, pt) for t in (False, True) for p in CAT_PATTERNS for pt in (False, True)]
    while True:
        decks = {c: [combos[i] for i in rng.permutation(len(combos))] for c in CAT_COLOURS}
        for round_ in range(len(combos)):
            for colour in rng.permutation(CAT_COLOURS):
                tabby, pattern, pointed = decks[str(colour)][round_]
                if colour == "white":
                    tabby, pattern, pointed = False, "self", False
                yield _cat_label(str(colour), tabby, pattern, pointed)


def _cat_plan(rng: Rng) -> Iterator[dict]:
    """Cat-schema labels: 7 non-cats at random places in every block of 40."""
    cat_rng, scene_rng = rng.spawn(2)
    cats = _cat_labels(cat_rng)
    while True:
        scenes = set(scene_rng.choice(SCENE_BLOCK, SCENES_PER_BLOCK, replace=False).tolist())
        for i in range(SCENE_BLOCK):
            yield {"is_cat": False} if i in scenes else next(cats)


def _dog_plan(rng: Rng) -> Iterator[dict]:
    """Dog labels in shuffled rounds of every breed."""
    while True:
        for i in rng.permutation(len(DOG_BREEDS)):
            yield {"breed": DOG_BREEDS[i]}


def demo_labels(schema_name: str, count: int, *, seed: int = 0) -> Iterator[dict]:
    """The true labels of the first count samples demo_samples draws with this seed."""
    rng = np.random.default_rng(seed)
    plan = _dog_plan(rng) if get_schema(schema_name).name == DOG_BREED.name else _cat_plan(rng)
    for _ in range(count):
        yield next(plan)


def demo_samples(
    schema_name: str, count: int, *, seed: int = 0, unlabelled: int = 0
) -> Iterator[DemoSample]:
    """Yield count labelled samples, then `unlabelled` more with label None, one at a time."""
    if count < 0 or unlabelled < 0:
        raise ValueError("count and unlabelled must not be negative.")
    is_dogs = get_schema(schema_name).name == DOG_BREED.name
    prefix = "dog" if is_dogs else "cat"
    for index, truth in enumerate(demo_labels(schema_name, count + unlabelled, seed=seed)):
        image_rng = np.random.default_rng([seed, index])
        if is_dogs:
            image = draw_dog(truth["breed"], image_rng)
        elif truth["is_cat"]:
            image = draw_cat(truth, image_rng)
        else:
            image = draw_scene(image_rng)
        label = dict(truth) if index < count else None
        yield DemoSample(image, label, dict(truth), f"demo-{prefix}-{index:05d}.jpg")


def encode_jpeg(image: Image.Image, quality: int = 90) -> bytes:
    """The image as JPEG bytes."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
