"""P21-style specification workbook: layout, exact round trip, deterministic bytes, formula neutralisation."""
from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from cdisc_dpn.errors import SpecError
from cdisc_dpn.spec.loader import load_specs
from cdisc_dpn.spec.workbook import (
    SHEETS, export_workbook, from_json, import_workbook, neutralise, restore, to_json,
)

FIXTURE = Path(__file__).parent / "fixtures" / "specs" / "minimal"
P21_SHEETS = ["Study", "Datasets", "Variables", "ValueLevel", "WhereClauses", "Codelists", "Methods", "Comments",
              "Documents"]


def comparable(obj):
    """A model object as plain data, without spec line numbers, checksum and root folder."""
    if dataclasses.is_dataclass(obj):
        return {f.name: comparable(getattr(obj, f.name)) for f in dataclasses.fields(obj)
                if f.name not in ("where", "collected_where", "checksum", "root")}
    if isinstance(obj, (list, tuple)):
        return [comparable(v) for v in obj]
    if isinstance(obj, dict):
        return {k: comparable(v) for k, v in obj.items()}
    return obj


@pytest.fixture()
def exported(tmp_path: Path) -> Path:
    xlsx = tmp_path / "spec.xlsx"
    export_workbook(FIXTURE, xlsx)
    return xlsx


def rows(xlsx: Path, sheet: str) -> list[dict]:
    ws = load_workbook(xlsx)[sheet]
    values = list(ws.iter_rows(values_only=True))
    return [dict(zip(values[0], r)) for r in values[1:]]


def test_sheets_present_and_formatted(exported):
    wb = load_workbook(exported)
    assert wb.sheetnames[:len(P21_SHEETS)] == P21_SHEETS
    assert set(wb.sheetnames) == set(SHEETS)
    for name in wb.sheetnames:
        ws = wb[name]
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref.startswith("A1:")
        assert all(cell.font.bold for cell in ws[1])
        assert [c.value for c in ws[1]] == [c.header for c in SHEETS[name]]
    assert wb.properties.created == dt.datetime(2000, 1, 1)


def test_content_of_main_sheets(exported):
    datasets = rows(exported, "Datasets")
    assert [(d["Dataset"], d["File"]) for d in datasets] == [("DM", "dm.yaml"), ("VS", "vs.yaml"), ("TA", "ta.yaml")]
    variables = rows(exported, "Variables")
    sex = next(v for v in variables if v["Variable"] == "SEX")
    assert (sex["Dataset"], sex["Codelist"], sex["Origin"], sex["Algorithm"]) == ("DM", "C66731", "Collected", "recode")
    assert from_json(sex["Parameters"]) == {"codelist": "C66731", "column": "demog.SEX"}
    usubjid = next(v for v in variables if v["Variable"] == "USUBJID" and v["Dataset"] == "DM")
    methods = {m["ID"]: m["Description"] for m in rows(exported, "Methods")}
    assert methods[usubjid["Method"]].startswith("STUDYID, site")
    wheres = rows(exported, "WhereClauses")
    assert ("VISITNUM", "NOTIN") in {(w["Variable"], w["Comparator"]) for w in wheres}
    study = {r["Attribute"]: r["Value"] for r in rows(exported, "Study")}
    assert study["study.studyid"] == "MINI-01" and study["files.units"] == "units.yaml"
    assert [f["Name"] for f in rows(exported, "Forms")][:2] == ["enrol", "demog"]
    assert rows(exported, "Arms")[0]["Elements"] == "SCRN, TRTA"


def test_codelists_sheet_marks_ct_terms(exported):
    codelists = rows(exported, "Codelists")
    sources = {(r["ID"], r["Source"]) for r in codelists}
    assert ("YNX", "Sponsor") in sources and ("C66731", "Collected") in sources
    assert ("C66731", "CT") in sources and ("C71620", "CT") in sources and ("C74457", "CT") in sources
    sex_ct = [r["Term"] for r in codelists if r["ID"] == "C66731" and r["Source"] == "CT"]
    assert set(sex_ct) == {"F", "M", "U", "INTERSEX"}


def test_round_trip_is_exact(exported, tmp_path):
    out = tmp_path / "imported"
    written = import_workbook(exported, out)
    assert {p.name for p in written} == {"study.yaml", "dm.yaml", "vs.yaml", "ta.yaml", "terminology.yaml",
                                         "units.yaml"}
    original, _ = load_specs(FIXTURE, semantic_checks=False)
    again, _ = load_specs(out, semantic_checks=False)
    assert comparable(again) == comparable(original)
    assert again.dataset("DM").supplemental[0].idvar == ""          # empty text is not "no value"
    assert again.dataset("VS").supplemental[0].idvar == "VSSEQ"
    # CT terms shown for reviewers are not imported as sponsor terms
    assert [cl.id for cl in again.terminology.codelists] == ["UNIT", "YNX"]
    second = tmp_path / "second.xlsx"
    export_workbook(out, second)
    assert second.read_bytes() == exported.read_bytes()


