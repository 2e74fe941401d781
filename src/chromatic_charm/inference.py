"""The one colourisation path, used by the CLI, the API, the notebooks and evaluation. Torch-free.

Any photo -> 8-bit gray, or 8-bit RGB (EXIF orientation, CMYK, palette, alpha, 16-bit handled) -> its
L* at full resolution -> a copy resized to the network's native size S -> ONNX Runtime predicts a*b*
(S x S) -> a*b* upsampled bilinearly to the full size -> joined with the full-resolution L* -> sRGB of
the same size as the input. A colour photo is made gray first (only its L* is used).

Large photos: the full-resolution steps (L*, the upsampling, Lab -> sRGB, the PNG's deflate) run in bands
of rows on a small thread pool (NumPy and zlib release the GIL), each band small enough to stay in the
CPU's cache; the result is the same as in one piece.
"""

from __future__ import annotations

import io
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from . import color
from . import hints as hints_module
from . import spread as spread_module
from .config import OUTPUT_FORMATS
from .errors import UserError
from .hints import HINT_CHANNELS, HintError
from .images import png_bytes, to_gray8_or_rgb

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
        # Errors only: its load-time warning about the hints input's default (an initializer that is also an
        # input, on purpose) would reach every CLI user's terminal and every server log.
        options.log_severity_level = 3
        if self.threads:
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(self.model_path), options, providers=["CPUExecutionProvider"])
        # An export's hints input has a default of zeros, so ONNX Runtime lists it among the overridable
        # initializers rather than the inputs.
        names = [i.name for i in [*self.session.get_inputs(), *self.session.get_overridable_initializers()]]
        shape = self.session.get_inputs()[0].shape
        self.size = int(self.metadata.get("image_size") or shape[-1])
        self.takes_hints = "hints" in names
        # The propagation the metadata names (``spread``: round 6's geodesic one, in numpy after the network),
        # for a network that does not read the hints itself; otherwise, and for earlier exports, the graph's own.
        self.spread = spread_module.from_metadata(self.metadata.get("hints")) if self.takes_hints else None

    def predict_ab(self, l_norm: np.ndarray, hint_map: np.ndarray | None = None) -> np.ndarray:
        """(B, 1, S, S) float32 L in [-1, 1] (and, for a model that takes hints, the (B, 3, S, S) hint map
        of ``chromatic_charm.hints``; None = no hints) -> (B, 2, S, S) ab in [-1, 1]."""
        feeds = {"L": np.ascontiguousarray(l_norm, dtype=np.float32)}
        if self.spread is not None and hint_map is not None:  # the network's colours, then the propagation
            ab = self.session.run(["ab"], feeds)[0]  # the graph's hints input defaults to none
            return np.stack([spread_module.propagate(l_norm[i, 0], ab[i], hint_map[i], self.spread)
                             for i in range(len(ab))])
        if self.takes_hints:
            if hint_map is None:
                hint_map = np.zeros((len(l_norm), HINT_CHANNELS) + tuple(l_norm.shape[2:]), np.float32)
            feeds["hints"] = np.ascontiguousarray(hint_map, dtype=np.float32)
        elif hint_map is not None:
            raise HintError(self.no_hints_message())
        return self.session.run(["ab"], feeds)[0]

    def no_hints_message(self) -> str:
        return (f"the model '{self.model_path.name}' takes no hints (an L-only export: from before hints, or "
                "exported with --no-hints); leave the hints out, or give it them with `chromatic-charm export "
                "--add-hints`")

    def colorize_rgb(self, rgb: np.ndarray, hints: list | str | None = None) -> np.ndarray:
        """uint8 (H, W, 3) RGB -> uint8 (H, W, 3) colourised, same size. ``hints``: colour hints in the photo's
        pixel coordinates (``hints.Hint`` objects, dicts ``{"x", "y", "color"[, "radius"]}`` or their JSON);
        a ``hints.HintError`` names a bad one, or says that this model takes none."""
        rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
        small = np.asarray(Image.fromarray(rgb).resize((self.size, self.size), Image.Resampling.BICUBIC,
                                                        reducing_gap=3.0), dtype=np.uint8)
        return self._colorize(color.srgb8_to_lightness(small), rgb.shape[:2],
                              lambda r0, r1: color.srgb8_to_lightness(rgb[r0:r1]), hints)

    def colorize_gray(self, gray: np.ndarray, hints: list | str | None = None) -> np.ndarray:
        """uint8 (H, W) gray -> uint8 (H, W, 3) colourised: the same result as ``colorize_rgb`` of the
        RGB copy (g, g, g), for a third of the work."""
        gray = np.ascontiguousarray(gray, dtype=np.uint8)
        small = np.asarray(Image.fromarray(gray).resize((self.size, self.size), Image.Resampling.BICUBIC,
                                                         reducing_gap=3.0), dtype=np.uint8)
        return self._colorize(color.gray8_to_lightness(small), gray.shape,
                              lambda r0, r1: color.gray8_to_lightness(gray[r0:r1]), hints)

    def hint_map(self, hints: list | str | None, l_small: np.ndarray, shape: tuple[int, int]) -> np.ndarray | None:
        """The (1, 3, S, S) hint map of ``hints`` for a photo of ``shape`` (H, W); None for no hints."""
        if hints is None:
            return None
        if isinstance(hints, (str, bytes)) or not all(isinstance(h, hints_module.Hint) for h in hints):
            hints = hints_module.parse(hints)
        if not hints:
            return None
        if not self.takes_hints:
            raise HintError(self.no_hints_message())
        return hints_module.to_grid(list(hints), (shape[1], shape[0]), l_small)[None]

    def _colorize(self, l_small: np.ndarray, shape: tuple[int, int], lightness_rows, hints=None) -> np.ndarray:
        """a*b* predicted from ``l_small`` (S, S) L*, upsampled to ``shape`` and joined band by band with
        the full-resolution L* of rows [r0, r1) that ``lightness_rows(r0, r1)`` gives."""
        hint_map = self.hint_map(hints, l_small, shape)
        ab = color.denormalize_ab(self.predict_ab(color.normalize_l(l_small)[None, None], hint_map)[0])  # (2, S, S)
        h, w = shape
        out = np.empty((h, w, 3), np.uint8)
        if h < ab.shape[1] or w < ab.shape[2]:  # smaller than the network's side: Pillow's antialiased resize
            a_full, b_full = (np.asarray(Image.fromarray(c, "F").resize((w, h), Image.Resampling.BILINEAR)) for c in ab)
            color.lab_planes_to_srgb8(lightness_rows(0, h), a_full, b_full, out=out)
            return out
        x0, x1, wx = bilinear_taps(w, ab.shape[2])
        ab_rows = ab[:, :, x0] * (1.0 - wx) + ab[:, :, x1] * wx  # (2, S, W): the horizontal pass, small
        y0, y1, wy = bilinear_taps(h, ab.shape[1])

        def band(rows: tuple[int, int]) -> None:
            r0, r1 = rows
            t = wy[r0:r1, None]
            a, b = (plane[y0[r0:r1]] * (1.0 - t) + plane[y1[r0:r1]] * t for plane in ab_rows)
            color.lab_planes_to_srgb8(lightness_rows(r0, r1), a, b, out=out[r0:r1])

        for_each(band, row_bands(h, w))
        return out

    def colorize_image(self, image: Image.Image, hints: list | str | None = None) -> Image.Image:
        try:
            pixels = to_gray8_or_rgb(image)
        except Exception as exc:  # an exotic mode Pillow cannot convert
            raise UnsupportedImage(f"image mode {image.mode} is not supported ({type(exc).__name__}); "
                                   "send an RGB or grayscale photo") from None
        array = np.asarray(pixels, dtype=np.uint8)
        return Image.fromarray(self.colorize_gray(array, hints) if array.ndim == 2 else self.colorize_rgb(array, hints))


