"""The ``ray`` engine: a Ray Data pipeline, ``from_items`` (the image names) -> ``map_batches``
with a callable class holding one ``Landmarker`` per actor (it reads each file itself, so one
unreadable file becomes an ``error`` row instead of failing the job) -> ``write_parquet``.
Joins the cluster at ``RAY_ADDRESS`` when set, else starts a local one with ``workers`` CPUs."""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from .reading import annotate_one
from ..tables.rows import to_table

if TYPE_CHECKING:
    import pyarrow as pa

    from .run import AnnotateOptions


class Annotator:
    """Ray Data's callable class: one ``Landmarker`` per actor, a batch of image names in, rows out."""

    def __init__(self, model: str) -> None:
        from ..landmarker import Landmarker

        self.landmarker = Landmarker(model, threads=1)

    def __call__(self, batch: dict) -> pa.Table:
        rows = []
        for image in batch["image"]:
            rows += annotate_one(self.landmarker, str(image))
        return to_table(rows)


def ensure_ray(workers: int) -> None:
    """Connect to ``RAY_ADDRESS``'s cluster, or start a local Ray with ``workers`` CPUs (once per process)."""
    try:
        import ray
    except ImportError:
        raise ValueError("--engine ray needs Ray: pip install 'facepoints[ray]'") from None
    if not ray.is_initialized():
        address = os.environ.get("RAY_ADDRESS")
        kwargs = {"address": address} if address else {"num_cpus": workers, "include_dashboard": False}
        ray.init(log_to_driver=False, **kwargs)


def run_ray(images: list[str], out: Path, options: AnnotateOptions) -> None:
    import ray.data

    ensure_ray(options.workers)
    dataset = ray.data.from_items([{"image": image} for image in images])
    dataset = dataset.map_batches(Annotator, fn_constructor_kwargs={"model": options.model},
                                  batch_size=options.batch_size, num_cpus=1,
                                  compute=ray.data.ActorPoolStrategy(size=options.workers),
                                  batch_format="numpy")
    dataset.write_parquet(str(out), min_rows_per_file=options.part_size)
