"""Prepare throughput: raw Places365-layout JPEGs -> clean data, at the size of the Kaggle subset.

The product targets the Kaggle subset pankajkumar2002/places365: 36,500 JPEGs at 256x256 in
``val_256/{train_samples,valid_samples,test_samples}`` (21,900 / 7,298 / 7,302). A folder that holds
that layout, passed as ``chromatic-charm prepare --source FOLDER``, keeps its published split, as
``--source kaggle`` does (the folder must contain ``val_256``; pointing at ``val_256`` itself makes
prepare treat it as a plain folder and re-split it).

In one run on one machine this script
  1. synthesises N photo-like images in that layout (smooth colour fields, a horizon, blobs, grain,
     varied colourfulness; plus planted near-grayscale and sepia photos, exact and near duplicates
     and one truncated JPEG, so every check of prepare runs); timed apart, excluded from the figures;
  2. runs the real ``chromatic-charm prepare`` (the venv's console script, as the DVC stage does) once
     per worker count into a temporary folder and reports wall time, images/s, CPU seconds per image
     (the figure that survives a busy machine), the pool and post-pool phases, peak memory, output
     sizes, and what prepare rejected by reason next to what was planted;
  3. (unless --no-diagnostics) times, in process, ``inspect_file`` on a sample and ``find_duplicates``
     at N, the per-image and the serial, whole-set parts of prepare.

Usage: python benchmarks/prepare_benchmark.py [--images 36500] [--workers 1,2] [--keep DIR]
                                              [--json-out results.json]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import PIL
from PIL import Image

from _machine import describe

from chromatic_charm.config import PLACES_EXPECTED, PLACES_ROOT, PLACES_SPLITS, SPLITS

SIZE = 256
PHOTO, GRAY, SEPIA, EXACT_DUP, NEAR_DUP, CORRUPT = range(6)
SYNTH_VERSION = 1  # bump when the generator changes, so --keep does not reuse a stale folder


# ---------------------------------------------------------------- synthesis

def plan(n: int, seed: int) -> dict:
    """Split sizes, file names and the planted specials (kind and source image per index)."""
    total = sum(PLACES_EXPECTED.values())
    n_val = round(n * PLACES_EXPECTED["val"] / total)
    n_test = round(n * PLACES_EXPECTED["test"] / total)
    counts = {"train": n - n_val - n_test, "val": n_val, "test": n_test}
    if min(counts.values()) < 5:
        raise SystemExit("--images must be at least 50 (every split needs a few photos)")
    rng = np.random.default_rng([seed, 1])
    kind, source = np.full(n, PHOTO, np.int8), np.arange(n)
    planted = {"grayscale": max(3, n // 200), "sepia": max(2, n // 500), "exact_duplicate": max(3, n // 2000),
               "near_duplicate": max(2, n // 5000), "truncated": 1}
    special = rng.choice(np.arange(n // 10, n), size=sum(planted.values()), replace=False)  # sources come earlier
    cursor = 0
    for name, code in (("grayscale", GRAY), ("sepia", SEPIA), ("exact_duplicate", EXACT_DUP),
                       ("near_duplicate", NEAR_DUP), ("truncated", CORRUPT)):
        for index in special[cursor:cursor + planted[name]]:
            kind[index] = code
            if code in (EXACT_DUP, NEAR_DUP):
                while True:  # an earlier ordinary photo (maybe in another split)
                    src = int(rng.integers(0, index))
                    if kind[src] == PHOTO:
                        break
                source[index] = src
        cursor += planted[name]
    expected = {"grayscale": planted["grayscale"], "sepia": planted["sepia"], "truncated": 1,
                "duplicate": planted["exact_duplicate"] + planted["near_duplicate"]}
    paths, index = [], 0
    for split in SPLITS:
        for _ in range(counts[split]):
            index += 1
            paths.append(f"{PLACES_ROOT}/{PLACES_SPLITS[split]}/Places365_val_{index:08d}.jpg")
    split_of = np.repeat(np.arange(3), [counts[s] for s in SPLITS])
    kept = {s: int(((kind == PHOTO) & (split_of == k)).sum()) for k, s in enumerate(SPLITS)}
    return {"counts": counts, "planted": planted, "expected_rejected": expected, "expected_kept": kept,
            "kind": kind, "source": source, "paths": paths}


def render(seed: int, index: int) -> tuple[np.ndarray, int]:
    """One photo-like 256x256 image (float32 RGB, 0..255) and its JPEG quality, fixed by (seed, index)."""
    rng = np.random.default_rng([seed, 2, index])
    g = int(rng.integers(2, 7))
    grid = rng.integers(0, 256, (g, g, 3), dtype=np.uint8)
    field = np.asarray(Image.fromarray(grid).resize((SIZE, SIZE), Image.Resampling.BICUBIC), np.float32)
    top, bottom = rng.uniform(0, 255, (2, 3)).astype(np.float32)
    y = np.linspace(0, 1, SIZE, dtype=np.float32)[:, None, None]
    t = 1 / (1 + np.exp(-(y - rng.uniform(0.3, 0.7)) / rng.uniform(0.02, 0.3)))
    mix = np.float32(rng.uniform(0.2, 0.8))
    image = mix * field + (1 - mix) * (top * (1 - t) + bottom * t)
    yy, xx = np.ogrid[0:SIZE, 0:SIZE]
    for _ in range(int(rng.integers(0, 6))):  # objects: ellipses of one colour over the scene
        cy, cx = rng.uniform(0, SIZE, 2)
        ry, rx = rng.uniform(10, 90, 2)
        colour = rng.uniform(0, 255, 3).astype(np.float32)
        y0, y1 = max(0, int(cy - ry)), min(SIZE, int(cy + ry) + 1)
        x0, x1 = max(0, int(cx - rx)), min(SIZE, int(cx + rx) + 1)
        mask = ((yy[y0:y1] - cy) / ry) ** 2 + ((xx[:, x0:x1] - cx) / rx) ** 2 < 1  # only its bounding box
        region = image[y0:y1, x0:x1]
        region[mask] = 0.3 * region[mask] + 0.7 * colour
    mid = rng.standard_normal((SIZE // 8, SIZE // 8), dtype=np.float32)
    mid = np.asarray(Image.fromarray(mid, "F").resize((SIZE, SIZE), Image.Resampling.BILINEAR))[..., None]
    grain = rng.standard_normal((SIZE, SIZE, 1), dtype=np.float32)
    image = image + mid * np.float32(rng.uniform(2, 15)) + grain * np.float32(rng.uniform(0, 6))
    luma = image @ np.array([0.299, 0.587, 0.114], np.float32)
    colourfulness = np.float32(rng.uniform(0.35, 1.3))
    image = luma[..., None] + colourfulness * (image - luma[..., None])
    return image, int(rng.integers(70, 96))


def encode(image: np.ndarray, quality: int) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(out, "JPEG", quality=quality)
    return out.getvalue()


def _synth_chunk(args: tuple) -> int:
    root, seed, paths, kinds, sources = args
    written = 0
    for path, kind, src in zip(paths, kinds, sources):
        image, quality = render(seed, int(src))
        if kind in (GRAY, SEPIA):
            luma = image @ np.array([0.299, 0.587, 0.114], np.float32)
            image = np.repeat(luma[..., None], 3, axis=2)
            if kind == GRAY:  # a faint cast, as in a scanned black-and-white print
                image = image + np.array([0.6, 0.0, -0.8], np.float32)
            else:  # one warm tint everywhere
                image = image + np.array([9.0, 1.0, -9.0], np.float32)
        elif kind == NEAR_DUP:
            quality = max(50, quality - 15)  # same pixels re-encoded: a different file, the same photo
        data = encode(image, quality)
        if kind == CORRUPT:
            data = data[: len(data) * 3 // 5]
        target = Path(root) / path
        target.write_bytes(data)
        written += len(data)
    return written


def synthesise(root: Path, n: int, seed: int, workers: int) -> dict:
    layout = plan(n, seed)
    for folder in PLACES_SPLITS.values():
        (root / PLACES_ROOT / folder).mkdir(parents=True, exist_ok=True)
    step = 64
    jobs = [(str(root), seed, layout["paths"][i:i + step], layout["kind"][i:i + step].tolist(),
             layout["source"][i:i + step].tolist()) for i in range(0, n, step)]
    start = time.perf_counter()
    with get_context("fork").Pool(workers) as pool:
        total_bytes = sum(pool.imap_unordered(_synth_chunk, jobs))
    seconds = time.perf_counter() - start
    info = {"version": SYNTH_VERSION, "images": n, "seed": seed, "workers": workers,
            "seconds": round(seconds, 2), "images_per_s": round(n / seconds, 1),
            "bytes": total_bytes, "mean_kb": round(total_bytes / n / 1024, 1),
            **{k: layout[k] for k in ("counts", "planted", "expected_rejected", "expected_kept")}}
    (root / "synth.json").write_text(json.dumps(info, indent=1))
    return info


def synthesised(root: Path, n: int, seed: int, workers: int) -> dict:
    """Reuse ``root`` if it holds this very synthesis, else fill it (it must then be empty)."""
    marker = root / "synth.json"
    if marker.is_file():
        info = json.loads(marker.read_text())
        if (info.get("version"), info.get("images"), info.get("seed")) == (SYNTH_VERSION, n, seed):
            return {**info, "reused": True}
        raise SystemExit(f"'{root}' holds another synthesis ({info.get('images')} images, seed {info.get('seed')}); "
                         "pass another --keep folder or delete it")
    if root.exists() and any(root.iterdir()):
        raise SystemExit(f"--keep '{root}' exists and is not a synthesis folder; pass an empty or new folder")
    root.mkdir(parents=True, exist_ok=True)
    return {**synthesise(root, n, seed, workers), "reused": False}


# ---------------------------------------------------------------- measuring one prepare run

def _proc_tree(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(children.get(p, []))
    return tree


def _status_kb(pid: int) -> dict[str, int]:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    return {k: int(v) for k, v in re.findall(r"^(RssAnon|RssFile|RssShmem):\s+(\d+) kB", text, re.M)}


class TreeMonitor(threading.Thread):
    """Samples the prepare process tree: anonymous memory summed over all processes, the main
    process's file-backed pages (its memory maps), its CPU time, the disk used under ``out_dir``,
    and when the worker pool ends."""

    def __init__(self, pid: int, out_dir: Path, interval: float = 0.25):
        super().__init__(daemon=True)
        self.pid, self.out_dir, self.interval = pid, out_dir, interval
        self.stop, self.start_time = threading.Event(), time.perf_counter()
        self.peak_anon_kb = self.peak_main_file_kb = self.peak_disk = 0
        self.main_cpu_s = 0.0
        self.pool_end_s: float | None = None
        self.max_procs = 0

    def run(self) -> None:
        ticks = os.sysconf("SC_CLK_TCK")
        while not self.stop.is_set():
            tree = _proc_tree(self.pid)
            stats = [_status_kb(p) for p in tree]
            self.peak_anon_kb = max(self.peak_anon_kb, sum(s.get("RssAnon", 0) for s in stats))
            if stats and stats[0]:
                self.peak_main_file_kb = max(self.peak_main_file_kb, stats[0].get("RssFile", 0))
            try:
                fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
                self.main_cpu_s = (int(fields[11]) + int(fields[12])) / ticks
            except (OSError, IndexError):
                pass
            self.max_procs = max(self.max_procs, len(tree))
            if len(tree) > 1:
                self.pool_end_s = time.perf_counter() - self.start_time
            try:
                disk = sum(p.stat().st_blocks * 512 for p in self.out_dir.iterdir() if p.is_file())
                self.peak_disk = max(self.peak_disk, disk)
            except OSError:
                pass
            self.stop.wait(self.interval)


def prepare_command() -> list[str]:
    script = Path(sys.executable).parent / "chromatic-charm"
    found = str(script) if script.is_file() else shutil.which("chromatic-charm")
    if not found:
        raise SystemExit("the chromatic-charm command is not installed in this environment (pip install -e .)")
    return [found, "prepare"]


def run_prepare(source: Path, work: Path, workers: int, images: int) -> dict:
    out, raw = work / f"clean_w{workers}", work / "raw"
    command = [*prepare_command(), "--source", str(source), "--out", str(out), "--raw", str(raw),
               "--workers", str(workers), "--no-progress"]
    out.mkdir(parents=True)
    log = work / f"prepare_w{workers}.log"
    with open(log, "wb") as sink:
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
        monitor = TreeMonitor(proc.pid, out)
        monitor.start()
        _, status, usage = os.wait4(proc.pid, 0)  # rusage of prepare and its pool, nothing else
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        monitor.stop.set()
        monitor.join()
    output = log.read_text(errors="replace")
    if proc.returncode:
        raise SystemExit(f"prepare failed (exit {proc.returncode}):\n{output[-3000:]}")
    report = json.loads((out / "report.json").read_text())
    cpu = usage.ru_utime + usage.ru_stime
    sizes = {}
    for split in SPLITS:
        path = out / f"{split}.npy"
        sizes[split] = {"rows": int(np.load(path, mmap_mode="r").shape[0]), "bytes": path.stat().st_size}
    result = {
        "workers": workers, "command": shlex.join(command), "wall_s": round(wall, 2),
        "images_per_s": round(images / wall, 1), "cpu_s": round(cpu, 2),
        "cpu_ms_per_image": round(1000 * cpu / images, 2),
        "main_cpu_s": round(monitor.main_cpu_s, 2),
        "pool_phase_s": round(monitor.pool_end_s or 0.0, 2),
        "after_pool_s": round(wall - (monitor.pool_end_s or 0.0), 2),
        "report_seconds": report.get("seconds"),
        "peak_rss_largest_process_mb": round(usage.ru_maxrss / 1024, 1),
        "peak_anon_all_processes_mb": round(monitor.peak_anon_kb / 1024, 1),
        "peak_file_backed_main_mb": round(monitor.peak_main_file_kb / 1024, 1),
        "peak_disk_out_gb": round(monitor.peak_disk / 1e9, 2),
        "outputs": sizes,
        "other_outputs_bytes": {name: (out / name).stat().st_size
                                for name in ("index.csv", "report.json", "manifest.json")},
        "counts": report["counts"],
        "duplicate_distances": sorted({item["distance"] for item in report["rejected"]["duplicate"]}),
        "summary_head": output.strip().splitlines()[:3],
    }
    shutil.rmtree(out)  # ~7 GB at full scale; the next run needs the room
    return result


# ---------------------------------------------------------------- diagnostics (in process)

def diagnostics(source: Path, n: int, sample: int) -> dict:
    from chromatic_charm.data.prepare import PrepareConfig, find_duplicates, inspect_file

    c = PrepareConfig()
    files = sorted((source / PLACES_ROOT / PLACES_SPLITS["train"]).glob("*.jpg"))[:sample]
    checks = c.checks()
    inspect_file(files[0], checks)  # warm-up: imports scipy.fft
    start = time.perf_counter()
    for path in files:
        inspect_file(path, checks)
    per_image = (time.perf_counter() - start) / len(files)
    rng = np.random.default_rng(0)
    hashes = rng.integers(0, 2**63, n, dtype=np.int64).astype(np.uint64)
    start = time.perf_counter()
    find_duplicates([f"{i:064x}" for i in range(n)], hashes, c.near_dup_distance)
    dedup = time.perf_counter() - start
    return {"inspect_file_ms_per_image_serial": round(1000 * per_image, 2), "inspect_file_sample": len(files),
            "find_duplicates_s_at_n": round(dedup, 2), "find_duplicates_n": n,
            "pickled_result_kb_per_image": round(SIZE * SIZE * 3 / 1024, 1)}


# ---------------------------------------------------------------- report

def machine() -> dict:
    import scipy

    import chromatic_charm

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=Path(__file__).parent).stdout.strip()
    except OSError:
        commit = ""
    return describe(numpy=np.__version__, pillow=PIL.__version__, scipy=scipy.__version__,
                    chromatic_charm=chromatic_charm.__version__, git=commit)


def markdown(results: dict) -> str:
    s, runs = results["synthesis"], results["runs"]
    base = next((r for r in runs if r["workers"] == 1), None)
    lines = [f"machine: {results['machine']['cpu']}, {results['machine']['usable_cores']} cores, "
             f"{results['machine']['ram_gb']} GB RAM, load at start {results['machine']['load_average_at_start']}",
             f"command: {results['command']}",
             f"synthesis: {s['images']} images ({s['counts']}), {s['mean_kb']} KB each, "
             + ("reused from --keep" if s["reused"] else f"{s['seconds']} s = {s['images_per_s']} images/s "
                                                         f"with {s['workers']} processes (excluded below)"),
             "",
             "| workers | images | wall s | images/s | speed-up | CPU ms/image | main-process CPU s | pool phase s "
             "| after pool s | peak RSS largest proc MB | peak anon all procs MB | peak disk GB |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        speedup = f"{base['wall_s'] / r['wall_s']:.2f}x" if base else "-"
        lines.append(f"| {r['workers']} | {s['images']} | {r['wall_s']} | {r['images_per_s']} | {speedup} "
                     f"| {r['cpu_ms_per_image']} | {r['main_cpu_s']} | {r['pool_phase_s']} | {r['after_pool_s']} "
                     f"| {r['peak_rss_largest_process_mb']} | {r['peak_anon_all_processes_mb']} "
                     f"| {r['peak_disk_out_gb']} |")
    last = runs[-1]
    counts = last["counts"]
    lines += ["", "| output | rows | size |", "|---|---|---|"]
    for split, v in last["outputs"].items():
        lines.append(f"| {split}.npy | {v['rows']} (planted kept: {s['expected_kept'][split]}) "
                     f"| {v['bytes'] / 1e9:.2f} GB |")
    lines += ["", "| rejected as | by prepare | planted |", "|---|---|---|"]
    for reason, got in counts["rejected"].items():
        lines.append(f"| {reason} | {got} | {s['expected_rejected'].get(reason, 0)} |")
    lines.append(f"| kept | {counts['kept']} | {sum(s['expected_kept'].values())} |")
    if results.get("diagnostics"):
        d = results["diagnostics"]
        lines += ["", f"in process: inspect_file {d['inspect_file_ms_per_image_serial']} ms/image serial "
                      f"({d['inspect_file_sample']} files); find_duplicates on {d['find_duplicates_n']} hashes "
                      f"{d['find_duplicates_s_at_n']} s"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=sum(PLACES_EXPECTED.values()),
                        help="images to synthesise (default 36500, the Kaggle subset)")
    parser.add_argument("--workers", default=None,
                        help="comma-separated prepare worker counts, e.g. 1,2 (default: 1 and all cores)")
    parser.add_argument("--synth-workers", type=int, default=os.cpu_count() or 1, help="synthesis processes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", help="synthesise into (or reuse) this folder instead of a temporary one")
    parser.add_argument("--tmp", help="where the temporary folders go (default: the system's)")
    parser.add_argument("--no-diagnostics", action="store_true", help="skip the in-process inspect/dedup timings")
    parser.add_argument("--json-out", help="also write the results to this JSON file")
    args = parser.parse_args()
    workers = sorted({int(w) for w in args.workers.split(",")}) if args.workers else sorted({1, os.cpu_count() or 1})

    results = {"machine": machine(), "command": shlex.join([sys.executable, *sys.argv])}
    with tempfile.TemporaryDirectory(prefix="prepare_bench_", dir=args.tmp) as tmp:
        source = Path(args.keep).resolve() if args.keep else Path(tmp) / "raw_places"
        results["synthesis"] = synthesised(source, args.images, args.seed, args.synth_workers)
        print(f"synthesis: {results['synthesis']['seconds']} s"
              f"{' (reused)' if results['synthesis']['reused'] else ''}", flush=True)
        results["runs"] = []
        for w in workers:
            results["runs"].append(run_prepare(source, Path(tmp), w, args.images))
            print(f"prepare with {w} workers: {results['runs'][-1]['wall_s']} s", flush=True)
        if not args.no_diagnostics:
            results["diagnostics"] = diagnostics(source, args.images, sample=min(300, args.images // 2))
    results["benchmark_peak_rss_mb"] = {
        "self": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "children": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)}
    table = markdown(results)
    print(table)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({**results, "table": table}, indent=1))


if __name__ == "__main__":
    main()
