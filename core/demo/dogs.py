"""Demo dogs of distinct breeds: each breed's proportions, ears, tail and coat."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from core.demo.drawing import RGB, Array, Pen, Point, Rng, Shape, bezier, blur, mix, render, shade

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
DOG_BREEDS: tuple[str, ...] = tuple(DOG_SPECS)  # the order demo samples cycle through


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


def draw_dog(breed: str, rng: Rng, size: tuple[int, int] | None = None) -> Image.Image:
    """A dog of one of DOG_BREEDS, with that breed's shape and coat."""
    if breed not in DOG_BREEDS:
        raise ValueError(f"Breed {breed!r} is not drawn; use one of: {', '.join(DOG_BREEDS)}.")
    image, _ = render(
        rng, size, lambda r: dog_geometry(breed, r), lambda g, p, r: paint_dog(breed, g, p, r)
    )
    return image
