"""The imaging-schedule study's parts: metrics, per-patient data, the method registry, the runs.

The study itself (settings, result, findings) is :mod:`onescan.studies._schedule`.
"""
