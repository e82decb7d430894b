"""`spec check` validates the study's collected-value maps (raw value -> CT term) against their codelists."""
from __future__ import annotations

import shutil

from click.testing import CliRunner

from cdisc_dpn.cli import main
from cdisc_dpn.spec.loader import load_specs
from tests.conftest import MAPPINGS


def study_with(tmp_path, old: str, new: str):
    study = tmp_path / "m"
    shutil.copytree(MAPPINGS, study)
    text = (study / "terminology.yaml").read_text(encoding="utf-8")
    assert old in text
    (study / "terminology.yaml").write_text(text.replace(old, new, 1), encoding="utf-8")
    return study, text.replace(old, new, 1).splitlines()


def line_of(lines: list[str], text: str) -> int:
    return next(i for i, line in enumerate(lines, start=1) if text in line)


def test_map_to_a_term_outside_its_codelist_is_a_spec_error_with_file_and_line(tmp_path):
    study, lines = study_with(tmp_path, 'C66742: {"Yes": "Y", "No": "N"}',
                              'C66742: {"Yes": "Y",\n    "No": "NOPE", "Unk": "U"}')
    line = line_of(lines, '"No": "NOPE"')                  # the entry's own line, not the codelist's
    assert line == line_of(lines, "C66742:") + 1
    result = CliRunner().invoke(main, ["spec", "check", str(study)])
    assert result.exit_code == 2, result.output
    errors = [l for l in result.output.splitlines() if "SPEC-COLLECTED-TERM" in l]
    assert len(errors) == 1, result.output                     # "U" is a term of C66742 (NY)
    assert "maps 'No' to 'NOPE'" in errors[0] and f"terminology.yaml:{line}" in errors[0]
    assert "not extensible" in errors[0] or "sponsor extension" in errors[0]


def test_case_slip_is_pointed_at_the_cdisc_spelling(tmp_path):
    study, _ = study_with(tmp_path, '"Years": "YEARS"', '"Years": "Years"')
    result = CliRunner().invoke(main, ["spec", "check", str(study)])
    assert result.exit_code == 2
    assert "write the term exactly as CDISC does: 'YEARS'" in result.output


def test_declared_sponsor_extension_is_a_valid_target(tmp_path):
    study, _ = study_with(tmp_path, '"µV": "uV",', '"µV": "uV", "cells per kg": "cells/kg",')
    specs, findings = load_specs(study)                 # cells/kg: declared under codelists: as an extension
    assert specs.terminology.collected_values["C71620"]["cells per kg"] == "cells/kg"
    assert not [f for f in findings if f.code == "SPEC-COLLECTED-TERM"]


def test_the_study_maps_are_clean():
    _, findings = load_specs(MAPPINGS)
    assert not [f for f in findings if f.code == "SPEC-COLLECTED-TERM"]
