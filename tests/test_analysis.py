"""The EDA's measurements (analysis.py) on images whose answers are known by construction."""

import numpy as np
import pandas as pd
import pytest
import torch

from chromatic_charm import analysis
from chromatic_charm.analysis import CleanData
from chromatic_charm.metrics import colourfulness

REPO = __import__('pathlib').Path(__file__).resolve().parents[1]


def _data(arrays: dict, names: dict, sizes: dict | None = None) -> CleanData:
    rows = []
    for split, images in arrays.items():
        for row in range(len(images)):
            w, h = (sizes or {}).get((split, row), (256, 256))
            rows.append({"split": split, "row": row, "source": names[split][row], "width": w, "height": h})
    return CleanData(None, {}, {}, pd.DataFrame(rows), arrays)


def _solid(rgb, n=1, side=16):
    return np.tile(np.asarray(rgb, np.uint8), (n, side, side, 1))


def test_image_stats_measures_brightness_contrast_colour_and_agrees_with_the_metric():
    half = _solid((0, 0, 0))
    half[:, :, 8:] = 255
    rng = np.random.default_rng(0)
    noisy = rng.integers(0, 256, (1, 16, 16, 3)).astype(np.uint8)
    arrays = {"train": np.concatenate([_solid((255, 255, 255)), _solid((0, 0, 0)), half, _solid((128, 128, 128)), noisy]),
              "val": _solid((200, 30, 30)), "test": _solid((30, 30, 200))}
    data = _data(arrays, {s: [f"{s}{i}.jpg" for i in range(len(a))] for s, a in arrays.items()})
    stats = analysis.image_stats(data).set_index(["split", "row"])
    assert stats.loc[("train", 0), "brightness"] == pytest.approx(100, abs=0.05)
    assert stats.loc[("train", 1), "brightness"] == pytest.approx(0, abs=0.05)
    assert stats.loc[("train", 2), "contrast"] == pytest.approx(50, abs=0.05)  # half 0, half 100
    assert stats.loc[("train", 3), ["colourfulness", "chroma"]].max() < 0.05  # gray: no colour
    assert stats.loc[("val", 0), "a_mean"] > 40 and stats.loc[("test", 0), "b_mean"] < -40  # red, blue
    expected = colourfulness(torch.from_numpy(noisy).permute(0, 3, 1, 2).float() / 255.0).item()
    assert stats.loc[("train", 4), "colourfulness"] == pytest.approx(expected, rel=1e-6)


def test_hue_histogram_puts_red_and_blue_where_lch_says_and_ignores_gray():
    arrays = {"train": np.concatenate([_solid((255, 0, 0), 2), _solid((0, 0, 255)), _solid((128, 128, 128))]),
              "val": _solid((0, 0, 0)), "test": _solid((0, 0, 0))}
    data = _data(arrays, {s: [f"{i}.jpg" for i in range(len(a))] for s, a in arrays.items()})
    counts, edges, share = analysis.hue_histogram(data, bins=36)
    assert share == pytest.approx(3 / 4)  # the gray image's pixels are not chromatic
    centres = (edges[:-1] + edges[1:]) / 2
    assert counts.sum() == 3 * 16 * 16
    red, blue = centres[np.argsort(counts)[-1]], centres[np.argsort(counts)[-2]]
    assert 30 <= red <= 50 and 295 <= blue <= 315  # sRGB red: h about 40; blue: about 306
    colours = analysis.hue_colours(edges)
    assert colours.shape == (36, 3) and colours[3].argmax() == 0  # the bin at 35-45 degrees is drawn red
    shares = analysis.hue_shares(counts, edges, {"red": (10, 70), "blue": (240, 300), "wrap": (300, 370)})
    assert shares == pytest.approx({"red": 2 / 3, "blue": 0.0, "wrap": 1 / 3})  # blue's h 306 is in 300-370


def test_the_hue_chart_draws_a_bar_per_bin_in_its_own_colour():
    import matplotlib

    matplotlib.use("Agg")
    edges = np.linspace(0, 360, 37)
    fig = analysis.plot_hue_histogram(np.arange(36.0), edges, title="tono")
    bars = fig.axes[0].patches
    assert len(bars) == 36 and fig.axes[0].name == "polar" and fig.axes[0].get_title() == "tono"
    assert np.allclose(bars[3].get_facecolor()[:3], analysis.hue_colours(edges)[3])
    assert sum(b.get_height() for b in bars) == pytest.approx(1.0)


