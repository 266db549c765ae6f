"""Decoded pictures fitted for their uses: RGB, the model's input, thumbnails, perceptual hash."""

import io

import numpy as np
from PIL import Image

THUMBNAIL_SIDE = 256  # pixels: the grids' thumbnails
PAD_COLOUR = (128, 128, 128)
_FIT_REDUCING_GAP = 3.0  # model inputs within 0.3 of 255 (mean) of a plain bicubic resize
# a thumbnail is first box-reduced to no less than 1.5x its size (Pillow's reducing_gap): from a
# 1000-pixel picture 2.4x faster than LANCZOS alone, and within one grey level (mean) of it
THUMBNAIL_REDUCING_GAP = 1.5
_GREY_BAND_ROWS = 128  # rows converted at a time from 16/32-bit grey: small temporary arrays


def grey_to_8bit(image: Image.Image) -> Image.Image:
    """16/32-bit or float grey as 8-bit "L", a band of rows at a time (no big temporary array)."""
    is_wide = image.mode.startswith("I;16") or (image.mode == "I" and image.getextrema()[1] > 255)
    grey = Image.new("L", image.size)
    for top in range(0, image.height, _GREY_BAND_ROWS):
        box = (0, top, image.width, min(top + _GREY_BAND_ROWS, image.height))
        band = np.asarray(image.crop(box))
        if band.dtype.kind == "f":
            band = np.clip(np.rint(band), 0, 255)  # float32 from Pillow's "F" mode
        elif is_wide:  # 0..65535 -> 0..255, rounded: (2v + 257) // 514 == round(v / 257)
            band = (np.clip(band, 0, 65535).astype(np.uint32) * 2 + 257) // 514
        else:
            band = np.clip(band, 0, 255)
        grey.paste(Image.fromarray(band.astype(np.uint8), "L"), box)
    return grey


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to RGB: alpha composited on white, 16/32-bit scaled to 8-bit."""
    if image.mode == "RGB":
        return image
    if image.mode.startswith(("I", "F")):
        return grey_to_8bit(image).convert("RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or image.has_transparency_data:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def make_thumbnail(image: Image.Image, size: int = THUMBNAIL_SIDE) -> bytes:
    """JPEG bytes of the image with its longest side at most size pixels, aspect ratio kept."""
    thumbnail = to_rgb(image.copy())
    thumbnail.thumbnail((size, size), Image.Resampling.LANCZOS, reducing_gap=THUMBNAIL_REDUCING_GAP)
    buffer = io.BytesIO()
    thumbnail.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def check_fit(size: int, mode: str) -> None:
    """ValueError for a fit mode or size that fit_image cannot do."""
    if mode not in ("pad", "crop"):
        raise ValueError(f"fit mode {mode!r} is not supported; use 'pad' or 'crop'.")
    if size < 1:
        raise ValueError(f"size {size!r} must be a positive number of pixels.")


def fit_image(image: Image.Image, size: int, mode: str = "pad") -> Image.Image:
    """A size x size RGB image without stretching: letterboxed on grey ("pad") or centre-cropped.

    The geometry of ImageOps.pad and ImageOps.fit; the resize first box-reduces to at least
    _FIT_REDUCING_GAP times the size (Pillow's reducing_gap), 4-6x faster from a large picture.
    """
    check_fit(size, mode)
    rgb = to_rgb(image)
    width, height = rgb.size
    bicubic = Image.Resampling.BICUBIC
    if mode == "crop":
        side = min(width, height)
        left, top = (width - side) * 0.5, (height - side) * 0.5
        box = (left, top, left + side, top + side)
        return rgb.resize((size, size), bicubic, box=box, reducing_gap=_FIT_REDUCING_GAP)
    if width >= height:
        target = (size, max(1, round(height / width * size)))
    else:
        target = (max(1, round(width / height * size)), size)
    resized = rgb.resize(target, bicubic, reducing_gap=_FIT_REDUCING_GAP)
    if target == (size, size):
        return resized
    padded = Image.new("RGB", (size, size), PAD_COLOUR)
    padded.paste(resized, (round((size - target[0]) * 0.5), round((size - target[1]) * 0.5)))
    return padded


def to_model_array(image: Image.Image, size: int, mode: str = "pad") -> np.ndarray:
    """The image fitted to size x size as a uint8 array of shape (size, size, 3)."""
    return np.array(fit_image(image, size, mode), dtype=np.uint8)


def perceptual_hash(image: Image.Image) -> str:
    """64-bit difference hash (dHash) of the image as 16 hex characters."""
    grey = np.asarray(image.convert("L").resize((9, 8), Image.Resampling.LANCZOS), dtype=np.int16)
    bits = grey[:, 1:] > grey[:, :-1]  # 8 rows x 8 comparisons, left to right
    return np.packbits(bits).tobytes().hex()
