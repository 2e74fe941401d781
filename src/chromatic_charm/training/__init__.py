"""Training: the pix2pix step, the loop, checkpoints and MLflow tracking."""
