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


def test_image_grid_keeps_each_title_within_its_thumbnail_and_the_suptitle_above_them():
    import matplotlib

    matplotlib.use("Agg")
    images = _solid((10, 200, 30), 6)
    names = ["gcompris__explore_monuments-neuschwansteinCastle.jpg", "lomiri1604__sunset_by_Aitzol_Berasategi.jpg",
             "a.jpg", "scikit-image__motorcycle_left.jpg", "b.jpg", "c.jpg"]
    fig = analysis.image_grid(images, names, cols=3, size=1.6, wrap=40, suptitle="duplicados: conservado | descartado")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    titles = [ax.title for ax in fig.axes if ax.get_title()]
    assert len(titles) == 6 and all("".join(t.get_text().split("\n")) == n for t, n in zip(titles, names))
    assert max(len(line) for t in titles for line in t.get_text().split("\n")) <= analysis._chars_that_fit(1.6)
    boxes = [t.get_window_extent(renderer) for t in titles]
    for i, a in enumerate(boxes):  # no two titles overlap, and none reaches into another cell's image
        assert not any(a.overlaps(b) for b in boxes[i + 1:])
        assert not any(a.overlaps(ax.get_images()[0].get_window_extent(renderer)) for ax in fig.axes if ax.get_images())
    assert fig._suptitle.get_window_extent(renderer).y0 >= max(b.y1 for b in boxes[:3]) - 1  # above the first row's titles


def test_series_names_drop_the_trailing_number():
    assert analysis.series_name("kphotoalbum__grand_canyon_2.jpg") == "kphotoalbum__grand_canyon"
    assert analysis.series_name("stellarium__mars-3.jpg") == "stellarium__mars"
    assert analysis.series_name("endlesssky__mountain18-harro.jpg") == "endlesssky__mountain"
    assert analysis.series_name("endlesssky__city14-sfiera.jpg") == "endlesssky__city"
    assert analysis.series_name("scikit-image__motorcycle_left.jpg") == "scikit-image__motorcycle_left"
    assert analysis.series_name("train_samples/a/abbey/00001.jpg") == "00001"  # all digits: its own series


def test_cross_split_neighbours_finds_the_nearest_training_photo_by_hash_distance():
    arrays = {"train": _solid((1, 2, 3), 3), "val": _solid((1, 2, 3), 2), "test": _solid((1, 2, 3))}
    names = {"train": ["t0.jpg", "t1.jpg", "t2.jpg"], "val": ["v0.jpg", "v1.jpg"], "test": ["x0.jpg"]}
    data = _data(arrays, names)
    hashes = {"t0.jpg": 0, "t1.jpg": 0xFF, "t2.jpg": 0xFFFF0000, "v0.jpg": 0x7F, "v1.jpg": 0xFFFF0003, "x0.jpg": 2**64 - 1}
    data.index["phash"] = [f"{hashes[s]:016x}" for s in data.index["source"]]
    near = analysis.cross_split_neighbours(data).set_index("source")
    assert near.loc["v0.jpg", ["nearest", "distance"]].tolist() == ["t1.jpg", 1]
    assert near.loc["v1.jpg", ["nearest", "distance"]].tolist() == ["t2.jpg", 2]
    assert near.loc["x0.jpg", ["nearest", "distance"]].tolist() == ["t2.jpg", 48]
    assert near.loc["t0.jpg", ["nearest", "distance"]].tolist() == ["t1.jpg", 8]  # never itself
    assert analysis.cross_split_neighbours(data)["distance"].is_monotonic_increasing
    assert analysis.perceptual_hashes(data).dtype == np.uint64


def test_series_across_splits_lists_only_the_series_that_cross():
    arrays = {"train": _solid((1, 2, 3), 3), "val": _solid((1, 2, 3), 2), "test": _solid((1, 2, 3))}
    names = {"train": ["k__canyon_1.jpg", "k__canyon_3.jpg", "s__mars-1.jpg"], "val": ["k__canyon_2.jpg", "s__dune.jpg"],
             "test": ["s__mars-2.jpg"]}
    table = analysis.series_across_splits(_data(arrays, names))
    assert table.index.tolist() == ["k__canyon", "s__mars"]
    assert table.loc["k__canyon", ["train", "val", "test"]].tolist() == [2, 1, 0]
    assert table.loc["s__mars", "files_test"] == ["s__mars-2.jpg"] and table.loc["s__mars", "files_val"] == []


def test_crop_views_darken_what_the_centre_square_discards(tmp_path):
    from PIL import Image

    Image.new("RGB", (200, 100), (200, 200, 200)).save(tmp_path / "wide.png")
    data = CleanData(None, {}, {"root": str(tmp_path)}, pd.DataFrame(), {})
    view = analysis.crop_views(data, ["wide.png"], height=50, shade=0.5)[0]
    assert view.shape == (50, 100, 3)
    assert view[:, 25:75].min() == 200 and view[:, :25].max() == 100 and view[:, 75:].max() == 100


