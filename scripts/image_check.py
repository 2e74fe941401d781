"""Build the API's Docker image and check the running container as a user meets it.

    python scripts/image_check.py [--image chromatic-charm-api:check] [--port 18765] [--keep]

Needs a running Docker daemon (`.ci/docker_check` starts one and builds a stand-in base image where
Docker Hub cannot be reached). Builds `API/Dockerfile` from the repo root, then checks: /health and
/ready, POST /colorize keeps the size and format for a JPEG, a PNG and a 16-bit TIFF, a bad upload gets
its 4xx JSON, GET /model names the served model and holds no path of the build machine, the process runs
as a non-root uid, the HEALTHCHECK reaches `healthy`, `docker stop` lets a request in flight finish,
and a model mounted with `-v ... -e CHROMATIC_CHARM_MODEL=...` is the one served. Prints one line a
check, the image size (and what the Dockerfile adds to its base), the build context and the cold start
(container start to /ready 200); exits 1 when a check fails. Removes its containers and image unless
--keep.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import requests
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
FAILED: list[str] = []


def docker(*args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess:
    out = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and out.returncode != 0:
        raise SystemExit(f"image check: `docker {' '.join(args[:3])} ...` failed: {out.stderr.strip()[-600:]}")
    return out


def report(name: str, ok: bool, detail: str = "") -> None:
    print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}", flush=True)
    if not ok:
        FAILED.append(name)


def photo(fmt: str, size=(333, 517)) -> bytes:
    rng = np.random.default_rng(0)
    gray = Image.fromarray(rng.integers(0, 256, (24, 16), dtype=np.uint8)).resize(size)
    data = io.BytesIO()
    if fmt == "TIFF":  # 16 bits a sample
        Image.fromarray((np.asarray(gray, dtype=np.uint16) * 257)).save(data, "TIFF")
    else:
        gray.save(data, fmt)
    return data.getvalue()


def run_container(image: str, name: str, port: int, *extra: str) -> float:
    """Start a container on the host's network; seconds from `docker run` to /ready 200."""
    start = time.perf_counter()
    docker("run", "-d", "--name", name, "--network", "host", "-e", f"BIND=127.0.0.1:{port}", *extra, image)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200:
                return time.perf_counter() - start
        except requests.RequestException:
            pass
        time.sleep(0.05)
    logs = docker("logs", name, check=False)
    raise SystemExit(f"image check: the container was not ready within 120 s:\n{(logs.stdout + logs.stderr)[-2000:]}")


