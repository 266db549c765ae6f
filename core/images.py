"""Image bytes in, a checked RGB picture out: decoding, limits, resizing and perceptual hashes."""

import hashlib
import io
import math
import struct
import warnings
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import UserError

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MIN_SIDE = 32  # pixels, both sides
DEFAULT_MAX_PIXELS = 40_000_000  # decompression-bomb limit
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "MPO"}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".jpe", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff")

PAD_COLOUR = (128, 128, 128)
_MEGABYTE = 1024 * 1024
_CHUNK_BYTES = 1024 * 1024
_ACCEPTED_NAMES = "JPEG, PNG, WebP, GIF, BMP or TIFF"
# What Pillow's many format parsers raise on damaged data (UnidentifiedImageError is an OSError).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, struct.error)


class ImageError(UserError):
    """An uploaded or downloaded file is not an image we can use; the message says why."""


@dataclass(frozen=True)
class DecodedImage:
    """A checked image: the original bytes plus an RGB, EXIF-oriented, fully loaded picture."""

    filename: str
    data: bytes  # the original bytes, untouched
    sha256: str  # hex of data
    format: str  # Pillow format name, e.g. "JPEG"
    width: int  # after EXIF orientation
    height: int
    image: Image.Image  # RGB, EXIF-oriented, fully loaded


def _size_text(num_bytes: int, *, round_up: bool = False) -> str:
    """A byte count in MB (KB below 1 MB); round_up so an excess never reads as the limit."""
    unit, name = (_MEGABYTE, "MB") if num_bytes >= _MEGABYTE else (1024, "KB")
    if round_up:
        return f"{math.ceil(num_bytes * 10 / unit) / 10:g} {name}"
    return f"{num_bytes / unit:.3g} {name}"


def _too_big_error(filename: str, num_bytes: int | None, max_bytes: int) -> ImageError:
    """The one message for a file over the byte limit; num_bytes None if not read to the end."""
    size = "" if num_bytes is None else f"{_size_text(num_bytes, round_up=True)}, "
    return ImageError(
        f"Image {filename!r} is {size}over the {_size_text(max_bytes)} limit; "
        f"upload a smaller or more compressed copy."
    )


def _describe_non_image(data: bytes) -> str:
    """Say what a file that Pillow cannot identify looks like, for the error message."""
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or b"<html" in head:
        return "an HTML page, perhaps an error or login page saved instead of the picture"
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            return "a text file"
    return "not a file type we recognise"


