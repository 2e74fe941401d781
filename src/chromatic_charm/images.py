"""Image decoding shared by data preparation and inference, and the API's PNG encoder (torch-free)."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable, Iterable

import numpy as np
from PIL import Image, ImageCms, ImageOps


def to_rgb(image: Image.Image) -> tuple[Image.Image, list[str]]:
    """Any Pillow image -> 8-bit RGB, plus the conversions applied (for the report)."""
    notes = []
    orientation = image.getexif().get(0x0112, 1)
    if orientation not in (1, None):
        image = ImageOps.exif_transpose(image)
        notes.append("EXIF-rotated")
    mode = image.mode
    if mode == "RGB":
        return image, notes
    notes.append(mode)
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        # Pillow's convert("L") clips these at 255; scale the real range instead.
        array = np.asarray(image, dtype=np.float64)
        top = 1.0 if mode == "F" and array.max() <= 1.0 else (255.0 if array.max() <= 255 else 65535.0)
        gray = np.clip(array / top * 255.0, 0, 255).round().astype(np.uint8)
        return Image.fromarray(gray).convert("RGB"), notes
    if mode == "CMYK" and image.info.get("icc_profile"):
        source = ImageCms.ImageCmsProfile(io.BytesIO(image.info["icc_profile"]))
        return ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode="RGB"), notes
    if mode in ("P", "PA", "LA", "La", "RGBA", "RGBa") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB"), notes
    return image.convert("RGB"), notes


def to_gray8_or_rgb(image: Image.Image) -> Image.Image:
    """An 8-bit gray photo (mode L) as it is, upright; any other photo as ``to_rgb`` makes it. Gray is
    the usual input of a colouriser, and a third of the work of its RGB copy."""
    if image.mode != "L":
        return to_rgb(image)[0]
    if image.getexif().get(0x0112, 1) not in (1, None):
        image = ImageOps.exif_transpose(image)
    return image


PNG_BAND_BYTES = 1 << 20  # raw bytes a deflate part holds: enough to compress well, small enough to share out


def png_bytes(pixels: np.ndarray, level: int = 1,
              map_fn: Callable[[Callable, Iterable], Iterable] = map) -> bytes:
    """uint8 (H, W) gray or (H, W, 3) RGB -> the bytes of a PNG, byte for byte what any decoder reads back.

    Rows are filtered with PNG's "Up" filter (the row above subtracted: photos and smooth colour give
    long runs of small values) and deflated in bands of about ``PNG_BAND_BYTES``, each band by its own
    compressor, flushed to a byte boundary, so the bands can be deflated at once (``map_fn``: a thread
    pool's map; zlib releases the GIL) and joined into one zlib stream, as pigz does. At level 1 it
    makes smaller files than Pillow's PNG encoder at level 1 (whose adaptive filter costs as much as
    the deflate) in a third of its time on 2 cores (benchmarks/api_benchmark.py).
    """
    pixels = np.ascontiguousarray(pixels)
    if pixels.dtype != np.uint8 or pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] != 3):
        raise ValueError(f"expected uint8 (H, W) or (H, W, 3), got {pixels.dtype} {tuple(pixels.shape)}")
    h, w = pixels.shape[:2]
    rows = pixels.reshape(h, -1)
    rows_a_band = max(1, PNG_BAND_BYTES // max(1, rows.shape[1]))
    bands = [(r0, min(h, r0 + rows_a_band)) for r0 in range(0, h, rows_a_band)]

    def filtered(band: tuple[int, int]) -> np.ndarray:
        r0, r1 = band
        out = np.empty((r1 - r0, rows.shape[1] + 1), np.uint8)
        out[:, 0] = 2  # Up: each byte minus the one above it (the first row: minus 0), modulo 256
        first = r0 if r0 else 1
        if not r0:
            out[0, 1:] = rows[0]
        np.subtract(rows[first:r1], rows[first - 1:r1 - 1], out=out[first - r0:, 1:])
        return out

    def deflate(index: int) -> tuple[bytes, int]:
        data = filtered(bands[index])
        compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
        last = index == len(bands) - 1
        return (compressor.compress(data) + compressor.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH),
                zlib.adler32(data))

    parts = list(map_fn(deflate, range(len(bands))))
    checksum = 1
    for (r0, r1), (_, adler) in zip(bands, parts):
        checksum = _adler32_combine(checksum, adler, (r1 - r0) * (rows.shape[1] + 1))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))

    header = struct.pack(">IIBBBBB", w, h, 8, 0 if pixels.ndim == 2 else 2, 0, 0, 0)
    stream = [b"\x78\x01", *(data for data, _ in parts), struct.pack(">I", checksum)]
    return b"".join([b"\x89PNG\r\n\x1a\n", chunk(b"IHDR", header), *(chunk(b"IDAT", d) for d in stream if d),
                     chunk(b"IEND", b"")])


def _adler32_combine(adler1: int, adler2: int, len2: int) -> int:
    """The Adler-32 of two byte strings joined, from theirs (zlib's adler32_combine)."""
    base = 65521
    rem = len2 % base
    sum1 = adler1 & 0xFFFF
    sum2 = (rem * sum1) % base
    sum1 += (adler2 & 0xFFFF) + base - 1
    sum2 += ((adler1 >> 16) & 0xFFFF) + ((adler2 >> 16) & 0xFFFF) + base - rem
    sum1 %= base
    sum2 %= base
    return sum1 | (sum2 << 16)
