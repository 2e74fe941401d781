"""Checkpoints that describe themselves, written atomically.

A training checkpoint holds the weights and optimiser states of both networks, the step and the
position in the epoch, the RNG states, the training config, the networks' constructor arguments and
the MLflow run id, so ``--resume`` continues the same run exactly and export or serving can rebuild
the generator from the file alone. Files are written to a temporary name and renamed, so a kill
while saving never leaves a broken ``last.pt``.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from ..errors import UserError
from ..files import atomic_path

FORMAT = "chromatic-charm-checkpoint/1"
LAST = "last.pt"
BEST = "best.pt"  # the end of the epoch with the lowest val L1 so far (a checkpoint like last.pt)


def save_atomic(state: dict, path: Path) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    return path


def load(path: Path) -> dict:
    """Load a checkpoint on the CPU; a UserError if it is missing or not ours."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint '{path}' does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise UserError(f"'{path}' is not a readable checkpoint ({type(exc).__name__}); "
                        "it may be truncated: use an earlier one") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise UserError(f"'{path}' is not a Chromatic Charm checkpoint")
    return state


def find_resume(target: str | Path | None, checkpoints_root: Path) -> Path:
    """The checkpoint to resume: a file, a run folder holding last.pt, or (None) the newest last.pt."""
    if target:
        path = Path(target)
        if path.is_dir():
            path = path / LAST
        if not path.is_file():
            raise UserError(f"no checkpoint at '{path}'; pass a .pt file or a folder holding {LAST}")
        return path
    candidates = sorted(Path(checkpoints_root).glob(f"*/{LAST}"), key=lambda p: p.stat().st_mtime)
    if not candidates:
        raise UserError(f"nothing to resume: no '*/{LAST}' under '{checkpoints_root}'; "
                        "start a run without --resume, or pass --resume PATH")
    return candidates[-1]


def load_generator(path: Path, device: str | torch.device = "cpu"):
    """Rebuild the generator from any checkpoint of ours, in eval mode."""
    from ..models import build_generator

    state = load(path)
    generator = build_generator(state["generator_config"])
    generator.load_state_dict(state["generator"])
    return generator.to(device).eval()
