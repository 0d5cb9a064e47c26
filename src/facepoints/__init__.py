"""facepoints: robust, reliable facial landmark detection.

>>> import facepoints
>>> lm = facepoints.Landmarker()            # default model and face detector
>>> faces = lm("portrait.jpg")              # list[facepoints.Face], never None
>>> faces[0].landmarks                      # (68, 2) float32, 0-based pixels

The names below are imported on first use, so ``import facepoints`` is quick and never loads
OpenCV or PyTorch (inference needs no PyTorch at all: it runs in ONNX Runtime).
"""
from importlib import import_module
from typing import TYPE_CHECKING

__all__ = ["Landmarker", "Face", "ImageResult", "LandmarkScheme", "create_model", "get_card", "get_scheme", "list_models",
           "list_schemes", "to_dataframe"]
__version__ = "0.1.0"

#: public name -> module that defines it
_LAZY = {"Landmarker": ".landmarker", "Face": ".results", "ImageResult": ".results", "LandmarkScheme": ".schemes", "get_scheme": ".schemes",
         "list_schemes": ".schemes", "create_model": ".registry", "get_card": ".registry", "list_models": ".registry",
         "to_dataframe": ".tables.frame"}

if TYPE_CHECKING:
    from .landmarker import Landmarker
    from .registry import create_model, get_card, list_models
    from .results import Face, ImageResult
    from .schemes import LandmarkScheme, get_scheme, list_schemes
    from .tables.frame import to_dataframe


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
