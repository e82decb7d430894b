"""Text results ("NEG", "Negative", any text) in tests whose other results are numbers never crash a stage
(issue 14): define building, XPT checks, validation and unit conversion, fed random text by hypothesis."""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings, strategies as st

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "define"))
sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "validation"))
import define_study as D  # noqa: E402
import sdtm_study as V  # noqa: E402

from cdisc_dpn.define import build_define  # noqa: E402
from cdisc_dpn.define import datatypes as dt  # noqa: E402
from cdisc_dpn.define.checks import check_xsd  # noqa: E402
from cdisc_dpn.define.xmlns import NS  # noqa: E402
from cdisc_dpn.derive.units import UnitTable, convert_result  # noqa: E402
from cdisc_dpn.frames import DomainFrame  # noqa: E402
from cdisc_dpn.spec.model import StudyTerminology, UnitConversion  # noqa: E402
from cdisc_dpn.validation import validate_domains  # noqa: E402
from cdisc_dpn.xpt.checks import check_dataset  # noqa: E402
from cdisc_dpn.xpt.metadata import XptDataset, XptVariable  # noqa: E402

# Any text, plus the shapes that broke or nearly broke the numeric paths: words with an "e" in
# them (parsed as exponents), signs, points, exponents alone, huge exponents, blanks.
awkward = st.sampled_from(["NEG", "Negative", "e", "E5", "1e", "1e999", "-", "+.", ".", "1.2.3", "  ", "<", "<=5e",
                           "nan", "inf", "-Infinity", "1,5", "5 mg", "TRACE", "\u00b15", "\u0663"])
texts = st.one_of(st.text(max_size=12), awkward)
numbers = st.decimals(min_value=-1e6, max_value=1e6, allow_nan=False, places=3).map(str)
mixed_results = st.lists(st.one_of(numbers, texts), min_size=1, max_size=8)
# text a CSV export can hold: a NUL byte makes the file binary, which the reader refuses (READ-NOT-TEXT, tested apart)
csv_texts = st.one_of(st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
                              max_size=12), awkward)


# --------------------------------------------------------------------------- define: data types
@given(texts)
def test_text_decimals_and_parse_number_take_any_text(value):
    assert dt.text_decimals(value) >= 0
    number = dt.parse_number(value)
    assert number is None or math.isfinite(number)


@given(mixed_results)
def test_value_profile_of_mixed_results_is_a_define_type(values):
    data_type, length, sig = dt.char_value_profile("LBORRES", [v for v in values if v != ""])
    assert data_type in dt.DATA_TYPES
    if dt.non_numbers(v for v in values if v != ""):
        assert data_type not in dt.NUMERIC_TYPES


def _define_with_gluc_results(results: list[str]):
    spec = D.specs()
    domains = D.frames(spec)
    lb = domains[1].frame
    rows = len(results)
    frame = pd.concat([lb.iloc[[1]]] * rows, ignore_index=True)
    frame["LBORRES"] = results
    frame["LBSEQ"] = np.arange(rows, dtype=float) + 3
    lb = pd.concat([lb, frame], ignore_index=True)
    domains[1] = DomainFrame(domains[1].spec, lb, pd.DataFrame({"SOURCE_FILE": ["raw.csv"] * len(lb),
                                                                 "SOURCE_ROW": list(range(2, len(lb) + 2))}))
    lengths = D.lengths(domains)
    tree, findings = build_define(spec, D.terminology(spec), domains, lengths, created=D.CREATED)
    return tree, findings, domains, lengths


def test_negative_in_a_float_lab_test_is_described_as_text_with_a_warning():
    tree, findings, domains, lengths = _define_with_gluc_results(["NEG", "Negative"])
    assert check_xsd(tree) == []
    warned = [f for f in findings if f.code == "DEF-DATATYPE-TEXT"]
    assert warned and "'NEG'" in warned[0].message and warned[0].variable == "LBORRES"
    item = tree.getroot().find(".//odm:ItemDef[@OID='IT.LB.LBORRES.GLUC']", NS)
    assert item is not None and item.get("DataType") == "text" and item.get("SignificantDigits") is None
    assert int(item.get("Length")) == len("Negative")


@settings(max_examples=25)
@given(st.lists(texts.filter(lambda t: t.strip() != ""), min_size=1, max_size=3))
def test_define_builds_for_any_text_result_in_a_numeric_test(results):
    tree, findings, domains, lengths = _define_with_gluc_results(results)
    assert check_xsd(tree) == []
    assert not [f for f in findings if f.code == "DEF-DATATYPE-TEXT" and not dt.non_numbers(results)]


# --------------------------------------------------------------------------- unit conversion
TABLE = UnitTable(StudyTerminology(standard_units={"GLUC": "mmol/L"},
                                   unit_conversions=(UnitConversion("GLUC", "mg/dL", "mmol/L", factor=10.0,
                                                                    molecular_weight=180.16),)))


