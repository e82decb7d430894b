"""--LOBXFL: the last non-missing result on or before the first exposure, per subject and test."""
from __future__ import annotations

import pandas as pd

from cdisc_dpn.derive.baseline import derive_last_before


def _frame(rows):
    return pd.DataFrame(rows, columns=["USUBJID", "TESTCD", "DTC", "ORRES"])


def _flag(frame, ref: dict, by=("TESTCD",)):
    return derive_last_before(frame, "ORRES", "DTC", frame["USUBJID"].map(ref).fillna(""), list(by)).tolist()


def test_last_record_on_or_before_first_dose_per_test():
    f = _frame([("S1", "A", "2025-01-01", "1"), ("S1", "A", "2025-01-10T08:00", "2"),   # dose day: counts as before
                ("S1", "A", "2025-02-01", "3"), ("S1", "B", "2025-01-01", "9")])
    assert _flag(f, {"S1": "2025-01-10T09:00"}) == ["", "Y", "", "Y"]


def test_subject_without_exposure_or_without_pre_dose_record_has_no_flag():
    f = _frame([("S1", "A", "2025-01-01", "1"), ("S2", "A", "2025-03-01", "1")])
    assert _flag(f, {"S1": "", "S2": "2025-02-01"}) == ["", ""]


def test_missing_results_and_partial_dates_are_skipped():
    f = _frame([("S1", "A", "2025-01-01", "5"), ("S1", "A", "2025-01-05", ""), ("S1", "A", "2025-01", "6")])
    assert _flag(f, {"S1": "2025-01-10"}) == ["Y", "", ""]


def test_at_most_one_flag_per_subject_and_test_even_on_ties():
    f = _frame([("S1", "A", "2025-01-01", "5"), ("S1", "A", "2025-01-01", "6"), ("S2", "A", "2025-01-01", "7")])
    flags = _flag(f, {"S1": "2025-01-02", "S2": "2025-01-02"})
    assert flags == ["", "Y", "Y"]          # ties keep the last record in dataset order


def test_by_variables_split_the_groups():
    f = _frame([("S1", "A", "2025-01-01", "5"), ("S1", "A", "2025-01-01", "6")]).assign(LAT=["LEFT", "RIGHT"])
    assert _flag(f, {"S1": "2025-01-02"}, by=("TESTCD", "LAT")) == ["Y", "Y"]


def test_by_variable_that_is_empty_for_a_test_still_flags_it():
    """Height has no time point (VSTPTNUM null): its null key must form a group, not vanish (issue 14)."""
    f = _frame([("S1", "HEIGHT", "2025-01-01", "170"), ("S1", "SYSBP", "2025-01-01", "120"),
                ("S1", "SYSBP", "2025-01-01", "118")])
    f["TPTNUM"] = [float("nan"), 815.0, 816.0]
    assert _flag(f, {"S1": "2025-01-02"}, by=("TESTCD", "TPTNUM")) == ["Y", "Y", "Y"]


def test_empty_text_by_variable_is_a_group_of_its_own():
    f = _frame([("S1", "A", "2025-01-01", "1"), ("S1", "A", "2025-01-02", "2"), ("S1", "A", "2025-01-01", "3")])
    f["LAT"] = [None, None, "LEFT"]
    assert _flag(f, {"S1": "2025-01-05"}, by=("TESTCD", "LAT")) == ["", "Y", "Y"]
