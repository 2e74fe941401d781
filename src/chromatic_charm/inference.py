"""The one colourisation path, used by the CLI, the API, the notebooks and evaluation. Torch-free.

Any photo -> 8-bit RGB (EXIF orientation, CMYK, palette, alpha, 16-bit handled) -> its L* at full
resolution -> a copy resized to the network's native size S -> ONNX Runtime predicts a*b* (S x S)
-> a*b* upsampled bilinearly to the full size -> joined with the full-resolution L* -> sRGB of the
same size as the input. A colour photo is made gray first (only its L* is used).
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from . import color
from .config import OUTPUT_FORMATS
from .errors import UserError
from .images import to_rgb

MIME = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


class ImageTooLarge(UserError):
    """Over the pixel limit (HTTP 413)."""


class UnsupportedImage(UserError):
    """Not an image format we read (HTTP 415)."""


class CorruptImage(UserError):
    """A known format, but broken or truncated (HTTP 400)."""


@dataclass
class Colorizer:
    """An ONNX generator and its metadata. ``threads``: ONNX Runtime intra-op threads (0 = its default)."""

    model_path: Path
    threads: int = 0
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        import onnxruntime as ort

        self.model_path = Path(self.model_path)
        if not self.model_path.is_file():
            raise UserError(f"no model at '{self.model_path}'; export one with `chromatic-charm export`")
        meta_path = self.model_path.with_suffix(".json")
        self.metadata = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle intra-op threads block instead of spin-waiting: spinning steals the cores from the rest of
        # the request (Lab, resize, encode) and from concurrent requests; 1.3-1.7x faster on a shared
        # 2-core CPU (benchmarks/inference_benchmark.py).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if self.threads:
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(self.model_path), options, providers=["CPUExecutionProvider"])
        shape = self.session.get_inputs()[0].shape
        self.size = int(self.metadata.get("image_size") or shape[-1])

    def predict_ab(self, l_norm: np.ndarray) -> np.ndarray:
        """(B, 1, S, S) float32 L in [-1, 1] -> (B, 2, S, S) ab in [-1, 1]."""
        return self.session.run(["ab"], {"L": np.ascontiguousarray(l_norm, dtype=np.float32)})[0]

    def colorize_rgb(self, rgb: np.ndarray) -> np.ndarray:
        """uint8 (H, W, 3) RGB -> uint8 (H, W, 3) colourised, same size."""
        rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
        lightness = color.srgb8_to_lightness(rgb)  # (H, W), L in [0, 100], full resolution
        small = np.asarray(Image.fromarray(rgb).resize((self.size, self.size), Image.Resampling.BICUBIC,
                                                        reducing_gap=3.0), dtype=np.uint8)
        l_small = color.normalize_l(color.srgb8_to_lightness(small))[None, None]
        ab = self.predict_ab(l_small)[0]  # (2, S, S), normalised
        h, w = rgb.shape[:2]
        ab_full = np.stack([np.asarray(Image.fromarray(c, "F").resize((w, h), Image.Resampling.BILINEAR))
                            for c in color.denormalize_ab(ab)], axis=-1)
        return color.lab_to_srgb8(lightness, ab_full)

    def colorize_image(self, image: Image.Image) -> Image.Image:
        try:
            rgb, _ = to_rgb(image)
        except Exception as exc:  # an exotic mode Pillow cannot convert
            raise UnsupportedImage(f"image mode {image.mode} is not supported ({type(exc).__name__}); "
                                   "send an RGB or grayscale photo") from None
        return Image.fromarray(self.colorize_rgb(np.asarray(rgb, dtype=np.uint8)))


def open_image(data: bytes, max_pixels: int | None = None) -> Image.Image:
    """Decode bytes; the pixel count is checked from the header, before any pixel is decoded."""
    from PIL import UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise UnsupportedImage("not an image we can read; send a JPEG, PNG, WebP, BMP or TIFF") from None
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(f"{exc}; send a smaller image") from None
    except Exception as exc:  # Pillow's plugins raise many types on malformed headers
        raise CorruptImage(f"the image header is corrupt ({type(exc).__name__}); send the complete file") from None
    if max_pixels is not None and image.width * image.height > max_pixels:
        raise ImageTooLarge(f"image of {image.width}x{image.height} pixels is over the limit of {max_pixels:,} "
                            "pixels; send a smaller image")
    try:
        image.load()
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(f"{exc}; send a smaller image") from None
    except Exception as exc:  # likewise for the decoders (struct.error, EOFError, IndexError, ...)
        raise CorruptImage(f"the image is corrupt or truncated ({exc}); send the complete file") from None
    return image


def encode(image: Image.Image, fmt: str = "png") -> tuple[bytes, str]:
    """(bytes, MIME type) in PNG (default), JPEG or WebP."""
    name = OUTPUT_FORMATS.get(fmt.lower())
    if name is None:
        raise UserError(f"unknown output format {fmt!r}; choose {', '.join(OUTPUT_FORMATS)}")
    buffer = io.BytesIO()
    # PNG at zlib level 1: 4x faster than Pillow's default 6 on a 12 MP photo, for about 25% more bytes.
    options = {"quality": 92} if name in ("JPEG", "WEBP") else {"compress_level": 1}
    image.save(buffer, name, **options)
    return buffer.getvalue(), MIME[name]


def default_model_path() -> Path:
    """$CHROMATIC_CHARM_MODEL (a path, or a model reference whose run holds the exported ONNX: a run
    id, ``runs:/<run id>``, ``models:/<name>@champion``, ``models:/<name>/<version>``, ``models:/m-<id>``),
    else the model shipped with the package."""
    env = os.environ.get("CHROMATIC_CHARM_MODEL", "").strip()
    if env and not Path(env).exists():
        from . import tracking  # mlflow-skinny only, no torch

        try:
            tracking.parse(env)
        except UserError:
            pass  # a path, then: the Colorizer says it is missing
        else:
            return tracking.fetch_onnx(env)
    if env:
        return Path(env)
    return Path(__file__).resolve().parent / "assets" / "generator.onnx"
