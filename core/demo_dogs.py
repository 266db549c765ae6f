"""Demo subjects that are not cats: dogs of distinct breeds, and varied non-cat scenes.

Built on the drawing helpers of ``core.demo_images`` (which imports this module lazily).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from core.demo_images import (
    Array,
    Pen,
    Point,
    Rng,
    Shape,
    background,
    bezier,
    blur,
    finish,
    mix,
    random_colour,
    random_size,
    shade,
)

RGB = tuple[int, int, int]
WHITE: RGB = (244, 242, 236)
BLACK: RGB = (28, 26, 26)


@dataclass(frozen=True)
class DogSpec:
    """How one breed looks: proportions in body lengths, ears, tail and coat."""

    body: tuple[float, float]  # half length, half height of the body ellipse
    leg: float  # leg length below the body
    leg_width: float
    head: float  # head radius
    snout: tuple[float, float]  # snout length and thickness
    ear: str  # floppy, pointy, bat, rose, small
    tail: str  # long, whip, curl, stub, plume, pompom
    coat: str  # solid, spots, bicolour, tricolour, husky, mask, saddle, curly, harlequin, brindle
    colours: tuple[RGB, ...]  # main colour, one picked per dog
    second: RGB = BLACK  # markings
    fluff: float = 0.0  # ragged fur outline, in body lengths


DOG_SPECS: dict[str, DogSpec] = {
    "corgi": DogSpec(
        (0.5, 0.2),
        0.2,
        0.1,
        0.2,
        (0.17, 0.09),
        "bat",
        "stub",
        "bicolour",
        ((205, 120, 50), (185, 100, 45)),
        WHITE,
    ),
    "dalmatian": DogSpec(
        (0.5, 0.19), 0.55, 0.08, 0.17, (0.2, 0.085), "floppy", "whip", "spots", (WHITE,), BLACK
    ),
    "greyhound": DogSpec(
        (0.5, 0.16),
        0.72,
        0.055,
        0.13,
        (0.3, 0.065),
        "rose",
        "whip",
        "brindle",
        ((200, 165, 120), (150, 150, 158)),
        (60, 45, 35),
    ),
    "poodle": DogSpec(
        (0.42, 0.22),
        0.6,
        0.09,
        0.19,
        (0.2, 0.075),
        "floppy",
        "pompom",
        "curly",
        (WHITE, (30, 30, 32), (205, 140, 80)),
        fluff=0.03,
    ),
    "dachshund": DogSpec(
        (0.55, 0.15),
        0.16,
        0.09,
        0.15,
        (0.27, 0.075),
        "floppy",
        "long",
        "solid",
        ((150, 70, 30), (40, 28, 22)),
    ),
    "beagle": DogSpec(
        (0.5, 0.22),
        0.42,
        0.1,
        0.2,
        (0.18, 0.1),
        "floppy",
        "long",
        "tricolour",
        ((200, 135, 65),),
        BLACK,
    ),
    "husky": DogSpec(
        (0.5, 0.22),
        0.5,
        0.1,
        0.2,
        (0.18, 0.09),
        "pointy",
        "plume",
        "husky",
        ((115, 118, 128), (75, 72, 75), (160, 110, 70)),
    ),
    "boxer": DogSpec(
        (0.5, 0.23),
        0.55,
        0.11,
        0.22,
        (0.08, 0.13),
        "rose",
        "stub",
        "mask",
        ((200, 140, 80), (150, 85, 45)),
        BLACK,
    ),
    "labrador": DogSpec(
        (0.5, 0.24),
        0.48,
        0.12,
        0.21,
        (0.2, 0.11),
        "floppy",
        "long",
        "solid",
        ((225, 190, 120), (28, 28, 28), (95, 60, 35)),
    ),
    "pomeranian": DogSpec(
        (0.4, 0.34),
        0.2,
        0.09,
        0.24,
        (0.1, 0.07),
        "small",
        "plume",
        "solid",
        ((230, 140, 50), (240, 205, 150)),
        fluff=0.1,
    ),
    "saint bernard": DogSpec(
        (0.55, 0.28),
        0.48,
        0.14,
        0.26,
        (0.16, 0.14),
        "floppy",
        "long",
        "saddle",
        ((175, 80, 35),),
        WHITE,
    ),
    "border collie": DogSpec(
        (0.5, 0.21),
        0.5,
        0.09,
        0.19,
        (0.2, 0.08),
        "rose",
        "plume",
        "bicolour",
        ((25, 25, 25), (110, 60, 35)),
        WHITE,
        fluff=0.03,
    ),
    "pug": DogSpec(
        (0.42, 0.27),
        0.3,
        0.11,
        0.24,
        (0.05, 0.1),
        "rose",
        "curl",
        "mask",
        ((215, 180, 130),),
        BLACK,
    ),
    "chow chow": DogSpec(
        (0.45, 0.3),
        0.36,
        0.14,
        0.26,
        (0.1, 0.1),
        "small",
        "curl",
        "solid",
        ((200, 100, 40), (40, 30, 30), (225, 195, 140)),
        fluff=0.12,
    ),
    "great dane": DogSpec(
        (0.5, 0.22), 0.8, 0.11, 0.2, (0.25, 0.12), "floppy", "whip", "harlequin", (WHITE,), BLACK
    ),
}


@dataclass(frozen=True)
class DogGeometry:
    """A standing dog facing right, in local units, with the regions its coat colours."""

    outline: list[Shape]
    far: list[Shape]
    under: list[Shape]  # chest, belly, legs and muzzle (white on bicolour coats)
    back: Shape  # the saddle area
    head: list[Shape]
    muzzle: list[Shape]
    ears: list[Shape]
    details: list[tuple[str, Shape]]
    feet: list[Point]
    spots: list[Shape]


def dog_geometry(breed: str, rng: Rng) -> DogGeometry:
    """The shape of a dog of this breed in a random pose."""
    spec = DOG_SPECS[breed]
    bx, by = spec.body[0], spec.body[1] * rng.uniform(0.92, 1.08)
    leg, lw, r = spec.leg * rng.uniform(0.92, 1.08), spec.leg_width, spec.head
    body = ("ellipse", 0.0, 0.0, bx, by, rng.uniform(-0.05, 0.05))
    chest = ("ellipse", bx * 0.55, -by * 0.05, bx * 0.42, by * 1.05, 0.0)
    foot, stride = by * 0.5 + leg, rng.uniform(-0.06, 0.06)
    near = [
        ((bx * 0.62, 0.0), (bx * 0.64 + stride, foot)),
        ((-bx * 0.62, 0.0), (-bx * 0.64 - stride, foot)),
    ]
    far = [
        ((bx * 0.48, 0.0), (bx * 0.46 - stride, foot)),
        ((-bx * 0.48, 0.0), (-bx * 0.47 + stride, foot)),
    ]
    legs = [("capsule", t, f, lw) for t, f in near]
    far_legs = [("capsule", t, f, lw * 0.9) for t, f in far]
    paws = [("ellipse", f[0] + lw * 0.3, f[1], lw * 0.75, lw * 0.4, 0.0) for _, f in near + far]
    hx = bx * 0.95 + r * 0.3 + rng.uniform(-0.03, 0.05)
    hy = -by * 0.7 - r * 0.9 + rng.uniform(-0.08, 0.1)
    neck = ("capsule", (bx * 0.6, -by * 0.3), (hx - r * 0.2, hy + r * 0.2), r * 1.1)
    head = ("ellipse", hx, hy, r, r * 0.92, 0.0)
    sl, sh = spec.snout
    snout = ("capsule", (hx + r * 0.45, hy + r * 0.3), (hx + r * 0.6 + sl, hy + r * 0.38), sh * 2)
    nose = ("ellipse", hx + r * 0.6 + sl + sh * 0.35, hy + r * 0.3, sh * 0.5, sh * 0.42, 0.0)
    ears = _dog_ears(spec.ear, hx, hy, r, rng)
    tail = _dog_tail(spec, bx, by, rng)
    outline = [body, chest, neck, head, snout, *legs, *far_legs, *paws, *tail, *ears]
    under = [("ellipse", bx * 0.1, by * 0.6, bx * 0.8, by * 0.45, 0.0)]
    under += [("ellipse", bx * 0.75, -by * 0.1, bx * 0.22, by * 0.7, 0.0), snout]
    under += [("capsule", (t[0] + (f[0] - t[0]) * 0.4, f[1] * 0.4), f, lw) for t, f in near + far]
    under += paws
    spots = []
    for _ in range(int(rng.integers(40, 70))):
        x, y = rng.uniform(-bx - 0.2, bx + 0.5), rng.uniform(-by - 0.5, foot)
        rad = rng.uniform(0.018, 0.034)
        spots.append(("ellipse", x, y, rad, rad * rng.uniform(0.7, 1.0), rng.uniform(0, 3)))
    eye = ("ellipse", hx + r * 0.35, hy - r * 0.15, r * 0.12, r * 0.12, 0.0)
    glint = ("ellipse", hx + r * 0.38, hy - r * 0.19, r * 0.04, r * 0.04, 0.0)
    return DogGeometry(
        outline=outline,
        far=far_legs,
        under=under,
        back=("ellipse", -bx * 0.05, -by * 0.45, bx * 0.75, by * 0.65, 0.0),
        head=[head, neck],
        muzzle=[snout, ("ellipse", hx + r * 0.5, hy + r * 0.35, r * 0.45, r * 0.4, 0.0)],
        ears=ears,
        details=[("eye", eye), ("glint", glint), ("nose", nose)],
        feet=[f for _, f in near + far],
        spots=spots,
    )


def _dog_ears(kind: str, hx: float, hy: float, r: float, rng: Rng) -> list[Shape]:
    """Ears of one kind on a head at (hx, hy) with radius r."""
    if kind == "floppy":
        return [("ellipse", hx - r * 0.3, hy + r * 0.3, r * 0.32, r * 0.75, rng.uniform(-0.3, 0.1))]
    size = {"pointy": 1.9, "bat": 2.2, "rose": 1.35, "small": 1.45}[kind]
    lean = -0.45 if kind == "rose" else rng.uniform(-0.15, 0.1)
    ears = []
    for base in (-0.55, 0.0):
        a, b = base - 0.3, base + 0.25
        tip = base + lean
        ears.append(
            (
                "poly",
                [
                    (hx + r * math.sin(a), hy - r * math.cos(a)),
                    (hx + r * size * math.sin(tip), hy - r * size * math.cos(tip)),
                    (hx + r * math.sin(b), hy - r * math.cos(b)),
                ],
            )
        )
    return ears


def _dog_tail(spec: DogSpec, bx: float, by: float, rng: Rng) -> list[Shape]:
    """The tail shape for a breed's tail kind."""
    x0, y0 = -bx * 0.95, -by * 0.45
    lift = rng.uniform(-0.1, 0.1)
    if spec.tail == "stub":
        return [("capsule", (x0, y0), (x0 - 0.07, y0 - 0.03), 0.08)]
    if spec.tail in ("long", "whip"):
        end = (x0 - 0.3, y0 + 0.35 + lift) if spec.tail == "whip" else (x0 - 0.32, y0 - 0.1 + lift)
        path = bezier([(x0, y0), (x0 - 0.2, y0 - 0.05), end])
        return [("path", path, 0.035 if spec.tail == "whip" else 0.065)]
    if spec.tail == "pompom":
        end = (x0 - 0.12, y0 - 0.3 + lift)
        return [("capsule", (x0, y0), end, 0.04), ("ellipse", end[0], end[1], 0.08, 0.08, 0.0)]
    width = 0.13 if spec.tail == "plume" else 0.08
    path = bezier([(x0, y0), (x0 - 0.2, y0 - 0.3), (x0 + 0.1, y0 - 0.42), (x0 + 0.25, y0 - 0.12)])
    return [("path", path, width)]


