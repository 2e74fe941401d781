"""Generator inference speed: eager PyTorch vs ONNX Runtime settings vs int8, with int8's quality cost.

Measures, in one run on one machine, the served generator (the ONNX export and the ``.json`` metadata
beside it: generator config and image size) on (B, 1, S, S) inputs:
  1. eager PyTorch: ``build_generator(config)``, ``eval()``, ``torch.inference_mode()``, torch's
     default threads (and 1 thread, for scale). Weights: the training checkpoint if it is on disk
     (``--checkpoint`` or the metadata's ``source``), else the ONNX initialisers mapped onto the
     state_dict (a BatchNorm that the exporter folded into its Conv becomes an identity BatchNorm
     with the folded bias), checked against ONNX Runtime; random init only if neither works
     (timing only; the output says which);
  2. ONNX Runtime as the API builds it (``inference.Colorizer``; under gunicorn with
     threads = cores // workers) and variants that each change one of its settings: graph
     optimisation level, intra-op threads (0 = ORT's default, 1), spin-waiting on (as before the
     Colorizer turned it off), parallel execution mode;
  3. int8: ``quantize_dynamic`` (ConvInteger; it has no ConvTranspose, so the decoder stays fp32)
     and ``quantize_static`` (QDQ, per channel, calibrated on a few photos not used for quality).
     Speed with the API's session options, and quality vs the fp32 model on real photos colourised
     through the same ``Colorizer.colorize_rgb`` path: mean |ab_int8 - ab_fp32| in Lab units at the
     model's resolution, and CIEDE2000 between the two full-resolution outputs. An int8 model is
     kept only if it is >= ``--keep-speedup`` x faster than the API's fp32 session at batch 1 AND
     its mean CIEDE2000 vs fp32 is < ``--keep-de`` AND no photo's mean is >= 2 x ``--keep-de``.

Timings are interleaved: each round times every variant for ``--iters`` calls (after one untimed
call), in a rotated order; a variant's figure is the median over ``--repeats`` rounds, so a
background load that drifts affects all variants alike. Compare ratios, not absolute numbers.

Usage: python benchmarks/inference_benchmark.py [--model src/chromatic_charm/assets/generator.onnx]
       [--photos ../shared/data/photos] [--num-photos 30] [--batches 1,4] [--repeats 7]
       [--iters 5] [--json-out results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from PIL import Image

from _machine import describe

from chromatic_charm import color
from chromatic_charm.errors import first_line
from chromatic_charm.images import to_rgb
from chromatic_charm.inference import Colorizer
from chromatic_charm.metrics import ciede2000
from chromatic_charm.models import build_generator

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = ROOT / "src" / "chromatic_charm" / "assets" / "generator.onnx"
DEFAULT_PHOTOS = ROOT.parent / "shared" / "data" / "photos"
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}


# --- machine -------------------------------------------------------------------------------------

def machine_info() -> dict:
    import onnx

    return describe(torch=torch.__version__, torch_threads=torch.get_num_threads(), onnxruntime=ort.__version__,
                    onnx=onnx.__version__)


# --- eager PyTorch -------------------------------------------------------------------------------

def load_onnx_weights(generator: torch.nn.Module, model_path: Path) -> None:
    """Copy the ONNX initialisers onto ``generator``: the i-th Conv/ConvTranspose node of the graph
    is the i-th conv module (downs then ups, the order of both the module tree and the trace)."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(model_path)).graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    consumer = {name: node for node in graph.node for name in node.input}
    nodes = [n for n in graph.node if n.op_type in ("Conv", "ConvTranspose")]
    blocks = [*generator.downs, *generator.ups]
    if len(nodes) != len(blocks):
        raise ValueError(f"{len(nodes)} conv nodes in the graph, {len(blocks)} conv blocks in the model")

    def put(param: torch.Tensor, name: str) -> None:
        value = torch.from_numpy(inits[name].copy())
        if value.shape != param.shape:
            raise ValueError(f"{name}: shape {tuple(value.shape)} does not fit {tuple(param.shape)}")
        param.copy_(value)

    with torch.no_grad():
        for node, block in zip(nodes, blocks):
            conv = next(m for m in block if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)))
            norm = next((m for m in block if isinstance(m, torch.nn.BatchNorm2d)), None)
            if (node.op_type == "Conv") != isinstance(conv, torch.nn.Conv2d):
                raise ValueError(f"graph node {node.name} ({node.op_type}) does not match {type(conv).__name__}")
            put(conv.weight, node.input[1])
            bias = node.input[2] if len(node.input) > 2 else None
            after = consumer.get(node.output[0])
            if norm is not None and after is not None and after.op_type == "BatchNormalization":
                for param, name in zip((norm.weight, norm.bias, norm.running_mean, norm.running_var), after.input[1:]):
                    put(param, name)
                norm.eps = next((a.f for a in after.attribute if a.name == "epsilon"), norm.eps)
            elif norm is not None:  # folded into the conv by the exporter: identity norm + the folded bias
                if bias is None:
                    raise ValueError(f"{node.name}: BatchNorm neither in the graph nor folded into a bias")
                norm.weight.fill_(1.0)
                put(norm.bias, bias)
                norm.running_mean.zero_()
                norm.running_var.fill_(1.0 - norm.eps)
            elif bias is not None:
                put(conv.bias, bias)


