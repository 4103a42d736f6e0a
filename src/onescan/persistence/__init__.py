"""Model files: skops (never pickle) with a JSON model card beside them, read back only when trusted."""

from onescan._lazy import lazy_exports

__all__ = ["save_model", "load_model", "card_path_for", "file_types", "TRUSTED_TYPES", "BASE_TYPES"]

__getattr__ = lazy_exports(__name__, {
    "save_model": "onescan.persistence._skops",
    "load_model": "onescan.persistence._skops",
    "card_path_for": "onescan.persistence._skops",
    "file_types": "onescan.persistence._skops",
    "TRUSTED_TYPES": "onescan.persistence._trusted",
    "BASE_TYPES": "onescan.persistence._trusted",
})