def test_the_filter_threshold_chart_shows_both_labels_and_the_rules():
    import matplotlib

    matplotlib.use("Agg")
    stats = {"a.jpg": {"chroma_mean": 2.0, "hue_spread": 40.0}, "b.jpg": {"chroma_mean": 12.0, "hue_spread": 3.0},
             "c.jpg": {"chroma_mean": 45.0, "hue_spread": 80.0}}
    result = {"stats": stats, "labels": {"a.jpg": True, "b.jpg": False, "c.jpg": False}}
    fig = analysis.plot_filter_thresholds(result, 5.0, 6.0, 25.0)
    left, right = fig.axes
    assert [line.get_xdata()[0] for line in left.get_lines()] == [5.0]
    assert sum(p.get_height() for p in left.patches) == 3  # every photo counted once, the 45 in the last bar
    assert len(right.collections) == 2 and any(p.get_width() == 25.0 and p.get_height() == 6.0 for p in right.patches)


def test_the_hue_chart_labels_its_radius_in_percent_and_marks_the_family_boundaries():
    import matplotlib

    matplotlib.use("Agg")
    fig = analysis.plot_hue_histogram(np.arange(36.0), np.linspace(0, 360, 37), boundaries=[10, 70])
    ax = fig.axes[0]
    fig.canvas.draw()
    assert len(ax.get_lines()) == 2 and all(t.get_text().endswith("%") for t in ax.get_yticklabels() if t.get_text())


def test_group_audit_finds_what_the_split_keeps_together_and_what_crosses(tmp_path):
    import csv

    from chromatic_charm.data.prepare import PrepareConfig, prepare

    from test_prepare import photo

    raw = tmp_path / "raw"
    raw.mkdir()
    for i in range(14):
        photo(500 + i).save(raw / f"solo{chr(97 + i)}.jpg", quality=92)
    for i in range(3):
        photo(600 + i).save(raw / f"shoot_{i}.jpg", quality=92)
    for i in range(8):  # a theme: longer than group_series_max, split photo by photo
        photo(700 + i).save(raw / f"theme{i}.jpg", quality=92)
    photo(800).save(raw / "view.jpg", quality=92)
    photo(800, 200, 150).crop((8, 6, 192, 144)).save(raw / "view_wide.jpg", quality=92)
    out = tmp_path / "clean"
    prepare(PrepareConfig(source=str(raw), out_dir=out, raw_dir=tmp_path, size=32, min_size=64, val_frac=0.25,
                          test_frac=0.25, workers=1, progress=False))
    audit = analysis.group_audit(analysis.load_clean(out), distance=10, series_max=4)
    near = audit["near_pairs"]
    assert {tuple(sorted((r.a, r.b))) for r in near.itertuples()} >= {("view.jpg", "view_wide.jpg")}
    assert (near["split_a"] == near["split_b"]).all() and near["bits"].max() <= 10
    assert (near["bits"] > 4).all()  # near views, not duplicates: prepare removed those (within 4 bits)
    assert list(audit["short_series"].index) == ["shoot"] and audit["short_series"].loc["shoot", "splits"] == 1
    assert list(audit["long_series"].index) == ["theme"] and audit["long_series"].loc["theme", "photos"] == 8
    splits = {r["source"]: r["split"] for r in csv.DictReader(open(out / "index.csv"))}
    themed = {splits[f"theme{i}.jpg"] for i in range(8)}
    assert (len(audit["crossing"]) == 1) == ("train" in themed and len(themed) > 1)


def test_planted_defects_get_the_verdict_the_eda_expects(tmp_path):
    from chromatic_charm.data.prepare import PrepareConfig, prepare

    photos = sorted((REPO / "samples").glob("*.jpg"))[:6]
    expected = analysis.plant_defects(photos, tmp_path / "raw")
    report = prepare(PrepareConfig(source=str(tmp_path / "raw"), out_dir=tmp_path / "clean", raw_dir=tmp_path,
                                   size=32, min_size=128, workers=1, progress=False))
    table = analysis.defect_verdicts(report)
    assert len(table) == len(expected) == 12
    assert (table["esperado"] == table["prepare"]).all(), table[table["esperado"] != table["prepare"]]
    assert report["counts"]["kept"] == 5  # the photo and the four converted ones
    assert {i["file"]: i["duplicate_of"] for i in report["rejected"]["duplicate"]} == {
        "02_copia.jpg": "01_original.jpg", "03_reducida.jpg": "01_original.jpg"}
    fidelity = analysis.defect_fidelity(tmp_path / "clean", photos)  # the conversions kept the colours
    assert set(fidelity.index) == set(analysis.DEFECT_SOURCES)
    assert fidelity["01_original.jpg"] < 1 and fidelity["04_cmyk.jpg"] < 1 and fidelity["07_girada.jpg"] < 1.5
    assert fidelity["05_paleta.png"] < 4 and 3 < fidelity["06_transparente.png"] < 30  # alpha 200 over white: lighter
    with pytest.raises(Exception, match="needs 6 photos"):
        analysis.plant_defects(photos[:5], tmp_path / "other")


def test_group_settings_audit_any_split_with_one_definition():
    grouped = {"groups": {"split_by": "group", "group_distance": 0, "group_series_max": 2}}
    assert analysis.group_settings(grouped) == {"split_by": "group", "distance": 0, "series_max": 2}  # 0 is a value
    for report, by in (({}, "photo"), ({"groups": {"split_by": "published", "groups": None}}, "published")):
        settings = analysis.group_settings(report)  # older data, or Places365: prepare's default definition
        assert settings == {"split_by": by, "distance": 12, "series_max": 4}
