"""A grid of training runs under one parent MLflow run, each evaluated after training."""

from __future__ import annotations

from dataclasses import replace

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


def sweep(config, grid=DEFAULT_SWEEP_GRID, *, evaluate_split: str = "test", crops: int | None = None, fid: bool = True,
          fid_weights: str | None = None, progress: bool = True) -> list[dict]:
    """Train and evaluate each (lr_G, lr_D) pair; returns one summary per run."""
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
            run_config = replace(config, lr_g=lr_g, lr_d=lr_d, run_name=f"{name}-lrG{lr_g:g}-lrD{lr_d:g}",
                                 checkpoint_dir=None)
            print(f"sweep: training lr_G={lr_g:g}, lr_D={lr_d:g}")
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

