"""Dataset-JSON 1.1: structure, schema validity, exact values, NDJSON, determinism, validator rules."""
from __future__ import annotations

import json
import math

import jsonschema
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdisc_dpn.errors import OutputError
from cdisc_dpn.xpt.datasetjson import (
    load_schema,
    read_dataset_json,
    validate_dataset_json,
    write_dataset_json,
)
from cdisc_dpn.xpt.metadata import XptDataset, XptVariable as V

CREATED = "2024-05-01T10:00:00"
META = XptDataset("LB", "Laboratory Test Results", (
    V("STUDYID", "Study Identifier", "Char", key_sequence=1),
    V("USUBJID", "Unique Subject Identifier", "Char", length=12, key_sequence=2),
    V("LBSEQ", "Sequence Number", "Num", data_type="integer"),
    V("LBORRES", "Result or Finding in Original Units", "Char", data_type="text"),
    V("LBSTRESN", "Numeric Result/Finding in Standard Units", "Num", data_type="float"),
    V("LBSTNRLO", "Reference Range Lower Limit-Std Units", "Num", data_type="decimal"),
    V("LBDTC", "Date/Time of Specimen Collection", "Char", data_type="datetime"),
    V("LBDY", "Study Day of Specimen Collection", "Num", data_type="integer"),
))
FLOATS = [0.1, 1 / 3, 1e-300, 1.7976931348623157e308, -0.0, 2.0 ** 60, np.nan, 123.456]


def _frame() -> pd.DataFrame:
    n = len(FLOATS)
    return pd.DataFrame({
        "STUDYID": ["STUDY1"] * n,
        "USUBJID": [f"STUDY1-{i:03d}" for i in range(n)],
        "LBSEQ": list(range(1, n + 1)),
        "LBORRES": ["3.9", "", None, "NEG", "\u00b5 ok in JSON", "7", "8", "9"],
        "LBSTRESN": FLOATS,
        "LBSTNRLO": [0.1, 35.0, np.nan, 1e-7, 2.5, 1e21, 0.3, -4.25],
        "LBDTC": ["2012-11-23T11:20", "2012-11-23", "", None, "2012", "2013-01-01T00:00:00", "2013", "2013-02"],
        "LBDY": pd.array([-7, 1, None, 3, 4, 5, 6, 7], dtype="Int64"),
    })


def _write(path, frame=None, **kwargs):
    return write_dataset_json(path, _frame() if frame is None else frame, META, study_oid="cdisc.com.STUDY1",
                              metadata_version_oid="MDV.1", created=CREATED, **kwargs)


def test_structure_and_attribute_order(tmp_path):
    result = _write(tmp_path / "lb.json", metadata_ref="define.xml", originator="Sponsor")
    doc = json.loads((tmp_path / "lb.json").read_text(encoding="utf-8"))
    assert result.rows == 8 and result.bytes == (tmp_path / "lb.json").stat().st_size
    assert list(doc) == ["datasetJSONCreationDateTime", "datasetJSONVersion", "originator", "sourceSystem",
                         "studyOID", "metaDataVersionOID", "metaDataRef", "itemGroupOID", "records", "name",
                         "label", "columns", "rows"]
    assert doc["datasetJSONVersion"] == "1.1.0" and doc["itemGroupOID"] == "IG.LB" and doc["records"] == 8
    assert doc["sourceSystem"]["name"] == "cdisc-dpn"
    columns = {c["name"]: c for c in doc["columns"]}
    assert [c["itemOID"] for c in doc["columns"]][:2] == ["IT.LB.STUDYID", "IT.LB.USUBJID"]
    assert list(columns["STUDYID"]) == ["itemOID", "name", "label", "dataType", "length", "keySequence"]
    assert columns["USUBJID"]["length"] == 12 and columns["STUDYID"]["length"] == 6
    assert columns["LBSEQ"]["dataType"] == "integer" and "length" not in columns["LBSEQ"]
    assert columns["LBSTRESN"]["dataType"] == "float"
    assert (columns["LBSTNRLO"]["dataType"], columns["LBSTNRLO"]["targetDataType"]) == ("decimal", "decimal")
    assert columns["LBDTC"]["dataType"] == "datetime" and "targetDataType" not in columns["LBDTC"]
    jsonschema.Draft202012Validator(load_schema()).validate(doc)
    assert validate_dataset_json(tmp_path / "lb.json") == []