def check_serving(url: str) -> None:
    for path in ("/health", "/ready"):
        status = requests.get(url + path, timeout=10).status_code
        report(f"GET {path}", status == 200, str(status))
    for fmt, mime in (("JPEG", "image/jpeg"), ("PNG", "image/png"), ("TIFF", "image/tiff")):
        r = requests.post(f"{url}/colorize", files={"image": (f"photo.{fmt.lower()}", photo(fmt), mime)}, timeout=60)
        got = Image.open(io.BytesIO(r.content)) if r.status_code == 200 else None
        ok = got is not None and got.size == (333, 517) and got.format == "PNG" and got.mode == "RGB"
        report(f"POST /colorize {fmt}{' 16-bit' if fmt == 'TIFF' else ''}", ok,
               f"{r.status_code}, {got.size if got else r.text[:120]}")
    r = requests.post(f"{url}/colorize", data=b"not a photo", headers={"Content-Type": "image/png"}, timeout=10)
    ok = r.status_code == 415 and "error" in r.json()
    report("a bad upload gets its 4xx JSON", ok, f"{r.status_code} {r.text.strip()[:100]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", default="chromatic-charm-api:check")
    parser.add_argument("--port", type=int, default=18765)
    parser.add_argument("--keep", action="store_true", help="keep the image (containers are always removed)")
    args = parser.parse_args()
    names = ["cc-check", "cc-check-mounted"]
    for name in names:
        docker("rm", "-f", name, check=False)
    start = time.perf_counter()
    build = subprocess.run(["docker", "build", "--network", "host", "-f", "API/Dockerfile", "-t", args.image, "."],
                           cwd=REPO, capture_output=True, text=True, timeout=1800)
    if build.returncode != 0:
        print(build.stdout[-3000:] + build.stderr[-3000:])
        raise SystemExit("image check: docker build failed (above)")
    context = next((line.split("daemon", 1)[1].strip() for line in build.stdout.splitlines()
                    if "Sending build context" in line), "n/a (BuildKit)")
    size = int(docker("image", "inspect", "-f", "{{.Size}}", args.image).stdout)
    history = docker("history", "--no-trunc", "--format", "{{.Size}}\t{{.CreatedBy}}", args.image).stdout
    base = docker("image", "inspect", "-f", "{{.Size}}", "python:3.11-slim", check=False)
    added = size - int(base.stdout) if base.returncode == 0 else None
    print(f"built {args.image} in {time.perf_counter() - start:.0f} s: {size / 1e6:.0f} MB"
          + (f" ({added / 1e6:.0f} MB on top of its base)" if added is not None else "")
          + f", build context {context}")
    print("layers:\n" + "\n".join("  " + line[:110] for line in history.splitlines() if not line.startswith("0B")))
    url = f"http://127.0.0.1:{args.port}"
    try:
        cold = run_container(args.image, names[0], args.port)
        print(f"cold start (docker run to /ready 200): {cold:.2f} s")
        check_serving(url)
        model = requests.get(f"{url}/model", timeout=10).json()
        text = json.dumps(model)
        report("GET /model names the served model", bool(model.get("name")) and "run_id" in model,
               f"{model.get('name')} (run {model.get('run_id')})")
        report("GET /model shows no path of the build machine", str(REPO) not in text and "/work/" not in text)
        uid = docker("exec", names[0], "id", "-u").stdout.strip()
        report("the server runs as a non-root uid", uid not in ("", "0"), f"uid {uid}")
        health, deadline = "", time.time() + 120
        while time.time() < deadline and health != "healthy":
            health = docker("inspect", "-f", "{{.State.Health.Status}}", names[0]).stdout.strip()
            time.sleep(1)
        report("the HEALTHCHECK reaches healthy", health == "healthy", health)

        result: dict = {}

        def in_flight():
            big = io.BytesIO()
            Image.new("L", (4000, 3000), 90).save(big, "PNG")
            result["r"] = requests.post(f"{url}/colorize", data=big.getvalue(),
                                        headers={"Content-Type": "image/png"}, timeout=120)

        thread = threading.Thread(target=in_flight)
        thread.start()
        time.sleep(0.5)
        t0 = time.perf_counter()
        docker("stop", names[0])
        stopped = time.perf_counter() - t0
        thread.join(timeout=120)
        r = result.get("r")
        exit_code = docker("inspect", "-f", "{{.State.ExitCode}}", names[0]).stdout.strip()
        report("docker stop lets the request in flight finish", r is not None and r.status_code == 200
               and Image.open(io.BytesIO(r.content)).size == (4000, 3000) and exit_code == "0",
               f"{r.status_code if r is not None else 'no answer'}, stopped in {stopped:.1f} s, exit code {exit_code}")

        with tempfile.TemporaryDirectory() as models:
            shipped = REPO / "src" / "chromatic_charm" / "assets"
            shutil.copy(shipped / "generator.onnx", Path(models) / "mounted.onnx")
            shutil.copy(shipped / "generator.json", Path(models) / "mounted.json")
            Path(models).chmod(0o755)
            run_container(args.image, names[1], args.port, "-v", f"{models}:/models:ro",
                          "-e", "CHROMATIC_CHARM_MODEL=/models/mounted.onnx")
            served = requests.get(f"{url}/model", timeout=10).json().get("name")
            report("a mounted model (-v, CHROMATIC_CHARM_MODEL) is the one served",
                   served == "mounted", f"{served} (the default is 'generator')")
            ok = requests.post(f"{url}/colorize", files={"image": ("p.jpg", photo("JPEG"), "image/jpeg")},
                               timeout=60).status_code
            report("the mounted model colours a photo", ok == 200, str(ok))
    finally:
        for name in names:
            docker("rm", "-f", name, check=False)
        if not args.keep:
            docker("rmi", args.image, check=False)
    print(f"image check: {'all checks passed' if not FAILED else 'FAILED: ' + ', '.join(FAILED)}")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