def test_crop_loss_and_composition_from_the_index():
    arrays = {"train": _solid((1, 2, 3), 3), "val": _solid((1, 2, 3)), "test": _solid((1, 2, 3))}
    names = {"train": ["mate__a.jpg", "mate__b.jpg", "train_samples/x.jpg"], "val": ["gcompris__c.jpg"],
             "test": ["loose.jpg"]}
    data = _data(arrays, names, sizes={("train", 0): (200, 100), ("train", 1): (100, 400)})
    crop = analysis.crop_loss(data)
    assert crop["aspect"].tolist()[:2] == [2.0, 0.25] and crop["discarded"].tolist()[:3] == [0.5, 0.75, 0.0]
    rejected = pd.DataFrame({"reason": ["sepia", "grayscale"], "file": ["mate__old.jpg", "other__x.jpg"]})
    table = analysis.composition(data, rejected)
    assert table.loc["mate", ["train", "val", "test", "total", "rejected"]].tolist() == [2, 0, 0, 2, 1]
    assert table.loc["train_samples", "total"] == 1 and table.loc["gcompris", "val"] == 1
    assert table.loc["-", "test"] == 1 and table.loc["other", "rejected"] == 1 and table.loc["other", "total"] == 0


def test_split_similarity_tells_alike_splits_from_different_ones():
    rng = np.random.default_rng(1)
    stats = pd.DataFrame({
        "split": ["train"] * 200 + ["val"] * 200 + ["test"] * 200,
        "brightness": np.concatenate([rng.normal(50, 10, 200), rng.normal(50, 10, 200), rng.normal(70, 10, 200)])})
    result = analysis.split_similarity(stats, features=("brightness",)).set_index("split")
    assert result.loc["val", "p_value"] > 0.01 and result.loc["test", "p_value"] < 1e-6
    assert result.loc["test", "ks_statistic"] > result.loc["val", "ks_statistic"]
    assert result.loc["test", ["n_reference", "n"]].tolist() == [200, 200]


def test_plots_take_the_notebooks_labels():
    import matplotlib

    matplotlib.use("Agg")
    fig = analysis.plot_ab_histogram(np.ones((4, 4)), np.linspace(-110, 110, 5), np.linspace(-110, 110, 5),
                                     title="t", labels=("a* (verde - rojo)", "b* (azul - amarillo)", "píxeles + 1"))
    assert fig.axes[0].get_xlabel() == "a* (verde - rojo)" and fig.axes[1].get_ylabel() == "píxeles + 1"
    import matplotlib.pyplot as plt

    _, axes = plt.subplots(1, 2)
    assert analysis.plot_ab_histogram(np.ones((4, 4)), np.linspace(-110, 110, 5), np.linspace(-110, 110, 5),
                                      ax=axes[1]) is axes[1].figure and axes[1].collections


def test_imagenet_classes_fall_into_the_scene_families():
    from torchvision.models._meta import _IMAGENET_CATEGORIES as names

    family = {i: analysis.scene_family(i, n) for i, n in enumerate(names)}
    assert family[names.index("valley")] == "landscape" and family[names.index("seashore")] == "water"
    assert family[names.index("palace")] == "city" and family[names.index("daisy")] == "plant"
    assert family[names.index("macaw")] == "animal" and family[names.index("space shuttle")] == "object"
    assert set(family.values()) == set(analysis.SCENE_FAMILIES)


def test_scene_classes_names_each_photo_with_the_encoders_classifier():
    """The EfficientNet-Lite0 classifier (the generator's encoder, with its ImageNet head; offline weights) on
    the shipped sample photos: a known class for the macaw."""
    from PIL import Image

    from chromatic_charm.config import SPLITS

    files = sorted((REPO / "samples").glob("*.jpg"))[:5]
    macaw = next((f for f in sorted((REPO / "samples").glob("*")) if "macaw" in f.name.lower()), None)
    files = ([macaw] if macaw else []) + files
    photos = np.stack([np.asarray(Image.open(f).convert("RGB").resize((96, 96))) for f in files])
    arrays = {s: photos if s == "train" else photos[:0] for s in SPLITS}
    data = _data(arrays, {"train": [f.name for f in files], "val": [], "test": []})
    scenes = analysis.scene_classes(data)
    assert len(scenes) == len(files) and set(scenes["family"]) <= set(analysis.SCENE_FAMILIES)
    assert scenes["probability"].between(0, 1).all() and scenes["source"].tolist() == [f.name for f in files]
    if macaw:
        assert scenes["class"].iloc[0] == "macaw" and scenes["family"].iloc[0] == "animal"
