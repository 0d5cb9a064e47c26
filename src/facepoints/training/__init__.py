"""Training: configs, losses, the resumable training loop."""
