"""Spec check of value maps against CT (issue 14): a map may not turn one CT term into another, nor land
outside the variable's codelists. Runs on a copy of the CDISCPILOT01 specs with the old DS map."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cdisc_dpn.errors import SpecError
from cdisc_dpn.spec.checks import check_specs
from cdisc_dpn.spec.loader import load_specs

PILOT = Path(__file__).resolve().parents[1] / "examples" / "cdiscpilot01"


@pytest.fixture()
def pilot(tmp_path: Path) -> Path:
    target = tmp_path / "cdiscpilot01"
    shutil.copytree(PILOT, target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def _errors(folder: Path, code: str) -> list:
    """The findings with `code` that stop loading the specs (load_specs raises on errors)."""
    with pytest.raises(SpecError) as raised:
        load_specs(folder)
    return [f for f in raised.value.findings if f.code == code]


def test_pilot_specs_are_clean():
    specs, _ = load_specs(PILOT)
    assert [f for f in check_specs(specs) if f.severity.value == "error"] == []


def test_recoding_a_ct_term_to_another_term_is_an_error(pilot):
    _edit(pilot / "ds.yaml", "Protocol Violation: PROTOCOL VIOLATION,", "Protocol Violation: PROTOCOL DEVIATION,")
    found = _errors(pilot, "SPEC-RECODE-CHANGES-TERM")
    assert len(found) == 1
    f = found[0]
    assert f.severity.value == "error" and f.value == "Protocol Violation" and f.variable == "DSDECOD"
    assert "PROTOCOL VIOLATION (C142185)" in f.message and "C66727" in f.message
    assert f.file.endswith("ds.yaml") and f.spec_line is not None


def test_map_target_outside_a_closed_codelist_is_an_error(pilot):
    """AESER (C66742, No Yes Response) is not extensible: a map to 'YES' cannot be submitted."""
    text = (pilot / "terminology.yaml").read_text()
    (pilot / "terminology.yaml").write_text(text.replace('C66742: {"Yes": "Y", "No": "N"}',
                                                         'C66742: {"Yes": "YES", "No": "N"}'))
    # collected_values targets are checked once, by SPEC-COLLECTED-TERM at the entry's line
    assert _errors(pilot, "SPEC-RECODE-TARGET") == []
    found = _errors(pilot, "SPEC-COLLECTED-TERM")
    assert [f.value for f in found] == ["YES"]
    assert "C66742" in found[0].message and "'YES'" in found[0].message


def test_map_target_outside_an_extensible_codelist_is_left_to_validation(pilot):
    _edit(pilot / "ds.yaml", "Lack of Efficacy: LACK OF EFFICACY,", "Lack of Efficacy: NOT WORKING,")
    specs, _ = load_specs(pilot)
    assert not [f for f in check_specs(specs) if f.code == "SPEC-RECODE-TARGET"]


def test_release_dpn_specs_are_clean_with_an_ambiguous_raw_value():
    """RELEASE-DPN maps 'eGFR' to GFREI: 'eGFR' is EGFR's submission value (a receptor) and a synonym of GFRE,
    so which term it means is the spec's choice, not a change of term."""
    specs, _ = load_specs(PILOT.parents[1] / "mappings")
    lbtestcd = specs.dataset("LB").variable("LBTESTCD")
    assert lbtestcd.algorithm.params["map"]["eGFR"] == "GFREI"
    assert not [f for f in check_specs(specs) if f.code.startswith("SPEC-RECODE")]


def test_a_synonym_of_another_term_is_reported(pilot):
    _edit(pilot / "ds.yaml", "Lack of Efficacy: LACK OF EFFICACY,",
          "Lack of Efficacy: LACK OF EFFICACY, Dropout: DEATH,")
    found = _errors(pilot, "SPEC-RECODE-CHANGES-TERM")
    assert [f.value for f in found] == ["Dropout"]      # a synonym of WITHDRAWAL BY SUBJECT only


# --------------------------------------------------------------------------- long_text option
def test_long_text_qnam_clashing_with_a_declared_qualifier_is_an_error(pilot):
    text = (pilot / "ae.yaml").read_text()
    (pilot / "ae.yaml").write_text(text.replace("supplemental:\n", "supplemental:\n  - {qnam: AETERM1, qlabel: Other, "
                                                "origin: Assigned, algorithm: constant, params: {value: X}}\n", 1))
    found = _errors(pilot, "SPEC-LONG-TEXT")
    assert [f.value for f in found] == ["AETERM1"] and f"{found[0].file}".endswith("ae.yaml")


def test_long_text_value_must_be_supp(pilot):
    _edit(pilot / "ae.yaml", "long_text: supp, comment:", "long_text: split, comment:")
    with pytest.raises(SpecError) as raised:
        load_specs(pilot)
    assert any("long_text" in f.message or "split" in (f.value or "") for f in raised.value.findings)
