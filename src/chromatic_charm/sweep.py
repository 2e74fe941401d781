"""A grid of training runs under one parent MLflow run, each evaluated after training."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from .config import DEFAULT_SWEEP_GRID
from .errors import UserError


def parse_grid(text: str) -> tuple[tuple[float, float], ...]:
    """'1e-4:3e-4,2e-4:2e-4' -> ((1e-4, 3e-4), (2e-4, 2e-4))."""
    try:
        pairs = tuple(tuple(float(x) for x in item.split(":")) for item in text.split(",") if item.strip())
    except ValueError:
        pairs = ()
    if not pairs or any(len(p) != 2 or min(p) <= 0 for p in pairs):
        raise UserError(f"--grid must look like '1e-4:3e-4,2e-4:2e-4' (lr_G:lr_D pairs, > 0), got {text!r}")
    return pairs


def format_grid(grid) -> str:
    """((1e-4, 3e-4), (2e-4, 2e-4)) -> '1e-4:3e-4,2e-4:2e-4' (what parse_grid reads)."""
    def lr(x: float) -> str:
        mantissa, exponent = f"{x:e}".split("e")
        return f"{float(mantissa):g}e{int(exponent)}"

    return ",".join(f"{lr(g)}:{lr(d)}" for g, d in grid)


def _announce(lr_g: float, lr_d: float) -> None:
    print(f"sweep: training lr_G={lr_g:g}, lr_D={lr_d:g}")


def sweep(config, grid=DEFAULT_SWEEP_GRID, *, evaluate_split: str = "test", crops: int | None = None, fid: bool = True,
          fid_weights: str | None = None, progress: bool = True, checkpoint_root: str | Path | None = None,
          on_run: Callable[[float, float], None] | None = None) -> list[dict]:
    """Train and evaluate each (lr_G, lr_D) pair; returns one summary per run.

    Each run's checkpoints go to ``checkpoint_root/<run name>`` (default: ``checkpoints/<run name>``;
    a notebook on Colab points it at Google Drive). ``on_run(lr_g, lr_d)`` is called as each run starts
    (default: a line on stdout; a notebook says it in its own language)."""
    import time

    from .config import DEFAULT_EVAL_CROPS
    from .evaluation import evaluate
    from . import tracking
    from .training.loop import train

    name = time.strftime("sweep-%Y%m%d-%H%M%S")
    parent = tracking.start_sweep(config.experiment, name, format_grid(grid))
    results, status = [], "FAILED"
    try:
        for lr_g, lr_d in grid:
            run_name = f"{name}-lrG{lr_g:g}-lrD{lr_d:g}"
            run_config = replace(config, lr_g=lr_g, lr_d=lr_d, run_name=run_name,
                                 checkpoint_dir=str(Path(checkpoint_root) / run_name) if checkpoint_root else None)
            (on_run or _announce)(lr_g, lr_d)
            result = train(run_config, progress=progress, parent_run_id=parent)
            scores = evaluate(result.run_id, data_dir=config.data_dir, split=evaluate_split,
                              device=config.device, crops=crops or DEFAULT_EVAL_CROPS, fid=fid,
                              fid_weights=fid_weights, progress=progress)
            results.append({"run_id": result.run_id, "lr_g": lr_g, "lr_d": lr_d, **scores["metrics"],
                            "fid_status": scores["fid_status"]})
        status = "FINISHED"
    finally:
        tracking.end_run(parent, status)
    return results

