"""Image-quality metrics for colourisation: FID, colourfulness, CIEDE2000, PSNR, SSIM.

FID is torchmetrics' ``FrechetInceptionDistance`` with the TF-FID Inception weights (those of the
original FID paper, as packaged by torch-fidelity), features accumulated in float64. It is a
squared distance between two Gaussians, so it is never negative; a negative value can only be float
noise around 0 (identical feature sets), which is clamped to 0 with a warning, never silently.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .errors import UserError

FID_WEIGHTS_ENV = "CHROMATIC_CHARM_FID_WEIGHTS"
FID_WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"
FID_WEIGHTS_URL = (
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/" + FID_WEIGHTS_FILE
)
MIN_UNBIASED_SAMPLES = 2048
NOISE_TOLERANCE = 1e-3  # |negative FID| up to this is float noise around 0


@dataclass(frozen=True)
class FIDResult:
    value: float | None  # None: not computed (see ``reason``)
    samples: int
    reason: str = ""  # why it was not computed, or a note (clamped noise, biased sample count)


def find_fid_weights(path: str | Path | None = None) -> Path | None:
    """The Inception weights file: ``path``, ``$CHROMATIC_CHARM_FID_WEIGHTS`` or torch's hub cache.

    A path the user names must exist: a typo must not quietly turn FID off."""
    for named, what in ((path, "--fid-weights"), (os.environ.get(FID_WEIGHTS_ENV), FID_WEIGHTS_ENV)):
        if named:
            if not Path(named).is_file():
                raise UserError(f"{what} points to '{named}', which is not a file; {fid_weights_help()}")
            return Path(named)
    candidates = []
    candidates.append(Path(torch.hub.get_dir()) / "checkpoints" / FID_WEIGHTS_FILE)
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def fid_weights_help() -> str:
    cache = Path(torch.hub.get_dir()) / "checkpoints" / FID_WEIGHTS_FILE
    return (f"FID needs the Inception weights file {FID_WEIGHTS_FILE}: download {FID_WEIGHTS_URL} and put it at "
            f"{cache}, or pass --fid-weights PATH (or set {FID_WEIGHTS_ENV})")


def download_fid_weights(url: str = FID_WEIGHTS_URL, dest: str | Path | None = None, timeout: float = 30) -> Path:
    """Fetch the Inception weights into torch's hub cache (where ``find_fid_weights`` looks), once.

    For machines with a network (Colab, a workstation); offline it raises a UserError saying what
    to download and where to put it. The file is written under a temporary name and renamed, so an
    interrupted download never leaves a truncated weights file behind."""
    import shutil
    import urllib.request

    dest = Path(dest) if dest else Path(torch.hub.get_dir()) / "checkpoints" / FID_WEIGHTS_FILE
    if dest.is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
            shutil.copyfileobj(response, out, 1 << 20)
        os.replace(partial, dest)
    except OSError as exc:  # URLError, timeouts and disk errors are all OSErrors
        partial.unlink(missing_ok=True)
        raise UserError(f"could not download the FID weights from {url} ({exc}); {fid_weights_help()}") from None
    return dest


def to_uint8_images(images: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) uint8 in [0, 255], or float in [0, 1] -> uint8; anything else is an error."""
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images must be (B, 3, H, W), got {tuple(images.shape)}")
    if images.dtype == torch.uint8:
        return images
    if not images.is_floating_point():
        raise ValueError(f"images must be uint8 or float, got {images.dtype}")
    lo, hi = images.min().item(), images.max().item()
    if lo < -1e-6 or hi > 1 + 1e-6:
        raise ValueError(f"float images must be in [0, 1], got values in [{lo:.3g}, {hi:.3g}]")
    return (images.clamp(0, 1) * 255).round().to(torch.uint8)


