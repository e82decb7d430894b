"""Property-based checks of the unit converter and the death flag on any input."""
import math

import numpy as np
import pandas as pd
from hypothesis import assume, given, strategies as st

from cdisc_dpn.derive.units import UnitTable, convert_result, format_number
from cdisc_dpn.spec.model import StudyTerminology, UnitConversion

TABLE = UnitTable(StudyTerminology(
    standard_units={"GLUC": "mmol/L", "HBA1C": "%"},
    unit_conversions=(UnitConversion("GLUC", "mg/dL", "mmol/L", factor=10.0, molecular_weight=180.16),
                      UnitConversion("HBA1C", "mmol/mol", "%", factor=0.09148, offset=2.152))))

values = st.floats(min_value=0.001, max_value=1e5, allow_nan=False, allow_infinity=False)


@given(values)
def test_standard_unit_is_identity(x):
    text = format_number(x, 4)
    assume(float(text) > 0)
    stresc, stresn, problem = convert_result(text, "GLUC", "mmol/L", TABLE)
    assert problem is None and stresc == text and stresn == float(text)


@given(values)
def test_conversion_matches_the_factor_and_molecular_weight(x):
    text = format_number(x, 3)
    stresc, stresn, problem = convert_result(text, "GLUC", "mg/dL", TABLE)
    expected = float(text) * 10.0 / 180.16
    assert problem is None
    assert math.isclose(stresn, expected, abs_tol=6e-5)  # 4-decimal rounding plus float noise
    assert float(stresc) == stresn


@given(values)
def test_affine_conversion_and_both_units_agree(x):
    text = format_number(x, 2)
    _, from_ifcc, _ = convert_result(text, "HBA1C", "mmol/mol", TABLE)
    assert math.isclose(from_ifcc, float(text) * 0.09148 + 2.152, abs_tol=6e-5)  # 4-decimal rounding plus float noise
    _, same, _ = convert_result(format_number(from_ifcc, 4), "HBA1C", "%", TABLE)
    assert math.isclose(same, from_ifcc, abs_tol=6e-5)  # 4-decimal rounding plus float noise


@given(values, st.sampled_from(["<", ">", "<=", ">="]))
def test_qualified_results_keep_the_qualifier_and_have_no_number(x, op):
    text = format_number(x, 3)
    stresc, stresn, problem = convert_result(f"{op}{text}", "GLUC", "mg/dL", TABLE)
    assert problem is None and stresc.startswith(op) and np.isnan(stresn)
    assert math.isclose(float(stresc[len(op):]), float(text) * 10.0 / 180.16, abs_tol=6e-5)  # 4-decimal rounding plus float noise


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=15))
def test_converter_never_raises_and_never_invents_a_number(text):
    stresc, stresn, problem = convert_result(text, "GLUC", "mg/dL", TABLE)
    if not np.isnan(stresn):
        float(text.strip())                       # a number out only when a plain number came in


def test_unknown_unit_is_a_problem_not_a_guess():
    assert convert_result("5", "GLUC", "g/L", TABLE)[2].kind == "unit"


def test_death_flag_from_date_or_reason():
    from cdisc_dpn.derive.reference_dates import flag_if_any

    class Ctx:
        src = pd.DataFrame(index=range(3))

        def value(self, params):
            return pd.Series({"DTHDTC": ["2026-03-01", "", ""], "REASON": ["", "Death", "Completed"]}[
                params.get("variable") or params.get("column")])

    flags = flag_if_any(Ctx(), {"inputs": [{"variable": "DTHDTC"}, {"column": "REASON", "in": ["DEATH"]}]}, None)
    assert flags.tolist() == ["Y", "Y", ""]


def test_committed_expectation_suites_match_the_specs(tmp_path):
    """validation/suites/ is generated from mappings/ by `cdisc-dpn suites`; it must not drift."""
    from pathlib import Path

    from cdisc_dpn.spec.loader import load_specs
    from cdisc_dpn.terminology import load_terminology
    from cdisc_dpn.validation import write_suites

    root = Path(__file__).resolve().parents[1]
    specs, _ = load_specs(root / "mappings")
    written = write_suites(specs, load_terminology(specs.terminology), tmp_path)
    assert written
    for path in written:
        committed = root / "validation" / "suites" / path.name
        assert committed.is_file(), f"{committed.name} missing: run cdisc-dpn suites"
        assert committed.read_text() == path.read_text(), f"{committed.name} is stale: run cdisc-dpn suites"


from datetime import date as _date, timedelta as _timedelta  # noqa: E402


@given(st.lists(st.tuples(st.dates(min_value=_date(1950, 1, 1), max_value=_date(2080, 1, 1)),
                          st.integers(-900, 900), st.sampled_from(["full", "partial", "empty", "time"])),
                min_size=1, max_size=20))
def test_vectorised_study_day_matches_the_scalar_rule(rows):
    from cdisc_dpn.derive.dates import study_day
    from cdisc_dpn.derive.study_day import derive_study_day

    events, refs = [], []
    for ref, offset, kind in rows:
        event = ref + _timedelta(days=offset)
        text = {"full": event.isoformat(), "partial": event.isoformat()[:7], "empty": "",
                "time": event.isoformat() + "T10:30"}[kind]
        events.append(text)
        refs.append(ref.isoformat())
    got = derive_study_day(pd.Series(events), pd.Series(refs)).tolist()
    expected = [study_day(e, r) for e, r in zip(events, refs)]
    assert [None if math.isnan(g) else int(g) for g in got] == expected
