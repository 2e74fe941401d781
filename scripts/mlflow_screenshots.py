"""The report's and the deck's pictures of the MLflow UI, taken in headless Chromium from a real MLflow server on
this project's tracking store (not drawn by hand): the pipeline experiment's runs table, one run (the
champion: its parameters and metrics), and the compare view of the champion, the L1-only run and the seeds.

    python scripts/mlflow_screenshots.py        # after `dvc repro`: writes Informe Escrito/mlflow/*.png
    python scripts/mlflow_screenshots.py --store sqlite:///mlflow.db --out /tmp/shots

Needs Debian's chromium and chromium-driver (selenium is given the driver's path: no download). The server is
`mlflow server` on 127.0.0.1 on a free port, stopped at the end; the store is only read.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

WINDOW = (1600, 1000)  # wide enough for the runs table's metric columns, legible at a page's width
# The runs table's columns: the sweep's settings, the metric select ranks by (val_fid) and the test scores, instead
# of the UI's defaults; the rows in select's order.
HIDE = ("Dataset", "Source", "Models")
SHOW = ("lambda_l1", "lr_d", "lr_g", "seed", "val_fid", "test_fid", "test_kid", "test_ciede2000", "test_colourfulness")


def to_the_run_details(browser) -> None:
    """The compare view scrolled to its table of the runs side by side, the parameters that differ only (its first
    chart plots unrelated params)."""
    from selenium.webdriver.common.by import By

    for switch in [e for e in browser.find_elements(By.XPATH, "//*[normalize-space(text())='Show diff only']")
                   if e.is_displayed()][:1]:  # the parameters that differ: lambda_l1, seed, the phase's settings
        switch.click()
        time.sleep(1.0)
    rows = [e for e in browser.find_elements(By.XPATH, "//*[normalize-space(text())='Run details']") if e.is_displayed()]
    if rows:
        browser.execute_script("arguments[0].scrollIntoView({block: 'start'});", rows[0])


def choose_columns(browser) -> None:
    """Through the runs table's own "Columns" menu, as a person would: hide HIDE, show SHOW, widen the names."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    menu = browser.find_element(By.XPATH, "//button[.//*[normalize-space(text())='Columns'] or normalize-space(text())='Columns']")
    menu.click()
    time.sleep(1)
    def search_box():  # found again each time: the menu redraws itself after each click
        return next(i for i in browser.find_elements(By.CSS_SELECTOR, "input[placeholder='Search columns']")
                    if i.is_displayed())

    for name in (*HIDE, *SHOW):
        search = search_box()
        search.send_keys(Keys.CONTROL, "a")
        search.send_keys(Keys.DELETE)
        search.send_keys(name)
        time.sleep(0.6)
        clicked = browser.execute_script(  # the option in the open menu (a popover), not the table's header
            "const name = arguments[0], popover = '[data-radix-popper-content-wrapper],[role=dialog],[role=menu],"
            "[role=listbox]'; const hit = [...document.querySelectorAll('*')].find(e => e.childElementCount === 0 &&"
            " e.textContent.trim() === name && e.closest(popover)); if (hit) hit.click(); return Boolean(hit);", name)
        if not clicked:
            print(f"mlflow_screenshots: no column {name!r} in the Columns menu", file=sys.stderr)
        time.sleep(0.3)
    search_box().send_keys(Keys.ESCAPE)
    time.sleep(0.5)
    header = next((e for e in browser.find_elements(By.XPATH, "//*[normalize-space(text())='Run Name']") if e.is_displayed()),
                  None)
    if header is not None:  # drag the right edge of the name column so that the names show whole
        cell = header.find_element(By.XPATH, "./ancestor::*[@role='columnheader' or contains(@class,'header')][1]")
        edge = cell.size["width"] // 2 - 2
        ActionChains(browser).move_to_element_with_offset(cell, edge, 0).click_and_hold().move_by_offset(150, 0)\
            .release().perform()
    title = [e for e in browser.find_elements(By.XPATH, "//*[normalize-space(text())='Runs']") if e.is_displayed()]
    if title:  # the pointer off the table: no tooltip left open
        ActionChains(browser).move_to_element(title[-1]).perform()


