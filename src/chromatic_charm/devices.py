"""Which device a command runs on: the one definition of ``--device auto``."""

from __future__ import annotations

import torch

from .config import DEVICE_HELP
from .errors import UserError


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """'auto' -> ``cuda`` when CUDA has a GPU, else ``cpu``; anything else as torch reads it. Asking for
    CUDA where there is none is a UserError, not a crash at the first tensor."""
    if isinstance(name, torch.device):
        return name
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(f"unknown device '{name}'; use {DEVICE_HELP}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"device '{name}' asked for but no CUDA GPU is available; use --device cpu")
    return device
