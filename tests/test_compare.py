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


# --------------------------------------------------------------------------- keys per dataset class
@pytest.mark.parametrize("name, produced, reference", [
    ("TA", {"ARMCD": ["A", "A", "B"], "TAETORD": [1.0, 2.0, 1.0], "ETCD": ["SCRN", "TRT", "SCRN"]},
     {"ARMCD": ["B", "A", "A"], "TAETORD": ["1", "2", "1"], "ETCD": ["SCRN", "TRT", "SCRN"]}),
    ("TE", {"ETCD": ["SCRN", "TRT"], "ELEMENT": ["Screening", "Treatment"]},
     {"ETCD": ["TRT", "SCRN"], "ELEMENT": ["Treatment", "Screening"]}),
    ("TV", {"VISITNUM": [1.0, 2.0, 2.0], "ARMCD": ["", "A", "B"], "VISIT": ["SCREENING", "WEEK 1", "WEEK 1B"]},
     {"VISITNUM": ["2", "2", "1"], "ARMCD": ["B", "A", ""], "VISIT": ["WEEK 1B", "WEEK 1", "SCREENING"]}),
    ("TS", {"TSPARMCD": ["AGEMIN", "TRT", "TRT"], "TSSEQ": [1.0, 1.0, 2.0], "TSVAL": ["P18Y", "X", "Y"]},
     {"TSPARMCD": ["TRT", "TRT", "AGEMIN"], "TSSEQ": ["2", "1", "1"], "TSVAL": ["Y", "X", "P18Y"]}),
    ("TI", {"IETESTCD": ["IN01", "EX01"], "IETEST": ["Adult", "Pregnant"]},
     {"IETESTCD": ["EX01", "IN01"], "IETEST": ["Pregnant", "Adult"]}),
])
def test_trial_design_datasets_pair_by_their_own_keys(name, produced, reference):
    result = compare_frames(name, pd.DataFrame(produced), pd.DataFrame(reference))
    assert result.paired == len(reference[next(iter(reference))]) and result.only_produced == 0
    assert all(v.percent == 100.0 for v in result.variables.values()), result.variables
    assert "USUBJID" not in result.keys[0]


def test_findings_without_a_table_entry_pair_by_testcd_visit_and_date():
    produced = pd.DataFrame({"USUBJID": ["S1", "S1"], "QSCAT": ["TCSS", "TCSS"], "QSTESTCD": ["T1", "T2"],
                             "VISITNUM": [1.0, 1.0], "QSORRES": ["1", "2"], "QSSEQ": [1.0, 2.0]})
    reference = pd.DataFrame({"USUBJID": ["S1", "S1"], "QSCAT": ["TCSS", "TCSS"], "QSTESTCD": ["T2", "T1"],
                              "VISITNUM": ["1", "1"], "QSORRES": ["2", "1"], "QSSEQ": ["1", "2"]})
    result = compare_frames("QS", produced, reference)
    assert result.keys[0] == ["USUBJID", "QSCAT", "QSTESTCD", "VISITNUM"]
    assert result.variables["QSORRES"].percent == 100.0


def _qs(group_ids, seqs):
    return pd.DataFrame({"USUBJID": ["S1", "S1", "S1"], "QSTESTCD": ["T1", "T2", "T3"], "VISITNUM": [1, 1, 2],
                         "QSGRPID": group_ids, "QSSEQ": seqs})


@pytest.mark.parametrize("produced_groups", [["G1", "G1", "G2"], ["TCSS-1", "TCSS-1", "TCSS-2"]])
def test_supp_paired_by_a_group_id_idvar(produced_groups):
    qs_p, qs_r = _qs(produced_groups, [1, 2, 3]), _qs(["G1", "G1", "G2"], [3, 1, 2])
    parent = compare_frames("QS", qs_p, qs_r)
    supp_p = pd.DataFrame({"USUBJID": ["S1", "S1"], "RDOMAIN": ["QS", "QS"], "IDVAR": ["QSGRPID", "QSGRPID"],
                           "IDVARVAL": [produced_groups[0], produced_groups[2]], "QNAM": ["QSLANG", "QSLANG"],
                           "QVAL": ["EN", "DE"]})
    supp_r = pd.DataFrame({"USUBJID": ["S1", "S1"], "RDOMAIN": ["QS", "QS"], "IDVAR": ["QSGRPID", "QSGRPID"],
                           "IDVARVAL": ["G2", "G1"], "QNAM": ["QSLANG", "QSLANG"], "QVAL": ["DE", "EN"]})
    result = compare_supp("SUPPQS", supp_p, supp_r, parent, qs_p, qs_r)
    assert (result.paired, result.only_produced, result.only_reference) == (2, 0, 0)
    assert result.variables["QVAL"].percent == 100.0
    alone = compare_supp("SUPPQS", supp_p, supp_r, None, None, None)      # parent not compared: ids as they are
    assert alone.paired == (2 if produced_groups[0] == "G1" else 0)


