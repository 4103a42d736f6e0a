"""The data contract: the cohort's two tables, their columns, readers, writers and validation."""

from onescan._lazy import lazy_exports

__all__ = ["Organ", "organs", "organ", "limiting_organ", "Problem", "InputError", "Cohort", "load_cohort", "validate_cohort", "rules_for", "read_table", "write_table", "find_cohort_files", "MBQ_PER_MCI"]

__getattr__ = lazy_exports(__name__, {
    "Organ": "onescan.contract._organs",
    "organs": "onescan.contract._organs",
    "organ": "onescan.contract._organs",
    "limiting_organ": "onescan.contract._organs",
    "Problem": "onescan.contract._errors",
    "InputError": "onescan.contract._errors",
    "Cohort": "onescan.contract._cohort",
    "load_cohort": "onescan.contract._cohort",
    "validate_cohort": "onescan.contract._cohort",
    "rules_for": "onescan.contract._cohort",
    "read_table": "onescan.contract._io",
    "write_table": "onescan.contract._io",
    "find_cohort_files": "onescan.contract._io",
    "MBQ_PER_MCI": "onescan.contract._units",
})
