"""How a run stops early: ``GracefulStop`` owns SIGTERM and the ranks' agreement to stop; ``mlflow_status``
closes the MLflow run with how training ended, after a checkpoint on Ctrl-C. The step limit and the CPU
budget, which end a run normally, are the ``Position``'s (``run.py``)."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from .. import tracking
from ..errors import Interrupted
from . import distributed
from .run import Run


class GracefulStop:
    """Owns SIGTERM while training: the signal only asks for a stop, which the loop takes after the
    current step, once every rank agrees (``agreed``), with a checkpoint. Outside the main thread
    (some notebook runners) no handler can be set: checkpoints are the safety net there."""

    def __init__(self, world: distributed.World, device: torch.device):
        self.world, self.device = world, device
        self.signum: int | None = None
        self._previous, self._installed = None, False

    def __enter__(self) -> GracefulStop:
        self._previous = signal.getsignal(signal.SIGTERM)
        try:
            signal.signal(signal.SIGTERM, self._ask)
            self._installed = True
        except ValueError:  # not the main thread
            pass
        return self

    def _ask(self, signum, frame) -> None:
        self.signum = signum

    def agreed(self) -> bool:
        """True on every rank when any rank was asked to stop."""
        return distributed.any_rank(self.world, self.signum is not None, self.device)

    def __exit__(self, *exc) -> None:
        if self._installed:
            signal.signal(signal.SIGTERM, self._previous)


@contextmanager
def mlflow_status(run: Run) -> Iterator[None]:
    """Close the run's MLflow run as FINISHED when the block completes, KILLED when it was stopped
    (Ctrl-C saves a checkpoint first and becomes Interrupted), else FAILED."""
    status = "FAILED"
    try:
        yield
        status = "FINISHED"
    except KeyboardInterrupt:
        run.save()
        status = "KILLED"
        raise Interrupted(f"interrupted at step {run.position.step}; checkpoint saved in {run.ckpt_dir}; "
                          f"continue with `chromatic-charm train --resume {run.ckpt_dir}`") from None
    except Interrupted:
        status = "KILLED"
        raise
    finally:
        try:
            run.logger.close(status)
        except Exception as exc:  # the run's status is cosmetic next to the error being raised
            print(f"warning: could not close the MLflow run: {tracking.first_line(exc)}")
