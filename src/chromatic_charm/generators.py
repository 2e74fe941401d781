"""The trained generator behind any source the commands accept: a checkpoint file or folder, or a model
reference in MLflow. ``evaluate`` and ``export`` both start here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from .errors import UserError


@dataclass
class GeneratorSource:
    generator: torch.nn.Module
    image_size: int
    run_id: str | None
    label: str  # for file names and messages


def resolve_generator(source: str, device: str | torch.device = "cpu") -> GeneratorSource:
    """A checkpoint file or folder, or any model reference of ``tracking.parse`` (a run id,
    ``runs:/<id>``, ``models:/m-<id>``, ``models:/<name>@<alias>``, ``models:/<name>/<version>``;
    ``models:/<name>@champion`` also where the server has no registry) -> the generator."""
    from . import tracking
    from .training import checkpoint

    path = Path(source)
    if path.exists():
        file = path / checkpoint.LAST if path.is_dir() else path
        state = checkpoint.load(file)
        generator = checkpoint.load_generator(file, device)
        return GeneratorSource(generator, state["train_config"]["image_size"], state.get("run_id"), file.parent.name)
    try:
        tracking.parse(source)
    except UserError:
        raise UserError(f"'{source}' is neither a checkpoint path nor a model reference (a run id, runs:/<id>, "
                        "models:/m-<id>, models:/<name>@<alias>)") from None
    run_id = tracking.run_of(source)
    try:
        run = tracking.get_run(run_id)
        generator = tracking.load_generator(run_id, device)
    except Exception as exc:
        raise UserError(f"cannot load the generator of run {run_id}: {tracking.first_line(exc)}") from None
    return GeneratorSource(generator.to(device).eval(), int(run.data.params.get("image_size", 256)), run_id, run_id[:8])
