"""Export a generator to ONNX (dynamic batch) with a metadata JSON, and check parity with PyTorch.

The ONNX graph maps ``L`` (B, 1, S, S) float32 in [-1, 1] to ``ab`` (B, 2, S, S) in [-1, 1], S being
the training image size; a generator trained with ``--hints`` also takes ``hints`` (B, 3, S, S), the hint
map of ``chromatic_charm.hints`` (zeros: no hints). The metadata says S, the normalisation and whether the
model takes hints, so the serving side (no torch) needs nothing else.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import asdict, is_dataclass
from pathlib import Path

import numpy as np
import torch

from . import color, palette, tracking
from .errors import UserError
from .files import atomic_path, write_text_atomic
from .hints import HINT_CHANNELS
from .models.propagation import with_hints
from .spread import SpreadConfig
from .training.hints import sample_hints
from .views import scale_table

PARITY_TOLERANCE = 1e-4


def _real_inputs(image_size: int, data_dir: Path | None, count: int = 4) -> tuple[np.ndarray, np.ndarray] | None:
    """(L, ab) of a few real photos: the clean data's val split, else the shipped samples."""
    from PIL import Image

    from .config import samples_dir

    rgb = None
    if data_dir is not None and (Path(data_dir) / "val.npy").is_file():
        rgb = np.load(Path(data_dir) / "val.npy", mmap_mode="r")[:count].astype(np.float32) / 255
    else:
        files = sorted(samples_dir().glob("*.jpg"))[:count]
        if files:
            rgb = np.stack([np.asarray(Image.open(f).convert("RGB").resize((image_size, image_size)),
                                       dtype=np.float32) / 255 for f in files])
    if rgb is None or len(rgb) == 0:
        return None
    if rgb.shape[1] != image_size:
        rgb = np.stack([np.asarray(Image.fromarray((x * 255).astype(np.uint8)).resize((image_size, image_size)),
                                   dtype=np.float32) / 255 for x in rgb])
    lightness, ab = color.rgb_to_model_input(rgb)
    return tuple(np.ascontiguousarray(x.transpose(0, 3, 1, 2), dtype=np.float32) for x in (lightness, ab))


