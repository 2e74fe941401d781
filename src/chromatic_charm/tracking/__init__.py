"""Every MLflow and DagsHub call of the project (torch-free: serving uses it too).

- ``target``: where runs go, DagsHub credentials, the server probe and what the server offers;
- ``logger``: one training run's metrics and images, uploaded from a background thread;
- ``models``: logging the generator, the champion (registry alias, or tags where there is none),
  and every model reference the commands accept (``runs:/``, ``models:/m-``, ``models:/name@alias``);
- ``runs``: reading runs back (one run, an experiment's finished runs), a sweep's parent run.
"""

from .logger import RunLogger, run_bounded
from .models import (GENERATOR_PATH, ONNX_PATH, fetch_onnx, find_champion, load_generator, log_generator, log_measurements,
                     log_onnx,
                     make_champion, parse, run_of)
from .runs import end_run, finished_runs, get_run, is_sweep_parent, metric_history, start_sweep
from .target import (TrackingTarget, ServerFeatures, connect, features, first_line, git_commit, probe,
                     resolve_target, use_target)

__all__ = ["GENERATOR_PATH", "ONNX_PATH", "RunLogger", "ServerFeatures", "TrackingTarget", "connect", "end_run",
           "features", "fetch_onnx", "find_champion", "finished_runs", "first_line", "get_run", "git_commit",
           "is_sweep_parent", "load_generator", "metric_history", "log_generator", "log_measurements", "log_onnx", "make_champion",
           "parse", "probe", "resolve_target", "run_bounded", "run_of", "start_sweep", "use_target"]
