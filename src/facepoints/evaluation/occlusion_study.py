"""Robustness and uncertainty under synthetic occlusion: a model on a test list and on its
occluded copy (``datasets.occlusion``), with NME on both and, for models that estimate sigma,
how sigma relates to occlusion and to error (``metrics.uncertainty.sigma_report``)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..datasets.image_list import read_image_list
from ..datasets.occlusion import read_occlusion_flags, write_occluded_copy
from ..landmarker import Landmarker
from ..metrics import normaliser
from ..metrics.uncertainty import normalised_point_errors, point_sigma, sigma_report
from ..schemes import LandmarkScheme, get_scheme
from .evaluate import EvaluationResult, evaluate


def occluded_copy(list_path: Path, work_dir: Path, seed: int, progress: bool = True) -> Path:
    """The occluded copy of ``list_path`` under ``work_dir`` (written once per seed; reused after)."""
    folder = work_dir / f"{list_path.stem}_occluded_seed{seed}"
    list_copy = folder / list_path.name
    if list_copy.is_file() and (folder / "occlusion.json").is_file():
        return list_copy
    if progress:
        from tqdm import tqdm

        return write_occluded_copy(list_path, folder, seed, progress=lambda it: tqdm(it, desc="occluding", unit="face"))
    return write_occluded_copy(list_path, folder, seed)


def uncertainty_summary(result: EvaluationResult, targets: np.ndarray, occluded: np.ndarray | None,
                        scheme: LandmarkScheme) -> dict | None:
    """``sigma_report`` on inter-ocular-normalised errors and sigmas (so faces of any size compare);
    ``None`` for models without sigma."""
    if result.sigmas is None:
        return None
    errors = normalised_point_errors(result.predictions, targets, scheme)
    sigma = point_sigma(result.sigmas) / normaliser(targets, scheme)[:, None]
    return sigma_report(errors, sigma, occluded)


def occlusion_study(landmarker: Landmarker, list_path: Path, work_dir: Path, seed: int = 0,
                    threshold: float = 0.08, progress: bool = True) -> dict:
    """Evaluate on the clean list and its occluded copy (ground-truth boxes). Returns a JSON-ready
    dict: per condition the NME summary and, with sigma, the uncertainty summary; on the occluded
    copy also ``sigma_same_point_ratio``: the mean over occluded points of sigma there over the
    same point's sigma on the clean face (isolates occlusion from which point it is)."""
    list_path = Path(list_path)
    copy = occluded_copy(list_path, Path(work_dir), seed, progress)
    flags = read_occlusion_flags(copy.parent)
    clean_records = read_image_list(list_path)
    occ_records = read_image_list(copy)
    occluded = np.stack([flags[r.image_path.relative_to(copy.parent).as_posix()] for r in occ_records])
    out = {"model": landmarker.card.name, "data": str(list_path), "seed": seed,
           "occluded_point_fraction": float(occluded.mean())}
    results = {}
    for name, records, flags_arr in (("clean", clean_records, None), ("occluded", occ_records, occluded)):
        result = evaluate(landmarker, records, threshold=threshold, progress=progress)
        targets = np.stack([r.landmarks for r in records])
        results[name] = result
        out[name] = {"nme": result.overall.to_dict(),
                     "uncertainty": uncertainty_summary(result, targets, flags_arr, get_scheme(records[0].scheme))}
    if results["clean"].sigmas is not None:
        clean_s, occ_s = point_sigma(results["clean"].sigmas), point_sigma(results["occluded"].sigmas)
        out["occluded"]["sigma_same_point_ratio"] = float(np.nanmean(occ_s[occluded] / clean_s[occluded]))
    return out
