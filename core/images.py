"""Image bytes in, checked RGB pictures out: the one decode entry point and its limits.

`decode_photo` is what every path should call: it checks the header, decodes only as many pixels
as its consumers need (JPEG DCT scaling, then an integer box reduction), applies the EXIF
orientation after that, and derives the model input, the thumbnail and the perceptual hash from
that one reduced picture. Training and serving both call it, so the model sees the same pixels.
Telling formats apart is in image_formats.py, fitting and hashing pictures in image_fit.py (their
public names are importable from here too).
"""

import hashlib
import io
import struct
import warnings
from dataclasses import dataclass
from functools import cached_property
from typing import BinaryIO

import numpy as np
from PIL import Image, UnidentifiedImageError

from core.errors import UserError
from core.image_fit import (  # noqa: F401 - fit_image, PAD_COLOUR: importable from here too
    PAD_COLOUR,
    THUMBNAIL_SIDE,
    check_fit,
    fit_image,
    make_thumbnail,
    perceptual_hash,
    to_model_array,
    to_rgb,
)
from core.image_formats import (
    ACCEPTED_FORMATS,  # noqa: F401 - importable from here too
    ACCEPTED_NAMES,
    describe_non_image,
    foreign_format,
    heif_format,
    not_accepted_message,
)
from core.sizes import size_text

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MIN_SIDE = 32  # pixels, both sides
DEFAULT_MAX_PIXELS = 40_000_000  # decompression-bomb limit
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".jpe", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff")
PREVIEW_SIDE = 720  # pixels: the largest preview shown (the breeder page's photo)
DECODE_SIDE = max(THUMBNAIL_SIDE, PREVIEW_SIDE)  # longest side a reduced decode keeps, at least

