"""Sustained load on the API: does any request fail, and does memory grow?

Starts `chromatic-charm serve` (a real gunicorn on 127.0.0.1, the shipped settings unless the
environment overrides them, e.g. GUNICORN_MAX_REQUESTS=50) and keeps CLIENTS clients posting a
640-pixel gray JPEG to /colorize without pause for DURATION seconds, either on keep-alive
connections (one `requests.Session` a client) or with a new connection per request. Optionally
restarts the workers gracefully every HUP_EVERY seconds (`kill -HUP` of the gunicorn master: what a
model update or a config reload does). Every WINDOW seconds it prints the requests answered, the
failures by kind, p50/p99 latency and the RSS of the master and its workers; at the end, the totals
and the RSS growth after the first window (the warm-up).

Usage:
  python benchmarks/soak_benchmark.py --duration 600 --clients 16 --mode keepalive --json soak.json
  python benchmarks/soak_benchmark.py --duration 600 --mode new-connection --hup-every 60

Exit status 1 when a request failed, so a script can gate on it. Figures: BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe  # noqa: E402
from api_benchmark import photo, start_server  # noqa: E402


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

    def take(self) -> tuple[list[float], collections.Counter]:
        with self.lock:
            out = self.latencies, self.failures
            self.latencies, self.failures = [], collections.Counter()
        return out


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
            else:
                tally.failures[kind] += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=600, help="seconds of load (default 600)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--mode", choices=("keepalive", "new-connection"), default="keepalive")
    parser.add_argument("--hup-every", type=float, help="restart the workers gracefully every this many seconds")
    parser.add_argument("--window", type=float, default=30, help="seconds between reports (default 30)")
    parser.add_argument("--timeout", type=float, default=30, help="a request unanswered this long fails (default 30)")
    parser.add_argument("--max-requests", type=int, help="GUNICORN_MAX_REQUESTS for the server (default: its own)")
    parser.add_argument("--json", help="write every figure to this file")
    args = parser.parse_args()

    env = {} if args.max_requests is None else {"GUNICORN_MAX_REQUESTS": str(args.max_requests)}
    proc, url = start_server(None, env)
    body, tally, stop = photo(640, 480), Tally(), threading.Event()
    threads = [threading.Thread(target=client, args=(url, body, args.mode, stop, tally, args.timeout), daemon=True)
               for _ in range(args.clients)]
    windows, totals, all_latencies, hups = [], collections.Counter(), [], 0
    start = next_hup = time.time()
    try:
        for t in threads:
            t.start()
        while (elapsed := time.time() - start) < args.duration:
            deadline = min(start + (len(windows) + 1) * args.window, start + args.duration)
            while time.time() < deadline:
                if args.hup_every and time.time() >= next_hup + args.hup_every:
                    next_hup += args.hup_every
                    os.kill(proc.pid, signal.SIGHUP)
                    hups += 1
                time.sleep(0.2)
            latencies, failures = tally.take()
            totals.update(failures)
            all_latencies += latencies
            lat = np.array(latencies) * 1000 if latencies else np.array([np.nan])
            row = {"t_s": round(time.time() - start), "answered": len(latencies), "failed": dict(failures),
                   "p50_ms": round(float(np.median(lat)), 1), "p99_ms": round(float(np.percentile(lat, 99)), 1),
                   "rss_mb": round(rss_mb(proc.pid), 1)}
            windows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=args.timeout + 5)
        latencies, failures = tally.take()
        totals.update(failures)
        all_latencies += latencies
        if proc.poll() is None:
            proc.terminate()  # the gunicorn master (serve execs it): a graceful stop of every worker
            proc.wait(timeout=60)
    rss = [w["rss_mb"] for w in windows]
    lat = np.array(all_latencies) * 1000
    result = {
        "machine": describe(), "clients": args.clients, "mode": args.mode, "duration_s": args.duration,
        "hup_every_s": args.hup_every, "hups": hups, "max_requests": args.max_requests,
        "answered": len(all_latencies), "failed": sum(totals.values()), "failures": dict(totals),
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
