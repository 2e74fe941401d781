"""Build the API's Docker image and check the running container as a user meets it.

    python scripts/image_check.py [--image chromatic-charm-api:check] [--port 18765] [--keep]

Needs a running Docker daemon (`.ci/docker_check` starts one and builds a stand-in base image where
Docker Hub cannot be reached). Builds `API/Dockerfile` from the repo root, then checks: /health and
/ready, POST /colorize keeps the size and format for a JPEG, a PNG and a 16-bit TIFF, a bad upload gets
its 4xx JSON, GET /model names the served model and holds no path of the build machine, the process runs
as a non-root uid, the image holds no torch and no MLflow client and serving loads no training code,
the HEALTHCHECK reaches `healthy`, `docker stop` lets a request in flight finish, a model mounted with
`-v ... -e CHROMATIC_CHARM_MODEL=...` is the one served, a broken model leaves the container alive but
failing its HEALTHCHECK, a `runs:/` reference in the default image says it needs the `registry` extra,
and the image built with `--build-arg EXTRAS=serve,registry` serves the ONNX export of a run on a real
MLflow server (127.0.0.1). Prints one line a check, the image sizes (and what the Dockerfile adds to
its base), the build context and the cold start (container start to /ready 200); exits 1 when a check
fails. Removes its containers, images and MLflow server unless --keep (which keeps the images).
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


def run_container(image: str, name: str, port: int, *extra: str, until: str = "/ready") -> float:
    """Start a container on the host's network; seconds from `docker run` to ``until`` answering 200."""
    docker("rm", "-f", name, check=False)
    start = time.perf_counter()
    docker("run", "-d", "--name", name, "--network", "host", "-e", f"BIND=127.0.0.1:{port}", *extra, image)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}{until}", timeout=2).status_code == 200:
                return time.perf_counter() - start
        except requests.RequestException:
            pass
        time.sleep(0.05)
    logs = docker("logs", name, check=False)
    raise SystemExit(f"image check: {until} did not answer 200 within 120 s:\n{(logs.stdout + logs.stderr)[-2000:]}")


