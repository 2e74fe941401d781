"""Suggested hint colours (issue 34): the training photos' common a*b* per lightness, at export, and the
API's GET /suggestions that shows them at a clicked pixel's lightness."""

import json

import numpy as np
import pytest

from chromatic_charm import color, palette

SKY, GRASS = (-3.0, -30.0), (-30.0, 35.0)  # a*b*: a blue sky and a green meadow


def photos_of(*patches, n=4, size=32):
    """(n, size, size, 3) uint8 photos made of horizontal bands, one per (L*, a*, b*) patch."""
    lab = np.zeros((size, size, 3))
    for k, patch in enumerate(patches):
        lab[k * size // len(patches):(k + 1) * size // len(patches)] = patch
    rgb = np.round(color.lab_to_rgb(lab) * 255).astype(np.uint8)
    return np.repeat(rgb[None], n, axis=0)


def test_the_palette_finds_each_bands_common_colours_and_leaves_out_grey():
    built = palette.build(photos_of((75, *SKY), (45, *GRASS), (75, 0, 0)), stride=1)
    assert built["l_step"] == 10 and built["photos"] == 4 and len(built["bands"]) == 10
    (a, b, share), = built["bands"][7]  # L* 70-80: the sky; its grey third is no suggestion
    assert abs(a - SKY[0]) < 0.5 and abs(b - SKY[1]) < 0.5, (a, b)  # its own colour, not a bin's
    assert share == pytest.approx(0.5, abs=0.03)  # half of the band's pixels: the sky's and the grey's
    (a, b, _), = built["bands"][4]
    assert abs(a - GRASS[0]) < 0.5 and abs(b - GRASS[1]) < 0.5
    assert built["bands"][0] == [] and built["bands"][9] == []


def test_the_palettes_peaks_are_apart_and_its_input_is_checked():
    rng = np.random.default_rng(0)
    lab = np.stack([np.full((64, 64), 60.0), rng.uniform(-60, 60, (64, 64)), rng.uniform(-60, 60, (64, 64))], -1)
    rgb = np.round(color.lab_to_rgb(lab) * 255).astype(np.uint8)[None]
    picks = palette.build(rgb, stride=1)["bands"][5]
    assert len(picks) == 6
    for i, (a, b, _) in enumerate(picks):
        for a2, b2, _ in picks[:i]:
            assert np.hypot(a - a2, b - b2) >= 20
    with pytest.raises(ValueError, match="expected photos as"):
        palette.build(rgb.astype(np.float32))


def test_suggestions_are_the_bands_colours_at_the_points_own_lightness():
    built = palette.build(photos_of((75, *SKY), (45, *GRASS)), stride=1)
    for lightness in (70.0, 72.5, 79.9):
        first, grey = palette.suggestions(built, lightness)
        assert first["name"] == "blue" and grey["name"] == "grey"
        assert abs(palette.lightness_of(first["color"]) - lightness) < 0.6  # shown at the point's L*
        assert abs(palette.lightness_of(grey["color"]) - lightness) < 0.6
        lab = color.rgb_to_lab(np.array([int(first["color"][k:k + 2], 16) for k in (1, 3, 5)]) / 255)
        assert abs(lab[1] - first["a"]) < 1.5 and abs(lab[2] - first["b"]) < 1.5
    assert [s["name"] for s in palette.suggestions(built, 45)] == ["green", "grey"]
    assert [s["name"] for s in palette.suggestions(None, 45)] == ["grey"]  # a model without a palette


def test_a_colour_outside_srgb_keeps_its_hue_and_loses_chroma():
    bands = [[] for _ in range(10)]
    bands[9], bands[5] = [[-10.0, -80.0, 0.5]], [[10.0, 10.0, 0.5]]
    made = {"l_step": 10, "bands": bands}
    deep_blue = palette.suggestions(made, 95.0)[0]  # a deep blue cannot be that light
    hex_colour, a, b = deep_blue["color"], deep_blue["a"], deep_blue["b"]
    assert 0 < np.hypot(a, b) < 40 and abs(np.degrees(np.arctan2(b, a)) - np.degrees(np.arctan2(-80, -10))) < 0.5
    assert abs(palette.lightness_of(hex_colour) - 95.0) < 0.6
    inside = palette.suggestions(made, 50.0)[0]
    assert (inside["a"], inside["b"]) == (10.0, 10.0)  # inside: unchanged


@pytest.mark.parametrize("a, b, lightness, name", [
    (0, 2, 50, "grey"), (-3, -30, 70, "blue"), (-30, 35, 50, "green"), (50, 30, 50, "red"),
    (20, 40, 35, "brown"), (10, 10, 70, "beige"), (5, 70, 85, "yellow"), (30, 55, 65, "orange"),
    (40, -40, 50, "purple"), (-30, -10, 60, "teal"), (60, -5, 60, "pink")])
def test_hue_names(a, b, lightness, name):
    assert palette.hue_name(a, b, lightness) == name


def test_lightness_of_reads_hex_and_refuses_anything_else():
    assert palette.lightness_of("#ffffff") == pytest.approx(100, abs=0.01)
    assert palette.lightness_of("000000") == pytest.approx(0, abs=0.01)
    for bad in ("#fff", "#gggggg", "blue"):
        with pytest.raises(ValueError, match="expected a colour as #rrggbb"):
            palette.lightness_of(bad)


def test_the_export_writes_the_training_photos_palette(onnx_model, l_only_model):
    meta = json.loads(onnx_model.with_suffix(".json").read_text())
    assert meta["palette"]["photos"] == 48 and meta["palette"]["source"].endswith("train.npy")
    assert len(meta["palette"]["bands"]) == 10 and any(meta["palette"]["bands"])
    assert json.loads(l_only_model.with_suffix(".json").read_text())["palette"] is None  # it takes no hints


def test_the_api_suggests_colours_for_a_pixel_or_a_lightness(onnx_model):
    from chromatic_charm.serving import create_app

    client = create_app({"MODEL_PATH": onnx_model}).test_client()
    response = client.get("/suggestions", query_string={"pixel": "#8a8a8a"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["lightness"] == pytest.approx(palette.lightness_of("#8a8a8a"), abs=0.01)
    assert body["colors"][-1]["name"] == "grey" and len(body["colors"]) >= 2
    assert body["source"].startswith("the most common colours of the training photos")
    for item in body["colors"]:
        assert abs(palette.lightness_of(item["color"]) - body["lightness"]) < 0.6
    assert client.get("/suggestions?lightness=57.5").get_json()["lightness"] == 57.5
    for query, words in (("", "give one of pixel"), ("?pixel=%23808080&lightness=50", "give one of pixel"),
                         ("?pixel=red", "expected a colour as #rrggbb"), ("?lightness=120", "between 0 and 100"),
                         ("?lightness=dark", "lightness must be a number")):
        response = client.get("/suggestions" + query)
        assert response.status_code == 400 and words in response.get_json()["error"], (query, response.get_json())
    assert "/suggestions" in client.get("/openapi.json").get_json()["paths"]
