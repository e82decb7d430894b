"""The comparison of produced with reference SDTM: pairing by key, numeric equality, empty = empty,
differences listed, SUPP-- paired through the parent's records."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cdisc_dpn.compare import compare_frames, compare_supp, pair_records, values_agree
from cdisc_dpn.compare.core import compare_folders


@pytest.mark.parametrize("produced, reference, agree", [
    ("", "", True),
    (np.nan, "", True),
    (None, "", True),
    (1.0, "1", True),
    ("1.0", "1", True),
    (2.0, "2.5", False),
    (" MILD ", "MILD", True),
    ("mild", "MILD", False),
    ("", "N", False),
    ("Y", "", False),
    ("2013-01-02", "2013-01-02", True),
])
def test_values_agree(produced, reference, agree):
    assert values_agree(produced, reference) is agree


def test_records_are_paired_by_natural_key_not_by_order():
    produced = pd.DataFrame({"USUBJID": ["S1", "S1", "S2"], "AESEQ": [1.0, 2.0, 1.0],
                             "AETERM": ["RASH", "COUGH", "FEVER"], "AESTDTC": ["2013-01-02", "2013-01-01", "2013-03-01"],
                             "AESEV": ["MILD", "SEVERE", ""]})
    reference = pd.DataFrame({"USUBJID": ["S1", "S1", "S2"], "AESEQ": ["1.0", "2.0", "1.0"],
                              "AETERM": ["COUGH", "RASH", "FEVER"], "AESTDTC": ["2013-01-01", "2013-01-02", "2013-03-01"],
                              "AESEV": ["MODERATE", "MILD", ""]})
    result = compare_frames("AE", produced, reference, [["USUBJID", "AETERM", "AESTDTC"]])
    assert result.paired == 3 and result.only_produced == 0 and result.only_reference == 0
    assert result.variables["AETERM"].percent == 100.0
    assert result.variables["AESEQ"].agree == 1            # sequence numbers differ on two paired records
    sev = result.variables["AESEV"]
    assert (sev.agree, sev.total) == (2, 3)                  # empty vs empty agrees on S2
    assert sev.differences == [{"key": "S1 COUGH 2013-01-01", "produced": "SEVERE", "reference": "MODERATE"}]


def test_fallback_key_pairs_records_whose_first_key_differs_and_unpaired_rows_disagree():
    produced = pd.DataFrame({"USUBJID": ["S1", "S1", "S3"], "AETERM": ["RASH", "COUGH", "X"],
                             "AESTDTC": ["", "2013-01-01", ""], "AEDTC": ["2013-02-01", "2013-01-05", ""]})
    reference = pd.DataFrame({"USUBJID": ["S1", "S1"], "AETERM": ["RASH", "COUGH"],
                              "AESTDTC": ["2013-01", "2013-01-01"], "AEDTC": ["2013-02-01", "2013-01-05"]})
    result = compare_frames("AE", produced, reference,
                            [["USUBJID", "AETERM", "AESTDTC"], ["USUBJID", "AETERM", "AEDTC"]])
    assert result.paired == 2 and result.only_produced == 1 and result.only_reference == 0
    start = result.variables["AESTDTC"]
    assert (start.agree, start.total) == (1, 3)              # the S3 record has no counterpart
    assert start.differences[0]["reference"] == "2013-01"
    assert result.unpaired_produced == [{"key": "S3 X "}]


def test_repeated_keys_pair_in_record_order():
    produced = pd.DataFrame({"USUBJID": ["S1", "S1"], "EXTRT": ["A", "A"], "EXSTDTC": ["2013", "2013"], "EXDOSE": [1, 2]})
    reference = pd.DataFrame({"USUBJID": ["S1", "S1"], "EXTRT": ["A", "A"], "EXSTDTC": ["2013", "2013"],
                              "EXDOSE": ["1.0", "2.0"]})
    pairs, left, right = pair_records(produced, reference, [["USUBJID", "EXSTDTC", "EXTRT"]])
    assert pairs == [(0, 0), (1, 1)] and left == [] and right == []
    assert compare_frames("EX", produced, reference).variables["EXDOSE"].percent == 100.0


def test_variables_on_one_side_only_are_listed():
    produced = pd.DataFrame({"USUBJID": ["S1"], "ACTARMUD": [""]})
    reference = pd.DataFrame({"USUBJID": ["S1"], "BRTHDTC": ["1950"]})
    result = compare_frames("DM", produced, reference)
    assert result.only_in_produced == ["ACTARMUD"] and result.only_in_reference == ["BRTHDTC"]
    assert list(result.variables) == ["USUBJID"]


def test_supp_is_paired_through_the_parents_pairs():
    ae_p = pd.DataFrame({"USUBJID": ["S1", "S1"], "AESEQ": [1.0, 2.0], "AETERM": ["A", "B"], "AESTDTC": ["2013", "2014"]})
    ae_r = pd.DataFrame({"USUBJID": ["S1", "S1"], "AESEQ": ["2.0", "1.0"], "AETERM": ["A", "B"], "AESTDTC": ["2013", "2014"]})
    parent = compare_frames("AE", ae_p, ae_r)
    supp_p = pd.DataFrame({"USUBJID": ["S1", "S1"], "RDOMAIN": ["AE", "AE"], "IDVAR": ["AESEQ", "AESEQ"],
                           "IDVARVAL": ["1", "2"], "QNAM": ["AETRTEM", "AETRTEM"], "QVAL": ["Y", "N"]})
    supp_r = pd.DataFrame({"USUBJID": ["S1", "S1"], "RDOMAIN": ["AE", "AE"], "IDVAR": ["AESEQ", "AESEQ"],
                           "IDVARVAL": ["1", "2"], "QNAM": ["AETRTEM", "AETRTEM"], "QVAL": ["N", "Y"]})
    result = compare_supp("SUPPAE", supp_p, supp_r, parent, ae_p, ae_r)
    assert result.paired == 2
    assert result.variables["QVAL"].percent == 100.0        # A is Y and B is N on both sides
    assert result.variables["IDVARVAL"].agree == 0            # the sequence numbers themselves differ
    subject_level = compare_supp("SUPPDM", supp_p.assign(IDVAR="", IDVARVAL="", QNAM=["ITT", "SAFETY"]),
                                 supp_r.assign(IDVAR="", IDVARVAL="", QNAM=["ITT", "EFFICACY"]), None, None, None)
    assert (subject_level.paired, subject_level.only_produced, subject_level.only_reference) == (1, 1, 1)


def test_compare_folders_reads_xpt_and_csv_and_writes_json(tmp_path):
    from cdisc_dpn.xpt.metadata import XptDataset, XptVariable
    from cdisc_dpn.xpt.writer import write_xpt

    produced, reference = tmp_path / "produced", tmp_path / "reference"
    produced.mkdir()
    reference.mkdir()
    frame = pd.DataFrame({"STUDYID": ["X", "X"], "USUBJID": ["X-1", "X-2"], "AGE": [63.0, np.nan]})
    meta = XptDataset("DM", "Demographics", (XptVariable("STUDYID", "Study Identifier", "Char", 1),
                                             XptVariable("USUBJID", "Unique Subject Identifier", "Char", 3),
                                             XptVariable("AGE", "Age", "Num", 8)))
    write_xpt(produced / "dm.xpt", frame, meta)
    (reference / "dm.csv").write_text("STUDYID,USUBJID,AGE\nX,X-1,63.0\nX,X-2,70\n", encoding="utf-8")
    result = compare_folders(produced, reference, ["DM", "AE"])
    assert result.missing == {"AE": "not produced"}
    age = result.datasets["DM"].variables["AGE"]
    assert (age.agree, age.total, age.percent) == (1, 2, 50.0)
    result.to_json(tmp_path / "c.json")
    data = json.loads((tmp_path / "c.json").read_text())
    assert data["datasets"]["DM"]["variables"]["AGE"]["first_differences"] == [
        {"key": "X-2", "produced": "", "reference": "70"}]
    assert "| DM | AGE | 50.00 | 1 / 2 |" in result.markdown()
