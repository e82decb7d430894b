"""study.yaml's define dates are checked like the --created / --data-cutoff options: a cut-off in another
form would otherwise switch the future-date check off without a word."""
from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner

from cdisc_dpn.cli import main
from tests.conftest import MAPPINGS


@pytest.mark.parametrize("old, new, expected", [
    ('data_cutoff: "2030-12-31"', 'data_cutoff: "31/12/2030"', "data_cutoff '31/12/2030' is not an ISO 8601 YYYY-MM-DD"),
    ('created: "2026-11-29T00:00:00"', 'created: "yesterday"', "created 'yesterday' is not an ISO 8601"),
])
def test_study_dates_must_be_iso_8601(tmp_path, old, new, expected):
    study = tmp_path / "m"
    shutil.copytree(MAPPINGS, study)
    text = (study / "study.yaml").read_text(encoding="utf-8")
    assert old in text
    (study / "study.yaml").write_text(text.replace(old, new), encoding="utf-8")
    line = next(i for i, l in enumerate(text.splitlines(), start=1) if old in l)
    result = CliRunner().invoke(main, ["spec", "check", str(study)])
    assert result.exit_code == 2
    assert "SPEC-DEFINE-DATE" in result.output and expected in result.output
    assert f"study.yaml:{line})" in result.output