def eager_generator(model_path: Path, metadata: dict, checkpoint: str | None) -> tuple[torch.nn.Module, str]:
    source = checkpoint or metadata.get("source")
    if source and Path(source).exists():
        from chromatic_charm.generators import resolve_generator

        return resolve_generator(source, "cpu").generator.float().eval(), f"checkpoint {source}"
    generator = build_generator(metadata["generator_config"]).eval()
    try:
        load_onnx_weights(generator, model_path)
        return generator, f"ONNX initialisers of {model_path.name} (checkpoint {source!r} not on disk)"
    except (ValueError, KeyError) as exc:
        torch.manual_seed(0)
        generator = build_generator(metadata["generator_config"]).eval()
        return generator, f"RANDOM init, timing only ({exc})"


# --- ONNX Runtime sessions and int8 --------------------------------------------------------------

def session(path: Path, *, level=ort.GraphOptimizationLevel.ORT_ENABLE_ALL, intra: int = 0, inter: int = 0,
            mode=ort.ExecutionMode.ORT_SEQUENTIAL, spinning: bool | None = None,
            dump: Path | None = None) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.graph_optimization_level = level
    options.intra_op_num_threads = intra
    options.inter_op_num_threads = inter
    options.execution_mode = mode
    if spinning is not None:
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    # Errors only: not the warning about a hint model's default for its hints input (an initializer that is
    # also an input, on purpose), nor the one that a dumped graph is hardware specific.
    options.log_severity_level = 3
    if dump is not None:
        options.optimized_model_filepath = str(dump)
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class Inputs:
    """Feeds the L inputs of a list of photos to a quantiser's calibration."""

    def __init__(self, batches: list[np.ndarray]):
        self.batches = iter(batches)

    def get_next(self):
        batch = next(self.batches, None)
        return None if batch is None else {"L": batch}

    def rewind(self):  # some versions call it
        pass