def test_bytes_are_deterministic(exported, tmp_path):
    other = tmp_path / "other.xlsx"
    export_workbook(FIXTURE, other)
    assert other.read_bytes() == exported.read_bytes()
    with zipfile.ZipFile(exported) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert b"2000-01-01T00:00:00Z" in z.read("docProps/core.xml")


def test_formulas_are_neutralised_and_restored(tmp_path):
    specs = tmp_path / "specs"
    shutil.copytree(FIXTURE, specs)
    text = (specs / "dm.yaml").read_text(encoding="utf-8")
    text = text.replace("    label: Race\n", "    label: Race\n    role: \"+HYPERLINK(1)\"\n")
    (specs / "dm.yaml").write_text(text, encoding="utf-8")
    xlsx = tmp_path / "spec.xlsx"
    export_workbook(specs, xlsx)
    wb = load_workbook(xlsx)
    for ws in wb:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{ws.title}!{cell.coordinate} is a formula"
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(("=", "+", "-", "@")), f"{ws.title}!{cell.coordinate}"
    comments = {r["ID"]: r["Description"] for r in rows(xlsx, "Comments")}
    assert comments["COM.DM.COUNTRY"] == "'=ISO 3166-1 alpha-3, as collected"
    out = tmp_path / "back"
    import_workbook(xlsx, out)
    again, _ = load_specs(out, semantic_checks=False)
    dm = again.dataset("DM")
    assert dm.variable("COUNTRY").comment == "=ISO 3166-1 alpha-3, as collected"
    assert dm.variable("RACE").role == "+HYPERLINK(1)"
    assert again.dataset("VS").value_level[1].method == "-rounded to one decimal"


@pytest.mark.parametrize("text", ["=1+1", "+x", "-", "@SUM(A1)", "'quoted", "plain", "", "\tTab", " =1+1", "\r\n=1"])
def test_neutralise_is_reversible(text):
    assert restore(neutralise(text)) == text


def test_json_params_are_canonical_and_keep_types():
    value = {"b": [1, 2.5, True, None, "x"], "a": {"d": dt.date(2024, 1, 31)}}
    text = to_json(value)
    assert text.index('"a"') < text.index('"b"')
    assert from_json(text) == value


def test_edited_cell_is_imported(exported, tmp_path):
    wb = load_workbook(exported)
    ws = wb["Variables"]
    header = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        if row[header.index("Variable")].value == "SEX":
            row[header.index("Label")].value = "Sex of Subject"
            row[header.index("Parameters")].value = '{"column": "demog.GENDER", "codelist": "C66731"}'
    wb.save(exported)
    import_workbook(exported, tmp_path / "edited")
    specs, _ = load_specs(tmp_path / "edited", semantic_checks=False)
    sex = specs.dataset("DM").variable("SEX")
    assert sex.label == "Sex of Subject" and sex.algorithm.params["column"] == "demog.GENDER"


def test_bad_cells_are_findings_not_tracebacks(exported, tmp_path):
    wb = load_workbook(exported)
    ws = wb["Variables"]
    header = [c.value for c in ws[1]]
    ws.cell(row=2, column=header.index("Parameters") + 1, value="{not json")
    ws.cell(row=3, column=header.index("Order") + 1, value="two")
    wb.save(exported)
    with pytest.raises(SpecError) as info:
        import_workbook(exported, tmp_path / "bad")
    found = {(f.code, f.source_row, f.column) for f in info.value.findings}
    assert found == {("WB-CELL", 2, "Parameters"), ("WB-CELL", 3, "Order")}
    assert not (tmp_path / "bad").exists()


def test_missing_sheet_is_reported(exported, tmp_path):
    wb = load_workbook(exported)
    del wb["Sources"]
    wb.save(exported)
    with pytest.raises(SpecError) as info:
        import_workbook(exported, tmp_path / "x")
    assert info.value.findings[0].code == "WB-SHEET" and "Sources" in info.value.findings[0].message


def test_workbook_without_the_newer_plausibility_sheet_and_long_text_column_still_imports(tmp_path):
    """Workbooks exported before plausible ranges and long_text existed import, without those options."""
    pilot = Path(__file__).resolve().parents[1] / "examples" / "cdiscpilot01"
    xlsx = tmp_path / "old.xlsx"
    export_workbook(pilot, xlsx)
    book = load_workbook(xlsx)
    del book["Plausibility"]
    variables = book["Variables"]
    header = [c.value for c in variables[1]]
    variables.delete_cols(header.index("Long Text") + 1)
    book.save(xlsx)
    import_workbook(xlsx, tmp_path / "back")
    specs, _ = load_specs(tmp_path / "back")
    assert specs.terminology.plausible_ranges == ()
    assert not any(v.long_text for d in specs.datasets for v in d.variables)
    assert specs.dataset("AE").variable("AETERM") is not None