def runs_table(browser) -> tuple[int, int, int, int] | None:
    """The runs table alone (its column headers and rows, from the checkboxes to the last column), as (left, top,
    right, bottom) in CSS pixels; None when it is not found (the whole window is kept)."""
    return browser.execute_script(
        "const cells = [...document.querySelectorAll('[role=row]')].filter(r => r.getBoundingClientRect().height > 0);"
        "if (!cells.length) return null;"
        "const boxes = cells.map(r => r.getBoundingClientRect());"
        "const top = Math.min(...boxes.map(b => b.top)), bottom = Math.max(...boxes.map(b => b.bottom));"
        "const left = Math.min(...boxes.map(b => b.left)), right = Math.max(...boxes.map(b => b.right));"
        "return [Math.max(0, left - 4), Math.max(0, top - 2), Math.min(window.innerWidth, right + 4),"
        " Math.min(window.innerHeight, bottom + 4)];")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(store: str, artifacts: Path) -> tuple[subprocess.Popen, str]:
    """`mlflow server` on ``store``, on 127.0.0.1; waits until it answers (60 s at most)."""
    port = free_port()
    mlflow = Path(sys.executable).with_name("mlflow")
    proc = subprocess.Popen([str(mlflow), "server", "--backend-store-uri", store, "--default-artifact-root",
                             str(artifacts), "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO,
                            env={**os.environ, "MLFLOW_LOGGING_LEVEL": "WARNING"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"error: mlflow server on {store} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    sys.exit(f"error: mlflow server on {store} did not answer within 60 s")


def pipeline_runs(url: str, experiment: str) -> tuple[str, dict[str, str]]:
    """The experiment's id and its runs' names by id, through the server's REST API."""
    def call(path: str, body: dict) -> dict:
        request = urllib.request.Request(url + path, data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    with urllib.request.urlopen(f"{url}/api/2.0/mlflow/experiments/get-by-name?experiment_name={experiment}",
                                timeout=30) as response:
        experiment_id = json.loads(response.read())["experiment"]["experiment_id"]
    runs = call("/api/2.0/mlflow/runs/search", {"experiment_ids": [experiment_id], "max_results": 1000}).get("runs", [])
    return experiment_id, {r["info"]["run_id"]: r["info"]["run_name"] for r in runs}


def current_runs(metrics: Path) -> dict[str, str]:
    """The pipeline's current runs, as the metrics files in git name them: {run id: the file's stem} (the champion,
    the L1 run, the control and each sweep item). A store can hold older runs of the same names, from an earlier
    `dvc repro`: ids, not names, say which are this pipeline's."""
    ids: dict[str, str] = {}
    for path in sorted(metrics.glob("**/*.json")):
        content = json.loads(path.read_text())
        run_id = content.get("run_id") if isinstance(content, dict) else None
        if run_id:
            ids.setdefault(run_id, path.stem)
    return ids


def take(url: str, out: Path, experiment: str, champion: str, metrics: Path) -> list[Path]:
    """The runs table, the champion's run page, and the compare view (champion, L1 run, seeds); ``champion`` is
    the champion's run id."""
    from page_screenshots import driver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    experiment_id, names = pipeline_runs(url, experiment)
    current = current_runs(metrics)
    if champion not in names:
        sys.exit(f"error: the champion's run {champion} is not in experiment {experiment!r} of this store: run `dvc repro`")
    stale = set(names) - set(current)
    if stale:
        print(f"mlflow_screenshots: warning: experiment {experiment!r} holds {len(stale)} runs that are not the "
              "pipeline's current ones (an earlier `dvc repro`); the runs table shows them too: delete them "
              "(`mlflow runs delete --run-id ID`) for a table of this pipeline only", file=sys.stderr)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    browser = driver(WINDOW)

    def shot(name: str, address: str, ready_text: str, prepare=None, region=None) -> None:
        browser.get(address)
        WebDriverWait(browser, 60).until(lambda d: ready_text in d.find_element(By.TAG_NAME, "body").text)
        for label in ("Got it",):  # the UI's first-visit tips
            for element in browser.find_elements(By.XPATH, f"//*[normalize-space(text())='{label}']"):
                element.click()
        for close in browser.find_elements(By.CSS_SELECTOR, "button[aria-label='Close']"):  # the assistant panel
            if close.is_displayed():
                close.click()
        if prepare is not None:
            prepare(browser)
        time.sleep(2.0)  # charts and tables finish drawing after their data arrives
        written.append(out / name)
        browser.save_screenshot(str(written[-1]))
        box = region(browser) if region is not None else None
        if box:  # only the part the reader needs: at a page's width its text is larger
            from PIL import Image

            scale = browser.execute_script("return window.devicePixelRatio") or 1
            Image.open(written[-1]).crop(tuple(round(v * scale) for v in box)).save(written[-1])

    try:
        ml = "workflowType=machine_learning"  # the UI's "Model training" view, not its GenAI one
        shot("runs.png", f"{url}/#/experiments/{experiment_id}/runs?{ml}&orderByKey=metrics.%60val_fid%60"
             "&orderByAsc=true", names[champion], choose_columns, runs_table)
        shot("run.png", f"{url}/#/experiments/{experiment_id}/runs/{champion}?{ml}", "test_fid")
        chosen = [champion] + [rid for rid, stem in current.items() if stem == "l1" or "seed" in stem]
        if "l1" not in current.values():
            print("mlflow_screenshots: warning: no metrics file names the L1 run (metrics/baseline/l1.json): the "
                  "compare view leaves it out", file=sys.stderr)
        ids = json.dumps(list(dict.fromkeys(chosen)))
        shot("compare.png", f"{url}/#/compare-runs?runs={urllib.request.quote(ids)}&experiments="
             f"{urllib.request.quote(json.dumps([experiment_id]))}&{ml}", "test_fid", to_the_run_details)
    finally:
        browser.quit()
    return written


def main() -> int:
    import yaml

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=f"sqlite:///{REPO / 'mlflow.db'}", help="the tracking store (default: "
                        "the project's mlflow.db)")
    parser.add_argument("--out", default=str(REPO / "Informe Escrito" / "mlflow"))
    args = parser.parse_args()
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    champion_file = REPO / "metrics" / "champion.json"
    if not champion_file.is_file():
        sys.exit("error: metrics/champion.json is missing: run `dvc repro` first")
    champion = json.loads(champion_file.read_text())["run_id"]
    if args.store.startswith("sqlite:///") and not Path(args.store.removeprefix("sqlite:///")).is_file():
        sys.exit(f"error: no tracking store at {args.store}: run `dvc repro` first (or pass --store)")
    proc, url = start_server(args.store, REPO / "mlartifacts")
    try:
        for path in take(url, Path(args.out), params["train"]["experiment"], champion, REPO / "metrics"):
            print(f"wrote {path}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