def test_values_survive_exactly(tmp_path):
    _write(tmp_path / "lb.json")
    rows = json.loads((tmp_path / "lb.json").read_text(encoding="utf-8"))["rows"]
    stresn = [row[4] for row in rows]
    for got, want in zip(stresn, FLOATS):
        if math.isnan(want):
            assert got is None
        else:
            assert got == want and math.copysign(1, got) == math.copysign(1, want)
    assert [row[2] for row in rows] == list(range(1, 9)) and all(type(row[2]) is int for row in rows)
    assert [row[7] for row in rows] == [-7, 1, None, 3, 4, 5, 6, 7]
    assert [row[5] for row in rows] == ["0.1", "35.0", None, "0.0000001", "2.5", "1000000000000000000000",
                                        "0.3", "-4.25"]
    assert [float(row[5]) for row in rows if row[5] is not None] == [0.1, 35.0, 1e-7, 2.5, 1e21, 0.3, -4.25]
    assert [row[3] for row in rows][:4] == ["3.9", "", None, "NEG"]
    assert rows[4][3] == "\u00b5 ok in JSON"
    assert [row[6] for row in rows][:4] == ["2012-11-23T11:20", "2012-11-23", "", None]


def test_ndjson_has_same_content(tmp_path):
    _write(tmp_path / "lb.json")
    _write(tmp_path / "lb.ndjson", ndjson=True)
    lines = (tmp_path / "lb.ndjson").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 + 8
    head = json.loads(lines[0])
    assert "rows" not in head and head["records"] == 8
    assert read_dataset_json(tmp_path / "lb.ndjson") == read_dataset_json(tmp_path / "lb.json")
    assert validate_dataset_json(tmp_path / "lb.ndjson") == []


def test_deterministic_bytes(tmp_path):
    _write(tmp_path / "a.json")
    _write(tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_zero_rows(tmp_path):
    _write(tmp_path / "e.json", frame=_frame().iloc[0:0])
    doc = read_dataset_json(tmp_path / "e.json")
    assert doc["records"] == 0 and doc["rows"] == []
    assert validate_dataset_json(tmp_path / "e.json") == []


def test_integer_with_fraction_is_refused(tmp_path):
    frame = _frame().assign(LBSEQ=[1.5] + list(range(2, 9)))
    with pytest.raises(OutputError):
        _write(tmp_path / "x.json", frame=frame)
    assert not (tmp_path / "x.json").exists()


def test_numeric_dates_become_iso_strings_with_integer_target(tmp_path):
    meta = XptDataset("ADSL", "Subject Level", (
        V("TRTSDT", "Date of First Exposure", "Num", data_type="date", display_format="E8601DA."),))
    frame = pd.DataFrame({"TRTSDT": [0.0, 19000.0, np.nan]})
    write_dataset_json(tmp_path / "adsl.json", frame, meta, study_oid="S", metadata_version_oid="M", created=CREATED)
    doc = read_dataset_json(tmp_path / "adsl.json")
    assert doc["columns"][0]["targetDataType"] == "integer"
    assert doc["columns"][0]["displayFormat"] == "E8601DA."
    assert [r[0] for r in doc["rows"]] == ["1960-01-01", "2012-01-08", None]


def _rewrite(path, change):
    doc = read_dataset_json(path)
    change(doc)
    path.write_text(json.dumps(doc), encoding="utf-8")


def test_validator_rules(tmp_path):
    path = tmp_path / "lb.json"
    _write(path)

    def mangle(doc):
        doc["rows"][0] = doc["rows"][0][:-1]                 # short row
        doc["rows"][1][2] = "2"                              # integer column with text
        doc["rows"][2][4] = "0.5"                            # float column with text
        doc["rows"][3][5] = "1e-3"                           # decimal string not in positional notation
        doc["columns"][1]["itemOID"] = "IT.LB.STUDYID"       # duplicate itemOID
        doc["records"] = 99
        doc["dbLastModifiedDateTime"] = "2030-01-01T00:00:00"

    _rewrite(path, mangle)
    findings = validate_dataset_json(path)
    codes = sorted(f.code for f in findings)
    assert codes == ["DSJ-DATES", "DSJ-ITEMOID-DUP", "DSJ-RECORDS", "DSJ-ROW-LENGTH",
                     "DSJ-VALUE-TYPE", "DSJ-VALUE-TYPE", "DSJ-VALUE-TYPE"]
    assert {(f.variable, f.row) for f in findings if f.code == "DSJ-VALUE-TYPE"} == {
        ("LBSEQ", 2), ("LBSTRESN", 3), ("LBSTNRLO", 4)}


def test_validator_schema_and_parse_errors(tmp_path):
    path = tmp_path / "lb.json"
    _write(path)

    def mangle(doc):
        del doc["name"]
        doc["datasetJSONVersion"] = "1.0.0"
        doc["columns"][0]["dataType"] = "text"
        doc["rows"][0][0] = {"nested": True}

    _rewrite(path, mangle)
    findings = validate_dataset_json(path)
    assert len([f for f in findings if f.code == "DSJ-SCHEMA"]) == 4
    assert {(f.code, f.variable, f.row) for f in findings if f.code != "DSJ-SCHEMA"} == {
        ("DSJ-VALUE-TYPE", "STUDYID", 1)}
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    assert [f.code for f in validate_dataset_json(broken)] == ["DSJ-PARSE"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=30))
def test_property_floats_exact(tmp_path, values):
    meta = XptDataset("X", "x", (V("F", "f", "Num"), V("D", "d", "Num", data_type="decimal")))
    frame = pd.DataFrame({"F": values, "D": values})
    write_dataset_json(tmp_path / "x.ndjson", frame, meta, study_oid="S", metadata_version_oid="M",
                       created=CREATED, ndjson=True)
    rows = read_dataset_json(tmp_path / "x.ndjson")["rows"]
    assert [r[0] for r in rows] == values
    assert [float(r[1]) for r in rows] == values


