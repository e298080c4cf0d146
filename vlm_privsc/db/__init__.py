"""The privacy database: what is private, how to find it, how to restore it."""

from vlm_privsc.db.loader import default_db_path, load_db
from vlm_privsc.db.schema import Category, DetectorSpec, MaskSpec, Policy, PrivacyDB

BASELINE_POLICY = "none"
"""The policy that masks nothing (the default database's): the unguarded reference of every leakage number."""

__all__ = [
    "BASELINE_POLICY",
    "Category",
    "DetectorSpec",
    "MaskSpec",
    "Policy",
    "PrivacyDB",
    "default_db_path",
    "load_db",
]
