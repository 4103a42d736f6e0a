"""Reports and output files of the studies: figures, HTML (one jinja environment), provenance."""

from onescan._lazy import lazy_exports

__all__ = ["write_outputs", "check_outputs", "OUTPUT_FILES", "make_figures", "render_report",
           "write_schedule_outputs", "write_dose_report", "render_dose_report"]

__getattr__ = lazy_exports(__name__, {
    "write_outputs": "onescan.report._reproduce_report",
    "check_outputs": "onescan.report._reproduce_report",
    "OUTPUT_FILES": "onescan.report._reproduce_report",
    "make_figures": "onescan.report._reproduce_report",
    "render_report": "onescan.report._reproduce_report",
    "write_schedule_outputs": "onescan.report._schedule_report",
    "write_dose_report": "onescan.report._dose_report", "render_dose_report": "onescan.report._dose_report",
})
