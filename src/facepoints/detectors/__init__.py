"""Face detectors: a common interface (`FaceDetector`, `Detection`) and a registry.

Lowest layer: imports numpy, cv2, dlib and onnxruntime (lazily) and ``facepoints.geometry`` only.
"""
from .base import Detection, DetectorUnavailableError, FaceDetector
from .registry import (ENTRY_POINT_GROUP, create_detector, default_detector, list_detectors,
                       register_detector, rescan_plugins, unregister_detector)

__all__ = ["Detection", "DetectorUnavailableError", "FaceDetector", "ENTRY_POINT_GROUP",
           "create_detector", "default_detector", "list_detectors", "register_detector",
           "unregister_detector", "rescan_plugins", "DlibHogDetector", "OpenCVHaarDetector",
           "BlazeFaceDetector"]


def __getattr__(name: str):  # the detector classes, imported on first use
    if name == "DlibHogDetector":
        from .dlib_hog import DlibHogDetector
        return DlibHogDetector
    if name == "OpenCVHaarDetector":
        from .opencv_haar import OpenCVHaarDetector
        return OpenCVHaarDetector
    if name == "BlazeFaceDetector":
        from .blazeface import BlazeFaceDetector
        return BlazeFaceDetector
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
