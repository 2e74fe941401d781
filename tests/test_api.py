"""The colorize API through Flask's test client and through a real gunicorn process on 127.0.0.1."""

import io
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import requests
from PIL import Image

from chromatic_charm.serving import create_app

from conftest import REPO, start_gunicorn


def png(width, height, mode="RGB", fmt="PNG") -> bytes:
    rng = np.random.default_rng(width * height)
    image = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).convert(mode)
    data = io.BytesIO()
    image.save(data, fmt)
    return data.getvalue()


@pytest.fixture(scope="module")
def client(onnx_model):
    app = create_app({"MODEL_PATH": onnx_model, "MAX_CONTENT_LENGTH": 2 * 1024 * 1024, "MAX_PIXELS": 13_000_000})
    app.testing = True
    return app.test_client()


def test_colorize_multipart_returns_same_size_png(client):
    response = client.post("/colorize", data={"image": (io.BytesIO(png(333, 517)), "odd.png")})
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert Image.open(io.BytesIO(response.data)).size == (333, 517)


@pytest.mark.parametrize("mode,fmt", [("L", "JPEG"), ("RGBA", "PNG"), ("P", "PNG"), ("CMYK", "JPEG"),
                                      ("RGB", "WEBP"), ("RGB", "BMP"), ("RGB", "TIFF")])
def test_colorize_raw_body_in_any_format(client, mode, fmt):
    response = client.post("/colorize?format=jpeg", data=png(64, 40, mode, fmt), content_type="application/octet-stream")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    out = Image.open(io.BytesIO(response.data))
    assert out.size == (64, 40) and out.mode == "RGB"


def test_errors_are_json_with_the_right_status(client):
    cases = [
        (client.post("/colorize"), 400, "no image"),
        (client.post("/colorize", data={"file": (io.BytesIO(b"x"), "a.png")}), 400, "no 'image' field"),
        (client.post("/colorize", data={"image": (io.BytesIO(b""), "empty.png")}), 400,
         "the file 'empty.png' is empty; send a photo with its content"),
        (client.post("/colorize", data=b"not an image", content_type="image/png"), 415, "not an image"),
        (client.post("/colorize", data=png(40, 40)[:60], content_type="image/png"), 400, "cut short"),
        (client.post("/colorize", data=png(64, 64, fmt="JPEG")[:-400], content_type="image/jpeg"), 400,
         "the image is cut short (truncated"),
        (client.post("/colorize?format=gif", data=png(8, 8), content_type="image/png"), 400, "unknown format"),
        (client.post("/colorize", data=b"0" * (3 * 1024 * 1024), content_type="image/png"), 413, "2 MB limit"),
        (client.get("/nowhere"), 404, "not found"),
        (client.get("/colorize"), 405, "method"),
    ]
    for response, status, text in cases:
        assert response.status_code == status, (status, response.data[:200])
        assert response.is_json and text.lower() in response.get_json()["error"].lower()


def test_the_apis_colour_notice_uses_prepares_grayscale_threshold():
    from dataclasses import fields

    from chromatic_charm.data.prepare import PrepareConfig
    from chromatic_charm.inference import GRAY_CHROMA, has_colour

    assert GRAY_CHROMA == {f.name: f.default for f in fields(PrepareConfig)}["gray_chroma"]
    photo = Image.open(REPO / "samples" / "scikit-image__coffee.jpg")
    assert has_colour(photo) and not has_colour(photo.convert("L")) and not has_colour(photo.convert("L").convert("RGB"))


def test_a_palette_gif_or_png_is_colourised_and_its_colour_noticed(client):
    """GIFs and palette PNGs (mode P) larger than 128 px: found by test_fuzz, they once gave a 500
    (Image.reduce takes no palette image)."""
    photo = Image.open(REPO / "samples" / "scikit-image__coffee.jpg")
    gray = photo.convert("L").convert("P")
    for fmt, image, expected in (("GIF", photo.convert("P"), "yes"), ("PNG", photo.convert("P"), "yes"),
                                 ("GIF", gray, "no"), ("PNG", photo.convert("RGBA").convert("P"), "yes")):
        data = io.BytesIO()
        image.save(data, fmt)
        assert Image.open(io.BytesIO(data.getvalue())).mode == "P"
        response = client.post("/colorize", data=data.getvalue(), content_type=f"image/{fmt.lower()}")
        assert response.status_code == 200, response.data[:300]
        assert Image.open(io.BytesIO(response.data)).size == photo.size
        assert response.headers["X-Input-Colour"] == expected, fmt


