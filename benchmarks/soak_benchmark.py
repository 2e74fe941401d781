"""Sustained load on the API: does any request fail, and does memory grow?

Starts `chromatic-charm serve` (a real gunicorn on 127.0.0.1, the shipped settings unless the
environment overrides them, e.g. GUNICORN_MAX_REQUESTS=50) and keeps CLIENTS clients posting a
640-pixel gray JPEG to /colorize without pause for DURATION seconds, either on keep-alive
connections (one `requests.Session` a client) or with a new connection per request. Optionally
restarts the workers gracefully every HUP_EVERY seconds (`kill -HUP` of the gunicorn master: what a
model update or a config reload does). With --docker-image it soaks a container of that image instead
(`docker run --network host`), and --restart-every restarts it with `docker restart` (SIGTERM, requests
in flight finish, then a new start): requests refused while the container is down (connection refused:
never accepted, safe to retry) are counted apart from failures (accepted, then no answer or an error).
Every WINDOW seconds it prints the requests answered, the failures by kind, p50/p99 latency and the RSS
of the master and its workers; at the end, the totals and the RSS growth after the first window (the
warm-up).

Usage:
  python benchmarks/soak_benchmark.py --duration 600 --clients 16 --mode keepalive --json soak.json
  python benchmarks/soak_benchmark.py --duration 600 --mode new-connection --hup-every 60
  python benchmarks/soak_benchmark.py --duration 600 --docker-image chromatic-charm-api --restart-every 60

Exit status 1 when a request failed, so a script can gate on it. Figures: BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe  # noqa: E402
from api_benchmark import free_port, photo, start_server, wait_ready  # noqa: E402


def rss_mb(pid: int) -> float:
    """RSS of a process and its children (gunicorn's master and workers), MB, from /proc."""
    total = 0
    pids = [pid]
    while pids:
        p = pids.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except (OSError, StopIteration):
            continue
        pids.extend(int(c) for c in children)
    return total / 1024


def failure_kind(exc: BaseException) -> str:
    text = repr(exc)
    if "Connection refused" in text:  # requests wraps it: ConnectionError(... [Errno 111] Connection refused)
        return "ConnectionRefusedError"
    for kind in ("RemoteDisconnected", "ConnectionResetError", "ConnectionRefusedError", "ReadTimeout",
                 "ConnectTimeout", "BrokenPipeError"):
        if kind in text:
            return kind
    return type(exc).__name__


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.failures: collections.Counter = collections.Counter()
        self.refused = 0  # connection refused: the server was down, the request never sent

    def take(self) -> tuple[list[float], collections.Counter, int]:
        with self.lock:
            out = self.latencies, self.failures, self.refused
            self.latencies, self.failures, self.refused = [], collections.Counter(), 0
        return out


class Container:
    """The API image run on the host's network (`docker run --network host`), like gunicorn's process
    for the soak: ``pid`` (its gunicorn master, for the RSS), ``restart()`` (graceful: SIGTERM, requests
    in flight finish within the stop timeout, then a fresh start)."""

    def __init__(self, image: str, port: int, name: str = "cc-soak"):
        self.name = name
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
        subprocess.run(["docker", "run", "-d", "--name", name, "--network", "host", "-e", f"BIND=127.0.0.1:{port}",
                        image], check=True, capture_output=True, text=True)
        self.restarts = 0

    @property
    def pid(self) -> int:
        out = subprocess.run(["docker", "inspect", "-f", "{{.State.Pid}}", self.name], capture_output=True, text=True)
        return int(out.stdout.strip() or 0)

    def restart(self) -> None:
        subprocess.run(["docker", "restart", "--time", "35", self.name], check=True, capture_output=True)
        self.restarts += 1

    def poll(self):
        return None

    def terminate(self) -> None:
        subprocess.run(["docker", "rm", "-f", self.name], capture_output=True)

    def wait(self, timeout=None) -> None:
        return None


def start_container(image: str) -> tuple[Container, str]:
    port = free_port()
    container, url = Container(image, port), f"http://127.0.0.1:{port}"
    if wait_ready(url, tries=600):
        return container, url
    container.terminate()
    raise RuntimeError("the container did not get ready")


def client(url: str, body: bytes, mode: str, stop: threading.Event, tally: Tally, timeout: float) -> None:
    session = requests.Session() if mode == "keepalive" else None
    while not stop.is_set():
        start = time.perf_counter()
        try:
            if session is None:
                response = requests.post(f"{url}/colorize", files={"image": ("photo.jpg", body, "image/jpeg")},
                                         timeout=timeout, headers={"Connection": "close"})
            else:
                response = session.post(f"{url}/colorize", files={"image": ("photo.jpg", body, "image/jpeg")},
                                         timeout=timeout)
            kind = None if response.status_code == 200 and response.content[:8] == b"\x89PNG\r\n\x1a\n" \
                else f"HTTP {response.status_code}"
        except requests.RequestException as exc:
            kind = failure_kind(exc)
            if session is not None:
                session.close()
                session = requests.Session()
        with tally.lock:
            if kind is None:
                tally.latencies.append(time.perf_counter() - start)
            elif kind == "ConnectionRefusedError":
                tally.refused += 1
            else:
                tally.failures[kind] += 1
        if kind == "ConnectionRefusedError":
            time.sleep(0.05)  # the server is down: retry soon, without spinning


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=600, help="seconds of load (default 600)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--mode", choices=("keepalive", "new-connection"), default="keepalive")
    parser.add_argument("--hup-every", type=float, help="restart the workers gracefully every this many seconds")
    parser.add_argument("--window", type=float, default=30, help="seconds between reports (default 30)")
    parser.add_argument("--timeout", type=float, default=30, help="a request unanswered this long fails (default 30)")
    parser.add_argument("--max-requests", type=int, help="GUNICORN_MAX_REQUESTS for the server (default: its own)")
    parser.add_argument("--docker-image", help="soak a container of this image instead of `chromatic-charm serve`")
    parser.add_argument("--restart-every", type=float,
                        help="with --docker-image: `docker restart` the container every this many seconds")
    parser.add_argument("--json", help="write every figure to this file")
    args = parser.parse_args()
    if args.restart_every and not args.docker_image:
        parser.error("--restart-every needs --docker-image")
    if args.docker_image and (args.hup_every or args.max_requests is not None):
        parser.error("--hup-every and --max-requests apply to `chromatic-charm serve`, not to --docker-image")

    env = {} if args.max_requests is None else {"GUNICORN_MAX_REQUESTS": str(args.max_requests)}
    proc, url = start_container(args.docker_image) if args.docker_image else start_server(None, env)
    body, tally, stop = photo(640, 480), Tally(), threading.Event()
    threads = [threading.Thread(target=client, args=(url, body, args.mode, stop, tally, args.timeout), daemon=True)
               for _ in range(args.clients)]
    windows, totals, all_latencies, hups, refused = [], collections.Counter(), [], 0, 0
    restarter: threading.Thread | None = None
    start = next_hup = time.time()
    every = args.restart_every or args.hup_every
    try:
        for t in threads:
            t.start()
        while (elapsed := time.time() - start) < args.duration:
            deadline = min(start + (len(windows) + 1) * args.window, start + args.duration)
            while time.time() < deadline:
                if every and time.time() >= next_hup + every and (restarter is None or not restarter.is_alive()):
                    next_hup += every
                    if args.docker_image:
                        restarter = threading.Thread(target=proc.restart, daemon=True)
                        restarter.start()
                    else:
                        os.kill(proc.pid, signal.SIGHUP)
                    hups += 1
                time.sleep(0.2)
            latencies, failures, down = tally.take()
            totals.update(failures)
            refused += down
            all_latencies += latencies
            lat = np.array(latencies) * 1000 if latencies else np.array([np.nan])
            row = {"t_s": round(time.time() - start), "answered": len(latencies), "failed": dict(failures),
                   "refused_while_down": down,
                   "p50_ms": round(float(np.median(lat)), 1), "p99_ms": round(float(np.percentile(lat, 99)), 1),
                   "rss_mb": round(rss_mb(proc.pid), 1)}
            windows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=args.timeout + 5)
        if restarter is not None:
            restarter.join(timeout=60)
        latencies, failures, down = tally.take()
        totals.update(failures)
        refused += down
        all_latencies += latencies
        if proc.poll() is None:
            proc.terminate()  # the gunicorn master (serve execs it): a graceful stop of every worker
            proc.wait(timeout=60)
    rss = [w["rss_mb"] for w in windows]
    lat = np.array(all_latencies) * 1000
    result = {
        "machine": describe(), "clients": args.clients, "mode": args.mode, "duration_s": args.duration,
        "server": f"docker image {args.docker_image}" if args.docker_image else "chromatic-charm serve",
        "hup_every_s": args.hup_every, "restart_every_s": args.restart_every,
        ("docker_restarts" if args.docker_image else "hups"): hups, "max_requests": args.max_requests,
        "answered": len(all_latencies), "failed": sum(totals.values()), "failures": dict(totals),
        "refused_while_down": refused,
        "p50_ms": round(float(np.median(lat)), 1) if len(lat) else None,
        "p99_ms": round(float(np.percentile(lat, 99)), 1) if len(lat) else None,
        "rss_mb_after_warmup": rss[0] if rss else None, "rss_mb_max": max(rss) if rss else None,
        "rss_growth_pct": round(100 * (max(rss[1:]) / rss[0] - 1), 1) if len(rss) > 1 else None,
        "windows": windows,
    }
    print(json.dumps({k: v for k, v in result.items() if k not in ("windows", "machine")}))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 1 if result["failed"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
