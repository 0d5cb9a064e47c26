"""Training: one config tree (``config``: ``load_config``), one resumable loop (``trainer.Trainer``)
and the objectives it runs (landmarks, TUFA, branch stages, few-shot fine-tuning); see
docs/architecture.md, path 2."""
