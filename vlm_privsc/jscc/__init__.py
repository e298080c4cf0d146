"""DeepJSCC (Bourtsoulatze, Kurka, Gunduz 2019), the SNR-adaptive ADJSCC (Xu et al. 2022) and
``resjscc``, a residual GDN codec for photos (GDN: Ballé et al. 2016).

- :class:`DeepJSCC` with ``encode(x, snr_db) -> complex [B, k]`` and
  ``decode(z, snr_db, size, text_emb=None) -> [B,3,H,W]``; :class:`JSCCConfig`;
  :func:`build_jscc` by architecture name (``deepjscc``, ``adjscc``, ``resjscc``);
- :func:`load_pretrained` / :func:`list_pretrained`: the weights shipped in the package
  (the photo codecs ``resjscc-r1_6`` (the default), ``resjscc-r1_12`` and the small-image
  ``adjscc-r1_6``, ``adjscc-r1_12``); :func:`save_model` / :func:`load_model` for others;
- :func:`evaluate`: PSNR/SSIM through a channel.
"""

from vlm_privsc.jscc.evaluate import Quality, evaluate
from vlm_privsc.jscc.models import (
    JSCC_MODELS,
    DeepJSCC,
    JSCCConfig,
    build_jscc,
    default_config,
    latent_channels_for_ratio,
    with_text_conditioning,
)
from vlm_privsc.jscc.weights import (
    DEFAULT_MODEL,
    WEIGHTS_DIR,
    list_pretrained,
    load_model,
    load_pretrained,
    save_model,
    weights_path,
)

__all__ = [
    "DEFAULT_MODEL",
    "JSCC_MODELS",
    "WEIGHTS_DIR",
    "DeepJSCC",
    "JSCCConfig",
    "Quality",
    "build_jscc",
    "default_config",
    "evaluate",
    "latent_channels_for_ratio",
    "list_pretrained",
    "load_model",
    "load_pretrained",
    "save_model",
    "weights_path",
    "with_text_conditioning",
]
