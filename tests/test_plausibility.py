"""Plausible result ranges (units.yaml plausible_ranges, rule DPN-PLAUS-001): heights of 4 m and
temperatures of 2.33 C are findings with the raw file/row, the value and the range's spec line (issue 14)."""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "validation"))
sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "define"))
import define_study as D  # noqa: E402
import sdtm_study as V  # noqa: E402

from cdisc_dpn.spec.loader import load_specs  # noqa: E402
from cdisc_dpn.spec.model import PlausibleRange, SpecLocation, StudyTerminology  # noqa: E402
from cdisc_dpn.validation import validate_domains  # noqa: E402
from cdisc_dpn.validation.plausibility import find_out_of_range  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HEIGHT = PlausibleRange("HEIGHT", "cm", 100, 230, where=SpecLocation("units.yaml", 40))
TEMP = PlausibleRange("TEMP", "C", 34, 43, where=SpecLocation("units.yaml", 41))


def _vs(rows):
    return pd.DataFrame(rows, columns=["VSTESTCD", "VSORRES", "VSORRESU", "VSSTRESN", "VSSTRESU"])


def test_unit_slips_are_out_of_range_and_plausible_values_are_not():
    vs = _vs([("HEIGHT", "157", "in", 398.78, "cm"), ("HEIGHT", "66", "in", 167.64, "cm"),
              ("TEMP", "36.2", "F", 2.33, "C"), ("TEMP", "98.6", "F", 37.0, "C"),
              ("TEMP", "NEG", "F", np.nan, "C"), ("TEMP", "", "", np.nan, "")])
    hits = find_out_of_range(vs, "VS", (HEIGHT, TEMP))
    assert [(h.range.testcd, h.variable, h.rows.tolist(), h.values.tolist()) for h in hits] == [
        ("HEIGHT", "VSSTRESN", [0], [398.78]), ("TEMP", "VSSTRESN", [2], [2.33])]


def test_a_range_in_the_original_unit_checks_the_original_result():
    vs = _vs([("TEMP", "36.2", "F", 2.33, "C"), ("TEMP", "98.6", "F", 37.0, "C"), ("TEMP", "high", "F", np.nan, "C")])
    fahrenheit = PlausibleRange("TEMP", "F", 93, 110)
    hits = find_out_of_range(vs, "VS", (fahrenheit,))
    assert [(h.variable, h.rows.tolist()) for h in hits] == [("VSORRES", [0])]


def test_open_ended_range_and_other_domain_are_respected():
    vs = _vs([("HEIGHT", "", "", 10.0, "cm"), ("HEIGHT", "", "", 999.0, "cm")])
    assert [h.rows.tolist() for h in find_out_of_range(vs, "VS", (PlausibleRange("HEIGHT", "cm", low=50),))] == [[0]]
    assert find_out_of_range(vs, "VS", (dataclasses.replace(HEIGHT, domain="LB"),)) == []


def _validated(ranges, severities=None):
    specs = dataclasses.replace(D.specs(), terminology=StudyTerminology(plausible_ranges=ranges))
    return validate_domains(V.domains(), V.terminology(), specs=specs, severities=severities)


def test_finding_carries_raw_row_value_and_range_spec_line():
    glucose = PlausibleRange("GLUC", "mmol/L", 5.2, 30, where=SpecLocation("mappings/units.yaml", 77))
    result = _validated((glucose,))
    found = [f for f in result.findings if f.code == "DPN-PLAUS-001"]
    lb = V.domains()["LB"].frame
    low_rows = lb.index[(lb["LBTESTCD"] == "GLUC") & (lb["LBSTRESN"] < 5.2)].tolist()
    assert len(found) == len(low_rows) == 2
    f = found[0]
    assert f.severity.value == "warning" and f.dataset == "LB" and f.variable == "LBSTRESN" and f.value == "5.1"
    assert f.file == "lb_raw.csv" and f.source_row == low_rows[0] + 2
    assert f.extra["spec"] == "mappings/units.yaml:77"
    assert "GLUC" in f.message and "5.2-30 mmol/L" in f.message
    assert result.rule_counts["DPN-PLAUS-001"].failures == 2


def test_study_severity_makes_it_an_error():
    glucose = PlausibleRange("GLUC", "mmol/L", 5.2, 30)
    result = _validated((glucose,), severities={"DPN-PLAUS-001": "error"})
    assert {f.severity.value for f in result.findings if f.code == "DPN-PLAUS-001"} == {"error"}
    assert not result.passed


@pytest.mark.parametrize("folder", ["mappings", "examples/cdiscpilot01"])
def test_both_studies_declare_height_and_temperature_ranges(folder):
    specs, _ = load_specs(ROOT / folder)
    ranges = {r.testcd: r for r in specs.terminology.plausible_ranges}
    assert (ranges["HEIGHT"].unit, ranges["HEIGHT"].low, ranges["HEIGHT"].high) == ("cm", 100, 230)
    assert (ranges["TEMP"].unit, ranges["TEMP"].low, ranges["TEMP"].high) == ("C", 34, 43)
    assert ranges["TEMP"].where.file.endswith("units.yaml") and ranges["TEMP"].where.line


def test_release_dpn_run_checks_its_ranges_and_the_synthetic_data_is_plausible(pipeline_run):
    import json

    _result, out = pipeline_run
    report = json.loads((out / "report" / "report.json").read_text())
    rule = next(r for r in report["rules"] if r["rule_id"] == "DPN-PLAUS-001")
    assert rule["kind"] == "rule" and rule["failures"] == 0