def test_repeated_values_are_written_as_json_encodes_each_row(tmp_path):
    # values are encoded once per distinct value: the rows must still be exactly what the
    # standard json module writes for them, 0.0 and -0.0 kept apart, None as null
    frame = pd.concat([_frame()] * 5, ignore_index=True)
    frame["LBSTRESN"] = [0.0, -0.0] * 20
    _write(tmp_path / "lb.json", frame)
    doc = json.loads((tmp_path / "lb.json").read_text(encoding="utf-8"))
    assert [row[4] for row in doc["rows"]] == [0.0, -0.0] * 20
    assert [math.copysign(1, row[4]) for row in doc["rows"][:2]] == [1, -1]
    assert [row[3] for row in doc["rows"][:8]] == ["3.9", "", None, "NEG", "\u00b5 ok in JSON", "7", "8", "9"]
    text = (tmp_path / "lb.json").read_text(encoding="utf-8")
    assert text.endswith(',"rows":' + json.dumps(doc["rows"], ensure_ascii=False, separators=(",", ":")) + "}\n")


def test_integer_with_fraction_is_refused_with_its_first_rows(tmp_path):
    frame = pd.concat([_frame()] * 3, ignore_index=True)
    frame["LBSEQ"] = [1.0, 2.5] * 12
    with pytest.raises(OutputError, match=r"rows \[2, 4, 6, 8, 10, 12, 14, 16, 18, 20\]"):
        _write(tmp_path / "lb.json", frame)


@pytest.mark.parametrize("rows", [0, 1, 9_999, 10_000, 10_001, 20_000, 25_003])
@pytest.mark.parametrize("ndjson", [False, True])
def test_rows_across_chunks_are_what_json_writes(tmp_path, rows, ndjson):
    # rows are assembled column by column (punctuation added to distinct texts, one join per chunk):
    # the text must still be exactly the json module's, at every chunk boundary and in both layouts
    meta = XptDataset("X", "x", (V("A", "a", "Char"), V("N", "n", "Num"), V("B", "b", "Char")))
    texts = ["plain", "", None, 'quote " and \\ back', "tab\tnew\nline", "\u00b5\u2028", "[,]"]
    frame = pd.DataFrame({"A": [texts[i % len(texts)] for i in range(rows)],
                          "N": [float(i % 13) / 4 if i % 5 else np.nan for i in range(rows)],
                          "B": [f"id-{i}" for i in range(rows)]})
    suffix = ".ndjson" if ndjson else ".json"
    write_dataset_json(tmp_path / f"x{suffix}", frame, meta, study_oid="S", metadata_version_oid="M",
                       created=CREATED, ndjson=ndjson)
    text = (tmp_path / f"x{suffix}").read_text(encoding="utf-8")
    expected = [[texts[i % len(texts)], None if math.isnan(n) else n, f"id-{i}"] for i, n in enumerate(frame["N"])]
    dumps = lambda v: json.dumps(v, ensure_ascii=False, separators=(",", ":"))  # noqa: E731
    if ndjson:
        assert text.split("\n", 1)[1] == "".join(dumps(r) + "\n" for r in expected)
    else:
        assert text.endswith(',"rows":' + dumps(expected) + "}\n")


def test_one_column_rows(tmp_path):
    meta = XptDataset("X", "x", (V("A", "a", "Char"),))
    frame = pd.DataFrame({"A": ["x", "y", "x"]})
    for suffix, ndjson in ((".json", False), (".ndjson", True)):
        write_dataset_json(tmp_path / f"x{suffix}", frame, meta, study_oid="S", metadata_version_oid="M",
                           created=CREATED, ndjson=ndjson)
        assert read_dataset_json(tmp_path / f"x{suffix}")["rows"] == [["x"], ["y"], ["x"]]
    assert (tmp_path / "x.json").read_text(encoding="utf-8").endswith(',"rows":[["x"],["y"],["x"]]}\n')
