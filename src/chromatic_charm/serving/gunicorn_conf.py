"""gunicorn settings for the API (``gunicorn -c python:chromatic_charm.serving.gunicorn_conf``).

Workers x threads are sized for the machine; each worker loads the model itself after the fork
(``preload_app`` off), and ONNX Runtime gets cores / workers threads so workers do not fight over
cores. SIGTERM lets requests in flight finish within ``graceful_timeout``.
Override with WEB_CONCURRENCY, GUNICORN_THREADS, BIND, GUNICORN_TIMEOUT.
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
keepalive = 5
max_requests = 1000  # recycle workers now and then against slow leaks
max_requests_jitter = 100
accesslog = "-"
raw_env = [
    f"CHROMATIC_CHARM_ORT_THREADS={os.environ.get('CHROMATIC_CHARM_ORT_THREADS', max(1, cores // workers))}",
    f"CHROMATIC_CHARM_MAX_CONCURRENT={os.environ.get('CHROMATIC_CHARM_MAX_CONCURRENT', threads)}",
]
