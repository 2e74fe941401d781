"""The one inference path (ONNX Runtime, no torch): any size and mode in, same size out."""

import io
import subprocess
import sys
import numpy as np
import pytest
from PIL import Image, ImageFilter

from chromatic_charm import color, images, inference
from chromatic_charm.errors import UserError
from chromatic_charm.inference import Colorizer, encode, open_image


def test_importing_the_inference_path_never_imports_torch(onnx_model):
    code = ("import sys, numpy as np; from chromatic_charm.inference import Colorizer; "
            f"c = Colorizer(r'{onnx_model}'); c.colorize_rgb(np.zeros((40, 30, 3), np.uint8)); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "P", "CMYK", "I;16"])
def test_any_mode_and_odd_size_gives_the_same_size_in_colour(onnx_model, mode):
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 256, (517, 333, 3), dtype=np.uint8))
    image = Image.fromarray((np.asarray(rgb.convert("L"), np.uint16) * 257)) if mode == "I;16" else rgb.convert(mode)
    out = Colorizer(onnx_model).colorize_image(image)
    assert out.size == (333, 517) and out.mode == "RGB"


def test_lightness_is_kept_at_full_resolution(onnx_model):
    gray = np.tile(np.linspace(0, 255, 333, dtype=np.float32), (517, 1)).astype(np.uint8)
    out = np.asarray(Colorizer(onnx_model).colorize_image(Image.fromarray(gray)), dtype=np.float32) / 255
    l_in = color.rgb_to_lab(np.repeat(gray[..., None], 3, -1).astype(np.float32) / 255)[..., 0]
    l_out = color.rgb_to_lab(out)[..., 0]
    # colour moves L only where sRGB clips the gamut; most pixels keep their L within rounding
    assert np.median(np.abs(l_out - l_in)) < 1.0


def test_bad_input_is_a_clear_error():
    with pytest.raises(UserError, match="not an image"):
        open_image(b"hello")
    data = io.BytesIO()
    Image.new("RGB", (4000, 3000)).save(data, "PNG")
    with pytest.raises(UserError, match="4000x3000 pixels is over the limit"):
        open_image(data.getvalue(), max_pixels=10_000_000)
    with pytest.raises(UserError, match="unknown output format"):
        encode(Image.new("RGB", (2, 2)), "gif")


