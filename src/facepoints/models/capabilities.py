"""What each network declares it provides (outputs, plane-point prompting, coarse-to-fine stages,
the spread of its sigma), read from its config without PyTorch. The runtime, the ONNX export, the
``Landmarker`` facade and the trainer read this instead of probing a network for methods.

Adding an architecture: write its ``<name>_capabilities(config)`` here and add it to ``DECLARED``;
the network class's ``capabilities`` property returns ``capabilities(<name>, its config)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

#: every named network output, in the order the ONNX files list them (``landmarks`` first).
#: ``face_prob`` is the face-confidence branch's output (``Face.confidence``; the ATPN config field
#: that adds the branch is ``tracking``, after the thesis's tracking stage)
OUTPUT_NAMES = ("landmarks", "pose", "face_prob", "sigma")
FACE_CONFIDENCE = "face_prob"


@dataclass(frozen=True)
class Capabilities:
    """A network's declared interface.

    ``outputs``: its named outputs (``OUTPUT_NAMES`` order; only ``landmarks``: a plain forward);
    ``takes_points``: it locates any plane points (``forward_points``, TUFA); ``stages``: the
    coarse-to-fine stages it runs by default (``set_inference_stages`` picks 1 to this), ``None``
    for a single pass; ``spread``: the distribution its ``sigma`` output is the scale of."""

    outputs: tuple[str, ...] = ("landmarks",)
    takes_points: bool = False
    stages: int | None = None
    spread: str | None = None

    @property
    def multitask(self) -> bool:
        """Whether it has outputs besides the landmarks (``forward_multitask`` gives them by name)."""
        return self.outputs != ("landmarks",)


def _outputs(*present: str) -> tuple[str, ...]:
    return tuple(name for name in OUTPUT_NAMES if name == "landmarks" or name in present)


#: ATPN's landmark heads (``ATPNConfig.head``): the thesis' regression of residuals to the mean
#: shape, SimCC bins per axis (``models.atpn_simcc``) or stride-4 heatmaps with a soft-argmax
#: (``models.atpn_heatmap``); all give the same outputs
ATPN_HEADS = ("regression", "simcc", "heatmap")


def atpn_capabilities(config: Mapping) -> Capabilities:
    """ATPN: landmarks, plus head pose and face confidence when trained with those branches."""
    return Capabilities(_outputs(*(["pose"] if config.get("pose") else []),
                                 *([FACE_CONFIDENCE] if config.get("tracking") else [])))


def dslpt_capabilities(config: Mapping) -> Capabilities:
    """DSLPT / SLPT: coarse-to-fine stages; a per-point sigma unless ``distribution`` is ``none``."""
    spread = str(config.get("distribution", "gaussian"))
    return Capabilities(_outputs("sigma") if spread != "none" else ("landmarks",),
                        stages=int(config.get("stages", 3)), spread=None if spread == "none" else spread)


def tufa_capabilities(config: Mapping) -> Capabilities:
    """TUFA: prompted by plane points; coarse-to-fine only with local refinement stages."""
    refine = int(config.get("refine_stages", 0))
    return Capabilities(takes_points=True, stages=1 + refine if refine else None)


#: architecture name -> its declaration
DECLARED: dict[str, Callable[[Mapping], Capabilities]] = {
    "atpn": atpn_capabilities, "dslpt": dslpt_capabilities, "tufa": tufa_capabilities}


def capabilities(architecture: str, config: Mapping) -> Capabilities:
    """The declared capabilities of a network of ``architecture`` built from ``config`` (a card's or
    checkpoint's config dict); ``KeyError`` naming the known architectures otherwise."""
    if architecture not in DECLARED:
        raise KeyError(f"unknown architecture {architecture!r}; known: {', '.join(DECLARED)}")
    return DECLARED[architecture](config)
