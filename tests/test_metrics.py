"""FID maths against an independent NumPy/SciPy computation, with a small feature network
(the TF-FID Inception weights cannot be downloaded here), and the colour metrics."""

import numpy as np
import pytest
import scipy.linalg
import torch

from chromatic_charm.errors import UserError
from chromatic_charm.metrics import FID, colourfulness, find_fid_weights, fid_weights_help, psnr_ssim, to_uint8_images


class SmallFeatures(torch.nn.Module):
    """uint8 (B, 3, H, W) -> (B, 16) features; fixed random weights."""

    def __init__(self):
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 4, 5, stride=4)
        with torch.no_grad():
            self.conv.weight.copy_(torch.randn(self.conv.weight.shape, generator=generator) * 0.2)
            self.conv.bias.zero_()

    def forward(self, x):
        x = x.to(self.conv.weight.dtype) / 255
        return torch.nn.functional.adaptive_avg_pool2d(torch.tanh(self.conv(x)), 2).flatten(1)


def reference_fid(f1: np.ndarray, f2: np.ndarray) -> float:
    mu1, mu2 = f1.mean(0), f2.mean(0)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def images(n, seed, hi=256):
    return torch.randint(0, hi, (n, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def test_fid_matches_numpy_scipy():
    net = SmallFeatures()
    real, fake = images(300, 1), images(300, 2, hi=180)  # darker fakes: a clearly positive distance
    fid = FID(feature=net)
    fid.update(real, real=True)
    fid.update(fake, real=False)
    with pytest.warns(UserWarning, match="biased"):
        result = fid.compute()
    with torch.no_grad():
        expected = reference_fid(net(real).double().numpy(), net(fake).double().numpy())
    assert result.samples == 300 and expected > 0.01
    assert result.value == pytest.approx(expected, rel=1e-6)


def test_identical_sets_give_zero_never_negative():
    fid = FID(feature=SmallFeatures())
    same = images(100, 3)
    fid.update(same, real=True)
    fid.update(same, real=False)
    with pytest.warns(UserWarning):
        result = fid.compute()
    assert 0.0 <= result.value < 1e-6


def test_uint8_and_float_inputs_give_the_same_fid():
    real, fake = images(64, 4), images(64, 5)
    values = []
    for convert in (lambda x: x, lambda x: x.float() / 255):
        fid = FID(feature=SmallFeatures())
        fid.update(convert(real), real=True)
        fid.update(convert(fake), real=False)
        with pytest.warns(UserWarning):
            values.append(fid.compute().value)
    assert values[0] == pytest.approx(values[1], rel=1e-9)


def test_out_of_range_inputs_are_rejected():
    with pytest.raises(ValueError, match=r"float images must be in \[0, 1\]"):
        to_uint8_images(torch.rand(2, 3, 8, 8) * 255)
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        to_uint8_images(torch.rand(2, 1, 8, 8))


def test_fewer_than_two_samples_is_an_error():
    fid = FID(feature=SmallFeatures())
    fid.update(images(1, 6), real=True)
    fid.update(images(1, 7), real=False)
    with pytest.raises(UserError, match="at least 2"):
        fid.compute()


def test_missing_inception_weights_say_which_file_and_where(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.delenv("CHROMATIC_CHARM_FID_WEIGHTS", raising=False)
    assert find_fid_weights() is None
    with pytest.raises(UserError) as err:
        FID()
    message = str(err.value)
    assert "weights-inception-2015-12-05-6726825d.pth" in message and str(tmp_path / "hub" / "checkpoints") in message
    assert "--fid-weights" in message and message == fid_weights_help()


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


def test_a_named_weights_file_that_does_not_exist_is_an_error(tmp_path):
    with pytest.raises(UserError, match="--fid-weights points to .* which is not a file"):
        FID(weights_path=tmp_path / "typo.pth")


def test_our_weights_url_is_torch_fidelitys():
    from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

    from chromatic_charm.metrics import FID_WEIGHTS_URL

    assert FID_WEIGHTS_URL == URL_INCEPTION_V3


@pytest.mark.slow
def test_the_inception_path_runs_from_a_local_weights_file(tmp_path, monkeypatch):
    # The real TF-FID weights cannot be downloaded here. A file of the same architecture with
    # random weights exercises the real code path (file lookup, torchmetrics' Inception, 2048
    # features, float64 statistics); the value itself means nothing.
    from unittest import mock

    import torch_fidelity.feature_extractor_inceptionv3 as fe

    from chromatic_charm.metrics import FID_WEIGHTS_FILE

    with mock.patch.object(fe, "load_state_dict_from_url", lambda *a, **k: None), \
            mock.patch.object(torch.nn.Module, "load_state_dict", lambda self, *a, **k: None):
        network = fe.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    hub = tmp_path / "hub"
    (hub / "checkpoints").mkdir(parents=True)
    torch.save(network.state_dict(), hub / "checkpoints" / FID_WEIGHTS_FILE)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(hub))
    assert find_fid_weights() == hub / "checkpoints" / FID_WEIGHTS_FILE  # found in torch's cache
    fid = FID()
    assert fid.metric.inception.features_list == ["2048"]
    fid.update(images(4, 8), real=True)
    fid.update(images(4, 9), real=False)
    with pytest.warns(UserWarning, match="biased"):
        result = fid.compute()
    assert result.samples == 4 and result.value >= 0


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
