"""VISITNUM for unscheduled visits whose raw label carries the number (issue 14: "Unscheduled 6.1" is 6.1)."""
from __future__ import annotations

from pathlib import Path

import pytest

from cdisc_dpn.derive.context import RunSettings
from cdisc_dpn.mapping.engine import map_study
from cdisc_dpn.raw.readers import read_form
from cdisc_dpn.spec.loader import load_specs
from cdisc_dpn.terminology import load_terminology

from test_mapping_engine import DM, EX, FILES, QS, STUDY  # noqa: E402  (the engine test's tiny study)

Q = ("SUBJECT,VISIT,DAT,I1,I2,TOT\n"
     "01-001,Screening,03/01/2026,1,2,3\n"
     "01-001,Unscheduled 1.1,05/01/2026,1,1,2\n"      # before Day 1 but after Screening: 1.1, never 0.01
     "01-001,Day 1,10/01/2026,1,,\n"
     "01-001,Unscheduled 2.3,12/01/2026,2,2,4\n"      # the label's number wins over the date order (2.01)
     "01-001,Unscheduled,14/01/2026,2,2,4\n"          # no number: after the preceding visit by date
     "01-002,Unscheduled 1.1,01/01/2026,2,2,4\n"      # before any scheduled visit of the subject: still 1.1
     "01-002,Unscheduled 2,04/01/2026,2,2,4\n")       # 2 is a planned visit (DAY 1): not taken from the label


QS_DATED = QS.replace("algorithm: visitnum, params: {column: VISIT}",
                      "algorithm: visitnum, params: {column: VISIT, date: QSDTC}")
assert QS_DATED != QS


@pytest.fixture()
def mapped(tmp_path: Path):
    specs_dir, raw_dir = tmp_path / "specs", tmp_path / "raw"
    specs_dir.mkdir()
    raw_dir.mkdir()
    for name, text in {"study.yaml": STUDY, "dm.yaml": DM, "ex.yaml": EX, "qs.yaml": QS_DATED,
                       "terminology.yaml": "codelists: []\n", "units.yaml": "conversions: []\n"}.items():
        (specs_dir / name).write_text(text)
    for name, text in {**FILES, "q.csv": Q}.items():
        (raw_dir / name).write_text(text)
    specs, _ = load_specs(specs_dir)
    raw = {f.name: read_form(raw_dir, f) for f in specs.study.forms}
    return map_study(specs, load_terminology(specs.terminology), raw, RunSettings())


def _visits(result):
    qs = result.domains["QS"].frame
    qs = qs[qs["QSTESTCD"] == "ITEM1"]
    return list(zip(qs["USUBJID"].str[-3:], qs["QSDTC"], qs["VISITNUM"], qs["VISIT"]))


def test_unscheduled_label_number_is_the_visit_number(mapped):
    got = _visits(mapped)
    assert ("001", "2026-01-05", 1.1, "UNSCHEDULED 1.1") in got
    assert ("001", "2026-01-12", 2.3, "UNSCHEDULED 2.3") in got
    assert ("002", "2026-01-01", 1.1, "UNSCHEDULED 1.1") in got


def test_unscheduled_without_number_still_follows_the_preceding_visit(mapped):
    got = _visits(mapped)
    assert ("001", "2026-01-14", 2.31, "UNSCHEDULED 2.31") in got


def test_label_number_equal_to_a_planned_visit_is_not_used_and_is_reported(mapped):
    got = _visits(mapped)
    row = next(r for r in got if r[0] == "002" and r[1] == "2026-01-04")
    assert row[2] != 2.0
    warnings = [f for f in mapped.findings if f.code == "MAP-VISIT-UNSCHED-NUMBER"]
    assert warnings and warnings[0].value == "Unscheduled 2" and warnings[0].source_row == 8


def test_label_numbers_reads_the_trailing_number_only():
    import pandas as pd

    from cdisc_dpn.derive.visits import label_numbers

    labels = pd.Series(["Unscheduled 6.1", "UNSCHEDULED 13.1", "Unscheduled", "Unscheduled 2", "Unsch. visit 1.2.3",
                        "Unscheduled 8.2 "])
    numbers, clash = label_numbers(labels, {1.0, 2.0})
    assert numbers.fillna(-1).tolist() == [6.1, 13.1, -1, -1, -1, 8.2]
    assert clash.tolist() == [False, False, False, True, False, False]
