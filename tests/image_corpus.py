"""The bad-input image corpus, built in memory, each case with the outcome decode_image gives;
and photos shaped like what a phone sends (`photo_like`, `phone_files`)."""

import io
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

RED = (220, 30, 40)
BLUE = (30, 40, 220)
WHITE = (255, 255, 255)
PHONE = (4000, 3000)  # a 12-megapixel phone photo
ORIENTATION = 0x0112  # the EXIF tag

Pixel = tuple[tuple[int, int], tuple[int, int, int]]  # (x, y) after orientation -> expected RGB


@dataclass(frozen=True)
class CorpusCase:
    """One corpus file: how to build it, its name, and "ok" or a substring of the error message."""

    name: str
    make: Callable[[], bytes]
    filename: str
    expected: str  # "ok" or a substring of the ImageError message
    size: tuple[int, int] | None = None  # (width, height) after EXIF orientation, for "ok"
    format: str | None = None  # Pillow format name, for "ok"
    pixels: tuple[Pixel, ...] = ()  # RGB at some points, for "ok"


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    """Save a Pillow image to bytes in the given format."""
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def two_halves(
    size: tuple[int, int], left: object, right: object, mode: str = "RGB"
) -> Image.Image:
    """An image whose left half is one colour and right half another."""
    image = Image.new(mode, size, left)
    image.paste(right, (size[0] // 2, 0, size[0], size[1]))
    return image


def noisy_image(size: tuple[int, int], seed: int = 0) -> Image.Image:
    """Random RGB noise: compresses badly, so a cut file really misses pixel data."""
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    """One PNG chunk with its length and CRC."""
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def png_1bit(width: int, height: int, *, rows: int | None = None) -> bytes:
    """A black 1-bit greyscale PNG written by hand; rows limits the pixel data actually stored."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit grey, no interlace
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    compressor = zlib.compressobj(9)
    stored = height if rows is None else rows
    block = row * 256
    body = [compressor.compress(block) for _ in range(stored // 256)]
    body += [compressor.compress(row * (stored % 256)), compressor.flush()]
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", b"".join(body))
        + png_chunk(b"IEND", b"")
    )


def jpeg_with_size(width: int, height: int) -> bytes:
    """A small real JPEG whose SOF header is patched to claim width x height."""
    data = bytearray(encode(Image.new("RGB", (64, 64), RED), "JPEG"))
    offset = 2
    while data[offset + 1] not in (0xC0, 0xC1, 0xC2):  # walk the marker segments to the SOF
        offset += 2 + int.from_bytes(data[offset + 2 : offset + 4], "big")
    data[offset + 5 : offset + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def jpeg_rotated() -> bytes:
    """A 120x80 JPEG, left half red and right half blue, with EXIF orientation 6 (90° clockwise)."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(two_halves((120, 80), RED, BLUE), "JPEG", quality=95, exif=exif.tobytes())


def truncated_jpeg() -> bytes:
    """The first half of a noisy 256x256 JPEG."""
    data = encode(noisy_image((256, 256)), "JPEG", quality=95)
    return data[: len(data) // 2]


def corrupt_png() -> bytes:
    """A PNG whose compressed pixel data is overwritten with garbage (CRCs left as they were)."""
    data = bytearray(encode(noisy_image((128, 128)), "PNG"))
    start = data.index(b"IDAT") + 100
    data[start : start + 400] = bytes(range(200)) * 2
    return bytes(data)


def png_16bit() -> bytes:
    """A 16-bit greyscale PNG: left half 10000, right half 60000 (of 65535)."""
    values = np.full((40, 48), 10_000, dtype=np.uint16)
    values[:, 24:] = 60_000
    return encode(Image.fromarray(values), "PNG")


def palette_png_transparent() -> bytes:
    """A palette PNG: left half a transparent index, right half opaque red."""
    image = Image.new("P", (64, 48), 0)
    image.putpalette([0, 255, 0, *RED] + [0] * 762)
    image.paste(1, (32, 0, 64, 48))
    return encode(image, "PNG", transparency=0)


def animated_gif() -> bytes:
    """A two-frame GIF: a red frame, then a blue one."""
    frames = [Image.new("RGB", (64, 48), colour) for colour in (RED, BLUE)]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def rgba_png() -> bytes:
    """An RGBA PNG of half-transparent pure red."""
    return encode(Image.new("RGBA", (40, 40), (255, 0, 0, 128)), "PNG")


def png_16bit_large() -> bytes:
    """A 4000x3000 16-bit greyscale PNG of a few KB: left half 10000, right half 60000."""
    values = np.full((3000, 4000), 10_000, dtype=np.uint16)
    values[:, 2000:] = 60_000
    return encode(Image.fromarray(values), "PNG")


_DDPF_FOURCC = 0x4
_DDS_CAPS_TEXTURE = 0x1000


def dds(*, pixel_flags: int, fourcc: bytes = b"\0\0\0\0", dxgi_format: int | None = None) -> bytes:
    """A 64x64 DDS file written header byte by header byte, as in Pillow's own test images."""
    flags = 0x1 | 0x2 | 0x4 | 0x1000  # caps, height, width, pixel format
    pixel_format = struct.pack("<II4sI4I", 32, pixel_flags, fourcc, 0, 0, 0, 0, 0)
    header = struct.pack("<7I", 124, flags, 64, 64, 64 * 4, 0, 0) + b"\0" * 44 + pixel_format
    header += struct.pack("<5I", _DDS_CAPS_TEXTURE, 0, 0, 0, 0)
    extra = b"" if dxgi_format is None else struct.pack("<5I", dxgi_format, 3, 0, 1, 0)
    return b"DDS " + header + extra + b"\x55" * (64 * 64 * 4)


def iso_media(major: bytes, *compatible: bytes) -> bytes:
    """The start of an ISO media file (HEIC, MP4...): an ftyp box, then an empty mdat box."""
    brands = major + b"\0\0\0\0" + b"".join(compatible)
    ftyp = struct.pack(">I", 8 + len(brands)) + b"ftyp" + brands
    return ftyp + struct.pack(">I", 8 + 256) + b"mdat" + bytes(range(256))


HTML_PAGE = b"""<!DOCTYPE html>
<html><head><title>Sign in</title></head><body><p>Please sign in first.</p></body></html>
"""


def _rgb(fmt: str, **params: object) -> Callable[[], bytes]:
    """A maker for a 120x80 image in fmt, left half red and right half blue."""
    return lambda: encode(two_halves((120, 80), RED, BLUE), fmt, **params)


_HALVES = (((10, 40), RED), ((110, 40), BLUE))
_OVER_SIZE = 20 * 1024 * 1024 + 300_000

CORPUS: list[CorpusCase] = [
    CorpusCase("jpeg", _rgb("JPEG", quality=95), "cat.jpg", "ok", (120, 80), "JPEG", _HALVES),
    CorpusCase("png", _rgb("PNG"), "cat.png", "ok", (120, 80), "PNG", _HALVES),
    CorpusCase("webp", _rgb("WEBP", lossless=True), "cat.webp", "ok", (120, 80), "WEBP", _HALVES),
    CorpusCase("bmp", _rgb("BMP"), "cat.bmp", "ok", (120, 80), "BMP", _HALVES),
    CorpusCase("tiff", _rgb("TIFF"), "cat.tiff", "ok", (120, 80), "TIFF", _HALVES),
    CorpusCase(
        "exif orientation 6",
        jpeg_rotated,
        "rotated.jpg",
        "ok",
        (80, 120),  # stored 120x80; the left (red) half becomes the top
        "JPEG",
        (((40, 10), RED), ((40, 110), BLUE)),
    ),
    CorpusCase(
        "cmyk jpeg",
        lambda: encode(Image.new("CMYK", (64, 48), (255, 0, 0, 0)), "JPEG"),
        "cmyk.jpg",
        "ok",
        (64, 48),
        "JPEG",
        (((32, 24), (0, 255, 255)),),  # pure cyan ink
    ),
    CorpusCase(
        "16-bit png",
        png_16bit,
        "deep.png",
        "ok",
        (48, 40),
        "PNG",
        (((5, 20), (39, 39, 39)), ((40, 20), (233, 233, 233))),  # scaled, not clipped to white
    ),
    CorpusCase(
        "16-bit png 4000x3000",
        png_16bit_large,
        "deep_large.png",
        "ok",
        (4000, 3000),
        "PNG",
        (((5, 20), (39, 39, 39)), ((3990, 2990), (233, 233, 233))),
    ),
    CorpusCase(
        "palette png with transparency",
        palette_png_transparent,
        "palette.png",
        "ok",
        (64, 48),
        "PNG",
        (((5, 20), WHITE), ((60, 20), RED)),  # transparent -> white, not the hidden green
    ),
    CorpusCase(
        "rgba png",
        rgba_png,
        "alpha.png",
        "ok",
        (40, 40),
        "PNG",
        (((20, 20), (255, 127, 127)),),
    ),
    CorpusCase(
        "animated gif",
        animated_gif,
        "moving.gif",
        "ok",
        (64, 48),
        "GIF",
        (((32, 24), RED),),  # the first frame, not the blue second one
    ),
    CorpusCase(
        "grey png",
        lambda: encode(Image.new("L", (50, 40), 77), "PNG"),
        "grey.png",
        "ok",
        (50, 40),
        "PNG",
        (((25, 20), (77, 77, 77)),),
    ),
    CorpusCase(
        "grey alpha png",
        lambda: encode(two_halves((60, 40), (50, 255), (50, 0), mode="LA"), "PNG"),
        "grey_alpha.png",
        "ok",
        (60, 40),
        "PNG",
        (((10, 20), (50, 50, 50)), ((50, 20), WHITE)),
    ),
    CorpusCase(
        "1-bit png",
        lambda: encode(two_halves((64, 40), 0, 1, mode="1"), "PNG"),
        "bilevel.png",
        "ok",
        (64, 40),
        "PNG",
        (((10, 20), (0, 0, 0)), ((50, 20), WHITE)),
    ),
    CorpusCase("zero bytes", lambda: b"", "empty.jpg", "is empty"),
    CorpusCase(
        "text named .jpg",
        lambda: b"name,breed\nTom,Siamese\n",
        "cats.jpg",
        "not an image (a text file)",
    ),
    CorpusCase("html page", lambda: HTML_PAGE, "download.jpg", "HTML page"),
    CorpusCase(
        "text that starts like a PPM header",
        lambda: b"Pyjamas for cats\nsizes S, M, L\n",
        "shop.jpg",
        "not an image (a text file)",
    ),
    CorpusCase("truncated jpeg", truncated_jpeg, "cut.jpg", "truncated or corrupt"),
    CorpusCase("corrupt png", corrupt_png, "garbled.png", "truncated or corrupt"),
    CorpusCase(
        "png decompression bomb 20000x20000",
        lambda: png_1bit(20_000, 20_000),
        "bomb.png",
        "megapixel limit",
    ),
    CorpusCase(
        "png header 100000x100000",
        lambda: png_1bit(100_000, 100_000, rows=1),
        "huge_header.png",
        "megapixel limit",
    ),
    CorpusCase(
        "png header 10000x10000 (Pillow only warns)",
        lambda: png_1bit(10_000, 10_000, rows=1),
        "warned.png",
        "megapixel limit",
    ),
    CorpusCase(
        "jpeg header 60000x60000",
        lambda: jpeg_with_size(60_000, 60_000),
        "huge_header.jpg",
        "megapixel limit",
    ),
    CorpusCase(
        "jpeg header 8000x6000 (over our limit, under Pillow's)",
        lambda: jpeg_with_size(8000, 6000),
        "big_header.jpg",
        "8000x6000 pixels, over the 40 megapixel limit",
    ),
    CorpusCase(
        "1x1 image",
        lambda: encode(Image.new("RGB", (1, 1), RED), "PNG"),
        "dot.png",
        "at least 32x32 pixels",
    ),
    CorpusCase(
        "over the size limit",
        lambda: encode(Image.new("RGB", (64, 64), RED), "JPEG") + b"\x00" * _OVER_SIZE,
        "huge_upload.jpg",
        "is 20.3 MB, over the 20 MB limit",
    ),
    CorpusCase(
        "dds, unknown pixel format flags",
        lambda: dds(pixel_flags=0),
        "texture.jpg",
        "DDS format, which is not accepted",
    ),
    CorpusCase(
        "dds, unimplemented fourcc pixel format",
        lambda: dds(pixel_flags=_DDPF_FOURCC, fourcc=b"ABCD"),
        "texture.png",
        "DDS format, which is not accepted",
    ),
    CorpusCase(
        "dds, unimplemented dxgi format",
        lambda: dds(pixel_flags=_DDPF_FOURCC, fourcc=b"DX10", dxgi_format=999),
        "texture.dds",
        "DDS format, which is not accepted",
    ),
    CorpusCase(
        "heic from an iphone",
        lambda: iso_media(b"heic", b"mif1", b"MiHE", b"miaf", b"MiHB", b"heic"),
        "IMG_0042.HEIC",
        "HEIC format",
    ),
    CorpusCase(
        "heic with the generic mif1 brand",
        lambda: iso_media(b"mif1", b"mif1", b"heic"),
        "IMG_0043.jpg",
        "HEIC format",
    ),
    CorpusCase(
        "mp4 video",
        lambda: iso_media(b"isom", b"isom", b"iso2", b"mp41"),
        "clip.jpg",
        "a video",
    ),
    CorpusCase(
        "unsupported format (PPM)",
        lambda: encode(Image.new("RGB", (64, 64), RED), "PPM"),
        "cat.jpg",
        "PPM format, which is not accepted",
    ),
]


def write_corpus(directory: Path) -> dict[Path, CorpusCase]:
    """Write every corpus file into directory (one subfolder per case, since names repeat)."""
    written = {}
    for number, case in enumerate(CORPUS):
        path = directory / f"{number:02d}" / case.filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(case.make())
        written[path] = case
    return written


# --- phone photos ------------------------------------------------------------------------


def photo_like(size: tuple[int, int], seed: int = 0) -> Image.Image:
    """Smooth colour blobs with a little grain: decodes and scales like a photo."""
    rng = np.random.default_rng(seed)
    coarse = Image.fromarray(rng.integers(0, 256, (9, 12, 3), dtype=np.uint8))
    pixels = np.asarray(coarse.resize(size, Image.Resampling.BICUBIC), dtype=np.int16)
    grain = rng.integers(-6, 7, (size[1], size[0], 1), dtype=np.int16)
    return Image.fromarray(np.clip(pixels + grain, 0, 255).astype(np.uint8))


def orientation_exif(value: int) -> bytes:
    """EXIF bytes that say: turn the picture (1 upright, 6 a quarter clockwise...)."""
    exif = Image.Exif()
    exif[ORIENTATION] = value
    return exif.tobytes()


def phone_files() -> list[tuple[str, bytes]]:
    """Good phone photos in every awkward shape, then the bad ones."""
    card = two_halves((2400, 1600), RED, BLUE)
    turned = encode(card.transpose(Image.Transpose.ROTATE_90), "JPEG", quality=90,
                    exif=orientation_exif(6))  # fmt: skip
    return [
        ("progressive.jpg", encode(photo_like(PHONE, 1), "JPEG", quality=80, progressive=True)),
        ("cmyk.jpg", encode(Image.new("CMYK", (2400, 1800), (255, 0, 0, 0)), "JPEG")),
        ("turned.jpg", turned),
        ("big.png", encode(two_halves(PHONE, RED, BLUE), "PNG", compress_level=1)),
        ("big.webp", encode(two_halves(PHONE, RED, BLUE), "WEBP", quality=60, method=0)),
        ("IMG_0042.HEIC", iso_media(b"heic", b"mif1", b"MiHE", b"miaf", b"heic")),
        ("cut.jpg", encode(photo_like((1600, 1200), 2), "JPEG", quality=88)[:150_000]),
    ]
