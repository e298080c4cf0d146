"""The privacy guard: grounded detection and segmentation driven by the privacy database."""

from vlm_privsc.guard.fill import FILLS, apply_fill
from vlm_privsc.guard.guard import GuardResult, PrivacyGuard, Region

__all__ = ["FILLS", "GuardResult", "PrivacyGuard", "Region", "apply_fill"]
