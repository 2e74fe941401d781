"""The pipeline outputs of the run the report shows, which the slides redraw at their own size (the numbers,
the runs, the showcase photos through the shipped model, computed as the report computes them), and `Context`,
what a slide's visual is drawn from. The outputs are used only where the project's `dvc.lock` is the one the
report names; elsewhere the report's own figures are used as they are."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from PIL import Image

from chromatic_charm import analysis, reporting, story
from chromatic_charm.config import ENV_ROOT, project_root
from chromatic_charm.errors import UserError, first_line

from .report import Report, SlideSpec


@contextmanager
def _project(root: Path):
    """MLflow's local store and the data are found from the project root (config.project_root)."""
    before = os.environ.get(ENV_ROOT)
    os.environ[ENV_ROOT] = str(root)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ENV_ROOT, None)
        else:
            os.environ[ENV_ROOT] = before


class Outputs:
    """The pipeline outputs of the run the report shows (`root`'s dvc.lock is the one the report names):
    the numbers and photos that the slides redraw at their own size, computed as the report computes them."""

    def __init__(self, root: Path, report: Report):
        self.root, self.report = root, report

    @cached_property
    def results(self) -> dict:
        return reporting.pipeline_results(self.root)

    @cached_property
    def data(self):
        return analysis.load_clean(self.root / "Data" / "Clean Data")

    @cached_property
    def runs(self):
        ids = [e["run_id"] for e in self.results["evaluations"].values()]
        with _project(self.root):
            return reporting.runs_frame(self.results["params"]["train"]["experiment"], run_ids=ids)

    @property
    def champion_metrics(self) -> dict:
        champion = self.results["champion"]["run_id"]
        return next(e["metrics"] for e in self.results["evaluations"].values() if e["run_id"] == champion)

    @cached_property
    def picks(self) -> list:
        """The report's showcase: test photos chosen by their CIEDE2000 gain over the grayscale input
        (``story.showcase``: the best, the median, the worst)."""
        return story.showcase(story.results(self.root).best)

    @cached_property
    def samples(self) -> list[np.ndarray]:
        """[gray, colourised, real, ...] of the showcase's photos, in its order (best first)."""
        images = np.asarray(self.data.arrays["test"][[p.index for p in self.picks]])
        return reporting.colourise_examples(self.results["model_path"], images)

    def screenshot(self, *parts: str) -> Path:
        """A screenshot the report shows (under `Informe Escrito/`); a UserError if it was not taken."""
        path = self.root.joinpath("Informe Escrito", *parts)
        if not path.is_file():
            raise UserError(f"no screenshot {path.relative_to(self.root)}: run scripts/deliverables.py build "
                            "(it takes them with scripts/mlflow_screenshots.py and scripts/page_screenshots.py)")
        return path

    @cached_property
    def api_truth(self) -> np.ndarray:
        """The report's API example: the first test photo at its full size, in colour."""
        index = self.data.index
        photo = self.root / self.data.report["root"] / index[index["split"] == "test"]["source"].iloc[0]
        return np.asarray(Image.open(photo).convert("RGB"))

    @cached_property
    def colorizer(self):
        """The exported model, as the API serves it (loaded once for the deck)."""
        from chromatic_charm.inference import Colorizer

        return Colorizer(self.results["model_path"])

    @cached_property
    def api_photo(self) -> tuple[np.ndarray, np.ndarray]:
        """(gray, colourised) of the report's API example."""
        gray = np.asarray(Image.fromarray(self.api_truth).convert("L").convert("RGB"))
        return gray, self.colorizer.colorize_rgb(gray)

    @cached_property
    def hints_photo(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(without hints, with the report's hints and their rings, truth) of the report's API example."""
        gray, colour = self.api_photo
        hints = reporting.random_hints(self.api_truth)
        hinted = self.colorizer.colorize_rgb(gray, hints)
        return colour, reporting.mark_hints(hinted, hints), self.api_truth


def project_of(report_path: Path) -> Path:
    """The DVC project a report lives in (the folder above it with dvc.yaml), else the configured root."""
    for folder in Path(report_path).resolve().parents:
        if (folder / "dvc.yaml").is_file() and (folder / "params.yaml").is_file():
            return folder
    return project_root()


def open_outputs(root: Path, report: Report) -> Outputs | None:
    """The outputs of the report's run under ``root``, or None (the report's own figures are used as they
    are) when ``root``'s dvc.lock is another run's, or the run's outputs are not on this machine (a fresh
    clone: `Data/Clean Data` and the MLflow store come from `dvc repro` or `dvc pull`, not from git)."""
    lock = reporting.dvc_lock_hash(root)
    if not (report.lock and lock == report.lock):
        print(f"presentation: {root}'s dvc.lock ({lock}) is not the report's ({report.lock}): the report's own "
              "figures are used as they are, nothing is redrawn", file=sys.stderr)
        return None
    outputs = Outputs(root, report)
    try:
        outputs.data
        if not len(outputs.runs):
            raise UserError("the MLflow store holds none of the run's evaluated runs")
    except (UserError, OSError, KeyError) as exc:
        print(f"presentation: the outputs of the report's run are not all here ({first_line(exc)}): the report's "
              "own figures are used as they are, nothing is redrawn", file=sys.stderr)
        return None
    return outputs


@dataclass
class Context:
    """What a slide's visual is drawn from: the report, its run's outputs (None where they are not here)."""

    report: Report
    outputs: Outputs | None
    spec: SlideSpec | None = None  # the slide being drawn
