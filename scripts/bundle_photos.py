"""Copy the team's photo set into the repo, small enough for git: `Data/Raw Data/photos/`.

    python scripts/bundle_photos.py [SOURCE (default ../shared/data/photos)] [--out "Data/Raw Data/photos"]

Each photo is turned upright (EXIF), resized so that its short side is 256 px (the side `prepare` keeps;
smaller photos stay as they are) and saved as JPEG quality 90; its CREDITS.csv row (source package,
original path, licence, and the `colour` label that measures the gray/sepia detector) comes along, and
the folder's README says where they come from. About 16 MB for 506 photos: the pipeline's default data
(params.yaml `data.source`), so `dvc repro` runs on a fresh clone with no download.
"""

from __future__ import annotations

import argparse
import csv
import io
import shutil
import sys
from pathlib import Path

from PIL import Image, ImageOps

REPO = Path(__file__).resolve().parents[1]
SHORT_SIDE = 256
QUALITY = 90


def shrink(path: Path) -> bytes:
    with Image.open(path) as image:
        rgb = ImageOps.exif_transpose(image).convert("RGB")
    scale = SHORT_SIDE / min(rgb.size)
    if scale < 1:
        rgb = rgb.resize((round(rgb.width * scale), round(rgb.height * scale)), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    rgb.save(out, "JPEG", quality=QUALITY)
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", nargs="?", default=str(REPO.parent / "shared" / "data" / "photos"))
    parser.add_argument("--out", default=str(REPO / "Data" / "Raw Data" / "photos"))
    args = parser.parse_args()
    source, out = Path(args.source), Path(args.out)
    credits = source / "CREDITS.csv"
    if not credits.is_file():
        print(f"bundle_photos: no CREDITS.csv in '{source}'; give the folder of the team's photo set", file=sys.stderr)
        return 2
    with open(credits, newline="") as f:
        rows = list(csv.DictReader(f))
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    total = 0
    for row in rows:
        data = shrink(source / row["file"])
        (out / row["file"]).write_bytes(data)
        total += len(data)
    shutil.copy(credits, out / "CREDITS.csv")
    labelled = sum(r["colour"] == "no" for r in rows)
    (out / "README.md").write_text(
        f"# The team's photo set\n\n"
        f"{len(rows)} openly licensed real photographs ({labelled} of them near-grayscale or sepia on purpose:\n"
        "`CREDITS.csv` column `colour` = `no`), the data every saved output of the notebooks, the report and\n"
        "the shipped model comes from (params.yaml `data.source`). They are not Places365: see the report's\n"
        "\"Dataset final\" and the README for the Kaggle path.\n\n"
        "Taken from Debian and PyPI packages; each file's source package, version, original path and licence\n"
        "(public domain, CC-BY-SA, GPL, BSD, MIT, MPL, ...) are in `CREDITS.csv`. Credit the authors wherever\n"
        "the photos or models trained on them are shown, and keep the CC-BY-SA notices with anything derived\n"
        "from those photos.\n\n"
        f"Made by `python scripts/bundle_photos.py` from the team's full-size set: upright (EXIF), short side\n"
        f"{SHORT_SIDE} px (what `prepare` keeps), JPEG quality {QUALITY}.\n")
    print(f"bundle_photos: {len(rows)} photos, {total / 1e6:.1f} MB, in '{out}'")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
