"""Image bytes in, checked RGB pictures out: the one decode entry point, limits, resizing, hashes.

`decode_photo` is what every path should call: it checks the header, decodes only as many pixels
as its consumers need (JPEG DCT scaling, then an integer box reduction), applies the EXIF
orientation after that, and derives the model input, the thumbnail and the perceptual hash from
that one reduced picture. Training and serving both call it, so the model sees the same pixels.
"""

import hashlib
import io
import math
import struct
import warnings
from dataclasses import dataclass
from functools import cached_property
from typing import BinaryIO

import numpy as np
from PIL import Image, UnidentifiedImageError

from core.errors import UserError

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MIN_SIDE = 32  # pixels, both sides
DEFAULT_MAX_PIXELS = 40_000_000  # decompression-bomb limit
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "MPO"}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".jpe", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff")
THUMBNAIL_SIDE = 256  # pixels: the grids' thumbnails
PREVIEW_SIDE = 720  # pixels: the largest preview shown (the breeder page's photo)
DECODE_SIDE = max(THUMBNAIL_SIDE, PREVIEW_SIDE)  # longest side a reduced decode keeps, at least

PAD_COLOUR = (128, 128, 128)
_MEGABYTE = 1024 * 1024
_CHUNK_BYTES = 1024 * 1024
_ACCEPTED_NAMES = "JPEG, PNG, WebP, GIF, BMP or TIFF"
_OPEN_ORDER = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")  # only these parsers; JPEG opens MPO
_FIT_REDUCING_GAP = 3.0  # model inputs within 0.3 of 255 (mean) of a plain bicubic resize
_GREY_BAND_ROWS = 128  # rows converted at a time from 16/32-bit grey: small temporary arrays
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
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}
_AVIF_BRANDS = {b"avif", b"avis"}
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


def _iso_brands(data: bytes) -> set[bytes]:
    """The major and compatible brands of an ISO media file's leading ftyp box (HEIC, MP4...)."""
    if data[4:8] != b"ftyp" or len(data) < 12:
        return set()
    box_size = min(int.from_bytes(data[:4], "big"), len(data), 4096)
    brands = {data[8:12]}
    brands.update(data[offset : offset + 4] for offset in range(16, box_size - 3, 4))
    return brands


def _heif_format(data: bytes) -> str | None:
    """ "HEIC" or "AVIF" for a HEIF file, told by its ftyp box's brands; None for anything else."""
    brands = _iso_brands(data)
    if brands & _HEIF_BRANDS:
        return "HEIC"
    return "AVIF" if brands & _AVIF_BRANDS else None


def _foreign_format(data: bytes) -> str | None:
    """The name of the other image format whose signature a binary file starts with, if any."""
    Image.init()
    prefix = data[:16]
    for name in Image.ID:
        accept = Image.OPEN[name][1]
        if name not in ACCEPTED_FORMATS and accept is not None and accept(prefix) is True:
            return name
    return None


def _not_accepted_error(filename: str, fmt: str) -> ImageError:
    """The one message for an image in a format we do not take."""
    if fmt == "HEIC":
        return ImageError(
            f"Image {filename!r} is in HEIC format (an iPhone's default), which we cannot read; "
            f"save it as JPEG (on the iPhone: Settings > Camera > Formats > Most Compatible, or "
            f"share it by mail) and upload it again."
        )
    return ImageError(
        f"Image {filename!r} is in {fmt} format, which is not accepted; "
        f"save it as {_ACCEPTED_NAMES} and upload it again."
    )


def _describe_non_image(data: bytes) -> str | None:
    """Say what a file that Pillow cannot identify looks like (None: some binary file)."""
    if _iso_brands(data):
        return "a video or other ISO media file, not a photo"
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
    return None


def _grey_to_8bit(image: Image.Image) -> Image.Image:
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


def _to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to RGB: alpha composited on white, 16/32-bit scaled to 8-bit."""
    if image.mode == "RGB":
        return image
    if image.mode.startswith(("I", "F")):
        return _grey_to_8bit(image).convert("RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or image.has_transparency_data:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


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
            image = _to_rgb(image)  # palette and 16-bit: to 8 bits first
        image = image.reduce(factor)  # a box filter: fast; the resizes after it smooth it
    image = _to_rgb(image)
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
) -> tuple[str, tuple[int, int], Image.Image]:
    """Check and decode: (format, original upright size, RGB picture); ImageError if unusable."""
    if not data:
        raise ImageError(f"Image {filename!r} is empty (0 bytes); upload the file again.")
    if len(data) > max_bytes:
        raise _too_big_error(filename, len(data), max_bytes)
    if heif := _heif_format(data):  # refused before any parser: Pillow cannot open HEIC
        raise _not_accepted_error(filename, heif)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=_OPEN_ORDER) as opened:
                fmt = opened.format or "unknown"
                _check_header(opened, filename, min_side, max_pixels)  # no pixels decoded yet
                width, height = opened.size
                image, is_turned = _load_reduced(opened, cover)
        except UnidentifiedImageError as err:
            kind = _describe_non_image(data)  # first: text such as "Pyjamas" looks like PPM
            if kind is None and (foreign := _foreign_format(data)):
                raise _not_accepted_error(filename, foreign) from err
            raise ImageError(
                f"File {filename!r} is not an image ({kind or 'not a file type we recognise'}); "
                f"upload a {_ACCEPTED_NAMES} picture."
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
    return fmt, (height, width) if is_turned else (width, height), image


def decode_image(
    data: bytes,
    filename: str = "image",
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    min_side: int = DEFAULT_MIN_SIDE,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> DecodedImage:
    """Check and decode image bytes into an RGB, EXIF-oriented picture; ImageError if unusable."""
    fmt, (width, height), image = _decode(
        data, filename, cover=None, max_bytes=max_bytes, min_side=min_side, max_pixels=max_pixels
    )
    return DecodedImage(
        filename=filename,
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        format=fmt,
        width=width,
        height=height,
        image=image,
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
        _check_fit(model_size, resize_mode)
    side = model_size or 1
    cover = _Cover(max(DECODE_SIDE, side), side if resize_mode == "crop" else 1)
    fmt, (width, height), image = _decode(
        data, filename, cover=cover, max_bytes=max_bytes, min_side=min_side, max_pixels=max_pixels
    )
    return Photo(
        filename=filename,
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        format=fmt,
        width=width,
        height=height,
        image=image,
        model_array=None if model_size is None else to_model_array(image, model_size, resize_mode),
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


def make_thumbnail(image: Image.Image, size: int = THUMBNAIL_SIDE) -> bytes:
    """JPEG bytes of the image with its longest side at most size pixels, aspect ratio kept."""
    thumbnail = _to_rgb(image.copy())
    thumbnail.thumbnail((size, size), Image.Resampling.LANCZOS, reducing_gap=2.0)
    buffer = io.BytesIO()
    thumbnail.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def _check_fit(size: int, mode: str) -> None:
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
    _check_fit(size, mode)
    rgb = _to_rgb(image)
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


def hash_distance(a: str, b: str) -> int:
    """Hamming distance (number of differing bits) between two perceptual hashes."""
    if len(a) != len(b):
        raise ValueError(f"perceptual hashes {a!r} and {b!r} have different lengths.")
    return (int(a, 16) ^ int(b, 16)).bit_count()


def is_image_filename(name: str) -> bool:
    """Whether the name ends with an image suffix, ignoring case (".JPEG" counts)."""
    return name.lower().endswith(IMAGE_SUFFIXES)
