"""Demo cats whose phenotype traits (colour, tabby, pattern, colourpoint) are clearly visible."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from core.demo.drawing import (
    Array,
    Pen,
    Point,
    Rng,
    Shape,
    bezier,
    blur,
    ellipse_points,
    mix,
    render,
    shade,
)
from core.labels import CAT_COLOURS, CAT_PATTERNS, CAT_PHENOTYPE

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
        return cat_label(colour, False, "self", False)
    pattern = str(rng.choice(CAT_PATTERNS))
    return cat_label(colour, bool(rng.random() < 0.5), pattern, bool(rng.random() < 0.5))


def cat_label(colour: str, tabby: bool, pattern: str, pointed: bool) -> dict:
    """A complete cat label with these traits."""
    return {
        "is_cat": True,
        "colour": colour,
        "is_tabby": tabby,
        "pattern": pattern,
        "is_pointed": pointed,
    }
