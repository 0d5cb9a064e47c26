"""Annotating many images into Parquet tables (``facepoints annotate``): one row per face, images
without a face or that cannot be read recorded with a reason, resumable. Engines: ``local``
(threads on this machine) and ``ray`` (a Ray Data pipeline on a local or existing cluster, the
``[ray]`` extra)."""
from __future__ import annotations

from .inputs import expand_inputs
from .run import AnnotateOptions, AnnotateSummary, annotate

__all__ = ["annotate", "AnnotateOptions", "AnnotateSummary", "expand_inputs"]
