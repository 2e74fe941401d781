"""Image decoding shared by data preparation and inference (torch-free)."""

from __future__ import annotations

import io

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
