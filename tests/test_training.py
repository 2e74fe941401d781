"""Training: the step lowers the loss, resume reproduces an uninterrupted run, bad config is caught."""

import copy
import functools
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pytest
import torch

from chromatic_charm.data.dataset import ArraySplit, EpochBatchSampler, random_crop_boxes, to_model_batch
from chromatic_charm.errors import ConfigError, UserError
from chromatic_charm.training import checkpoint
from chromatic_charm.training.config import TrainConfig
from chromatic_charm.training.loop import build_networks, seed_everything, train
from chromatic_charm.training.step import train_step


def test_steps_on_a_fixed_batch_lower_the_loss(tiny_config, clean_data):
    seed_everything(0)
    nets, *_ = build_networks(tiny_config, torch.device("cpu"))
    lightness, ab = to_model_batch(ArraySplit(clean_data, "train")[list(range(8))], image_size=32, device="cpu")
    losses = [{k: v.item() for k, v in train_step(nets, lightness, ab).items()} for _ in range(60)]
    assert set(losses[0]) == {"loss_G_GAN", "loss_G_L1", "loss_D_real", "loss_D_fake"}
    assert all(v >= 0 for step in losses for v in step.values())
    assert losses[-1]["loss_G_L1"] < 0.7 * losses[0]["loss_G_L1"]


def test_l1_only_warmup_leaves_the_discriminator_alone(tiny_config, clean_data):
    nets, *_ = build_networks(tiny_config, torch.device("cpu"))
    before = [p.clone() for p in nets.discriminator.parameters()]
    lightness, ab = to_model_batch(ArraySplit(clean_data, "train")[list(range(8))], image_size=32, device="cpu")
    losses = train_step(nets, lightness, ab, l1_only=True)
    assert losses["loss_G_GAN"].item() == 0 and losses["loss_D_real"].item() == 0
    assert all(torch.equal(a, b) for a, b in zip(before, nets.discriminator.parameters()))


def test_augmentation_crops_flips_and_is_reproducible(clean_data):
    images = ArraySplit(clean_data, "train")[list(range(8))]
    a = to_model_batch(images, image_size=24, device="cpu", augment=True, load_size=32,
                       generator=torch.Generator().manual_seed(1))
    b = to_model_batch(images, image_size=24, device="cpu", augment=True, load_size=32,
                       generator=torch.Generator().manual_seed(1))
    c = to_model_batch(images, image_size=24, device="cpu", augment=True, load_size=32,
                       generator=torch.Generator().manual_seed(2))
    assert a[0].shape == (8, 1, 24, 24) and a[1].shape == (8, 2, 24, 24)
    assert torch.equal(a[0], b[0]) and not torch.equal(a[0], c[0])


@pytest.mark.parametrize("scale", [(0.1, 1.0), (0.25, 1.0), (0.5, 0.5), (1.0, 1.0)])
def test_crop_scale_boxes_keep_their_area_and_aspect_inside_the_photo(scale):
    boxes = random_crop_boxes(4000, 256, scale, generator=torch.Generator().manual_seed(0))
    top, left, h, w = boxes.T.double()
    area = h * w / 256 ** 2
    # the area is drawn in [min, max]; rounding each side to whole pixels moves it by < 1 px a side
    slack = 2 * 256 / 256 ** 2 + 1e-9
    assert area.min() >= scale[0] - slack and area.max() <= scale[1] + slack
    if scale[1] > scale[0]:  # uniform in area: both ends of the range are reached
        assert area.min() < scale[0] + 0.02 and area.max() > scale[1] - 0.02
    ratio = w / h
    assert ratio.min() >= 0.74 and ratio.max() <= 1.35  # 3:4 to 4:3, a pixel's rounding aside
    assert top.min() >= 0 and left.min() >= 0 and (top + h).max() <= 256 and (left + w).max() <= 256
    if scale == (1.0, 1.0):  # the whole photo is the only box of its area
        assert (boxes == torch.tensor([0, 0, 256, 256])).all()


