"""Lab conversion: agreement with scikit-image, round trip, NumPy/torch parity, normalisation."""

import numpy as np
import pytest
import torch
from skimage import color as skcolor

from chromatic_charm import color


@pytest.fixture(scope="module")
def rgb():
    rng = np.random.default_rng(0)
    grid = np.stack(np.meshgrid(*[np.linspace(0, 1, 16)] * 3, indexing="ij"), -1).reshape(-1, 1, 3)
    return np.concatenate([grid[:, 0], rng.random((4096, 3))]).reshape(-1, 64, 3)  # cube corners + random


def test_rgb_to_lab_agrees_with_scikit_image(rgb):
    assert np.abs(color.rgb_to_lab(rgb) - skcolor.rgb2lab(rgb)).max() < 1e-3


def test_lab_to_rgb_agrees_with_scikit_image(rgb):
    lab = skcolor.rgb2lab(rgb)
    assert np.abs(color.lab_to_rgb(lab) - skcolor.lab2rgb(lab)).max() < 1e-4


def test_round_trip_is_exact_within_float_precision(rgb):
    assert np.abs(color.lab_to_rgb(color.rgb_to_lab(rgb)) - rgb).max() < 1e-5


def test_torch_batches_match_numpy_on_the_channel_axis(rgb):
    batch = torch.from_numpy(rgb).permute(2, 0, 1)[None].double()  # (1, 3, H, W)
    lab_t = color.rgb_to_lab(batch, axis=1)[0].permute(1, 2, 0).numpy()
    assert lab_t.shape == rgb.shape
    assert np.abs(lab_t - color.rgb_to_lab(rgb)).max() < 1e-9
    assert isinstance(color.lab_to_rgb(color.rgb_to_lab(batch, axis=1), axis=1), torch.Tensor)


def test_known_values():
    lab = color.rgb_to_lab(np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]))
    np.testing.assert_allclose(lab[0], [100.0, 0.0, 0.0], atol=1e-2)  # D65 white, to the matrix precision
    np.testing.assert_allclose(lab[1], [0.0, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(lab[2], [53.24, 80.09, 67.20], atol=0.05)  # sRGB red


def test_normalisation_ranges_and_inverse(rgb):
    l_norm, ab_norm = color.rgb_to_model_input(rgb)
    assert l_norm.shape == rgb.shape[:2] + (1,) and ab_norm.shape == rgb.shape[:2] + (2,)
    assert -1.0 <= l_norm.min() and l_norm.max() <= 1.0
    assert np.abs(ab_norm).max() <= 1.0  # the whole sRGB gamut fits
    np.testing.assert_allclose(color.model_output_to_rgb(l_norm, ab_norm), rgb, atol=1e-5)


def test_uint8_input_is_rejected_not_silently_white():
    # rgb_to_lab takes floats in [0, 1]: an 8-bit photo read as floats would clip to white everywhere.
    for photo in (np.full((2, 2, 3), 40, np.uint8), torch.full((2, 2, 3), 40, dtype=torch.uint8),
                  np.array([0, 128, 255])):
        with pytest.raises(ValueError, match="divide 8-bit photos by 255 first"):
            color.rgb_to_lab(photo)
    assert color.rgb_to_lab(np.full((2, 2, 3), 40, np.uint8) / 255.0)[0, 0, 0] == pytest.approx(16.11, abs=0.01)


def test_out_of_range_floats_are_clipped():
    # a rounding error's overshoot: 1.0001 reads as white, -0.0001 as black
    assert color.rgb_to_lab(np.array([1.0001, 1.0001, 1.0001]))[0] == pytest.approx(100.0, abs=1e-3)
    assert color.rgb_to_lab(np.array([-1e-4, -1e-4, -1e-4]))[0] == pytest.approx(0.0, abs=1e-3)


def test_wrong_channel_count_is_a_clear_error():
    with pytest.raises(ValueError, match="expected 3 channels"):
        color.rgb_to_lab(np.zeros((4, 4, 2)))


def test_chroma_stats_separates_gray_sepia_and_colour():
    gray = np.repeat(np.linspace(0, 1, 64)[None, :, None], 64, axis=0).repeat(3, axis=2)
    sepia = gray * np.array([1.0, 0.85, 0.65])
    rng = np.random.default_rng(1)
    colourful = rng.random((64, 64, 3))
    g, s, c = (color.chroma_stats(x) for x in (gray, sepia, colourful))
    assert g["chroma_mean"] < 0.5 and g["chroma_spread"] < 0.5
    assert s["chroma_mean"] > 5 and s["chroma_spread"] < s["chroma_mean"]
    assert c["chroma_spread"] > 20


def test_8bit_fast_paths_agree_with_the_general_formulas():
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (120, 90, 3), dtype=np.uint8)
    rgb[0, :3] = [[0, 0, 0], [255, 255, 255], [1, 1, 1]]  # the ends and the linear segment near black
    lab = color.rgb_to_lab(rgb.astype(np.float32) / 255.0)
    assert np.abs(color.srgb8_to_lightness(rgb) - lab[..., 0]).max() < 1e-3
    ab = lab[..., 1:] + rng.normal(0, 25, lab[..., 1:].shape).astype(np.float32)  # out of gamut too
    exact = np.round(255 * color.lab_to_rgb(np.concatenate([lab[..., :1], ab], axis=-1))).astype(int)
    fast = color.lab_to_srgb8(lab[..., 0], ab).astype(int)
    assert np.abs(fast - exact).max() <= 1 and (fast != exact).mean() < 0.01
    round_trip = color.lab_to_srgb8(lab[..., 0], lab[..., 1:]).astype(int)
    assert np.abs(round_trip - rgb).max() <= 1
    with pytest.raises(ValueError, match="expected uint8"):
        color.srgb8_to_lightness(rgb.astype(np.float32))


def test_gray8_lightness_is_the_rgb_path_of_the_same_gray():
    gray = np.arange(256, dtype=np.uint8).reshape(16, 16)
    assert np.array_equal(color.gray8_to_lightness(gray), color.srgb8_to_lightness(np.repeat(gray[..., None], 3, -1)))
    assert color.gray8_to_lightness(gray).dtype == np.float32
    with pytest.raises(ValueError, match="uint8 \\(H, W\\) gray"):
        color.gray8_to_lightness(np.zeros((4, 4, 3), np.uint8))
