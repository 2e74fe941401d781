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
         "--targets", "tiny", "--json", str(tmp_path / "q.json"), "--grid", str(tmp_path / "grid.png"),
         "--markdown", str(tmp_path / "q.md")],
        capture_output=True, text=True, timeout=600, cwd=REPO)
    assert out.returncode in (0, 1), out.stderr[-2000:]  # 1: a tiny model misses the targets, as it should
    result = json.loads((tmp_path / "q.json").read_text())
    rows = result["rows"]
    assert (result["photos"], result["views"]) == (3, 2)
    assert set(rows) == {"grayscale input", "tiny", "truth"}
    gray = rows["grayscale input"]
    assert gray["colourfulness"] == pytest.approx(0.0, abs=0.5)  # the gray input has no colour
    assert gray["fid"] >= 0 and rows["tiny"]["fid"] >= 0
    assert 0 < gray["ciede2000"] < 60 and gray["psnr"] > 5
    assert result["timings"]["tiny"]["via"].startswith("POST /colorize")
    text = (tmp_path / "q.md").read_text()
    assert "N = 6 images (3 photos x 2 views)" in text and "Targets for `tiny`" in text
    assert ("MISSED" in text) == (out.returncode == 1)
    assert Image.open(tmp_path / "grid.png").size == (3 * 160, 18 + 3 * 160)  # gray | tiny | truth, 3 photos


def test_quality_benchmark_rejects_an_empty_folder(tmp_path):
    out = subprocess.run([sys.executable, str(SCRIPT), "--photos", str(tmp_path), "--model", "x=none.onnx"],
                         capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode != 0 and f"no photos under '{tmp_path}'" in out.stderr
    assert "Traceback" not in out.stderr
