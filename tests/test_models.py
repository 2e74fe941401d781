"""Generator and discriminator: shapes, ranges, conditioning, builders."""

import pytest
import torch

from chromatic_charm.models import (GANLoss, build_discriminator, build_generator, count_parameters,
                                    init_weights, model_configs)


@pytest.mark.parametrize("size,image", [("tiny", 32), ("small", 128)])
def test_generator_maps_l_to_ab_in_range(size, image):
    gen_cfg, _ = model_configs(size)
    generator = build_generator(gen_cfg)
    init_weights(generator)
    out = generator(torch.rand(2, 1, image, image) * 2 - 1)
    assert out.shape == (2, 2, image, image)
    assert out.min() >= -1 and out.max() <= 1


def test_full_size_matches_unet_256_and_70x70_patchgan():
    gen_cfg, disc_cfg = model_configs("full")
    generator, discriminator = build_generator(gen_cfg), build_discriminator(disc_cfg)
    # pix2pix's unet_256 has 54.4 M parameters and its n_layers=3 PatchGAN 2.77 M (3-channel I/O).
    assert 54.0e6 < count_parameters(generator) < 54.8e6
    assert 2.70e6 < count_parameters(discriminator) < 2.80e6
    with torch.no_grad():
        lightness = torch.zeros(1, 1, 256, 256)
        ab = generator.eval()(lightness)
        logits = discriminator(lightness, ab)
    assert ab.shape == (1, 2, 256, 256)
    assert logits.shape == (1, 1, 30, 30)  # one logit per overlapping 70x70 patch


def test_discriminator_is_conditional_on_the_grayscale_input():
    _, disc_cfg = model_configs("tiny")
    discriminator = build_discriminator(disc_cfg).eval()
    assert discriminator.model[0].in_channels == 3  # L + ab
    ab = torch.rand(1, 2, 32, 32)
    with torch.no_grad():
        a = discriminator(torch.zeros(1, 1, 32, 32), ab)
        b = discriminator(torch.ones(1, 1, 32, 32), ab)
    assert not torch.allclose(a, b)  # the same colours on another photo are judged differently


def test_bad_sizes_and_names_are_clear_errors():
    generator = build_generator(model_configs("tiny")[0])
    with pytest.raises(ValueError, match="not divisible by 32"):
        generator(torch.zeros(1, 1, 48, 48))
    with pytest.raises(ValueError, match="full, small, tiny"):
        model_configs("huge")
    with pytest.raises(ValueError, match="vanilla, lsgan"):
        GANLoss("wgan")


def test_overrides_change_the_architecture():
    gen_cfg, disc_cfg = model_configs("tiny", ngf=4, num_downs=3, n_layers=1)
    assert (gen_cfg.ngf, gen_cfg.num_downs, disc_cfg.n_layers) == (4, 3, 1)
    assert build_generator(gen_cfg)(torch.zeros(1, 1, 8, 8)).shape == (1, 2, 8, 8)


def test_gan_loss_values():
    loss = GANLoss("vanilla")
    assert loss(torch.full((1, 1, 4, 4), 20.0), real=True).item() < 1e-6
    assert loss(torch.zeros(1, 1, 4, 4), real=False).item() == pytest.approx(0.6931, abs=1e-4)
    assert GANLoss("lsgan")(torch.ones(1, 1, 2, 2), real=False).item() == pytest.approx(1.0)