def test_crop_scale_batches_have_the_model_size_and_a_seed_reproduces_them(clean_data):
    images = ArraySplit(clean_data, "train")[list(range(8))]  # 32-px photos

    def batch(seed, scale=(0.1, 1.0)):
        return to_model_batch(images, image_size=24, device="cpu", augment=True, crop_scale=scale,
                              generator=torch.Generator().manual_seed(seed))

    a, b, c = batch(1), batch(1), batch(2)
    assert a[0].shape == (8, 1, 24, 24) and a[1].shape == (8, 2, 24, 24)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and not torch.equal(a[0], c[0])
    # a crop of the whole area, resized, is the whole photo resized (or its mirror image)
    whole = to_model_batch(images, image_size=24, device="cpu")[0]
    full = batch(1, (1.0, 1.0))[0]
    assert all(torch.allclose(f, w, atol=1e-5) or torch.allclose(f, w.flip(-1), atol=1e-5) for f, w in zip(full, whole))
    # under DDP each rank's share gets the crops a single process would have given it
    shards = [to_model_batch(images[r::2], image_size=24, device="cpu", augment=True, crop_scale=(0.1, 1.0),
                             generator=torch.Generator().manual_seed(1), shard=(r, 2))[0] for r in range(2)]
    assert torch.equal(shards[0], a[0][0::2]) and torch.equal(shards[1], a[0][1::2])


def test_crop_scale_is_checked_and_replaces_the_jitter(tmp_path, clean_data):
    with pytest.raises(ConfigError, match="0 < MIN <= MAX <= 1"):
        TrainConfig(crop_scale=(0.5, 0.1))
    with pytest.raises(ConfigError, match="0 < MIN <= MAX <= 1"):
        TrainConfig(crop_scale=(0.0, 1.0))
    with pytest.raises(ConfigError, match="give one of --load-size and --crop-scale"):
        TrainConfig(image_size=128, load_size=143, crop_scale=(0.25, 1.0))
    assert TrainConfig(crop_scale=[0.25, 1]).crop_scale == (0.25, 1.0)  # a list, from the CLI or a JSON file


def test_epoch_sampler_shuffles_reproducibly_and_resumes_mid_epoch():
    full = list(EpochBatchSampler(20, 4, seed=3, epoch=0))
    assert len(full) == 5 and sorted(sum(full, [])) == list(range(20))
    assert full == list(EpochBatchSampler(20, 4, seed=3, epoch=0))
    assert full != list(EpochBatchSampler(20, 4, seed=3, epoch=1))
    assert list(EpochBatchSampler(20, 4, seed=3, epoch=0, start_batch=3)) == full[3:]
    shards = [list(EpochBatchSampler(20, 2, seed=3, epoch=0, rank=r, world_size=2)) for r in range(2)]
    assert [sorted(a + b) for a, b in zip(*shards)] == [sorted(x) for x in full]


@pytest.mark.parametrize("crop_scale", [None, (0.1, 1.0)], ids=["jitter", "crop-scale"])
def test_resume_reproduces_an_uninterrupted_run(tiny_config, tmp_path, crop_scale):
    # 48 train images, batch 8: 6 steps per epoch; stop mid-epoch at step 4, then go on to step 8.
    tiny_config = replace(tiny_config, crop_scale=crop_scale)
    straight = train(replace(tiny_config, epochs=2, max_steps=8, checkpoint_dir=str(tmp_path / "a")), progress=False)
    part = train(replace(tiny_config, epochs=2, max_steps=4, checkpoint_dir=str(tmp_path / "b")), progress=False)
    mid = checkpoint.load(part.checkpoint)
    assert (mid["step"], mid["epoch"], mid["batch_in_epoch"]) == (4, 0, 4)
    resumed = train(replace(tiny_config, epochs=2, max_steps=8), resume=tmp_path / "b", progress=False)
    assert resumed.run_id == part.run_id and resumed.steps == 8
    a, b = checkpoint.load(straight.checkpoint), checkpoint.load(resumed.checkpoint)
    for key in ("generator", "discriminator"):
        for name, tensor in a[key].items():
            assert torch.equal(tensor, b[key][name]), f"{key}.{name} differs after resume"
    assert a["opt_g"]["state"][0]["exp_avg"].equal(b["opt_g"]["state"][0]["exp_avg"])
    assert TrainConfig(**b["train_config"]).crop_scale == crop_scale  # the checkpoint says how it was cropped


