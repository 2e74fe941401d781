"""The EDA's live demo of what ``prepare`` does with defective files: ``plant_defects`` makes them from real photos
(a truncated JPEG, a text file named .jpg, CMYK, palette, alpha, 16-bit, EXIF-rotated, sepia, copies),
``defect_verdicts`` reads prepare's report on them and ``defect_fidelity`` measures what the conversions did to
the colours. Re-exported by ``analysis`` for the notebooks.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import color
from .config import SPLITS
from .errors import UserError

if TYPE_CHECKING:
    import pandas as pd


DEFECTS = {  # file written by plant_defects -> what it is, and what prepare should do with it
    "01_original.jpg": ("una foto en color, sin defectos", "conservada"),
    "02_copia.jpg": ("una copia byte a byte de la anterior", "duplicate"),
    "03_reducida.jpg": ("la misma foto, reducida y recomprimida", "duplicate"),
    "04_cmyk.jpg": ("otra foto, en CMYK (de imprenta)", "CMYK"),
    "05_paleta.png": ("otra, con una paleta de 64 colores", "P"),
    "06_transparente.png": ("otra, con canal alfa", "RGBA"),
    "07_girada.jpg": ("otra, guardada de lado con la orientación EXIF 6", "EXIF-rotated"),
    "08_16bits.png": ("otra, en gris de 16 bits", "grayscale"),
    "09_sepia.jpg": ("la misma, virada al sepia", "sepia"),
    "10_pequena.jpg": ("una foto de 96 × 72 píxeles", "too_small"),
    "11_truncada.jpg": ("la primera mitad de un JPEG (una descarga cortada)", "truncated"),
    "12_no_es_imagen.jpg": ("texto con extensión .jpg", "unreadable"),
}


def plant_defects(photos: list[str | Path], folder: str | Path) -> dict[str, tuple[str, str]]:
    """Write into ``folder`` the defects ``prepare`` must handle, made from six real photos (``photos``, at least
    6, each used for one kind so that none duplicates another): a photo and its exact and re-encoded copies; CMYK,
    palette, alpha and EXIF-rotated versions of four others; a 16-bit gray and a sepia version of the sixth; a
    too-small photo, a truncated JPEG and a text file named .jpg. Returns ``DEFECTS``: each file's description and
    the verdict expected of ``prepare`` (a rejection reason, the mode it converts from, or "conservada")."""
    from PIL import Image

    if len(photos) < 6:
        raise UserError(f"plant_defects needs 6 photos, got {len(photos)}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rgb = [Image.open(p).convert("RGB") for p in photos[:6]]
    rgb[0].save(folder / "01_original.jpg", quality=92)
    whole = (folder / "01_original.jpg").read_bytes()
    (folder / "02_copia.jpg").write_bytes(whole)
    rgb[0].resize((rgb[0].width * 3 // 4, rgb[0].height * 3 // 4)).save(folder / "03_reducida.jpg", quality=70)
    rgb[1].convert("CMYK").save(folder / "04_cmyk.jpg", quality=92)
    rgb[2].quantize(64).save(folder / "05_paleta.png")
    alpha = rgb[3].convert("RGBA")
    alpha.putalpha(200)
    alpha.save(folder / "06_transparente.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated 90 degrees clockwise: stored a quarter turn the other way
    rgb[4].transpose(Image.Transpose.ROTATE_90).save(folder / "07_girada.jpg", exif=exif, quality=92)
    gray = np.asarray(rgb[5].convert("L"), dtype=np.float64)
    Image.fromarray((gray * 257).astype(np.uint16)).save(folder / "08_16bits.png")
    tint = gray[..., None] / 255 * np.array([1.0, 0.93, 0.8]) * 255 + np.array([12, 6, 0])
    Image.fromarray(np.clip(tint, 0, 255).astype(np.uint8)).save(folder / "09_sepia.jpg", quality=92)
    rgb[1].resize((96, 72)).save(folder / "10_pequena.jpg", quality=90)
    (folder / "11_truncada.jpg").write_bytes(whole[: len(whole) // 2])
    (folder / "12_no_es_imagen.jpg").write_bytes(b"no es una imagen " * 40)
    return DEFECTS


DEFECT_SOURCES = {"01_original.jpg": 0, "04_cmyk.jpg": 1, "05_paleta.png": 2, "06_transparente.png": 3,
                  "07_girada.jpg": 4}  # the kept planted files, and which of plant_defects' photos each was made from


def defect_fidelity(clean_dir: str | Path, photos: list[str | Path]) -> "pd.Series":
    """Did the conversions keep the colours? For each planted file ``prepare`` kept (``DEFECT_SOURCES``), the mean
    CIEDE2000 between the square it stored and the same centre square of the photo the file was made from (the
    photos given to ``plant_defects``, in order): near 0 for a faithful conversion; a CMYK file read with inverted
    channels, or a rotation not applied, would be tens."""
    import pandas as pd
    from PIL import Image
    from skimage.color import deltaE_ciede2000

    from .data.prepare import centre_square

    clean_dir = Path(clean_dir)
    index = pd.read_csv(clean_dir / "index.csv").set_index("source")
    arrays = {split: np.load(clean_dir / f"{split}.npy", mmap_mode="r") for split in SPLITS}
    out = {}
    for name, k in DEFECT_SOURCES.items():
        if name not in index.index:
            continue
        row = index.loc[name]
        stored = np.asarray(arrays[row["split"]][int(row["row"])], dtype=np.float32) / 255
        truth = centre_square(Image.open(photos[k]).convert("RGB"), stored.shape[0]).astype(np.float32) / 255
        out[name] = float(deltaE_ciede2000(color.rgb_to_lab(stored), color.rgb_to_lab(truth), channel_axis=-1).mean())
    return pd.Series(out, name="CIEDE2000 medio frente a la foto de origen")


def defect_verdicts(report: dict) -> "pd.DataFrame":
    """``prepare``'s report on a folder made by ``plant_defects``: for each file, what it is, what was expected and
    what ``prepare`` did (set aside and why, or converted from which mode, or kept as is)."""
    import pandas as pd

    done: dict[str, str] = {}
    for reason, items in report["rejected"].items():
        for item in items:
            done[item["file"]] = reason
    for mode, files in report["converted"].items():
        for name in files:
            done.setdefault(name, mode)
    rows = [{"archivo": name, "qué es": what, "esperado": expected, "prepare": done.get(name, "conservada")}
            for name, (what, expected) in DEFECTS.items()]
    return pd.DataFrame(rows).set_index("archivo")
