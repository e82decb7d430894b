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
    series = frame[column]
    return series.astype(object).where(series.notna(), "").astype(str).str.strip()


def _units(frame: pd.DataFrame, column: str) -> pd.Series:
    """Units compared as the unit tables compare them (case and blanks ignored), per distinct value."""
    units = _text(frame, column)
    return units.map({u: normalise(u) for u in units.unique()})


def find_out_of_range(frame: pd.DataFrame, domain: str, ranges: tuple[PlausibleRange, ...]) -> list[OutOfRange]:
    """Every record of a findings dataset whose numeric result lies outside its test's plausible range."""
    testcd_col = f"{domain}TESTCD"
    if testcd_col not in frame.columns or not ranges:
        return []
    tests = _text(frame, testcd_col).str.upper()
    stresu, orresu = _units(frame, f"{domain}STRESU"), _units(frame, f"{domain}ORRESU")
    stresn = pd.to_numeric(frame.get(f"{domain}STRESN", pd.Series(np.nan, index=frame.index)), errors="coerce")
    orres = pd.to_numeric(_text(frame, f"{domain}ORRES"), errors="coerce")
    out = []
    for r in ranges:
        if r.domain and r.domain.upper() != domain.upper():
            continue
        unit = normalise(r.unit)
        of_test = tests == r.testcd.upper()
        on_standard = of_test & (stresu == unit)
        on_original = of_test & ~on_standard & (orresu == unit)
        checked = ((f"{domain}STRESN", on_standard, stresn), (f"{domain}ORRES", on_original, orres))
        for variable, mask, values in checked:
            low = values < r.low if r.low is not None else pd.Series(False, index=frame.index)
            high = values > r.high if r.high is not None else pd.Series(False, index=frame.index)
            bad = (mask & values.notna() & (low | high)).to_numpy()
            if bad.any():
                out.append(OutOfRange(r, variable, np.flatnonzero(bad), values.to_numpy()[bad]))
    return out
