"""facepoints: robust, reliable facial landmark detection.

>>> import facepoints
>>> lm = facepoints.Landmarker()            # default model and face detector
>>> faces = lm("portrait.jpg")              # list[facepoints.Face], never None
>>> faces[0].landmarks                      # (68, 2) float32, 0-based pixels
"""
from .landmarker import Landmarker
from .registry import create_model, get_card, list_models
from .results import Face
from .schemes import LandmarkScheme, get_scheme, list_schemes

__all__ = ["Landmarker", "Face", "LandmarkScheme", "create_model", "get_card", "get_scheme", "list_models",
           "list_schemes"]
__version__ = "0.1.0"