def bilinear_taps(n_out: int, n_in: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pillow's bilinear resize from ``n_in`` up to ``n_out >= n_in`` samples along one axis, as taps: output i
    is ``in[lo[i]] * (1 - t[i]) + in[hi[i]] * t[i]`` (pixel centres aligned, edges held)."""
    centre = (np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5
    centre = np.clip(centre, 0.0, n_in - 1)
    lo = np.minimum(np.floor(centre).astype(np.intp), n_in - 1)
    hi = np.minimum(lo + 1, n_in - 1)
    return lo, hi, (centre - lo).astype(np.float32)


BAND_PIXELS = 1 << 17  # rows a band: about this many pixels, so that a band's arrays stay in the cache


def row_bands(h: int, w: int) -> list[tuple[int, int]]:
    rows = max(1, BAND_PIXELS // max(1, w))
    return [(r0, min(h, r0 + rows)) for r0 in range(0, h, rows)]


_POOL: tuple[int, ThreadPoolExecutor] | None = None
_POOL_LOCK = threading.Lock()


def for_each(fn, items: list) -> list:
    """``[fn(item) for item in items]``, on the thread pool when there are several (results in order)."""
    if len(items) < 2:
        return [fn(item) for item in items]
    return list(_pool().map(fn, items))


def image_threads() -> int:
    """Threads for the large-photo steps: ``$CHROMATIC_CHARM_IMAGE_THREADS``, else the cores this process
    may use (at most 8)."""
    value = os.environ.get("CHROMATIC_CHARM_IMAGE_THREADS", "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise UserError(f"CHROMATIC_CHARM_IMAGE_THREADS must be a whole number >= 1, got {value!r}")
        return int(value)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(8, cores))


def _pool() -> ThreadPoolExecutor:
    """One pool a process (made again after a fork: gunicorn's workers)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL[0] != os.getpid():
            _POOL = (os.getpid(), ThreadPoolExecutor(image_threads(), thread_name_prefix="chromatic-charm-image"))
        return _POOL[1]


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
        if "truncated" in str(exc).lower() or isinstance(exc, EOFError):
            raise CorruptImage(f"the image is cut short (truncated: {exc}); send the complete file") from None
        raise CorruptImage(f"the image is corrupt ({exc}); send the complete file") from None
    return image


GRAY_CHROMA = 5.0  # prepare's near-grayscale threshold (data.prepare.Checks.gray_chroma; a test keeps them equal)


def has_colour(image: Image.Image) -> bool:
    """Whether a photo already has colour: not what ``prepare`` calls near-grayscale (``color.chroma_stats``'
    mean chroma of a 64 px thumbnail at least ``GRAY_CHROMA``). Gray modes: no, without looking."""
    if image.mode in ("1", "L", "LA", "La", "I", "I;16", "F"):
        return False
    if image.mode in ("P", "PA"):  # GIFs, palette PNGs: Image.reduce takes no palette image
        image = image.convert("RGB")
    small = image.reduce(max(1, max(image.size) // 64)).convert("RGB")  # box-filtered, as prepare's thumbnail
    return color.chroma_stats(np.asarray(small, np.float64) / 255.0)["chroma_mean"] >= GRAY_CHROMA


def encode(image: Image.Image, fmt: str = "png") -> tuple[bytes, str]:
    """(bytes, MIME type) in PNG (default), JPEG or WebP."""
    name = OUTPUT_FORMATS.get(fmt.lower())
    if name is None:
        raise UserError(f"unknown output format {fmt!r}; choose {', '.join(OUTPUT_FORMATS)}")
    if name == "PNG" and image.mode in ("RGB", "L"):
        # zlib level 1, in bands on the pool: 7x faster than Pillow's default level 6 on a 12 MP photo.
        return png_bytes(np.asarray(image), level=1, map_fn=lambda fn, items: for_each(fn, list(items))), MIME[name]
    buffer = io.BytesIO()
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
            import importlib.util

            if importlib.util.find_spec("mlflow") is None:
                raise UserError(f"CHROMATIC_CHARM_MODEL={env} is a tracking-server reference, which needs the "
                                "MLflow client: pip install 'chromatic-charm[registry]' (the Docker image: "
                                "docker build --build-arg EXTRAS=serve,registry ...), or set it to an .onnx file")
            return tracking.fetch_onnx(env)
    if env:
        return Path(env)
    return Path(__file__).resolve().parent / "assets" / "generator.onnx"
