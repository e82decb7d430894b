"""Loader tests: YAML and structural mistakes are reported with file, line and a fix, all together."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cdisc_dpn.errors import Severity, SpecError
from cdisc_dpn.derive.catalogue import Algorithm
from cdisc_dpn.spec.loader import load_specs
from cdisc_dpn.spec.yamlsafe import load_yaml_with_lines

FIXTURE = Path(__file__).parent / "fixtures" / "specs" / "minimal"


@pytest.fixture()
def spec_dir(tmp_path: Path) -> Path:
    target = tmp_path / "mappings"
    shutil.copytree(FIXTURE, target)
    return target


def _algo(name: str, required=(), optional=(), kind="variable") -> Algorithm:
    return Algorithm(name, lambda *a: None, frozenset(required), frozenset(optional), "row", name, kind)


FAKE_ALGORITHMS = {a.name: a for a in (
    _algo("assign", optional=("column", "variable")), _algo("constant", required=("value",)),
    _algo("study_id"), _algo("domain"), _algo("usubjid", optional=("column", "variable")), _algo("seq"),
    _algo("recode", optional=("column", "variable", "codelist", "map")), _algo("numeric", optional=("column",)), _algo("visitnum", required=("column",)),
    _algo("when", required=("cases",), optional=("default",)), _algo("trial_arms", kind="source"),
    _algo("sum_items", required=("group_by", "items", "results", "set", "value"), kind="records"),
)}


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


def errors_of(spec_dir: Path) -> list:
    with pytest.raises(SpecError) as info:
        load_specs(spec_dir, algorithms=FAKE_ALGORITHMS)
    return [f for f in info.value.findings if f.severity is Severity.ERROR]


def test_fixture_loads_without_errors(spec_dir):
    specs, findings = load_specs(spec_dir, algorithms=FAKE_ALGORITHMS)
    assert [f for f in findings if f.severity is Severity.ERROR] == []
    assert [d.name for d in specs.datasets] == ["DM", "VS", "TA"]
    assert specs.study.form("vitals").sheet == "Vitals"


def test_yaml_syntax_error_reports_line(spec_dir):
    edit(spec_dir / "dm.yaml", "  keys: [STUDYID, USUBJID]", "  keys: [STUDYID, USUBJID")
    found = errors_of(spec_dir)
    assert len(found) == 1
    assert found[0].code == "SPEC-YAML" and found[0].file == "dm.yaml"
    assert found[0].spec_line is not None and found[0].spec_line >= line_of(spec_dir / "dm.yaml", "keys:")


def test_unknown_key_reports_line_and_allowed_keys(spec_dir):
    edit(spec_dir / "dm.yaml", "    core: Req\n", "    core: Req\n    lable: oops\n")
    found = errors_of(spec_dir)
    assert [f.code for f in found] == ["SPEC-UNKNOWN-KEY"]
    assert "lable" in found[0].message
    assert found[0].spec_line == line_of(spec_dir / "dm.yaml", "lable:")
    assert "label" in found[0].fix and "algorithm" in found[0].fix


def test_yes_no_on_are_text_not_booleans(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("join: {on: {A: B}}\nvalues: [NO, yes, Off]\nflag: true\n", encoding="utf-8")
    doc = load_yaml_with_lines(path)
    assert doc["join"] == {"on": {"A": "B"}}
    assert doc["values"] == ["NO", "yes", "Off"] and doc["flag"] is True


def test_three_mistakes_give_three_findings_in_one_error(spec_dir):
    dm = spec_dir / "dm.yaml"
    edit(dm, "  form: enrol\n", "  form: enroll\n")                        # undeclared form
    edit(dm, "    algorithm: usubjid\n", "    algorithm: usubjd\n")        # unknown algorithm
    edit(dm, "    label: Sex\n", "    label: Gender\n")                    # warning only
    edit(dm, "  - name: SITEID\n", "  - name: SITEIDX\n")                  # not in SDTMIG + Req SITEID missing
    with pytest.raises(SpecError) as info:
        load_specs(spec_dir, algorithms=FAKE_ALGORITHMS)
    findings = info.value.findings
    errors = sorted(f.code for f in findings if f.severity is Severity.ERROR)
    assert errors == sorted(["SPEC-FORM-UNDECLARED", "SPEC-ALGO-UNKNOWN", "SPEC-VAR-NOT-IN-SDTMIG",
                             "SPEC-VAR-REQ-MISSING"])
    assert [f.code for f in findings if f.severity is Severity.WARNING] == ["SPEC-VAR-LABEL"]
    assert all(f.file == "dm.yaml" and f.spec_line for f in findings if f.severity is not Severity.NOTICE)
    assert all(f.fix for f in findings)


def test_exactly_three_errors(spec_dir):
    dm = spec_dir / "dm.yaml"
    edit(dm, "  form: enrol\n", "  form: enroll\n")
    edit(dm, "    algorithm: usubjid\n", "    algorithm: usubjd\n")
    edit(dm, "  keys: [STUDYID, USUBJID]", "  keys: [STUDYID, USUBJID, DMSEQ]")
    found = errors_of(spec_dir)
    assert len(found) == 3, [f.render() for f in found]


def test_missing_dataset_file_is_reported(spec_dir):
    (spec_dir / "ta.yaml").unlink()
    found = errors_of(spec_dir)
    assert [f.code for f in found] == ["SPEC-FILE"] and found[0].file == "ta.yaml"


def test_c_parser_reads_the_specs_exactly_as_the_python_parser():
    # specs load through libyaml when PyYAML has it; values, booleans and every line must be the same
    import yaml as _yaml

    from cdisc_dpn.spec import yamlsafe

    def shape(node):
        if isinstance(node, yamlsafe.LineDict):
            return ("map", node.line, [(k, node.line_of(k), shape(v)) for k, v in node.items()])
        if isinstance(node, yamlsafe.LineList):
            return ("seq", node.line, node.item_lines, [shape(v) for v in node])
        return (type(node).__name__, node)

    files = sorted(Path(__file__).resolve().parents[1].joinpath("mappings").rglob("*.yaml"))
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert shape(_yaml.load(text, Loader=yamlsafe._FastLineLoader)) == \
            shape(_yaml.load(text, Loader=yamlsafe._LineLoader)), path


@pytest.mark.parametrize("text", ["a: [1, 2\n", "a: 1\n  b: 2\n", "a: 1\na: 2\n", "a: \x07\n", "a:\tb: c\n"])
def test_yaml_problems_are_worded_by_the_python_parser(tmp_path, monkeypatch, text):
    from cdisc_dpn.spec import yamlsafe

    path = tmp_path / "x.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(yamlsafe.YamlProblem) as fast:
        yamlsafe.load_yaml_with_lines(path)
    monkeypatch.setattr(yamlsafe, "_FastLineLoader", yamlsafe._LineLoader)     # the Python parser alone
    with pytest.raises(yamlsafe.YamlProblem) as slow:
        yamlsafe.load_yaml_with_lines(path)
    assert (str(fast.value), fast.value.line) == (str(slow.value), slow.value.line)