def build(image: str, *args: str) -> tuple[float, str]:
    """`docker build` of API/Dockerfile from the repo root; (seconds, the build context's size)."""
    start = time.perf_counter()
    out = subprocess.run(["docker", "build", "--network", "host", *args, "-f", "API/Dockerfile", "-t", image, "."],
                         cwd=REPO, capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        print(out.stdout[-3000:] + out.stderr[-3000:])
        raise SystemExit("image check: docker build failed (above)")
    context = next((line.split("daemon", 1)[1].strip() for line in out.stdout.splitlines()
                    if "Sending build context" in line), "n/a (BuildKit)")
    return time.perf_counter() - start, context


def image_size(image: str) -> str:
    size = int(docker("image", "inspect", "-f", "{{.Size}}", image).stdout)
    base = docker("image", "inspect", "-f", "{{.Size}}", "python:3.11-slim", check=False)
    added = f" ({(size - int(base.stdout)) / 1e6:.0f} MB on top of its base)" if base.returncode == 0 else ""
    return f"{size / 1e6:.0f} MB{added}"


def shipped_model_as(folder: Path, name: str) -> Path:
    """The shipped default model (ONNX + its metadata) copied under another name, so /model tells it apart."""
    shipped = REPO / "src" / "chromatic_charm" / "assets"
    shutil.copy(shipped / "generator.onnx", folder / f"{name}.onnx")
    shutil.copy(shipped / "generator.json", folder / f"{name}.json")
    return folder / f"{name}.onnx"


def check_registry_image(image: str, port: int, name: str) -> None:
    """The image with the `registry` extra serves `runs:/<id>` from a real MLflow server on 127.0.0.1 (this
    venv's MLflow 3), whose run holds an ONNX export as `chromatic-charm export` logs it."""
    sys.path.insert(0, str(REPO / "tests"))
    from mlflow_servers import start_server, stop_server

    import mlflow

    from chromatic_charm.tracking import ONNX_PATH

    with tempfile.TemporaryDirectory() as tmp:
        server_port = port + 1
        url, server = start_server(sys.executable, Path(tmp) / "server", server_port)
        try:
            mlflow.set_tracking_uri(url)
            with mlflow.start_run() as run:
                model = shipped_model_as(Path(tmp), "fetched")
                mlflow.log_artifact(str(model), ONNX_PATH)
                mlflow.log_artifact(str(model.with_suffix(".json")), ONNX_PATH)
            run_container(image, name, port, "-e", f"CHROMATIC_CHARM_MODEL=runs:/{run.info.run_id}",
                          "-e", f"MLFLOW_TRACKING_URI={url}", "-e", "MLFLOW_HTTP_REQUEST_MAX_RETRIES=0")
            served = requests.get(f"http://127.0.0.1:{port}/model", timeout=10).json().get("name")
            report("with the registry extra, a runs:/ reference is fetched from the MLflow server and served",
                   served == "fetched", f"{served} (the run's export is 'fetched.onnx')")
        finally:
            docker("rm", "-f", name, check=False)
            stop_server(server)


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
    listed = requests.get(f"{url}/examples.json", timeout=10).json()
    fetched = [requests.get(f"{url}/{item['url']}", timeout=10) for item in listed]
    ok = len(listed) >= 3 and all(r.status_code == 200 and r.content[:2] == b"\xff\xd8" for r in fetched)
    report("the page's example photos travel in the package", ok, f"{len(listed)} listed")
    parts = {name: requests.get(f"{url}/{name}", timeout=10) for name in ("page.css", "page.js", "hints.js")}
    ok = all(r.status_code == 200 and len(r.content) > 1000 for r in parts.values())
    report("the page's style and scripts travel in the package", ok,
           ", ".join(f"{n} {r.status_code}" for n, r in parts.items()))
    r = requests.get(f"{url}/suggestions?pixel=%23b0b0b0", timeout=10)
    ok = r.status_code == 200 and len(r.json().get("colors", [])) > 1
    report("GET /suggestions offers the shipped model's palette", ok, f"{r.status_code} {r.text[:100]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", default="chromatic-charm-api:check")
    parser.add_argument("--port", type=int, default=18765)
    parser.add_argument("--keep", action="store_true", help="keep the images (containers are always removed)")
    args = parser.parse_args()
    names = ["cc-check", "cc-check-mounted", "cc-check-broken", "cc-check-reference", "cc-check-registry"]
    registry_image = f"{args.image}-registry"
    seconds, context = build(args.image)
    history = docker("history", "--no-trunc", "--format", "{{.Size}}\t{{.CreatedBy}}", args.image).stdout
    print(f"built {args.image} in {seconds:.0f} s: {image_size(args.image)}, build context {context}")
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
        probe = docker("exec", names[0], "python", "-c", (
            "import importlib.util as u, sys; from chromatic_charm.serving import create_app; "
            "create_app().test_client().get('/ready'); "
            "print([m for m in ('torch', 'mlflow') if u.find_spec(m)], sorted(m for m in sys.modules if "
            "m.startswith(('chromatic_charm.training', 'chromatic_charm.evaluation'))))"), check=False)
        report("no torch, no MLflow client in the image; serving loads no training code",
               probe.stdout.strip() == "[] []", (probe.stdout + probe.stderr).strip()[-200:])
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
        docker("rm", "-f", names[0], check=False)

        with tempfile.TemporaryDirectory() as models:
            shipped_model_as(Path(models), "mounted")
            (Path(models) / "broken.onnx").write_bytes(b"not a model")
            Path(models).chmod(0o755)
            run_container(args.image, names[1], args.port, "-v", f"{models}:/models:ro",
                          "-e", "CHROMATIC_CHARM_MODEL=/models/mounted.onnx")
            served = requests.get(f"{url}/model", timeout=10).json().get("name")
            report("a mounted model (-v, CHROMATIC_CHARM_MODEL) is the one served",
                   served == "mounted", f"{served} (the default is 'generator')")
            ok = requests.post(f"{url}/colorize", files={"image": ("p.jpg", photo("JPEG"), "image/jpeg")},
                               timeout=60).status_code
            report("the mounted model colours a photo", ok == 200, str(ok))
            docker("rm", "-f", names[1], check=False)

            run_container(args.image, names[2], args.port, "-v", f"{models}:/models:ro",
                          "-e", "CHROMATIC_CHARM_MODEL=/models/broken.onnx", until="/health")
            ready = requests.get(f"{url}/ready", timeout=10)
            test = json.loads(docker("inspect", "-f", "{{json .Config.Healthcheck.Test}}", names[2]).stdout)
            assert test[0] == "CMD", test
            check = docker("exec", names[2], *test[1:], check=False)
            report("a broken model: alive, /ready 503 with the reason, the HEALTHCHECK fails",
                   ready.status_code == 503 and "could not be loaded" in ready.json().get("error", "")
                   and check.returncode == 1, f"/ready {ready.status_code}, health check exit {check.returncode}")
            docker("rm", "-f", names[2], check=False)

        run_container(args.image, names[3], args.port, "-e", "CHROMATIC_CHARM_MODEL=runs:/0123456789abcdef0123456789abcdef",
                      until="/health")
        ready = requests.get(f"{url}/ready", timeout=10)
        report("a runs:/ reference without the registry extra: /ready 503 says what to install",
               ready.status_code == 503 and "chromatic-charm[registry]" in ready.json().get("error", ""),
               f"{ready.status_code} {ready.text.strip()[:140]}")
        docker("rm", "-f", names[3], check=False)

        seconds, _ = build(registry_image, "--build-arg", "EXTRAS=serve,registry")
        print(f"built {registry_image} (--build-arg EXTRAS=serve,registry) in {seconds:.0f} s: "
              f"{image_size(registry_image)}")
        check_registry_image(registry_image, args.port, names[4])
    finally:
        for name in names:
            docker("rm", "-f", name, check=False)
        if not args.keep:
            docker("rmi", args.image, registry_image, check=False)
    print(f"image check: {'all checks passed' if not FAILED else 'FAILED: ' + ', '.join(FAILED)}")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
