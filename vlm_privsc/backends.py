"""Every stage's backends, by the name configs use, and where each one lives.

One table per stage: ``"name" -> "module:attr"``. The registries are lazy
(:class:`~vlm_privsc.registry.Registry`): a backend's module is imported the first time it
is named, so importing a stage imports none of its backends, a hub backend (Grounding DINO,
SAM, CLIP, Stable Diffusion) lives in its stage's package beside the offline ones, and a
backend whose optional packages are missing fails with one line when a config names it.
The database loader checks detector names and parameters against :data:`DETECTORS`
without importing the guard.

Channels, JSCC models and privacy schemes are small pure-torch modules that their stage
packages register when imported (``@REGISTRY.register``).
"""

from __future__ import annotations

from typing import Any

from vlm_privsc.registry import Registry

# The registries sit below the stages they list (the database loader and every stage read
# them), so they are typed loosely here; each stage's typed constructor (``build_detector``,
# ``build_matcher``, ...) returns its stage type.

DETECTORS: Registry[Any] = Registry(
    "detector",
    {
        "yunet": "vlm_privsc.guard.detectors.faces:YuNetFaceDetector",
        "mtcnn": "vlm_privsc.guard.detectors.faces:MTCNNFaceDetector",
        "mediapipe_face": "vlm_privsc.guard.detectors.faces:MediaPipeFaceDetector",
        "ppocr_text": "vlm_privsc.guard.detectors.text:PPOCRTextDetector",
        "plate_text": "vlm_privsc.guard.detectors.plates:TextPlateDetector",
        "plate_cascade": "vlm_privsc.guard.detectors.plates:CascadePlateDetector",
        "plate_cascade_ocr": "vlm_privsc.guard.detectors.plates:CascadeOCRPlateDetector",
        "selfie_segmentation": "vlm_privsc.guard.detectors.people:SelfieSegmentationDetector",
        "hog_people": "vlm_privsc.guard.detectors.people:HOGPeopleDetector",
        # hub (local weights; transformers)
        "owlv2": "vlm_privsc.guard.detectors.grounded:Owlv2Detector",
        "grounding_dino": "vlm_privsc.guard.detectors.grounded:GroundingDinoDetector",
    },
)
"""Grounded detectors of the privacy guard (:mod:`vlm_privsc.guard.detectors`)."""

SEGMENTERS: Registry[Any] = Registry(
    "segmenter",
    {
        # hub (local weights; segment-anything / transformers)
        "sam": "vlm_privsc.guard.sam:SamSegmenter",
        "sam_hf": "vlm_privsc.guard.sam:SamHFSegmenter",
    },
)
"""Box-prompted segmenters that refine the guard's masks."""

EMBEDDERS: Registry[Any] = Registry(
    "text embedder",
    {
        "minilm": "vlm_privsc.semantics.minilm:MiniLMEmbedder",
        # hub (local weights; open_clip)
        "clip": "vlm_privsc.semantics.clip:ClipTextEmbedder",
    },
)
"""Text embedders of the semantic channel."""

INPAINTERS: Registry[Any] = Registry(
    "inpainter",
    {
        "pushpull": "vlm_privsc.inpaint.pushpull:PushPullInpainter",
        "telea": "vlm_privsc.inpaint.opencv:TeleaInpainter",
        "ns": "vlm_privsc.inpaint.opencv:NavierStokesInpainter",
        "patchmatch": "vlm_privsc.inpaint.generative:PatchMatchInpainter",
        "flat": "vlm_privsc.inpaint.generative:FlatInpainter",
        "blank": "vlm_privsc.inpaint.generative:BlankInpainter",
        "generative": "vlm_privsc.inpaint.generative:GenerativeInpainter",
        "face_gan": "vlm_privsc.inpaint.face_gan:FaceGANInpainter",
        # hub (local weights; diffusers)
        "sd": "vlm_privsc.inpaint.diffusion:StableDiffusionInpainter",
    },
)
"""The receivers' generators of removed regions (:mod:`vlm_privsc.inpaint`)."""

MATCHERS: Registry[Any] = Registry(
    "identity matcher",
    {
        "sface": "vlm_privsc.identity.sface:SFaceMatcher",
        "facenet": "vlm_privsc.identity.facenet:FaceNetMatcher",
        "dlib": "vlm_privsc.identity.dlib_resnet:DlibMatcher",
    },
)
"""Face matchers that measure identity leakage (:mod:`vlm_privsc.identity`)."""
