"""The deck's content, in order:

1. the cover ("Portada"): the report's title, its authors and a short line of the run it was executed on
   (the `dvc.lock` hash only in the small footer), beside a test photo half gray, half colourised;
2. the contents ("Contenido"): the talk's parts, one card each with its name and speaker (`parte` and
   `presenta` in `slides.yaml`), the numbers of its slides and their titles;
3. one slide per entry of `slides.yaml`: its title, its bullets (at most 4) and the visual that `VISUALS`
   names for its title, redrawn from the pipeline's outputs where it needs them. Without those outputs, or
   for a title not listed, the visual is the report's figure of the slide's section, else the hue ring.

What each slide and its speaker say is in `slides.yaml`, with the numbers the executed report published
(`report.py`, `notes.py`); nothing here types a number that the report or the pipeline computes.
"""

from __future__ import annotations

import io
import re

from PIL import Image

from .charts import visual_conclusions, visual_eda, visual_selection
from .diagrams import (visual_background, visual_cloud, visual_container, visual_dataset, visual_gan,
                       visual_objectives, visual_references, visual_wrangling)
from .outputs import Context
from .photos import visual_failures, visual_hints, visual_intro, visual_mlflow, visual_page, visual_showcase

COVER, CONTENTS = "Portada", "Contenido"
MAX_BULLETS = 4

# slide title -> (layout, visual, whether it needs the pipeline's outputs): "side" puts the bullets beside the
# visual, "stack" above it
VISUALS = {
    "Introducción": ("side", visual_intro, True),  # a test photo in gray, then colourised
    "Antecedentes": ("side", visual_background, False),  # the earlier attempts, then this project
    "Objetivos": ("side", visual_objectives, False),  # data, model, selection, production
    "Planteamiento del problema": ("stack", visual_gan, False),  # the U-Net and the conditional PatchGAN
    "Análisis exploratorio de datos": ("side", visual_eda, True),  # the hues of the training photos
    "Data wrangling": ("side", visual_wrangling, True),  # the photos scanned, set aside, kept
    "Dataset final": ("stack", visual_dataset, False),  # the DVC pipeline and the split
    "Entrenamiento con MLflow": ("stack", visual_mlflow, True),  # the MLflow UI's runs table (a screenshot)
    "Selección del mejor modelo": ("stack", visual_selection, True),  # FID and KID of each run
    "Lo que muestran las imágenes": ("side", visual_showcase, True),  # the best and the median photos, by rule
    "Lo que falla": ("side", visual_failures, True),  # the worst photos, by the same rule
    "API y página web": ("stack", visual_page, True),  # the running page: the slider, and a hint being placed
    "Pistas de color": ("stack", visual_hints, True),  # without hints, with them, the original
    "Contenedor": ("side", visual_container, False),  # the Docker image
    "Despliegue en la nube": ("side", visual_cloud, False),  # what is done and what is a plan
    "Conclusiones": ("side", visual_conclusions, True),  # the champion's numbers in a table
    "Referencias": ("side", visual_references, False),  # the references on a time line
}


def visual_for(title: str, ctx: Context, figure: bytes | None):
    """(layout, visual) of a slide, also where the report adds a parenthesis to a title ("... (EDA)"). Without
    the outputs it needs, the visual is the report's figure: a wide one goes under the bullets."""
    plain = re.sub(r"\s*\([^)]*\)$", "", title)
    layout, draw, needs = VISUALS.get(title) or VISUALS.get(plain) or ("side", None, False)
    if needs and ctx.outputs is None:
        draw = None
    if draw is None and figure:
        with Image.open(io.BytesIO(figure)) as image:
            layout = "stack" if image.width > 2 * image.height else "side"
    return layout, draw
