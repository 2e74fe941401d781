#!/usr/bin/env python3
"""Check a deployed Chromatic Charm API end to end: python scripts/smoke_test.py https://your.host

Needs only Python, Pillow and requests. Exits 0 when every check passes, 1 otherwise.
"""

from __future__ import annotations

import io
import sys

import requests
from PIL import Image


def check(name: str, ok: bool, detail: str = "") -> bool:
    print(f"{'PASS' if ok else 'FAIL'}  {name}{'  (' + detail + ')' if detail else ''}")
    return ok


def main(url: str) -> int:
    url = url.rstrip("/")
    results = []
    try:
        health = requests.get(f"{url}/health", timeout=10)
        results.append(check("GET /health", health.status_code == 200, str(health.status_code)))
        ready = requests.get(f"{url}/ready", timeout=10)
        results.append(check("GET /ready", ready.status_code == 200, str(ready.status_code)))
        model = requests.get(f"{url}/model", timeout=10)
        results.append(check("GET /model", model.ok and "image_size" in model.json(), model.text[:120]))
        spec = requests.get(f"{url}/openapi.json", timeout=10)
        results.append(check("GET /openapi.json", spec.ok and "/colorize" in spec.json().get("paths", {})))
        page = requests.get(f"{url}/", timeout=10)
        results.append(check("GET / (web page)", page.ok and 'type="file"' in page.text))
        gray = Image.linear_gradient("L").resize((333, 517))
        data = io.BytesIO()
        gray.save(data, "JPEG")
        done = requests.post(f"{url}/colorize", files={"image": ("gray.jpg", data.getvalue(), "image/jpeg")}, timeout=120)
        size = Image.open(io.BytesIO(done.content)).size if done.ok else None
        results.append(check("POST /colorize 333x517", done.ok and size == (333, 517), f"{done.status_code} {size}"))
        bad = requests.post(f"{url}/colorize", data=b"not an image", headers={"Content-Type": "image/png"}, timeout=30)
        results.append(check("POST /colorize garbage -> 415 JSON", bad.status_code == 415 and "error" in bad.json()))
    except requests.RequestException as exc:
        results.append(check(f"reach {url}", False, type(exc).__name__))
    print(f"{sum(results)}/{len(results)} checks passed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python scripts/smoke_test.py URL   (e.g. http://127.0.0.1:8000)")
    sys.exit(main(sys.argv[1]))
