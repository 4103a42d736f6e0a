"""Benchmark ``onescan reproduce``: the default run with the fast selector vs mlxtend's selector.

Usage::

    python benchmarks/bench_reproduce.py [--jobs 2] [--repeats 20] [--full-mlxtend]

Measures, in the same run and on the same cohort (the built-in one, or a simulated
74-patient cohort when the built-in data are not installed):

1. wall-clock and CPU time of ``reproduce()`` with the default settings
   (5 folds × 20 repeats, fast selector, hybrid model included) and with ``hybrid=False``
   (``--no-hybrid``), and the ratio of the two;
2. the time of one fit of the published pipeline with onescan's selector and with
   mlxtend's (the reference implementation) on the published split's training rows,
   and their ratio; the mlxtend time of the whole default run is extrapolated from it
   (the run is ``folds × repeats`` + 11 pipeline fits), or measured with ``--full-mlxtend``.

The machine's load average is printed: on a shared machine, wall time overstates
what an idle 2-core machine needs; CPU time does not.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time

from onescan.contract._errors import InputError


def _cpu() -> float:
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def _cohort():
    try:
        from onescan.studies._simulate import default_cohort

        return default_cohort(), "built-in cohort"
    except (ImportError, OSError, InputError) as exc:  # data not installed yet
        from onescan.contract._cohort import load_cohort
        from onescan.studies._simulate import simulate_cohort

        sc = simulate_cohort(74, 0)
        return load_cohort(patients=sc.patients, scans=sc.scans), f"simulate_cohort(74, 0) ({type(exc).__name__})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--full-mlxtend", action="store_true", help="also run the whole default run with mlxtend")
    a = ap.parse_args()

    from onescan.evaluation._cv import published_split
    from onescan.features._features import build_features, get_target
    from onescan.models._pipeline import PipelineSettings, make_pipeline

    cohort, label = _cohort()
    print(f"cohort: {label}, {len(cohort.patients)} patients; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")

    X, y = build_features(cohort), get_target(cohort)
    train, _ = published_split(len(y), seed=0)
    Xt, yt = X.iloc[train], y.iloc[train]
    per_fit = {}
    for sel in ("fast", "mlxtend"):
        pipe = make_pipeline(PipelineSettings(selector=sel))
        t, c = time.perf_counter(), time.process_time()
        pipe.fit(Xt, yt)
        per_fit[sel] = time.process_time() - c
        print(f"one pipeline fit, {sel:8s} selector: CPU {per_fit[sel]:8.2f} s, wall {time.perf_counter() - t:8.2f} s")
    print(f"ratio mlxtend / fast (CPU of one fit): {per_fit['mlxtend'] / per_fit['fast']:.0f}x")

    n_fits = a.folds * a.repeats + 11
    cpu_by = {}
    runs = [("fast", True), ("fast", False)] + ([("mlxtend", False)] if a.full_mlxtend else [])
    for sel, hybrid in runs:
        # in a child interpreter, so that the CPU time of its joblib workers is counted when they are reaped
        code = (f"import sys; sys.argv=['x']; sys.path.insert(0, {os.path.dirname(__file__)!r});"
                "import bench_reproduce as b; from onescan.models._pipeline import PipelineSettings;"
                "from onescan.studies._reproduce import reproduce; c,_=b._cohort();"
                f"reproduce(c, pipeline_settings=PipelineSettings(selector={sel!r}), folds={a.folds},"
                f" repeats={a.repeats}, n_jobs={a.jobs}, hybrid={hybrid})")
        c0, t0 = _cpu(), time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, stderr=subprocess.DEVNULL)
        wall, cpu = time.perf_counter() - t0, _cpu() - c0
        cpu_by[(sel, hybrid)] = cpu
        print(f"reproduce {a.folds}x{a.repeats}, {sel} selector, {'with' if hybrid else 'without'} hybrid, "
              f"--jobs {a.jobs}: wall {wall:.1f} s (incl. interpreter start), CPU of all processes {cpu:.1f} s "
              f"-> about {cpu / 2:.0f} s on an idle 2-core machine")
    print(f"ratio with / without the hybrid model (CPU): "
          f"{cpu_by[('fast', True)] / cpu_by[('fast', False)]:.2f}x")
    est = per_fit["mlxtend"] * n_fits / 2
    print(f"mlxtend selector, whole default run: about {est / 60:.0f} min on an idle 2-core machine "
          f"(CPU of one fit x {n_fits} fits / 2 cores)")


if __name__ == "__main__":
    main()