def paint_dog(breed: str, geo: DogGeometry, pen: Pen, rng: Rng) -> tuple[Array, Array]:
    """Colour the dog with its breed's coat; returns RGB and alpha."""
    spec = DOG_SPECS[breed]
    silhouette = pen.mask(geo.outline)
    h, w = silhouette.shape
    main = np.array(spec.colours[int(rng.integers(len(spec.colours)))], np.float32)
    main = main + rng.uniform(-10, 10, 3)
    second, white = np.array(spec.second, np.float32), np.array(WHITE, np.float32)
    coat = np.broadcast_to(main, (h, w, 3)).copy()
    under, head = pen.mask(geo.under), pen.mask(geo.head + geo.ears)
    if spec.coat == "spots":
        coat = mix(coat, second, pen.mask(geo.spots))
    elif spec.coat == "harlequin":
        coat = mix(coat, second, np.float32(blur(pen.mask(geo.spots[::3]), 0.02 * pen.unit) > 0.15))
    elif spec.coat == "bicolour":
        coat = mix(coat, second, under)
    elif spec.coat == "tricolour":
        coat = mix(mix(coat, second, pen.mask([geo.back])), white, under)
    elif spec.coat == "husky":
        coat = mix(coat, white, np.maximum(under, pen.mask(geo.muzzle)))
    elif spec.coat == "mask":
        coat = mix(coat, np.float32(0.9) * main + 20, under * 0.6)
        coat = mix(coat, second, np.maximum(pen.mask(geo.muzzle), pen.mask(geo.ears)))
    elif spec.coat == "saddle":
        colour = np.maximum(pen.mask([geo.back]), head * (1 - pen.mask(geo.muzzle)))
        coat = mix(np.broadcast_to(second, (h, w, 3)).copy(), main, colour)
    elif spec.coat == "brindle":
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        wave = np.sin((xx * pen.facing + 4 * np.sin(yy / (0.05 * pen.unit))) / (0.03 * pen.unit))
        coat = mix(coat, main * 0.55, (wave > 0.55).astype(np.float32) * 0.8)
    if spec.coat == "curly" or spec.fluff:
        noise = rng.random((h // 3 + 1, w // 3 + 1))
        big = np.asarray(Image.fromarray(np.uint8(noise * 255)).resize((w, h)), np.float32) / 255
        coat = coat * (0.78 + 0.4 * big)[..., None] if spec.coat == "curly" else coat
    if spec.fluff:
        grown = blur(silhouette, spec.fluff * pen.unit * 0.5)
        silhouette = np.clip((grown + 0.35 * (big - 0.5) > 0.25) * 1.0 + silhouette, 0, 1)
        silhouette = blur(silhouette, 0.6)
    far = np.clip(pen.mask(geo.far) - pen.mask([s for s in geo.outline if s not in geo.far]), 0, 1)
    coat = shade(coat * (1 - 0.2 * far)[..., None], silhouette, pen)
    colours = {"eye": (25, 18, 15), "glint": (250, 250, 250), "nose": (20, 18, 18)}
    rgb, alpha = pen.overlay((shape, colours[kind]) for kind, shape in geo.details)
    return mix(coat, rgb, alpha), silhouette


# ---------------------------------------------------------------- non-cat scenes


def _c(colour: Array | tuple) -> RGB:
    """An integer RGB tuple for ImageDraw."""
    r, g, b = (int(np.clip(v, 0, 255)) for v in colour)
    return r, g, b


def _sky_and_ground(rng: Rng, w: int, h: int) -> tuple[Image.Image, int]:
    """A sky gradient over grass, sand or a road; returns the image and the horizon row."""
    horizon = int(h * rng.uniform(0.45, 0.7))
    arr = np.empty((h, w, 3), np.float32)
    sky = np.array([rng.uniform(60, 160), rng.uniform(120, 200), rng.uniform(200, 255)])
    arr[:horizon] = mix(sky, np.array([230.0, 236, 245]), np.linspace(0, 1, horizon)[:, None, None])
    ground = [(70, 140, 50), (200, 180, 120), (95, 95, 100), (120, 150, 60)][int(rng.integers(4))]
    arr[horizon:] = np.array(ground) * (0.85 + 0.3 * rng.random((h - horizon, w, 1)))
    return Image.fromarray(np.uint8(np.clip(arr, 0, 255))), horizon


def _landscape(draw: ImageDraw.ImageDraw, rng: Rng, w: int, h: int, horizon: int) -> None:
    """Sun, clouds, hills and trees."""
    if rng.random() < 0.6:
        x, y, r = rng.uniform(0, w), rng.uniform(0, horizon * 0.4), rng.uniform(0.04, 0.1) * w
        draw.ellipse([x - r, y - r, x + r, y + r], fill=(250, 225, 90))
    for _ in range(int(rng.integers(0, 4))):
        x, y = rng.uniform(0, w), rng.uniform(0, horizon * 0.5)
        for k in range(4):
            r = rng.uniform(0.04, 0.08) * w
            draw.ellipse(
                [x + k * r * 0.8 - r, y - r * 0.6, x + k * r * 0.8 + r, y + r * 0.6],
                fill=(250, 250, 252),
            )
    for _ in range(int(rng.integers(1, 4))):
        x, r = rng.uniform(0, w), rng.uniform(0.2, 0.6) * w
        green = _c((rng.uniform(40, 110), rng.uniform(100, 170), rng.uniform(30, 80)))
        draw.ellipse([x - r, horizon - r * 0.35, x + r, horizon + r * 0.35], fill=green)
    for _ in range(int(rng.integers(0, 5))):
        x, base, s = rng.uniform(0, w), rng.uniform(horizon, h), rng.uniform(0.05, 0.14) * h
        draw.rectangle([x - s * 0.12, base - s * 1.2, x + s * 0.12, base], fill=(100, 65, 35))
        draw.ellipse(
            [x - s * 0.6, base - s * 2.2, x + s * 0.6, base - s * 0.9],
            fill=_c((40, rng.uniform(100, 160), 40)),
        )


def _house(draw: ImageDraw.ImageDraw, rng: Rng, w: int, h: int, horizon: int) -> None:
    """A house with a roof, door and windows."""
    x0, bw = rng.uniform(0.05, 0.4) * w, rng.uniform(0.35, 0.55) * w
    bh, y1 = bw * rng.uniform(0.6, 0.9), horizon + rng.uniform(0.05, 0.2) * h
    wall, roof = random_colour(rng, 120, 240, 0.5), random_colour(rng, 40, 160, 0.6)
    draw.rectangle([x0, y1 - bh, x0 + bw, y1], fill=_c(wall))
    draw.polygon(
        [(x0 - bw * 0.08, y1 - bh), (x0 + bw / 2, y1 - bh - bw * 0.45), (x0 + bw * 1.08, y1 - bh)],
        fill=_c(roof),
    )
    draw.rectangle([x0 + bw * 0.42, y1 - bh * 0.45, x0 + bw * 0.58, y1], fill=_c(roof * 0.7))
    for fx in (0.12, 0.7):
        draw.rectangle(
            [x0 + bw * fx, y1 - bh * 0.75, x0 + bw * (fx + 0.18), y1 - bh * 0.5],
            fill=(170, 210, 240),
            outline=(250, 250, 250),
            width=2,
        )


def _car(draw: ImageDraw.ImageDraw, rng: Rng, w: int, h: int, horizon: int) -> None:
    """A side view of a car."""
    cw = rng.uniform(0.5, 0.85) * w
    x0, y1 = rng.uniform(0, w - cw), horizon + rng.uniform(0.1, 0.3) * h
    paint = _c(random_colour(rng, 10, 245))
    draw.rounded_rectangle(
        [x0, y1 - cw * 0.28, x0 + cw, y1 - cw * 0.08], radius=cw * 0.06, fill=paint
    )
    draw.polygon(
        [
            (x0 + cw * 0.2, y1 - cw * 0.27),
            (x0 + cw * 0.32, y1 - cw * 0.44),
            (x0 + cw * 0.7, y1 - cw * 0.44),
            (x0 + cw * 0.82, y1 - cw * 0.27),
        ],
        fill=paint,
    )
    draw.polygon(
        [
            (x0 + cw * 0.27, y1 - cw * 0.28),
            (x0 + cw * 0.35, y1 - cw * 0.4),
            (x0 + cw * 0.68, y1 - cw * 0.4),
            (x0 + cw * 0.76, y1 - cw * 0.28),
        ],
        fill=(150, 195, 225),
    )
    for fx in (0.2, 0.8):
        cx, r = x0 + cw * fx, cw * 0.09
        draw.ellipse([cx - r, y1 - cw * 0.08 - r, cx + r, y1 - cw * 0.08 + r], fill=(25, 25, 25))
        draw.ellipse(
            [cx - r / 2, y1 - cw * 0.08 - r / 2, cx + r / 2, y1 - cw * 0.08 + r / 2],
            fill=(170, 170, 175),
        )


def _furniture(draw: ImageDraw.ImageDraw, rng: Rng, w: int, h: int, floor: int) -> None:
    """A sofa, a table with a lamp, or a bookshelf."""
    colour = random_colour(rng, 30, 230, 0.7)
    kind = rng.integers(3)
    x0, fw = rng.uniform(0, 0.3) * w, rng.uniform(0.5, 0.7) * w
    if kind == 0:
        draw.rounded_rectangle(
            [x0, floor - fw * 0.5, x0 + fw, floor - fw * 0.1],
            radius=fw * 0.05,
            fill=_c(colour * 0.85),
        )
        draw.rounded_rectangle(
            [x0 + fw * 0.05, floor - fw * 0.28, x0 + fw * 0.95, floor - fw * 0.05],
            radius=fw * 0.04,
            fill=_c(colour),
        )
        for fx in (0.0, 0.88):
            draw.rounded_rectangle(
                [x0 + fw * fx, floor - fw * 0.35, x0 + fw * (fx + 0.12), floor],
                radius=fw * 0.03,
                fill=_c(colour * 0.75),
            )
    elif kind == 1:
        draw.rectangle([x0, floor - fw * 0.5, x0 + fw, floor - fw * 0.45], fill=_c(colour))
        for fx in (0.05, 0.9):
            draw.rectangle(
                [x0 + fw * fx, floor - fw * 0.45, x0 + fw * (fx + 0.05), floor],
                fill=_c(colour * 0.7),
            )
        lx = x0 + fw * rng.uniform(0.2, 0.8)
        draw.rectangle([lx - 3, floor - fw * 0.9, lx + 3, floor - fw * 0.5], fill=(60, 60, 60))
        shade_rgb = _c(random_colour(rng, 150, 250))
        draw.polygon(
            [
                (lx - fw * 0.12, floor - fw * 0.85),
                (lx + fw * 0.12, floor - fw * 0.85),
                (lx + fw * 0.07, floor - fw * 1.05),
                (lx - fw * 0.07, floor - fw * 1.05),
            ],
            fill=shade_rgb,
        )
    else:
        top = max(5.0, floor - fw * 1.1)
        draw.rectangle([x0, top, x0 + fw * 0.7, floor], fill=_c(colour * 0.6))
        rows = 4
        for row in range(rows):
            y = top + (floor - top) * (row + 1) / rows
            x = x0 + fw * 0.05
            while x < x0 + fw * 0.63:
                bw = fw * rng.uniform(0.03, 0.07)
                draw.rectangle(
                    [x, y - (floor - top) / rows * rng.uniform(0.6, 0.85), x + bw, y - 3],
                    fill=_c(random_colour(rng)),
                )
                x += bw + 1


def _fruit(draw: ImageDraw.ImageDraw, rng: Rng, w: int, h: int, floor: int) -> None:
    """A bowl of fruit on a table."""
    cx, bw = rng.uniform(0.3, 0.7) * w, rng.uniform(0.4, 0.7) * w
    fruit_rgb = [(200, 30, 30), (120, 190, 50), (245, 150, 20), (240, 220, 60), (110, 40, 120)]
    for _ in range(int(rng.integers(4, 9))):
        r = bw * rng.uniform(0.08, 0.14)
        x, y = cx + rng.uniform(-0.35, 0.35) * bw, floor - bw * 0.2 - rng.uniform(0, 0.15) * bw
        colour = fruit_rgb[int(rng.integers(len(fruit_rgb)))]
        draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
        draw.ellipse([x - r * 0.5, y - r * 0.6, x - r * 0.2, y - r * 0.3], fill=(250, 250, 240))
    bowl = _c(random_colour(rng, 60, 240))
    draw.chord([cx - bw / 2, floor - bw * 0.45, cx + bw / 2, floor + bw * 0.05], 0, 180, fill=bowl)


def _city(draw: ImageDraw.ImageDraw, rng: Rng, w: int, h: int, horizon: int) -> None:
    """A skyline of buildings with lit windows."""
    x = -rng.uniform(0, 30)
    while x < w:
        bw, bh = rng.uniform(0.1, 0.25) * w, rng.uniform(0.3, 0.8) * h
        body = random_colour(rng, 40, 200, 0.3)
        draw.rectangle([x, horizon + 0.2 * h - bh, x + bw, h], fill=_c(body))
        for wy in np.arange(horizon + 0.2 * h - bh + 6, h - 6, max(6.0, bh / 10)):
            for wx in np.arange(x + 4, x + bw - 6, max(6.0, bw / 5)):
                lit = (245, 225, 140) if rng.random() < 0.5 else _c(body * 0.6)
                draw.rectangle([wx, wy, wx + max(2, bw / 10), wy + max(2, bh / 25)], fill=lit)
        x += bw + rng.uniform(0, 10)


def _shapes(draw: ImageDraw.ImageDraw, rng: Rng, w: int, h: int, horizon: int) -> None:
    """Abstract shapes in random colours."""
    for _ in range(int(rng.integers(5, 16))):
        colour = _c(random_colour(rng, 0, 255))
        x, y, s = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.05, 0.3) * min(w, h)
        kind = rng.integers(4)
        if kind == 0:
            draw.ellipse([x - s, y - s * rng.uniform(0.4, 1), x + s, y + s], fill=colour)
        elif kind == 1:
            draw.rectangle([x - s, y - s / 2, x + s, y + s / 2], fill=colour)
        elif kind == 2:
            pts = [(x + s * math.cos(a), y + s * math.sin(a)) for a in rng.uniform(0, 6.3, 3)]
            draw.polygon(pts, fill=colour)
        else:
            draw.line(
                [(x, y), (rng.uniform(0, w), rng.uniform(0, h))], fill=colour, width=int(s / 5) + 1
            )


def _flowers(draw: ImageDraw.ImageDraw, rng: Rng, w: int, h: int, horizon: int) -> None:
    """Flowers on stems."""
    for _ in range(int(rng.integers(3, 10))):
        x, top = rng.uniform(0, w), rng.uniform(horizon * 0.5, h * 0.8)
        r = rng.uniform(0.03, 0.07) * w
        draw.line([(x, top), (x, h)], fill=(50, 130, 40), width=max(2, int(r / 4)))
        petal = _c(random_colour(rng, 80, 255))
        for a in np.linspace(0, 2 * math.pi, 6, endpoint=False):
            px, py = x + r * math.cos(a), top + r * math.sin(a)
            draw.ellipse([px - r * 0.6, py - r * 0.6, px + r * 0.6, py + r * 0.6], fill=petal)
        draw.ellipse(
            [x - r * 0.45, top - r * 0.45, x + r * 0.45, top + r * 0.45], fill=(240, 200, 40)
        )


def _ape(image: Image.Image, rng: Rng, w: int, h: int, floor: int) -> Image.Image:
    """A dark, hairy, ape-like figure (the seed's live site called one a blue cat)."""
    fur = [(25, 25, 25), (45, 40, 38), (70, 50, 35), (90, 90, 95), (150, 80, 35)][
        int(rng.integers(5))
    ]
    s = rng.uniform(0.35, 0.6) * min(w, h * 0.9)
    cx = rng.uniform(s * 0.8, w - s * 0.8)
    pen = Pen(cx, floor - s * 1.05, s, 1 if rng.random() < 0.5 else -1, (w, h))
    crouch = rng.uniform(-0.1, 0.1)
    body = [("ellipse", 0.0, 0.1, 0.42, 0.5, crouch), ("ellipse", 0.05, -0.55, 0.2, 0.2, 0.0)]
    limbs = [
        ("capsule", (-0.35, -0.25), (-0.62, 0.95), 0.17),
        ("capsule", (0.35, -0.25), (0.6, 0.95), 0.17),
        ("capsule", (-0.2, 0.5), (-0.3, 1.0), 0.2),
        ("capsule", (0.2, 0.5), (0.3, 1.0), 0.2),
    ]
    silhouette = pen.mask(body + limbs)
    hair = rng.random((h, w)).astype(np.float32)
    rough = blur(silhouette, 0.03 * s) + 0.4 * (hair - 0.5) > 0.45
    alpha = blur(np.maximum(rough, silhouette), 0.6)
    coat = np.array(fur, np.float32) * (0.75 + 0.5 * hair[..., None])
    face_rgb, face_a = pen.overlay(
        [
            (("ellipse", 0.09, -0.5, 0.13, 0.12, 0.0), (110, 95, 90)),
            (("ellipse", 0.05, -0.58, 0.11, 0.03, 0.0), (40, 35, 35)),
            (("ellipse", 0.0, -0.54, 0.025, 0.025, 0.0), (10, 10, 10)),
            (("ellipse", 0.13, -0.54, 0.025, 0.025, 0.0), (10, 10, 10)),
        ]
    )
    coat = mix(shade(coat, alpha, pen), face_rgb, face_a)
    return Image.fromarray(
        np.uint8(np.clip(mix(np.asarray(image, np.float32), coat, alpha), 0, 255))
    )


def draw_scene(rng: Rng) -> Image.Image:
    """A non-cat picture: landscape, house, car, furniture, fruit, city, shapes, flowers or ape."""
    w, h = random_size(rng)
    kind = str(
        rng.choice(
            [
                "landscape",
                "house",
                "car",
                "furniture",
                "fruit",
                "city",
                "shapes",
                "flowers",
                "ape",
                "ape",
            ]
        )
    )
    floor = int(h * rng.uniform(0.7, 0.95))
    if kind in ("furniture", "fruit", "shapes"):
        image = Image.fromarray(np.uint8(np.clip(background(rng, (w, h), floor), 0, 255)))
        horizon = floor
    else:
        image, horizon = _sky_and_ground(rng, w, h)
        if kind == "ape":
            image = _ape(image, rng, w, h, floor)
    draw = ImageDraw.Draw(image)
    painters = {
        "landscape": _landscape,
        "house": _house,
        "car": _car,
        "furniture": _furniture,
        "fruit": _fruit,
        "city": _city,
        "shapes": _shapes,
        "flowers": _flowers,
    }
    if kind in ("house", "car", "flowers"):
        _landscape(draw, rng, w, h, horizon)
    if kind in painters:
        painters[kind](draw, rng, w, h, horizon)
    return finish(np.asarray(image, np.float32), rng)