@given(texts, st.sampled_from(["mg/dL", "mmol/L", "", "furlongs"]))
def test_unit_conversion_takes_any_text(value, unit):
    stresc, stresn, problem = convert_result(value, "GLUC", unit, TABLE)
    assert isinstance(stresc, str) and (problem is None or problem.kind in ("unit", "number"))
    assert math.isnan(stresn) or (math.isfinite(stresn) and stresc != "")


# --------------------------------------------------------------------------- XPT checks
META = XptDataset("LB", "Laboratory Test Results", (XptVariable("LBORRES", "Result or Finding in Original Units",
                                                                "Char"),
                                                    XptVariable("LBSTRESN", "Numeric Result/Finding in Standard Units",
                                                                "Num")))


@given(mixed_results)
def test_xpt_checks_take_any_text_result(values):
    frame = pd.DataFrame({"LBORRES": values,
                          "LBSTRESN": pd.to_numeric(pd.Series(values), errors="coerce").astype(float)})
    findings = check_dataset(frame, META)
    assert all(f.code.startswith("XPT-") for f in findings)


# --------------------------------------------------------------------------- validation
def _validate_with_glucose(text: str):
    frames = V.frames()
    lb = frames["LB"]
    first = lb.index[lb["LBTESTCD"] == "GLUC"][1]
    lb.loc[first, ["LBORRES", "LBSTRESC"]] = text
    lb.loc[first, "LBSTRESN"] = np.nan
    return validate_domains(V.domains(frames), V.terminology())


def test_validation_reports_text_in_a_float_test_as_a_finding():
    result = _validate_with_glucose("NEG")
    flagged = [f for f in result.findings if f.dataset == "LB" and f.variable in ("LBORRES", "LBSTRESC")]
    assert flagged and any(f.value == "NEG" for f in flagged)


@settings(max_examples=4)
@given(texts.filter(lambda t: t.strip() != ""))
def test_validation_takes_any_text_result(value):
    result = _validate_with_glucose(value)
    assert result.rules_run > 0


# --------------------------------------------------------------------------- plausibility and the mapping engine
@given(mixed_results)
def test_plausibility_check_takes_any_text_result(values):
    from cdisc_dpn.spec.model import PlausibleRange
    from cdisc_dpn.validation.plausibility import find_out_of_range

    frame = pd.DataFrame({"LBTESTCD": "GLUC", "LBORRES": values, "LBORRESU": "mg/dL",
                          "LBSTRESN": pd.to_numeric(pd.Series(values), errors="coerce"), "LBSTRESU": "mmol/L"})
    hits = find_out_of_range(frame, "LB", (PlausibleRange("GLUC", "mmol/L", 0.5, 60),
                                           PlausibleRange("GLUC", "mg/dL", 10, 1000)))
    for h in hits:                        # only numbers, and only those outside the range, are reported
        assert ((h.values < h.range.low) | (h.values > h.range.high)).all()


@settings(max_examples=15)
@given(st.lists(st.one_of(numbers, csv_texts), min_size=4, max_size=4))
def test_mapping_engine_takes_any_text_in_numeric_items(items):
    """Questionnaire items feed `numeric`, `sum_items` and their comparison: text is a finding, never a crash."""
    import tempfile

    from test_mapping_engine import DM, EX, FILES, QS, STUDY

    from cdisc_dpn.derive.context import RunSettings
    from cdisc_dpn.mapping.engine import map_study
    from cdisc_dpn.raw.readers import read_form
    from cdisc_dpn.spec.loader import load_specs
    from cdisc_dpn.terminology import load_terminology

    clean = [" ".join(str(v).replace('"', "").replace(",", " ").split()) for v in items]
    q = ("SUBJECT,VISIT,DAT,I1,I2,TOT\n"
         f'01-001,Screening,03/01/2026,"{clean[0]}","{clean[1]}","{clean[2]}"\n'
         f'01-002,Screening,04/01/2026,"{clean[3]}",2,5\n')
    with tempfile.TemporaryDirectory() as tmp:
        specs_dir, raw_dir = Path(tmp) / "specs", Path(tmp) / "raw"
        specs_dir.mkdir()
        raw_dir.mkdir()
        for name, text in {"study.yaml": STUDY, "dm.yaml": DM, "ex.yaml": EX, "qs.yaml": QS,
                           "terminology.yaml": "codelists: []\n", "units.yaml": "conversions: []\n"}.items():
            (specs_dir / name).write_text(text)
        for name, text in {**FILES, "q.csv": q}.items():
            (raw_dir / name).write_text(text, encoding="utf-8")
        specs, _ = load_specs(specs_dir)
        raw = {f.name: read_form(raw_dir, f) for f in specs.study.forms}
        result = map_study(specs, load_terminology(specs.terminology), raw, RunSettings())
    assert not [f.render() for f in result.findings if f.code == "MAP-ALGORITHM-FAILED"]
    qs = result.domains["QS"].frame
    assert qs["QSSTRESN"].map(lambda v: isinstance(v, float)).all()
