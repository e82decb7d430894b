"""Results outside the values a test can physically take (units.yaml `plausible_ranges`).

Why: a unit slip passes every type and codelist check. A height of 157 written in cm on a CRF
printed in inches becomes 398.8 cm; a temperature of 36.2 written in C on a CRF printed in F
becomes 2.33 C. Only a range per test code and unit catches them.

A range applies to a record when its unit is the record's standard unit (--STRESN is checked)
or, failing that, its original unit (--ORRES is checked when it is a number). Text results
("NEG") and empty results are not numbers and are never out of range.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cdisc_dpn.distinct import on_distinct
from cdisc_dpn.spec.model import PlausibleRange
from cdisc_dpn.terminology.ct import normalise


@dataclass
class OutOfRange:
    """Rows of one dataset outside one range, read from `variable`."""

    range: PlausibleRange
    variable: str
    rows: np.ndarray            # 0-based positions in the frame
    values: np.ndarray          # the numbers found (as read from `variable`)


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series("", index=frame.index, dtype=object)
    return on_distinct(frame[column], _stripped)


def _stripped(series: pd.Series) -> pd.Series:
    return series.astype(object).where(series.notna(), "").astype(str).str.strip()


def _codes(values: pd.Series) -> tuple[np.ndarray, dict]:
    """Codes per row and code of each distinct value, so a range's test and unit are found by
    comparing integers (a findings dataset is long, its test codes and units are few)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return codes, {u: i for i, u in enumerate(uniques)}


def _units(frame: pd.DataFrame, column: str) -> pd.Series:
    """Units compared as the unit tables compare them (case and blanks ignored), per distinct value."""
    units = _text(frame, column)
    return units.map({u: normalise(u) for u in units.unique()})


def find_out_of_range(frame: pd.DataFrame, domain: str, ranges: tuple[PlausibleRange, ...]) -> list[OutOfRange]:
    """Every record of a findings dataset whose numeric result lies outside its test's plausible range."""
    testcd_col = f"{domain}TESTCD"
    if testcd_col not in frame.columns or not ranges:
        return []
    tests, test_code = _codes(on_distinct(_text(frame, testcd_col), lambda t: t.str.upper()))
    stresu, stresu_code = _codes(_units(frame, f"{domain}STRESU"))
    orresu, orresu_code = _codes(_units(frame, f"{domain}ORRESU"))
    stresn = pd.to_numeric(frame.get(f"{domain}STRESN", pd.Series(np.nan, index=frame.index)), errors="coerce")
    orres = on_distinct(_text(frame, f"{domain}ORRES"), lambda t: pd.to_numeric(t, errors="coerce"))
    numbers = {f"{domain}STRESN": stresn.to_numpy(dtype=float), f"{domain}ORRES": orres.to_numpy(dtype=float)}
    out = []
    for r in ranges:
        if r.domain and r.domain.upper() != domain.upper():
            continue
        if r.testcd.upper() not in test_code:
            continue
        unit = normalise(r.unit)
        of_test = tests == test_code[r.testcd.upper()]
        on_standard = of_test & (stresu == stresu_code.get(unit, -1))
        on_original = of_test & ~on_standard & (orresu == orresu_code.get(unit, -1))
        for variable, mask in ((f"{domain}STRESN", on_standard), (f"{domain}ORRES", on_original)):
            values = numbers[variable]
            with np.errstate(invalid="ignore"):
                low = values < r.low if r.low is not None else False
                high = values > r.high if r.high is not None else False
            bad = mask & ~np.isnan(values) & (low | high)
            if bad.any():
                out.append(OutOfRange(r, variable, np.flatnonzero(bad), values[bad]))
    return out
