"""One training run's uploads to MLflow, from a background thread, so training never waits on the server.

Training only queues: metrics go into a bounded buffer, sample images are written beside the
checkpoints and their uploads queued. A daemon thread sends them. When the server fails or stops
answering, the failure is reported once, training goes on, and the thread tries again after a
cool-down; an upload left unanswered for ``timeout()`` seconds is reported once too; what the
buffers cannot hold is dropped oldest first and counted. ``close`` waits at most ``timeout()`` for
the queue to drain, then ends the run; what is still unsent then is written to
``unsent_metrics.csv`` beside the checkpoints (the images are there already) and said in one line.
"""

from __future__ import annotations

import csv
import os
import sys
import threading
import time
from collections import deque
from pathlib import Path

from .target import first_line

COOLDOWN_S = 30.0  # between tries while the server fails
TIMEOUT_ENV = "CHROMATIC_CHARM_TRACKING_TIMEOUT"
TIMEOUT_S = 60.0  # the final flush waits at most this long; an upload unanswered this long is reported
MAX_METRICS = 200_000  # buffered metric values (about 50,000 steps of the four losses)
MAX_IMAGES = 100  # queued image uploads
BATCH = 1000  # MLflow's limit of metrics per log_batch call


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def timeout() -> float:
    """Seconds to wait on the tracking server at the end of a run (``$CHROMATIC_CHARM_TRACKING_TIMEOUT``)."""
    try:
        return max(float(os.environ.get(TIMEOUT_ENV, TIMEOUT_S)), 0.0)
    except ValueError:
        return TIMEOUT_S


