"""API latency and throughput, as ratios measured in one run on one machine.

1. model only: ONNX Runtime on one (1, 1, S, S) input;
2. the inference path in process (decode, Lab, resize, model, upsample, encode) at 256x256 and 12 MP
   (a gray JPEG, and a gray PNG split into decode, colourise and encode);
3. POST /colorize end to end through a real gunicorn on 127.0.0.1, same photos;
4. throughput of /colorize at 256x256 with 1, 2 and 4 concurrent clients.

5. p50 and p90 of /colorize at 256x256, one request at a time (what a user waits).

Usage: python benchmarks/api_benchmark.py --model old=old.onnx --model new=models/generator.onnx [--repeat 5]
(several models run one after the other in the same run, so their ratios are comparable)
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import requests
from PIL import Image

from chromatic_charm.inference import Colorizer, encode, open_image


def photo(width: int, height: int, fmt: str = "JPEG") -> bytes:
    """A smooth gray test photo (random blocks resized), as a user's black-and-white photo arrives."""
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).resize((width, height)).convert("L")
    data = io.BytesIO()
    image.save(data, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return data.getvalue()


def median_seconds(fn, repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, tries: int = 300) -> bool:
    """True once ``url``/ready answers 200 (a try every 0.2 s at most)."""
    for _ in range(tries):
        try:
            if requests.get(f"{url}/ready", timeout=1).ok:
                return True
        except requests.RequestException:
            time.sleep(0.2)
    return False


def start_server(model: str | None, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """`chromatic-charm serve` on a free port of 127.0.0.1, once /ready answers; ``model``: None for the
    shipped one; ``env``: more variables (GUNICORN_MAX_REQUESTS...)."""
    port = free_port()
    env = {**os.environ, **(env or {})}
    if model is not None:
        env["CHROMATIC_CHARM_MODEL"] = model
    proc = subprocess.Popen([sys.executable, "-m", "chromatic_charm.cli", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    if wait_ready(url):
        return proc, url
    proc.kill()
    raise RuntimeError("the server did not get ready")


def measure(model: str, args) -> tuple[dict, dict, dict]:
    """(median seconds per path, images/s per client count, p50/p90 ms of POST at 256x256) for one model."""
    colorizer = Colorizer(model)
    size = colorizer.size
    small, big, big_png = photo(256, 256), photo(4000, 3000), photo(4000, 3000, "PNG")
    l_input = np.zeros((1, 1, size, size), np.float32)
    rows = {"model only (ONNX Runtime)": median_seconds(lambda: colorizer.predict_ab(l_input), args.repeat * 4)}
    for name, data in (("256x256", small), ("12 MP", big), ("12 MP PNG", big_png)):
        rows[f"inference path in process, {name}"] = median_seconds(
            lambda d=data: encode(colorizer.colorize_image(open_image(d)))[0], args.repeat)
    # where the 12 MP PNG's time goes
    decoded = open_image(big_png)
    coloured = colorizer.colorize_image(decoded)
    rows["  of which: decode 12 MP PNG"] = median_seconds(lambda: open_image(big_png), args.repeat)
    rows["  of which: colourise 12 MP"] = median_seconds(lambda: colorizer.colorize_image(decoded), args.repeat)
    rows["  of which: encode 12 MP PNG"] = median_seconds(lambda: encode(coloured), args.repeat)
    proc, url = start_server(model)
    try:
        session = requests.Session()
        post = lambda d: session.post(f"{url}/colorize", data=d, headers={"Content-Type": "image/jpeg"},  # noqa: E731
                                      timeout=300).raise_for_status()
        for name, data in (("256x256", small), ("12 MP", big), ("12 MP PNG", big_png)):
            rows[f"POST /colorize via gunicorn, {name}"] = median_seconds(lambda d=data: post(d), args.repeat)
        latencies = []
        for _ in range(args.latency_requests):  # one client, one request at a time: what one user waits
            start = time.perf_counter()
            post(small)
            latencies.append(time.perf_counter() - start)
        quantiles = {"p50_ms": 1000 * float(np.percentile(latencies, 50)),
                     "p90_ms": 1000 * float(np.percentile(latencies, 90)), "requests": len(latencies)}
        throughput = {}
        for clients in (1, 2, 4):
            done, deadline = [0], time.perf_counter() + args.seconds

            def client():
                own = requests.Session()
                while time.perf_counter() < deadline:
                    response = own.post(f"{url}/colorize", data=small, headers={"Content-Type": "image/jpeg"},
                                        timeout=60)
                    done[0] += response.status_code == 200

            start = time.perf_counter()
            with ThreadPoolExecutor(clients) as pool:
                for _ in range(clients):
                    pool.submit(client)
            throughput[clients] = done[0] / (time.perf_counter() - start)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    return rows, throughput, {"input": size, **quantiles}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", required=True, metavar="[NAME=]PATH.onnx",
                        help="repeatable: several models are measured one after the other in the same run, and "
                             "compared with the first")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--latency-requests", type=int, default=50, help="sequential POSTs for p50/p90 (default 50)")
    parser.add_argument("--seconds", type=float, default=8.0, help="per throughput measurement")
    args = parser.parse_args()
    models = dict(m.split("=", 1) if "=" in m else (Path(m).stem, m) for m in args.model)

    results = {name: measure(path, args) for name, path in models.items()}
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; load average at the end "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    first = next(iter(results))
    for name, (rows, throughput, latency) in results.items():
        size_mb = Path(models[name]).stat().st_size / 1e6
        print(f"\n{name}: {models[name]} ({size_mb:.1f} MB, input {latency['input']}x{latency['input']})")
        base = rows["model only (ONNX Runtime)"]
        for row, seconds in rows.items():
            versus = "" if name == first else f", {seconds / results[first][0][row]:5.2f}x {first}"
            print(f"{row:>40}: {seconds * 1000:9.1f} ms   ({seconds / base:6.1f}x model only{versus})")
        print(f"{'POST /colorize 256x256, one at a time':>40}: p50 {latency['p50_ms']:.1f} ms, "
              f"p90 {latency['p90_ms']:.1f} ms over {latency['requests']} requests")
        for clients, rate in throughput.items():
            print(f"{f'throughput, {clients} concurrent client(s)':>40}: {rate:9.1f} images/s at 256x256 "
                  f"({rate / throughput[1]:.2f}x one client)")


if __name__ == "__main__":
    main()
