"""CDISC Open Rules engine: the published test cases of one rule per operator family, the loader,
and the CLI commands (rules test, validate on a CSV folder with a rule subset)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cdisc_dpn.cli import main
from cdisc_dpn.validation.open_rules.casetests import read_expected, run_rule_cases
from cdisc_dpn.validation.open_rules.rulebook import RuleProblem, load_rule, load_rulebook

OPEN_RULES = Path(__file__).resolve().parents[2] / "shared" / "reference" / "cdisc-open-rules"
needs_cases = pytest.mark.skipif(not (OPEN_RULES / "rules").is_dir(),
                                 reason="the CDISC Open Rules test cases are not next to the repository")

# one rule per operator family, each with positive and negative cases
FAMILIES = {
    "CORE-000001": "equal_to / not_equal_to, literal values",
    "CORE-000012": "exists, Dataset sensitivity",
    "CORE-000036": "distinct operation + is_not_contained_by",
    "CORE-000034": "Match Datasets (DM) + column comparator",
    "CORE-000236": "date_greater_than_or_equal_to across a merge",
    "CORE-000204": "is_not_unique_set",
    "CORE-000529": "dy operation + is_complete_date",
    "CORE-000612": "is_inconsistent_across_dataset",
    "CORE-000010": "matches_regex",
}


@needs_cases
@pytest.mark.parametrize("rule_id", sorted(FAMILIES))
def test_rule_cases_flag_exactly_the_expected_records(rule_id):
    rule = load_rule(OPEN_RULES / "rules" / rule_id / "rule.yml")
    assert not isinstance(rule, RuleProblem) and not rule.unsupported
    result = run_rule_cases(rule)
    kinds = {c.case.split("/")[0] for c in result.cases}
    assert kinds == {"positive", "negative"}
    for case in result.cases:
        expected = read_expected(rule.path.parent / case.case / "results" / "results.csv")
        assert case.flagged == expected, (case.case, case.reason)
        assert case.status == "passed"
    assert any(c.expected for c in result.cases)            # the negative case really flags records


def test_shipped_rules_load_with_source_and_licence():
    book = load_rulebook()
    assert len(book.rules) == 331 and book.problems == []
    checked = load_rulebook(check_schema=True)     # a run skips the schema check of the shipped rules: it holds
    assert checked.problems == [] and checked.rules == book.rules
    assert "618ab81d9bb3" in book.source
    assert (book.folder / "LICENSE").read_text().startswith("MIT")
    rule = next(r for r in book.rules if r.id == "CORE-000001")
    assert rule.authority_ids[0] == "CG0176" and rule.applies_to("SDTMIG", "3.4")


def test_bad_rule_is_reported_not_skipped(tmp_path):
    (tmp_path / "CORE-999999").mkdir()
    (tmp_path / "CORE-999999" / "rule.yml").write_text("Core: {Id: CORE-999999}\nCheck: {all: []}\n")
    (tmp_path / "CORE-999998").mkdir()
    (tmp_path / "CORE-999998" / "rule.yml").write_text("Core: [unclosed\n")
    book = load_rulebook(tmp_path)
    assert book.rules == []
    assert {p.rule_id for p in book.problems} == {"CORE-999999", "CORE-999998"}
    assert any("schema" in p.message for p in book.problems)


@needs_cases
def test_rules_test_command_writes_json_and_coverage(tmp_path):
    out, md = tmp_path / "cases.json", tmp_path / "coverage.md"
    res = CliRunner().invoke(main, ["rules", "test", str(OPEN_RULES), "--rule", "CORE-000001,CG0040",
                                    "--json", str(out), "--coverage", str(md), "-q"])
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    assert [r["rule"] for r in doc["rules"]] == ["CORE-000001", "CORE-000012"]
    neg = next(c for c in doc["rules"][0]["cases"] if c["case"] == "negative/01")
    assert neg["flagged"] == neg["expected"] == [["IE", 1], ["IE", 2], ["IE", 3]]
    assert "CORE-000012 (CG0040)" in md.read_text()


@needs_cases
def test_validate_reads_a_csv_folder_and_runs_a_rule_subset(tmp_path):
    data = OPEN_RULES / "rules" / "CORE-000001" / "negative" / "01" / "data"
    res = CliRunner().invoke(main, ["validate", str(data), "--rules", "CORE-000001", "--report", str(tmp_path)])
    report = json.loads((tmp_path / "report.json").read_text())
    rows = sorted(f["row"] for f in report["findings"] if f["code"] == "CORE-000001")
    assert rows == [1, 2, 3]
    assert report["open_rules"]["rules_run"] == 1
    assert res.exit_code == 1


@needs_cases
def test_an_own_rule_yields_to_the_open_rule_checking_the_same_thing(tmp_path):
    """DPN-DM-002 (subject not in DM) is reported once, as CORE-000201 (CG0029), when Open Rules run."""
    data = OPEN_RULES / "rules" / "CORE-000201" / "negative" / "01" / "data"
    expected = {r for d, r in read_expected(data.parent / "results" / "results.csv")}
    for flag, present, absent in (([], "CORE-000201", "DPN-DM-002"), (["--no-open-rules"], "DPN-DM-002", "CORE-000201")):
        out = tmp_path / (flag[0] if flag else "open")
        CliRunner().invoke(main, ["validate", str(data), "--report", str(out), *flag])
        report = json.loads((out / "report.json").read_text())
        codes = {f["code"] for f in report["findings"]}
        assert present in codes and absent not in codes, (flag, sorted(codes))
    report = json.loads((tmp_path / "open" / "report.json").read_text())
    rows = {f["row"] for f in report["findings"] if f["code"] == "CORE-000201"}
    assert rows == expected
    assert all("CG0029" in f["message"] for f in report["findings"] if f["code"] == "CORE-000201")


def test_validate_reads_a_dataset_json_folder(tmp_path):
    """Dataset-JSON 1.1 (columns + rows) is read like XPT: the Open Rule sees the same records."""
    columns = [{"itemOID": f"IT.IE.{n}", "name": n, "label": n, "dataType": t, **({"length": 20} if t == "string" else {})}
               for n, t in (("STUDYID", "string"), ("DOMAIN", "string"), ("USUBJID", "string"),
                            ("IESEQ", "integer"), ("IECAT", "string"), ("IEORRES", "string"))]
    rows = [["S1", "IE", "S1-001", 1, "INCLUSION", "N"], ["S1", "IE", "S1-002", 1, "INCLUSION", "Y"],
            ["S1", "IE", "S1-003", 1, "EXCLUSION", "Y"]]
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "ie.json").write_text(json.dumps({"datasetJSONVersion": "1.1.0", "name": "IE", "label": "IE",
                                                "columns": columns, "rows": rows, "records": 3}))
    res = CliRunner().invoke(main, ["validate", str(folder), "--rules", "CORE-000001", "--report", str(tmp_path / "r")])
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert [f["row"] for f in report["findings"] if f["code"] == "CORE-000001"] == [2]
    assert res.exit_code == 1


@needs_cases
def test_not_applicable_rules_are_listed_with_their_reason_and_typos_reported():
    from cdisc_dpn.validation.open_rules.runs import OpenRulesConfig, run_open_rules
    from cdisc_dpn.validation.open_rules.study import read_csv_folder

    study = read_csv_folder(OPEN_RULES / "rules" / "CORE-000001" / "negative" / "01" / "data")
    config = OpenRulesConfig(ids=("CORE-000001", "CORE-000012"),
                             not_applicable={"CORE-000001": "no inclusion criteria in this study",
                                             "CORE-999999": "typo"})
    outcome = run_open_rules(config, study)
    assert [r.rule.id for r in outcome.runs] == ["CORE-000012"]
    assert outcome.not_run == {"CORE-000001": "not applicable to this study: no inclusion criteria in this study"}
    assert [p.rule_id for p in outcome.problems] == ["CORE-999999"]
    assert outcome.summary()["load_problems"]["CORE-999999"].startswith("validation: not_applicable names")