def test_model_parameters_are_typed():
    from chromatic_charm.serving.routes import typed

    assert [typed(v) for v in ("True", "False", "None", "8", "0.0002", "(0.1, 1.0)", "vanilla", "checkpoints/a.pt")] == [
        True, False, None, 8, 0.0002, [0.1, 1.0], "vanilla", "checkpoints/a.pt"]
    assert typed(3) == 3 and typed("(a, b)") == "(a, b)"


def test_pixel_limit_is_checked_before_decoding(client):
    # 4000 x 4000 of a single colour: a tiny PNG whose pixels would take 48 MB
    data = io.BytesIO()
    Image.new("RGB", (4000, 4000)).save(data, "PNG")
    assert len(data.getvalue()) < 2 * 1024 * 1024
    response = client.post("/colorize", data=data.getvalue(), content_type="image/png")
    assert response.status_code == 413 and "over the limit of 13,000,000 pixels" in response.get_json()["error"]


def test_health_ready_model_page_and_openapi(client):
    assert client.get("/health").get_json() == {"status": "ok"}
    assert client.get("/ready").get_json()["ready"] is True
    model = client.get("/model").get_json()
    assert model["image_size"] == 32 and "metrics" in model and "training_data" in model
    assert "version" not in model
    page = client.get("/")
    assert page.status_code == 200 and b'type="file"' in page.data and b'data-max-upload-bytes="2097152"' in page.data
    for name, kind in (("page.js", "text/javascript"), ("hints.js", "text/javascript"), ("page.css", "text/css")):
        assert f'"{name}"'.encode() in page.data  # the page loads its script and style ...
        part = client.get("/" + name)  # ... and they are served, never cached stale
        assert part.status_code == 200 and part.mimetype == kind and part.headers["Cache-Control"] == "no-cache"
    assert b'fetch("colorize"' in client.get("/page.js").data and b"suggestions?pixel=" in client.get("/hints.js").data
    assert client.get("/other.js").status_code == 404
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.") and {"413", "415", "503"} <= set(spec["paths"]["/colorize"]["post"]["responses"])


@pytest.mark.parametrize("content", [b"not an onnx model", None], ids=["corrupt file", "missing file"])
def test_a_model_that_fails_to_load_is_not_ready_but_alive(tmp_path, content):
    path = tmp_path / "generator.onnx"
    if content is not None:
        path.write_bytes(content)
    client = create_app({"MODEL_PATH": path}).test_client()  # the app starts: no crash loop
    assert client.get("/health").status_code == 200
    for response in (client.get("/ready"), client.get("/model"),
                     client.post("/colorize", data=png(16, 16), content_type="image/png")):
        assert response.status_code == 503 and response.is_json
        message = response.get_json()["error"]
        assert message.startswith(f"model '{path}' could not be loaded: ") and len(message.splitlines()) == 1


def test_busy_worker_answers_503_with_retry_after(onnx_model):
    app = create_app({"MODEL_PATH": onnx_model, "MAX_CONCURRENT": 1})
    slots = app.extensions["slots"]
    slots.acquire()  # one colourisation in flight
    try:
        response = app.test_client().post("/colorize", data=png(16, 16), content_type="image/png")
    finally:
        slots.release()
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"


@pytest.mark.slow
def test_real_gunicorn_colourises_a_12_megapixel_photo(server):
    url, _ = server
    rng = np.random.default_rng(0)
    big = Image.fromarray(rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)).resize((4000, 3000))
    data = io.BytesIO()
    big.convert("L").save(data, "JPEG", quality=90)
    response = requests.post(f"{url}/colorize", files={"image": ("big.jpg", data.getvalue(), "image/jpeg")}, timeout=120)
    assert response.status_code == 200
    assert Image.open(io.BytesIO(response.content)).size == (4000, 3000)
    odd = requests.post(f"{url}/colorize", data=png(333, 517), headers={"Content-Type": "image/png"}, timeout=60)
    assert odd.status_code == 200 and Image.open(io.BytesIO(odd.content)).size == (333, 517)
    bad = requests.post(f"{url}/colorize", data=b"garbage", headers={"Content-Type": "image/png"}, timeout=30)
    assert bad.status_code == 415 and bad.json()["status"] == 415