def quantise(model_path: Path, out_dir: Path, calibration: list[np.ndarray]) -> dict[str, dict]:
    """int8 variants in ``out_dir`` (each with the metadata .json beside it) -> {name: info}."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_dynamic, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    prepared = out_dir / "prepared.onnx"
    try:
        quant_pre_process(str(model_path), str(prepared), skip_symbolic_shape=True)
    except Exception as exc:  # preprocessing is advisory
        print(f"note: quant_pre_process failed ({type(exc).__name__}: {exc}); quantising the raw export")
        shutil.copy(model_path, prepared)
    results = {}
    attempts = {
        "int8 dynamic (ConvInteger, u8 weights)": lambda out: quantize_dynamic(
            str(prepared), str(out), weight_type=QuantType.QUInt8),
        # u8 activations: x86 ONNX Runtime fuses DQ-Conv-Q into QLinearConv for u8 activations (s8 ones
        # mostly stay DQ + fp32 Conv); it has no QLinearConvTranspose, so ConvTranspose runs in fp32
        # between DQ and Q either way, hence also a Conv-only variant without that overhead.
        "int8 static QDQ per-channel u8/s8, all convs": lambda out: quantize_static(
            str(prepared), str(out), Inputs(calibration), quant_format=QuantFormat.QDQ, per_channel=True,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax),
        "int8 static QDQ per-channel u8/s8, Conv only": lambda out: quantize_static(
            str(prepared), str(out), Inputs(calibration), quant_format=QuantFormat.QDQ, per_channel=True,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, op_types_to_quantize=["Conv"],
            calibrate_method=CalibrationMethod.MinMax),
    }
    for i, (name, make) in enumerate(attempts.items()):
        out = out_dir / f"int8_{i}.onnx"
        try:
            make(out)
            shutil.copy(model_path.with_suffix(".json"), out.with_suffix(".json"))
            dumped = out_dir / f"int8_{i}.optimised.onnx"
            session(out, dump=dumped).run(["ab"], {"L": calibration[0]})
            results[name] = {"path": out, "coverage": coverage(out, dumped)}
        except Exception as exc:
            print(f"note: {name} failed: {type(exc).__name__}: {first_line(exc)[:200]}")
    return results


def coverage(path: Path, optimised: Path) -> dict:
    """Which conv layers got int8 weights in the file, and which ops ONNX Runtime actually runs."""
    import onnx

    graph = onnx.load(str(path)).graph
    producer = {out: node for node in graph.node for out in node.output}
    int8_conv, fp32_conv = Counter(), Counter()
    for node in graph.node:
        if node.op_type in ("ConvInteger", "QLinearConv"):
            int8_conv["Conv"] += 1
        elif node.op_type in ("Conv", "ConvTranspose"):
            weight = producer.get(node.input[1])
            (int8_conv if weight is not None and weight.op_type == "DequantizeLinear" else fp32_conv)[node.op_type] += 1
    runtime = Counter(n.op_type for n in onnx.load(str(optimised)).graph.node)
    keep = ("Conv", "ConvTranspose", "ConvInteger", "QLinearConv", "QLinearConvTranspose", "FusedConv",
            "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear")
    return {"int8_weights": dict(int8_conv), "fp32_weights": dict(fp32_conv),
            "runtime_ops": {k: v for k, v in sorted(runtime.items()) if k in keep}}


# --- photos and quality --------------------------------------------------------------------------

def photo_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)


def load_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        rgb, _ = to_rgb(image)
        return np.asarray(rgb, dtype=np.uint8)


def colourise(colorizer: Colorizer, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The served path on one photo -> (model input L, model output ab, uint8 RGB output)."""
    seen = {}
    predict = colorizer.predict_ab

    def recording(l_norm):
        seen["L"], seen["ab"] = l_norm, predict(l_norm)
        return seen["ab"]

    colorizer.predict_ab = recording
    try:
        out = colorizer.colorize_rgb(rgb)
    finally:
        del colorizer.predict_ab
    return seen["L"], seen["ab"], out


def lab(rgb_u8: np.ndarray) -> np.ndarray:
    return color.rgb_to_lab(rgb_u8.astype(np.float32) / 255.0).astype(np.float64)


def quality(reference: list[tuple[np.ndarray, np.ndarray, np.ndarray]], photos: list[np.ndarray],
            colorizer: Colorizer) -> dict:
    ab_mad, de_mean, de_p95 = [], [], []
    for (_, ab_ref, out_ref), rgb in zip(reference, photos):
        _, ab, out = colourise(colorizer, rgb)
        ab_mad.append(float(np.abs(ab - ab_ref).mean() * color.AB_SCALE))
        de = ciede2000(lab(out_ref), lab(out))
        de_mean.append(float(de.mean()))
        de_p95.append(float(np.percentile(de, 95)))
    return {"ab_mad_lab": float(np.mean(ab_mad)), "de2000_mean": float(np.mean(de_mean)),
            "de2000_worst_photo": float(np.max(de_mean)), "de2000_p95_pixel_mean": float(np.mean(de_p95))}


