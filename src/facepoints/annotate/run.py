"""``annotate``: the images not yet in the output folder, through one engine, into Parquet parts."""
from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass, field
from pathlib import Path

from .inputs import expand_inputs
from .output import done_images, prepare_output, read_output

ENGINES = ("local", "ray")


@dataclass
class AnnotateOptions:
    """``model``: registry name; ``workers``: threads (local) or actors (ray); ``batch_size``:
    images per Ray batch; ``part_size``: images per Parquet part (local) / rows per file (ray)."""

    model: str = "atpn_lite0_68"
    engine: str = "local"
    workers: int = 2
    batch_size: int = 16
    part_size: int = 256
    progress: bool = True

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"unknown engine {self.engine!r}; choose from {', '.join(ENGINES)}")
        for name in ("workers", "batch_size", "part_size"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a whole number >= 1, not {getattr(self, name)!r}")


@dataclass
class AnnotateSummary:
    images: int  # named by INPUT
    skipped: int  # already in the output folder
    annotated: int  # this run
    seconds: float
    broken_parts: list[str] = field(default_factory=list)

    @property
    def images_per_second(self) -> float:
        return self.annotated / self.seconds if self.seconds > 0 else 0.0


def annotate(inputs: str | Path | list[str], out: str | Path, options: AnnotateOptions | None = None) -> AnnotateSummary:
    """Annotate ``inputs`` (see ``expand_inputs``; or a list of image names) into Parquet parts in
    ``out``, skipping images an earlier run wrote there."""
    options = options or AnnotateOptions()
    if importlib.util.find_spec("pyarrow") is None:
        raise ImportError("facepoints annotate writes Parquet with pyarrow: pip install 'facepoints[tables]'")
    images = list(inputs) if isinstance(inputs, list) else expand_inputs(inputs)
    images = [_canonical(i) for i in images]
    out = prepare_output(Path(out))
    done, broken = done_images(out)
    todo = [i for i in dict.fromkeys(images) if i not in done]
    start = time.perf_counter()
    if todo:
        if options.engine == "ray":
            from .ray_engine import run_ray

            run_ray(todo, out, options)
        else:
            from .local_engine import run_local

            with _progress(len(todo), options.progress) as bar:
                run_local(todo, out, options, bar.update)
    return AnnotateSummary(len(images), len(images) - len(todo), len(todo), time.perf_counter() - start, broken)


def _canonical(image: str) -> str:
    """Local paths absolute (a rerun from another folder finds the same names); URLs as given."""
    return image if "://" in image else str(Path(image).absolute())


def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="img", disable=not enabled, desc="annotate")


__all__ = ["annotate", "AnnotateOptions", "AnnotateSummary", "ENGINES", "read_output"]