def check_parity(onnx_path: Path, generator: torch.nn.Module,
                 inputs: dict[str, np.ndarray | tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
    """Max |ONNX - PyTorch| per named input batch (L, or (L, hint map) for a model that takes hints);
    raises if any exceeds the tolerance."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # not the warning about the hints input's default (on purpose)
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    diffs = {}
    with torch.no_grad():
        for name, x in inputs.items():
            feeds = {"L": x} if isinstance(x, np.ndarray) else {"L": x[0], "hints": x[1]}
            expected = generator(*(torch.from_numpy(v) for v in feeds.values())).float().numpy()
            got = session.run(["ab"], feeds)[0]
            diffs[name] = float(np.abs(got - expected).max())
            if not isinstance(x, np.ndarray) and not x[1].any():  # no hints: feeding L alone is the same
                diffs[f"{name}_L_only"] = float(np.abs(session.run(["ab"], {"L": x[0]})[0] - expected).max())
    worst = max(diffs.values())
    if worst >= PARITY_TOLERANCE:
        raise RuntimeError(f"ONNX and PyTorch disagree by {worst:.2e} (tolerance {PARITY_TOLERANCE:g}): {diffs}")
    return diffs


def export(source: str, out_path: str | Path, *, data_dir: str | Path | None = None, opset: int = 17,
           image_size: int | None = None, card: bool = False, hints: bool = True) -> dict:
    """Write ``out_path`` (.onnx) and ``out_path`` with .json; returns the metadata. ``card``: also write
    the model card, ``README.md`` in the same folder (``model_card``).

    ``image_size``: the side the exported network takes (default: the one it was trained at). The
    generators are fully convolutional, so a network trained on 128-pixel crops of 256-pixel photos
    can serve at 256, the scale it learnt things at.

    ``hints`` (default): the exported network also takes a hint map (``models.propagation``: any generator
    can; one trained with ``--hints`` also reads it itself); with no hints (zeros) its output is the plain
    network's. ``hints=False`` exports the L-only graph of earlier versions."""
    from .generators import resolve_generator

    out_path = Path(out_path)
    if out_path.suffix != ".onnx":
        raise UserError(f"the output must end in .onnx, got '{out_path}'")
    src = resolve_generator(source, "cpu")
    generator = src.generator.float().eval()
    if not hints and getattr(generator, "takes_hints", False):
        raise UserError("this generator was trained with --hints: its graph needs the hint map; export it with hints")
    if hints:
        generator = with_hints(generator).eval()
    takes_hints = hints
    size = image_size or src.image_size
    multiple = getattr(generator, "multiple", 1)
    if size < multiple or size % multiple:
        raise UserError(f"--image-size {size} does not suit this generator: use a multiple of {multiple}")
    with atomic_path(out_path) as tmp:  # in place only once it passed the parity check
        with warnings.catch_warnings():
            # The generator's size check (a Python bool on the input shape) is traced as a constant: that
            # is what we want, since the exported size is fixed; the tracer's warning about it is noise.
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            # The Lab formulas slice channels with a step the ONNX folder cannot fold; harmless, and not the user's.
            warnings.filterwarnings("ignore", message="Constant folding")
            names = ["L", "hints"] if takes_hints else ["L"]
            example = (torch.zeros(1, 1, size, size), torch.zeros(1, HINT_CHANNELS, size, size))[:len(names)]
            torch.onnx.export(generator, example, str(tmp), input_names=names, output_names=["ab"],
                              dynamic_axes={**{n: {0: "batch"} for n in names}, "ab": {0: "batch"}},
                              opset_version=opset, dynamo=False)
        if takes_hints:
            _hints_default_to_none(tmp, size)
        rng = np.random.default_rng(0)
        inputs = {"random": rng.uniform(-1, 1, (3, 1, size, size)).astype(np.float32)}
        real = _real_inputs(size, Path(data_dir) if data_dir else None)
        if real is not None:
            inputs["real"] = real[0]
        if takes_hints:  # the same inputs with no hints, and with hints of the true colours (or random ones)
            inputs = {name: (x, np.zeros((len(x), HINT_CHANNELS, size, size), np.float32)) for name, x in inputs.items()}
            draw = torch.Generator().manual_seed(0)
            random_ab = torch.from_numpy(rng.uniform(-0.6, 0.6, (3, 2, size, size)).astype(np.float32))
            inputs["random_hints"] = (inputs["random"][0], sample_hints(random_ab, 10, generator=draw).numpy())
            if real is not None:
                inputs["real_hints"] = (real[0], sample_hints(torch.from_numpy(real[1]), 10, generator=draw).numpy())
        diffs = check_parity(tmp, generator, inputs)

    metadata = {
        "format": "chromatic-charm-onnx/1",
        "source": source,
        "run_id": src.run_id,
        "input": {"name": "L", "shape": ["batch", 1, size, size], "range": [-1, 1]},
        "hints": _hints_input(size, **generator.describe()) if takes_hints else None,
        "output": {"name": "ab", "shape": ["batch", 2, size, size], "range": [-1, 1]},
        "image_size": size,
        "trained_image_size": src.image_size,
        "encoder": getattr(generator.config, "encoder", "none"),
        "normalisation": {"L": f"L / {color.L_SCALE} - {color.L_OFFSET}", "ab": f"ab / {color.AB_SCALE}",
                          "L_scale": color.L_SCALE, "L_offset": color.L_OFFSET, "ab_scale": color.AB_SCALE},
        "generator_config": asdict(generator.config) if is_dataclass(getattr(generator, "config", None)) else None,
        "parity_max_abs_diff": diffs,
        "opset": opset,
        "torch": torch.__version__,
        "exported": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        # the hint colours the page suggests at each lightness: the training photos' common a*b* there
        "palette": palette.from_data(data_dir) if takes_hints and data_dir else None,
    }
    metadata.update(_run_details(src.run_id))
    log_to_run = bool(src.run_id and "run_name" in metadata)  # the run's server answered
    if log_to_run:
        metadata["artifact"] = f"runs:/{src.run_id}/{tracking.ONNX_PATH}/{out_path.name}"
    write_text_atomic(out_path.with_suffix(".json"), json.dumps(metadata, indent=1, default=str))
    if card:
        write_text_atomic(out_path.parent / "README.md", model_card(metadata, out_path))
    if log_to_run:  # keep the ONNX beside the run, so serving can fetch runs:/<id> or models:/...@champion
        tracking.log_onnx(src.run_id, [out_path, out_path.with_suffix(".json")])
    return metadata


def _run_details(run_id: str | None) -> dict:
    """Metrics and training data of the run, when its tracking server answers."""
    if not run_id:
        return {}
    try:
        run = tracking.get_run(run_id)
    except Exception as exc:  # export still works from a checkpoint without the server
        return {"run_details": f"unavailable: {tracking.first_line(exc)}"}
    params = run.data.params
    return {
        "run_name": run.info.run_name,
        "training_command": run.data.tags.get("command"),
        "metrics": dict(run.data.metrics),
        "fid_status": {k: v for k, v in run.data.tags.items() if k.endswith("_fid_status")},
        "fid_network": {k: v for k, v in run.data.tags.items() if k.endswith("_fid_network")},
        "training_data": {k: params.get(k) for k in ("data_source", "data_version", "train_images", "data_dir")},
        "training": {k: params.get(k) for k in TRAINING_KEYS},
        **_starting_run(params.get("init_from")),
    }


TRAINING_KEYS = ("encoder", "freeze_encoder_epochs", "encoder_lr_mult", "lr_g", "lr_d", "beta1", "lambda_l1",
                 "gan_mode", "warmup_epochs", "epochs", "max_cpu_minutes", "batch_size", "image_size", "load_size",
                 "crop_scale", "model_size", "init_from", "hints", "hint_injection", "seed")


def _starting_run(init_from: str | None) -> dict:
    """For a run started with ``--init-from``: the run whose generator it started from (its command and
    settings), when that checkpoint and its tracking server are at hand."""
    if not init_from or init_from == "None":
        return {}
    from .training import checkpoint

    try:
        run = tracking.get_run(checkpoint.load(checkpoint.find_resume(init_from, Path.cwd()))["run_id"])
    except Exception as exc:
        return {"initialised_from": {"checkpoint": init_from, "details": f"unavailable: {tracking.first_line(exc)}"}}
    return {"initialised_from": {"checkpoint": init_from, "run_id": run.info.run_id, "run_name": run.info.run_name,
                                 "training_command": run.data.tags.get("command"),
                                 "training": {k: run.data.params.get(k) for k in TRAINING_KEYS}}}


LIMITS = """- It has learnt the usual colours of what it recognises (sky, water, foliage, earth, stone): a car,
  a shirt or a door could have been any colour, and it gives such things a likely colour or leaves
  them gray. A person's wish for a particular colour needs a human in the loop.
- It was trained on a few hundred photos (see Data): rare subjects and colours (magenta flowers, neon
  signs) are outside what it saw; toned (sepia) and very dull photos were removed from its training
  data, so old toned photos are outside its training distribution.
- The numbers above come from a few dozen test photos: read KID and the intervals before FID, which is
  biased upwards at this N, and compare only numbers measured on the same images."""


def model_card(metadata: dict, onnx_path: Path) -> str:
    """The model card of an exported generator, in Markdown: what it is, how it was trained (the
    commands), on what, its numbers with N, and its limits. Everything comes from ``metadata``."""
    m, t = metadata.get("metrics") or {}, metadata.get("training") or {}
    start = metadata.get("initialised_from") or {}
    encoder = metadata.get("encoder") or "none"
    network = ("pix2pix's U-Net learnt from scratch" if encoder == "none"
               else f"a U-Net decoder on an ImageNet-pretrained {encoder} encoder")
    size = metadata["image_size"]
    lines = [f"# Model card: {metadata.get('run_name') or onnx_path.stem}", "",
             f"Colourises a black-and-white photo: {network}; input L\\* at {size}x{size} "
             f"(`{metadata['normalisation']['L']}`), output a\\*b\\* (`{metadata['normalisation']['ab']}`), "
             f"upsampled and joined with the photo's own full-resolution L\\* by the inference path. "
             f"ONNX opset {metadata['opset']}, {onnx_path.stat().st_size / 1e6:.1f} MB, exported "
             f"{metadata['exported']} (MLflow run `{metadata.get('run_id')}`).", ""]
    if metadata.get("hints"):
        h = metadata["hints"]
        learned = ("the network was trained with `--hints` and reads them itself (at its "
                   f"{h.get('learned')}), then " if h.get("learned", "none") != "none" else "")
        p, g = h.get("propagation") or {}, h.get("spread")
        if g:
            spreads = ("the inference path spreads each hint's correction to the pixels connected to it through "
                       "alike lightness and colour, stopping at edges (`chromatic_charm.spread`, geodesic: a step "
                       f"across {g.get('edge_lightness'):g} L\\* or {g.get('edge_colour'):g} a\\*b\\* of the network's "
                       f"colour costs a whole side; spread {g.get('spread'):g} of the side; studies/hints/README.md, "
                       "round 6); the graph itself keeps round 4's propagation for code that runs the ONNX file alone")
        else:
            spreads = ("the hints' corrections spread in the graph to the pixels like the hinted ones (Gaussians of "
                       f"{p.get('spread')} of the side, of {p.get('lightness_sigma')} in normalised L and of "
                       f"{p.get('colour_sigma')} in the network's normalised a*b*)")
        lines += ["**Takes colour hints**: beside L\\*, a map of points whose colour a person gives (`hints` of "
                  "`POST /colorize`, `--hint` of `chromatic-charm colorize`); " + learned + spreads +
                  ". With none it is the automatic colouriser, unchanged.", ""]
        pal = metadata.get("palette")
        if pal:
            lines += [f"**Suggested colours** (`GET /suggestions`, the page's picker): for each band of "
                      f"{pal['l_step']} L\\*, the {max(map(len, pal['bands']))} most common a\\*b\\* of the "
                      f"{pal['photos']} training photos (`{pal.get('source')}`), {pal['min_distance']:g} a\\*b\\* "
                      "apart at least, greys left out (`chromatic_charm.palette`).", ""]
    lines += ["## Recipe", ""]
    if start:
        st = start.get("training") or {}
        lines += [f"1. **L1 phase** (run `{start.get('run_name')}`): the generator alone on L1, "
                  f"{st.get('epochs')} epochs{_budget(st)}, Adam lr {st.get('lr_g')} (encoder x{st.get('encoder_lr_mult')}),"
                  f" beta1 {st.get('beta1')}.",
                  f"   `{start.get('training_command')}`",
                  f"2. **Adversarial phase** (pix2pix's cGAN + {t.get('lambda_l1')} x L1, from the L1 model): "
                  f"{t.get('epochs')} epochs{_budget(t)}, lr_G {t.get('lr_g')} (encoder x{t.get('encoder_lr_mult')}), "
                  f"lr_D {t.get('lr_d')}, beta1 {t.get('beta1')}, seed {t.get('seed')}.",
                  f"   `{metadata.get('training_command')}`"]
    else:
        lines += [f"One run: {t.get('epochs')} epochs{_budget(t)}, L1-only warm-up {t.get('warmup_epochs')} epochs, "
                  f"lambda_L1 {t.get('lambda_l1')}, lr_G {t.get('lr_g')}, lr_D {t.get('lr_d')}, beta1 {t.get('beta1')}.",
                  "", f"`{metadata.get('training_command')}`"]
    data = metadata.get("training_data") or {}
    lines += ["", "## Data", "", f"{data.get('train_images')} training photos of `{data.get('data_source')}` "
              f"(data version `{data.get('data_version')}`), 256x256, {_augmentation(t)}.",
              "", "## Numbers", ""]
    split = "test"
    if f"{split}_images" in m:
        lines.append(f"On the {split} split: N = {m[f'{split}_images']:.0f} images ({m[f'{split}_photos']:.0f} photos x "
                     f"{m[f'{split}_crops']:.0f} views), the grayscale input beside it (the do-nothing colouriser).")
        lines += ["", "| | this model | grayscale input |", "| --- | ---: | ---: |"]
        for key, label in (("fid", "FID"), ("kid", "KID")):
            if f"{split}_{key}" in m:
                lines.append(f"| {label} | {m[f'{split}_{key}']:.4g} | {m.get(f'{split}_{key}_baseline_gray', float('nan')):.4g} |")
        for key, label in (("ciede2000", "CIEDE2000"), ("psnr", "PSNR (dB)"), ("ssim", "SSIM"),
                           ("colourfulness", "colourfulness (truth: {:.1f})".format(m.get(f"{split}_colourfulness_real", float("nan"))))):
            if f"{split}_{key}" in m:
                lines.append(f"| {label} | {m[f'{split}_{key}']:.4g} | |")
        status = (metadata.get("fid_status") or {}).get(f"{split}_fid_status")
        if status:
            lines += ["", f"FID and KID: {status}."]
        scales = scale_table(m, split)
        if scales:
            lines += ["", "**At each scale**: the same photos whole and as close-ups (cut into tiles of 1/2 and 1/3 "
                      "of the side, each tile colourised on its own as a user's crop would be), against the grayscale "
                      "input: CIEDE2000 and PSNR minus gray's, mean and 95% bootstrap interval over photos, and "
                      "whether that is better or worse than gray beyond the spread.", "", scales]
    else:
        lines.append("Not evaluated: run `chromatic-charm evaluate` on its checkpoint.")
    if "val_fid" in m and "val_images" in m:  # the pipeline's select ranks these; the test numbers only report
        lines += ["", f"On the validation split (what the pipeline's `select` ranks the runs by, so that the test "
                  f"numbers above are not the ones that chose it): FID {m['val_fid']:.4g}, KID {m.get('val_kid', float('nan')):.4g}, "
                  f"N = {m['val_images']:.0f} images ({m['val_photos']:.0f} photos x {m['val_crops']:.0f} views)."]
    lines += ["", "## Limits", "", LIMITS, ""]
    return "\n".join(lines)


def _augmentation(t: dict) -> str:
    """How the training photos were cut: pix2pix's jitter, or --crop-scale's random resized crops."""
    crop = t.get("crop_scale")
    size = t.get("image_size")
    if crop not in (None, "None"):
        low, high = (float(v) for v in str(crop).strip("()[] ").split(","))
        return (f"random resized crops of {low:g} to {high:g} of the photo's area (`--crop-scale {low:g} {high:g}`: "
                f"close-ups as well as whole scenes), resized to {size} px")
    load = t.get("load_size")
    load = f"resized to {load} px, " if load not in (None, "None") else ""
    return f"pix2pix's jitter: {load}random crops of {size} px"


def _budget(t: dict) -> str:
    minutes = t.get("max_cpu_minutes")
    return f" or {minutes} CPU minutes, whichever came first" if minutes not in (None, "None") else ""


def add_hints(onnx_path: str | Path, out_path: str | Path) -> dict:
    """An exported L-only ONNX model (and its .json) -> the same network followed by the hint propagation
    (``models.propagation``), taking ``hints`` too; written to ``out_path`` and its .json. The network's
    weights are not touched: with no hints the output is the original's (checked, as is the propagation
    against PyTorch). For models exported before hints, whose checkpoint may be gone."""
    import onnx
    from onnx import compose

    from .models.propagation import HintPropagation

    onnx_path, out_path = Path(onnx_path), Path(out_path)
    if out_path.suffix != ".onnx":
        raise UserError(f"the output must end in .onnx, got '{out_path}'")
    try:
        base = onnx.load(str(onnx_path))
    except Exception as exc:
        raise UserError(f"cannot read the ONNX model '{onnx_path}' ({tracking.first_line(exc)})") from None
    inputs = [i.name for i in base.graph.input]
    if inputs != ["L"] or [o.name for o in base.graph.output] != ["ab"]:
        raise UserError(f"'{onnx_path}' takes {inputs}: only an L-only export (L in, ab out) can gain hints")
    meta_path = onnx_path.with_suffix(".json")
    metadata = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    size = int(metadata.get("image_size") or base.graph.input[0].type.tensor_type.shape.dim[-1].dim_value)
    opset = next(o.version for o in base.opset_import if o.domain in ("", "ai.onnx"))
    propagation = HintPropagation().eval()
    _rename(base.graph, "ab", "network_ab")
    with atomic_path(out_path) as tmp:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            torch.onnx.export(propagation, (torch.zeros(1, 1, size, size), torch.zeros(1, 2, size, size),
                                            torch.zeros(1, HINT_CHANNELS, size, size)), str(tmp),
                              input_names=["L", "ab_in", "hints"], output_names=["ab"], opset_version=opset,
                              dynamic_axes={n: {0: "batch"} for n in ("L", "ab_in", "hints", "ab")}, dynamo=False)
        spread = compose.add_prefix(onnx.load(str(tmp)), "hint_")
        spread.ir_version = base.ir_version
        merged = compose.merge_models(base, spread, io_map=[("network_ab", "hint_ab_in")])
        graph = merged.graph
        _rename(graph, "hint_L", "L")
        _rename(graph, "hint_hints", "hints")
        _rename(graph, "hint_ab", "ab")
        kept = {}
        for value in graph.input:  # the two L inputs are one now
            kept.setdefault(value.name, value)
        del graph.input[:]
        graph.input.extend(kept.values())
        onnx.checker.check_model(merged)
        onnx.save(merged, str(tmp))
        _hints_default_to_none(tmp, size)
        diffs = _check_added_hints(onnx_path, tmp, propagation, size)
    metadata["hints"] = _hints_input(size, learned="none", propagation=asdict(propagation.config),
                                     added_to=onnx_path.name, parity_max_abs_diff=diffs)
    write_text_atomic(out_path.with_suffix(".json"), json.dumps(metadata, indent=1, default=str))
    return metadata


def _hints_input(size: int, **details) -> dict:
    """The metadata's description of the ``hints`` input (``chromatic_charm.hints``' layout), and ``details``.
    A network that does not read the hints itself gets ``spread``: the propagation the inference path applies
    after it (``chromatic_charm.spread``, round 6's geodesic one), instead of the graph's own (round 4's, kept
    in the graph for code that runs the ONNX file alone)."""
    out = {"name": "hints", "shape": ["batch", HINT_CHANNELS, size, size],
           "planes": ["a / ab_scale at hinted pixels", "b / ab_scale at hinted pixels", "mask (1 = hint)"], **details}
    if out.get("learned", "none") == "none":
        out["spread"] = SpreadConfig().describe()
    return out


def _hints_default_to_none(path: Path, size: int) -> None:
    """Give the ``hints`` input a default of zeros (an initializer of the same name, which ONNX Runtime lets
    a caller override): code that feeds only ``L``, as for earlier exports, keeps working and gets the
    automatic colours. The (1, 3, S, S) default broadcasts over any batch."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    zeros = numpy_helper.from_array(np.zeros((1, HINT_CHANNELS, size, size), np.float32), "hints")
    model.graph.initializer.append(zeros)
    # Its batch is 1 (the default) or L's: a size of its own, so that ONNX Runtime does not plan buffers on
    # the two being equal; the intermediate shapes the exporter recorded assumed so, and are dropped.
    (hints,) = [i for i in model.graph.input if i.name == "hints"]
    hints.type.tensor_type.shape.dim[0].dim_param = "hints_batch"
    del model.graph.value_info[:]
    onnx.save(model, str(path))


def _rename(graph, old: str, new: str) -> None:
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name == old:
                node.input[i] = new
        for i, name in enumerate(node.output):
            if name == old:
                node.output[i] = new
    for value in [*graph.input, *graph.output, *graph.value_info]:
        if value.name == old:
            value.name = new


def _check_added_hints(original: Path, merged: Path, propagation: torch.nn.Module, size: int) -> dict[str, float]:
    """The merged model against the original (no hints: the same output) and against PyTorch's
    propagation of the original's output (with hints of the real photos' colours)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # not the warning about the hints input's default (on purpose)
    first = ort.InferenceSession(str(original), options, providers=["CPUExecutionProvider"])
    second = ort.InferenceSession(str(merged), options, providers=["CPUExecutionProvider"])
    real = _real_inputs(size, None)
    rng = np.random.default_rng(0)
    lightness = real[0] if real is not None else rng.uniform(-1, 1, (3, 1, size, size)).astype(np.float32)
    truth = real[1] if real is not None else rng.uniform(-0.5, 0.5, (3, 2, size, size)).astype(np.float32)
    ab = first.run(["ab"], {"L": lightness})[0]
    none = np.zeros((len(lightness), HINT_CHANNELS, size, size), np.float32)
    hints = sample_hints(torch.from_numpy(truth), 10, generator=torch.Generator().manual_seed(0)).numpy()
    with torch.no_grad():
        expected = propagation(*(torch.from_numpy(x) for x in (lightness, ab, hints))).numpy()
    diffs = {"no_hints": float(np.abs(second.run(["ab"], {"L": lightness, "hints": none})[0] - ab).max()),
             "hints": float(np.abs(second.run(["ab"], {"L": lightness, "hints": hints})[0] - expected).max())}
    if max(diffs.values()) >= PARITY_TOLERANCE:
        raise RuntimeError(f"the model with hints disagrees by {max(diffs.values()):.2e}: {diffs}")
    return diffs
