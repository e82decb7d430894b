"""`spec import` checks the workbook's specs as `spec check` would, and reports problems by sheet and row
(the cell a person edits), not by the line of the YAML it would generate; with errors nothing is written."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from cdisc_dpn.cli import main
from cdisc_dpn.errors import SpecError
from cdisc_dpn.spec.workbook import export_workbook, import_workbook

FIXTURE = Path(__file__).parent / "fixtures" / "specs" / "minimal"


@pytest.fixture()
def exported(tmp_path: Path) -> Path:
    xlsx = tmp_path / "spec.xlsx"
    export_workbook(FIXTURE, xlsx)
    return xlsx


def edit(xlsx: Path, sheet: str, match: dict, column: str, value) -> int:
    """Set one cell of the row matching `match`; returns its row number."""
    wb = load_workbook(xlsx)
    ws = wb[sheet]
    header = [c.value for c in ws[1]]
    for row in range(2, ws.max_row + 1):
        if all(ws.cell(row, header.index(k) + 1).value == v for k, v in match.items()):
            ws.cell(row, header.index(column) + 1).value = value
            wb.save(xlsx)
            return row
    raise AssertionError(f"no row {match} in {sheet}")


def test_problems_are_reported_by_sheet_and_row_and_nothing_is_written(exported, tmp_path):
    sex = edit(exported, "Variables", {"Dataset": "DM", "Variable": "SEX"}, "Codelist", "C00000")
    arm = edit(exported, "Arms", {"ARMCD": "A"}, "Elements", "SCRN, NOPE")
    form = edit(exported, "Forms", {"Name": "demog"}, "Format", "pdf")
    out = tmp_path / "specs"
    with pytest.raises(SpecError) as caught:
        import_workbook(exported, out)
    assert not out.exists()
    found = {f.code: f for f in caught.value.findings}
    assert found, caught.value
    for f in caught.value.findings:
        assert f.file == str(exported) and f.spec_line is None, f
        assert f.extra["generated_yaml"].split(":")[0].endswith(".yaml")
    # the schema stops the load at the form; the other two come once the form is fixed
    schema = [f for f in caught.value.findings if f.source_row == form]
    assert schema and all(f.message.startswith("Forms: ") for f in schema), caught.value.findings

    edit(exported, "Forms", {"Name": "demog"}, "Format", "csv")
    result = CliRunner().invoke(main, ["spec", "import", str(exported), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "nothing was written" in result.output and not out.exists()
    lines = result.output.splitlines()
    codelist = next(line for line in lines if "SPEC-CODELIST-UNKNOWN" in line)
    assert codelist.split("] ", 1)[1].startswith("Variables: DM.SEX") and f"spec.xlsx, row {sex};" in codelist
    element = next(line for line in lines if "SPEC-ARM-ELEMENT" in line)
    assert "Arms: arm A lists element NOPE" in element and f"spec.xlsx, row {arm})" in element
    assert ".yaml:" not in result.output


def test_collected_value_map_error_points_at_its_codelists_row(tmp_path):
    from tests.conftest import MAPPINGS

    xlsx = tmp_path / "study.xlsx"
    export_workbook(MAPPINGS, xlsx)
    row = edit(xlsx, "Codelists", {"Source": "Collected", "ID": "C66742", "Collected Value": "No"}, "Term", "NOPE")
    result = CliRunner().invoke(main, ["spec", "import", str(xlsx), "--out", str(tmp_path / "m")])
    assert result.exit_code == 2
    line = next(line for line in result.output.splitlines() if "SPEC-COLLECTED-TERM" in line)
    assert "Codelists: collected_values: C66742 (NY) maps 'No' to 'NOPE'" in line and f"row {row})" in line


def test_a_clean_workbook_is_imported(exported, tmp_path):
    result = CliRunner().invoke(main, ["spec", "import", str(exported), "--out", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "m" / "study.yaml").is_file() and "spec files to" in result.output
    assert CliRunner().invoke(main, ["spec", "check", str(tmp_path / "m")]).exit_code == 0
