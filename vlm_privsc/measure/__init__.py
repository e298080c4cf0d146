"""Every measure of the project, defined once: fidelity (PSNR, SSIM), guard coverage,
and the :class:`Metrics` of a pipeline run (identity through the matcher's
``compare_many``, category accuracy). ``vlmsc run``, ``vlmsc eval``, the benchmarks and
the reports all use these."""

from vlm_privsc.measure.coverage import COVER, Box, box_coverage, covered, covered_share
from vlm_privsc.measure.quality import psnr, psnr_per_image, ssim, ssim_per_image
from vlm_privsc.measure.run import category_accuracy, measure_run
from vlm_privsc.results import Metrics

__all__ = [
    "COVER",
    "Box",
    "Metrics",
    "box_coverage",
    "category_accuracy",
    "covered",
    "covered_share",
    "measure_run",
    "psnr",
    "psnr_per_image",
    "ssim",
    "ssim_per_image",
]