def test_strict_compares_text():
    produced = pd.DataFrame({"USUBJID": ["S1", "S2", "S3"], "VSORRES": ["66", "70.5", "1"], "AGE": [66.0, 70.0, 1.5]})
    reference = pd.DataFrame({"USUBJID": ["S1", "S2", "S3"], "VSORRES": ["66.0", "70.5", "1.0"],
                              "AGE": ["66", "70.0", "1.5"]})
    loose = compare_frames("DM", produced, reference)
    strict = compare_frames("DM", produced, reference, strict=True)
    assert loose.variables["VSORRES"].agree == 3
    assert strict.variables["VSORRES"].agree == 1
    assert [d["produced"] + "/" + d["reference"] for d in strict.variables["VSORRES"].differences] == \
        ["66/66.0", "1/1.0"]
    assert strict.variables["AGE"].agree == 3                  # numbers (a Num variable) still by value
    assert values_agree("66", "66.0") and not values_agree("66", "66.0", strict=True)
    assert values_agree(66.0, "66.0", strict=True) and not values_agree(66.0, "66.5", strict=True)


# --------------------------------------------------------------------------- folders of XPT / Dataset-JSON
def _write_dm_xpt(folder, ages):
    from cdisc_dpn.xpt.metadata import XptDataset, XptVariable
    from cdisc_dpn.xpt.writer import write_xpt

    folder.mkdir(exist_ok=True)
    frame = pd.DataFrame({"USUBJID": ["X-1", "X-2"], "AGE": ages})
    meta = XptDataset("DM", "Demographics", (XptVariable("USUBJID", "Unique Subject Identifier", "Char", 3),
                                             XptVariable("AGE", "Age", "Num", 8)))
    write_xpt(folder / "dm.xpt", frame, meta)
    return frame, meta


def test_reference_folders_of_xpt_and_dataset_json(tmp_path):
    from cdisc_dpn.xpt.datasetjson import write_dataset_json

    _write_dm_xpt(tmp_path / "produced", [63.0, 70.0])
    frame, meta = _write_dm_xpt(tmp_path / "xpt", [63.0, 71.0])
    (tmp_path / "json").mkdir()
    write_dataset_json(tmp_path / "json" / "dm.json", frame, meta, study_oid="X", metadata_version_oid="MDV.X",
                       created="2000-01-01T00:00:00")
    (tmp_path / "ndjson").mkdir()
    write_dataset_json(tmp_path / "ndjson" / "dm.ndjson", frame, meta, study_oid="X", metadata_version_oid="MDV.X",
                       created="2000-01-01T00:00:00", ndjson=True)
    for ref, file in (("xpt", "dm.xpt"), ("json", "dm.json"), ("ndjson", "dm.ndjson")):
        result = compare_folders(tmp_path / "produced", tmp_path / ref, None)
        dm = result.datasets["DM"]
        assert dm.files == {"produced": "dm.xpt", "reference": file}
        assert dm.paired == 2 and (dm.variables["AGE"].agree, dm.variables["AGE"].total) == (1, 2)
        assert dm.variables["AGE"].differences == [{"key": "X-2", "produced": "70", "reference": "71"}]


def _cli(*args):
    from click.testing import CliRunner

    from cdisc_dpn.cli import main
    return CliRunner().invoke(main, ["compare", *map(str, args)])


def test_cli_compares_an_xpt_reference_and_exits_2_when_nothing_pairs(tmp_path):
    _write_dm_xpt(tmp_path / "produced", [63.0, 70.0])
    _write_dm_xpt(tmp_path / "reference", [63.0, 70.0])
    result = _cli("--produced", tmp_path / "produced", "--reference", tmp_path / "reference",
                  "--out", tmp_path / "c.json")
    assert result.exit_code == 0, result.output
    assert "| DM | AGE | 100.00 | 2 / 2 |" in result.output
    assert json.loads((tmp_path / "c.json").read_text())["datasets"]["DM"]["paired"] == 2

    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no datasets here")
    result = _cli("--produced", tmp_path / "produced", "--reference", tmp_path / "empty")
    assert result.exit_code == 2
    assert "nothing was compared: no dataset is in both folders" in result.output
    assert "Reference " in result.output and "no .xpt/.json/.ndjson/.csv file" in result.output

    (tmp_path / "others").mkdir()
    (tmp_path / "others" / "dm.csv").write_text("USUBJID,AGE\nY-1,1\n")
    result = _cli("--produced", tmp_path / "produced", "--reference", tmp_path / "others")
    assert result.exit_code == 2
    assert "not one record of DM could be paired by key (DM: USUBJID)" in result.output


def test_cli_strict_option(tmp_path):
    (tmp_path / "produced").mkdir()
    (tmp_path / "produced" / "vs.csv").write_text("USUBJID,VSTESTCD,VSORRES\nX-1,WEIGHT,66\nX-2,WEIGHT,70\n")
    (tmp_path / "reference").mkdir()
    (tmp_path / "reference" / "vs.csv").write_text("USUBJID,VSTESTCD,VSORRES\nX-1,WEIGHT,66.0\nX-2,WEIGHT,70\n")
    args = ("--produced", tmp_path / "produced", "--reference", tmp_path / "reference")
    assert "| VS | VSORRES | 100.00 | 2 / 2 |" in _cli(*args).output
    strict = _cli(*args, "--strict")
    assert strict.exit_code == 0
    assert "| VS | VSORRES | 50.00 | 1 / 2 | X-1 WEIGHT: '66' / '66.0' |" in strict.output


def test_unreadable_reference_file_exits_2_naming_it(tmp_path):
    _write_dm_xpt(tmp_path / "produced", [66.0, 70.0])
    (tmp_path / "reference").mkdir()
    (tmp_path / "reference" / "dm.json").write_text("{not json")
    result = _cli("--produced", tmp_path / "produced", "--reference", tmp_path / "reference")
    assert result.exit_code == 2
    assert "COMPARE-READ" in result.output and "dm.json" in result.output and "Traceback" not in result.output