def test_checkpoint_rebuilds_the_generator_from_the_file_alone(tiny_config):
    result = train(replace(tiny_config, max_steps=2), progress=False)
    generator = checkpoint.load_generator(result.checkpoint)
    assert generator(torch.zeros(1, 1, 32, 32)).shape == (1, 2, 32, 32)


def test_bad_checkpoints_and_data_are_user_errors(tmp_path, tiny_config):
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="not a readable checkpoint"):
        checkpoint.load(tmp_path / "junk.pt")
    with pytest.raises(UserError, match="nothing to resume"):
        checkpoint.find_resume(None, tmp_path / "none")
    with pytest.raises(UserError, match="run `chromatic-charm prepare` first"):
        train(replace(tiny_config, data_dir=str(tmp_path / "empty")), progress=False)
    with pytest.raises(UserError, match="not divisible by 32"):
        train(replace(tiny_config, image_size=48), progress=False)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        TrainConfig(batch_size=0)


def test_checkpoint_write_is_atomic(tmp_path):
    path = checkpoint.save_atomic({"format": checkpoint.FORMAT, "x": torch.ones(3)}, tmp_path / "run" / "last.pt")
    assert checkpoint.load(path)["x"].sum().item() == 3
    assert [p.name for p in path.parent.iterdir()] == ["last.pt"]  # no temporary file left behind


