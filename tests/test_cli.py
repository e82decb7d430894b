"""The command line: exit codes 0 / 1 / 2 and messages that say what, where and what to do."""
from __future__ import annotations

import shutil

import pyreadstat
import pytest
from click.testing import CliRunner

from cdisc_dpn.cli import main
from tests.conftest import MAPPINGS


def invoke(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_synth_writes_forms_deterministically(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert invoke("synth", "--out", a, "--subjects", 8, "--seed", 3).exit_code == 0
    assert invoke("synth", "--out", b, "--subjects", 8, "--seed", 3).exit_code == 0
    names = sorted(p.name for p in a.iterdir())
    assert "dm.csv" in names and "lab.xlsx" in names and "rand.xpt" in names and "data_dictionary.csv" in names
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_usage_errors_exit_2():
    assert invoke("run").exit_code == 2
    assert invoke("synth", "--out", "x", "--subjects", "-1").exit_code == 2
    assert invoke("no-such-command").exit_code == 2


def test_spec_check_passes_on_the_study_specs():
    result = invoke("spec", "check", MAPPINGS)
    assert result.exit_code == 0, result.output
    assert "dataset specs" in result.output


def test_spec_check_exit_2_lists_every_problem(tmp_path):
    study = tmp_path / "m"
    shutil.copytree(MAPPINGS, study)
    text = (study / "dm.yaml").read_text()
    text = text.replace("algorithm: study_id", "algorithm: studyid_please", 1)
    text = text.replace("codelist: C66731", "codelist: C00000", 1)
    (study / "dm.yaml").write_text(text)
    result = invoke("spec", "check", study)
    assert result.exit_code == 2
    assert "SPEC-ALGO-UNKNOWN" in result.output and "SPEC-CODELIST-UNKNOWN" in result.output
    assert "dm.yaml:" in result.output


def test_raw_folder_missing_exits_2(tmp_path):
    result = invoke("run", "--study", MAPPINGS, "--raw", tmp_path / "nope", "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert "READ-MISSING" in result.output


@pytest.mark.slow
def test_validate_and_define_on_a_written_folder(pipeline_run, tmp_path):
    _, out = pipeline_run
    # with the study: its validation overrides (Open Rules notices, not_applicable) apply as in `run`
    result = invoke("validate", out / "sdtm", "--define", out / "sdtm" / "define.xml", "--study", MAPPINGS,
                    "--report", tmp_path / "rep")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "rep" / "report.html").is_file()
    result = invoke("define", "--spec", MAPPINGS, "--data", out / "sdtm", "--out", tmp_path / "define.xml")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "define.html").is_file()


@pytest.mark.slow
def test_validate_exit_1_on_a_foreign_folder_with_errors(tmp_path):
    import pandas as pd

    folder = tmp_path / "foreign"
    folder.mkdir()
    dm = pd.DataFrame({"STUDYID": ["S", "S"], "DOMAIN": ["DM", "DM"], "USUBJID": ["S-1", "S-1"],
                       "SUBJID": ["1", "1"], "SITEID": ["01", "01"], "SEX": ["M", "X"], "COUNTRY": ["CHN", "CHN"],
                       "ARMCD": ["A", "A"], "ARM": ["Arm A", "Arm A"], "ACTARMCD": ["A", "A"],
                       "ACTARM": ["Arm A", "Arm A"]})
    pyreadstat.write_xport(dm, str(folder / "dm.xpt"), table_name="DM", file_format_version=5)
    result = invoke("validate", folder, "--report", tmp_path / "rep")
    assert result.exit_code == 1, result.output
    assert "DPN-DM-001" in (tmp_path / "rep" / "report.json").read_text()


def test_validate_empty_folder_exits_2(tmp_path):
    assert invoke("validate", tmp_path).exit_code == 2