_OPEN_ORDER = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")  # only these parsers; JPEG opens MPO
# What Pillow's format parsers and decoders raise on damaged or unusual data (UnidentifiedImageError
# and DecompressionBombError are handled before these; MemoryError has its own message).
_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    TypeError,
    EOFError,
    IndexError,
    KeyError,
    ArithmeticError,
    NotImplementedError,
    struct.error,
)
_ORIENTATIONS = {  # EXIF orientation -> the transpose that shows the picture upright
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class ImageError(UserError):
    """An uploaded or downloaded file is not an image we can use; the message says why."""


@dataclass(frozen=True)
class DecodedImage:
    """A checked image: the original bytes plus an RGB, EXIF-oriented, fully loaded picture."""

    filename: str
    data: bytes  # the original bytes, untouched
    sha256: str  # hex of data
    format: str  # Pillow format name, e.g. "JPEG"
    width: int  # of the original, after EXIF orientation
    height: int
    image: Image.Image  # RGB, EXIF-oriented, fully loaded (reduced in a Photo)


@dataclass(frozen=True, eq=False)
class Photo(DecodedImage):
    """One reduced decode: a picture just large enough for every consumer, and what they need.

    `image` keeps a longest side of at least DECODE_SIDE (or the model size, if larger) and
    `width`/`height` are the original's, so a Photo can stand in wherever a DecodedImage goes.
    """

    model_array: np.ndarray | None = None  # model_size x model_size x 3 uint8, when asked for

    @cached_property
    def thumbnail(self) -> bytes:
        """JPEG bytes of the 256-pixel grid thumbnail."""
        return make_thumbnail(self.image, THUMBNAIL_SIDE)

    @cached_property
    def perceptual_hash(self) -> str:
        """The 64-bit difference hash, for finding near-duplicates."""
        return perceptual_hash(self.image)


@dataclass(frozen=True)
class _Cover:
    """How many pixels a reduced decode must keep: its longest and its shortest side."""

    longest: int
    shortest: int = 1

    def factor(self, size: tuple[int, int]) -> int:
        """The largest integer reduction of size that still covers both sides (1: none)."""
        return max(1, min(max(size) // self.longest, min(size) // self.shortest))


def _too_big_error(filename: str, num_bytes: int | None, max_bytes: int) -> ImageError:
    """The one message for a file over the byte limit; num_bytes None if not read to the end."""
    size = "" if num_bytes is None else size_text(num_bytes, round_up=True, min_unit="KB") + ", "
    limit = size_text(max_bytes, min_unit="KB")
    return ImageError(
        f"Image {filename!r} is {size}over the {limit} limit; "
        f"upload a smaller or more compressed copy."
    )


def _check_header(image: Image.Image, filename: str, min_side: int, max_pixels: int) -> None:
    """Refuse too many or too few pixels from the header alone, before anything is decoded."""
    width, height = image.size
    if width * height > max_pixels:
        raise ImageError(
            f"Image {filename!r} is {width}x{height} pixels, over the "
            f"{max_pixels / 1_000_000:.3g} megapixel limit; resize it and upload it again."
        )
    if min(width, height) < min_side:
        raise ImageError(
            f"Image {filename!r} is only {width}x{height} pixels; upload a picture "
            f"at least {min_side}x{min_side} pixels."
        )


def _load_reduced(opened: Image.Image, cover: _Cover | None) -> tuple[Image.Image, bool]:
    """Decode no more pixels than cover needs (None: all) as an upright RGB picture; turned?"""
    opened.seek(0)  # animated GIF/WebP/MPO: the first frame
    orientation = opened.getexif().get(0x0112, 1)  # read before a reduction can drop the tag
    if cover is not None and opened.format in ("JPEG", "MPO"):
        scale = next(s for s in (8, 4, 2, 1) if s <= cover.factor(opened.size))
        if scale > 1:  # libjpeg's DCT scaling: decodes 1/scale of the pixels, about as sharp
            opened.draft(None, (opened.width // scale, opened.height // scale))
    opened.load()
    image: Image.Image = opened
    if cover is not None and (factor := cover.factor(image.size)) > 1:
        if image.mode not in ("RGB", "RGBA", "L", "LA", "CMYK"):
            image = to_rgb(image)  # palette and 16-bit: to 8 bits first
        image = image.reduce(factor)  # a box filter: fast; the resizes after it smooth it
    image = to_rgb(image)
    if orientation in _ORIENTATIONS:
        image = image.transpose(_ORIENTATIONS[orientation])
    return image, orientation in (5, 6, 7, 8)  # these turn it a quarter: the sides swap


def _decode(
    data: bytes,
    filename: str,
    *,
    cover: _Cover | None,
    max_bytes: int,
    min_side: int,
    max_pixels: int,
) -> DecodedImage:
    """Check and decode, reduced to cover if given; ImageError if unusable."""
    if not data:
        raise ImageError(f"Image {filename!r} is empty (0 bytes); upload the file again.")
    if len(data) > max_bytes:
        raise _too_big_error(filename, len(data), max_bytes)
    if heif := heif_format(data):  # refused before any parser: Pillow cannot open HEIC
        raise ImageError(not_accepted_message(filename, heif))
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=_OPEN_ORDER) as opened:
                fmt = opened.format or "unknown"
                _check_header(opened, filename, min_side, max_pixels)  # no pixels decoded yet
                width, height = opened.size
                image, is_turned = _load_reduced(opened, cover)
        except UnidentifiedImageError as err:
            kind = describe_non_image(data)  # first: text such as "Pyjamas" looks like PPM
            if kind is None and (foreign := foreign_format(data)):
                raise ImageError(not_accepted_message(filename, foreign)) from err
            raise ImageError(
                f"File {filename!r} is not an image ({kind or 'not a file type we recognise'}); "
                f"upload a {ACCEPTED_NAMES} picture."
            ) from err
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
            pillow_limit = Image.MAX_IMAGE_PIXELS or max_pixels  # Pillow may stop below ours
            megapixels = f"{min(max_pixels, pillow_limit) / 1_000_000:.3g}"
            raise ImageError(
                f"Image {filename!r} declares far too many pixels (over the {megapixels} "
                f"megapixel limit, a possible decompression bomb); upload an ordinary photo."
            ) from err
        except MemoryError as err:
            raise ImageError(
                f"Image {filename!r} needs more memory to decode than this server has; "
                f"resize it and upload it again."
            ) from err
        except _DECODE_ERRORS as err:
            reason = str(err).splitlines()[0].rstrip(".") if str(err) else type(err).__name__
            raise ImageError(
                f"Image {filename!r} is truncated or corrupt ({reason}); "
                f"upload the original file again."
            ) from err
    if is_turned:
        width, height = height, width
    return DecodedImage(
        filename=filename,
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        format=fmt,
        width=width,
        height=height,
        image=image,
    )


def decode_image(
    data: bytes,
    filename: str = "image",
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    min_side: int = DEFAULT_MIN_SIDE,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> DecodedImage:
    """Check and decode image bytes into an RGB, EXIF-oriented picture; ImageError if unusable."""
    return _decode(
        data, filename, cover=None, max_bytes=max_bytes, min_side=min_side, max_pixels=max_pixels
    )


def decode_photo(
    data: bytes,
    filename: str = "image",
    *,
    model_size: int | None = None,
    resize_mode: str = "pad",
    max_bytes: int = DEFAULT_MAX_BYTES,
    min_side: int = DEFAULT_MIN_SIDE,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Photo:
    """Check image bytes and decode them once, reduced to what every consumer needs.

    Args:
        model_size: the model's input side; with it, `model_array` is the model's input
            (fitted by resize_mode, "pad" or "crop"), the same for training and serving.
    """
    if model_size is not None:
        check_fit(model_size, resize_mode)
    side = model_size or 1
    cover = _Cover(max(DECODE_SIDE, side), side if resize_mode == "crop" else 1)
    decoded = _decode(
        data, filename, cover=cover, max_bytes=max_bytes, min_side=min_side, max_pixels=max_pixels
    )
    fitted = None if model_size is None else to_model_array(decoded.image, model_size, resize_mode)
    return Photo(**vars(decoded), model_array=fitted)


def read_limited(stream: BinaryIO, max_bytes: int, filename: str) -> bytes:
    """Read a whole stream but at most max_bytes + 1 bytes; ImageError if it is larger."""
    chunks: list[bytes] = []
    remaining = max_bytes + 1
    while remaining > 0:
        # one read takes a whole file (1 MB reads and a join took a 3.5 MB photo twice as
        # long); a short read is not the end
        chunk = stream.read(remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    data = b"".join(chunks)  # one chunk: that chunk itself, not a copy
    if len(data) > max_bytes:
        raise _too_big_error(filename, None, max_bytes)
    return data


def is_image_filename(name: str) -> bool:
    """Whether the name ends with an image suffix, ignoring case (".JPEG" counts)."""
    return name.lower().endswith(IMAGE_SUFFIXES)
