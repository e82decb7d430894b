"""Semantic spec checks: one test per kind of mistake, each with file, line, stable code and fix."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cdisc_dpn.errors import Severity, SpecError
from cdisc_dpn.derive.catalogue import Algorithm
from cdisc_dpn.derive.catalogue import known_algorithms
from cdisc_dpn.spec.checks import check_specs
from cdisc_dpn.spec.loader import load_specs

FIXTURE = Path(__file__).parent / "fixtures" / "specs" / "minimal"


def _algo(name: str, required=(), optional=(), kind="variable") -> Algorithm:
    return Algorithm(name, lambda *a: None, frozenset(required), frozenset(optional), "row", name, kind)


FAKE_ALGORITHMS = {a.name: a for a in (
    _algo("assign", optional=("column", "variable", "upper")),
    _algo("constant", required=("value",)),
    _algo("study_id"), _algo("domain"), _algo("usubjid", optional=("column", "variable", "separator")), _algo("seq"),
    _algo("visitnum", required=("column",)),
    _algo("recode", optional=("column", "variable", "codelist", "map", "unknown")),
    _algo("numeric", optional=("column", "variable")),
    _algo("when", required=("cases",), optional=("default",)),
    _algo("sum_items", required=("group_by", "items", "results", "set", "value"), optional=("copy",), kind="records"),
    _algo("lookup", required=("form", "key", "value"), optional=("on", "first")),
    _algo("trial_arms", kind="source"),
)}


@pytest.fixture()
def spec_dir(tmp_path: Path) -> Path:
    target = tmp_path / "mappings"
    shutil.copytree(FIXTURE, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(path: Path, needle: str, nth: int = 1) -> int:
    hits = [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1) if needle in line]
    return hits[nth - 1]


def findings_of(spec_dir: Path, severity: Severity | None = Severity.ERROR) -> list:
    specs, _ = load_specs(spec_dir, semantic_checks=False)
    found = check_specs(specs, FAKE_ALGORITHMS)
    return [f for f in found if severity is None or f.severity is severity]


def only(found: list, code: str):
    hits = [f for f in found if f.code == code]
    assert len(hits) == 1, [f.render() for f in found]
    assert hits[0].fix and hits[0].stage == "spec"
    return hits[0]


def test_fixture_is_clean(spec_dir):
    assert findings_of(spec_dir, None) == []


def test_unknown_algorithm_lists_known_ones(spec_dir):
    edit(spec_dir / "dm.yaml", "    algorithm: usubjid\n", "    algorithm: usubjd\n")
    found = findings_of(spec_dir)
    f = only(found, "SPEC-ALGO-UNKNOWN")
    assert "usubjd" in f.message and "assign" in f.message and "usubjid" in f.message
    assert (f.file, f.spec_line) == ("dm.yaml", line_of(spec_dir / "dm.yaml", "algorithm: usubjd"))
    assert (f.dataset, f.variable) == ("DM", "USUBJID")


def test_missing_required_param(spec_dir):
    edit(spec_dir / "dm.yaml", "    algorithm: domain\n", "    algorithm: constant\n")
    f = only(findings_of(spec_dir), "SPEC-ALGO-PARAM-MISSING")
    assert "'value'" in f.message and f.variable == "DOMAIN"
    assert f.spec_line == line_of(spec_dir / "dm.yaml", "algorithm: constant")


def test_unknown_param(spec_dir):
    edit(spec_dir / "dm.yaml", "    params: {column: SITE}", "    params: {colum: SITE}")
    f = only(findings_of(spec_dir), "SPEC-ALGO-PARAM-UNKNOWN")
    assert "colum" in f.message and "column" in f.fix


def test_unknown_generator(spec_dir):
    edit(spec_dir / "ta.yaml", "generate: trial_arms", "generate: trial_armz")
    f = only(findings_of(spec_dir), "SPEC-ALGO-UNKNOWN")
    assert f.file == "ta.yaml" and f.dataset == "TA"


def test_variable_not_in_sdtmig(spec_dir):
    edit(spec_dir / "vs.yaml", "    sponsor_defined: true\n", "")
    f = only(findings_of(spec_dir), "SPEC-VAR-NOT-IN-SDTMIG")
    assert f.variable == "VSPOSX" and "supplemental" in f.fix
    assert f.spec_line == line_of(spec_dir / "vs.yaml", "name: VSPOSX")


def test_req_variable_missing(spec_dir):
    dm = spec_dir / "dm.yaml"
    text = dm.read_text(encoding="utf-8")
    start = text.index("  - name: COUNTRY")
    end = text.index("  - name: RACE")
    dm.write_text(text[:start] + text[end:], encoding="utf-8")
    f = only(findings_of(spec_dir), "SPEC-VAR-REQ-MISSING")
    assert f.variable == "COUNTRY" and f.spec_line == line_of(dm, "dataset:") + 1


def test_label_and_type_differing_are_warnings(spec_dir):
    edit(spec_dir / "dm.yaml", "    label: Sex\n", "    label: Gender\n")
    edit(spec_dir / "vs.yaml", "    label: Sequence Number\n    type: Num", "    label: Sequence Number\n    type: Char")
    assert findings_of(spec_dir) == []
    warnings = findings_of(spec_dir, Severity.WARNING)
    label = only(warnings, "SPEC-VAR-LABEL")
    assert "Gender" in label.message and label.fix == "use label: Sex"
    assert only(warnings, "SPEC-VAR-TYPE").variable == "VSSEQ"
    # warnings do not stop the loader
    load_specs(spec_dir, algorithms=FAKE_ALGORITHMS)


def test_unknown_codelist(spec_dir):
    edit(spec_dir / "dm.yaml", "    codelist: RACE\n", "    codelist: RACEX\n")
    f = only(findings_of(spec_dir), "SPEC-CODELIST-UNKNOWN")
    assert f.value == "RACEX" and f.spec_line == line_of(spec_dir / "dm.yaml", "name: RACE")


def test_sponsor_codelist_is_known(spec_dir):
    # value-level codelist YNX exists only in terminology.yaml
    assert not [f for f in findings_of(spec_dir) if f.code == "SPEC-CODELIST-UNKNOWN"]
    edit(spec_dir / "terminology.yaml", "  - id: YNX", "  - id: YNZ")
    found = findings_of(spec_dir)
    assert [f.code for f in found] == ["SPEC-CODELIST-UNKNOWN"] * 2   # value level + supplemental


def test_codelist_extends_non_extensible_or_unknown(spec_dir):
    edit(spec_dir / "terminology.yaml", "extends: C71620", "extends: C66731")
    f = only(findings_of(spec_dir), "SPEC-CODELIST-NOT-EXTENSIBLE")
    assert f.file == "terminology.yaml" and f.spec_line == 2
    edit(spec_dir / "terminology.yaml", "extends: C66731", "extends: C99999999")
    only(findings_of(spec_dir), "SPEC-CODELIST-EXTENDS")


def test_undeclared_form(spec_dir):
    edit(spec_dir / "dm.yaml", "  form: enrol\n", "  form: enroll\n")
    f = only(findings_of(spec_dir), "SPEC-FORM-UNDECLARED")
    assert "enroll" in f.message and "enrol" in f.message and f.spec_line == line_of(spec_dir / "dm.yaml", "form: enroll")


def test_undeclared_join_and_stack_forms(spec_dir):
    edit(spec_dir / "dm.yaml", "    - form: demog", "    - form: demo")
    edit(spec_dir / "vs.yaml", "    - form: vitals_unsched", "    - form: vitals_unshed")
    found = [f for f in findings_of(spec_dir) if f.code == "SPEC-FORM-UNDECLARED"]
    assert [(f.file, f.value) for f in found] == [("dm.yaml", "demo"), ("vs.yaml", "vitals_unshed")]
    assert found[1].spec_line == line_of(spec_dir / "vs.yaml", "form: vitals_unshed")


def test_excluded_form_used_is_a_warning(spec_dir):
    edit(spec_dir / "dm.yaml", "    - form: demog", "    - form: admin")
    only(findings_of(spec_dir, Severity.WARNING), "SPEC-FORM-EXCLUDED")


def test_bad_key_reference(spec_dir):
    edit(spec_dir / "vs.yaml", "  sort: [USUBJID, VISITNUM, VSTESTCD]", "  sort: [USUBJID, VISITNUM, VSTESTCD, VSDTC]")
    f = only(findings_of(spec_dir), "SPEC-KEY-UNKNOWN")
    assert f.variable == "VSDTC" and "sort" in f.message


def test_key_reported_once_when_sort_defaults_to_keys(spec_dir):
    edit(spec_dir / "dm.yaml", "  keys: [STUDYID, USUBJID]", "  keys: [STUDYID, USUBJID, DMSEQ]")
    only(findings_of(spec_dir), "SPEC-KEY-UNKNOWN")


def test_value_level_variable_not_in_dataset(spec_dir):
    edit(spec_dir / "vs.yaml", "  - variable: VSORRES\n    where: {VSTESTCD: SYSBP}",
         "  - variable: VSSTRESN\n    where: {VSTESTCD: SYSBP}")
    f = only(findings_of(spec_dir), "SPEC-VLM-VARIABLE")
    assert f.variable == "VSSTRESN" and f.spec_line == line_of(spec_dir / "vs.yaml", "variable: VSSTRESN")


def test_duplicate_variable(spec_dir):
    edit(spec_dir / "dm.yaml", "  - name: SITEID", "  - name: SUBJID")
    found = findings_of(spec_dir)
    f = only(found, "SPEC-VAR-DUPLICATE")
    assert f.variable == "SUBJID" and f.spec_line == line_of(spec_dir / "dm.yaml", "name: SUBJID", 2)


def test_duplicate_dataset(spec_dir):
    edit(spec_dir / "study.yaml", "  - ta.yaml", "  - ta.yaml\n  - ta2.yaml")
    shutil.copy(spec_dir / "ta.yaml", spec_dir / "ta2.yaml")
    f = only(findings_of(spec_dir), "SPEC-DATASET-DUPLICATE")
    assert f.file == "ta2.yaml"


def test_duplicate_qnam_and_bad_idvar(spec_dir):
    vs = spec_dir / "vs.yaml"
    text = vs.read_text(encoding="utf-8")
    start, end = text.index("  - qnam: VSUNSCH"), text.index("derived_records:")
    block = text[start:end].replace("idvar: VSSEQ", "idvar: VSGRPID")
    vs.write_text(text[:end] + block + text[end:], encoding="utf-8")
    found = findings_of(spec_dir)
    assert only(found, "SPEC-QNAM-DUPLICATE").variable == "VSUNSCH"
    assert only(found, "SPEC-SUPP-IDVAR").value == "VSGRPID"


def test_unit_conversion_without_standard_unit(spec_dir):
    edit(spec_dir / "units.yaml", "  GLUC: mmol/L", "  GLUCOSE: mmol/L")
    f = only(findings_of(spec_dir), "SPEC-UNIT-NO-STANDARD")
    assert f.file == "units.yaml" and f.spec_line == line_of(spec_dir / "units.yaml", "- testcd: GLUC")


def test_trial_design_references(spec_dir):
    edit(spec_dir / "study.yaml", "elements: [SCRN, TRTA]", "elements: [SCRN, TRTB]")
    edit(spec_dir / "study.yaml", "  - visitnum: 2", "  - visitnum: 1")
    found = findings_of(spec_dir)
    assert only(found, "SPEC-ARM-ELEMENT").value == "TRTB"
    assert only(found, "SPEC-VISIT-DUPLICATE").file == "study.yaml"


def test_algorithm_form_parameter_must_be_declared(spec_dir):
    edit(spec_dir / "dm.yaml", "    algorithm: assign\n    params: {column: SITE}",
         "    algorithm: lookup\n    params: {form: randomisation, key: SUBJECT, value: SITE}")
    f = only(findings_of(spec_dir), "SPEC-FORM-UNDECLARED")
    assert f.variable == "SITEID" and "randomisation" in f.message


def test_source_without_form_stack_or_generate(spec_dir):
    edit(spec_dir / "ta.yaml", "source:\n  generate: trial_arms", "source:\n  filter: []")
    only(findings_of(spec_dir), "SPEC-SOURCE-EMPTY")


def test_all_mistakes_in_one_spec_error(spec_dir):
    edit(spec_dir / "dm.yaml", "  form: enrol\n", "  form: enroll\n")
    edit(spec_dir / "dm.yaml", "    codelist: RACE\n", "    codelist: RACEX\n")
    edit(spec_dir / "vs.yaml", "    sponsor_defined: true\n", "")
    with pytest.raises(SpecError) as info:
        load_specs(spec_dir, algorithms=FAKE_ALGORITHMS)
    errors = [f for f in info.value.findings if f.severity is Severity.ERROR]
    assert sorted(f.code for f in errors) == ["SPEC-CODELIST-UNKNOWN", "SPEC-FORM-UNDECLARED",
                                              "SPEC-VAR-NOT-IN-SDTMIG"]
    assert all(f.file and f.spec_line and f.fix for f in errors)


def test_explicit_algorithm_table(spec_dir):
    specs, _ = load_specs(spec_dir, semantic_checks=False)
    assert check_specs(specs, algorithms=FAKE_ALGORITHMS) == []
    found = check_specs(specs, algorithms={})
    assert {f.code for f in found} == {"SPEC-ALGO-UNKNOWN"} and "(none registered)" in found[0].message


def test_real_registry_is_complete_so_algorithm_names_are_always_checked():
    # The installed package must give the spec checks its whole algorithm table; the notice path
    # (registry unavailable) is only for a broken install, so here it is a failure.
    table = known_algorithms()
    assert {"assign", "recode", "iso_date", "usubjid", "seq", "study_day", "epoch"} <= set(table)


def test_algorithm_of_the_wrong_kind(spec_dir):
    edit(spec_dir / "ta.yaml", "generate: trial_arms", "generate: study_id")
    f = only(findings_of(spec_dir), "SPEC-ALGO-KIND")
    assert "trial_arms" in f.fix


def test_without_a_catalogue_algorithms_are_not_checked_and_a_notice_says_so(spec_dir):
    edit(spec_dir / "ta.yaml", "generate: trial_arms", "generate: no_such_algorithm")
    specs, _ = load_specs(spec_dir, semantic_checks=False)
    found = check_specs(specs)
    assert [(f.code, f.severity) for f in found] == [("SPEC-ALGO-REGISTRY", Severity.NOTICE)]
    assert "not checked" in found[0].message


def test_fixture_is_clean_with_the_real_registry(spec_dir):
    specs, _ = load_specs(spec_dir, semantic_checks=False)
    found = check_specs(specs, known_algorithms())
    assert [f.render() for f in found] == []


DOCS = Path(__file__).parent.parent / "docs" / "spec-format.md"


def _calls(node, name):
    """Parameter sets of every call of algorithm `name` in a parsed YAML example."""
    if isinstance(node, dict):
        if node.get("algorithm") == name:
            yield dict(node.get("params") or {})
        generate = node.get("generate")
        if generate == name:
            yield {}
        if isinstance(generate, dict) and generate.get("name") == name:
            yield {k: v for k, v in generate.items() if k != "name"}
        for value in node.values():
            yield from _calls(value, name)
    elif isinstance(node, list):
        for value in node:
            yield from _calls(value, name)


def test_every_registered_algorithm_is_documented_with_a_valid_example():
    import re

    import yaml
    text = DOCS.read_text(encoding="utf-8")
    table = known_algorithms()
    sections = dict(re.findall(r"^### `([a-z0-9_]+)`\n(.*?)(?=^### |\Z)", text, flags=re.S | re.M))
    assert set(table) <= set(sections), f"undocumented: {sorted(set(table) - set(sections))}"
    for name, algo in table.items():
        blocks = re.findall(r"```yaml\n(.*?)```", sections[name], flags=re.S)
        assert blocks, f"{name}: no example"
        calls = [c for block in blocks for c in _calls(yaml.safe_load(block), name)]
        assert calls, f"{name}: the example does not use it"
        for params in calls:
            assert algo.required <= set(params), f"{name}: example lacks {sorted(algo.required - set(params))}"
            assert set(params) <= algo.required | algo.optional, f"{name}: example has unknown parameters"



def test_sdtm_model_variables_are_allowed(spec_dir):
    vs = spec_dir / "vs.yaml"
    edit(vs, "  - name: VSPOSX", "  - {name: VSSTDTC, label: Start Date/Time of Observation, type: Char, core: Perm,"
         " origin: Collected, algorithm: seq}\n  - name: VSPOSX")
    edit(vs, "  - {name: DOMAIN,", "  - {name: VSDOSE, label: Dose, type: Num, core: Perm, origin: Derived, algorithm: seq}\n"
         "  - {name: DOMAIN,")
    found = findings_of(spec_dir)
    # --STDTC is a timing variable of the SDTM model; --DOSE belongs to the Interventions class only
    assert only(found, "SPEC-VAR-NOT-IN-SDTMIG").variable == "VSDOSE"