@pytest.mark.slow
def test_smoke_test_script_passes_against_gunicorn(server):
    url, _ = server
    out = subprocess.run([sys.executable, str(REPO / "scripts" / "smoke_test.py"), url], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "7/7 checks passed" in out.stdout

@pytest.mark.slow
def test_sigterm_lets_the_request_in_flight_finish(onnx_model):
    url, proc = start_gunicorn(onnx_model)  # its own server: this test stops it
    results = {}

    def slow_request():
        data = io.BytesIO()
        Image.new("L", (3000, 2000), 90).save(data, "PNG")
        results["response"] = requests.post(f"{url}/colorize", data=data.getvalue(),
                                            headers={"Content-Type": "image/png"}, timeout=120)

    thread = threading.Thread(target=slow_request)
    thread.start()
    time.sleep(0.5)  # the request is in flight
    os.killpg(proc.pid, signal.SIGTERM)
    thread.join(timeout=120)
    assert results["response"].status_code == 200
    assert proc.wait(timeout=60) == 0


def test_no_request_is_dropped_when_workers_restart(onnx_model):
    """gunicorn's gthread worker, when it stops, closes the keep-alive connections it holds idle; a client
    that has just sent its next request on one got no answer (benoitc/gunicorn #3038). As shipped, every
    response closes its connection and workers are not recycled by request count. Here the workers restart
    often (every ~12 requests, and on two graceful restarts by HUP) under clients that keep their
    connections open when the server lets them: every request is answered."""
    url, proc = start_gunicorn(onnx_model, {"GUNICORN_MAX_REQUESTS": "12"})
    body = png(64, 48, "L")
    answers, failures = [], []

    def client():
        with requests.Session() as session:  # keep-alive whenever the server allows it
            for _ in range(40):
                try:
                    r = session.post(f"{url}/colorize", data=body, headers={"Content-Type": "image/png"}, timeout=30)
                    answers.append((r.status_code, r.headers.get("Connection")))
                except requests.RequestException as exc:
                    failures.append(repr(exc))

    try:
        threads = [threading.Thread(target=client) for _ in range(6)]
        for t in threads:
            t.start()
        for _ in range(2):
            time.sleep(1.0)
            os.kill(proc.pid, signal.SIGHUP)  # graceful restart of every worker
        for t in threads:
            t.join(timeout=240)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
    assert failures == []
    assert len(answers) == 240 and {status for status, _ in answers} == {200}
    assert {connection for _, connection in answers} == {"close"}


def test_a_stopping_server_refuses_new_connections_instead_of_resetting_them(onnx_model):
    """On SIGTERM (`docker stop`) the requests in flight finish; a client that connects meanwhile must get
    `Connection refused` at once (nothing sent, safe to retry), not a connection that the kernel queued
    while the workers drained and reset when they exited (`Connection reset` after the request was
    sent): the workers close their listening sockets as they stop accepting (gunicorn_conf)."""
    url, proc = start_gunicorn(onnx_model)
    body = png(1200, 900, "L")  # long enough that the workers drain for a while
    answers, refused, failures = [], [], []

    def client():
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                r = requests.post(f"{url}/colorize", data=body, timeout=30,
                                  headers={"Content-Type": "image/png", "Connection": "close"})
                answers.append(r.status_code)
            except requests.ConnectionError as exc:
                (refused if "Connection refused" in repr(exc) else failures).append(repr(exc)[:200])
                if refused:
                    return
            except requests.RequestException as exc:
                failures.append(repr(exc)[:200])

    try:
        threads = [threading.Thread(target=client) for _ in range(8)]
        for t in threads:
            t.start()
        time.sleep(2.0)
        os.kill(proc.pid, signal.SIGTERM)  # the master: what `docker stop` sends
        for t in threads:
            t.join(timeout=90)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert failures == []
    assert answers and set(answers) == {200} and len(refused) >= 1


def test_the_shipped_gunicorn_settings_neither_keep_connections_nor_recycle_workers():
    out = subprocess.run([sys.executable, "-c", "from chromatic_charm.serving import gunicorn_conf as c; "
                          "print(c.keepalive, c.max_requests, c.worker_class)"],
                         capture_output=True, text=True, timeout=60,
                         env={k: v for k, v in os.environ.items() if not k.startswith("GUNICORN_")})
    assert out.stdout.split() == ["0", "0", "gthread"], out.stderr


def test_serving_never_imports_torch_training_or_evaluation(onnx_model):
    code = ("import io, sys; from PIL import Image; from chromatic_charm.serving import create_app; "
            f"app = create_app({{'MODEL_PATH': r'{onnx_model}'}}); buf = io.BytesIO(); "
            "Image.new('L', (50, 30)).save(buf, 'PNG'); c = app.test_client(); "
            "r = c.post('/colorize', data=buf.getvalue(), content_type='image/png'); c.get('/model'); c.get('/'); "
            "print(r.status_code, sorted(m for m in sys.modules if m.split('.')[0] == 'torch' or "
            "m.startswith(('chromatic_charm.training', 'chromatic_charm.evaluation', 'chromatic_charm.metrics'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "200 []"


def test_export_never_imports_evaluation(tiny_config):
    """export builds on the checkpoint or the run, never on evaluate's code (tested after a real export)."""
    from dataclasses import replace

    from chromatic_charm.training.loop import train

    result = train(replace(tiny_config, max_steps=1), progress=False)
    code = ("import sys; from chromatic_charm.export import export; "
            f"export(r'{result.checkpoint}', r'{result.checkpoint.parent / 'g.onnx'}'); "
            "print(sorted(m for m in sys.modules if m.startswith(('chromatic_charm.evaluation', 'chromatic_charm.metrics'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_the_shipped_default_model_is_served_when_nothing_is_configured(monkeypatch):
    monkeypatch.delenv("CHROMATIC_CHARM_MODEL", raising=False)
    client = create_app().test_client()
    model = client.get("/model").get_json()
    assert model["image_size"] == 128 and model["run_id"] and "test_ciede2000" in model["metrics"]
    training = model["training"]  # typed JSON, not MLflow's strings ("False", "8", "(0.1, 1.0)")
    assert training["hints"] is False and training["batch_size"] == 8 and training["crop_scale"] == [0.1, 1.0]
    assert training["load_size"] is None and model["source"].startswith("models:/") and "version" not in model
    data = io.BytesIO()
    Image.open(REPO / "samples" / "scikit-image__coffee.jpg").convert("L").save(data, "PNG")
    response = client.post("/colorize", data=data.getvalue(), content_type="image/png")
    out = np.asarray(Image.open(io.BytesIO(response.data)).convert("RGB"), dtype=np.float32)
    assert response.status_code == 200 and out.shape == (256, 384, 3)
    assert (out.max(axis=2) - out.min(axis=2)).mean() > 5  # colour, not gray
    assert response.headers["X-Input-Colour"] == "no"  # a gray upload
    colour = client.post("/colorize", data=(REPO / "samples" / "scikit-image__coffee.jpg").read_bytes(),
                         content_type="image/jpeg")
    assert colour.status_code == 200 and colour.headers["X-Input-Colour"] == "yes"


def test_a_reference_that_cannot_be_fetched_leaves_the_server_alive_but_not_ready(monkeypatch):
    """A models:/ or runs:/ reference in CHROMATIC_CHARM_MODEL that fails (no such run here; or no MLflow
    client, as in the image built without the `registry` extra) must not crash the worker (a restart
    loop in a container): /health 200, /ready, /colorize and /model 503 with the reason."""
    import importlib.util

    run = "0123456789abcdef0123456789abcdef"
    monkeypatch.setenv("CHROMATIC_CHARM_MODEL", f"runs:/{run}")
    client = create_app().test_client()  # the real local store, which has no such run
    assert client.get("/health").status_code == 200
    for path in ("/ready", "/model"):
        response = client.get(path)
        assert response.status_code == 503 and f"cannot fetch the ONNX export of run {run}" in response.get_json()["error"]
    assert client.post("/colorize", data=b"x", content_type="image/png").status_code == 503

    # Without the MLflow client. Simulated here (the test environment has it); scripts/image_check.py
    # checks the same message in the real image, which is built without it.
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else real_find_spec(name, *a))
    ready = create_app().test_client().get("/ready")
    assert ready.status_code == 503
    assert ready.get_json()["error"] == (f"CHROMATIC_CHARM_MODEL=runs:/{run} is a tracking-server reference, which "
                                         "needs the MLflow client: pip install 'chromatic-charm[registry]' (the Docker "
                                         "image: docker build --build-arg EXTRAS=serve,registry ...), or set it to an "
                                         ".onnx file")


@pytest.mark.slow
def test_real_gunicorn_error_statuses(server):
    url, _ = server
    huge = io.BytesIO()
    Image.new("L", (7000, 7000)).save(huge, "PNG")  # 49 MP, a small file
    cases = [
        (requests.post(f"{url}/colorize", timeout=30), 400, "no image"),
        (requests.post(f"{url}/colorize", data=png(40, 40)[:60], headers={"Content-Type": "image/png"}, timeout=30),
         400, "cut short (truncated"),
        (requests.post(f"{url}/colorize", data=huge.getvalue(), headers={"Content-Type": "image/png"}, timeout=30),
         413, "over the limit of 40,000,000 pixels"),
        (requests.post(f"{url}/colorize", data=b"0" * (26 * 1024 * 1024), headers={"Content-Type": "image/png"},
                       timeout=60), 413, "25 MB limit"),
        (requests.post(f"{url}/colorize", data=b"text", headers={"Content-Type": "text/plain"}, timeout=30),
         415, "not an image"),
    ]
    for response, status, text in cases:
        assert response.status_code == status and text in response.json()["error"], response.text[:200]
