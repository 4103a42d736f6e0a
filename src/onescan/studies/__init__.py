"""The studies a user runs: reproduce the paper, the schedule study, the virtual cohort, the clinic model."""

from onescan._lazy import lazy_exports

__all__ = ["PAPER", "ReproduceResult", "reproduce", "ScheduleSettings", "ScheduleResult", "schedule_study", "SimulatedCohort", "simulate_cohort", "default_cohort", "write_cohort", "OnescanModel", "train"]

__getattr__ = lazy_exports(__name__, {
    "PAPER": "onescan.studies._reproduce",
    "ReproduceResult": "onescan.studies._reproduce",
    "reproduce": "onescan.studies._reproduce",
    "ScheduleSettings": "onescan.studies._schedule",
    "ScheduleResult": "onescan.studies._schedule",
    "schedule_study": "onescan.studies._schedule",
    "SimulatedCohort": "onescan.studies.simulate",
    "simulate_cohort": "onescan.studies.simulate",
    "default_cohort": "onescan.studies.simulate",
    "write_cohort": "onescan.studies.simulate",
    "OnescanModel": "onescan.studies._clinic",
    "train": "onescan.studies._clinic",
})
