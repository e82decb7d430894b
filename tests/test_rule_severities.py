"""A study may set its own severity for a conformance rule (study.yaml `validation: severity:`)."""
import json
import shutil

import pytest
from click.testing import CliRunner

from cdisc_dpn.cli import main
from cdisc_dpn.spec.loader import load_specs
from cdisc_dpn.spec.workbook import export_workbook, import_workbook
from cdisc_dpn.validation.catalogue import load_catalogue, with_severities
from tests.conftest import MAPPINGS


def study_with(tmp_path, severities: str):
    study = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, study)
    # add the severities to the study's own `validation: severity:` block (Open Rules overrides stay)
    pairs = [p.split(":") for p in severities.strip("{} ").split(",") if p.strip()]
    lines = "".join(f"    {k.strip()}: {v.strip()}\n" for k, v in pairs)
    path = study / "study.yaml"
    text = path.read_text(encoding="utf-8")
    assert "\nvalidation:\n" in text and "\n  severity:\n" in text
    path.write_text(text.replace("\n  severity:\n", "\n  severity:\n" + lines, 1), encoding="utf-8")
    return study


def test_override_changes_only_the_named_rules():
    base = load_catalogue()
    changed = with_severities(base, {"DPN-RFIC-002": "warning", "DPN-GX-KEY-UNIQUE": "error"})
    assert changed.describe("DPN-RFIC-002")[0].value == "warning"
    assert changed.expectation("DPN-GX-KEY-UNIQUE").severity.value == "error"
    assert changed.describe("DPN-DM-001") == base.describe("DPN-DM-001")
    with pytest.raises(KeyError, match="DPN-NOPE"):
        with_severities(base, {"DPN-NOPE": "warning"})


def test_severities_survive_the_spec_workbook(tmp_path):
    study = study_with(tmp_path, "{DPN-RFIC-002: warning}")
    export_workbook(study, tmp_path / "s.xlsx")
    import_workbook(tmp_path / "s.xlsx", tmp_path / "back")
    specs, _ = load_specs(tmp_path / "back")
    original, _ = load_specs(study)
    assert specs.study.validation == original.study.validation
    assert specs.study.validation["severity"]["DPN-RFIC-002"] == "warning"
    assert "CORE-000191" in specs.study.validation["not_applicable"]


def test_unknown_rule_or_level_is_refused(tmp_path, synth_raw):
    result = CliRunner().invoke(main, ["run", "--study", str(study_with(tmp_path, "{DPN-TYPO-001: warning}")),
                                       "--raw", str(synth_raw), "--out", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 2 and "SPEC-RULE-UNKNOWN" in result.output and "DPN-TYPO-001" in result.output
    other = tmp_path / "other"
    other.mkdir()
    result = CliRunner().invoke(main, ["spec", "check", str(study_with(other, "{DPN-RFIC-002: fatal}"))])
    assert result.exit_code == 2 and "SPEC-SCHEMA" in result.output


def test_validate_and_define_refuse_unknown_rules_like_run(tmp_path):
    """Every CLI command that loads the specs goes through pipeline.load_study_specs: the same check."""
    study = study_with(tmp_path, "{DPN-TYPO-001: warning}")
    data = tmp_path / "sdtm"
    data.mkdir()
    for args in (["validate", str(data), "--study", str(study), "--report", str(tmp_path / "report")],
                 ["define", "--spec", str(study), "--data", str(data), "--out", str(tmp_path / "define.xml")]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2 and "SPEC-RULE-UNKNOWN" in result.output, (args[0], result.output)


@pytest.mark.slow
def test_run_reports_the_study_severity(tmp_path, synth_raw):
    study = study_with(tmp_path, "{DPN-RFIC-002: warning}")
    result = CliRunner().invoke(main, ["run", "--study", str(study), "--raw", str(synth_raw),
                                       "--out", str(tmp_path / "out"), "-q", "--no-dataset-json"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report" / "report.json").read_text())
    rule = next(r for r in report["rules"] if r["rule_id"] == "DPN-RFIC-002")
    assert rule["severity"] == "warning" and rule["failures"] > 0
    assert {f["severity"] for f in report["findings"] if f["code"] == "DPN-RFIC-002"} == {"warning"}
