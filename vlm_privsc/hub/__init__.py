"""Research / hub backends loaded from LOCAL weights (never downloaded unless allowed): the
shared machinery (weights lookup, devices, the availability convention, ``vlmsc models``).

The backends themselves live in their stages' packages and are lazy registry entries
(:mod:`vlm_privsc.backends`): naming one in a preset imports it; importing this package
registers nothing.

==================  =================  =============================================  ==========================
registry            name               model                                          weights (default)
==================  =================  =============================================  ==========================
``DETECTORS``       ``owlv2``          OWLv2 (transformers)                           ``google/owlv2-base-patch16-ensemble``
``DETECTORS``       ``grounding_dino`` Grounding DINO (transformers)                  ``IDEA-Research/grounding-dino-tiny``
``SEGMENTERS``      ``sam``            Segment Anything (segment-anything)            ``sam_vit_b_01ec64.pth``
``SEGMENTERS``      ``sam_hf``         Segment Anything (transformers ``SamModel``)   ``facebook/sam-vit-base``
``EMBEDDERS``       ``clip``           CLIP text tower (open_clip)                    ``ViT-B-32`` / ``laion2b_s34b_b79k``
``INPAINTERS``      ``sd``             Stable Diffusion inpainting (diffusers)        ``stable-diffusion-v1-5/stable-diffusion-inpainting``
==================  =================  =============================================  ==========================

Weights come from ``params`` paths, ``--weights-dir`` (:func:`set_weights_dir`) /
``VLMSC_WEIGHTS_DIR``, or the Hugging Face cache (see :mod:`vlm_privsc.hub.weights`); a
missing one raises :class:`~vlm_privsc.errors.MissingWeightsError` with one line saying how
to provide it. A weights folder may hold, for example::

    DIR/google/owlv2-base-patch16-ensemble/        (config.json, model.safetensors, processor files)
    DIR/grounding-dino-tiny/                       (a hub id's last part works too)
    DIR/sam_vit_b_01ec64.pth                       (single-file checkpoints)
    DIR/CLIP-ViT-B-32-laion2B-s34B-b79K/open_clip_model.safetensors
    DIR/models--stable-diffusion-v1-5--stable-diffusion-inpainting/   (a copied HF cache)

Hub downloads happen only with ``VLMSC_ALLOW_DOWNLOAD=1`` (and ``HF_HUB_OFFLINE`` unset). transformers, diffusers, open_clip and segment_anything are imported only
when a model loads. ``vlmsc models list`` (:mod:`vlm_privsc.hub.cli`) shows every backend
of every stage and whether it can run here.
"""

from vlm_privsc.hub.catalog import BackendStatus, catalog, preset_params
from vlm_privsc.hub.weights import (
    clear_cache,
    download_allowed,
    resolve_file,
    resolve_folder,
    set_allow_download,
    set_weights_dir,
    weights_dirs,
)

__all__ = [
    "BackendStatus",
    "catalog",
    "clear_cache",
    "download_allowed",
    "preset_params",
    "resolve_file",
    "resolve_folder",
    "set_allow_download",
    "set_weights_dir",
    "weights_dirs",
]
