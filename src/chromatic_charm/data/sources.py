"""Where raw photos come from: the Kaggle Places365 subset, or any folder.

Both return ``{split or "all": [paths]}``; Kaggle keeps its own train/valid/test split.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from tqdm.auto import tqdm

from ..config import IMAGE_EXTENSIONS, KAGGLE_DATASET, KAGGLE_URL, PLACES_EXPECTED, PLACES_ROOT, PLACES_SPLITS
from ..errors import UserError, first_line


def list_images(folder: Path) -> list[Path]:
    """Every image file under ``folder`` (by extension, hidden files skipped), sorted."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"'{folder}' is not a folder; pass --source kaggle or a folder of photos")
    files = sorted(
        p for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    if not files:
        raise UserError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) under '{folder}'")
    return files


def find_places_root(raw_dir: Path) -> Path | None:
    """The ``val_256`` folder of the Places365 layout: ``raw_dir`` itself or one under it, or None."""
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        return None
    for candidate in [raw_dir, raw_dir / PLACES_ROOT, *sorted(raw_dir.glob(f"**/{PLACES_ROOT}"))]:
        if all((candidate / name).is_dir() for name in PLACES_SPLITS.values()):
            return candidate
    return None


def _extract_archives(raw_dir: Path, progress: bool) -> bool:
    archives = sorted(raw_dir.glob("*.zip"))
    for archive in archives:
        try:
            with zipfile.ZipFile(archive) as zf:
                members = zf.infolist()
                for member in tqdm(members, desc=f"extracting {archive.name}", disable=not progress, unit="file"):
                    zf.extract(member, raw_dir)
        except zipfile.BadZipFile:
            raise UserError(f"'{archive}' is not a valid zip archive (incomplete download?); download it again") from None
    return bool(archives)


def kaggle_credentials_present() -> bool:
    if os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY"):
        return True
    config_dir = Path(os.environ.get("KAGGLE_CONFIG_DIR", Path.home() / ".kaggle"))
    return (config_dir / "kaggle.json").is_file()


def download_places(raw_dir: Path) -> None:
    """Download and unzip the dataset with the official client (it reads the credentials itself)."""
    try:
        from kaggle.api.kaggle_api_extended import KaggleApi  # imported late: `import kaggle` authenticates

        api = KaggleApi()
        api.authenticate()
        api.dataset_download_files(KAGGLE_DATASET, path=str(raw_dir), unzip=True, quiet=False)
    except ImportError:
        raise UserError("the Kaggle client is not installed: pip install kaggle (or the package's [train] extra)") from None
    except Exception as exc:  # network, 401/403, quota: the client raises many types
        detail = first_line(exc)
        raise UserError(f"Kaggle download of {KAGGLE_DATASET} failed ({detail}); check your credentials and "
                        f"network, or download {KAGGLE_URL} by hand into '{raw_dir}'") from None


def locate_places(raw_dir: Path, progress: bool = True, download: bool = True) -> dict[str, list[Path]]:
    """The Places365 subset under ``raw_dir``: found, extracted from a zip there, or downloaded."""
    raw_dir = Path(raw_dir)
    raw_dir.mkdir(parents=True, exist_ok=True)
    root = find_places_root(raw_dir)
    if root is None and _extract_archives(raw_dir, progress):
        root = find_places_root(raw_dir)
    if root is None and not download:
        raise UserError(f"no {PLACES_ROOT}/{{{','.join(PLACES_SPLITS.values())}}} folders under '{raw_dir}'")
    if root is None:
        if not kaggle_credentials_present():
            raise UserError(
                f"Places365 not found in '{raw_dir}' and no Kaggle credentials: download the archive from "
                f"{KAGGLE_URL} and put the zip in '{raw_dir}', or set KAGGLE_USERNAME and KAGGLE_KEY "
                "(or ~/.kaggle/kaggle.json) and run prepare again"
            )
        download_places(raw_dir)
        root = find_places_root(raw_dir)
        if root is None:
            raise UserError(f"the Kaggle download holds no {PLACES_ROOT}/{{{','.join(PLACES_SPLITS.values())}}} "
                            f"folders under '{raw_dir}'; check the dataset at {KAGGLE_URL}")
    splits = {split: list_images(root / folder) for split, folder in PLACES_SPLITS.items()}
    for split, files in splits.items():
        if len(files) != PLACES_EXPECTED[split]:
            print(f"note: {split} has {len(files)} images, the published subset has {PLACES_EXPECTED[split]}")
    return splits

