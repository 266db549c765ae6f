"""Removing where a photo was taken from its bytes, without touching its pixels.

Phones write the GPS position into the EXIF block (its GPS directory) and sometimes into XMP.
`strip_location` blanks both in place: the GPS directory is emptied (its entries and their values
zeroed, the pointer to it kept, so every other offset stays valid) and XMP `exif:GPS...`
properties become spaces of the same length. Nothing is re-encoded: the image data, the
orientation and every other tag keep their bytes. JPEG, PNG, WebP and TIFF are handled; other
formats (GIF, BMP) carry no EXIF and are returned as they are.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator

GPS_IFD_TAG = 0x8825
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
_EXIF_HEADER = b"Exif\x00\x00"
_XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
_XMP_GPS = re.compile(
    rb"\s(?:exif|exifEX):GPS\w*\s*=\s*(?:\"[^\"]*\"|'[^']*')"  # an attribute
    rb"|<(exif|exifEX):GPS(\w*)\b[^>]*?(?:/>|>.*?</\1:GPS\2\s*>)",  # an element
    re.DOTALL,
)
_METADATA_MARKS = (b"eXIf", b"EXIF", b"ns.adobe.com/xap")  # PNG and WebP EXIF, XMP
_JPEG_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # markers without a length


def _blank_tiff_gps(tiff: bytearray, start: int = 0) -> bool:
    """Empty the GPS directory of the TIFF structure at tiff[start:] in place; changed?"""
    order = {b"II": "<", b"MM": ">"}.get(bytes(tiff[start : start + 2]))
    if order is None or len(tiff) < start + 8:
        return False

    def read(fmt: str, offset: int) -> int:
        return struct.unpack_from(order + fmt, tiff, start + offset)[0]

    try:
        ifd0 = read("I", 4)
        for index in range(read("H", ifd0)):
            entry = ifd0 + 2 + 12 * index
            if read("H", entry) == GPS_IFD_TAG:
                return _blank_directory(tiff, start, order, read("I", entry + 8))
    except struct.error:  # a damaged EXIF block: left as it is, like its pixels
        return False
    return False


def _blank_directory(tiff: bytearray, start: int, order: str, offset: int) -> bool:
    """Zero one directory's out-of-line values and entries and set its entry count to 0."""
    base = start + offset
    count = struct.unpack_from(order + "H", tiff, base)[0]
    end = base + 2 + 12 * count + 4
    if count == 0 or end > len(tiff):
        return False
    for index in range(count):
        entry = base + 2 + 12 * index
        kind, items, value = struct.unpack_from(order + "HII", tiff, entry + 2)
        size = _TYPE_SIZES.get(kind, 1) * items
        if size > 4 and start + value + size <= len(tiff):
            tiff[start + value : start + value + size] = bytes(size)
    tiff[base:end] = bytes(end - base)  # count 0, no entries, no next directory
    return True


def _blank_xmp_gps(xmp: bytearray) -> bool:
    """Replace XMP GPS properties by spaces of the same length in place; changed?"""
    changed = False
    for match in list(_XMP_GPS.finditer(xmp)):
        xmp[match.start() : match.end()] = b" " * (match.end() - match.start())
        changed = True
    return changed


def _jpeg_segments(data: bytes | bytearray) -> Iterator[tuple[int, int, int]]:
    """(marker, body start, body end) of each segment before the image data."""
    offset = 2
    while offset + 4 <= len(data) and data[offset] == 0xFF:
        marker = data[offset + 1]
        if marker == 0xFF:  # fill byte
            offset += 1
        elif marker in _JPEG_STANDALONE:
            offset += 2
        elif marker == 0xDA:  # start of scan: no more metadata
            return
        else:
            end = offset + 2 + int.from_bytes(data[offset + 2 : offset + 4], "big")
            yield marker, offset + 4, min(end, len(data))
            offset = end


def _jpeg_metadata(data: bytes | bytearray) -> Iterator[tuple[bytes, int, int]]:
    """(header, payload start, end) of each EXIF or XMP APP1 segment."""
    for marker, start, end in _jpeg_segments(data):
        for header in (_EXIF_HEADER, _XMP_HEADER):
            if marker == 0xE1 and data[start : start + len(header)] == header:
                yield header, start + len(header), end


def _strip_jpeg(data: bytearray) -> None:
    """Blank GPS in the APP1 (EXIF and XMP) segments before the image data."""
    for header, start, end in list(_jpeg_metadata(data)):
        payload = bytearray(data[start:end])
        blank = _blank_tiff_gps if header == _EXIF_HEADER else _blank_xmp_gps
        if blank(payload):
            data[start:end] = payload


def _strip_png(data: bytearray) -> None:
    """Blank GPS in the eXIf and XMP (iTXt) chunks, with their CRCs written again."""
    offset = 8
    while offset + 12 <= len(data):
        length = int.from_bytes(data[offset : offset + 4], "big")
        kind = bytes(data[offset + 4 : offset + 8])
        body = bytearray(data[offset + 8 : offset + 8 + length])
        changed = False
        if kind == b"eXIf":
            changed = _blank_tiff_gps(body)
        elif kind == b"iTXt" and body.startswith(b"XML:com.adobe.xmp\x00"):
            changed = _blank_xmp_gps(body)
        if changed:
            data[offset + 8 : offset + 8 + length] = body
            crc = zlib.crc32(kind + bytes(body)).to_bytes(4, "big")
            data[offset + 8 + length : offset + 12 + length] = crc
        if kind == b"IEND":
            return
        offset += 12 + length


def _strip_webp(data: bytearray) -> None:
    """Blank GPS in the EXIF and XMP chunks of a RIFF WebP file (no checksums there)."""
    offset = 12
    while offset + 8 <= len(data):
        kind = bytes(data[offset : offset + 4])
        length = int.from_bytes(data[offset + 4 : offset + 8], "little")
        body = bytearray(data[offset + 8 : offset + 8 + length])
        if kind == b"EXIF":
            start = len(_EXIF_HEADER) if body.startswith(_EXIF_HEADER) else 0
            if _blank_tiff_gps(body, start):
                data[offset + 8 : offset + 8 + length] = body
        elif kind == b"XMP " and _blank_xmp_gps(body):
            data[offset + 8 : offset + 8 + length] = body
        offset += 8 + length + (length & 1)


def strip_location(data: bytes) -> bytes:
    """The same file without its GPS position (EXIF and XMP); pixels and orientation untouched."""
    if data.startswith(b"\xff\xd8"):
        strip = _strip_jpeg
    elif data.startswith(b"\x89PNG\r\n\x1a\n"):
        strip = _strip_png
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        strip = _strip_webp
    elif data[:4] in (b"II*\x00", b"MM\x00*"):
        strip = _blank_tiff_gps
    else:
        return data
    if strip is _strip_jpeg and not any(_jpeg_metadata(data)):
        return data  # no EXIF or XMP segment: nothing to copy
    if strip in (_strip_png, _strip_webp) and not any(mark in data for mark in _METADATA_MARKS):
        return data
    edited = bytearray(data)
    strip(edited)
    return data if edited == data else bytes(edited)