def test_colorize_command_handles_files_and_folders(onnx_model, tmp_path):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    Image.new("L", (50, 70), 128).save(folder / "a.jpg")
    Image.new("RGB", (33, 21), (10, 200, 30)).save(folder / "sub" / "b.png")
    (folder / "broken.jpg").write_bytes(b"nope")
    single = tmp_path / "c.webp"
    Image.new("RGB", (64, 48)).save(single)
    out = subprocess.run([sys.executable, "-m", "chromatic_charm.cli", "colorize", str(folder), str(single),
                          "-o", str(tmp_path / "out"), "--model", str(onnx_model), "--no-progress"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "colourised 3 of 4 images" in out.stdout and "broken.jpg: not an image" in out.stdout
    sizes = {p.name: Image.open(p).size for p in (tmp_path / "out").iterdir()}
    assert sizes == {"a.png": (50, 70), "b.png": (33, 21), "c.png": (64, 48)}


# --- the large-photo path: gray input, bands on a thread pool, PNG in parallel bands ----------------

def test_gray_photos_take_a_shorter_path_to_the_same_colours(onnx_model):
    rng = np.random.default_rng(1)
    gray = Image.fromarray(rng.integers(0, 256, (300, 517), dtype=np.uint8)).resize((517, 300)).filter(
        ImageFilter.SMOOTH)
    colorizer = Colorizer(onnx_model)
    from_gray = colorizer.colorize_gray(np.asarray(gray))
    from_rgb = colorizer.colorize_rgb(np.asarray(gray.convert("RGB")))
    assert from_gray.shape == (300, 517, 3) and from_gray.dtype == np.uint8
    assert np.array_equal(from_gray, from_rgb)
    assert np.array_equal(np.asarray(colorizer.colorize_image(gray)), from_gray)


@pytest.mark.parametrize("size", [(517, 300), (33, 400), (1, 1), (31, 31), (2000, 40)])
def test_bands_give_the_same_result_as_one_piece(onnx_model, monkeypatch, size):
    rng = np.random.default_rng(2)
    rgb = rng.integers(0, 256, size[::-1] + (3,), dtype=np.uint8)
    colorizer = Colorizer(onnx_model)
    whole = colorizer.colorize_rgb(rgb)
    monkeypatch.setattr(inference, "BAND_PIXELS", 97)  # many bands of a row or two, on the pool
    assert len(inference.row_bands(size[1], size[0])) == -(-size[1] // max(1, 97 // size[0]))
    assert np.array_equal(colorizer.colorize_rgb(rgb), whole)


@pytest.mark.parametrize("n_out, n_in", [(4000, 128), (129, 128), (128, 128), (301, 32), (3000, 256)])
def test_bilinear_taps_are_pillows_bilinear_upsampling(n_out, n_in):
    line = np.random.default_rng(3).normal(0, 50, (1, n_in)).astype(np.float32)
    pillow = np.asarray(Image.fromarray(line, "F").resize((n_out, 1), Image.Resampling.BILINEAR))[0]
    lo, hi, t = inference.bilinear_taps(n_out, n_in)
    ours = line[0, lo] * (1 - t) + line[0, hi] * t
    assert np.abs(ours - pillow).max() < 1e-3


def test_large_photo_matches_the_single_threaded_path_within_one_level(onnx_model):
    """The old path (Pillow's resize of a*b* to the full size, then Lab -> sRGB in one piece) against the
    banded one, on a photo far larger than the network's side."""
    rng = np.random.default_rng(4)
    gray = np.asarray(Image.fromarray(rng.integers(0, 256, (30, 40), dtype=np.uint8)).resize((1600, 1200),
                                                                                            Image.Resampling.BICUBIC))
    colorizer = Colorizer(onnx_model)
    rgb = np.repeat(gray[..., None], 3, -1)
    small = np.asarray(Image.fromarray(rgb).resize((colorizer.size,) * 2, Image.Resampling.BICUBIC, reducing_gap=3.0))
    ab = color.denormalize_ab(colorizer.predict_ab(color.normalize_l(color.srgb8_to_lightness(small))[None, None])[0])
    ab_full = np.stack([np.asarray(Image.fromarray(c, "F").resize((1600, 1200), Image.Resampling.BILINEAR)) for c in ab], -1)
    expected = color.lab_to_srgb8(color.srgb8_to_lightness(rgb), ab_full).astype(int)
    diff = np.abs(colorizer.colorize_gray(gray).astype(int) - expected)
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3


def test_the_thread_pool_is_made_again_in_a_forked_worker():
    """gunicorn forks its workers: a pool made in the parent has no threads in the child."""
    code = ("import os; from chromatic_charm import inference as i; "
            "i.for_each(abs, [-1, -2]); pid = os.fork()\n"
            "if pid == 0:\n"
            "    os._exit(0 if i.for_each(abs, [-3, -4]) == [3, 4] else 1)\n"
            "_, status = os.waitpid(pid, 0); print(os.waitstatus_to_exitcode(status))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0"


@pytest.mark.parametrize("shape", [(1, 1, 3), (1, 1), (2, 3, 3), (700, 1667, 3), (3000, 400), (5, 1, 3)])
@pytest.mark.parametrize("band_bytes", [1 << 20, 7])
def test_png_bytes_round_trip_exactly(shape, band_bytes, monkeypatch):
    monkeypatch.setattr(images, "PNG_BAND_BYTES", band_bytes)
    pixels = np.random.default_rng(5).integers(0, 256, shape, dtype=np.uint8)
    data = images.png_bytes(pixels, map_fn=lambda fn, items: inference.for_each(fn, list(items)))
    decoded = Image.open(io.BytesIO(data))
    decoded.load()  # checks every CRC and the zlib stream's Adler-32
    assert decoded.format == "PNG" and decoded.mode == ("RGB" if len(shape) == 3 else "L")
    assert np.array_equal(np.asarray(decoded), pixels)


def test_png_bytes_refuses_what_it_cannot_write():
    with pytest.raises(ValueError, match="expected uint8"):
        images.png_bytes(np.zeros((4, 4, 4), np.uint8))
    with pytest.raises(ValueError, match="expected uint8"):
        images.png_bytes(np.zeros((4, 4), np.float32))


def test_api_png_is_smaller_than_pillows_at_the_same_level():
    smooth = np.asarray(Image.fromarray(np.random.default_rng(6).integers(0, 256, (24, 32, 3), dtype=np.uint8))
                        .resize((800, 600), Image.Resampling.BICUBIC))
    ours, mime = encode(Image.fromarray(smooth), "png")
    pillow = io.BytesIO()
    Image.fromarray(smooth).save(pillow, "PNG", compress_level=1)
    assert mime == "image/png" and np.array_equal(np.asarray(Image.open(io.BytesIO(ours))), smooth)
    assert len(ours) < len(pillow.getvalue())


def test_image_threads_come_from_the_environment_or_the_cores(monkeypatch):
    monkeypatch.setenv("CHROMATIC_CHARM_IMAGE_THREADS", "3")
    assert inference.image_threads() == 3
    monkeypatch.setenv("CHROMATIC_CHARM_IMAGE_THREADS", "many")
    with pytest.raises(UserError, match="CHROMATIC_CHARM_IMAGE_THREADS must be a whole number >= 1, got 'many'"):
        inference.image_threads()
    monkeypatch.delenv("CHROMATIC_CHARM_IMAGE_THREADS")
    assert 1 <= inference.image_threads() <= 8
