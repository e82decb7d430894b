"""Standard derivations used by every domain: USUBJID, --SEQ, study days, visits, EPOCH, arms, SE."""
import numpy as np
import pandas as pd

from cdisc_dpn.derive.arm import derive_actual_arm
from cdisc_dpn.derive.epoch import derive_epoch
from cdisc_dpn.derive.identifiers import derive_seq, derive_usubjid
from cdisc_dpn.derive.study_day import derive_study_day
from cdisc_dpn.derive.visits import number_unscheduled

S = pd.Series


def test_usubjid_joins_study_and_subject_and_keeps_empty_empty():
    assert derive_usubjid("RELEASE-DPN", S(["03-017", " 04-001 ", ""])).tolist() == [
        "RELEASE-DPN-03-017", "RELEASE-DPN-04-001", ""]


def test_seq_is_per_subject_in_frame_order_and_stable():
    frame = pd.DataFrame({"USUBJID": ["A", "A", "B", "A", "B"]})
    assert derive_seq(frame, ["USUBJID"]).tolist() == [1, 2, 1, 3, 2]
    assert derive_seq(frame, ["USUBJID"]).tolist() == derive_seq(frame.copy(), ["USUBJID"]).tolist()


def test_study_day_partial_dates_and_events_before_first_dose():
    days = derive_study_day(S(["2026-01-10", "2026-01-09", "2026-01", "2025-12-31T23:00", ""]),
                            S(["2026-01-10T09:00"] * 5))
    assert days.tolist()[:2] == [1.0, -1.0]
    assert np.isnan(days.iloc[2]) and np.isnan(days.iloc[4])
    assert days.iloc[3] == -10.0


def test_subject_without_exposure_gets_no_study_day():
    assert np.isnan(derive_study_day(S(["2026-01-10"]), S([""])).iloc[0])


def test_unscheduled_visits_numbered_after_preceding_scheduled_visit():
    subjects = S(["A"] * 6 + ["B"])
    dates = S(["2026-01-01", "2026-01-20", "2026-01-08", "2026-01-09", "2026-01-15", "", "2026-01-01"])
    visits = S([1.0, 3.0, 2.0, np.nan, np.nan, np.nan, np.nan])
    numbered = number_unscheduled(subjects, dates, visits)
    assert numbered.tolist()[:5] == [1.0, 3.0, 2.0, 2.01, 2.02]
    assert np.isnan(numbered.iloc[5])                 # no date: cannot be placed
    assert numbered.iloc[6] == 0.01                   # before any scheduled visit


def test_epoch_from_subject_elements():
    se = pd.DataFrame({"USUBJID": ["A", "A", "A"], "SESTDTC": ["2026-01-01", "2026-02-01", "2026-07-20"],
                       "SEENDTC": ["2026-02-01", "2026-07-20", "2027-07-01"], "TAETORD": [1, 2, 3],
                       "EPOCH": ["SCREENING", "TREATMENT", "FOLLOW-UP"]})
    got = derive_epoch(S(["A", "A", "A", "A", "A", "B", "A"]),
                       S(["2026-01-15", "2026-02-01T10:00", "2026-07-19", "2027-07-01", "2027-08-01",
                          "2026-03-01", "2026-03"]), se)
    assert got.tolist() == ["SCREENING", "TREATMENT", "TREATMENT", "FOLLOW-UP", "", "", ""]


def test_actual_arm_from_treatments_received():
    ex = pd.DataFrame({"USUBJID": ["A", "A", "B", "C"], "EXTRT": ["HUC-MSC", "MECOBALAMIN", "MECOBALAMIN",
                                                                  "MECOBALAMIN"]})
    rules = [{"armcd": "MSC", "requires": ["HUC-MSC"]}, {"armcd": "CON", "requires": []}]
    got = derive_actual_arm(S(["A", "B", "C", "D", "E"]), S(["MSC", "CON", "MSC", "MSC", ""]), ex, "EXTRT", rules)
    # C was randomized to MSC but only got conventional therapy; D was never treated; E is a screen failure.
    assert got.tolist() == ["MSC", "CON", "CON", "", ""]


def test_records_of_one_unscheduled_visit_share_its_number():
    subjects = S(["A"] * 5)
    dates = S(["2026-01-01", "2026-01-05", "2026-01-05", "2026-01-05", "2026-01-07"])
    visits = S([1.0, np.nan, np.nan, np.nan, np.nan])
    assert number_unscheduled(subjects, dates, visits).tolist() == [1.0, 1.01, 1.01, 1.01, 1.02]


def test_seq_numbers_records_whose_group_key_is_null():
    """A null `by` key is a group of its own: groupby(dropna=True) would leave --SEQ empty (issue 14 audit)."""
    frame = pd.DataFrame({"USUBJID": ["S1", None, "S1", None]})
    assert derive_seq(frame, ["USUBJID"]).tolist() == [1, 1, 2, 2]
