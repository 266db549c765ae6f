"""Telling formats apart from a file's first bytes: HEIC and AVIF, other formats, non-images."""

from PIL import Image

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "MPO"}
ACCEPTED_NAMES = "JPEG, PNG, WebP, GIF, BMP or TIFF"
HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}
AVIF_BRANDS = {b"avif", b"avis"}


def iso_brands(data: bytes) -> set[bytes]:
    """The major and compatible brands of an ISO media file's leading ftyp box (HEIC, MP4...)."""
    if data[4:8] != b"ftyp" or len(data) < 12:
        return set()
    box_size = min(int.from_bytes(data[:4], "big"), len(data), 4096)
    brands = {data[8:12]}
    brands.update(data[offset : offset + 4] for offset in range(16, box_size - 3, 4))
    return brands


def heif_format(data: bytes) -> str | None:
    """ "HEIC" or "AVIF" for a HEIF file, told by its ftyp box's brands; None for anything else."""
    brands = iso_brands(data)
    if brands & HEIF_BRANDS:
        return "HEIC"
    return "AVIF" if brands & AVIF_BRANDS else None


def foreign_format(data: bytes) -> str | None:
    """The name of the other image format whose signature a binary file starts with, if any."""
    Image.init()
    prefix = data[:16]
    for name in Image.ID:
        accept = Image.OPEN[name][1]
        if name not in ACCEPTED_FORMATS and accept is not None and accept(prefix) is True:
            return name
    return None


def not_accepted_message(filename: str, fmt: str) -> str:
    """The one sentence for an image in a format we do not take."""
    if fmt == "HEIC":
        return (
            f"Image {filename!r} is in HEIC format (an iPhone's default), which we cannot read; "
            f"save it as JPEG (on the iPhone: Settings > Camera > Formats > Most Compatible, or "
            f"share it by mail) and upload it again."
        )
    return (
        f"Image {filename!r} is in {fmt} format, which is not accepted; "
        f"save it as {ACCEPTED_NAMES} and upload it again."
    )


def describe_non_image(data: bytes) -> str | None:
    """Say what a file that Pillow cannot identify looks like (None: some binary file)."""
    if iso_brands(data):
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
