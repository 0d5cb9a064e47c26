"""Robustness and uncertainty under synthetic occlusion: a model on a test list and on its
occluded copy (``datasets.occlusion``), with NME on both and, for models that estimate sigma,
how sigma relates to occlusion and to error (``metrics.uncertainty.sigma_report``)."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from ..datasets.image_list import list_tag, read_image_list
from ..datasets.occluded_copy import read_occlusion_flags, read_occlusion_kinds, write_occluded_copy
from ..datasets.splits import split_records
from ..drawing import plot_sigma_reliability
from ..landmarker import Landmarker
from ..metrics import normaliser, summarise
from ..metrics.uncertainty import normalised_point_errors, point_sigma, sigma_report
from ..models import MEAN_RADIUS_PER_SPREAD
from ..schemes import LandmarkScheme, get_scheme
from .evaluate import EvaluationResult, evaluate


def occluded_copy(list_path: Path, work_dir: Path, seed: int, progress: bool = True, split: str = "all",
                  val_fraction: float = 0.1) -> Path:
    """The occluded copy of ``list_path`` (or of its ``split``) under ``work_dir``, written once per
    seed and split and reused after."""
    part = "" if split == "all" else f"_{split}{val_fraction:g}"
    folder = work_dir / f"{list_tag(list_path)}{part}_occluded_seed{seed}"
    list_copy = folder / list_path.name
    if list_copy.is_file() and (folder / "occlusion.json").is_file():
        return list_copy
    wrap = None
    if progress:
        from tqdm import tqdm

        def wrap(it):
            return tqdm(it, desc="occluding", unit="face")
    return write_occluded_copy(list_path, folder, seed, progress=wrap,
                               select=lambda records: split_records(records, split, val_fraction))


def uncertainty_summary(result: EvaluationResult, targets: np.ndarray, occluded: np.ndarray | None,
                        scheme: LandmarkScheme) -> dict | None:
    """``sigma_report`` on inter-ocular-normalised errors and sigmas (so faces of any size compare);
    ``None`` for models without sigma."""
    if result.sigmas is None:
        return None
    errors = normalised_point_errors(result.predictions, targets, scheme)
    sigma = result.sigmas / normaliser(targets, scheme)[:, None, None]
    return sigma_report(errors, sigma, occluded)


def occlusion_study(landmarker: Landmarker, list_path: Path, work_dir: Path, seed: int = 0,
                    threshold: float = 0.08, progress: bool = True, split: str = "all",
                    val_fraction: float = 0.1, plot: Path | None = None) -> dict:
    """Evaluate on the clean list (or its ``split``) and its occluded copy (ground-truth boxes).
    Returns a JSON-ready dict: per condition the NME summary and, with sigma, the uncertainty
    summary; on the occluded copy also ``by_kind`` (the same per occluder kind) and
    ``sigma_same_point_ratio``: the mean over occluded points of sigma there over the same
    point's sigma on the clean face (isolates occlusion from which point it is). With ``plot``
    and a model with sigma, also writes the sigma reliability PNG there (key ``plot``)."""
    list_path = Path(list_path)
    clean_records = split_records(read_image_list(list_path), split, val_fraction)
    if not clean_records:
        raise ValueError(f"{list_path}: no faces in its {split} split (val_fraction {val_fraction:g})")
    copy = occluded_copy(list_path, Path(work_dir), seed, progress, split, val_fraction)
    occ_records = read_image_list(copy)
    names = [r.image_path.relative_to(copy.parent).as_posix() for r in occ_records]
    flags, kinds = read_occlusion_flags(copy.parent), read_occlusion_kinds(copy.parent)
    occluded = np.stack([flags[n] for n in names])
    scheme = get_scheme(clean_records[0].scheme)
    out = {"model": landmarker.card.name, "data": str(list_path), "split": split, "seed": seed,
           "occluded_point_fraction": float(occluded.mean())}
    results, targets = {}, np.stack([r.landmarks for r in clean_records])
    for name, records, flags_arr in (("clean", clean_records, None), ("occluded", occ_records, occluded)):
        result = evaluate(landmarker, records, threshold=threshold, progress=progress)
        results[name] = result
        out[name] = {"nme": result.overall.to_dict(),
                     "uncertainty": uncertainty_summary(result, targets, flags_arr, scheme)}
    out["occluded"]["by_kind"] = _by_kind(results["occluded"], targets, occluded, [kinds[n] for n in names],
                                          scheme, threshold)
    if results["clean"].sigmas is not None:
        clean_s, occ_s = point_sigma(results["clean"].sigmas), point_sigma(results["occluded"].sigmas)
        out["occluded"]["sigma_same_point_ratio"] = float(np.nanmean(occ_s[occluded] / clean_s[occluded]))
        if plot is not None:
            radius = MEAN_RADIUS_PER_SPREAD.get(landmarker.capabilities.spread or "gaussian", 1.0)
            out["plot"] = str(_plot(results, targets, occluded, scheme, plot, landmarker.card.name, radius))
    return out


def _plot(results: dict[str, EvaluationResult], targets: np.ndarray, occluded: np.ndarray,
          scheme: LandmarkScheme, path: Path, name: str, calibrated: float) -> Path:
    """Sigma reliability PNG: clean faces, and visible / occluded points of the occluded copy."""
    scale = normaliser(targets, scheme)[:, None]
    data = {cond: (normalised_point_errors(r.predictions, targets, scheme), point_sigma(r.sigmas) / scale)
            for cond, r in results.items()}
    (ce, cs), (oe, os_) = data["clean"], data["occluded"]
    groups = {"clean faces": (ce, cs), "occluded copy: visible points": (oe[~occluded], os_[~occluded]),
              "occluded copy: occluded points": (oe[occluded], os_[occluded])}
    return plot_sigma_reliability(groups, path, title=name, calibrated=calibrated)


def _by_kind(result: EvaluationResult, targets: np.ndarray, occluded: np.ndarray, kinds: list[str],
             scheme: LandmarkScheme, threshold: float) -> dict:
    """Per occluder kind: faces, occluded point share, NME summary and uncertainty summary."""
    out = {}
    for kind in sorted(set(kinds)):
        pick = np.array([k == kind for k in kinds])
        sub = replace(result, nme=result.nme[pick], predictions=result.predictions[pick],
                      sigmas=None if result.sigmas is None else result.sigmas[pick])
        out[kind] = {"faces": int(pick.sum()), "occluded_point_fraction": float(occluded[pick].mean()),
                     "nme": summarise(sub.nme, threshold).to_dict(),
                     "uncertainty": uncertainty_summary(sub, targets[pick], occluded[pick], scheme)}
    return out
