"""The one inference path (ONNX Runtime, no torch): any size and mode in, same size out."""

import io
import subprocess
import sys
import numpy as np
import pytest
from PIL import Image

from chromatic_charm import color
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
