"""Standard results and units: conversions both ways, qualified and text results, molecular weights."""
from __future__ import annotations

import math

import pytest

from cdisc_dpn.derive.units import UnitTable, convert_result, effective_factor, format_number
from cdisc_dpn.spec.model import StudyTerminology, UnitConversion


def _table(standard: dict, conversions: list[UnitConversion]) -> UnitTable:
    return UnitTable(StudyTerminology(standard_units=standard, unit_conversions=tuple(conversions)))


SI = _table({"GLUC": "mmol/L", "CREAT": "umol/L", "BILI": "umol/L", "HBA1C": "%", "HGB": "g/L"}, [
    UnitConversion("GLUC", "mg/dL", "mmol/L", 10, molecular_weight=180.16),
    UnitConversion("CREAT", "mg/dL", "umol/L", 88.42),
    UnitConversion("BILI", "mg/dL", "umol/L", 10000, molecular_weight=584.66),
    UnitConversion("HBA1C", "mmol/mol", "%", 0.09148, offset=2.152),
    UnitConversion("HGB", "g/dL", "g/L", 10),
])
# the same tests with conventional units as the standard (the other direction)
CONVENTIONAL = _table({"GLUC": "mg/dL", "CREAT": "mg/dL", "HBA1C": "mmol/mol", "HGB": "g/dL"}, [
    UnitConversion("GLUC", "mmol/L", "mg/dL", 0.1, molecular_weight=180.16),
    UnitConversion("CREAT", "umol/L", "mg/dL", 1 / 88.42),
    UnitConversion("HBA1C", "%", "mmol/mol", 10.929, offset=-23.5),
    UnitConversion("HGB", "g/L", "g/dL", 0.1),
])


@pytest.mark.parametrize("value, test, unit, stresc, stresn", [
    ("126", "GLUC", "mg/dL", "6.99", 6.99),          # 126 / 18.016
    ("7.0", "GLUC", "mmol/L", "7", 7.0),             # already standard
    ("1.00", "CREAT", "mg/dL", "88.42", 88.42),
    ("1.2", "BILI", "mg/dL", "20.52", 20.52),        # x 17.104
    ("53", "HBA1C", "mmol/mol", "7", 7.0),           # 0.09148 x 53 + 2.152 = 7.00
    ("13.5", "HGB", "g/dL", "135", 135.0),
])
def test_conventional_to_si(value, test, unit, stresc, stresn):
    c, n, problem = convert_result(value, test, unit, SI, digits=2)
    assert (c, n, problem) == (stresc, stresn, None)


@pytest.mark.parametrize("value, test, unit, stresn", [
    ("7", "GLUC", "mmol/L", 126.11),                 # x 18.016
    ("88.42", "CREAT", "umol/L", 1.0),
    ("7.0", "HBA1C", "%", 53.0),
    ("135", "HGB", "g/L", 13.5),
])
def test_si_to_conventional(value, test, unit, stresn):
    assert convert_result(value, test, unit, CONVENTIONAL, digits=2)[1] == pytest.approx(stresn, abs=0.01)


def test_round_trip_is_identity_within_rounding():
    si = convert_result("150", "GLUC", "mg/dL", SI, digits=6)[1]
    back = convert_result(str(si), "GLUC", "mmol/L", CONVENTIONAL, digits=6)[1]
    assert back == pytest.approx(150, abs=1e-3)


@pytest.mark.parametrize("value, stresc", [("<0.2", "<3.42"), (">2", ">34.21"), ("<=0.5", "<=8.55"), ("< 0.2", "<3.42")])
def test_qualified_results_keep_their_qualifier_and_have_no_number(value, stresc):
    c, n, problem = convert_result(value, "BILI", "mg/dL", SI, digits=2)
    assert c == stresc and math.isnan(n) and problem is None


@pytest.mark.parametrize("value", ["NEGATIVE", "Negative", "positive", "NR"])
def test_text_results_are_kept_upper_case_without_number_or_unit_check(value):
    c, n, problem = convert_result(value, "HCG", "", SI)
    assert c == value.upper() and math.isnan(n) and problem is None


def test_unknown_unit_is_a_problem_not_a_guess():
    c, n, problem = convert_result("5", "GLUC", "g/L", SI)
    assert c == "" and math.isnan(n) and problem.kind == "unit" and "g/L" in problem.text


def test_empty_result_gives_nothing():
    assert convert_result("", "GLUC", "mg/dL", SI)[0] == ""


def test_units_compare_case_and_blank_insensitively():
    assert SI.conversion("gluc", " MG/DL ") == SI.conversion("GLUC", "mg/dL")
    assert SI.conversion("GLUC", "MMOL/L") == (1.0, 0.0)


def test_molecular_weight_divides_mass_to_molar_and_multiplies_molar_to_mass():
    assert effective_factor(10, 180.16, "mg/dL", "mmol/L") == pytest.approx(1 / 18.016)
    assert effective_factor(0.1, 180.16, "mmol/L", "mg/dL") == pytest.approx(18.016)
    assert effective_factor(2.0, 50.0, "g/L", "g/dL") == 2.0       # no molar side: weight unused
    assert effective_factor(3.0, None, "mg/dL", "mmol/L") == 3.0


def test_format_number_is_deterministic():
    assert format_number(6.99400) == "6.994" and format_number(-0.00001) == "0" and format_number(float("nan")) == ""


def test_a_result_beyond_any_double_is_a_number_problem_not_infinity():
    c, n, problem = convert_result("1E310", "GLUC", "mg/dL", SI)
    assert c == "" and math.isnan(n) and problem.kind == "number"
