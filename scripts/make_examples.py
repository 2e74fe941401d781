"""The web page's example photos: a few of ``samples/`` in grayscale, small, shipped in the package
(``src/chromatic_charm/serving/examples/``) so that the page offers them on a first visit, with their credits.

    python scripts/make_examples.py
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from PIL import Image, ImageOps

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "src" / "chromatic_charm" / "serving" / "examples"
CHOSEN = {  # file in samples/ -> the captions the page shows, in English and in Spanish
    "lomiri1604__Bridge_by_Sander_Klootwijk.jpg": ("A bridge", "Un puente"),
    "scratch__Nature-hill.jpg": ("A hill", "Una colina"),
    "gcompris__explore_monuments-lincolnMemorial.jpg": ("A monument", "Un monumento"),
    "gcompris__explore_world_animals-hedgehog.jpg": ("A hedgehog", "Un erizo"),
}
LONG_SIDE = 512


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    credits = {row["file"]: row for row in csv.DictReader((REPO / "samples" / "CREDITS.csv").open())}
    lines = ["# Example photos of the web page", "",
             f"Grayscale copies (long side {LONG_SIDE} px) of photos in `samples/`, made by `scripts/make_examples.py`.", "",
             "| file | caption | source | licence |", "| --- | --- | --- | --- |"]
    for name, (caption, _) in CHOSEN.items():
        image = ImageOps.exif_transpose(Image.open(REPO / "samples" / name)).convert("L")
        image.thumbnail((LONG_SIDE, LONG_SIDE), Image.Resampling.LANCZOS)
        target = OUT / name
        image.save(target, "JPEG", quality=85, optimize=True)
        row = credits[name]
        lines.append(f"| {name} | {caption} | {row['source_package']} {row['package_version']}: `{row['origin_path']}` | "
                     f"{row['licence']} |")
        print(f"{target.relative_to(REPO)}: {image.size[0]}x{image.size[1]}, {target.stat().st_size // 1024} KB")
    (OUT / "CREDITS.md").write_text("\n".join(lines) + "\n")
    listed = [{"file": n, "caption": c, "caption_es": es} for n, (c, es) in CHOSEN.items()]
    (OUT / "examples.json").write_text(json.dumps(listed, indent=1, ensure_ascii=False) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