def _to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to RGB: alpha composited on white, 16/32-bit scaled to 8-bit."""
    if image.mode == "RGB":
        return image
    if image.mode.startswith(("I", "F")):
        values = np.asarray(image, dtype=np.float64)
        if image.mode.startswith("I;16") or (image.mode == "I" and values.max(initial=0) > 255):
            values = values / 257.0  # 0..65535 -> 0..255
        grey = np.clip(np.rint(values), 0, 255).astype(np.uint8)
        return Image.fromarray(grey).convert("RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or image.has_transparency_data:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def decode_image(
    data: bytes,
    filename: str = "image",
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    min_side: int = DEFAULT_MIN_SIDE,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> DecodedImage:
    """Check and decode image bytes into an RGB, EXIF-oriented picture; ImageError if unusable."""
    if not data:
        raise ImageError(f"Image {filename!r} is empty (0 bytes); upload the file again.")
    if len(data) > max_bytes:
        raise _too_big_error(filename, len(data), max_bytes)
    megapixels = f"{max_pixels / 1_000_000:.3g}"
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as opened:
                fmt = opened.format or "unknown"
                if fmt not in ACCEPTED_FORMATS:
                    raise ImageError(
                        f"Image {filename!r} is in {fmt} format, which is not accepted; "
                        f"save it as {_ACCEPTED_NAMES} and upload it again."
                    )
                width, height = opened.size  # from the header: no pixels decoded yet
                if width * height > max_pixels:
                    raise ImageError(
                        f"Image {filename!r} is {width}x{height} pixels, over the {megapixels} "
                        f"megapixel limit; resize it and upload it again."
                    )
                if min(width, height) < min_side:
                    raise ImageError(
                        f"Image {filename!r} is only {width}x{height} pixels; upload a picture "
                        f"at least {min_side}x{min_side} pixels."
                    )
                opened.seek(0)  # animated GIF/WebP/MPO: the first frame
                opened.load()
                image = _to_rgb(ImageOps.exif_transpose(opened))
        except UnidentifiedImageError as err:
            kind = _describe_non_image(data)
            raise ImageError(
                f"File {filename!r} is not an image ({kind}); upload a {_ACCEPTED_NAMES} picture."
            ) from err
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
            pillow_limit = Image.MAX_IMAGE_PIXELS or max_pixels  # Pillow may stop below ours
            megapixels = f"{min(max_pixels, pillow_limit) / 1_000_000:.3g}"
            raise ImageError(
                f"Image {filename!r} declares far too many pixels (over the {megapixels} "
                f"megapixel limit, a possible decompression bomb); upload an ordinary photo."
            ) from err
        except _DECODE_ERRORS as err:
            reason = str(err).splitlines()[0].rstrip(".") if str(err) else type(err).__name__
            raise ImageError(
                f"Image {filename!r} is truncated or corrupt ({reason}); "
                f"upload the original file again."
            ) from err
    return DecodedImage(
        filename=filename,
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        format=fmt,
        width=image.width,
        height=image.height,
        image=image,
    )


def read_limited(stream: BinaryIO, max_bytes: int, filename: str) -> bytes:
    """Read a whole stream but at most max_bytes + 1 bytes; ImageError if it is larger."""
    chunks: list[bytes] = []
    remaining = max_bytes + 1
    while remaining > 0:
        chunk = stream.read(min(remaining, _CHUNK_BYTES))  # a short read is not the end
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    data = b"".join(chunks)
    if len(data) > max_bytes:
        raise _too_big_error(filename, None, max_bytes)
    return data


def make_thumbnail(image: Image.Image, size: int = 256) -> bytes:
    """JPEG bytes of the image with its longest side at most size pixels, aspect ratio kept."""
    thumbnail = _to_rgb(image.copy())
    thumbnail.thumbnail((size, size), Image.Resampling.LANCZOS, reducing_gap=2.0)
    buffer = io.BytesIO()
    thumbnail.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def fit_image(image: Image.Image, size: int, mode: str = "pad") -> Image.Image:
    """A size x size RGB image without stretching: letterboxed on grey ("pad") or centre-cropped."""
    if mode not in ("pad", "crop"):
        raise ValueError(f"fit mode {mode!r} is not supported; use 'pad' or 'crop'.")
    if size < 1:
        raise ValueError(f"size {size!r} must be a positive number of pixels.")
    rgb = _to_rgb(image)
    if mode == "pad":
        return ImageOps.pad(rgb, (size, size), Image.Resampling.BICUBIC, color=PAD_COLOUR)
    return ImageOps.fit(rgb, (size, size), Image.Resampling.BICUBIC)


def to_model_array(image: Image.Image, size: int, mode: str = "pad") -> np.ndarray:
    """The image fitted to size x size as a uint8 array of shape (size, size, 3)."""
    return np.array(fit_image(image, size, mode), dtype=np.uint8)


def perceptual_hash(image: Image.Image) -> str:
    """64-bit difference hash (dHash) of the image as 16 hex characters."""
    grey = np.asarray(image.convert("L").resize((9, 8), Image.Resampling.LANCZOS), dtype=np.int16)
    bits = grey[:, 1:] > grey[:, :-1]  # 8 rows x 8 comparisons, left to right
    return np.packbits(bits).tobytes().hex()


def hash_distance(a: str, b: str) -> int:
    """Hamming distance (number of differing bits) between two perceptual hashes."""
    if len(a) != len(b):
        raise ValueError(f"perceptual hashes {a!r} and {b!r} have different lengths.")
    return (int(a, 16) ^ int(b, 16)).bit_count()


def is_image_filename(name: str) -> bool:
    """Whether the name ends with an image suffix, ignoring case (".JPEG" counts)."""
    return name.lower().endswith(IMAGE_SUFFIXES)