class FID:
    """Accumulates real and generated images, then returns the Frechet distance of their features.

    ``feature``: 2048 for the standard Inception pool features, or any module mapping uint8
    (B, 3, H, W) to (B, D) features (tests use a small one).
    """

    def __init__(self, feature: int | torch.nn.Module = 2048, weights_path: str | Path | None = None,
                 device: str | torch.device = "cpu"):
        from torchmetrics.image.fid import FrechetInceptionDistance

        kwargs = {}
        if isinstance(feature, int):
            weights = find_fid_weights(weights_path)
            if weights is None:
                raise UserError(fid_weights_help())
            kwargs["feature_extractor_weights_path"] = str(weights)
        # torchmetrics keeps the feature sums and covariances in float64 already; set_dtype would
        # also turn the feature network to float64, for no gain in the statistics.
        self.metric = FrechetInceptionDistance(feature=feature, normalize=False, **kwargs).to(device)
        self.device = device

    def update(self, images: torch.Tensor, real: bool) -> None:
        self.metric.update(to_uint8_images(images).to(self.device), real=real)

    def compute(self) -> FIDResult:
        n_real, n_fake = int(self.metric.real_features_num_samples), int(self.metric.fake_features_num_samples)
        n = min(n_real, n_fake)
        if n < 2:
            raise UserError(f"FID needs at least 2 real and 2 generated images, got {n_real} and {n_fake}")
        value = float(self.metric.compute())
        note = ""
        if value < 0:
            if value < -NOISE_TOLERANCE:
                raise RuntimeError(f"FID came out as {value}: a bug, since a squared distance is never negative")
            note = f"clamped float noise {value:.2e} to 0"
            warnings.warn(f"FID: {note}", stacklevel=2)
            value = 0.0
        if n < MIN_UNBIASED_SAMPLES:
            bias = f"only {n} samples (< {MIN_UNBIASED_SAMPLES}): FID is biased upwards, compare only at equal counts"
            warnings.warn(bias, stacklevel=2)
            note = f"{note}; {bias}" if note else bias
        return FIDResult(value, n, note)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The Frechet distance between Gaussians fitted to two feature sets (N, D), in float64: FID's
    formula, |mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)), without the Inception network.

    It is the squared 2-Wasserstein distance between the two Gaussians, hence >= 0, and 0 only when
    means and covariances agree. Used by the report to show that, and by the tests as a reference."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    # Tr((S_a S_b)^(1/2)) is the sum of the square roots of the eigenvalues of S_a S_b, which are real
    # and >= 0 for covariances; this is more accurate than a general matrix square root (sqrtm).
    eigenvalues = np.linalg.eigvals(s_a @ s_b).real.clip(min=0)
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a) + np.trace(s_b) - 2.0 * np.sqrt(eigenvalues).sum())


def colourfulness(images: torch.Tensor) -> torch.Tensor:
    """Hasler and Suesstrunk (2003) colourfulness per image; (B, 3, H, W) in [0, 1] -> (B,).

    rg = R - G, yb = (R + G) / 2 - B on a 0-255 scale; M = sigma_rgyb + 0.3 * mu_rgyb.
    """
    x = images.double() * 255.0
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    rg, yb = (r - g).flatten(1), (0.5 * (r + g) - b).flatten(1)
    sigma = torch.sqrt(rg.var(dim=1, unbiased=False) + yb.var(dim=1, unbiased=False))
    mu = torch.sqrt(rg.mean(dim=1) ** 2 + yb.mean(dim=1) ** 2)
    return sigma + 0.3 * mu


def ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference per pixel (scikit-image's implementation); Lab arrays (..., 3)."""
    from skimage.color import deltaE_ciede2000

    return deltaE_ciede2000(lab1, lab2, channel_axis=-1)


def psnr_ssim(pred: torch.Tensor, target: torch.Tensor) -> tuple[float, float]:
    """Mean PSNR (dB) and SSIM over a batch of (B, 3, H, W) images in [0, 1]."""
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

    psnr = peak_signal_noise_ratio(pred.float(), target.float(), data_range=1.0, reduction="none", dim=(1, 2, 3))
    ssim = structural_similarity_index_measure(pred.float(), target.float(), data_range=1.0, reduction="none")
    return float(psnr.mean()), float(ssim.mean())
