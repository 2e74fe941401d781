"""Every MLflow and DagsHub call of the project (torch-free: serving uses it too).

- ``target``: where runs go, DagsHub credentials, the server probe and what the server offers;
- ``logger``: one training run's metrics and images, uploaded from a background thread;
- ``models``: logging the generator, the champion (registry alias, or tags where there is none),
  and every model reference the commands accept (``runs:/``, ``models:/m-``, ``models:/name@alias``).
"""

from .logger import RunLogger, run_bounded
from .models import (GENERATOR_PATH, ONNX_PATH, fetch_onnx, find_champion, load_generator, log_generator, log_measurements,
                     log_onnx,
                     make_champion, parse, run_of)
from .target import (TrackingTarget, ServerFeatures, connect, features, first_line, git_commit, probe,
                     resolve_target, use_target)

__all__ = ["GENERATOR_PATH", "ONNX_PATH", "RunLogger", "ServerFeatures", "TrackingTarget", "connect", "features",
           "fetch_onnx", "find_champion", "first_line", "git_commit", "load_generator", "log_generator", "log_measurements", "log_onnx",
           "make_champion", "parse", "probe", "resolve_target", "run_bounded", "run_of", "use_target"]