@pytest.mark.slow
def test_sigterm_saves_a_checkpoint_and_resume_finishes(clean_data, tmp_path, isolated_project):
    ckpt = tmp_path / "ckpt"
    cmd = [sys.executable, "-m", "chromatic_charm.cli", "train", "--data", str(clean_data), "--model-size", "tiny",
           "--image-size", "32", "--batch-size", "4", "--epochs", "200", "--device", "cpu", "--workers", "0",
           "--checkpoint-dir", str(ckpt), "--no-progress", "--experiment", "sigterm"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.time() + 120
    for line in proc.stdout:  # wait until training has really started
        if "epoch 1/200" in line or time.time() > deadline:
            break
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "checkpoint saved" in err and "--resume" in err
    state = checkpoint.load(ckpt / "last.pt")
    assert state["step"] > 0
    done = subprocess.run(cmd[:-2] + ["--resume", str(ckpt), "--epochs", "200", "--max-steps", str(state["step"] + 3)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert checkpoint.load(ckpt / "last.pt")["step"] == state["step"] + 3


def test_threaded_loader_yields_the_same_batches_in_the_same_order(clean_data):
    from chromatic_charm.data.dataset import make_loader

    split = ArraySplit(clean_data, "train")
    batches = {}
    for workers in (0, 2):
        sampler = EpochBatchSampler(len(split), 8, seed=5, epoch=1)
        batches[workers] = list(make_loader(split, sampler, num_workers=workers))
    assert len(batches[0]) == 6 and all(b.shape == (8, 32, 32, 3) and b.dtype == torch.uint8 for b in batches[0])
    assert all(torch.equal(a, b) for a, b in zip(batches[0], batches[2]))


def test_fused_adam_takes_the_same_steps_as_the_plain_one(tiny_config, clean_data):
    images = ArraySplit(clean_data, "train")[list(range(8))]
    lightness, ab = to_model_batch(images, image_size=32, device="cpu")
    weights = {}
    for fused in (False, True):
        seed_everything(0)
        nets, *_ = build_networks(replace(tiny_config, fused_adam=fused, dropout=0.0), torch.device("cpu"))
        assert nets.opt_g.defaults["fused"] is (True if fused else None)
        for _ in range(3):
            train_step(nets, lightness, ab)
        weights[fused] = nets.generator.state_dict()
    for name, tensor in weights[False].items():
        assert torch.allclose(tensor.float(), weights[True][name].float(), atol=1e-5, rtol=1e-4), name


@pytest.mark.slow
def test_compiled_training_runs_and_saves_plain_weights(tiny_config, monkeypatch):
    """torch.compile captures the training step and the checkpoint keeps plain weight names (no `_orig_mod.`).
    Compiled with the `aot_eager` backend: Dynamo's capture and AOTAutograd's forward and backward graphs,
    which are what our step's code meets, without Inductor generating and compiling C++ for the CPU (45 s on 2
    cores, and not the kernels a GPU user gets: Inductor makes Triton ones there)."""
    monkeypatch.setattr(torch, "compile", functools.partial(torch.compile, backend="aot_eager"))
    result = train(replace(tiny_config, compile=True, max_steps=3), progress=False)
    state = checkpoint.load(result.checkpoint)
    assert state["step"] == 3 and not any("_orig_mod" in k for k in state["generator"])
    generator = checkpoint.load_generator(result.checkpoint)
    assert torch.isfinite(generator(torch.zeros(1, 1, 32, 32))).all()


def test_init_from_starts_a_new_run_from_another_runs_generator(tiny_config, tmp_path):
    """An adversarial phase after an L1-only run: the generator's weights carried over, a new MLflow run,
    a fresh discriminator and fresh optimisers, and the L1 run's checkpoint left as it was."""
    l1 = train(replace(tiny_config, warmup_epochs=100, max_steps=3, checkpoint_dir=str(tmp_path / "l1")), progress=False)
    l1_state = checkpoint.load(l1.checkpoint)
    seed_everything(0)
    built = build_networks(replace(tiny_config, init_from=str(tmp_path / "l1")), torch.device("cpu"))
    for name, tensor in l1_state["generator"].items():
        assert torch.equal(built.nets.generator.state_dict()[name], tensor), name
    assert not built.nets.opt_g.state  # Adam starts again (its moments belong to the L1 phase)
    seed_everything(0)
    fresh_d = build_networks(tiny_config, torch.device("cpu")).nets.discriminator.state_dict()
    assert all(torch.equal(t, fresh_d[k]) for k, t in built.nets.discriminator.state_dict().items())

    gan = train(replace(tiny_config, init_from=str(l1.checkpoint), lambda_l1=300.0, max_steps=2,
                        checkpoint_dir=str(tmp_path / "gan")), progress=False)
    assert gan.run_id != l1.run_id and gan.steps == 2
    state = checkpoint.load(gan.checkpoint)
    assert state["train_config"]["init_from"] == str(l1.checkpoint)
    assert any(not torch.equal(t, l1_state["generator"][k]) for k, t in state["generator"].items())
    assert checkpoint.load(l1.checkpoint)["step"] == 3


def test_init_from_refuses_another_architecture(tiny_config, tmp_path):
    l1 = train(replace(tiny_config, max_steps=1, checkpoint_dir=str(tmp_path / "l1")), progress=False)
    with pytest.raises(UserError, match="give the checkpoint's model flags"):
        build_networks(replace(tiny_config, init_from=str(l1.checkpoint), ngf=16), torch.device("cpu"))
    with pytest.raises(UserError, match="no checkpoint at"):
        build_networks(replace(tiny_config, init_from=str(tmp_path / "nowhere")), torch.device("cpu"))


def test_colour_rebalancing_weights_rare_colours_up_and_keeps_the_mean_weight_at_one():
    from chromatic_charm.errors import ConfigError
    from chromatic_charm.models.losses import AB_BINS, ab_histogram, rebalance_weights

    rng = np.random.default_rng(0)
    # 90% of the pixels near gray, 10% a saturated blue (a* -10, b* -60).
    ab = np.concatenate([rng.normal(0, 3, (9000, 2)), np.array([-10.0, -60.0]) + rng.normal(0, 3, (1000, 2))])
    counts = ab_histogram(ab)
    assert counts.shape == (AB_BINS, AB_BINS) and counts.sum() == 10000
    p = counts / counts.sum()
    weights = rebalance_weights(counts, 0.5)
    assert (p * weights).sum() == pytest.approx(1.0)
    gray, blue = np.unravel_index(np.argmax(counts), counts.shape), (11 - 1, 11 - 6)
    assert counts[blue] > 0 and weights[blue] > 2 * weights[gray]
    assert np.all(weights[counts == 0] == 0)  # a colour no photo has gets no weight
    plain = rebalance_weights(counts, 0.0)
    assert np.allclose(plain[counts > 0], 1.0)
    assert rebalance_weights(counts, 0.9)[blue] > weights[blue]  # stronger rebalancing, rarer colours weigh more
    with pytest.raises(ConfigError, match=r"\[0, 1\)"):
        rebalance_weights(counts, 1.0)
    with pytest.raises(ConfigError, match="colour_rebalance must be in"):
        TrainConfig(colour_rebalance=1.0)


def test_rebalanced_l1_is_plain_l1_under_equal_weights_and_weighs_each_pixel_by_its_true_colour():
    from chromatic_charm.models.losses import AB_BINS, rebalanced_l1

    real = torch.zeros(1, 2, 2, 2)
    real[0, :, 0, 0] = torch.tensor([-10.0, -60.0]) / 110  # one blue pixel, three gray ones
    fake = torch.full_like(real, 0.1)
    ones = torch.ones(AB_BINS, AB_BINS)
    assert rebalanced_l1(fake, real, ones).item() == pytest.approx(torch.nn.functional.l1_loss(fake, real).item())
    weights = ones.clone()
    weights[10, 5] = 7.0  # the blue pixel's bin
    error = (fake - real).abs()
    expected = (7 * error[0, :, 0, 0].sum() + error[0, :, 0, 1:].sum() + error[0, :, 1].sum()) / error.numel()
    assert rebalanced_l1(fake, real, weights).item() == pytest.approx(expected.item())


def test_a_colour_rebalanced_run_optimises_the_weighted_loss_and_logs_the_plain_one(tiny_config, tmp_path):
    config = replace(tiny_config, colour_rebalance=0.5, warmup_epochs=100)
    built = build_networks(config, torch.device("cpu"))
    assert built.nets.l1_weights is None  # the table comes from the training photos, when the run starts
    result = train(replace(config, max_steps=2, checkpoint_dir=str(tmp_path / "rebal")), progress=False)
    state = checkpoint.load(result.checkpoint)
    assert state["train_config"]["colour_rebalance"] == 0.5
    plain = checkpoint.load(train(replace(config, colour_rebalance=0.0, max_steps=2,
                                          checkpoint_dir=str(tmp_path / "plain")), progress=False).checkpoint)
    assert any(not torch.equal(t, plain["generator"][k]) for k, t in state["generator"].items())
    from chromatic_charm.training.loop import train_colour_histogram
    from chromatic_charm.models.losses import rebalance_weights

    weights = torch.as_tensor(rebalance_weights(train_colour_histogram(ArraySplit(config.data_dir, "train")), 0.5),
                              dtype=torch.float32)
    lightness, ab = to_model_batch(ArraySplit(config.data_dir, "train")[list(range(8))], image_size=32, device="cpu")
    start = copy.deepcopy(built.nets.generator.state_dict())
    after = {}
    for name, table in (("plain", None), ("weighted", weights)):
        seed_everything(0)
        nets = build_networks(config, torch.device("cpu")).nets
        nets.generator.load_state_dict(start)
        nets.l1_weights = table
        torch.manual_seed(1)  # the same dropout masks for both
        losses = train_step(nets, lightness, ab, l1_only=True)
        after[name] = (losses["loss_G_L1"].item(), nets.generator.state_dict())
    assert after["plain"][0] == pytest.approx(after["weighted"][0])  # the logged L1 is the plain one
    assert any(not torch.equal(t, after["weighted"][1][k]) for k, t in after["plain"][1].items())
