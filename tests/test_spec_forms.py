"""Form-level reader options in study.yaml (issue 14): loaded, checked with file and line, refused when wrong."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cdisc_dpn.errors import Severity, SpecError
from cdisc_dpn.derive.catalogue import known_algorithms
from cdisc_dpn.spec.columns import column_uses, declared_columns
from cdisc_dpn.spec.loader import load_specs

FIXTURE = Path(__file__).parent / "fixtures" / "specs" / "minimal"
ENROL = "  - name: enrol\n    file: raw/enrol.csv\n"


@pytest.fixture()
def spec_dir(tmp_path: Path) -> Path:
    target = tmp_path / "mappings"
    shutil.copytree(FIXTURE, target)
    return target


def with_enrol_options(spec_dir: Path, options: str) -> Path:
    study = spec_dir / "study.yaml"
    text = study.read_text(encoding="utf-8")
    assert ENROL in text
    study.write_text(text.replace(ENROL, ENROL + options), encoding="utf-8")
    return study


def test_reader_options_are_loaded(spec_dir):
    with_enrol_options(spec_dir, '    columns: {Subject: SUBJECT, "Site Number": SITE}\n    delimiter: semicolon\n'
                                 "    skip_rows: 2\n    encoding: cp1252\n")
    specs, _ = load_specs(spec_dir)
    form = specs.study.form("enrol")
    assert dict(form.columns) == {"Subject": "SUBJECT", "Site Number": "SITE"}
    assert form.delimiter == ";" and form.header_row == 3 and form.encoding == "cp1252"
    assert declared_columns(specs, "enrol", known_algorithms())[:2] == ("SUBJECT", "SITE")


def test_sas_value_formats_codes_are_text(spec_dir):
    with_enrol_options(spec_dir, "    value_formats: {sexf.: {1: Male, 2.0: Female}, $NYF.: {Y: \"Yes\"}}\n"
                                 "    numbers: raw\n")
    specs, findings = load_specs(spec_dir)
    form = specs.study.form("enrol")
    assert dict(form.value_formats) == {"SEXF": {"1": "Male", "2": "Female"}, "NYF": {"Y": "Yes"}}
    warning = next(f for f in findings if f.code == "SPEC-FORM-OPTION")       # csv form: SAS options ignored
    assert warning.severity is Severity.WARNING and warning.spec_line == 15


def test_header_row_and_skip_rows_must_agree(spec_dir):
    with_enrol_options(spec_dir, "    header_row: 2\n    skip_rows: 3\n")
    with pytest.raises(SpecError) as info:
        load_specs(spec_dir)
    finding = next(f for f in info.value.findings if f.code == "SPEC-FORM-HEADER")
    assert finding.file == "study.yaml" and finding.spec_line == 17


def test_unknown_numbers_mode_is_a_schema_error(spec_dir):
    with_enrol_options(spec_dir, "    numbers: rounded\n")
    with pytest.raises(SpecError) as info:
        load_specs(spec_dir)
    finding = info.value.findings[0]
    assert finding.code == "SPEC-SCHEMA" and finding.spec_line == 17 and "rounded" in finding.message


def test_two_raw_columns_renamed_to_one_name(spec_dir):
    with_enrol_options(spec_dir, "    columns: {Subject: SUBJECT, SubjectId: SUBJECT}\n")
    with pytest.raises(SpecError) as info:
        load_specs(spec_dir)
    finding = next(f for f in info.value.findings if f.code == "SPEC-FORM-COLUMNS")
    assert "Subject, SubjectId" in finding.message and finding.spec_line == 15


def test_multi_character_delimiter_is_refused(spec_dir):
    with_enrol_options(spec_dir, '    delimiter: "||"\n')
    with pytest.raises(SpecError) as info:
        load_specs(spec_dir)
    assert any(f.code == "SPEC-FORM-OPTION" and f.value == "||" for f in info.value.findings)


def test_column_uses_carry_the_spec_line(spec_dir):
    specs, _ = load_specs(spec_dir)
    uses = column_uses(specs, known_algorithms())
    assert uses and all(u.where.file and u.where.line for u in uses)
    assert any(u.forms == ("enrol",) and u.column == "SEX" for u in uses)


def test_reader_options_survive_the_workbook_round_trip(spec_dir, tmp_path):
    from dataclasses import replace

    from cdisc_dpn.spec.workbook import export_workbook, import_workbook

    with_enrol_options(spec_dir, '    columns: {Subject: SUBJECT, "Site, Number": SITE}\n    delimiter: tab\n'
                                 "    header_row: 3\n")
    text = (spec_dir / "study.yaml").read_text(encoding="utf-8")
    (spec_dir / "study.yaml").write_text(text.replace(
        "  - name: demog\n", "  - name: demog\n    value_formats: {SEXF: {1: Male}}\n    numbers: raw\n"
        "    form_oid: F.DM\n    item_groups: [IG.DM, IG.DM2]\n", 1), encoding="utf-8")
    specs, _ = load_specs(spec_dir)
    export_workbook(spec_dir, tmp_path / "spec.xlsx")
    import_workbook(tmp_path / "spec.xlsx", tmp_path / "back")
    back, _ = load_specs(tmp_path / "back")
    assert [replace(f, where=None) for f in back.study.forms] == [replace(f, where=None) for f in specs.study.forms]
    assert back.study.form("enrol").delimiter == "\t" and back.study.form("enrol").header_row == 3
