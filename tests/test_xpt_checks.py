"""FDA / XPT v5 constraint checks: each defect is caught with its stable code, all at once."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cdisc_dpn.errors import Severity
from cdisc_dpn.xpt.checks import check_dataset, load_default_transliteration, transliterate
from cdisc_dpn.xpt.metadata import XptDataset, XptVariable


def _meta(*variables: XptVariable, name: str = "DM", label: str = "Demographics") -> XptDataset:
    return XptDataset(name, label, tuple(variables))


GOOD = _meta(
    XptVariable("USUBJID", "Unique Subject Identifier", "Char"),
    XptVariable("AGE", "Age", "Num"),
)


def _good_frame() -> pd.DataFrame:
    return pd.DataFrame({"USUBJID": ["S-001", "S-002"], "AGE": [34.0, np.nan]})


def _codes(findings) -> list[str]:
    return sorted(f.code for f in findings)


def test_clean_dataset_has_no_findings():
    assert check_dataset(_good_frame(), GOOD) == []


@pytest.mark.parametrize("name", ["dm", "DEMOGRAPHX", "1DM", "D-M", "", "../DM", "DM X"])
def test_dataset_name_rule(name):
    findings = check_dataset(_good_frame(), _meta(*GOOD.variables, name=name))
    assert _codes(findings) == ["XPT-NAME"]
    assert findings[0].severity is Severity.ERROR and findings[0].stage == "write" and findings[0].fix


def test_variable_name_rule_and_duplicates():
    meta = _meta(XptVariable("usubjid", "Subject", "Char"), XptVariable("AGE_IN_YRS", "Age", "Num"),
                 XptVariable("AGE", "Age", "Num"), XptVariable("AGE", "Age again", "Num"))
    frame = pd.DataFrame({"usubjid": ["a"], "AGE_IN_YRS": [1.0], "AGE": [1.0]})
    findings = check_dataset(frame, meta)
    assert _codes(findings) == ["XPT-DUP-VAR", "XPT-NAME", "XPT-NAME"]
    assert {f.variable for f in findings if f.code == "XPT-NAME"} == {"usubjid", "AGE_IN_YRS"}


def test_labels():
    meta = _meta(
        XptVariable("USUBJID", "", "Char"),
        XptVariable("AGE", "A" * 41, "Num"),
        XptVariable("SEX", "Sex \u2640", "Char"),
        label="D" * 41,
    )
    frame = pd.DataFrame({"USUBJID": ["a"], "AGE": [1.0], "SEX": ["F"]})
    findings = check_dataset(frame, meta)
    assert _codes(findings) == ["XPT-LABEL-ASCII", "XPT-LABEL-LEN", "XPT-LABEL-LEN", "XPT-LABEL-MISSING"]
    dataset_label = [f for f in findings if f.code == "XPT-LABEL-LEN" and f.variable is None]
    assert len(dataset_label) == 1


def test_value_longer_than_200_bytes_and_declared_length_too_short():
    meta = _meta(XptVariable("USUBJID", "Subject", "Char", length=5), XptVariable("COVAL", "Comment", "Char"))
    frame = pd.DataFrame({"USUBJID": ["S-001", "S-0002", "S-00003"], "COVAL": ["x" * 200, "y" * 201, ""]})
    findings = check_dataset(frame, meta)
    assert _codes(findings) == ["XPT-LENGTH-SHORT", "XPT-VALUE-LEN"]
    value_len = next(f for f in findings if f.code == "XPT-VALUE-LEN")
    assert value_len.row == 2 and value_len.variable == "COVAL" and value_len.usubjid == "S-0002"
    short = next(f for f in findings if f.code == "XPT-LENGTH-SHORT")
    assert short.extra["longest"] == 7 and short.extra["rows"] == [2, 3]


def test_value_length_is_counted_in_bytes():
    meta = _meta(XptVariable("TERM", "Term", "Char", length=4))
    frame = pd.DataFrame({"TERM": ["\u00b5\u00b5\u00b5"]})   # 3 characters, 6 bytes
    assert _codes(check_dataset(frame, meta)) == ["XPT-LENGTH-SHORT", "XPT-NON-ASCII"]


def test_invalid_declared_lengths_and_type():
    meta = _meta(XptVariable("A", "a", "Char", length=0), XptVariable("B", "b", "Char", length=201),
                 XptVariable("N", "n", "Num", length=4), XptVariable("D", "d", "Date"))
    frame = pd.DataFrame({"A": ["x"], "B": ["y"], "N": [1.0], "D": ["2020"]})
    assert _codes(check_dataset(frame, meta)) == [
        "XPT-LENGTH-INVALID", "XPT-LENGTH-INVALID", "XPT-LENGTH-INVALID", "XPT-LENGTH-SHORT", "XPT-TYPE"]


def test_non_ascii_reports_dataset_variable_usubjid_row_and_value():
    frame = pd.DataFrame({"USUBJID": ["S-001", "S-002"], "AGE": [1.0, 2.0],
                          "AETERM": ["HEADACHE", "N\u00c4USEA \u2265 3"]})
    meta = _meta(*GOOD.variables, XptVariable("AETERM", "Reported Term", "Char"), name="AE", label="Adverse Events")
    [finding] = check_dataset(frame, meta)
    assert finding.code == "XPT-NON-ASCII"
    assert (finding.dataset, finding.variable, finding.usubjid, finding.row) == ("AE", "AETERM", "S-002", 2)
    assert finding.value == "N\u00c4USEA \u2265 3"
    assert "U+00C4" in finding.message and "U+2265" in finding.message


def test_columns_versus_metadata():
    frame = _good_frame().assign(EXTRA=["a", "b"]).drop(columns=["AGE"])
    findings = check_dataset(frame, GOOD)
    assert _codes(findings) == ["XPT-COLUMN-EXTRA", "XPT-COLUMN-MISSING"]
    assert {f.variable for f in findings} == {"EXTRA", "AGE"}


def test_numeric_columns_must_be_numeric_and_char_columns_text():
    frame = pd.DataFrame({"USUBJID": ["S-001", 7], "AGE": ["34", "35"]})
    findings = check_dataset(frame, GOOD)
    assert _codes(findings) == ["XPT-CHAR-TYPE", "XPT-NUM-TYPE"]
    assert next(f for f in findings if f.code == "XPT-CHAR-TYPE").row == 2
    bools = pd.DataFrame({"USUBJID": ["a"], "AGE": [True]})
    assert _codes(check_dataset(bools, GOOD)) == ["XPT-NUM-TYPE"]
    nullable = pd.DataFrame({"USUBJID": ["a", "b"], "AGE": pd.array([1, None], dtype="Int64")})
    assert check_dataset(nullable, GOOD) == []


def test_ibm_range():
    frame = pd.DataFrame({"USUBJID": ["a", "b", "c", "d", "e"], "AGE": [1e300, -np.inf, 1e-300, 7e75, 1e-78]})
    findings = check_dataset(frame, GOOD)
    assert [(f.code, f.row, f.severity) for f in findings] == [
        ("XPT-NUM-RANGE", 1, Severity.ERROR), ("XPT-NUM-RANGE", 2, Severity.ERROR),
        ("XPT-NUM-UNDERFLOW", 3, Severity.WARNING)]


def test_all_violations_are_collected_together():
    meta = _meta(XptVariable("usubjid", "", "Char"), XptVariable("AGE", "Age", "Num"), name="demographics")
    frame = pd.DataFrame({"usubjid": ["\u00e9" * 201], "AGE": ["x"], "MORE": [1]})
    codes = set(_codes(check_dataset(frame, meta)))
    assert codes == {"XPT-NAME", "XPT-LABEL-MISSING", "XPT-NON-ASCII", "XPT-VALUE-LEN", "XPT-NUM-TYPE",
                     "XPT-COLUMN-EXTRA"}


def test_transliterate_records_every_replacement():
    frame = pd.DataFrame({"USUBJID": ["S-1", "S-2", "S-3"],
                          "LBORRESU": ["\u00b5mol/L", "mg/dL", "\u00b0C"],
                          "LBORRES": ["\u2265 5\uff0c3", "7", "x\u2603"],
                          "AGE": [1.0, 2.0, 3.0]})
    table = {"\u00b5": "u", "\u2265": ">=", "\uff0c": ",", "\u00b0C": "C", "\u00b0": " deg"}
    out, findings = transliterate(frame, table, dataset="LB")
    assert out["LBORRESU"].tolist() == ["umol/L", "mg/dL", "C"]          # longest key first
    assert out["LBORRES"].tolist() == [">= 5,3", "7", "x\u2603"]        # not in the table: left alone
    assert frame["LBORRESU"].iloc[0] == "\u00b5mol/L"                      # input untouched
    assert all(f.severity is Severity.NOTICE and f.code == "XPT-TRANSLIT" for f in findings)
    assert [(f.variable, f.row, f.usubjid) for f in findings] == [
        ("LBORRESU", 1, "S-1"), ("LBORRESU", 3, "S-3"), ("LBORRES", 1, "S-1")]
    assert findings[0].value == "\u00b5mol/L -> umol/L" and findings[0].dataset == "LB"
    meta = _meta(XptVariable("USUBJID", "s", "Char"), XptVariable("LBORRESU", "u", "Char"),
                 XptVariable("LBORRES", "r", "Char"), XptVariable("AGE", "a", "Num"), name="LB", label="Lab")
    remaining = check_dataset(out, meta)
    assert [(f.code, f.variable, f.row) for f in remaining] == [("XPT-NON-ASCII", "LBORRES", 3)]


def test_nothing_applied_without_a_table():
    frame = pd.DataFrame({"A": ["\u00b5"]})
    out, findings = transliterate(frame, {})
    assert out["A"].tolist() == ["\u00b5"] and findings == []


def test_default_table_is_data_and_ascii():
    table = load_default_transliteration()
    assert table["\u00b5"] == "u" and table["\u2265"] == ">=" and table["\uff0c"] == ","
    assert all(value.isascii() for value in table.values())
    out, findings = transliterate(pd.DataFrame({"A": ["Caf\u00e9 \u2264 2"]}), table)
    assert out["A"].tolist() == ["Cafe <= 2"] and len(findings) == 1