class RunLogger:
    """Queue of one MLflow run's metrics and images, sent by a background thread.

    ``local_dir``: where images are written before upload (the run's checkpoint folder); ``display``:
    the server's address for messages.
    """

    def __init__(self, run_id: str, *, local_dir: Path | None = None, display: str = "MLflow",
                 cooldown_s: float = COOLDOWN_S):
        from mlflow.tracking import MlflowClient

        self.run_id = run_id
        self.client = MlflowClient()
        self.local_dir = Path(local_dir) if local_dir else None
        self.display = display
        self.cooldown_s = cooldown_s
        self.timeout_s = timeout()  # read once: log_metrics runs every training step
        self._metrics: deque = deque()
        self._images: deque = deque()  # (local path, artifact folder)
        self._dropped = {"metrics": 0, "images": 0, "rejected": 0}
        self._lock = threading.Condition()
        self._busy = False  # the thread holds items it is sending
        self._busy_since = 0.0
        self._inflight_metrics: list = []
        self._inflight_image = None
        self._gave_up = False  # a drain ran out of time
        self._stall_reported = False
        self._failing_since: float | None = None
        self._retry_at = 0.0
        self._closing = False
        self._abandoned = False
        self._thread = threading.Thread(target=self._work, name=f"mlflow-{run_id[:8]}", daemon=True)
        self._thread.start()

    @classmethod
    def start(cls, experiment_id: str, *, run_name: str | None, run_id: str | None = None,
              tags: dict[str, str] | None = None, **kwargs) -> RunLogger:
        """Create the run (or mark a resumed one RUNNING): synchronous, right after the server's probe."""
        from mlflow.tracking import MlflowClient

        client = MlflowClient()
        if run_id is not None:
            client.update_run(run_id, status="RUNNING")
        else:
            run_id = client.create_run(experiment_id, run_name=run_name, tags=tags or {}).info.run_id
        return cls(run_id, **kwargs)

    # --- called by training: synchronous only at the start, queued afterwards --------------------
    def log_params(self, params: dict) -> None:
        from mlflow.entities import Param

        items = [Param(k, str(v)) for k, v in params.items()]
        for i in range(0, len(items), 100):
            self.client.log_batch(self.run_id, params=items[i:i + 100])

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        with self._lock:
            self._metrics.extend(Metric(k, float(v), now, step) for k, v in metrics.items())
            while len(self._metrics) > MAX_METRICS:
                self._metrics.popleft()
                self._dropped["metrics"] += 1
            self._lock.notify_all()
            stalled = (self._busy and not self._stall_reported
                       and time.monotonic() - self._busy_since > self.timeout_s)
            self._stall_reported |= stalled
        if stalled:
            _say(f"warning: MLflow at {self.display} has not answered an upload for {self.timeout_s:.0f} s; "
                 "training goes on, metrics and images are kept and sent when it answers")

    def log_image(self, image, artifact_file: str) -> Path | None:
        """Write the PIL image under ``local_dir`` and queue its upload; returns the local file."""
        if self.local_dir is None:
            return None
        path = self.local_dir / artifact_file
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path)
        with self._lock:
            self._images.append((path, str(Path(artifact_file).parent).replace("\\", "/").strip(".") or None))
            while len(self._images) > MAX_IMAGES:
                self._images.popleft()
                self._dropped["images"] += 1
            self._lock.notify_all()
        return path

    @property
    def healthy(self) -> bool:
        """False while the server fails or does not answer."""
        return self._failing_since is None

    # --- the end of the run -----------------------------------------------------------------------
    def _empty(self) -> bool:
        return not (self._metrics or self._images or self._busy)

    def drain(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for everything queued to go up (a failing server is tried once more
        now, not after its cool-down); True when nothing is left. After one drain that ran out of
        time (a server that does not answer), later ones wait at most a second."""
        if self._gave_up:
            timeout = min(timeout, 1.0)
        deadline = time.monotonic() + timeout
        with self._lock:
            self._closing = True
            self._retry_at = 0.0
            self._lock.notify_all()
            while not self._empty() and self._thread.is_alive() and time.monotonic() < deadline:
                self._lock.wait(min(0.5, max(deadline - time.monotonic(), 0.01)))
            self._gave_up = not self._empty()
            return not self._gave_up

    def close(self, status: str = "FINISHED", wait: float | None = None) -> bool:
        """Drain (at most ``wait`` s, default ``timeout_s``), end the run with ``status``, and say what
        could not be sent. True when everything went up."""
        wait = self.timeout_s if wait is None else wait
        start = time.monotonic()
        drained = self.drain(wait)
        ended = drained and run_bounded(lambda: self.client.set_terminated(self.run_id, status=status),
                                        max(wait - (time.monotonic() - start), 1.0))[0]
        with self._lock:
            self._abandoned = True
            self._lock.notify_all()
            metrics = self._inflight_metrics + list(self._metrics)
            images = len(self._images) + bool(self._inflight_image)
            dropped = dict(self._dropped)
        lost = []
        if metrics:
            lost.append(f"{len(metrics)} metric values (kept in {self._write_unsent(metrics)})")
        if images:
            lost.append(f"{images} sample images (kept in {self.local_dir})")
        if dropped["metrics"] or dropped["images"]:
            lost.append(f"{dropped['metrics']} metric values and {dropped['images']} images dropped "
                        "while the server was down (the buffers are bounded)")
        if dropped["rejected"]:
            lost.append(f"{dropped['rejected']} uploads refused by the server")
        if lost or not ended:
            _say(f"warning: MLflow at {self.display} did not take everything within {wait:.0f} s: "
                 + ("; ".join(lost) if lost else "the run's end status")
                 + f"; run {self.run_id} may show as RUNNING there")
        return not lost and ended

    def _write_unsent(self, metrics) -> Path | None:
        if self.local_dir is None:
            return None
        path = self.local_dir / "unsent_metrics.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        new = not path.exists()
        with open(path, "a", newline="") as f:
            writer = csv.writer(f)
            if new:
                writer.writerow(["run_id", "key", "value", "step", "timestamp_ms"])
            writer.writerows([self.run_id, m.key, m.value, m.step, m.timestamp] for m in metrics)
        return path

    # --- the thread -------------------------------------------------------------------------------
    def _work(self) -> None:
        try:
            while self._send_next():
                pass
        except BaseException as exc:  # a bug here must not pass silently, nor hang the final drain
            _say(f"warning: MLflow uploads stopped ({first_line(exc)}); what is left is kept locally at the end")
            with self._lock:
                self._busy = False
                self._lock.notify_all()

    def _send_next(self) -> bool:
        """Take the next batch out of the queue and send it; False when the logger is closed."""
        with self._lock:
            while not self._abandoned and (not (self._metrics or self._images) or time.monotonic() < self._retry_at):
                wait = self._retry_at - time.monotonic() if (self._metrics or self._images) else None
                self._lock.wait(wait if wait is None or wait > 0 else 0.01)
            if self._abandoned:
                return False
            # In flight, the batch is out of the queue: the bounded queue may drop older values meanwhile
            # without touching it. It goes back to the front if the upload fails.
            count = min(BATCH, len(self._metrics))
            self._inflight_metrics = [self._metrics.popleft() for _ in range(count)]
            self._inflight_image = self._images.popleft() if not count else None
            self._busy, self._busy_since = True, time.monotonic()
        try:
            if self._inflight_metrics:
                self.client.log_batch(self.run_id, metrics=self._inflight_metrics)
            else:
                self.client.log_artifact(self.run_id, str(self._inflight_image[0]), self._inflight_image[1])
        except Exception as exc:  # never let an upload end the training: report once, retry later
            self._failed(exc)
        else:
            self._succeeded()
        return True

    def _failed(self, exc: BaseException) -> None:
        refused = _refused(exc)
        with self._lock:
            if refused:  # this batch will never go up (the file is gone, the server says no): drop it
                self._dropped["rejected"] += 1
            else:
                self._metrics.extendleft(reversed(self._inflight_metrics))
                if self._inflight_image:
                    self._images.appendleft(self._inflight_image)
                while len(self._metrics) > MAX_METRICS:
                    self._metrics.popleft()
                    self._dropped["metrics"] += 1
            self._inflight_metrics, self._inflight_image = [], None
            first = self._failing_since is None and not refused
            if first:
                self._failing_since = time.monotonic()
            if not refused:
                delay = min(1.0, self.cooldown_s) if self._closing else self.cooldown_s
                self._retry_at = time.monotonic() + delay
            report = first or (refused and self._dropped["rejected"] == 1)
            self._busy = False
            self._lock.notify_all()
        if refused and report:
            _say(f"warning: MLflow at {self.display} refused an upload ({first_line(exc)}); it is dropped, "
                 "training goes on")
        elif report:
            _say(f"warning: MLflow at {self.display} failed ({first_line(exc)}); training goes on, "
                 f"metrics and images are kept and sent again every {self.cooldown_s:.0f} s")

    def _succeeded(self) -> None:
        with self._lock:
            self._inflight_metrics, self._inflight_image = [], None
            recovered = self._failing_since is not None
            self._failing_since = None
            self._busy = False
            self._lock.notify_all()
        if recovered:
            _say(f"MLflow at {self.display} answers again; sending what was kept")


def _refused(exc: BaseException) -> bool:
    """An upload that no retry can fix: a local file gone, or the server's 4xx (a deleted run, a value it
    refuses; not 408 or 429, which say "later")."""
    if isinstance(exc, OSError) and not _is_network_error(exc):
        return True
    status = getattr(exc, "get_http_status_code", lambda: None)()
    return isinstance(status, int) and 400 <= status < 500 and status not in (408, 429)


def _is_network_error(exc: BaseException) -> bool:
    import requests

    return isinstance(exc, (requests.RequestException, ConnectionError, TimeoutError))


def run_bounded(fn, timeout: float) -> tuple[bool, object]:
    """Run ``fn()`` in a daemon thread for at most ``timeout`` s: (True, its result) when it returned,
    (False, the exception or None) when it raised or is still waiting (a call to a server that stopped
    answering cannot be interrupted, only left behind)."""
    outcome: list = []

    def call():
        try:
            outcome.append((True, fn()))
        except Exception as exc:
            outcome.append((False, exc))

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(timeout)
    return outcome[0] if outcome else (False, None)
