"""The algorithm contract: typed parameter models, checked at `spec check` with the value's line, in the
JSON Schema, and read by the engine instead of guessed.

Every mistake case writes a real YAML spec in tmp_path and loads it with the real catalogue.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from cdisc_dpn.derive.catalogue import get_algorithm, known_algorithms
from cdisc_dpn.errors import SpecError
from cdisc_dpn.spec.loader import load_specs
from cdisc_dpn.spec.model import AlgorithmCall
from cdisc_dpn.spec.schema import _plain, load_schema, render_schema, schema_text
from cdisc_dpn.spec.yamlsafe import load_yaml_with_lines

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "specs" / "minimal"
SHIPPED = [ROOT / "mappings", ROOT / "examples" / "cdiscpilot01", ROOT / "examples" / "other-edc" / "mappings"]
CODE = "SPEC-ALGORITHM-PARAM"

# the VSTPT variable of the fixture's vs.yaml: each case replaces its algorithm with a mistaken call
VSTPT_CALL = "    algorithm: assign\n    params: {column: TPT}\n"


@pytest.fixture()
def spec_dir(tmp_path: Path) -> Path:
    target = tmp_path / "mappings"
    shutil.copytree(FIXTURE, target)
    return target


def _param_findings(spec_dir: Path) -> list:
    try:
        _specs, findings = load_specs(spec_dir, algorithms=known_algorithms())
    except SpecError as exc:
        findings = exc.findings
    return [f for f in findings if f.code == CODE]


def _line(path: Path, needle: str) -> int:
    hits = [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1) if needle in line]
    assert len(hits) == 1, f"{needle!r} is on lines {hits}"
    return hits[0]


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# (what is wrong, the call written in place of VSTPT's, the text on the mistaken value's line, the
#  parameter path the message names, words the message must have)
CASES = [
    ("true/false", "algorithm: assign\nparams:\n  column: TPT\n  upper: 'yes'\n", "upper: 'yes'", "upper",
     "expected true or false, given a text (yes)"),
    ("one of", "algorithm: recode\nparams:\n  column: TPT\n  codelist: C66741\n  unknown: maybe\n", "unknown: maybe",
     "unknown", "expected one of error, keep, given a text (maybe)"),
    ("text", "algorithm: concat\nparams:\n  parts: [{column: TPT}]\n  separator: {a: b}\n", "separator: {a: b}",
     "separator", "expected a text, given a mapping ({a: b})"),
    ("non-empty text", "algorithm: split_part\nparams:\n  column: TPT\n  separator: ''\n  part: 1\n",
     "separator: ''", "separator", "a text of at least one character"),
    ("whole number", "algorithm: split_part\nparams:\n  column: TPT\n  separator: '-'\n  part: 1.5\n", "part: 1.5",
     "part", "expected a whole number other than 0, given a number (1.5)"),
    ("number", "algorithm: visitnum\nparams:\n  column: VISIT\n  reference_form: {form: vs, subject: SUBJECT, "
     "visit: VISIT, date: DAT}\n  formats: 12\n", "formats: 12", "formats", "given a number (12)"),
    ("value", "algorithm: constant\nparams:\n  value: [SITTING, STANDING]\n", "value: [SITTING", "value",
     "expected a value (text or number), given a list ([SITTING, STANDING])"),
    ("variable name", "algorithm: visit\nparams:\n  variable: visitnum\n", "variable: visitnum", "variable",
     "expected a variable name (upper case, up to 8 characters), given a text (visitnum)"),
    ("raw column", "algorithm: assign\nparams:\n  column: [TPT, POS]\n", "column: [TPT, POS]", "column",
     "expected a raw column name, given a list ([TPT, POS])"),
    ("form", "algorithm: lookup\nparams:\n  form: {name: vs}\n  key: SUBJECT\n  value: TPT\n", "form: {name: vs}",
     "form", "expected a form name declared under forms: in study.yaml, given a mapping"),
    ("dataset", "algorithm: study_day\nparams:\n  variable: VSTESTCD\n  dataset: D M\n", "dataset: D M", "dataset",
     "expected a dataset name, given a text (D M)"),
    ("list", "algorithm: last_date\nparams:\n  sources: {from: EX, variable: EXSTDTC}\n",
     "sources: {from: EX", "sources", "expected a list of at least 1 mappings with variable: (and from:, where:)"),
    ("list item", "algorithm: coalesce\nparams:\n  inputs:\n    - {column: TPT}\n    - POS\n", "    - POS",
     "inputs[1]", "expected a mapping with column: or variable:, given a text (POS)"),
    ("mapping key", "algorithm: recode\nparams:\n  column: TPT\n  codelist: C66741\n  map:\n    - SITTING\n",
     "  map:", "map", "expected a mapping of texts to values (text or number), given a list ([SITTING])"),
    ("key inside a case", "algorithm: when\nparams:\n  cases:\n    - {column: TPT, equals: A, value: B}\n"
     "    - {column: TPT, equal: C, value: D}\n", "equal: C", "cases[1].equal",
     "unknown key 'equal'; expected one of the keys column, empty, equals, in, not_empty, take, value, variable"),
    ("neither column nor variable", "algorithm: assign\nparams:\n  upper: true\n", "upper: true", "params",
     "give column: or variable:"),
    ("both column and variable", "algorithm: numeric\nparams:\n  column: TPT\n  variable: VSORRES\n",
     "column: TPT", "params", "give only one of column: or variable:, not column and variable"),
    ("one source or a list", "algorithm: date_on_or_after\nparams:\n  variable: VSTESTCD\n  reference: EX\n",
     "reference: EX", "reference", "expected a source or a list of sources, given a text (EX)"),
    ("inline algorithm", "algorithm: {name: assign, column: TPT, upper: 1}\n", "algorithm: {name: assign",
     "upper", "expected true or false, given a number (1)"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_each_parameter_type_mistake_is_a_spec_error_at_its_line(spec_dir, case):
    _what, call, needle, path, words = case
    vs = spec_dir / "vs.yaml"
    _replace(vs, VSTPT_CALL, "".join(f"    {line}\n" for line in call.splitlines()))
    found = _param_findings(spec_dir)
    assert len(found) == 1, [f.render() for f in found]
    f = found[0]
    assert (f.file, f.spec_line) == ("vs.yaml", _line(vs, needle)), f.render()
    assert f.stage == "spec" and f.dataset == "VS" and f.variable == "VSTPT"
    assert f"parameter {path}: " in f.message and words in f.message, f.message
    assert f.value == path and f.fix.startswith(f"write {path}: "), f.fix


@pytest.mark.parametrize("call, missing", [
    ("algorithm: seq\nparams:\n  by: [USUBJID, VSTESTCD, VSCAT]\n", "VSCAT"),
    ("algorithm: standard_result_num\nparams: {result: VSORRESX, testcd: VSTESTCD}\n", "VSORRESX"),
    ("algorithm: arm_name\n", "ARMCD"),                          # its default input
])
def test_every_declared_variable_input_must_exist(spec_dir, call, missing):
    """Not only `variable:`: any variable a call reads (by:, result:, a default) is checked before the run."""
    vs = spec_dir / "vs.yaml"
    _replace(vs, VSTPT_CALL, "".join(f"    {line}\n" for line in call.splitlines()))
    with pytest.raises(SpecError) as info:
        load_specs(spec_dir, algorithms=known_algorithms())
    found = [f for f in info.value.findings if f.code == "SPEC-ALGO-VARIABLE"]
    algorithm_line = _line(vs, "name: VSTPT") + 5           # label, type, core, origin, algorithm
    assert vs.read_text(encoding="utf-8").splitlines()[algorithm_line - 1].strip() == call.split("\n")[0]
    assert [(f.value, f.file, f.spec_line) for f in found] == [(missing, "vs.yaml", algorithm_line)]


def test_sum_items_items_as_a_list_is_a_spec_error_not_a_data_error(tmp_path):
    """The case of issue 17: it passed `spec check` and failed at run time as MAP-ALGORITHM-FAILED."""
    study = tmp_path / "mappings"
    shutil.copytree(ROOT / "mappings", study)
    qs = study / "qs.yaml"
    text = qs.read_text(encoding="utf-8")
    start = text.index("      items: {QSTESTCD: [")
    end = text.index("]}", start) + 2
    codes = text[start + len("      items: {QSTESTCD: ["):end - 2]
    qs.write_text(text[:start] + "      items: [QSTESTCD, " + codes + "]" + text[end:],
                  encoding="utf-8")
    found = _param_findings(study)
    assert len(found) == 1, [f.render() for f in found]
    f = found[0]
    assert (f.file, f.spec_line) == ("qs.yaml", _line(qs, "items: [QSTESTCD,"))
    assert "algorithm 'sum_items' parameter items: expected a mapping of one variable name to a list of its " \
           "item codes, given a list ([QSTESTCD, TCSS01" in f.message
    assert f.fix == "write items: {QSTESTCD: [TCSS01, TCSS02]}"

    raw = tmp_path / "raw"
    raw.mkdir()
    from cdisc_dpn.cli import main
    result = CliRunner().invoke(main, ["run", "--study", str(study), "--raw", str(raw), "--out",
                                       str(tmp_path / "out"), "-q"])
    assert result.exit_code == 2, result.output
    assert CODE in result.output and "qs.yaml:" in result.output
    assert "READ-" not in result.output and "MAP-ALGORITHM-FAILED" not in result.output   # before any data
    result = CliRunner().invoke(main, ["spec", "check", str(study)])
    assert result.exit_code == 2 and CODE in result.output


def test_a_parameter_mistake_in_the_workbook_is_reported_at_its_sheet_and_row(tmp_path):
    from openpyxl import load_workbook

    from cdisc_dpn.spec.workbook import export_workbook, import_workbook

    xlsx = tmp_path / "spec.xlsx"
    export_workbook(FIXTURE, xlsx)
    wb = load_workbook(xlsx)
    ws = wb["Variables"]
    header = [c.value for c in ws[1]]
    row = next(r[0].row for r in ws.iter_rows(min_row=2) if r[header.index("Variable")].value == "VSTPT")
    ws.cell(row=row, column=header.index("Parameters") + 1, value='{"column": ["TPT", "POS"]}')
    wb.save(xlsx)
    with pytest.raises(SpecError) as info:
        import_workbook(xlsx, tmp_path / "imported", algorithms=known_algorithms())
    [f] = [f for f in info.value.findings if f.code == CODE]
    assert (f.source_row, f.extra["sheet"]) == (row, "Variables")
    assert "parameter column: expected a raw column" in f.message
    assert not (tmp_path / "imported").exists()


def test_shipped_specs_pass_the_parameter_check_and_the_full_schema():
    schema = load_schema()
    validator = jsonschema.Draft202012Validator({"$ref": "#/$defs/dataset_file", "$defs": schema["$defs"]})
    for root in SHIPPED + [FIXTURE]:
        _specs, findings = load_specs(root, algorithms=known_algorithms())
        assert [f.render() for f in findings if f.code.startswith("SPEC-ALGO")] == [], root
        for name in load_yaml_with_lines(root / "study.yaml")["datasets"]:
            errors = [e.message for e in validator.iter_errors(_plain(load_yaml_with_lines(root / name)))]
            assert errors == [], f"{root.name}/{name}: {errors[:3]}"


def test_the_full_schema_rejects_what_the_check_rejects(spec_dir):
    """Editors see the same contract: the generated `params` definitions reject a mistaken value too."""
    schema = load_schema()
    validator = jsonschema.Draft202012Validator({"$ref": "#/$defs/dataset_file", "$defs": schema["$defs"]})
    vs = spec_dir / "vs.yaml"
    for _what, call, _needle, path, _words in CASES:
        shutil.copy(FIXTURE / "vs.yaml", vs)
        _replace(vs, VSTPT_CALL, "".join(f"    {line}\n" for line in call.splitlines()))
        errors = list(validator.iter_errors(_plain(load_yaml_with_lines(vs))))
        assert errors, f"the schema accepts the {_what} mistake"


def test_shipped_schema_is_generated_from_the_catalogue():
    """spec-schema.json holds the models' parameters as generated; regenerate with
    `python -m cdisc_dpn.derive.catalogue`."""
    shipped = (ROOT / "cdisc_dpn" / "spec" / "spec-schema.json").read_text(encoding="utf-8")
    assert shipped == schema_text(render_schema(json.loads(shipped), known_algorithms()))
    defs = json.loads(shipped)["$defs"]
    assert {k[len("params_"):] for k in defs if k.startswith("params_")} == set(known_algorithms())
    items = defs["params_sum_items"]["properties"]["items"]
    assert items["type"] == "object" and items["maxProperties"] == 1
    assert items["additionalProperties"]["type"] == "array"


def test_every_algorithm_declares_a_typed_model_whose_defaults_pass_it():
    for name, algorithm in known_algorithms().items():
        model = algorithm.params
        assert model is not None, name
        assert model.required == algorithm.required and model.optional == algorithm.optional, name
        assert model.problems(model.defaults) == [] or model.one_of, name
        assert dict(algorithm.defaults) == model.defaults, name


def test_docs_examples_pass_the_parameter_check():
    import yaml
    text = (ROOT / "docs" / "spec-format.md").read_text(encoding="utf-8")
    sections = dict(re.findall(r"^### `([a-z0-9_]+)`\n(.*?)(?=^### |\Z)", text, flags=re.S | re.M))
    checked = 0
    for name, algorithm in known_algorithms().items():
        for block in re.findall(r"```yaml\n(.*?)```", sections[name], flags=re.S):
            for params in _calls(yaml.safe_load(block), name):
                assert algorithm.params.problems(params) == [], f"{name}: {params}"
                checked += 1
    assert checked >= len(known_algorithms())


def _calls(node, name):
    if isinstance(node, dict):
        algorithm = node.get("algorithm")
        if algorithm == name:
            yield dict(node.get("params") or {})
        if isinstance(algorithm, dict) and algorithm.get("name") == name:
            yield {k: v for k, v in algorithm.items() if k != "name"}
        generate = node.get("generate")
        if isinstance(generate, dict) and generate.get("name") == name:
            yield {k: v for k, v in generate.items() if k != "name"}
        for value in node.values():
            yield from _calls(value, name)
    elif isinstance(node, list):
        for value in node:
            yield from _calls(value, name)


# --------------------------------------------------------------------------- inputs, as declared
def _reads(name: str, params: dict):
    return get_algorithm(name).inputs(params)


def test_inputs_are_read_from_the_declarations():
    r = _reads("iso_datetime", {"date": "ic.ICDAT", "time": "ic.ICTIM"})
    assert r.columns == ["ic.ICDAT", "ic.ICTIM"] and r.variables == []     # raw columns, not variables
    r = _reads("lookup", {"form": "rand", "key": "SUBJECT", "value": "RANDDT"})
    assert r.form_columns == [("rand", "SUBJECT"), ("rand", "RANDDT")] and r.columns == ["SUBJECT"]
    r = _reads("lookup", {"form": "rand", "key": ["SUBJ"], "value": "RANDDT", "on": ["SUBJECT"]})
    assert r.columns == ["SUBJECT"]
    r = _reads("first_date", {"sources": [{"from": "EX", "variable": "EXSTDTC"}, {"variable": "DMDTC"}]})
    assert r.variables == ["DMDTC", "USUBJID"] and r.other_variables == [("EX", "EXSTDTC")]
    assert r.dataset_rows == ["EX"] and r.datasets == []
    r = _reads("study_day", {"variable": "AESTDTC"})
    assert r.variables == ["AESTDTC", "USUBJID"] and r.other_variables == [("DM", "RFSTDTC")] and r.datasets == ["DM"]
    r = _reads("when", {"cases": [{"column": "A", "equals": "Y", "take": {"variable": "X"}}, {"variable": "B",
                                                                                            "empty": True}]})
    assert r.columns == ["A"] and r.variables == ["X", "B"]
    assert get_algorithm("epoch").datasets_read({"variable": "AESTDTC"}) == {"SE"}
    assert get_algorithm("egfr_mdrd").datasets_read({}) == {"DM"}


def test_engine_orders_variables_by_declared_inputs():
    from cdisc_dpn.mapping.engine import referenced_variables

    assert referenced_variables(AlgorithmCall("iso_datetime", {"date": "VSDTC", "time": "VSTIM"})) == set()
    assert referenced_variables(AlgorithmCall("standard_result_num", {"result": "LBORRES", "testcd": "LBTESTCD",
                                                                       "unit": "LBORRESU"})) == \
        {"LBORRES", "LBTESTCD", "LBORRESU"}
    assert referenced_variables(AlgorithmCall("visit", {})) == {"VISITNUM"}        # the default


# --------------------------------------------------------------------------- docs
DOCS = ROOT / "docs" / "spec-format.md"
_PARAMS_BLOCK = re.compile(r"(^### `([a-z0-9_]+)`\n\n.*?\n\n)(Parameters:.*?)(?=\n\n)", flags=re.S | re.M)


def render_docs(text: str) -> str:
    """docs/spec-format.md with each algorithm's parameter list generated from its model."""
    table = known_algorithms()
    return _PARAMS_BLOCK.sub(lambda m: m.group(1) + (table[m.group(2)].params.markdown() if m.group(2) in table
                                                      else m.group(3)), text)


def test_docs_list_every_parameter_with_its_type():
    """Regenerate with `python tests/test_algorithm_contract.py`."""
    text = DOCS.read_text(encoding="utf-8")
    assert text == render_docs(text), "docs/spec-format.md: an algorithm's parameter list is out of date"
    assert len(_PARAMS_BLOCK.findall(text)) == len(known_algorithms())


if __name__ == "__main__":
    DOCS.write_text(render_docs(DOCS.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"updated {DOCS}")
