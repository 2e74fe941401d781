"""Evaluation at several scales (issue 33): the tiles cover each photo exactly, the per-scale summary is
the paired difference to the grayscale input with its interval over photos, and ``evaluate`` logs every
scale to the run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from chromatic_charm import stats
from chromatic_charm.views import corner_views, parse_scales, scale_summary, scale_table, tiles, verdict


@pytest.mark.parametrize("height,width,scale", [(256, 256, 1), (256, 256, 2), (256, 256, 3), (720, 1440, 3), (7, 5, 3)])
def test_tiles_cover_the_photo_once_at_about_one_kth_of_each_side(height, width, scale):
    boxes = tiles(height, width, scale)
    assert len(boxes) == scale * scale
    cover = np.zeros((height, width), int)
    for top, left, h, w, mirrored in boxes:
        assert not mirrored and h in (height // scale, -(-height // scale)) and w in (width // scale, -(-width // scale))
        cover[top:top + h, left:left + w] += 1
    assert (cover == 1).all()
    if scale == 1:
        assert boxes == [(0, 0, height, width, False)]


def test_corner_views_are_the_whole_photo_four_corners_and_mirror_images():
    views = corner_views(256, 256, 10)
    assert views[0] == (0, 0, 256, 256, False) and views[4] == (64, 64, 192, 192, False)
    assert [v[4] for v in views] == [False] * 5 + [True] * 5 and views[5][:4] == views[0][:4]


def test_parse_scales_sorts_and_refuses_what_is_not_a_scale():
    assert parse_scales("3,1,2,2") == (1, 2, 3)
    for bad in ("0,1", "a", "", "9"):
        with pytest.raises(ValueError, match="scale"):
            parse_scales(bad)


def test_scale_summary_is_the_paired_difference_to_gray_with_its_interval_over_photos():
    rng = np.random.default_rng(0)
    photos = 12
    model = {k: {"ciede2000": rng.uniform(8, 12, photos), "psnr": rng.uniform(20, 24, photos),
                 "colourfulness": rng.uniform(20, 30, photos)} for k in (1, 2, 3)}
    gray = {k: {"ciede2000": model[k]["ciede2000"] + (0.5 if k == 1 else -1.0), "psnr": np.full(photos, np.inf),
                "colourfulness": np.zeros(photos)} for k in (1, 2, 3)}
    real = {k: np.full(photos, 40.0 + k) for k in (1, 2, 3)}
    out = scale_summary("test", model, gray, real)
    assert out["test_ciede2000_scale1_vs_gray"] == pytest.approx(-0.5)
    assert out["test_ciede2000_scale3_vs_gray"] == pytest.approx(1.0)
    # a constant difference has no spread: its interval is the point
    assert out["test_ciede2000_scale2_vs_gray_lo"] == pytest.approx(1.0) == out["test_ciede2000_scale2_vs_gray_hi"]
    mean = np.mean([model[k]["ciede2000"] for k in (1, 2, 3)], axis=0)
    assert out["test_ciede2000_scales_mean"] == pytest.approx(mean.mean())
    assert out["test_ciede2000_scales_mean_vs_gray"] == pytest.approx((-0.5 + 1 + 1) / 3)
    assert out["test_psnr_scale1_gray"] == 100.0  # infinite PSNR (a tile equal to the truth) counts as 100 dB
    expected = stats.bootstrap_interval(model[2]["psnr"] - 100.0)
    assert (out["test_psnr_scale2_vs_gray_lo"], out["test_psnr_scale2_vs_gray_hi"]) == \
        pytest.approx((expected.low, expected.high))
    assert out["test_colourfulness_scale3_real"] == 43.0 and out["test_colourfulness_scales_mean_real"] == 42.0
    assert verdict(out, "test", "scale1") == "better" and verdict(out, "test", "scale2") == "worse"
    assert verdict(out, "test", "scale1", "psnr") == "worse" and verdict(out, "test", "scale9") is None
    table = scale_table(out, "test")
    assert table.splitlines()[2].startswith("| whole photo (1) |") and "| -0.50 [-0.50, -0.50] | better |" in table
    assert table.splitlines()[-1].startswith("| mean of the scales (1-3) |")


def test_evaluate_scores_and_logs_every_scale(tiny_config, clean_data, isolated_project):
    from dataclasses import replace

    from mlflow.tracking import MlflowClient

    from chromatic_charm.data.dataset import ArraySplit, eval_tiles, eval_views
    from chromatic_charm.evaluation import evaluate
    from chromatic_charm.training.loop import train

    result = train(replace(tiny_config, max_steps=2), progress=False)
    out = evaluate(str(result.checkpoint), data_dir=clean_data, crops=1, fid=False, progress=False, log=False)
    m = out["metrics"]
    # scale 1 is the whole photo: the first corner view, which is all the plain metrics see with crops=1
    assert m["test_ciede2000_scale1"] == pytest.approx(m["test_ciede2000"], rel=1e-6)
    assert m["test_colourfulness_scale1_real"] == pytest.approx(m["test_colourfulness_real"], rel=1e-6)
    for name in ("scale1", "scale2", "scale3", "scales_mean"):
        for measure in ("ciede2000", "psnr"):
            key = f"test_{measure}_{name}"
            assert m[f"{key}_vs_gray"] == pytest.approx(m[key] - m[f"{key}_gray"], abs=1e-6)
            assert m[f"{key}_vs_gray_lo"] <= m[f"{key}_vs_gray"] <= m[f"{key}_vs_gray_hi"]
        assert m[f"test_colourfulness_{name}_real"] > 0
    assert m["test_ciede2000_scales_mean"] == pytest.approx(
        np.mean([m[f"test_ciede2000_scale{k}"] for k in (1, 2, 3)]), rel=1e-6)
    # the grayscale input's CIEDE2000 at scale 3, computed here from the tiles themselves
    from chromatic_charm import color
    from chromatic_charm.metrics import ciede2000

    photos = ArraySplit(clean_data, "test")[list(range(8))]
    tiles3 = eval_tiles(photos, image_size=32, scale=3, device="cpu")
    assert tiles3.shape == (72, 3, 32, 32)
    assert torch.equal(eval_tiles(photos, image_size=32, scale=1, device="cpu"),
                       eval_views(photos, image_size=32, crops=1, device="cpu"))
    lightness, ab = color.rgb_to_model_input(tiles3, axis=1)
    lab = lambda a: torch.cat([color.denormalize_l(lightness), color.denormalize_ab(a)], 1).permute(0, 2, 3, 1).numpy()
    gray = ciede2000(lab(torch.zeros_like(ab)), lab(ab)).reshape(72, -1).mean(1)
    assert m["test_ciede2000_scale3_gray"] == pytest.approx(gray.mean(), rel=1e-5)
    assert "| tiles of 1/3 of the side (3) |" in out["table"] and "test_ciede2000_scale3_vs_gray_lo" not in out["table"]
    # logged to the run, with --scales choosing which
    logged = evaluate(str(result.checkpoint), data_dir=clean_data, crops=1, fid=False, progress=False, scales=(1, 2))
    run = MlflowClient().get_run(result.run_id).data.metrics
    assert run["test_ciede2000_scale2_vs_gray_hi"] == pytest.approx(logged["metrics"]["test_ciede2000_scale2_vs_gray_hi"])
    assert "test_ciede2000_scale3" not in logged["metrics"] and "test_ciede2000_scales_mean" in logged["metrics"]


def test_evaluate_gives_the_grayscale_input_and_intervals_on_the_same_views(tiny_config, clean_data, isolated_project):
    """The main table's CIEDE2000, PSNR and SSIM (every view) come with the grayscale input's values on the same
    views, the paired difference, and bootstrap intervals over photos; each photo's values are in the output."""
    from dataclasses import replace

    from chromatic_charm.evaluation import evaluate
    from chromatic_charm.training.loop import train

    result = train(replace(tiny_config, max_steps=2), progress=False)
    out = evaluate(str(result.checkpoint), data_dir=clean_data, crops=3, fid=False, progress=False, log=False)
    m, per = out["metrics"], out["per_photo"]
    photos = out["photos"]
    assert all(len(v) == photos for v in per.values())
    for measure in ("ciede2000", "psnr", "ssim"):
        # each photo's mean over its 3 views, averaged: the plain metric (every photo has the same views)
        assert np.mean(per[measure]) == pytest.approx(m[f"test_{measure}"], rel=1e-5)
        assert m[f"test_{measure}_gray"] == pytest.approx(np.mean(np.minimum(per[f"{measure}_gray"], 100)), rel=1e-6)
        assert m[f"test_{measure}_lo"] <= m[f"test_{measure}"] <= m[f"test_{measure}_hi"]
        assert m[f"test_{measure}_vs_gray"] == pytest.approx(m[f"test_{measure}"] - m[f"test_{measure}_gray"], abs=1e-5)
        assert m[f"test_{measure}_vs_gray_lo"] <= m[f"test_{measure}_vs_gray"] <= m[f"test_{measure}_vs_gray_hi"]
    assert m["test_ssim_gray"] < 1 and m["test_ciede2000_gray"] > 0
    assert m["test_colourfulness_lo"] <= m["test_colourfulness"] <= m["test_colourfulness_hi"]
    assert len(per["ciede2000_scale2"]) == photos and "ciede2000_scale2_gray" in per
    assert "test_ciede2000_vs_gray_lo" in out["table"] and "grayscale input on the same views" in out["table"]