# --- timing --------------------------------------------------------------------------------------

def time_interleaved(fns: dict[str, callable], repeats: int, iters: int, warmup: int) -> dict[str, list[float]]:
    """Seconds per call of each fn in each of ``repeats`` rounds of ``iters`` calls, rounds interleaved."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    names = list(fns)
    samples = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            fns[name]()  # untimed: wakes this variant's thread pool after the others ran
            start = time.perf_counter()
            for _ in range(iters):
                fns[name]()
            samples[name].append((time.perf_counter() - start) / iters)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="ONNX export (metadata .json beside it)")
    parser.add_argument("--checkpoint", help="training checkpoint for the eager model (default: the metadata's source)")
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS, help="real photos for calibration and quality")
    parser.add_argument("--num-photos", type=int, default=30, help="photos for the quality comparison (default 30)")
    parser.add_argument("--calibration", type=int, default=16, help="other photos for static int8 calibration")
    parser.add_argument("--batches", default="1,4", help="batch sizes to time (default 1,4; the API serves 1)")
    parser.add_argument("--repeats", type=int, default=7, help="timing rounds; the median is reported (default 7)")
    parser.add_argument("--iters", type=int, default=5, help="calls per variant per round (default 5)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls per variant first (default 3)")
    parser.add_argument("--skip-int8", action="store_true")
    parser.add_argument("--keep-speedup", type=float, default=1.2, help="int8 must be this much faster at batch 1")
    parser.add_argument("--keep-de", type=float, default=1.0, help="int8's mean CIEDE2000 vs fp32 must be below this")
    parser.add_argument("--json-out", type=Path, help="also write the results here as JSON")
    args = parser.parse_args()

    machine = machine_info()
    metadata = json.loads(args.model.with_suffix(".json").read_text())
    size = int(metadata["image_size"])
    cores = os.cpu_count() or 1
    served_threads = max(1, cores // max(1, min(4, cores // 2)))  # gunicorn_conf: cores // workers
    generator, weights = eager_generator(args.model, metadata, args.checkpoint)

    files = photo_files(args.photos) if args.photos.is_dir() else []
    n_eval = min(args.num_photos, len(files))
    eval_idx = set(np.linspace(0, len(files) - 1, n_eval).round().astype(int).tolist()) if n_eval else set()
    rest = [f for i, f in enumerate(files) if i not in eval_idx]
    eval_files = [files[i] for i in sorted(eval_idx)]
    calib_files = [rest[i] for i in np.linspace(0, len(rest) - 1, min(args.calibration, len(rest))).round().astype(int)]

    api = Colorizer(args.model, threads=served_threads)  # as gunicorn builds it
    photos = [load_rgb(f) for f in eval_files]
    reference = [colourise(api, rgb) for rgb in photos]
    calibration = [colourise(api, load_rgb(f))[0] for f in calib_files]

    # parity of the eager model with the served one on real inputs (or random ones without photos)
    check = np.concatenate([r[0] for r in reference[:4]]) if reference else \
        np.random.default_rng(0).uniform(-1, 1, (2, 1, size, size)).astype(np.float32)
    with torch.inference_mode():
        parity = float(np.abs(generator(torch.from_numpy(check)).numpy() - api.predict_ab(check)).max())

    # each variant changes one setting of the served session (intra = served threads, inter 1, no spinning)
    served = {"intra": served_threads, "inter": 1, "spinning": False}
    sessions = {
        f"ORT as served (Colorizer threads={served_threads})": api.session,
        "ORT Colorizer threads=0 (ORT default; CLI)": Colorizer(args.model).session,
        "ORT intra=1": session(args.model, **{**served, "intra": 1}),
        "ORT spinning on (served before)": session(args.model, **{**served, "spinning": True}),
        "ORT threads=0, spinning on (CLI before)": session(args.model),
        "ORT DISABLE_ALL": session(args.model, level=ort.GraphOptimizationLevel.ORT_DISABLE_ALL, **served),
        "ORT ENABLE_BASIC": session(args.model, level=ort.GraphOptimizationLevel.ORT_ENABLE_BASIC, **served),
        "ORT ENABLE_EXTENDED": session(args.model, level=ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED, **served),
        "ORT PARALLEL mode": session(args.model, mode=ort.ExecutionMode.ORT_PARALLEL, **{**served, "inter": 0}),
    }
    int8 = {}
    tmp = tempfile.TemporaryDirectory()
    if not args.skip_int8 and calibration:
        int8 = quantise(args.model, Path(tmp.name), calibration)
        for name, info in int8.items():
            served = Colorizer(info["path"], threads=served_threads)
            sessions[f"{name}, as served"] = served.session
            info["quality"] = quality(reference, photos, served)
    base_name = next(iter(sessions))

    rows, rng = [], np.random.default_rng(0)
    paired = {}  # batch -> per-round samples, for paired ratios (both timed in the same round)
    eager_name = f"eager PyTorch ({torch.get_num_threads()} threads, default)"
    for batch in [int(b) for b in args.batches.split(",")]:
        pool = np.concatenate([r[0] for r in reference]) if reference else rng.uniform(-1, 1, (batch, 1, size, size))
        x = np.ascontiguousarray(pool[np.arange(batch) % len(pool)], dtype=np.float32)
        xt = torch.from_numpy(x)

        def eager(xt=xt):
            with torch.inference_mode():
                generator(xt)

        def eager_1_thread(xt=xt):
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                with torch.inference_mode():
                    generator(xt)
            finally:
                torch.set_num_threads(threads)

        fns = {eager_name: eager, "eager PyTorch, 1 thread": eager_1_thread}
        fns.update({name: (lambda s=s, x=x: s.run(["ab"], {"L": x})) for name, s in sessions.items()})
        samples = time_interleaved(fns, args.repeats, args.iters, args.warmup)
        paired[batch] = samples
        seconds = {name: statistics.median(values) for name, values in samples.items()}
        for name, s in seconds.items():
            rows.append({"variant": name, "batch": batch, "ms_per_call": s * 1000, "images_per_s": batch / s,
                         "vs_eager": seconds[eager_name] / s, "vs_served": seconds[base_name] / s})

    # The whole request path (Lab, resize, model, upsample, sRGB) on a real photo: what a user waits
    # for, and the model's share of it.
    e2e_rows = []
    if photos:
        photo = sorted(photos, key=lambda p: p.shape[0] * p.shape[1])[len(photos) // 2]
        spinning = Colorizer(args.model, threads=served_threads)
        spinning.session = session(args.model, intra=served_threads, inter=1, spinning=True)
        paths = {"request path, served fp32": api, "request path, spinning on": spinning}
        paths.update({f"request path, {name}": Colorizer(info["path"], threads=served_threads)
                      for name, info in int8.items()})
        e2e = time_interleaved({k: (lambda c=c: c.colorize_rgb(photo)) for k, c in paths.items()},
                               args.repeats, 2, 1)
        base = statistics.median(e2e["request path, served fp32"])
        e2e_rows = [{"variant": k, "photo": f"{photo.shape[1]}x{photo.shape[0]}", "ms": statistics.median(v) * 1000,
                     "vs_served": base / statistics.median(v)} for k, v in e2e.items()]

    decisions = {}
    for name, info in int8.items():
        # speed-up from per-round ratios to the served session timed in the same round: the background
        # load changes between rounds, far less within one
        ratios = [b / q for b, q in zip(paired[1][base_name], paired[1][f"{name}, as served"])] if 1 in paired else []
        speedup = statistics.median(ratios) if ratios else float("nan")
        wins = sum(r >= args.keep_speedup for r in ratios)
        q = info["quality"]
        keep = speedup >= args.keep_speedup and wins > len(ratios) / 2 and q["de2000_mean"] < args.keep_de and \
            q["de2000_worst_photo"] < 2 * args.keep_de
        decisions[name] = {"speedup_b1": speedup, "rounds_at_speedup": f"{wins}/{len(ratios)}", **q, "keep": keep}
    fp32_vs_truth = float(np.mean([ciede2000(lab(rgb), lab(r[2])).mean() for rgb, r in zip(photos, reference)])) \
        if photos else None
    machine["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None

    print(f"# Generator inference, {size}x{size}, generator {metadata.get('generator_config')}")
    print(f"machine: {machine['platform']}; {machine['cpu']}; {machine['cores']} cores "
          f"({machine['usable_cores']} usable); torch {machine['torch']} ({machine['torch_threads']} threads), "
          f"onnxruntime {machine['onnxruntime']}, onnx {machine['onnx']}; {machine['date']}; "
          f"load avg {machine['load_average_at_start'][0]:.2f} -> {machine['load_average_at_end'][0]:.2f}")
    print(f"eager weights: {weights}; max |torch - ORT| on real inputs = {parity:.2e}")
    print(f"timing: median of {args.repeats} interleaved rounds x {args.iters} calls, {args.warmup} warm-up calls\n")
    print("| variant | batch | ms/call | images/s | vs eager torch | vs served ORT |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['variant']} | {r['batch']} | {r['ms_per_call']:.2f} | {r['images_per_s']:.1f} | "
              f"{r['vs_eager']:.2f}x | {r['vs_served']:.2f}x |")
    if e2e_rows:
        print("\n| whole request path (in process) | photo | ms | vs served fp32 |")
        print("|---|---|---:|---:|")
        for r in e2e_rows:
            print(f"| {r['variant']} | {r['photo']} | {r['ms']:.1f} | {r['vs_served']:.2f}x |")
    if int8:
        print(f"\nint8 vs fp32 on {len(photos)} photos from {args.photos} (calibration: {len(calibration)} other "
              f"photos); for scale, fp32 vs the original colour photos: mean CIEDE2000 {fp32_vs_truth:.2f}")
        print(f"rule: keep if >= {args.keep_speedup}x faster than served fp32 at batch 1 (median of per-round "
              f"ratios, and in most rounds), mean CIEDE2000 vs fp32 < {args.keep_de} and every photo's mean "
              f"< {2 * args.keep_de}\n")
        print("| int8 variant | int8 weights | runtime ops | speedup b1 (rounds >= rule) | mean abs ab diff | "
              "CIEDE2000 mean | worst photo | p95 pixel | decision |")
        print("|---|---|---|---:|---:|---:|---:|---:|---|")
        for name, d in decisions.items():
            cov = int8[name]["coverage"]
            print(f"| {name} | {cov['int8_weights']} (fp32: {cov['fp32_weights']}) | {cov['runtime_ops']} | "
                  f"{d['speedup_b1']:.2f}x ({d['rounds_at_speedup']}) | {d['ab_mad_lab']:.2f} | "
                  f"{d['de2000_mean']:.2f} | {d['de2000_worst_photo']:.2f} | {d['de2000_p95_pixel_mean']:.2f} | "
                  f"{'KEEP' if d['keep'] else 'DROP'} |")
        kept = [n for n, d in decisions.items() if d["keep"]]
        print(f"\ndecision: {'keep ' + ', '.join(kept) if kept else 'drop int8, serve the fp32 model'}")
    if args.json_out:
        args.json_out.write_text(json.dumps({
            "machine": machine, "model": str(args.model), "image_size": size, "eager_weights": weights,
            "eager_vs_ort_max_abs_diff": parity, "repeats": args.repeats, "iters": args.iters, "rows": rows,
            "int8": {n: {"coverage": int8[n]["coverage"], **d} for n, d in decisions.items()},
            "request_path": e2e_rows,
            "fp32_vs_original_de2000": fp32_vs_truth,
            "rule": {"min_speedup_b1": args.keep_speedup, "max_mean_de2000": args.keep_de},
        }, indent=1, default=float))
    tmp.cleanup()


if __name__ == "__main__":
    main()
