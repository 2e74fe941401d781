"""The colourisations large, in labelled grids: the showcase's test photos (gray, colourised, real; chosen by
their CIEDE2000 gain over gray) on the cover, the introduction, the successes and the failures; the colour
hints on the report's API example; and the screenshots of the MLflow UI and of the running page."""

from __future__ import annotations

import numpy as np
from pptx.enum.shapes import MSO_SHAPE
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.util import Inches

from chromatic_charm import reporting

from .design import ACCENT, INK, LABEL_PT, WHITE, Box
from .diagrams import hue_ring
from .outputs import Context
from .shapes import add_picture, add_rect, add_text

COVER_PHOTO, INTRO_PHOTO = 1, 0  # which of the showcase's photos: its two best by rule; the cover the one that
# reads as a real success (the run of 2026-12-08: the snowy valley; the best gain, a flower, is pale where it is yellow)


def _sample(ctx: Context, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(gray, colourised, real) of the report's ``i``-th test photo, counting round when there are fewer."""
    samples = ctx.outputs.samples
    i = i % (len(samples) // 3)
    return samples[3 * i], samples[3 * i + 1], samples[3 * i + 2]


def _labelled_photos(slide, box: Box, rows: list[list[np.ndarray]], headers: list[str], name: str,
                     row_labels: list[str] | None = None):
    """Photos in a grid as large as fits, a header over each column (native text, LABEL_PT + 2) and, with
    ``row_labels``, a label left of each row."""
    header_h, gap = Inches(0.45), Inches(0.12)
    label_w = Inches(1.3) if row_labels else 0
    ratio = rows[0][0].shape[1] / rows[0][0].shape[0]
    cols = len(rows[0])
    height = min((box.height - header_h - gap * (len(rows) - 1)) // len(rows),
                 int((box.width - label_w - gap * (cols - 1)) / cols / ratio))
    width = int(height * ratio)
    left0 = box.left + label_w + (box.width - label_w - cols * width - (cols - 1) * gap) // 2
    top0 = box.top + (box.height - header_h - len(rows) * height - (len(rows) - 1) * gap) // 2
    for c, header in enumerate(headers):
        add_text(slide.shapes, Box(left0 + c * (width + gap), top0, width, header_h), [header], LABEL_PT + 2, bold=True,
                 color=INK, align=PP_ALIGN.CENTER, anchor=MSO_ANCHOR.BOTTOM)
    for r, row in enumerate(rows):
        top = top0 + header_h + r * (height + gap)
        if row_labels:
            add_text(slide.shapes, Box(left0 - label_w, top, label_w - gap, height), row_labels[r].split("\n"),
                     LABEL_PT, bold=True, color=INK, align=PP_ALIGN.RIGHT, anchor=MSO_ANCHOR.MIDDLE)
        for c, image in enumerate(row):
            add_picture(slide.shapes, image, Box(left0 + c * (width + gap), top, width, height), name=f"Visual: {name}")


def visual_cover(slide, box: Box, ctx: Context) -> bool:
    if ctx.outputs is None:
        hue_ring(slide.shapes, box)
        return True
    gray, colour, _ = _sample(ctx, COVER_PHOTO)
    half = gray.shape[1] // 2
    split = np.concatenate([gray[:, :half], colour[:, half:]], axis=1)
    split[:, half - 1:half + 1] = 255  # the line between before and after
    side = min(box.width, box.height - Inches(0.5))
    left = box.left + (box.width - side) // 2
    add_picture(slide.shapes, split, Box(left, box.top, side, side), name="Visual: antes y después")
    for part, label in zip(Box(left, box.top + side, side, Inches(0.45)).cols(1, 1), ("gris", "colorizada")):
        add_text(slide.shapes, part, [label], LABEL_PT + 2, color=WHITE, align=PP_ALIGN.CENTER)
    return True


def visual_intro(slide, box: Box, ctx: Context) -> bool:
    gray, colour, _ = _sample(ctx, INTRO_PHOTO)
    arrow_w, header_h = Inches(0.9), Inches(0.5)
    side = min((box.width - arrow_w) // 2, box.height - header_h)
    top = box.top + (box.height - side - header_h) // 2
    left = box.left + (box.width - 2 * side - arrow_w) // 2
    for x, image, label in ((left, gray, "Entrada: foto en gris"), (left + side + arrow_w, colour, "Salida: a color")):
        add_text(slide.shapes, Box(x, top, side, header_h), [label], LABEL_PT + 4, bold=True, color=INK,
                 align=PP_ALIGN.CENTER)
        add_picture(slide.shapes, image, Box(x, top + header_h, side, side), name="Visual: antes y después")
    middle = top + header_h + side // 2
    arrow = Box(left + side + Inches(0.12), middle - Inches(0.3), arrow_w - Inches(0.24), Inches(0.6))
    add_rect(slide.shapes, arrow, ACCENT, kind=MSO_SHAPE.RIGHT_ARROW).name = "Visual: flecha"
    return True


def _picked_rows(ctx: Context, labels: tuple[str, ...]) -> tuple[list[list[np.ndarray]], list[str]]:
    """The showcase's photos with those labels: rows of (gray, colourised, real), and each row's label."""
    rows, names = [], []
    for i, pick in enumerate(ctx.outputs.picks):
        if pick.label in labels:
            rows.append(list(_sample(ctx, i)))
            names.append(f"{pick.label}\n{pick.gain:+.1f}".replace("-", "\u2212"))  # the minus sign
    return rows, names


def visual_showcase(slide, box: Box, ctx: Context) -> bool:
    """The showcase's best and median photos (gray, colourised, real), each row labelled with its gain."""
    rows, names = _picked_rows(ctx, ("mejor", "mediana"))
    _labelled_photos(slide, box, rows, ["gris", "modelo", "real"], "ejemplos elegidos por regla", row_labels=names)
    return True


def visual_failures(slide, box: Box, ctx: Context) -> bool:
    """The showcase's worst photos, by the same rule."""
    rows, names = _picked_rows(ctx, ("peor",))
    _labelled_photos(slide, box, rows, ["gris", "modelo", "real"], "los fracasos, por la misma regla",
                     row_labels=names)
    return True


def _screenshots(slide, box: Box, paths, captions: list[str], name: str, crop=None) -> None:
    """Screenshots side by side, as large as fits, each with its caption under it; ``crop`` (left, top, right,
    bottom as fractions of the image; one for all, or a list with one per screenshot) keeps the part that matters."""
    from PIL import Image

    crops = list(crop) if crop and isinstance(crop[0], (tuple, list)) else [crop] * len(paths)
    images = []
    for path, crop in zip(paths, crops):
        with Image.open(path) as image:
            image = image.convert("RGB")
            if crop:
                w, h = image.size
                image = image.crop((int(crop[0] * w), int(crop[1] * h), int(crop[2] * w), int(crop[3] * h)))
            images.append(np.asarray(image))
    gap, caption_h = Inches(0.2), Inches(0.4)
    width = (box.width - gap * (len(images) - 1)) // len(images)
    for i, (image, caption) in enumerate(zip(images, captions)):
        h, w = image.shape[:2]
        scale = min(width / w, (box.height - caption_h) / h)
        pw, ph = int(w * scale), int(h * scale)
        left = box.left + i * (width + gap) + (width - pw) // 2
        add_picture(slide.shapes, image, Box(left, box.top, pw, ph), name=f"Visual: {name}")
        column = box.left + i * (width + gap)  # the caption spans its column, not only a narrow picture
        add_text(slide.shapes, Box(column, box.top + ph, width, caption_h), [caption], LABEL_PT, color=INK,
                 align=PP_ALIGN.CENTER)


def visual_page(slide, box: Box, ctx: Context) -> bool:
    """The running web page: a colourised photo with the before/after slider, and the colour picker placing a hint."""
    paths = [ctx.outputs.screenshot("pagina", n) for n in ("page_slider.png", "page_picker.png")]
    _screenshots(slide, box, paths, ["la foto colorizada, con el deslizador antes/después",
                                     "una pista: el selector de color sobre el resultado"], "la página en marcha",
                 crop=[(0.19, 0.04, 0.81, 0.86), (0.12, 0.17, 0.88, 0.67)])  # the photo and its controls, not the page
    return True


def visual_mlflow(slide, box: Box, ctx: Context) -> bool:
    """The MLflow UI's runs table of this run's experiment (a screenshot from the local store)."""
    _screenshots(slide, box, [ctx.outputs.screenshot("mlflow", "runs.png")], ["MLflow: las corridas de esta ejecución"],
                 "MLflow")  # scripts/mlflow_screenshots.py keeps the runs table alone
    return True


def visual_hints(slide, box: Box, ctx: Context) -> bool:
    headers = ["sin pistas", f"{reporting.HINT_EXAMPLE_POINTS} pistas (círculos)", "original"]
    _labelled_photos(slide, box, [list(ctx.outputs.hints_photo)], headers, "pistas de color")
    return True
