"""Property: whatever table a clinic feeds ``validate`` and ``dose``, the answer is exit 0 or 2,
never an internal error (exit 1) or a traceback, and nothing is written on 2 (SPEC §1.3)."""

from __future__ import annotations

import sys

from conftest import make_tiny_cohort
from hypothesis import HealthCheck, event, given, reject, settings
from hypothesis import strategies as st

JUNK = st.sampled_from(["", " ", "abc", "1,5", "-3", "1e308", "nan", "inf", "=1+1", "2024-03-05", "0", "1.62",
                        "ü", ";", '"', "\t", "300", "-0.0", "1 000"])
HEADERS = st.sampled_from(["Patient ID", "patient_id ", "PATIENT_ID", "Liver mass (g)", "time (h)", "Region",
                           "counts_anterior", "x", "", "liver_counts_anterior", "scan_datetime", "a;b", "ä(%)"])


@st.composite
def malformed(draw):
    """A tiny cohort with a few random mutations, and how to write it."""
    tables = dict(zip(("p", "s"), make_tiny_cohort()))
    for _ in range(draw(st.integers(0, 4))):
        which = draw(st.sampled_from(["p", "s"]))
        df = tables[which]
        if df.shape[1] == 0 or len(df) == 0:
            continue
        kind = draw(st.sampled_from(["cell", "drop", "dup", "header", "rows"]))
        k = draw(st.integers(0, df.shape[1] - 1))
        col = str(df.columns[k])
        if kind == "cell":
            df = df.astype({col: object}) if df.columns.is_unique else df.astype(object)
            df.iloc[draw(st.integers(0, len(df) - 1)), k] = draw(JUNK)
        elif kind == "drop" and df.shape[1] > 1:
            df = df.iloc[:, [j for j in range(df.shape[1]) if j != k]]
        elif kind == "dup":
            df = df.copy()
            df.insert(df.shape[1], draw(st.sampled_from([col, f" {col}", col.upper()])), df.iloc[:, k],
                      allow_duplicates=True)
        elif kind == "header":
            names = list(df.columns)
            names[k] = draw(HEADERS)
            df = df.set_axis(names, axis=1)
        elif kind == "rows":
            df = df.iloc[: draw(st.integers(0, len(df) - 1))]
        tables[which] = df
    p, s = tables["p"], tables["s"]
    sep = draw(st.sampled_from([",", ";", "\t"]))
    decimal = "," if sep != "," and draw(st.booleans()) else "."
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
    return p, s, dict(sep=sep, decimal=decimal, encoding=encoding)


def _main(capsys, *args):
    from onescan.cli import main

    old = sys.argv
    sys.argv = ["onescan", *map(str, args)]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = old
    return code, capsys.readouterr()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=malformed(), allow=st.booleans())
def test_malformed_tables_exit_0_or_2(tmp_path_factory, capsys, monkeypatch, case, allow):
    monkeypatch.delenv("ONESCAN_DEBUG", raising=False)
    p, s, how = case
    d = tmp_path_factory.mktemp("fuzz")
    for name, df in (("patients", p), ("scans", s)):
        try:
            df.to_csv(d / f"{name}.csv", index=False, errors="replace", **how)
        except (UnicodeEncodeError, ValueError):
            reject()  # this table cannot be written in this encoding
    extra = ["--allow-implausible"] if allow else []
    out = d / "dose.csv"
    for args in (("validate", d, *extra), ("dose", d, "--out", out, *extra)):
        code, cap = _main(capsys, *args)
        event(f"{args[0]} exit {code}")
        assert code in (0, 2), (args, cap.err)
        assert "Traceback" not in cap.err and "internal error" not in cap.err, cap.err
        if args[0] == "dose":
            assert out.exists() == (code == 0)
            assert not [f for f in d.iterdir() if f.name.startswith(".")]  # no temporary file left
