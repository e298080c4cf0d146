"""The privacy database: what is private, how to find it, how to restore it."""

from vlm_privsc.db.loader import default_db_path, load_db
from vlm_privsc.db.schema import Category, DetectorSpec, MaskSpec, Policy, PrivacyDB

__all__ = ["Category", "DetectorSpec", "MaskSpec", "Policy", "PrivacyDB", "default_db_path", "load_db"]
