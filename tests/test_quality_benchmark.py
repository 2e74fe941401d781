"""benchmarks/quality_benchmark.py, the script that measures the default model against the issue's targets:
it posts gray photos to a real gunicorn and scores what comes back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "quality_benchmark.py"


@pytest.mark.slow
def test_quality_benchmark_scores_a_model_through_the_api(onnx_model, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):  # colour photos of two sizes, as a user's folder would hold
        rgb = np.clip(rng.normal(128, 60, (8, 8, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(rgb).resize((64 + 32 * (i % 2), 64), Image.Resampling.BILINEAR).save(photos / f"p{i}.jpg")
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--photos", str(photos), "--crops", "2", "--model", f"tiny={onnx_model}",
         "--model", f"same={onnx_model}", "--baseline", "same", "--choose", "--not-shippable", "same",
         "--targets", "tiny", "--json", str(tmp_path / "q.json"), "--grid", str(tmp_path / "grid.png"),
         "--markdown", str(tmp_path / "q.md"), "--choose-scales", "same", "--closeup-grid", str(tmp_path / "close.png")],
        capture_output=True, text=True, timeout=600, cwd=REPO)
    assert out.returncode in (0, 1), out.stderr[-2000:]  # 1: a tiny model misses the targets, as it should
    result = json.loads((tmp_path / "q.json").read_text())
    rows = result["rows"]
    assert (result["photos"], result["views"]) == (3, 2)
    assert set(rows) == {"grayscale input", "tiny", "same", "truth"}
    gray = rows["grayscale input"]
    assert gray["colourfulness"] == pytest.approx(0.0, abs=0.5)  # the gray input has no colour
    assert gray["fid"] >= 0 and rows["tiny"]["fid"] >= 0
    assert 0 < gray["ciede2000"] < 60 and gray["psnr"] > 5
    assert result["timings"]["tiny"]["via"].startswith("POST /colorize")
    text = (tmp_path / "q.md").read_text()
    assert "N = 6 images (3 photos x 2 views)" in text and "Targets for `tiny`" in text
    assert ("MISSED" in text) == (out.returncode == 1)
    assert Image.open(tmp_path / "grid.png").size == (4 * 160, 18 + 3 * 160)  # gray | tiny | same | truth
    # the spread: paired differences per photo, against the gray input and against the baseline
    spread = result["spread"]
    against_gray = spread["against_gray"]["tiny"]
    for key in ("kid", "ciede2000", "psnr", "colourfulness"):
        d = against_gray[key]
        assert d["low"] <= d["value"] <= d["high"], key
    assert against_gray["colourfulness"]["value"] == pytest.approx(rows["tiny"]["colourfulness"] - gray["colourfulness"])
    same = spread["against"]["same"]["tiny"]  # the same model under two names: no difference at all
    assert all(same[k] == {"value": 0.0, "low": 0.0, "high": 0.0} for k in ("kid", "ciede2000", "psnr"))
    assert "Paired differences against the grayscale input" in text and "baseline `same`" in text
    assert "The study's rule" in text and "`same`" not in text.split("The study's rule")[1].split(":")[0]
    assert spread["chosen"]["model"] in (None, "tiny")
    # at every scale (the default 1,2,3): each tile posted at its own size, against gray and the baseline
    scales = result["scales"]
    tiny = scales["summary"]["tiny"]
    for name in ("scale1", "scale2", "scale3", "scales_mean"):
        key = f"q_ciede2000_{name}"
        assert tiny[f"{key}_vs_gray"] == pytest.approx(tiny[key] - tiny[f"{key}_gray"])
        assert tiny[f"{key}_vs_gray_lo"] <= tiny[f"{key}_vs_gray"] <= tiny[f"{key}_vs_gray_hi"]
    # scale 1 is the whole photo, the first corner view: the same images as the plain rows, fewer of them
    assert 0 < tiny["q_ciede2000_scale1_gray"] < 60 and tiny["q_colourfulness_scale3_real"] > 0
    assert scales["against"]["same"]["tiny"]["scale3"] == {"value": 0.0, "low": 0.0, "high": 0.0}
    assert "tiles of 1/3 of the side" in text and "CIEDE2000 against `same` at each scale" in text
    assert "Issue 33's rule" in text and scales["chosen"]["same"] in ("tiny", "same")
    assert Image.open(tmp_path / "close.png").size == (4 * 160, 18 + 3 * 160)


def test_quality_benchmark_rejects_an_empty_folder_and_bad_scales(tmp_path):
    out = subprocess.run([sys.executable, str(SCRIPT), "--photos", str(tmp_path), "--model", "x=none.onnx"],
                         capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode != 0 and f"no photos under '{tmp_path}'" in out.stderr
    assert "Traceback" not in out.stderr
    out = subprocess.run([sys.executable, str(SCRIPT), "--photos", str(tmp_path), "--model", "x=none.onnx",
                          "--scales", "0"], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode != 0 and "error: --scales '0': a scale is 1" in out.stderr and "Traceback" not in out.stderr


CALIBRATION = REPO / "studies" / "target_calibration" / "target_calibration.py"


def test_target_calibration_scores_oracles_and_a_model(onnx_model, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(1)
    for i in range(3):  # smooth colour photos: four colour patches each
        rgb = rng.integers(0, 256, (2, 2, 3), dtype=np.uint8)
        Image.fromarray(rgb).resize((64, 64), Image.Resampling.BILINEAR).save(photos / f"p{i}.png")
    out = subprocess.run(
        [sys.executable, str(CALIBRATION), "--photos", str(photos), "--crops", "1", "--no-fid",
         "--model", f"tiny={onnx_model}", "--gain", "1", "--gain", "0", "--json", str(tmp_path / "c.json"),
         "--markdown", str(tmp_path / "c.md")],
        capture_output=True, text=True, timeout=600, cwd=REPO)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads((tmp_path / "c.json").read_text())
    rows, truth = result["rows"], result["truth_colourfulness"]
    gray = rows["grayscale input"]
    assert gray["colourfulness"] == pytest.approx(0, abs=0.5) and truth > 10
    fine, coarse = rows["true colours on a 16x16 grid"], rows["true colours on a 1x1 grid"]
    assert fine["ciede2000"] < coarse["ciede2000"] < gray["ciede2000"]  # knowing more of the truth is closer
    assert fine["psnr"] > coarse["psnr"] > gray["psnr"]
    assert 0.3 * truth < rows["true colours, chroma x0.5"]["colourfulness"] < 0.7 * truth  # duller truth
    assert rows["true colours, chroma x0.5"]["colourfulness"] < rows["true colours, chroma x0.75"]["colourfulness"]
    # a gain of 0 turns the model's colours off: the grayscale input again
    assert rows["tiny, a*b* x0"]["ciede2000"] == pytest.approx(gray["ciede2000"], abs=0.05)
    text = (tmp_path / "c.md").read_text()
    assert "| true colours on a 16x16 grid |" in text and "misses FID, KID" in text  # no FID: never "met"
