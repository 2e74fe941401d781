"""gunicorn settings for the API (``gunicorn -c python:chromatic_charm.serving.gunicorn_conf``).

Workers x threads are sized for the machine; each worker loads the model itself after the fork
(``preload_app`` off), and ONNX Runtime gets cores / workers threads so workers do not fight over
cores. SIGTERM lets requests in flight finish within ``graceful_timeout``.

No request is dropped when a worker stops (a graceful restart with ``kill -HUP``, ``docker stop``, or
recycling): gunicorn's gthread worker, when it stops, closes the keep-alive connections it holds idle,
and a client that has just sent its next request on one gets no answer (benoitc/gunicorn #3038). So
every response closes its connection (``keepalive = 0``: a TCP connect on the same host costs far less
than a colourisation), and workers are not recycled by request count (``max_requests = 0``: a 10-minute
soak showed no memory growth to recycle against). And a stopping worker closes its listening socket as
soon as it stops accepting (``post_worker_init`` below), not after its requests in flight: otherwise
the kernel keeps completing new connections into the listen queue while they finish, and resets them
all when the worker exits (clients that had sent a request get ``Connection reset``; with the socket
closed they get ``Connection refused`` at once, before sending anything). Measured in
benchmarks/soak_benchmark.py, figures in BENCHMARKS.md.
Override with WEB_CONCURRENCY, GUNICORN_THREADS, BIND, GUNICORN_TIMEOUT, GUNICORN_KEEPALIVE (seconds),
GUNICORN_MAX_REQUESTS.
"""

import os

cores = os.cpu_count() or 1
bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", max(1, min(4, cores // 2))))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
worker_class = "gthread"
preload_app = False
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))  # a 12 MP photo on a small CPU takes seconds
graceful_timeout = 30
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "0"))  # 0: Connection: close on every response
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))  # 0: no recycling by request count
max_requests_jitter = max_requests // 10
accesslog = "-"
raw_env = [
    f"CHROMATIC_CHARM_ORT_THREADS={os.environ.get('CHROMATIC_CHARM_ORT_THREADS', max(1, cores // workers))}",
    f"CHROMATIC_CHARM_MAX_CONCURRENT={os.environ.get('CHROMATIC_CHARM_MAX_CONCURRENT', threads)}",
]


def post_worker_init(worker):
    """Close the worker's listening sockets when it stops accepting at shutdown (SIGTERM: `docker stop`,
    a graceful restart). The master and any new worker keep their own descriptors of the same socket:
    on `kill -HUP` the port keeps listening for the new workers; on a full stop the master has already
    closed its own, so the port stops listening while the requests in flight finish. gthread only
    (gunicorn >= 23 disables accepting through ``set_accept_enabled``)."""
    disable = getattr(worker, "set_accept_enabled", None)
    if disable is None:
        return

    def set_accept_enabled(enabled):
        disable(enabled)
        if not enabled and not worker.alive:
            for listener in worker.sockets:
                # The connections the kernel completed since the last accept are in the listen queue, their
                # requests often sent: closing the socket would reset them. Take them in (they are served
                # within graceful_timeout, as the requests in flight), then close: from here the port
                # refuses. Under load that queue is not empty (a CPU hog showed resets in 3 runs of 5).
                while True:
                    taken = worker.nr_conns
                    worker.accept(listener)  # non-blocking: an empty queue is EAGAIN, which it ignores
                    if worker.nr_conns == taken:
                        break
                listener.close()

    worker.set_accept_enabled = set_accept_enabled
