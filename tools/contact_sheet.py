"""Draw demo samples in a grid with each label written under its image (a PNG contact sheet).

Usage: .venv/bin/python tools/contact_sheet.py [--schema cat_phenotype] [--count 24] [--seed 3]
       [--out docs/demo-contact-sheet.png]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.demo.samples import DemoSample, demo_samples  # noqa: E402
from core.labels import get_schema  # noqa: E402

TILE, CAPTION, COLUMNS = 200, 34, 6


def caption(schema_name: str, sample: DemoSample) -> list[str]:
    """Two short lines describing a sample's true label."""
    truth = sample.truth
    if schema_name != "cat_phenotype":
        return [str(truth.get("breed", "")), ""]
    if not truth["is_cat"]:
        return ["not a cat", ""]
    first = f"{truth['colour']} {'tabby' if truth['is_tabby'] else 'not tabby'}"
    return [first, f"{truth['pattern']}{', pointed' if truth['is_pointed'] else ''}"]


def contact_sheet(schema_name: str, count: int, seed: int) -> Image.Image:
    """A grid of `count` samples, captions under each."""
    get_schema(schema_name)
    rows = -(-count // COLUMNS)
    sheet = Image.new("RGB", (COLUMNS * TILE, rows * (TILE + CAPTION)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=14)
    for index, sample in enumerate(demo_samples(schema_name, count, seed=seed)):
        x, y = (index % COLUMNS) * TILE, (index // COLUMNS) * (TILE + CAPTION)
        tile = ImageOps.pad(sample.image, (TILE - 6, TILE - 6), color=(255, 255, 255))
        sheet.paste(tile, (x + 3, y + 3))
        for line_no, text in enumerate(caption(schema_name, sample)):
            draw.text((x + 6, y + TILE + line_no * 15), text, fill=(0, 0, 0), font=font)
    return sheet


def main() -> None:
    """Write the contact sheet PNG."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schema", default="cat_phenotype")
    parser.add_argument("--count", type=int, default=24)
    parser.add_argument("--seed", type=int, default=3)  # a balanced first 24
    parser.add_argument("--out", default="docs/demo-contact-sheet.png")
    args = parser.parse_args()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    contact_sheet(args.schema, args.count, args.seed).save(out, optimize=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
