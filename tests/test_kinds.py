"""One owner for variable kinds and numbers as text (cdisc_dpn.standards.kinds): Define-XML types,
the validation suites, the readers and the mapping agree, and agree with SDTMIG's value domains."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from cdisc_dpn.compare.core import normalise
from cdisc_dpn.define import datatypes as dt
from cdisc_dpn.raw.cells import cell_text
from cdisc_dpn.standards.kinds import (
    DURATION, char_kind, is_duration_name, number_text, number_texts, parse_number,
)
from cdisc_dpn.standards.sdtmig import load_sdtmig
from cdisc_dpn.validation.runner import value_text

SDTMIG_CHAR = [(d.name, v) for d in load_sdtmig().values() for v in d.variables if v.type == "Char"]


def test_every_sdtmig_duration_is_a_define_duration():
    durations = [v.name for _, v in SDTMIG_CHAR if "duration" in v.value_domain.lower()]
    assert {"PPSTINT", "PPENINT", "CMDUR", "EXELTM", "TDTGTPAI"} <= set(durations)
    assert [n for n in durations if dt.char_type(n, ["P1D"]) != "durationDatetime"] == []


def test_every_sdtmig_datetime_is_a_define_date():
    dates = [v.name for _, v in SDTMIG_CHAR if v.value_domain.startswith("ISO 8601 datetime")]
    assert dates and all(dt.char_type(n, ["2024-01-02"]) == "date" for n in dates)
    assert all(dt.char_type(n, ["2024-01-02T10:00"]) == "datetime" for n in dates)


def test_plain_text_variables_stay_text():
    assert dt.char_type("AETERM", ["x"]) == "text" and dt.char_type("DUR", ["x"]) == "text"
    assert char_kind("CMENINT") == DURATION and not is_duration_name("ENINT")


def test_suites_check_the_same_variables_as_durations_that_define_types_durationDatetime():
    """The disagreement of issue 17: define typed STINT/ENINT as text while validation wanted durations."""
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "validation"))
    import sdtm_study as st
    from cdisc_dpn.validation.suites import build_suite

    frame = pd.DataFrame({"STUDYID": ["S"], "DOMAIN": ["AE"], "USUBJID": ["S-1"], "AESEQ": [1.0],
                          "AETERM": ["x"], "AESTDTC": ["2024-01-02"], "AEDUR": ["P1D"], "AESTINT": ["-P2D"],
                          "AEENINT": ["P3D"]})
    spec, _ = st.spec_for("AE", frame)
    suite = build_suite(spec, st.terminology())
    checked = {e["kwargs"]["column"] for e in suite["expectations"] if e["meta"]["rule_id"] == "DPN-GX-ISO8601-DUR"}
    typed = {c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c]) and dt.char_type(c, []) == "durationDatetime"}
    assert checked == typed == {"AEDUR", "AESTINT", "AEENINT"}


@pytest.mark.parametrize("value, text", [(1.0, "1"), (-0.0, "0"), (66.0, "66"), (0.1, "0.1"), (1.5e-7, "1.5e-07"),
                                         (1234567890123456.0, "1234567890123456"), (1e16, "1e+16"),
                                         (float("inf"), "inf")])
def test_number_text_is_the_same_everywhere(value, text):
    assert number_text(value) == text
    assert cell_text(value) == text            # raw readers
    assert value_text(value) == text           # validation finding values
    assert normalise(value) == text            # compare


def test_number_texts_of_a_column():
    out = number_texts(pd.Series([1.0, float("nan"), 2.5, 1.0]))
    assert out.tolist() == ["1", "", "2.5", "1"]


@pytest.mark.parametrize("text, number", [("1", 1.0), (" -0.5 ", -0.5), ("1e3", 1000.0), (".5", 0.5),
                                          ("NEG", None), ("1,5", None), ("1e999", None), ("nan", None),
                                          ("\u0661\u0662", None)])
def test_parse_number(text, number):
    got = parse_number(text)
    assert got == number or (got is None and number is None)
    assert number is None or math.isfinite(got)
