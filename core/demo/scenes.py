"""Demo pictures that are not cats: landscapes, houses, cars, furniture, fruit, cities, apes."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from core.demo.drawing import (
    RGB,
    Array,
    Pen,
    Rng,
    background,
    blur,
    finish,
    mix,
    random_colour,
    random_size,
    shade,
)


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
    """A dark, hairy, ape-like figure (dark fur that a model may take for a blue cat)."""
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
