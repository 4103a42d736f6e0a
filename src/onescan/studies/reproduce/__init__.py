"""The reproduce study's parts: the paper's table, the method registry, the summaries.

The study itself is :func:`onescan.studies._reproduce.reproduce`.
"""
