"""prepare's near-grayscale and sepia filter against a labelled photo set, beside the rule it replaced.

    python benchmarks/gray_detector.py ["Data/Raw Data/photos"] [--json out.json]

The folder's CREDITS.csv labels each photo (`colour`: `no` = near-grayscale or toned). Prints, for the
shipped rule (`chromatic_charm.data.detector.measure`, prepare's own verdict) and for the previous one
(mean chroma < 5.8, or a*b* spread < 3): photos set aside, precision and recall against the labels, the
colour photos set aside, and the recall on toned prints made from the colour photos (sepia, cyanotype,
selenium, gold at three strengths; the labelled set holds no toned print). Figures: BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe  # noqa: E402

from chromatic_charm.data.detector import STRENGTHS, TONES, _load, measure, toned  # noqa: E402
from chromatic_charm.data.prepare import PrepareConfig, colour_verdict  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def previous_rule(stats: dict) -> bool:
    """The filter before issue 23: faint (mean chroma < 5.8) or one tint by a*b* spread (< 3)."""
    return stats["chroma_mean"] < 5.8 or stats["chroma_spread"] < 3.0


def thumb_stats(rgb) -> dict:
    """The statistics prepare measures (its 64 px thumbnail), from prepare's own verdict."""
    return colour_verdict(rgb, PrepareConfig().checks())[2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", default=str(REPO / "Data" / "Raw Data" / "photos"))
    parser.add_argument("--json")
    args = parser.parse_args()
    folder = Path(args.folder)
    now = measure(folder)
    labels, stats = now["labels"], now["stats"]
    old_flagged = {n for n in labels if previous_rule(stats[n])}
    marked = {n for n, gray in labels.items() if gray}
    colour = sorted(n for n, gray in labels.items() if not gray)
    old_toned = [previous_rule(thumb_stats(toned(_load(folder / n), tone, s)))
                 for n in colour[::4] for tone in TONES for s in STRENGTHS]
    rows = {
        "shipped: mean chroma < 5, or hue spread < 6 deg at mean chroma < 25": {
            "set aside": now["flagged"], "precision": now["precision"], "recall": now["recall"],
            "colour set aside": len(now["colour_set_aside"]), "toned prints caught": now["toned_recall"]},
        "previous: mean chroma < 5.8, or a*b* spread < 3": {
            "set aside": len(old_flagged), "precision": len(old_flagged & marked) / len(old_flagged),
            "recall": len(old_flagged & marked) / len(marked), "colour set aside": len(old_flagged - marked),
            "toned prints caught": sum(old_toned) / len(old_toned)},
    }
    print(f"{folder.name}: {now['photos']} photos, {now['marked']} labelled near-grayscale or toned; "
          f"{now['toned_prints']} toned prints made from {len(colour[::4])} colour photos")
    print(f"{'rule':72s} {'set aside':>9s} {'precision':>9s} {'recall':>7s} {'colour out':>10s} {'toned':>7s}")
    for name, r in rows.items():
        print(f"{name:72s} {r['set aside']:9d} {r['precision']:9.3f} {r['recall']:7.3f} {r['colour set aside']:10d} "
              f"{r['toned prints caught']:7.3f}")
    print("shipped rule, colour photos set aside:", ", ".join(f"{n} ({r})" for n, r in now["colour_set_aside"]))
    print("shipped rule, labelled photos kept:", ", ".join(now["marked_kept"]))
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": describe(), "rules": rows,
                                               **{k: now[k] for k in ("colour_set_aside", "marked_kept", "toned_missed")}},
                                              indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
